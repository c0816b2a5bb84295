"""The sound mark: spread-spectrum noise 23–27 dB under the programme, the picture's payload.

Frames of 2 s repeat over the whole track: 256 slots of 7.8 ms, 46 of them sync and each
of the other 210 one bit of the payload under a rate-1/3 convolutional code (K = 7), at
keyed places (physics sounds come in bursts: the code's bits are spread so a quiet
moment, where the mark stands out, carries some of every stretch of the payload). Every
slot is a keyed band-limited (1.5–6 kHz) noise chip times ±1. The mark follows the
programme's envelope (``_envelope``: closer under noise-like sound, which masks it, than
under ringing modes), with a −80 dBFS floor in silence, the same in both channels. It is
added to the mastered WAV, before the AAC encode.

Detection whitens the sound without moving its phase (each 21 ms spectrum divided by its
own smoothed magnitude: an LPC whitener's phase turned a narrow-band chip's correlation
negative in whole stretches of a clip), folds every 2 s into one frame (so any trim
works), finds the sync by FFT cross-correlation, tries its three highest peaks and
decodes the code bits' soft values with a Viterbi decoder; the CRC-16 decides.

>>> import numpy as np
>>> from physics_scenes.output.provenance.payload import MarkKey, payload_bits
>>> rng = np.random.default_rng(0)
>>> track = np.repeat(rng.normal(0, 0.05, (48_000 * 4, 1)), 2, axis=1).astype(np.float32)
>>> marked = mark_track(track, MarkKey(), payload_bits("0123456789ab"))
>>> under = float(20 * np.log10(np.std(marked - track) / np.std(track)))
>>> -25 < under < -23  # white noise: the mark comes close
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

from .payload import CODED_BITS, MarkKey, encode, read_payload, viterbi

RATE = 48_000
SLOT = 375
SYNC_SLOTS = 46
SLOTS = SYNC_SLOTS + CODED_BITS
PERIOD = SLOT * SLOTS
"""One frame of the mark: 96,000 samples, 2 s."""
UNDER_DB = 27.0
"""The mark under a tonal programme (the whole track's RMS, slot by slot)."""
NOISY_GAIN_DB = 4.0
"""How much closer it comes under a noise-like programme (23 dB under)."""
BAND_UNDER_DB = 31.0
NOISY_BAND_GAIN_DB = 21.0
"""The cap: under the programme's own 1.5–6 kHz band by 31 dB where it is tonal (about
Johnston's tonal masking offset, 14.5 dB + the band's 16 Bark) to 10 where noise-like."""
TONAL_DB = -30.0
"""Spectral flatness (in the mark's band) from which a slot counts as wholly tonal."""
FLOOR_DB = -80.0
BAND = (1_500.0, 6_000.0)
FFT = 1_024
SMOOTH = 9
LOCAL = 96
"""Whitening: 21 ms frames, each bin divided by the mean power of the 9 bins around it."""
DETECT_Z = 4.0
"""Sync peak z-score a place must reach to be decoded (unmarked sound: 3.5–5.2)."""
CANDIDATES = 3
"""Sync peaks tried in turn: a loud dense clip cut to 2 s can put the true one second.
What keeps unmarked sound out is the CRC: each decode passes it by chance with 2⁻¹⁶, so
under 5 in 100,000 reads (measured: 0 in 1,000 noise tracks and our unmarked renders)."""

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
    bit_of[order[SYNC_SLOTS:]] = np.arange(CODED_BITS)
    return signs, bit_of


def _slot_signs(key: MarkKey, bits: Sequence[int] | None) -> Array:
    """±1 per slot: the sync signs, and the keyed signs times the coded payload (0 if None)."""
    signs, bit_of = _plan(key.secret)
    if bits is None:
        return np.where(bit_of < 0, signs, 0.0)
    values = np.asarray(encode(bits), float) * 2 - 1
    return signs * np.where(bit_of < 0, 1.0, values[np.maximum(bit_of, 0)])


def _envelope(mono: Array) -> Array:
    """The mark's level per 7.8 ms slot, one slot late and smoothed causally: the mark
    never starts before a sound (no pre-echo ahead of an impact; the impact masks what
    follows it), never under the floor. Under the programme by 23 dB where it is
    noise-like and 27 dB where it is tonal (noise masks noise far better than a ringing
    mode does), and at most as loud as the programme's own 1.5–6 kHz band less 10 dB
    (noise-like) to 31 dB (tonal): a sound with little in the mark's band gets less mark."""
    n = len(mono)
    blocks = -(-n // SLOT)
    padded = np.zeros(blocks * SLOT)
    padded[:n] = mono
    wide = np.concatenate([np.zeros(SLOT), padded, np.zeros(SLOT)])  # 3 slots around each
    windows = np.lib.stride_tricks.sliding_window_view(wide, 3 * SLOT)[::SLOT][:blocks]
    spectra = np.fft.rfft(windows * np.blackman(3 * SLOT), axis=1)  # low leakage: a loud
    power = np.abs(spectra) ** 2  # low mode must not count as sound in the mark's band
    hz = np.fft.rfftfreq(3 * SLOT, 1 / RATE)
    band = power[:, (hz >= BAND[0]) & (hz <= BAND[1])] + 1e-30
    flatness = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    tonal = np.clip(10 * np.log10(flatness) / TONAL_DB, 0.0, 1.0)
    share = band.sum(axis=1) / (power.sum(axis=1) + 1e-30)
    rms = np.sqrt(np.mean(padded.reshape(blocks, SLOT) ** 2, axis=1))
    under = UNDER_DB - NOISY_GAIN_DB * (1 - tonal)
    in_band = BAND_UNDER_DB - NOISY_BAND_GAIN_DB * (1 - tonal)
    gain = np.minimum(10 ** (-under / 20), np.sqrt(share) * 10 ** (-in_band / 20))
    wanted = rms * gain
    late = np.concatenate([[0.0], wanted[:-1]])
    level = np.repeat(np.minimum(late, wanted), SLOT)[:n]
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
    """Zero-phase spectral whitening: each 21 ms frame's spectrum divided by its own
    smoothed magnitude (no phase change, so the mark keeps its sign), overlap-added."""
    hop = FFT // 2
    window = np.sqrt(np.hanning(FFT + 1)[:FFT])
    n = len(mono)
    frames = -(-(n + hop) // hop) + 1
    padded = np.zeros((frames + 1) * hop)
    padded[hop : hop + n] = mono
    idx = np.arange(frames)[:, None] * hop + np.arange(FFT)[None, :]
    idx = idx[idx[:, -1] < len(padded)]
    spectra = np.fft.rfft(padded[idx] * window, axis=1)
    power = np.abs(spectra) ** 2
    kernel = np.ones(SMOOTH) / SMOOTH
    smooth = np.apply_along_axis(lambda row: np.convolve(row, kernel, "same"), 1, power)
    floor = 1e-12 + 1e-9 * smooth.max()
    flat = np.fft.irfft(spectra / np.sqrt(smooth + floor), FFT, axis=1) * window
    out = np.zeros(len(padded))
    np.add.at(out, idx, flat)
    white = out[hop : hop + n]
    if LOCAL <= 1:
        return white
    power = _moving_mean(white**2, LOCAL)
    power = np.roll(power, -(LOCAL // 2))
    return white / np.sqrt(power + 1e-3 * float(np.mean(power)) + 1e-30)


@dataclass(frozen=True, slots=True)
class SoundReading:
    payload: str | None
    z: float
    """The sync peak's z-score over all offsets (unmarked sound: about 3–5)."""
    bit_margin: float
    """The median code bit's correlation over the noise of one (over 2: a clean read)."""
    seconds: float

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
    spread = corr.std() + 1e-12
    plan_signs, bit_of = _plan(key.secret)
    data = bit_of >= 0
    best = SoundReading(None, 0.0, 0.0, seconds)
    for offset in _peaks(corr, CANDIDATES):
        z = float((corr[offset] - corr.mean()) / spread)
        aligned = np.roll(folded, -offset).reshape(SLOTS, SLOT)
        products = np.sum(aligned * carrier.reshape(SLOTS, SLOT), axis=1)
        soft = np.zeros(CODED_BITS)
        soft[bit_of[data]] = (products * plan_signs)[data]
        margin = float(np.median(np.abs(soft)) / (spread / np.sqrt(SYNC_SLOTS)))
        payload = read_payload(viterbi(list(soft))) if z >= DETECT_Z else None
        reading = SoundReading(payload, z, margin, seconds)
        if payload is not None:
            return reading
        best = max(best, reading, key=lambda r: r.z)
    return best


def _peaks(corr: Array, count: int) -> list[int]:
    """The ``count`` highest offsets at least a slot apart (the sync's likeliest places)."""
    found: list[int] = []
    for offset in np.argsort(corr)[::-1]:
        if all(min(abs(offset - o), PERIOD - abs(offset - o)) >= SLOT for o in found):
            found.append(int(offset))
            if len(found) == count:
                break
    return found
