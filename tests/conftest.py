"""Fixtures, hooks and options for the tests; importable helpers live in helpers.py."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# No signing identity unless a test makes one: a user's own (from `keys init`) would make
# every CLI render sign, slower and never byte-identical.
import tempfile

os.environ["PHYSICS_SCENES_CONFIG_DIR"] = tempfile.mkdtemp(prefix="ps-test-config-")

import shutil
import subprocess
import time
from pathlib import Path

import pytest


@pytest.fixture
def write_scene(tmp_path: Path):
    """Write YAML text to a file in tmp_path and return its path."""

    def write(text: str, name: str = "scene.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def xvfb():
    """An X server of the test's own (its display name), for real-window tests."""
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb); .ci/run installs it")
    display = f":{os.getpid() % 500 + 100}"
    server = subprocess.Popen([exe, display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1.0)
    yield display
    server.terminate()
    server.wait(timeout=10)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="record the current run hashes, frame hashes and pictures as this platform's goldens",
    )
