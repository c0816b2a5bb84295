"""The liquid's particle sidecar (``NAME.fluid.npz``), read back against the Frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from physics_scenes import parse_scene, simulate
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.particles import CHUNK_FRAMES, ParticleWriter, read_particles

SCENE = parse_scene("""
seed: 3
world: {size: [1.2, 0.8]}
timing: {frames: 30, fps: 60, substeps: 1}
bodies:
  - {kind: floor, y: 0}
  - {kind: box, position: [-0.05, 0.4], size: [0.1, 0.8], body_type: static}
  - {kind: box, position: [1.05, 0.4], size: [0.1, 0.8], body_type: static}
  - {kind: water, name: pool, box: [0, 0, 1.0, 0.15], resolution: 0.05}
  - {kind: emitter, name: tap, position: [0.5, 0.7], direction: -90, speed: 1.0, rate: 40,
     spread: 5, fluid: {like: oil, color: "#d0a020"}}
""")


def test_the_particle_sidecar_holds_every_frames_particles_bit_for_bit(tmp_path: Path) -> None:
    """A render (states only, no pictures) writes the sidecar; read back, each frame's
    particles are those of an independent ``simulate`` run exactly, with the liquids named
    as in the states header; the file's bytes are what that run's Frames make (fixed zip
    dates: the same bytes run after run); in chunks of 7 frames they read back the same."""
    target = tmp_path / "data.jsonl"
    run(RenderJob(SCENE, target, "states", 64, 36, parallel=False))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data.fluid.npz", "data.jsonl", "data.metadata.json"
    ]  # fmt: skip
    metadata = json.loads((tmp_path / "data.metadata.json").read_text())
    assert "data.fluid.npz" in metadata["output"]["files"]
    layout, stream = simulate(SCENE)
    frames = list(stream)
    assert len(frames) == 30 and len(frames[0].fluid_kind) == 60
    assert len(frames[-1].fluid_kind) > 65 and set(frames[-1].fluid_kind.tolist()) == {0, 1}
    header = json.loads((tmp_path / "data.jsonl").read_text().splitlines()[0])
    with np.load(tmp_path / "data.fluid.npz") as data:
        assert data["fluid_name"].tolist() == [f["name"] for f in header["fluids"]]
        assert data["count"].tolist() == [len(f.fluid_kind) for f in frames]
        assert data["fluid_particle_mass"].tolist() == [
            f["particle_mass"] for f in header["fluids"]
        ]  # fmt: skip
    for chunk, name in ((CHUNK_FRAMES, "same.npz"), (7, "sevens.npz")):
        writer = ParticleWriter(tmp_path / name, layout, chunk)
        for frame in frames:
            writer.add(frame)
        writer.close()
    assert (tmp_path / "same.npz").read_bytes() == (tmp_path / "data.fluid.npz").read_bytes()
    for path in (tmp_path / "data.fluid.npz", tmp_path / "sevens.npz"):
        read = list(read_particles(path))
        assert len(read) == len(frames)
        for frame, back in zip(frames, read, strict=True):
            assert (back.index, back.time) == (frame.index, frame.time)
            assert np.array_equal(back.position, frame.fluid_position)
            assert np.array_equal(back.velocity, frame.fluid_velocity)
            assert np.array_equal(back.kind, frame.fluid_kind)


def test_an_interrupted_render_leaves_no_particle_file(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"

    def stop(done: int, total: int) -> None:
        if done == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(RenderJob(SCENE, target, "mp4", 64, 36, "draft", audio="none", parallel=False), stop)
    assert list(tmp_path.iterdir()) == []  # no sidecar, no temporaries
