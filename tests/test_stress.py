"""The same bytes under stress: with both cores busy beside the render, and with the physics
in a worker process or in the same one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from physics_scenes import RenderJob, load_scene, run
from physics_scenes.scene.model import Timing

from helpers import SCENES

HOG = "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end:\n    pass\n"
"""A busy loop that stops by itself after two minutes, whatever happens to the test."""


@contextmanager
def busy_cores(count: int = 2) -> Iterator[None]:
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def render(folder: Path, parallel: bool) -> dict[str, bytes]:
    scene_path = SCENES / "ramp_tumble.yaml"
    scene = load_scene(scene_path)
    short = Timing(duration=2.5, fps=scene.timing.fps, substeps=scene.timing.substeps)
    job = RenderJob(
        scene.model_copy(update={"timing": short}), folder / "clip.mp4", "mp4", 320, 180,
        source=scene_path, audio="wav", parallel=parallel,
    )  # fmt: skip
    result = run(job)
    return {path.name: path.read_bytes() for path in result.files}


@pytest.mark.slow  # 3 s; .ci/run runs it
def test_a_loaded_machine_and_a_worker_process_change_no_byte(tmp_path: Path) -> None:
    quiet = render(tmp_path / "quiet", parallel=False)
    with busy_cores():
        loaded = render(tmp_path / "loaded", parallel=True)
    assert sorted(quiet) == ["clip.metadata.json", "clip.mp4", "clip.states.jsonl", "clip.wav"]
    for name, content in quiet.items():
        assert loaded[name] == content, name
