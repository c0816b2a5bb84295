"""Masters that survive delivery: no infrasound, soft ends, never digital zero, and
(in test_audio and the slow examples test) a true peak under the ceiling once encoded."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm

from physics_scenes import parse_scene, simulate
from physics_scenes.audio import RATE, Levels, Score, render_track

ONE_HIT = """
seed: 3
world: {size: [4, 3]}
timing: {duration: 2.5}
materials: {dead: {density: 700, elasticity: 0.0, friction: 0.9}}
audio: {materials: {dead: {like: wood}}}
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: ball, name: ball, radius: 0.15, position: [2, 0.75], velocity: [0, -4], material: dead}
"""


def track(text: str) -> tuple[np.ndarray, Levels]:
    scene = parse_scene(text)
    layout, frames = simulate(scene)
    score = Score(layout)
    for frame in frames:
        score.add(frame)
    materials = {n: (m.density, m.elasticity) for n, m in scene.materials.items()}
    seconds = scene.timing.frame_count / scene.timing.fps
    audio, levels = render_track(score, scene.audio, scene.seed, seconds, materials=materials)
    return audio.astype(np.float64), levels


def longest_zero_run(column: np.ndarray) -> int:
    zero = np.concatenate([[False], column == 0.0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def test_one_hit_then_silence_ends_soft_has_no_infrasound_and_no_digital_zero() -> None:
    audio, levels = track(ONE_HIT)
    meter = pyloudnorm.Meter(RATE)
    loudness = meter.integrated_loudness(audio)  # (one short knock cannot make -16 LUFS)
    assert abs(loudness - levels.loudness) < 0.2, (loudness, levels)
    # the room tone fills the silence after the hit: never a stretch of exact zeros
    assert max(longest_zero_run(audio[1:, c]) for c in (0, 1)) < 10
    tail = audio[round(1.0 * RATE) : round(2.1 * RATE)]  # the hit has rung out by then
    tone = meter.integrated_loudness(tail)
    assert abs(tone - (loudness - 50)) < 3, (tone, loudness)  # 50 LU under the track
    # soft ends: the first and last samples are zero and the fade is smooth
    assert np.all(audio[0] == 0) and np.all(audio[-1] == 0)
    steps = np.abs(np.diff(audio[-RATE // 100 :], axis=0)).max()
    assert steps < 10 ** (-60 / 20), steps
    # no DC, and energy under 20 Hz at least 35 dB below the whole band
    mono = audio.mean(axis=1)
    assert abs(mono.mean()) < 1e-5
    power = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / RATE)
    below = 10 * math.log10(power[freqs < 20].sum() / power.sum())
    assert below < -35, below


def test_room_tone_can_be_switched_off_and_a_silent_scene_stays_silent() -> None:
    off = track(ONE_HIT.replace("audio: {", "audio: {room_tone: null, "))[0]
    assert longest_zero_run(off[:, 0]) > RATE // 2, "after the hit: digital silence"
    still = track("timing: {duration: 1}\nbodies: [{kind: floor}]\n")[0]
    assert not still.any(), "nothing to be under: no room tone"
