"""The sound of liquids from their particles: a pour's rush and bubbles, a surface's slosh."""

from __future__ import annotations

import numpy as np
import pytest

from physics_scenes.audio.dsp import BLOCK, RATE, band_shape, noise_blocks
from physics_scenes.audio.mix import Source, mix_windows
from physics_scenes.audio.water import (
    MINNAERT,
    WaterScore,
    bubble,
    layers,
)
from physics_scenes.frame import FluidInfo, Frame, Layout

FPS, SPACING, MASS = 60, 0.05, 2.5
LAYOUT = Layout((), (0.0, 0.0), (100.0, 2.0), (0, 0, 0), (0.0, -9.81),
                fluids=(FluidInfo("water", 1000.0, MASS, (0, 0, 255)),),
                fluid_spacing=SPACING)  # fmt: skip
NO_BODIES = (np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)), np.zeros(0))


def pour(per_frame: int, frames: int = 54, first: int = 10) -> WaterScore:
    """A stream of drops 0.2 m apart in a column at the middle (panned centre): from frame
    ``first`` on, ``per_frame`` new drops fall at 4 m/s each frame and last frame's drops
    are stopped (a surface)."""
    water = WaterScore(LAYOUT)
    for k in range(frames):
        count = per_frame * max(0, k - first + 1)
        x = np.column_stack([np.full(count, 50.0), 0.2 * np.arange(count)])
        v = np.zeros((count, 2))
        v[count - per_frame :, 1] = -4.0 if count else 0.0
        water.add(Frame(k, k / FPS, *NO_BODIES, (), x, v, np.zeros(count, dtype=np.int16)))
    return water


def played(sources: list[Source], seconds: float) -> np.ndarray:
    length = round(seconds * RATE)
    return np.concatenate(list(mix_windows(sources, length))).mean(axis=1).astype(np.float64)


def test_a_pour_sounds_from_when_it_lands_with_the_power_of_the_stream() -> None:
    """The impact power is the stream's kinetic energy a second; the sound starts on the
    frame the first drops land, and four times the flow is twice the amplitude."""
    thin, thick = pour(2), pour(8)
    assert thin.impact_power[12] == pytest.approx(2 * 0.5 * MASS * 16 * FPS)  # 2400 W/m
    assert thin.impact_mass[12] == 2 * MASS and thin.impact_power[10] == 0.0
    sound = {}
    for name, water in (("thin", thin), ("thick", thick)):
        parts = layers(water, 7, round(0.9 * RATE), lambda t: t, 1.0)
        assert parts["slosh"] == []  # drops alone have no surface
        sound[name] = played(parts["pour"] + parts["bubbles"], 0.9)
    onset = np.flatnonzero(np.abs(sound["thin"]) > 1e-4)[0] / RATE
    assert 10 / FPS <= onset <= 11 / FPS  # the first drops land on frame 11
    steady = slice(round(0.25 * RATE), round(0.85 * RATE))
    ratio = np.sqrt(np.mean(sound["thick"][steady] ** 2) / np.mean(sound["thin"][steady] ** 2))
    assert 1.8 < ratio < 2.2, ratio


def test_bubbles_ring_at_the_minnaert_pitch_of_their_size() -> None:
    """A bubble rings at f = 3.26 m/s / r, rising a little; the pour's bubbles lie between
    the pitches of 4 % and 25 % of a drop's radius (0.564 spacings)."""
    for hz in (800.0, 3000.0):
        ring = bubble(hz, np.random.default_rng(1))
        spectrum = np.abs(np.fft.rfft(ring, 1 << 16))
        peak = np.fft.rfftfreq(1 << 16, 1 / RATE)[spectrum.argmax()]
        assert hz <= peak <= 1.3 * hz, (hz, peak)
        assert ring[0] == 0 and ring[-1] == 0 and np.abs(ring[: len(ring) // 2]).max() > 0.5
    drop = SPACING / np.sqrt(np.pi)
    low, high = MINNAERT / (0.25 * drop), MINNAERT / (0.04 * drop)  # 462 and 2890 Hz
    parts = layers(pour(4, 30), 3, round(0.5 * RATE), lambda t: t, 1.0)
    sound = played(parts["bubbles"], 0.5)
    power = np.abs(np.fft.rfft(sound)) ** 2
    hz = np.fft.rfftfreq(len(sound), 1 / RATE)
    inside = power[(hz > low) & (hz < 1.3 * high)].sum() / power.sum()
    assert inside > 0.9, inside


def test_a_still_pool_is_silent_and_a_sloshing_one_sounds_low() -> None:
    """The slosh follows the surface's kinetic energy: none at rest (or under 5 cm/s of
    jitter); a moving surface makes noise whose energy sits under 1 kHz."""
    gx, gy = np.meshgrid(np.arange(40) * SPACING, np.arange(8) * SPACING)
    x = np.column_stack([gx.ravel() + 1.0, gy.ravel()])
    kinds = np.zeros(len(x), dtype=np.int16)
    sounds = []
    for speed in (0.04, 0.8):
        water = WaterScore(LAYOUT)
        for k in range(30):
            v = np.zeros_like(x)
            v[:, 0] = speed * np.sin(2 * np.pi * k / 30)
            water.add(Frame(k, k / FPS, *NO_BODIES, (), x, v, kinds))
        parts = layers(water, 5, RATE // 2, lambda t: t, 1.0)
        assert parts["pour"] == [] and parts["bubbles"] == []
        sounds.append(played(parts["slosh"], 0.5) if parts["slosh"] else np.zeros(RATE // 2))
    assert not sounds[0].any()
    power = np.abs(np.fft.rfft(sounds[1])) ** 2
    hz = np.fft.rfftfreq(len(sounds[1]), 1 / RATE)
    assert power.sum() > 0 and power[hz < 1000].sum() > 0.7 * power.sum()


def test_long_noise_has_no_click_where_its_blocks_join() -> None:
    """The slosh (and every scrape and room tone) is noise made in overlapping blocks: the
    first join had a step 30 times the noise's typical sample-to-sample change (its start
    and its fading tail came from two different draws), a click 0.68 s into a run."""
    noise = np.concatenate(list(noise_blocks(np.random.default_rng(1), 3 * BLOCK, band_shape(380))))
    change = np.abs(np.diff(noise))
    for join in (BLOCK // 2, BLOCK, 3 * BLOCK // 2):
        assert change[join - 2 : join + 2].max() < 4 * np.median(change), join
