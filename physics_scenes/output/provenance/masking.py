"""How much added noise a sound hides: Johnston's masking threshold per frame and Bark band.

The sound mark is shaped under this threshold, frame by frame and critical band by
critical band, so it stays inaudible where the programme is tonal (a ringing mode masks
little) and grows where it is noise-like (a pile of impacts masks a lot). The model is
Johnston's (1988, "Transform coding of audio signals using perceptual noise criteria",
the basis of MPEG-1's psychoacoustic models): the programme's power summed in critical
bands (Zwicker's Bark scale), spread across bands with Schroeder's spreading function,
lowered by an offset that depends on how tonal the frame is (spectral flatness: 14.5 + z
dB under a tone, 5.5 dB under noise), and never under the absolute threshold of hearing
(Terhardt's formula, at MPEG's calibration: a full-scale sine plays at 96 dB SPL).

Frames are 512 samples (10.7 ms at 48 kHz) every 256, under a square-root Hann window,
so that shaped noise is put back by overlap-add without seams.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> noise, tone = rng.normal(0, 0.1, 48_000), 0.1 * np.sin(np.arange(48_000) * 0.3)
>>> under = [float(np.median(10 * np.log10(threshold(x).sum(axis=1) / np.var(x))))
...          for x in (noise, tone)]
>>> round(under[0]), under[1] < under[0] - 10  # noise masks far more than a tone
(-5, True)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

RATE = 48_000
FFT = 512
HOP = FFT // 2
FULL_SCALE_SPL = 96.0
"""MPEG's calibration: a full-scale sine plays at 96 dB SPL (loud listening: the mark is
then under the threshold of hearing in silence at any quieter setting too)."""
TONAL_SFM_DB = -60.0
"""Johnston's spectral flatness at which a frame counts as wholly tonal."""

Array = npt.NDArray[np.float64]
Complex = npt.NDArray[np.complex128]


def window() -> Array:
    """Square-root periodic Hann: analysis times synthesis sums to one at 50 % overlap."""
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FFT) / FFT))


def stft(x: Array, taper: Array | None = None) -> Complex:
    """Frames k = 0, 1, … covering samples [k·HOP − HOP, k·HOP + HOP), zero outside x,
    under ``window()`` (or ``taper``)."""
    frames = -(-len(x) // HOP) + 1
    padded = np.zeros((frames + 1) * HOP)
    padded[HOP : HOP + len(x)] = x
    idx = np.arange(frames)[:, None] * HOP + np.arange(FFT)[None, :]
    spectra: Complex = np.fft.rfft(padded[idx] * (window() if taper is None else taper), axis=1)
    return spectra


def istft(spectra: Complex, length: int) -> Array:
    """Overlap-add of ``stft``'s frames back to ``length`` samples."""
    frames = len(spectra)
    out = np.zeros((frames + 1) * HOP)
    pieces = np.fft.irfft(spectra, FFT, axis=1) * window()
    out[: frames * HOP] += pieces[:, :HOP].ravel()
    out[HOP : (frames + 1) * HOP] += pieces[:, HOP:].ravel()
    result: Array = out[HOP : HOP + length]
    return result


def power(spectra: Complex) -> Array:
    p: Array = spectra.real**2 + spectra.imag**2
    return p


def variance(spectra: Complex, taper: Array | None = None) -> Array:
    """Power spectra scaled so that a band's sum is the variance it adds to the signal
    (Parseval), whatever the window: the threshold and the mark are compared so."""
    w = window() if taper is None else taper
    scaled: Array = power(spectra) * (2 / (len(w) * np.sum(w**2)))
    return scaled


def bark(hz: Array) -> Array:
    """Zwicker and Terhardt's critical-band rate."""
    z: Array = 13 * np.arctan(0.00076 * hz) + 3.5 * np.arctan((hz / 7500) ** 2)
    return z


BANDS = 25
"""Bark bands 0–24 (the last one from 15.5 kHz to 24 kHz)."""


@lru_cache(maxsize=2)
def bands_of(size: int) -> npt.NDArray[np.int64]:
    """Each bin's Bark band for an FFT of ``size`` samples."""
    hz = np.asarray(np.fft.rfftfreq(size, 1 / RATE), np.float64)
    return np.floor(bark(hz)).astype(np.int64)


@lru_cache(maxsize=1)
def _model() -> tuple[Array, Array]:
    """Schroeder's spreading matrix, and each band's threshold in quiet as a variance:
    the threshold of hearing of a tone at the band's most sensitive frequency (noise
    within one critical band is heard at about the power of a tone)."""
    bands = np.arange(BANDS)
    dz = bands[:, None] - bands[None, :] + 0.474  # maskee band i, masker band j
    spread = 10 ** ((15.81 + 7.5 * dz - 17.5 * np.sqrt(1 + dz**2)) / 10)
    hz = np.fft.rfftfreq(2 * FFT, 1 / RATE)
    khz = np.maximum(hz, 20.0) / 1000
    ath_db = 3.64 * khz**-0.8 - 6.5 * np.exp(-0.6 * (khz - 3.3) ** 2) + 1e-3 * khz**4
    which = bands_of(2 * FFT)
    lowest = np.array([ath_db[which == b].min() for b in bands])
    quiet = 0.5 * 10 ** ((lowest - FULL_SCALE_SPL) / 10)  # a full-scale sine: variance 0.5
    return spread, quiet


def band_sums(p: Array) -> Array:
    """(frames, bins) power summed into (frames, Bark bands)."""
    which = bands_of(2 * (p.shape[1] - 1))
    sums = np.zeros((len(p), BANDS))
    np.add.at(sums.T, which, p.T)
    return sums


def threshold(x: Array) -> Array:
    """The noise variance each Bark band of each ``stft`` frame of the programme ``x``
    hides. Measured over a 1,024-sample Hann window centred on the frame: 512 samples
    (94 Hz a bin) put a partial near a band edge into the wrong band, and blur partials
    into noise, both of which overstate the masking."""
    long = 2 * FFT
    frames = -(-len(x) // HOP) + 1
    padded = np.zeros(frames * HOP + long)
    padded[long // 2 : long // 2 + len(x)] = x
    idx = np.arange(frames)[:, None] * HOP + np.arange(long)[None, :]
    hann = np.hanning(long)
    spectra = np.fft.rfft(padded[idx] * hann, axis=1)
    p = variance(spectra, hann)
    inner = p[:, 1:] + 1e-30
    flatness = np.exp(np.mean(np.log(inner), axis=1)) / np.mean(inner, axis=1)
    tonal = np.clip(10 * np.log10(flatness) / TONAL_SFM_DB, 0.0, 1.0)[:, None]
    spread, quiet = _model()
    bands = band_sums(p)
    spread_power = (bands[:, None, :] * spread[None, :, :]).sum(axis=2)  # not BLAS: the
    # same sums whatever the number of frames (a WAV is marked a block at a time)
    z = np.arange(BANDS)[None, :]
    offset_db = tonal * (14.5 + z) + (1 - tonal) * 5.5
    masked: Array = np.maximum(spread_power * 10 ** (-offset_db / 10), quiet[None, :])
    return masked
