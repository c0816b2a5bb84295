"""physics_scenes: scene files → deterministic rigid-body simulation → video, frames, data.

The pipeline, one subpackage per stage (see docs/architecture.md)::

    scene/ (load_scene → Scene → Assembly) → physics/ (World → Frames)
        → picture/ (View, Renderer) → output/ (sinks), with job/ running one clip

Names are exported lazily (PEP 562): ``import physics_scenes`` loads nothing heavy, and
``physics_scenes.Renderer`` imports pygame only when it is first used.

>>> from physics_scenes import parse_scene, simulate
>>> scene = parse_scene("bodies: [{kind: ball, radius: 0.5, position: [0, 2]}]")
>>> layout, frames = simulate(scene)
>>> layout.names
('ball_0',)
"""

import importlib as _importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up stays minimal

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AudioInputError": "errors",
    "BodyInfo": "frame",
    "Clip": "job.clip",
    "Event": "frame",
    "Frame": "frame",
    "Issue": "errors",
    "Layout": "frame",
    "Pixels": "picture.view",
    "RenderJob": "job.pipeline",
    "RenderResult": "job.pipeline",
    "Renderer": "picture.renderer",
    "Scene": "scene.model",
    "SceneError": "errors",
    "View": "picture.view",
    "json_schema": "scene.model",
    "load_scene": "scene.loader",
    "parse_scene": "scene.loader",
    "run": "job.pipeline",
    "scene_timeline": "job.timeline",
    "simulate": "physics.simulate",
}
"""Public name → the module (below this package) that defines it."""

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from .errors import AudioInputError as AudioInputError
    from .errors import Issue as Issue
    from .errors import SceneError as SceneError
    from .frame import BodyInfo as BodyInfo
    from .frame import Event as Event
    from .frame import Frame as Frame
    from .frame import Layout as Layout
    from .job.clip import Clip as Clip
    from .job.pipeline import RenderJob as RenderJob
    from .job.pipeline import RenderResult as RenderResult
    from .job.pipeline import run as run
    from .job.timeline import scene_timeline as scene_timeline
    from .physics.simulate import simulate as simulate
    from .picture.renderer import Renderer as Renderer
    from .picture.view import Pixels as Pixels
    from .picture.view import View as View
    from .scene.loader import load_scene as load_scene
    from .scene.loader import parse_scene as parse_scene
    from .scene.model import Scene as Scene
    from .scene.model import json_schema as json_schema

del TYPE_CHECKING  # not part of the public namespace


def __getattr__(name: str) -> object:
    """Import the module behind a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
