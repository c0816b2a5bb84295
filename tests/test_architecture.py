"""Keep the layout honest: which package may import which, one backend per package, a
light contract, and a public API that is what the module says it is.

The rules are those of docs/architecture.md, checked on dotted module names.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
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
    "job": {"scene", "frame", "errors", "physics", "picture", "audio", "output", "rights"},
    "preview": {"scene", "frame", "errors", "physics", "picture", "output", "job"},
    "cli": {
        "scene",
        "frame",
        "errors",
        "picture.view",
        "output.sink",
        "output.provenance",
        "job",
        "preview",
        "cli_dataset",
        "cli_story",
        "probe",
        "rights",
        "portal",
    },
    "probe": {"frame"},
    "rights": {
        "scene",
        "frame",
        "errors",
        "output.provenance.keys",
        "output.ffmpeg",  # sound fingerprints (Chromaprint) through the one encoder caller
        "output.sink",  # its ExportError
    },
    "portal": {"scene", "frame", "errors", "output.provenance", "rights", "job"},
    "cli_dataset": {"scene", "frame", "errors", "job", "rights.command"},
    "cli_story": {"errors", "job", "rights", "output.provenance.keys"},
    "__main__": {"cli", "errors"},
    "__init__": {"*"},
}
"""Our packages (first component below physics_scenes) → what they may import of ours.
An entry such as ``picture.view`` allows that module only."""

BACKENDS: dict[str, set[str]] = {
    "pymunk": {"physics"},
    "pygame": {
        "picture.renderer",
        "picture.sprites",
        "picture.captions",
        "preview.app",
        "preview.overlays",
        "preview.speaker",
    },
    "imageio": {"output.png", "output.provenance.media"},
    "imageio_ffmpeg": {"output.ffmpeg", "output.provenance.media"},
    "yaml": {"scene.loader"},
    "scipy": {"audio", "physics.fluid", "probe.track", "probe.compare"},
    "cv2": {"probe", "output.arrays"},  # arrays: a dataset's frames, BGRX to RGB
    "subprocess": {"output.ffmpeg", "job.worker", "output.provenance.media", "audio.speech"},
    # the encoder; the physics worker; the decoder that reads copies back for verify;
    # the speech engine (espeak-ng)
    "multiprocessing": {"job.worker", "preview.worker", "job.engines.pool", "preview.player"},
    "ray": {"job.engines.ray_tasks"},
    "h5py": {"output.shards"},
    "zlib_ng": {"output.shards"},  # the HDF5 chunks' deflate
    "rich": {"cli", "cli_dataset"},
    "orjson": {"output.states"},
    "c2pa": {"output.provenance.credentials"},
    "cryptography": {"output.provenance.keys", "rights.consent", "rights.consent_check"},
    "pydantic": {"scene", "cli"},
    # the portal's web stack: nowhere else
    "starlette": {"portal"},
    "uvicorn": {"portal.command"},
    "python_multipart": {"portal.uploads"},
    "jinja2": {"portal.app"},
    "anyio": {"portal.app"},
    "imagehash": {"rights.fingerprint", "rights.consent_check"},  # consent: a face's pHash
    "sqlite3": {"rights.registry"},
}
"""Third-party backends (and subprocess) → the only places that may import them."""

ROOT_NAMES_ALLOWED = {"__version__"}
"""What a module may take from the package root itself: anything else would go round the
layers through the lazy exports (``from physics_scenes import Renderer`` in ``scene/``)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    """Whether ``physics_scenes.<dotted>`` is a module or package of ours."""
    path = PACKAGE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """Every module ``module`` (dotted, below physics_scenes) imports, as absolute dotted
    names, relative imports resolved; ``from a import b`` gives ``a.b`` when ``b`` is a
    module of ours, else ``a`` itself."""
    own = f"{ROOT_NAME}.{module}".removesuffix(".__init__")
    package = own if is_package else own.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                inner = f"{base}.{alias.name}".removeprefix(ROOT_NAME + ".")
                if base.startswith(ROOT_NAME) and _is_module(inner):
                    names.add(f"{base}.{alias.name}")
                elif base == ROOT_NAME:
                    names.add(f"{ROOT_NAME}:{alias.name}")  # a name from the root itself
                else:
                    names.add(base)
    return names


def covered(name: str, allowed: set[str]) -> bool:
    return "*" in allowed or any(name == a or name.startswith(a + ".") for a in allowed)


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def layer_violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """What ``module`` (dotted, below physics_scenes) imports against the rules."""
    top = module.split(".")[0]
    offenders = []
    for name in sorted(imported_names(source, module, is_package)):
        if name.startswith(ROOT_NAME + ":"):
            if name.partition(":")[2] not in ROOT_NAMES_ALLOWED and top != "__init__":
                offenders.append(f"{module} imports {name.partition(':')[2]} from the root")
        elif name.startswith(ROOT_NAME + "."):
            target = name.removeprefix(ROOT_NAME + ".")
            if target.split(".")[0] != top and not covered(target, MAY_IMPORT[top]):
                offenders.append(f"{module} imports {target}")
        else:
            backend = name.split(".")[0]
            if backend in BACKENDS and not covered(module, BACKENDS[backend]):
                offenders.append(f"{module} imports {backend}")
    return offenders


def test_every_package_has_a_rule() -> None:
    tops = {module_name(path).split(".")[0] for path in sources()}
    assert tops == set(MAY_IMPORT)


def test_imports_follow_the_layers_and_each_backend_stays_in_its_package() -> None:
    found = []
    for path in sources():
        text = path.read_text(encoding="utf-8")
        found += layer_violations(module_name(path), text, path.name == "__init__.py")
    assert found == []


@pytest.mark.parametrize(
    ("module", "line", "complaint"),
    [
        ("picture.view", "import pymunk", "picture.view imports pymunk"),
        ("picture.view", "from ..physics import world", "picture.view imports physics.world"),
        ("picture.looks", "import pygame", "picture.looks imports pygame"),
        ("scene.model", "from .. import Renderer", "scene.model imports Renderer from the root"),
        (
            "scene.model",
            "from physics_scenes import Clip",
            "scene.model imports Clip from the root",
        ),
        ("audio.track", "from ..output import sound", "audio.track imports output.sound"),
        ("preview.history", "import pygame.draw", "preview.history imports pygame"),
    ],
)
def test_the_layer_check_catches_a_wrong_import(module: str, line: str, complaint: str) -> None:
    """The check above must be able to fail (on the real module's text plus one line)."""
    path = PACKAGE.joinpath(*module.split(".")).with_suffix(".py")
    assert layer_violations(module, path.read_text(encoding="utf-8")) == []
    assert complaint in layer_violations(module, path.read_text(encoding="utf-8") + line + "\n")


def test_a_module_from_a_package_is_not_mistaken_for_the_package() -> None:
    """``from ..picture import view`` in output/ imports picture.view, which it may."""
    assert layer_violations("output.states", "from ..picture import view\n") == []


ANY_BACKEND = ("pymunk", "pygame", "scipy", "imageio", "imageio_ffmpeg")
LIGHT: dict[str, tuple[str, ...]] = {
    "frame": ANY_BACKEND,
    "errors": ANY_BACKEND,
    "scene.model": ANY_BACKEND,
    "scene.loader": ANY_BACKEND,
    "scene.assemble": ANY_BACKEND,
    "cli": ANY_BACKEND,
    "output.sink": ANY_BACKEND,
    "job.timeline": ANY_BACKEND,
    "picture.view": ANY_BACKEND,
    "picture.camera": ANY_BACKEND,
    "picture.raster": ANY_BACKEND,
    "picture.looks": ANY_BACKEND,
    "physics.gait": ANY_BACKEND,
    "preview.history": ("pygame", "scipy", "imageio"),
    "audio.track": ("pymunk", "pygame", "imageio"),
    "probe.command": (*ANY_BACKEND, "cv2"),
}
"""Modules → backends that importing them must not load, however indirectly (what the
per-import rules above cannot see: a chain through modules of the same package)."""


def loaded_after(code: str) -> list[str]:
    """The top-level modules loaded by running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.check_output([sys.executable, "-c", script], text=True)
    return sorted({name.split(".")[0] for name in json.loads(out.splitlines()[-1])})


LIGHT_IN_SLOW_RUN = {"frame", "errors", "scene.assemble", "output.sink", "job.timeline",
                     "picture.camera", "picture.raster", "picture.looks", "physics.gait",
                     "preview.history"}  # fmt: skip
"""A fresh interpreter each (about 0.7 s): the default run checks the modules at the top of
the chains (cli, model, loader, view, track, probe), which import most of these; .ci/run
checks them all."""


@pytest.mark.parametrize(
    "module",
    [
        pytest.param(m, marks=pytest.mark.slow) if m in LIGHT_IN_SLOW_RUN else m
        for m in sorted(LIGHT)
    ],
)
def test_light_modules_load_no_heavy_backend(module: str) -> None:
    loaded = loaded_after(f"import {ROOT_NAME}.{module}")
    assert set(loaded) & set(LIGHT[module]) == set()


@pytest.mark.parametrize("command", ["validate", "info", "schema", "--help"])
def test_commands_that_only_read_scenes_load_no_backend(command: str, tmp_path: Path) -> None:
    scene = tmp_path / "s.yaml"
    scene.write_text("bodies: [{kind: ball, radius: 0.5, position: [0, 2]}]\n")
    args = [command] if command in ("schema", "--help") else [command, str(scene)]
    code = (
        "import contextlib, io\nfrom physics_scenes.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    assert main({args!r}) == 0\n"
    )
    assert set(loaded_after(code)) & set(ANY_BACKEND) == set()


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


def test_the_entry_point_stops_on_the_same_signals_as_the_command() -> None:
    import physics_scenes.__main__ as entry
    from physics_scenes import errors

    assert entry.STOP_SIGNALS == errors.STOP_SIGNALS


PYGAME_MODULES = sorted(
    path
    for path in PACKAGE.rglob("*.py")
    if re.search(r"^\s*import pygame", path.read_text(encoding="utf-8"), re.M)
)


@pytest.mark.parametrize("path", PYGAME_MODULES, ids=lambda p: p.stem)
def test_every_module_that_imports_pygame_hides_its_banner_first(path: Path) -> None:
    # pygame prints "pygame-ce 2.5.8 (SDL ...)" on import unless told not to: whichever
    # of our modules is imported first, stdout (a render's report, --json) stays clean
    text = path.read_text(encoding="utf-8")
    hide = text.find('os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")')
    assert 0 <= hide < re.search(r"^\s*import pygame", text, re.M).start(), path  # type: ignore[union-attr]


def test_importing_a_pygame_module_prints_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYGAME_HIDE_SUPPORT_PROMPT"}
    code = "import physics_scenes.picture.captions"  # it printed pygame's banner once
    out = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, env=env,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert out == ""


def test_a_render_without_sound_does_not_load_scipy_signal() -> None:
    # scipy.signal costs 0.5-1 s of CPU to import (it parses ~650 docstrings): a render
    # loads it only when it makes sound (audio.dsp, imported inside the sound paths)
    script = (
        "import sys\nfrom physics_scenes.job import pipeline\n"
        "from physics_scenes.output.provenance import marks\n"
        "from physics_scenes.output import video\n"
        "print('scipy.signal' in sys.modules)"
    )
    out = subprocess.check_output([sys.executable, "-c", script], text=True)
    assert out.split()[-1] == "False"
