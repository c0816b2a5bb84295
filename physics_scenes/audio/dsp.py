"""Signal helpers: WAV in/out (stdlib ``wave``), shaped noise, BS.1770 loudness, true peak.

Everything is float64 numpy at ``RATE``; nothing here depends on the physics.
"""

from __future__ import annotations

import math
import struct
import wave
from collections.abc import Callable, Iterator
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal
from scipy.fft import next_fast_len

from ..errors import AudioInputError
from ..scene.files import FileRefError, wav_header

RATE = 48_000
"""Samples per second of every track."""

Audio = npt.NDArray[np.float64]
Audio32 = npt.NDArray[np.float32]
"""The mix and the master stage: float32 is plenty for 24-bit output."""
Samples = Audio | Audio32
"""Either precision, where a function reads samples as float64 whichever it gets."""
BLOCK = 1 << 16
"""Samples processed at once by whole-track passes, so memory stays small."""


def read_wav(path: Path) -> Audio:
    """A PCM WAV file as mono float64 in [-1, 1] at ``RATE`` (channels averaged, resampled).

    Its header is checked first (``scene.files.wav_header``: a regular file, a WAV, not
    truncated, a real sample rate, not too long), so nothing blocks or explodes in decoding.
    """
    try:
        header = wav_header(path)
        with wave.open(str(path), "rb") as file:
            channels, width, rate = file.getnchannels(), file.getsampwidth(), file.getframerate()
            raw = file.readframes(header.frames)
    except FileRefError as error:
        raise AudioInputError(str(error)) from None
    except FileNotFoundError:
        raise AudioInputError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as error:
        raise AudioInputError(f"{path}: not a PCM WAV file ({error})") from None
    raw = raw[: len(raw) - len(raw) % (width * channels)]  # whole frames only
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


def write_wav(path: Path, audio: Samples) -> None:
    """Stereo float in [-1, 1] → 24-bit PCM WAV (no dither: identical bytes every run)."""
    with WavWriter(path, audio.shape[1]) as out:
        for start in range(0, len(audio), BLOCK):
            out.write(audio[start : start + BLOCK])


class WavWriter:
    """``write_wav`` block by block, so a track of any length needs one block of memory."""

    def __init__(self, path: Path, channels: int = 2) -> None:
        self._file = wave.open(str(path), "wb")  # noqa: SIM115 - closed by __exit__
        self._file.setnchannels(channels)
        self._file.setsampwidth(3)
        self._file.setframerate(RATE)

    def write(self, block: Samples) -> None:
        chunk = np.asarray(block, dtype=np.float64)
        scaled = np.clip(np.round(chunk * (2**23 - 1)), -(2**23), 2**23 - 1).astype("<i4")
        packed = scaled.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3]
        self._file.writeframes(np.ascontiguousarray(packed).tobytes())

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()


class FloatWavWriter:
    """32-bit float WAV (IEEE float, format 3), block by block, for stems: a stem is its
    part *before the limiter*, at the master's gain, so it can stand well over full
    scale (by 25 dB on walker_on_hill) and would clip as integers. A DAW reads the
    levels as they are. The sizes are written when it is closed."""

    def __init__(self, path: Path, channels: int = 2) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed by __exit__
        self._channels, self._frames = channels, 0
        self._file.write(self._header())

    def _header(self) -> bytes:
        ch, data = self._channels, self._frames * 4 * self._channels
        fmt = struct.pack("<HHIIHHH", 3, ch, RATE, RATE * 4 * ch, 4 * ch, 32, 0)
        return b"".join([
            b"RIFF", struct.pack("<I", 4 + 8 + len(fmt) + 12 + 8 + data), b"WAVE",
            b"fmt ", struct.pack("<I", len(fmt)), fmt,
            b"fact", struct.pack("<II", 4, self._frames),
            b"data", struct.pack("<I", data),
        ])  # fmt: skip

    def write(self, block: Samples) -> None:
        chunk = np.ascontiguousarray(block, dtype="<f4").reshape(-1, self._channels)
        self._file.write(chunk.tobytes())
        self._frames += len(chunk)

    def __enter__(self) -> FloatWavWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.seek(0)
        self._file.write(self._header())
        self._file.close()


Shape = Callable[[np.ndarray], np.ndarray]
"""Amplitude per frequency (Hz, floored at 1) that colours white noise."""


def shaped_noise(rng: np.random.Generator, length: int, shape: Shape) -> Audio:
    """White noise coloured by ``shape`` in the frequency domain, unit RMS."""
    if length <= 0:
        return np.zeros(0)
    white = rng.standard_normal(length)
    size = next_fast_len(length, real=True)  # a short burst's odd length is a slow FFT
    spectrum = np.fft.rfft(white, n=size)
    freqs = np.maximum(np.fft.rfftfreq(size, 1.0 / RATE), 1.0)
    shaped = np.fft.irfft(spectrum * shape(freqs), n=size)[:length]
    rms = math.sqrt(float(np.mean(shaped**2))) or 1.0
    return shaped / rms


def shaped_noises(rng: np.random.Generator, count: int, length: int, shape: Shape) -> Audio:
    """``count`` rows of ``shaped_noise``, drawn at once: the same numbers as ``count``
    calls one after the other (the same draws, the same transforms a row at a time)."""
    if length <= 0:
        return np.zeros((count, 0))
    white = rng.standard_normal((count, length))
    size = next_fast_len(length, real=True)
    spectrum = np.fft.rfft(white, n=size, axis=1)
    freqs = np.maximum(np.fft.rfftfreq(size, 1.0 / RATE), 1.0)
    shaped = np.fft.irfft(spectrum * shape(freqs), n=size, axis=1)[:, :length]
    rms = np.sqrt(np.mean(shaped**2, axis=1))
    return shaped / np.where(rms > 0, rms, 1.0)[:, None]


def band_shape(centre_hz: float, octaves: float = 1.5) -> Shape:
    """A log-Gaussian band around ``centre_hz``, ``octaves`` wide (one sigma each side)."""

    def shape(freqs: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * (np.log2(freqs / centre_hz) / (octaves / 2)) ** 2)

    return shape


def pink_shape(low_hz: float = 40.0) -> Shape:
    """1/f with a gentle low cut and a roll-off above 6 kHz: a plausible room tone."""

    def shape(freqs: np.ndarray) -> np.ndarray:
        gain: np.ndarray = (
            1.0 / np.sqrt(freqs) / (1.0 + (low_hz / freqs) ** 2) / (1.0 + (freqs / 6000.0) ** 2)
        )
        return gain

    return shape


def band_noise(
    rng: np.random.Generator, length: int, centre_hz: float, octaves: float = 1.5
) -> Audio:
    """White noise shaped to a log-Gaussian band, unit RMS."""
    return shaped_noise(rng, length, band_shape(centre_hz, octaves))


def band_noises(
    rng: np.random.Generator, count: int, length: int, centre_hz: float, octaves: float = 1.5
) -> Audio:
    """``count`` rows of ``band_noise``, drawn at once (see ``shaped_noises``)."""
    return shaped_noises(rng, count, length, band_shape(centre_hz, octaves))


def noise_blocks(rng: np.random.Generator, length: int, shape: Shape) -> Iterator[Audio]:
    """Long shaped noise, ``BLOCK // 2`` samples at a time (the last block shorter).

    Pieces of ``BLOCK`` samples overlap by half and cross-fade with sine
    windows (sin² + cos² = 1 keeps the power of uncorrelated noise steady), so
    memory stays small however long the noise runs.
    """
    if length <= BLOCK:
        yield shaped_noise(rng, length, shape)
        return
    half = BLOCK // 2
    window = np.sin(np.pi * (np.arange(BLOCK) + 0.5) / BLOCK)
    tail = np.zeros(half)
    produced = 0
    while produced < length:
        raw = shaped_noise(rng, BLOCK, shape)
        piece = raw * window
        if produced == 0:  # the start at full level, continuous with its own fading tail
            piece[:half] = raw[:half]
        out = tail + piece[:half]
        tail = piece[half:]
        take = min(half, length - produced)
        yield out[:take]
        produced += take


def band_noise_blocks(
    rng: np.random.Generator, length: int, centre_hz: float, octaves: float = 1.5
) -> Iterator[Audio]:
    """Long band noise in blocks (see ``noise_blocks``)."""
    return noise_blocks(rng, length, band_shape(centre_hz, octaves))


# ITU-R BS.1770-4 K-weighting at 48 kHz: a high shelf, then a high pass.
_SHELF = ([1.53512485958697, -2.69169618940638, 1.19839281085285],
          [1.0, -1.69065929318241, 0.73248077421585])  # fmt: skip
_HIGHPASS = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


class LoudnessMeter:
    """Integrated loudness (ITU-R BS.1770-4), fed block by block: K-weighting filters
    keep their state between blocks, 100 ms hops are summed as they complete."""

    HOP = int(0.1 * RATE)

    def __init__(self, channels: int = 2) -> None:
        self._shelf = np.zeros((2, channels))
        self._highpass = np.zeros((2, channels))
        self._hops: list[np.ndarray] = []
        self._carry = np.zeros((0, channels))

    def add(self, block: Samples) -> None:
        chunk = np.asarray(block, dtype=np.float64)
        weighted, self._shelf = signal.lfilter(*_SHELF, chunk, axis=0, zi=self._shelf)
        weighted, self._highpass = signal.lfilter(*_HIGHPASS, weighted, axis=0, zi=self._highpass)
        squares = np.concatenate([self._carry, weighted**2])
        whole = len(squares) // self.HOP * self.HOP
        self._hops.append(squares[:whole].reshape(-1, self.HOP, squares.shape[1]).sum(axis=1))
        self._carry = squares[whole:]

    def value(self) -> float:
        """LUFS; -inf for silence (no 400 ms block above the -70 LUFS absolute gate)."""
        hops = list(self._hops)
        if len(self._carry):
            hops.append(self._carry.sum(axis=0, keepdims=True))  # the last, partial hop
        per_hop = np.concatenate(hops) if hops else np.zeros((0, self._carry.shape[1]))
        if len(per_hop) < 4:
            per_hop = np.pad(per_hop, ((0, 4 - len(per_hop)), (0, 0)))
        # 400 ms blocks overlapping by 75 %: four consecutive 100 ms hops each
        sums = per_hop[:-3] + per_hop[1:-2] + per_hop[2:-1] + per_hop[3:]
        power = (sums / (4 * self.HOP)).sum(axis=1)
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10 * np.log10(power)
        kept = power[loudness > -70.0]
        if kept.size == 0:
            return -math.inf
        relative = -0.691 + 10 * math.log10(float(kept.mean())) - 10.0
        with np.errstate(divide="ignore"):
            final = kept[-0.691 + 10 * np.log10(kept) > relative]
        return -0.691 + 10 * math.log10(float(final.mean()))


def integrated_loudness(audio: Samples) -> float:
    """Integrated loudness of a whole track in LUFS (see ``LoudnessMeter``)."""
    meter = LoudnessMeter(audio.shape[1])
    for start in range(0, len(audio), BLOCK):
        meter.add(audio[start : start + BLOCK])
    return meter.value()


PEAK_MARGIN = 256
"""Neighbouring samples the 4x oversampling filter needs on each side."""


def block_true_peak(context: Samples, inner: slice) -> float:
    """Linear true peak of ``context[inner]``, oversampled 4x with ``context`` around it."""
    if context.size == 0:
        return 0.0
    over = signal.resample_poly(np.asarray(context, dtype=np.float64), 4, 1, axis=0)
    part = over[4 * inner.start : 4 * inner.stop]
    sample_peak = float(np.abs(context[inner]).max()) if inner.stop > inner.start else 0.0
    return max(float(np.abs(part).max()) if part.size else 0.0, sample_peak)


def true_peak(audio: Samples) -> float:
    """Peak level in dBTP, estimated by 4x oversampling (BS.1770-4 annex 2), in blocks."""
    if audio.size == 0:
        return -math.inf
    peak = 0.0
    for start in range(0, len(audio), BLOCK):
        lo = max(0, start - PEAK_MARGIN)
        hi = min(len(audio), start + BLOCK + PEAK_MARGIN)
        stop = min(start + BLOCK, len(audio))
        peak = max(peak, block_true_peak(audio[lo:hi], slice(start - lo, stop - lo)))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


class TruePeakMeter:
    """``true_peak`` of a track fed in ``BLOCK``-sample blocks (the last may be shorter).

    Each block is measured once the next one arrives, with ``PEAK_MARGIN``
    samples of its neighbours around it, exactly as ``true_peak`` reads them.
    """

    def __init__(self) -> None:
        self._before: Samples | None = None
        self._pending: Samples | None = None
        self._peak = 0.0

    def add(self, block: Samples) -> None:
        if self._pending is not None:
            self._measure(block[:PEAK_MARGIN])
        self._pending = block

    def value(self) -> float:
        """dBTP; -inf for an empty or silent track."""
        if self._pending is not None:
            self._measure(self._pending[:0])
            self._pending = None
        return 20 * math.log10(self._peak) if self._peak > 0 else -math.inf

    def _measure(self, after: Samples) -> None:
        assert self._pending is not None
        pending = self._pending
        before = self._before if self._before is not None else pending[:0]
        context = np.concatenate([before, pending, after])
        inner = slice(len(before), len(before) + len(pending))
        self._peak = max(self._peak, block_true_peak(context, inner))
        self._before = np.concatenate([before, pending])[-PEAK_MARGIN:]
