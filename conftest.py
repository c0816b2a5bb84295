"""Repository-wide pytest set-up, loaded before anything is collected.

Doctests are collected from every module under physics_scenes (``--doctest-modules``),
so the modules that import pygame are imported by collection: keep SDL headless first.
"""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
