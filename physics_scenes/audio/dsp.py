"""Signal helpers: WAV in/out (stdlib ``wave``), shaped noise, BS.1770 loudness, true peak.

Everything is float64 numpy at ``RATE``; nothing here depends on the physics.
"""

from __future__ import annotations

import math
import wave
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal

RATE = 48_000
"""Samples per second of every track."""

Audio = npt.NDArray[np.float64]
BLOCK = 1 << 18
"""Samples processed at once by whole-track passes, so memory stays small."""


class AudioInputError(ValueError):
    """A user WAV file that cannot be used (missing, not PCM, empty)."""


def read_wav(path: Path) -> Audio:
    """A PCM WAV file as mono float64 in [-1, 1] at ``RATE`` (channels averaged, resampled)."""
    try:
        with wave.open(str(path), "rb") as file:
            channels, width, rate = file.getnchannels(), file.getsampwidth(), file.getframerate()
            raw = file.readframes(file.getnframes())
    except FileNotFoundError:
        raise AudioInputError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as error:
        raise AudioInputError(f"{path}: not a PCM WAV file ({error})") from None
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    elif width == 3:
        bytes3 = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        padded = np.zeros((len(bytes3), 4), dtype=np.uint8)
        padded[:, 1:] = bytes3
        data = padded.view("<i4").reshape(-1).astype(np.float64) / 2.0**31
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2.0**31
    else:
        raise AudioInputError(f"{path}: unsupported sample width {width} bytes")
    if data.size == 0:
        raise AudioInputError(f"{path}: the file holds no samples")
    mono = data.reshape(-1, channels).mean(axis=1)
    if rate != RATE:
        g = gcd(RATE, rate)
        mono = signal.resample_poly(mono, RATE // g, rate // g)
    return np.ascontiguousarray(mono, dtype=np.float64)


def write_wav(path: Path, audio: Audio) -> None:
    """Stereo float in [-1, 1] → 24-bit PCM WAV (no dither: identical bytes every run)."""
    with wave.open(str(path), "wb") as file:
        file.setnchannels(audio.shape[1])
        file.setsampwidth(3)
        file.setframerate(RATE)
        for start in range(0, len(audio), BLOCK):
            chunk = np.asarray(audio[start : start + BLOCK], dtype=np.float64)
            scaled = np.clip(np.round(chunk * (2**23 - 1)), -(2**23), 2**23 - 1).astype("<i4")
            packed = scaled.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3]
            file.writeframes(np.ascontiguousarray(packed).tobytes())


def band_noise(
    rng: np.random.Generator, length: int, centre_hz: float, octaves: float = 1.5
) -> Audio:
    """White noise shaped (in the frequency domain) to a log-Gaussian band, unit RMS."""
    if length <= 0:
        return np.zeros(0)
    white = rng.standard_normal(length)
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(length, 1.0 / RATE)
    with np.errstate(divide="ignore"):
        distance = np.log2(np.maximum(freqs, 1.0) / centre_hz) / (octaves / 2)
    spectrum *= np.exp(-0.5 * distance**2)
    shaped = np.fft.irfft(spectrum, n=length)
    rms = math.sqrt(float(np.mean(shaped**2))) or 1.0
    return shaped / rms


def pink_noise(rng: np.random.Generator, length: int, low_hz: float = 40.0) -> Audio:
    """1/f noise with a gentle low cut and a roll-off above 6 kHz: a plausible room tone."""
    white = rng.standard_normal(length)
    spectrum = np.fft.rfft(white)
    freqs = np.maximum(np.fft.rfftfreq(length, 1.0 / RATE), 1.0)
    shape = 1.0 / np.sqrt(freqs) / (1.0 + (low_hz / freqs) ** 2) / (1.0 + (freqs / 6000.0) ** 2)
    shaped = np.fft.irfft(spectrum * shape, n=length)
    rms = math.sqrt(float(np.mean(shaped**2))) or 1.0
    return shaped / rms


# ITU-R BS.1770-4 K-weighting at 48 kHz: a high shelf, then a high pass.
_SHELF = ([1.53512485958697, -2.69169618940638, 1.19839281085285],
          [1.0, -1.69065929318241, 0.73248077421585])  # fmt: skip
_HIGHPASS = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def integrated_loudness(audio: Audio) -> float:
    """Integrated loudness in LUFS (BS.1770-4: K-weighting, 400 ms blocks, two gates).

    Returns -inf for silence (no block above the -70 LUFS absolute gate).
    Filters run in blocks with their state carried over, so long tracks need
    no full-length temporary arrays.
    """
    hop = int(0.1 * RATE)
    channels = audio.shape[1]
    shelf_state = np.zeros((2, channels))
    pass_state = np.zeros((2, channels))
    hops: list[np.ndarray] = []
    carry = np.zeros((0, channels))
    for start in range(0, max(len(audio), 1), BLOCK):
        chunk = np.asarray(audio[start : start + BLOCK], dtype=np.float64)
        weighted, shelf_state = signal.lfilter(*_SHELF, chunk, axis=0, zi=shelf_state)
        weighted, pass_state = signal.lfilter(*_HIGHPASS, weighted, axis=0, zi=pass_state)
        squares = np.concatenate([carry, weighted**2])
        whole = len(squares) // hop * hop
        hops.append(squares[:whole].reshape(-1, hop, channels).sum(axis=1))
        carry = squares[whole:]
    if len(carry):
        hops.append(carry.sum(axis=0, keepdims=True))  # the last, partial hop
    per_hop = np.concatenate(hops) if hops else np.zeros((0, channels))
    if len(per_hop) < 4:
        per_hop = np.pad(per_hop, ((0, 4 - len(per_hop)), (0, 0)))
    # 400 ms blocks overlapping by 75 %: four consecutive 100 ms hops each
    block_sums = per_hop[:-3] + per_hop[1:-2] + per_hop[2:-1] + per_hop[3:]
    power = (block_sums / (4 * hop)).sum(axis=1)
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(power)
    kept = power[loudness > -70.0]
    if kept.size == 0:
        return -math.inf
    relative = -0.691 + 10 * math.log10(float(kept.mean())) - 10.0
    with np.errstate(divide="ignore"):
        final = kept[-0.691 + 10 * np.log10(kept) > relative]
    return -0.691 + 10 * math.log10(float(final.mean()))


def true_peak(audio: Audio) -> float:
    """Peak level in dBTP, estimated by 4x oversampling (BS.1770-4 annex 2)."""
    if audio.size == 0:
        return -math.inf
    peak = float(np.abs(audio).max())
    # In blocks, so a long track does not need a 4x copy of itself at once.
    block, margin = BLOCK, 256
    for start in range(0, len(audio), block):
        lo, hi = max(0, start - margin), min(len(audio), start + block + margin)
        over = signal.resample_poly(audio[lo:hi], 4, 1, axis=0)
        inner = over[4 * (start - lo) : 4 * (min(start + block, len(audio)) - lo)]
        if inner.size:
            peak = max(peak, float(np.abs(inner).max()))
    return 20 * math.log10(peak) if peak > 0 else -math.inf
