"""The sound mark: spread-spectrum noise 27 dB under the programme, the picture's payload.

Frames of 2 s repeat over the whole track: 160 slots of 12.5 ms, 32 of them sync and
each payload bit in 2 others at keyed places (physics sounds come in bursts: a bit heard
twice, apart, is likelier to fall once in a quiet moment where the mark stands out),
every slot a keyed band-limited (1.5–6 kHz) noise chip times ±1. The
mark follows the programme's envelope 27 dB under it, with a −80 dBFS floor in silence,
and is the same in both channels. It is added to the mastered WAV, before the AAC
encode. Detection whitens the sound first (block-wise LPC, order 24: the modal ringing
of impacts would swamp the correlation), folds every 2 s into one frame (so any trim
works), finds the sync by FFT cross-correlation and despreads the bits.

>>> import numpy as np
>>> from physics_scenes.output.provenance.payload import MarkKey, payload_bits
>>> rng = np.random.default_rng(0)
>>> track = np.repeat(rng.normal(0, 0.05, (48_000 * 4, 1)), 2, axis=1).astype(np.float32)
>>> marked = mark_track(track, MarkKey(), payload_bits("0123456789ab"))
>>> under = float(20 * np.log10(np.std(marked - track) / np.std(track)))
>>> -28.5 < under < -26.5
True
>>> detect_sound(marked, MarkKey()).payload  # white noise masks it best; 4 s carry it
'0123456789ab'
>>> track[48_000:] *= 0.01  # quieter moments, as between impacts
>>> detect_sound(mark_track(track, MarkKey(), payload_bits("0123456789ab")), MarkKey()).payload
'0123456789ab'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from .payload import PAYLOAD_BITS, MarkKey, decode_soft

RATE = 48_000
SLOT = 400
SYNC_SLOTS = 48
COPIES = 3
SLOTS = SYNC_SLOTS + COPIES * PAYLOAD_BITS
PERIOD = SLOT * SLOTS
"""One frame of the mark: 96,000 samples, 2 s."""
UNDER_DB = 27.0
FLOOR_DB = -80.0
BAND = (1_500.0, 6_000.0)
LPC_ORDER = 24
LPC_BLOCK = 4_096
DETECT_Z = 7.0
"""Sync peak z-score a mark must reach (unmarked sound: 3–5) besides its CRC."""

Array = npt.NDArray[np.float64]


@lru_cache(maxsize=4)
def _carrier(secret: bytes) -> Array:
    """One frame of keyed band-limited noise at unit RMS."""
    rng = MarkKey(secret).rng("sound carrier")
    spectrum = np.fft.rfft(rng.normal(size=PERIOD))
    hz = np.fft.rfftfreq(PERIOD, 1 / RATE)
    spectrum[(hz < BAND[0]) | (hz > BAND[1])] = 0
    noise = np.fft.irfft(spectrum, PERIOD)
    return noise / np.std(noise)


@lru_cache(maxsize=4)
def _plan(secret: bytes) -> tuple[Array, npt.NDArray[np.int64]]:
    """Per slot: its keyed sign, and the payload bit it carries (-1: a sync slot)."""
    rng = MarkKey(secret).rng("sound plan")
    signs = rng.choice([-1.0, 1.0], SLOTS)
    bit_of = np.full(SLOTS, -1, np.int64)
    order = rng.permutation(SLOTS)
    bit_of[order[SYNC_SLOTS:]] = np.arange(SLOTS - SYNC_SLOTS) % PAYLOAD_BITS
    return signs, bit_of


def _slot_signs(key: MarkKey, bits: Sequence[int] | None) -> Array:
    """±1 per slot: the sync signs, and the keyed signs times the payload (0 if None)."""
    signs, bit_of = _plan(key.secret)
    if bits is None:
        return np.where(bit_of < 0, signs, 0.0)
    values = np.asarray(bits, float) * 2 - 1
    return signs * np.where(bit_of < 0, 1.0, values[np.maximum(bit_of, 0)])


def _envelope(mono: Array) -> Array:
    """The programme's RMS per 12.5 ms slot, one slot late and smoothed causally: the mark
    never starts before a sound (no pre-echo ahead of an impact; the impact masks what
    follows it), 27 dB under the programme, never under the floor."""
    n = len(mono)
    blocks = -(-n // SLOT)
    padded = np.zeros(blocks * SLOT)
    padded[:n] = mono
    rms = np.sqrt(np.mean(padded.reshape(blocks, SLOT) ** 2, axis=1))
    late = np.concatenate([[0.0], rms[:-1]])
    level = np.repeat(np.minimum(late, rms), SLOT)[:n] * 10 ** (-UNDER_DB / 20)
    return np.maximum(_moving_mean(level, SLOT // 4), 10 ** (FLOOR_DB / 20))


def _moving_mean(values: Array, width: int) -> Array:
    """Causal moving average (cumulative sums: linear time)."""
    total: Array = np.concatenate([np.zeros(width), np.cumsum(values)])
    mean: Array = (total[width:] - total[:-width]) / width
    return mean


def mark_signal(length: int, key: MarkKey, bits: Sequence[int]) -> Array:
    """The unscaled mark for ``length`` samples: carrier × slot signs, repeating."""
    return np.resize(_mark_frame(key.secret, tuple(bits)), length)


@lru_cache(maxsize=4)
def _mark_frame(secret: bytes, bits: tuple[int, ...]) -> Array:
    signs = np.repeat(_slot_signs(MarkKey(secret), bits), SLOT)
    wrapped = np.concatenate([signs[-96:], signs])  # 2 ms sign changes: no clicks
    ramped = _moving_mean(wrapped, 96)[96:]
    return _carrier(secret) * np.roll(ramped, -48)


def mark_track(
    track: npt.NDArray[np.floating], key: MarkKey, bits: Sequence[int]
) -> npt.NDArray[np.float32]:
    """A (samples, channels) track with the mark added (the same in every channel)."""
    mono = np.asarray(track, np.float64).mean(axis=1)
    mark = mark_signal(len(mono), key, bits) * _envelope(mono)
    return (np.asarray(track, np.float64) + mark[:, None]).astype(np.float32)


def whiten(mono: Array) -> Array:
    """Block-wise LPC residual, each block scaled to unit RMS."""
    out = np.zeros_like(mono)
    for start in range(0, len(mono), LPC_BLOCK):
        block = mono[start : start + LPC_BLOCK]
        if len(block) <= LPC_ORDER * 2:
            continue
        windowed = block * np.hanning(len(block))
        spectrum = np.fft.rfft(windowed, 2 * len(block))
        r = np.fft.irfft(np.abs(spectrum) ** 2)[: LPC_ORDER + 1]
        if r[0] <= 1e-20:
            continue
        r[0] *= 1.0 + 1e-6
        toeplitz = r[np.abs(np.subtract.outer(np.arange(LPC_ORDER), np.arange(LPC_ORDER)))]
        try:
            a = np.linalg.solve(toeplitz, r[1 : LPC_ORDER + 1])
        except np.linalg.LinAlgError:
            continue
        context = mono[max(0, start - LPC_ORDER) : start + len(block)]
        filtered = np.convolve(context, np.concatenate([[1.0], -a]), "full")
        residual = filtered[len(context) - len(block) : len(context)]
        scale = np.std(residual)
        if scale > 0:
            out[start : start + len(block)] = residual / scale
    return out


@dataclass(frozen=True, slots=True)
class SoundReading:
    payload: str | None
    z: float
    """The sync peak's z-score over all offsets (unmarked sound: about 3–5)."""
    bit_margin: float
    """The weakest bit's correlation over the noise of one (over 3: a clean read)."""
    seconds: float
    corrected: int = 0
    """Bits the CRC search flipped (0 or 1)."""

    @property
    def found(self) -> bool:
        return self.payload is not None


def detect_sound(track: npt.NDArray[np.floating], key: MarkKey) -> SoundReading:
    """Look for the mark in a (samples, channels) or mono track at 48 kHz."""
    samples = np.asarray(track, np.float64)
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    seconds = len(mono) / RATE
    if len(mono) < PERIOD // 2:
        return SoundReading(None, 0.0, 0.0, seconds)  # under 1 s: nothing to read
    white = whiten(mono)
    frames = -(-len(white) // PERIOD)
    padded = np.zeros(frames * PERIOD)
    padded[: len(white)] = white
    folded = padded.reshape(frames, PERIOD).sum(axis=0)
    carrier = _carrier(key.secret)
    signs = _slot_signs(key, None)
    template = carrier * np.repeat(signs, SLOT)
    corr = np.fft.irfft(np.fft.rfft(folded) * np.conj(np.fft.rfft(template)), PERIOD)
    offset = int(np.argmax(corr))
    z = float((corr[offset] - corr.mean()) / (corr.std() + 1e-12))
    aligned = np.roll(folded, -offset).reshape(SLOTS, SLOT)
    products = np.sum(aligned * carrier.reshape(SLOTS, SLOT), axis=1)
    plan_signs, bit_of = _plan(key.secret)
    data = bit_of >= 0
    soft = np.zeros(PAYLOAD_BITS)
    np.add.at(soft, bit_of[data], (products * plan_signs)[data])
    slot_noise = corr.std() / np.sqrt(SYNC_SLOTS)  # a random offset sums the sync's noise
    margin = float(np.min(np.abs(soft)) / (slot_noise * np.sqrt(COPIES) + 1e-12))
    payload, corrected = decode_soft(list(soft)) if z >= DETECT_Z else (None, 0)
    return SoundReading(payload, z, margin, seconds, corrected)
