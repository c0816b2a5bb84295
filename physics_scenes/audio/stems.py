"""Stems for a DAW: impacts, scrapes, footsteps, ambient, music and voice, one WAV each.

Each stem is its part of the mix through the same high-passes and fades and at the
same gain as the master, and the ambient stem holds the room tone too, so the stems sum to
the master as it was *before the limiter*: where the limiter caught a peak, the master
is that much lower than the sum (nowhere else; see ``tests/test_sound_delivery.py``).
The master also carries the sound mark (``--no-watermark`` leaves it out), which no stem
holds: with it, master minus the stems' sum is the mark, about 30 dB under the programme.
A part the scene does not have is a silent stem, so a session always has all six.
Stems are 32-bit float WAVs: before the limiter they can stand over full scale.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from .dsp import BLOCK, Audio32, FloatWavWriter
from .finish import Highpass, fades, finished, room_tone
from .mix import Levels
from .spill import SpilledTrack
from .track import Mix

STEMS = ("impacts", "scrapes", "footsteps", "ambient", "music", "voice")


def write_stems(paths: Mapping[str, Path], mix: Mix, levels: Levels) -> None:
    """Write each stem of ``STEMS`` to ``paths[name]`` (32-bit float WAV), given the ``levels``
    the master stage measured and applied."""
    gain = np.float32(10 ** (levels.gain_db / 20))
    length = mix.length
    with contextlib.ExitStack() as stack:

        def spill(windows: Iterator[Audio32]) -> SpilledTrack:
            track = stack.enter_context(SpilledTrack(next(iter(paths.values())).parent))
            for window in windows:
                track.append(window)
            return track

        beds: dict[str, SpilledTrack] = {}
        parts = mix.parts(spill)
        if parts is not None:
            music = stack.enter_context(SpilledTrack(paths["music"].parent))
            voice = stack.enter_context(SpilledTrack(paths["voice"].parent))
            for part in parts:
                music.append(part.music)
                voice.append(part.voice)
            beds = {"music": music, "voice": voice}
        for name in STEMS:
            if name in ("music", "voice"):
                source = beds.get(name)
                windows = (
                    finished(_blocks(source), length) if source is not None else _silence(length)
                )
            else:
                windows = finished(mix.windows(solo=name), length)
            tone = None
            below, under = mix.spec.room_tone, levels.bed_loudness
            if name == "ambient" and below is not None and under is not None:
                tone = room_tone(mix.seed, length, under - below)
            after = np.float32(10 ** (levels.after_limiter_db / 20))
            # the master's high-passes, after each of its two limiters, and its fades
            highpass, again = Highpass(), Highpass()
            with FloatWavWriter(paths[name]) as wav:
                at = 0
                for block in _reblock(windows):
                    out = block * gain
                    if tone is not None:
                        out += next(tone) * after
                    out = again(highpass(out))
                    fade = fades(at, len(out), length)
                    wav.write(out if fade is None else out * fade[:, None].astype(np.float32))
                    at += len(out)


def _blocks(track: SpilledTrack) -> Iterator[Audio32]:
    for start in range(0, len(track), BLOCK * 8):
        yield np.array(track[start : start + BLOCK * 8])


def _silence(length: int) -> Iterator[Audio32]:
    for start in range(0, length, BLOCK):
        yield np.zeros((min(BLOCK, length - start), 2), dtype=np.float32)


def _reblock(windows: Iterator[Audio32]) -> Iterator[Audio32]:
    """The same samples in ``BLOCK``-sample blocks, as the room tone comes."""
    pending = np.zeros((0, 2), dtype=np.float32)
    for window in windows:
        pending = np.concatenate([pending, window])
        while len(pending) >= BLOCK:
            yield pending[:BLOCK]
            pending = pending[BLOCK:]
    if len(pending):
        yield pending
