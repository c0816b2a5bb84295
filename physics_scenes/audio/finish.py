"""The track's edges, before the master stage: no infrasound, soft ends, never digital zero.

- A 4th-order Butterworth high-pass at ``HIGHPASS_HZ`` removes DC and infrasound
  (a 65 Hz thump's tail, pink room tone's lowest octave): energy a speaker cannot
  play but the limiter would still make room for.
- The track fades in over ``FADE_IN`` and out over ``FADE_OUT`` (raised cosine), so a
  clip that ends mid-ring does not stop with a click.
- A quiet room tone (``room_tone``), which the master stage adds ``audio.room_tone`` LU
  under the finished track's loudness, fills the silences, so no clip starts or ends in
  a stretch of exact zeros (a silent mix stays silent: there is nothing to be under).

All of it streams a block at a time, with the filters' state carried over, so the
result is the same, bit for bit, whatever the block size.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
from scipy import signal

from .dsp import BLOCK, RATE, Audio32, Samples, integrated_loudness, noise_blocks, pink_shape

HIGHPASS_HZ = 30.0
FADE_IN = int(0.01 * RATE)
FADE_OUT = int(0.3 * RATE)
_SOS = signal.butter(4, HIGHPASS_HZ, "highpass", fs=RATE, output="sos")


class Highpass:
    """The infrasound high-pass, fed block by block (its state carries over)."""

    def __init__(self, channels: int = 2) -> None:
        self._state = np.zeros((_SOS.shape[0], 2, channels))

    def __call__(self, block: Samples) -> Audio32:
        out, self._state = signal.sosfilt(
            _SOS, np.asarray(block, np.float64), axis=0, zi=self._state
        )
        return np.asarray(out, dtype=np.float32)


def fades(start: int, count: int, length: int) -> np.ndarray | None:
    """Gain of samples [start, start + count) of a ``length``-sample track: the fade-in
    and fade-out (None where neither reaches)."""
    index = np.arange(start, start + count, dtype=np.float64)
    fade_in, fade_out = min(FADE_IN, length // 2), min(FADE_OUT, length // 2)
    if start >= fade_in and start + count <= length - fade_out:
        return None
    gain = np.ones(count)
    if fade_in > 0:
        rise = np.clip(index / fade_in, 0.0, 1.0)
        gain *= 0.5 - 0.5 * np.cos(np.pi * rise)
    if fade_out > 0:
        fall = np.clip((length - 1 - index) / fade_out, 0.0, 1.0)
        gain *= 0.5 - 0.5 * np.cos(np.pi * fall)
    return gain


def finished(windows: Iterator[Audio32], length: int) -> Iterator[Audio32]:
    """The mix high-passed and faded at both ends, window by window."""
    highpass = Highpass()
    at = 0
    for window in windows:
        out = highpass(window)
        gain = fades(at, len(out), length)
        if gain is not None:
            out *= gain[:, None].astype(np.float32)
        at += len(out)
        yield out


def room_tone_blocks(seed: int, length: int, level: float) -> Iterator[Audio32]:
    """Stereo pink room tone at ``level`` (RMS), high-passed and faded like the mix."""
    left = noise_blocks(np.random.default_rng([seed, 0x524D, 0]), length, pink_shape())
    right = noise_blocks(np.random.default_rng([seed, 0x524D, 1]), length, pink_shape())
    stereo = (np.stack([a, b], axis=1) * level for a, b in zip(left, right, strict=True))
    return finished((np.asarray(s, dtype=np.float32) for s in stereo), length)


def tone_level(loudness: float, seed: int) -> float:
    """RMS of a room tone that measures ``loudness`` LUFS."""
    return 10 ** ((loudness - _unit_loudness(seed)) / 20)


@lru_cache(maxsize=8)
def _unit_loudness(seed: int) -> float:
    """Loudness (LUFS) of a unit-RMS room tone: measured once a seed (the master's
    trials ask for the same tone again and again)."""
    probe = next(room_tone_blocks(seed, 2 * RATE, 1.0))
    return integrated_loudness(probe[FADE_IN : 2 * RATE - FADE_OUT])


def room_tone(seed: int, length: int, loudness: float) -> Iterator[Audio32]:
    """``length`` samples of room tone measuring ``loudness`` LUFS, in ``BLOCK``-sample
    blocks (as the master stage writes them)."""
    return _reblocked(room_tone_blocks(seed, length, tone_level(loudness, seed)))


def _reblocked(blocks: Iterator[Audio32]) -> Iterator[Audio32]:
    """The same samples in ``BLOCK``-sample blocks (the last shorter)."""
    pending: list[Audio32] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        while held >= BLOCK:
            joined = np.concatenate(pending)
            yield joined[:BLOCK]
            pending, held = [joined[BLOCK:]], held - BLOCK
    if held:
        yield np.concatenate(pending)
