"""A clip's plausibility measured all at once, and its states handed over as arrays: the
same bits as measuring frame by frame and as reading the states file back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from physics_scenes.frame import (
    BodyInfo,
    CircleGeom,
    Event,
    Frame,
    JointInfo,
    Layout,
    PolyGeom,
    SegmentGeom,
)
from physics_scenes.output.shards import _states
from physics_scenes.output.sink import StreamInfo
from physics_scenes.output.states import ClipStates, StatesSink
from physics_scenes.physics import measure
from physics_scenes.physics.measure import Energies, Penetration


def _layout(rng: np.random.Generator, count: int) -> Layout:
    """``count`` bodies of every shape kind, some static, two in one group, one pair
    tied by a pin, centres of gravity off the origin; gravity with both components."""
    bodies = []
    for row in range(count):
        kind = row % 4
        if kind == 0:
            shapes: tuple = (CircleGeom(float(rng.uniform(0.2, 0.6))),)
        elif kind == 1:
            shapes = (CircleGeom(0.3, (0.2, -0.1)), SegmentGeom((-0.5, 0.0), (0.5, 0.1), 0.05))
        elif kind == 2:
            w, h = rng.uniform(0.2, 0.7, size=2)
            shapes = (PolyGeom(((-w, -h), (w, -h), (w, h), (-w, h))),)
        else:
            shapes = (SegmentGeom((-1.0, 0.0), (1.0, 0.0), 0.1),)
        body_type = "static" if row % 5 == 4 else "dynamic"
        cog = (0.0, 0.0) if row % 3 == 0 else tuple(rng.uniform(-0.2, 0.2, size=2).tolist())
        bodies.append(BodyInfo(f"b{row}", "ball", body_type, "wood", (9, 9, 9), shapes,
                               float(rng.uniform(0.5, 3)), float(rng.uniform(0.1, 1)), cog,
                               group=1 if row in (1, 2) else 0))  # fmt: skip
    joints = (JointInfo("rod", "pin", 3, 5),)
    return Layout(tuple(bodies), (0.0, 0.0), (6.0, 6.0), (0, 0, 0), (0.7, -9.81), joints)


def _frames(rng: np.random.Generator, layout: Layout, count: int) -> list[Frame]:
    """Bodies crowded into a box (they overlap), now and then one out of the world
    (NaN), at exactly zero, or spinning far."""
    rows = len(layout.bodies)
    frames = []
    for index in range(count):
        position = rng.uniform(0, 3 * max(1.0, (rows / 10) ** 0.5), size=(rows, 2))
        angle = rng.uniform(-40, 40, size=rows)
        if index % 7 == 3:
            position[index % rows] = np.nan
        if index % 5 == 1:
            position[0] = (-0.0, 0.0)
        frames.append(Frame(index, index / 16, position, angle, rng.normal(0, 3, size=(rows, 2)),
                            rng.normal(0, 5, size=rows)))  # fmt: skip
    return frames


def test_a_clip_s_energies_and_deepest_overlap_match_frame_by_frame_to_the_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(19)
    deep = 0
    monkeypatch.setattr(measure, "WHOLE_CLIP_CELLS", 500)  # a few frames at a time, too
    # sums of fewer and more than 8 terms; 100 bodies: too many pairs, frame by frame
    for count in (1, 5, 9, 20, 100):
        layout = _layout(rng, count)
        frames = _frames(rng, layout, 24 if count < 100 else 6)
        energies = Energies(layout)
        alone = [energies.kinetic(f) + energies.potential(f) for f in frames]
        assert energies.totals(frames).tobytes() == np.array(alone).tobytes()
        overlap = Penetration(layout)
        best: tuple[float, int, int, int] = (0.0, -1, -1, -1)
        for at, frame in enumerate(frames):
            depth, a, b = overlap(frame)
            if depth > best[0]:
                best = (depth, at, a, b)
        assert overlap.deepest(frames) == best
        deep += best[0] > 0
        assert overlap.deepest(frames[:0]) == (0.0, -1, -1, -1)
    assert deep >= 4  # the crowded bodies did overlap


def test_the_states_handed_over_are_the_states_file_read_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    layout = _layout(rng, 6)
    frames = _frames(rng, layout, 12)
    velocity = np.array(frames[2].velocity)
    velocity[1] = (np.inf, -0.0)  # written as null and -0.0
    hit = Event(0.125, 30, "begin", "b0", "b1", 0.5, (1.0, 2.0), (0.0, -1.0))
    frames[2] = Frame(2, frames[2].time, frames[2].position, frames[2].angle, velocity,
                      frames[2].angular_velocity, (hit,))  # fmt: skip
    path = tmp_path / "clip.states.jsonl"
    sink = StatesSink(path)
    sink.open(StreamInfo(layout, 64, 64, 16, len(frames), 1 / 240))
    for frame in frames:
        sink.write(frame, None)
    sink.finish()
    sink.commit()
    for count in (12, 0):
        if count == 0:
            path.write_bytes(b"".join(path.read_bytes().splitlines(True)[i] for i in (0, -1)))
        bodies, arrays, events = _states(path)
        got_bodies, got, got_events = ClipStates(layout, tuple(frames[:count])).read_back()
        assert json.dumps(got_bodies) == json.dumps(bodies)
        assert json.dumps(got_events) == json.dumps(events)
        assert list(got) == list(arrays)
        for name, array in arrays.items():
            assert got[name].dtype == array.dtype and got[name].shape == array.shape
            assert got[name].tobytes() == array.tobytes(), name
    assert events == [] and len(json.loads(json.dumps(got_bodies))) == 6
