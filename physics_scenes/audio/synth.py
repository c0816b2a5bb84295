"""Voices: the waveforms of single sounds (impacts, footsteps, samples) and the noise layers.

A struck body rings in its modes: a few exponentially damped sinusoids whose
frequencies and ring times come from its ``Timbre`` and size, plus a short
noise burst for the contact itself. Each hit varies the mix of modes a little
(strike position), from the scene's seed, so repeats do not sound machine-made.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .dsp import RATE, Audio, band_noise, band_noises
from .timbre import MAX_HZ, Timbre

LN1000 = math.log(1000.0)
SPLASH_LENGTH = int(0.45 * RATE)
MAX_RING = 4.0
"""Longest ring kept, seconds."""
END_FADE = int(0.005 * RATE)


@dataclass(frozen=True, slots=True)
class Modes:
    """One body's unit-level modal components and contact noise, cached per (timbre, f0)."""

    parts: tuple[Audio, ...]
    noises: Audio
    """``NOISES`` contact-noise bursts, a row each: each hit takes one (one burst repeated
    by a thousand hits kept its chance spectral peaks: a steady 7 kHz line in a pile)."""
    decays: tuple[float, ...]
    full: int = field(init=False)
    """Samples in a whole impact made of these modes."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "full", max([len(p) for p in self.parts] + [self.noises.shape[1]]))


def _ramp(length: int, attack_ms: float) -> Audio | None:
    n = min(length, attack_samples(attack_ms))
    if n <= 1:
        return None
    return _rise(n)


@lru_cache(maxsize=64)
def _rise(n: int) -> Audio:
    """A raised-cosine rise over ``n`` samples (read-only: shared by every voice)."""
    rise: Audio = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    rise.flags.writeable = False
    return rise


@lru_cache(maxsize=64)
def _fall(n: int) -> Audio:
    """``np.linspace(1, 0, n)``, read-only and shared."""
    fall = np.linspace(1.0, 0.0, n)
    fall.flags.writeable = False
    return fall


NOISES = 8
"""Contact-noise bursts kept per body sound."""


class ImpactSynth:
    """Makes impact and footstep waveforms; caches each body's modes, so 1000 balls cost little."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._cache: dict[tuple[Timbre, float, float], Modes] = {}

    def modes(self, timbre: Timbre, f0: float, decay: float = 1.0) -> Modes:
        """The modes of ``timbre`` at ``f0``, ring times times ``decay``."""
        key = (timbre, round(f0, 6), decay)
        if key in self._cache:
            return self._cache[key]
        if decay != 1.0:
            timbre = timbre.scaled(decay=decay)
        longest = min(max(timbre.decays), MAX_RING)
        length = int(longest * RATE) + 1
        n = np.arange(length) / RATE
        parts = []
        decays = []
        for ratio, decay, amp in zip(timbre.ratios, timbre.decays, timbre.amps, strict=True):
            f = f0 * ratio
            if f >= min(MAX_HZ * 2, 0.45 * RATE):
                continue
            size = min(length, int(min(decay, MAX_RING) * RATE) + 1)
            t = n[:size]
            parts.append(amp * np.exp(-LN1000 / decay * t) * np.sin(2 * np.pi * f * t))
            decays.append(decay)
        burst = int(timbre.noise_ms * 1e-3 * RATE * 3) + 1
        envelope = timbre.noise * np.exp(-np.arange(burst) / (timbre.noise_ms * 1e-3 * RATE))
        rng = np.random.default_rng(
            [self._seed, zlib.crc32(timbre.name.encode()), int(f0 * 1000), int(decay * 1000)]
        )
        noises = band_noises(rng, NOISES, burst, timbre.noise_hz, 2.0) * envelope
        modes = Modes(tuple(parts), noises, tuple(decays))
        self._cache[key] = modes
        return modes

    @staticmethod
    def length(timbre: Timbre, decay: float = 1.0) -> int:
        """Samples in an impact of ``timbre``, ring times times ``decay`` (what ``impact``
        returns)."""
        ring = int(min(max(timbre.decays) * decay, MAX_RING) * RATE) + 1
        return max(ring, int(timbre.noise_ms * 1e-3 * RATE * 3) + 1)

    def impact(
        self,
        timbre: Timbre,
        f0: float,
        rng: np.random.Generator,
        limit: int | None = None,
        decay: float = 1.0,
    ) -> tuple[Audio, float]:
        """A unit-level impact of a body (its first ``limit`` samples, if given), its ring
        times times ``decay``; returns the waveform and its longest ring time."""
        modes = self.modes(timbre, f0, decay)
        weights = rng.uniform(0.6, 1.4, len(modes.parts) + 1)
        pick = int(rng.integers(len(modes.noises)))
        length = modes.full if limit is None else min(modes.full, limit)
        out = impact_rows(modes, timbre.attack_ms, weights[None, :], [pick], [length])[0]
        return out, max(modes.decays, default=timbre.noise_ms * 1e-3)

    def footstep(
        self,
        ground: Timbre,
        ground_f0: float,
        sole_hz: float,
        mass: float,
        speed: float,
        rng: np.random.Generator,
    ) -> Audio:
        """A footfall (unit level, ``footstep_length(mass)`` samples): a low body thump
        whose pitch and length follow the walker's size (a heavier walker is lower and
        longer), the scuff of the sole on that ground, brighter for a harder step
        (``speed``, the walker's change of speed), and a little of the ground's own ring.

        It rises from zero and ends at exactly zero (a short fade), so it never clicks.
        """
        length = footstep_length(mass)
        t = np.arange(length) / RATE
        size = (mass / 70.0) ** (1 / 3)
        hard = min(1.0, speed / 0.12)
        f = 78.0 / size * (0.9 + 0.25 * hard) * rng.uniform(0.95, 1.05)
        thump = np.exp(-t / (THUMP_TAU * size)) * np.sin(2 * np.pi * f * t)
        scuff_len = min(length, int(0.06 * RATE))
        centre = math.sqrt(ground.scrape_hz * sole_hz) * (0.8 + 0.5 * hard)
        scuff = band_noise(rng, scuff_len, centre * rng.uniform(0.9, 1.1), 2.5)
        scuff *= (0.12 + 0.2 * hard) * np.exp(-np.arange(scuff_len) / (0.012 * RATE))
        out: Audio = thump
        out[:scuff_len] += scuff
        click, _ = self.impact(ground.scaled(decay=0.5), ground_f0, rng, length)
        out[: len(click)] += 0.2 * click
        ramp = _ramp(length, 2.0)
        assert ramp is not None
        out[: len(ramp)] *= ramp
        fade = min(length, int(FOOTSTEP_FADE * RATE))
        out[length - fade :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fade + 1) / fade)
        return out

    def splash(self, weight: float, rng: np.random.Generator) -> tuple[Audio, float]:
        """Liquid stopped hard (a ``splash`` event): a low noisy body, lower and longer for
        more mass (``weight`` 0-1), and a scatter of droplet plinks, short sines whose pitch
        rises as a bubble closes (Minnaert: small drops ring high)."""
        length = SPLASH_LENGTH
        t = np.arange(length) / RATE
        hz = (420.0 - 260.0 * weight) * rng.uniform(0.85, 1.15)
        out = band_noise(rng, length, hz, 2.5) * np.exp(-t / (0.04 + 0.12 * weight))
        plink = int(0.05 * RATE)
        tt = np.arange(plink) / RATE
        for _ in range(3 + int(6 * weight)):
            at = int(rng.uniform(0.0, 0.3) * RATE)
            f0 = rng.uniform(900.0, 2800.0)
            rise = f0 * rng.uniform(4.0, 10.0)  # Hz per second
            tone = np.sin(2 * np.pi * (f0 * tt + 0.5 * rise * tt * tt)) * np.exp(-tt / 0.012)
            end = min(length, at + plink)
            out[at:end] += rng.uniform(0.15, 0.45) * tone[: end - at]
        ramp = _ramp(length, 3.0)
        assert ramp is not None
        out[: len(ramp)] *= ramp
        fade = int(FOOTSTEP_FADE * RATE)  # ends at exactly zero, like every voice
        out[length - fade :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fade + 1) / fade)
        return out, 0.3


THUMP_TAU = 0.03
"""Time constant (s) of a 70 kg walker's thump."""
FOOTSTEP_FADE = 0.03


def footstep_length(mass: float) -> int:
    """Samples in a footstep of a walker of ``mass`` kg: its thump falls by 60 dB, then a fade."""
    tau = THUMP_TAU * (mass / 70.0) ** (1 / 3)
    return int((6.9 * tau + FOOTSTEP_FADE) * RATE)


def impact_rows(
    modes: Modes, attack_ms: float, weights: np.ndarray, picks: Sequence[int], sizes: Sequence[int]
) -> Audio:
    """Many impacts of one body sound at once, a row each: ``ImpactSynth.impact`` cut to
    each row's ``sizes`` samples (at most ``modes.full``), for each row's mode ``weights``
    (the strike position's mix, the last one the contact noise's) and contact-noise
    burst ``picks``. The block is as wide as the longest row; past its size a row holds
    more of the same impact (without the end fade), for the caller to cut off.

    Each sample is made by the same operations in the same order as one impact at a
    time (a pile's thousands of alike hits cost a few array passes, not a Python call
    each): the same bytes. Rows shorter than the attack get a ramp of their own length,
    as one impact at a time does: call them apart.
    """
    length = max(sizes)
    out = np.zeros((len(weights), length))
    for k, part in enumerate(modes.parts):
        size = min(len(part), length)
        out[:, :size] += weights[:, k, None] * part[None, :size]
    noise = modes.noises[np.asarray(picks, dtype=np.intp)]
    size = min(noise.shape[1], length)
    out[:, :size] += noise[:, :size] * (0.6 + 0.5 * weights[:, -1, None])
    ramp = _ramp(length, attack_ms)
    if ramp is not None:
        out[:, : len(ramp)] *= ramp
    whole = [row for row, size in enumerate(sizes) if size == modes.full]
    if whole:  # the ring ends 60 dB down: fade that last step to zero
        fade = min(modes.full, END_FADE)
        out[whole, modes.full - fade :] *= _fall(fade)
    return out


def attack_samples(attack_ms: float) -> int:
    """Samples the attack ramp rises over (``_ramp``: shorter only in a shorter impact)."""
    return int(attack_ms * 1e-3 * RATE)


def play_sample(sample: Audio, ratio: float) -> Audio:
    """``sample`` played ``ratio`` times faster (higher by that factor), by interpolation."""
    if abs(ratio - 1.0) < 1e-9:
        return sample
    length = max(1, int(len(sample) / ratio))
    positions = np.arange(length) * ratio
    played: Audio = np.interp(positions, np.arange(len(sample)), sample)
    return played


def noise_layer(
    rng: np.random.Generator, levels: Audio, centre_hz: float, octaves: float = 1.5
) -> Audio:
    """Band noise whose amplitude follows ``levels`` (one value per sample)."""
    return band_noise(rng, len(levels), centre_hz, octaves) * levels
