"""Mixing: voice budget, panning, a look-ahead limiter and loudness normalisation.

The budget keeps at most N voices sounding; when a new one would exceed it,
whichever is quietest at that moment (the newcomer included) is dropped, a
sounding voice with a 5 ms fade. The limiter is offline and zero-latency: its
gain at each sample is a smoothed minimum of the gain needed around it, so it
starts to act before a peak and never lets one through. Normalisation brings
the integrated loudness (BS.1770) to the target, re-measured after limiting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .dsp import (
    BLOCK,
    PEAK_MARGIN,
    RATE,
    Audio,
    LoudnessMeter,
    block_true_peak,
    integrated_loudness,
    true_peak,
)

FADE = int(0.005 * RATE)


@dataclass(frozen=True, slots=True)
class Voice:
    """One sound placed on the timeline; its waveform is made only if it survives the budget."""

    start: int
    """First sample."""
    length: int
    gain: float
    pan: float
    """-1 left … +1 right."""
    ring: float
    """Seconds to fall 60 dB: how fast it gets quieter, for the budget."""
    order: int
    """Stable tie-breaker, and the key its maker uses to build the waveform."""


def allocate(voices: list[Voice], budget: int, floor_db: float = -60.0) -> list[tuple[Voice, int]]:
    """Apply the voice budget; returns (voice, samples kept) for the voices that play.

    Voices more than ``-floor_db`` below the loudest are dropped first: after
    normalisation they would be far below hearing, and it saves making them.
    """
    if not voices:
        return []
    loudest = max(v.gain for v in voices)
    floor = loudest * 10 ** (floor_db / 20)
    voices = sorted(
        (v for v in voices if v.gain >= floor), key=lambda v: (v.start, -v.gain, v.order)
    )
    # Each slot's level in dB at sample t is intercept - slope·t (a straight decay in dB).
    intercept = np.zeros(budget)
    slope = np.zeros(budget)
    slot_end = np.full(budget, -1, dtype=np.int64)
    slot_kept = np.full(budget, -1, dtype=np.int64)
    kept: list[list] = []  # [voice, end]
    for voice in voices:
        t = voice.start
        free = np.flatnonzero(slot_end <= t)
        gain_db = 20 * math.log10(voice.gain)
        if free.size:
            slot = int(free[0])
        else:
            now = intercept - slope * t
            slot = int(now.argmin())
            if now[slot] >= gain_db:
                continue
            victim = kept[slot_kept[slot]]
            victim[1] = min(victim[1], max(t, victim[0].start) + FADE)
        slope[slot] = 60.0 / (max(voice.ring, 1e-3) * RATE)
        intercept[slot] = gain_db + slope[slot] * t
        slot_end[slot] = t + voice.length
        slot_kept[slot] = len(kept)
        kept.append([voice, t + voice.length])
    return [(v, end - v.start) for v, end in kept if end > v.start]


def mix(voices: list[tuple[Voice, int]], length: int, make: Callable[[Voice, int], Audio]) -> Audio:
    """Sum the voices into a stereo buffer of ``length`` samples (equal-power pan).

    ``make(voice, n)`` builds the first n samples of a voice's waveform (unit level).
    """
    out = np.zeros((length, 2), dtype=np.float32)  # 24-bit output: float32 is plenty
    fade_out = np.linspace(1.0, 0.0, FADE)
    for voice, keep in voices:
        n = min(keep, voice.length, length - voice.start)
        if n <= 0:
            continue
        wave = make(voice, n)[:n] * voice.gain
        if keep < voice.length:
            fade = min(FADE, n)
            wave[n - fade :] *= fade_out[FADE - fade :]
        angle = (min(max(voice.pan, -1.0), 1.0) + 1) * math.pi / 4
        out[voice.start : voice.start + n, 0] += wave * math.cos(angle)
        out[voice.start : voice.start + n, 1] += wave * math.sin(angle)
    return out


HOLD_MS, RELEASE_MS = 1.5, 12.0
LIMIT_MARGIN = 4 * int((HOLD_MS + RELEASE_MS) * 1e-3 * RATE) + PEAK_MARGIN


def limited_blocks(
    audio: Audio, ceiling: float, gain: float = 1.0
) -> Iterator[tuple[int, int, int, Audio]]:
    """``audio`` times ``gain``, peak-limited to ``ceiling`` (linear), block by block.

    Yields (start, stop, context_start, context): ``context`` is the limited
    signal from ``context_start``, covering [start, stop) plus up to
    ``PEAK_MARGIN`` samples each side (for true-peak oversampling). The needed
    gain is held (running minimum) over ±hold and then averaged over a window
    no wider than the hold, so the result never exceeds the need (no
    overshoot, no delay); a slower hold-and-average gives a smooth release.
    The caller may overwrite ``audio[start:stop]`` after each block: the
    original samples the next block looks back on are kept.
    """
    saved: np.ndarray | None = None
    for start in range(0, len(audio), BLOCK):
        lo = max(0, start - LIMIT_MARGIN)
        hi = min(len(audio), start + BLOCK + LIMIT_MARGIN)
        stop = min(start + BLOCK, len(audio))
        chunk = np.array(audio[lo:hi], dtype=np.float64)
        if saved is not None:
            chunk[: start - lo] = saved[len(saved) - (start - lo) :]
        saved = chunk[stop - lo - LIMIT_MARGIN : stop - lo].copy() if stop < len(audio) else None
        chunk *= gain
        peak = np.abs(chunk).max(axis=1)
        smooth = np.where(peak > ceiling, ceiling / np.maximum(peak, 1e-30), 1.0)
        if smooth.min() < 1.0:
            for ms in (RELEASE_MS, HOLD_MS):
                half = max(1, int(ms * 1e-3 * RATE))
                held = ndimage.minimum_filter1d(smooth, 2 * half + 1, mode="nearest")
                averaged = ndimage.uniform_filter1d(held, half + 1, mode="nearest")
                smooth = np.minimum(averaged, smooth)
        c0 = max(lo, start - PEAK_MARGIN)
        c1 = min(hi, stop + PEAK_MARGIN)
        yield start, stop, c0, chunk[c0 - lo : c1 - lo] * smooth[c0 - lo : c1 - lo, None]


def limit(audio: Audio, ceiling: float, gain: float = 1.0) -> Audio:
    """The limited signal as a new array (see ``limited_blocks``)."""
    out = np.empty_like(audio)
    for start, stop, c0, context in limited_blocks(audio, ceiling, gain):
        out[start:stop] = context[start - c0 : stop - c0]
    return out


def _measure(audio: Audio, ceiling: float, gain: float) -> tuple[float, float]:
    """(loudness LUFS, linear true peak) of the limited signal, without storing it."""
    meter = LoudnessMeter(audio.shape[1])
    peak = 0.0
    for start, stop, c0, context in limited_blocks(audio, ceiling, gain):
        meter.add(context[start - c0 : stop - c0])
        peak = max(peak, block_true_peak(context, slice(start - c0, stop - c0)))
    return meter.value(), peak


@dataclass(frozen=True, slots=True)
class Levels:
    """What the master stage measured: loudness, true peak, the gain it applied."""

    loudness: float
    true_peak: float
    gain_db: float


def master(
    audio: Audio, target: float | None, peak_db: float, gain_db: float = 0.0
) -> tuple[Audio, Levels]:
    """Normalise to ``target`` LUFS (None: keep the level), limit to ``peak_db`` dBTP.

    Works in place on ``audio``: trial gains are measured block by block
    without keeping the result, and only the final one is written back, so a
    long track needs one buffer, not several.
    """
    measured = integrated_loudness(audio)
    if not math.isfinite(measured):
        return audio, Levels(measured, true_peak(audio), 0.0)
    ceiling = 10 ** ((peak_db - 0.3) / 20)
    gain = 0.0 if target is None else target - measured
    trim = 1.0
    previous: tuple[float, float] | None = None
    for _ in range(12):
        loudness, peak = _measure(audio, ceiling, 10 ** (gain / 20))
        tp = 20 * math.log10(peak) if peak > 0 else -math.inf
        trim = 10 ** ((peak_db - 0.05 - tp) / 20) if tp > peak_db else 1.0
        loudness += 20 * math.log10(trim)
        if target is None:
            break
        error = target - loudness
        if abs(error) < 0.05:
            break
        # Under heavy limiting a dB of gain buys less than a dB of loudness: secant step.
        slope = 1.0
        if previous is not None and gain != previous[0]:
            slope = min(max((loudness - previous[1]) / (gain - previous[0]), 0.05), 1.0)
        previous = (gain, loudness)
        gain += min(error / slope, 24.0)
    final = trim * 10 ** (gain_db / 20)
    for start, stop, c0, context in limited_blocks(audio, ceiling, 10 ** (gain / 20)):
        audio[start:stop] = context[start - c0 : stop - c0] * final
    total = gain + 20 * math.log10(trim) + gain_db
    return audio, Levels(integrated_loudness(audio), true_peak(audio), total)
