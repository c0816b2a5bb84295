"""The pipelined export (physics in a worker process) gives the serial export's bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from physics_scenes import load_scene
from physics_scenes.job import worker
from physics_scenes.job.pipeline import RenderJob, run, sidecar_paths
from physics_scenes.job.worker import worth_a_worker
from physics_scenes.scene.model import Timing

from helpers import SCENES, decode_video


def render(folder: Path, parallel: bool, seconds: float = 2.0) -> list[Path]:
    scene = load_scene(SCENES / "ball_pile.yaml")
    scene = scene.model_copy(update={"timing": Timing(duration=seconds, fps=60, substeps=4)})
    folder.mkdir()
    output = folder / "pile.mp4"
    result = run(RenderJob(scene, output, "mp4", 320, 180, "draft", parallel=parallel))
    assert result.frames == round(seconds * 60)
    return [output, *sidecar_paths(output)]


@pytest.mark.slow  # 8 s; test_determinism keeps process identity in the default run
def test_pipelined_export_is_byte_identical_to_a_serial_one(tmp_path: Path) -> None:
    # 1000 balls raining into a box: hundreds of contact events a frame, balls in the
    # corners touching two walls at once (whose order once depended on memory addresses)
    serial = render(tmp_path / "serial", parallel=False)
    pipelined = render(tmp_path / "pipelined", parallel=True)
    for a, b in zip(serial, pipelined, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    video = decode_video(pipelined[0])
    assert video.frames.shape == (120, 180, 320, 3)
    assert video.frames[-1].std() > 10  # a picture (balls on a background), not a blank


def test_a_scene_that_fails_in_the_worker_leaves_nothing_behind(tmp_path: Path) -> None:
    scene = load_scene(SCENES / "ball_pile.yaml")
    scene = scene.model_copy(update={"timing": Timing(duration=2, fps=60, substeps=4)})
    job = RenderJob(scene, tmp_path / "pile.mp4", "mp4", 320, 180, "draft", parallel=True,
                    source=tmp_path / "missing.yaml")  # fmt: skip
    with pytest.raises(OSError):  # the source file's hash cannot be read
        run(job)
    assert list(tmp_path.iterdir()) == []


def test_a_worker_is_used_when_the_physics_costs_enough_to_overlap() -> None:
    # 30 frames measured: 15 ms of physics and 15 ms of drawing and encoding a frame
    assert worth_a_worker(0.45, 0.45, 30, 570)  # a 10 s clip: ≈ 8 s saved
    assert not worth_a_worker(0.45, 0.45, 30, 60)  # a 1.5 s clip: the start costs more
    assert not worth_a_worker(0.03, 0.45, 30, 570)  # 1 ms of physics: little to overlap
    assert not worth_a_worker(0.45, 0.45, 30, 0)
    # later in a clip the worker must first catch up on all the physics made so far
    assert worth_a_worker(0.45, 0.45, 30, 600, catch_up=2.0)
    assert not worth_a_worker(0.45, 0.45, 30, 600, catch_up=6.0)


@pytest.mark.slow  # two 1000-ball renders; .ci/run runs it
def test_an_automatic_render_that_switches_to_a_worker_midway_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = render(tmp_path / "serial", parallel=False)
    # force the switch after the probe frames, wherever this machine's timings fall
    monkeypatch.setattr(worker, "worth_a_worker", lambda *args: True)
    switched = render(tmp_path / "switched", parallel=None)
    for a, b in zip(serial, switched, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


@pytest.mark.slow  # two 1000-ball renders; .ci/run runs it
def test_an_automatic_render_looks_again_as_the_physics_grows_and_switches_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the pile grows costly only once the balls land: the first look says no, the third yes
    looks: list[tuple[int, float]] = []

    def third_time(simulating: float, rest: float, frames: int, remaining: int, total: float):
        looks.append((remaining, total))
        return len(looks) == 3

    serial = render(tmp_path / "serial", parallel=False)
    monkeypatch.setattr(worker, "worth_a_worker", third_time)
    switched = render(tmp_path / "switched", parallel=None)
    assert [remaining for remaining, _ in looks] == [90, 60, 30]  # after frames 30, 60, 90
    assert 0 < looks[0][1] < looks[1][1] < looks[2][1]  # the catch-up counts all physics
    for a, b in zip(serial, switched, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
