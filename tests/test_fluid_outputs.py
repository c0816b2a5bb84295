"""The liquid's particle sidecar (``NAME.fluid.npz``), read back against the Frames."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from physics_scenes import parse_scene, simulate
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.particles import CHUNK_FRAMES, read_particles

SCENE = parse_scene("""
seed: 3
world: {size: [1.2, 0.8]}
timing: {frames: 70, fps: 60, substeps: 1}
bodies:
  - {kind: floor, y: 0}
  - {kind: box, position: [-0.05, 0.4], size: [0.1, 0.8], body_type: static}
  - {kind: box, position: [1.05, 0.4], size: [0.1, 0.8], body_type: static}
  - {kind: water, name: pool, box: [0, 0, 1.0, 0.15], resolution: 0.05}
  - {kind: emitter, name: tap, position: [0.5, 0.7], direction: -90, speed: 1.0, rate: 40,
     spread: 5, fluid: {like: oil, color: "#d0a020"}}
""")


def test_the_particle_sidecar_holds_every_frames_particles_bit_for_bit(tmp_path: Path) -> None:
    """Two renders (states only, no pictures) write the same bytes; read back, each frame's
    particles are the Frames' arrays exactly, across chunk boundaries, with the liquids
    named as in the states header."""
    digests = []
    for run_number in range(2):
        target = tmp_path / f"run{run_number}" / "data.jsonl"
        run(RenderJob(SCENE, target, "states", 64, 36))
        digests.append(hashlib.sha256(target.with_name("data.fluid.npz").read_bytes()).digest())
    assert digests[0] == digests[1]
    folder = tmp_path / "run0"
    assert sorted(p.name for p in folder.iterdir()) == [
        "data.fluid.npz", "data.jsonl", "data.metadata.json"
    ]  # fmt: skip
    metadata = json.loads((folder / "data.metadata.json").read_text())
    assert "data.fluid.npz" in metadata["output"]["files"]
    frames = list(simulate(SCENE)[1])
    read = list(read_particles(folder / "data.fluid.npz"))
    assert len(read) == len(frames) == 70 > CHUNK_FRAMES  # two chunks
    for frame, back in zip(frames, read, strict=True):
        assert (back.index, back.time) == (frame.index, frame.time)
        assert np.array_equal(back.position, frame.fluid_position)
        assert np.array_equal(back.velocity, frame.fluid_velocity)
        assert np.array_equal(back.kind, frame.fluid_kind)
    assert len(read[0].kind) == 60 and len(read[-1].kind) > 70  # the tap pours
    assert set(read[-1].kind.tolist()) == {0, 1}
    header = json.loads((folder / "data.jsonl").read_text().splitlines()[0])
    with np.load(folder / "data.fluid.npz") as data:
        assert data["fluid_name"].tolist() == [f["name"] for f in header["fluids"]]
        assert data["count"].tolist() == [len(f.fluid_kind) for f in frames]
        assert data["fluid_particle_mass"].tolist() == [
            f["particle_mass"] for f in header["fluids"]
        ]  # fmt: skip


def test_an_interrupted_render_leaves_no_particle_file(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"

    def stop(done: int, total: int) -> None:
        if done == 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(RenderJob(SCENE, target, "mp4", 64, 36, "draft", audio="none"), stop)
    assert list(tmp_path.iterdir()) == []  # no sidecar, no temporaries
