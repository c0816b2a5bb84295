"""Keep the layout honest: which package may import which, one backend per package, a
light contract, and a public API that is what the module says it is.

The rules are those of docs/architecture.md, checked on dotted module names.
"""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import physics_scenes

PACKAGE = Path(physics_scenes.__file__).parent
ROOT_NAME = "physics_scenes"

MAY_IMPORT: dict[str, set[str]] = {
    "frame": set(),
    "errors": set(),
    "scene": {"frame", "errors"},
    "physics": {"scene", "frame", "errors"},
    "picture": {"scene", "frame", "errors"},
    "audio": {"scene", "frame", "errors"},
    "output": {"scene", "frame", "errors", "picture.view", "audio"},
    "job": {"scene", "frame", "errors", "physics", "picture", "audio", "output"},
    "preview": {"scene", "frame", "errors", "physics", "picture", "output"},
    "cli": {"scene", "frame", "errors", "picture.view", "output.sink", "job", "preview"},
    "__main__": {"cli"},
    "__init__": {"*"},
}
"""Our packages (first component below physics_scenes) → what they may import of ours.
An entry such as ``picture.view`` allows that module only."""

BACKENDS: dict[str, set[str]] = {
    "pymunk": {"physics"},
    "pygame": {"picture.renderer", "preview"},
    "imageio": {"output.png"},
    "imageio_ffmpeg": {"output.ffmpeg"},
    "yaml": {"scene.loader"},
    "scipy": {"audio"},
    "subprocess": {"output.ffmpeg", "job.worker"},  # the encoder; the physics worker
}
"""Third-party backends (and subprocess) → the only places that may import them."""

HEAVY = ("pymunk", "pygame", "scipy", "imageio", "imageio_ffmpeg")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names (relative ones resolved)."""
    own = f"{ROOT_NAME}.{module_name(path)}"
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    if path.name == "__init__.py":
        package = own.removesuffix(".__init__")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}  # `from . import x`
    return names


def covered(name: str, allowed: set[str]) -> bool:
    return "*" in allowed or any(name == a or name.startswith(a + ".") for a in allowed)


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def layer_violations(paths: list[Path]) -> list[str]:
    offenders = []
    for path in paths:
        here = module_name(path)
        top = here.split(".")[0]
        for name in imported_modules(path):
            if name.startswith(ROOT_NAME + "."):
                target = name.removeprefix(ROOT_NAME + ".")
                if target.split(".")[0] == top or not _is_module(target):
                    continue  # within its own package, or a name imported from a module
                if not covered(target, MAY_IMPORT[top]):
                    offenders.append(f"{here} imports {target}")
            else:
                backend = name.split(".")[0]
                if backend in BACKENDS and not covered(here, BACKENDS[backend]):
                    offenders.append(f"{here} imports {backend}")
    return offenders


def _is_module(dotted: str) -> bool:
    path = PACKAGE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_every_package_has_a_rule() -> None:
    tops = {module_name(path).split(".")[0] for path in sources()}
    assert tops == set(MAY_IMPORT)


def test_imports_follow_the_layers_and_each_backend_stays_in_its_package() -> None:
    assert layer_violations(sources()) == []


def test_the_layer_check_would_catch_pymunk_in_picture(tmp_path: Path) -> None:
    """The check above must be able to fail: a picture module importing pymunk, or the
    scene model importing the physics, is reported."""
    picture = PACKAGE / "picture" / "view.py"
    spoiled = tmp_path / "view.py"
    spoiled.write_text(picture.read_text() + "\nimport pymunk\nfrom ..physics import world\n")
    original = picture.read_text()
    try:
        picture.write_text(spoiled.read_text())
        found = layer_violations([picture])
    finally:
        picture.write_text(original)
    assert "picture.view imports pymunk" in found
    assert "picture.view imports physics.world" in found


LIGHT = ["physics_scenes.frame", "physics_scenes.scene.model", "physics_scenes.scene.loader",
         "physics_scenes.cli"]  # fmt: skip


@pytest.mark.parametrize("module", LIGHT)
def test_the_contract_and_the_command_line_load_no_backend(module: str) -> None:
    """`import physics_scenes.frame` / `.scene` / the CLI (what `validate` and `--help`
    run) load neither pymunk, pygame, scipy nor imageio."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []


def test_validate_runs_without_backends(tmp_path: Path) -> None:
    scene = tmp_path / "s.yaml"
    scene.write_text("bodies: [{kind: ball, radius: 0.5, position: [0, 2]}]\n")
    code = (
        "import sys, json\nfrom physics_scenes.cli import main\n"
        f"code = main(['validate', {str(scene)!r}])\n"
        "print(json.dumps([code, sorted(sys.modules)]))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True).splitlines()[-1]
    code, loaded = json.loads(out)
    assert code == 0
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []


def test_public_api_is_what_the_module_exports() -> None:
    """Pinned the httpx way: computed from the module, not from a literal list."""
    public = sorted(
        name
        for name in dir(physics_scenes)
        if not name.startswith("_") and not inspect.ismodule(getattr(physics_scenes, name))
    )  # subpackages appear as attributes once imported; they are not exports
    assert physics_scenes.__all__ == sorted([*public, "__version__"])
    for name in physics_scenes.__all__:
        value = getattr(physics_scenes, name)
        if name != "__version__":
            assert value.__module__.startswith(ROOT_NAME + "."), name
    # the README's documented entry points are there
    documented = {"Renderer", "View", "Clip", "RenderJob", "run", "scene_timeline",
                  "load_scene", "parse_scene", "simulate", "Scene", "Frame", "Layout"}  # fmt: skip
    assert documented <= set(physics_scenes.__all__)


def test_importing_the_package_is_lazy() -> None:
    code = "import sys, json, physics_scenes; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
    ours = [name for name in loaded if name.startswith(ROOT_NAME + ".")]
    assert ours == []


def test_package_version_matches_pyproject() -> None:
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == physics_scenes.__version__


def test_the_architecture_page_lists_every_module() -> None:
    """docs/architecture.md names each package's modules; it must match the files."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("Every module, by package")[1].split("```")[1]
    listed = {}
    for line in block.strip().splitlines():
        folder, *names = line.split()
        listed[folder.removeprefix("physics_scenes/").rstrip("/")] = set(names)
    actual: dict[str, set[str]] = {}
    for path in sources():
        folder = path.parent.relative_to(PACKAGE).as_posix()
        if path.name != "__init__.py" or folder == ".":
            actual.setdefault("" if folder == "." else folder, set()).add(path.stem)
    assert listed == actual
