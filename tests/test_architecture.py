"""Keep the one-way design honest: each backend is imported by one module only."""

from __future__ import annotations

import ast
from pathlib import Path

import physics_scenes

PACKAGE = Path(physics_scenes.__file__).parent

ONLY_IN = {
    "pymunk": {"world.py", "constraints.py"},
    "pygame": {"renderer.py", "app.py"},
    "imageio": {"export.py"},
    "imageio_ffmpeg": {"export.py"},
    "subprocess": {"export.py", "worker.py"},  # the encoder; the physics worker
    "yaml": {"loader.py"},
}
DOWNSTREAM_OF_FRAMES = {"picture/renderer.py", "output/export.py", "physics/measure.py", "frame.py",
                        "picture/camera.py", "picture/looks.py", "job/timeline.py"}  # fmt: skip


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


def test_each_backend_is_imported_by_its_own_module_only() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in ONLY_IN and path.name not in ONLY_IN[top]:
                offenders.append(f"{path.name} imports {name}")
    assert offenders == []


def test_renderer_and_exporters_never_see_the_scene_model_or_the_world() -> None:
    for name in DOWNSTREAM_OF_FRAMES:
        imported = imports_of(PACKAGE / name)
        upstream = {"..scene.model", "..physics.world", "..physics.simulate", "..scene.loader"}
        assert not imported & (upstream | {"..scene.assemble"}), name


def test_audio_reads_only_frames_and_its_own_settings() -> None:
    """The audio package is downstream of Frames: no scene model, no pymunk, no pygame,
    no subprocess (export.py muxes the sound into the MP4)."""
    forbidden = {".scene", "..scene", "..world", "..simulate", "..loader", "..instances",
                 "pymunk", "pygame", "subprocess", "imageio", "imageio_ffmpeg"}  # fmt: skip
    files = sorted((PACKAGE / "audio").glob("*.py"))
    assert files
    for path in files:
        assert not imports_of(path) & forbidden, path.name


def test_public_api_is_pinned() -> None:
    assert physics_scenes.__all__ == [
        "BodyInfo", "Event", "Frame", "Issue", "Layout", "Scene", "SceneError",
        "__version__", "json_schema", "load_scene", "parse_scene", "simulate",
    ]  # fmt: skip
    for name in physics_scenes.__all__:
        assert hasattr(physics_scenes, name), name


def test_package_version_matches_pyproject() -> None:
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == physics_scenes.__version__
