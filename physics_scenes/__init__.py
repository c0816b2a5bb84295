"""physics_scenes: scene files → deterministic rigid-body simulation → video, frames, data.

The pipeline, one stage per module::

    load_scene → Scene → World → Frames → Renderer → sinks

>>> from physics_scenes import parse_scene, simulate
>>> scene = parse_scene("bodies: [{kind: ball, radius: 0.5, position: [0, 2]}]")
>>> layout, frames = simulate(scene)
>>> layout.names
('ball_0',)
"""

from __future__ import annotations

from .errors import Issue, SceneError
from .frame import BodyInfo, Event, Frame, Layout
from .physics.simulate import simulate
from .scene.loader import load_scene, parse_scene
from .scene.model import Scene, json_schema

__version__ = "0.1.0"

__all__ = [
    "BodyInfo",
    "Event",
    "Frame",
    "Issue",
    "Layout",
    "Scene",
    "SceneError",
    "__version__",
    "json_schema",
    "load_scene",
    "parse_scene",
    "simulate",
]
