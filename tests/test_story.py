"""The story's later actions: ``time`` (slow motion in and out at a moment), ``joint: add``,
walker turns; each checked by its effect on the Frames (or the clip's clock)."""

from __future__ import annotations

import numpy as np
import pytest

from physics_scenes.errors import RenderError
from physics_scenes.job.clip import Clip
from physics_scenes.physics.simulate import simulate
from physics_scenes.scene.loader import parse_scene

DROP = """
timing: {duration: 1.5, fps: 20, substeps: 12}
world: {size: [4, 3]}
bodies:
  - {kind: floor, name: floor, y: 0}
  - {kind: ball, name: ball, radius: 0.1, position: [2, 1.0], material: rubber}
script:
  - {name: slow, when: {contact: [ball, floor]}, time: {rate: 0.25}}
  - {name: back, after: slow, delay: 0.2, time: {rate: 1}}
"""


def test_time_enters_slow_motion_on_a_trigger_and_leaves_it() -> None:
    scene = parse_scene(DROP)
    hit = next(e.time for f in simulate(scene)[1] for e in f.events if e.a == "slow")
    assert hit == pytest.approx(np.sqrt(2 * 0.9 / 9.81), abs=0.02)  # the fall of 0.9 m
    clip = Clip(scene, 32, 24)
    times = np.array([f.frame.time for f in clip.frames()])
    # 0.2 s of simulation shown 4x slower: 0.6 s more video, 12 more frames at 20 fps
    assert len(times) == clip.frame_count == round((1.5 + 0.6) * 20)
    steps = np.diff(times)
    before, during = times[1:] <= hit, (times[1:] > hit + 0.05) & (times[1:] < hit + 0.15)
    after = times[1:] > hit + 0.25
    assert np.allclose(steps[before], 1 / 20) and np.allclose(steps[after], 1 / 20)
    assert np.allclose(steps[during], 0.25 / 20)  # a quarter of the simulation per frame
    assert clip.timeline.video_time(hit + 0.2) == pytest.approx(hit + 0.8)


def test_time_actions_and_time_segments_do_not_mix() -> None:
    scene = parse_scene(DROP + "time: {segments: [{start: 0.1, end: 0.2, rate: 0.5}]}\n")
    with pytest.raises(RenderError, match="use one or the other"):
        Clip(scene, 32, 24)
