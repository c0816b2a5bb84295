"""The remapped clock: slow motion changes which simulation times are shown, never the physics."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from physics_scenes import parse_scene
from physics_scenes.job.clip import Clip
from physics_scenes.job.timeline import Timeline, scene_timeline, sim_to_video
from physics_scenes.physics.world import World

BALL = """
seed: 3
timing: {duration: 3, fps: 30, substeps: 8}
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: ball, name: ball, position: [3, 6], radius: 0.4, velocity: [2.5, 0], material: rubber}
  - {kind: box, name: box, position: [9, 1.0], size: [1, 1], angle: 20, material: wood}
"""
SLOW = BALL + "time: {segments: [{start: 0.6, end: 1.4, rate: 0.25, ramp: 0.2}]}\n"


def test_identity_clock_is_exact() -> None:
    t = Timeline.identity(5.0)
    assert t.is_identity and t.frame_count(60) == 300
    for k in range(300):
        assert t.sim_time(k / 60) == k / 60  # bit-exact: rate-1 clips keep their frames


def test_constant_slow_segment_durations() -> None:
    t = Timeline.from_segments([(1.0, 2.0, 0.25, 0.0)], end=3.0)
    assert t.video_time(1.0) == 1.0 and t.video_time(2.0) == 5.0 and t.video_duration == 6.0
    assert t.frame_count(30) == 180
    fast = Timeline.from_segments([(0.0, 2.0, 2.0, 0.0)], end=3.0)
    assert fast.video_duration == pytest.approx(2.0)


def test_ramped_clock_is_continuous_monotonic_and_invertible() -> None:
    t = Timeline.from_segments([(1.0, 2.0, 0.25, 0.3), (3.0, 3.5, 4.0, 0.2)], end=5.0)
    sims = np.linspace(0, 5, 2001)
    videos = np.array([t.video_time(s) for s in sims])
    assert np.all(np.diff(videos) > 0)
    # the rate is continuous, so the clock has no kinks: dv/ds = 1/rate everywhere
    slopes = np.diff(videos) / np.diff(sims)
    mids = (sims[1:] + sims[:-1]) / 2
    rates = np.array([t.rate(s) for s in mids])
    assert np.allclose(slopes, 1 / rates, rtol=2e-3)
    for s in sims:
        assert t.sim_time(t.video_time(s)) == pytest.approx(s, abs=1e-9)
    # the ramp's video length is the exact integral of 1/rate: ∫ ds / (1 + k s) = ln(...)/k
    k = (0.25 - 1.0) / 0.3
    assert t.video_time(1.0) - t.video_time(0.7) == pytest.approx(math.log(0.25) / k)
    assert sim_to_video(t, 4.0) == t.video_time(4.0)


def step_states(text: str, steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Reference: the World stepped at its fixed dt, every step's state."""
    world = World(parse_scene(text))
    out = []
    for i in range(steps + 1):
        if i:
            world.step()
        state = world.read_state()
        out.append((state.position, state.angle))
    return out


def test_slow_motion_shows_the_same_physics_at_the_same_sim_time() -> None:
    plain, slow = Clip(parse_scene(BALL), 64, 36), Clip(parse_scene(SLOW), 64, 36)
    dt = slow.sampler.dt
    reference = step_states(BALL, int(3.2 / dt) + 2)
    # one step's worth of motion: the tolerance for "within one step's interpolation"
    per_step = max(np.abs(b[0] - a[0]).max() for a, b in itertools.pairwise(reference))
    on_step = 0
    for clip in (plain, slow):
        for clip_frame in clip.frames():
            frame = clip_frame.frame
            u = frame.time / dt
            i = math.floor(u + 1e-6)
            f = u - i
            (pa, aa), (pb, _) = reference[i], reference[i + 1]
            if abs(f) <= 1e-6:
                on_step += 1
                assert np.array_equal(frame.position, pa) and np.array_equal(frame.angle, aa)
            else:
                assert np.allclose(frame.position, pa + (pb - pa) * f, rtol=0, atol=1e-12)
            nearest = reference[round(u)][0]
            assert np.abs(frame.position - nearest).max() <= per_step
    assert on_step > 90  # every plain frame and the slow clip's rate-1 stretches hit steps exactly


def test_slow_motion_frame_count_is_the_remapped_duration() -> None:
    slow = Clip(parse_scene(SLOW), 64, 36)
    # 0.8 s at 0.25x = 3.2 s, plus two ramps of 0.2 s each from 1 to 0.25:
    ramp = 0.2 * math.log(4) / 0.75
    expected = (3.0 - 0.8 - 0.4) + 0.8 / 0.25 + 2 * ramp
    assert slow.timeline.video_duration == pytest.approx(expected)
    assert slow.frame_count == round(expected * 30) == len(list(slow.frames()))
    assert scene_timeline(parse_scene(SLOW)).video_duration == slow.timeline.video_duration


def test_events_are_delivered_once_each_in_slow_motion() -> None:
    plain, slow = Clip(parse_scene(BALL), 64, 36), Clip(parse_scene(SLOW), 64, 36)
    a = [e for cf in plain.frames() for e in cf.frame.events]
    b = [e for cf in slow.frames() for e in cf.frame.events]
    last = min(max(e.time for e in a), max(e.time for e in b))
    assert [e for e in a if e.time <= last] == [e for e in b if e.time <= last]
    assert len(a) > 0


@pytest.mark.parametrize(
    "segment",
    ["{start: 0.6, end: 1.4, rate: 0.25, ramp: 0.2}",
     "{start: 0.5, end: 2.0, rate: 2.6, ramp: 0.3}"],
)  # fmt: skip
def test_every_event_arrives_with_the_first_frame_at_or_after_its_step(segment: str) -> None:
    """Under slow motion (frames between steps) and fast forward (steps between frames)."""
    text = BALL + f"time: {{segments: [{segment}]}}\n"
    clip = Clip(parse_scene(text), 64, 36)
    dt = clip.sampler.dt
    times = []
    delivered = []
    for cf in clip.frames():
        times.append(cf.frame.time)
        delivered.extend((cf.frame.index, e) for e in cf.frame.events)
    assert len(delivered) >= 5
    for index, event in delivered:
        assert event.time == event.step * dt
        # at or after its step (a frame within a millionth of a step counts as on it) ...
        assert times[index] >= event.time - 1e-6 * dt, (index, times[index], event)
        # ... and the first such frame: the one before showed an earlier moment
        assert index == 0 or times[index - 1] < event.time - 1e-6 * dt, (index, event)
    # the same events as without the remap, in the same order
    plain = [e for cf in Clip(parse_scene(BALL), 64, 36).frames() for e in cf.frame.events]
    last = times[-1]
    assert [e for _, e in delivered] == [e for e in plain if e.time <= last]


def test_slow_motion_preset_plays_at_a_quarter() -> None:
    clip = Clip(parse_scene(BALL + "style: slow motion\n"), 64, 36)
    assert clip.frame_count == 4 * 90
