"""Music and voice beds: mixed with the physics sounds, the music ducked under the action.

Levels are relative to the physics sounds' own loudness (their BS.1770 integrated
loudness, measured on the mix before the beds go in): music at ``gain_db: -10`` sits
10 LU under the action, a voice at 0 as loud as it. The whole is then normalised
together, so the beds count in the track's loudness like everything else.

Ducking is a sidechain on the action (physics and voice): every ``HOP`` samples its
short-term level against its own average sets how deep the music dips (nothing 20 dB
under the average, ``amount_db`` at the average or above), smoothed with the attack and
release times, interpolated between hops. All of it streams a window at a time, its
state carried over, so the result is the same whatever the window.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..scene.audio import AudioSpec, MusicSpec
from .dsp import RATE, Audio32, Samples, integrated_loudness

HOP = 256
"""Samples per ducking decision (5.3 ms)."""
DUCK_RANGE = 20.0
"""The action this many dB under its average loudness leaves the music alone."""
SILENT_REFERENCE = -23.0
"""Reference loudness (LUFS) when the physics make no sound at all."""


@dataclass(frozen=True)
class Beds:
    """Decoded music and voice clips: (n, 2) float32 at ``RATE``."""

    music: Audio32 | None = None
    voices: tuple[tuple[int, Audio32, float], ...] = ()
    """(first sample on the video clock, samples, gain_db) of each voice clip."""
    cues: tuple[tuple[int, Audio32], ...] = ()
    """(first sample, samples at their level) of each sound cue a script plays: mixed
    with the voices (their stem), not levelled by loudness."""

    def __bool__(self) -> bool:
        return self.music is not None or bool(self.voices) or bool(self.cues)


@dataclass(frozen=True)
class BedWindow:
    """One window of the mix, by part (stems)."""

    action: Audio32
    voice: Audio32
    music: Audio32


def _gain(loudness: float, reference: float, gain_db: float) -> float:
    return 10 ** ((reference + gain_db - loudness) / 20) if math.isfinite(loudness) else 0.0


def bed_windows(action: Samples, spec: AudioSpec, beds: Beds, window: int) -> Iterator[BedWindow]:
    """``action`` (the physics mix) a window at a time, with the voices and the ducked
    music that go with each window."""
    length = len(action)
    reference = integrated_loudness(action)
    if not math.isfinite(reference):
        reference = SILENT_REFERENCE
    voices = [
        (start, clip, _gain(integrated_loudness(clip), reference, gain_db))
        for start, clip, gain_db in beds.voices
    ]
    music = _Music(spec.music, beds.music, reference, length) if spec.music else None
    for w0 in range(0, length, window):
        w1 = min(length, w0 + window)
        act = np.array(action[w0:w1], dtype=np.float32)
        voice = np.zeros_like(act)
        for start, clip, gain in voices:
            a, b = max(w0, start), min(w1, start + len(clip))
            if b > a:
                voice[a - w0 : b - w0] += clip[a - start : b - start] * np.float32(gain)
        for start, clip in beds.cues:
            a, b = max(w0, start), min(w1, start + len(clip))
            if b > a:
                voice[a - w0 : b - w0] += clip[a - start : b - start]
        bed = music.block(w0, w1, act + voice) if music is not None else np.zeros_like(act)
        yield BedWindow(act, voice, bed)


class _Music:
    """The music bed: looped, levelled, faded, ducked; ``block`` is called in order."""

    def __init__(
        self, spec: MusicSpec, music: Audio32 | None, reference: float, length: int
    ) -> None:
        self.spec, self.music, self.length = spec, music, length
        loudness = integrated_loudness(music) if music is not None and len(music) else -math.inf
        self.gain = _gain(loudness, reference, spec.gain_db)
        self.reference = reference
        self.duck_db = 0.0
        self.carry = np.zeros((0, 2))  # sidechain samples short of a whole hop

    def block(self, w0: int, w1: int, sidechain: Audio32) -> Audio32:
        out = np.zeros((w1 - w0, 2), dtype=np.float32)
        if self.music is None or self.gain == 0.0:
            return out
        index = np.arange(w0, w1)
        if self.spec.loop:
            index %= len(self.music)
        playing = index < len(self.music)
        out[playing] = self.music[index[playing]]
        gain = np.full(w1 - w0, self.gain)
        fade_in, fade_out = round(self.spec.fade_in * RATE), round(self.spec.fade_out * RATE)
        if fade_in > 0:
            gain *= np.clip(np.arange(w0, w1) / fade_in, 0.0, 1.0)
        if fade_out > 0:
            gain *= np.clip((self.length - 1 - np.arange(w0, w1)) / fade_out, 0.0, 1.0)
        if self.spec.duck is not None:
            gain *= self._duck(sidechain)
        return out * gain[:, None].astype(np.float32)

    def _duck(self, sidechain: Audio32) -> np.ndarray:
        """Linear gain per sample of this window from the sidechain's level."""
        duck = self.spec.duck
        assert duck is not None
        data = np.concatenate([self.carry, sidechain.astype(np.float64)])
        hops = -(-len(data) // HOP)
        padded = np.zeros((hops * HOP, 2))
        padded[: len(data)] = data
        power = (padded**2).mean(axis=1).reshape(hops, HOP).mean(axis=1)
        key = 10 * np.log10(power + 1e-20) - 0.691
        depth = duck.amount_db * np.clip((key - self.reference + DUCK_RANGE) / DUCK_RANGE, 0, 1)
        attack = 1 - math.exp(-HOP / (duck.attack * RATE))
        release = 1 - math.exp(-HOP / (duck.release * RATE))
        start = self.duck_db
        levels = np.empty(hops + 1)
        levels[0] = start
        level = start
        for i, target in enumerate(-depth):
            level += (target - level) * (attack if target < level else release)
            levels[i + 1] = level
        whole = len(data) // HOP  # the last part hop is decided again with the next window
        self.duck_db = float(levels[whole])
        self.carry = data[whole * HOP :]
        position = (np.arange(len(sidechain)) + len(data) - len(sidechain) + 1) / HOP
        gain_db = np.interp(position, np.arange(hops + 1), levels)
        return np.asarray(10 ** (gain_db / 20))
