"""Shared test set-up: headless pygame, and small helpers to build scenes from text."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCENES = ROOT / "scenes"


@pytest.fixture
def write_scene(tmp_path: Path):
    """Write YAML text to a file in tmp_path and return its path."""

    def write(text: str, name: str = "scene.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
