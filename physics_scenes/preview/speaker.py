"""The clip's sound through pygame's mixer, started at any video time, or a note why not.

The mixer is opened at the track's own format (48 kHz, stereo, 32-bit float) with no
changes allowed, so SDL converts for the device if it must and the mixer holds the
export's samples exactly. Without an audio device (no sound card, ``SDL_AUDIODRIVER``
set to ``dummy`` or to a driver that does not exist) the window stays silent and says so.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

from .player import Track

RATE = 48_000
"""The track's sample rate (``audio.dsp.RATE``, which a test keeps equal): not imported
from there, because the sound's modules load scipy, seconds the window need not wait."""
SILENT_DRIVERS = ("dummy", "disk")
"""SDL audio drivers that open but play to nobody."""
SLACK = 0.05
"""Seconds the sound may drift from the picture before it is restarted at the picture."""


class Speaker:
    """Plays one track from a given moment; ``note`` says why it is silent, if it is."""

    def __init__(self) -> None:
        self.note: str | None = None
        self.detail = ""
        """SDL's own words when the mixer could not open."""
        self.track: Track | None = None
        self._sound: pygame.mixer.Sound | None = None
        self.anchor: tuple[float, float] | None = None
        """(video time, clock time) when the sound was last started."""
        try:
            pygame.mixer.init(RATE, 32, 2, 1024, allowedchanges=0)
        except pygame.error as error:
            self.note = "no audio device: silent"
            self.detail = str(error)
            return
        driver = pygame.mixer.get_driver()
        if driver in SILENT_DRIVERS:
            self.note = "no audio device: silent"
            self.detail = f"SDL's {driver} audio driver plays to nobody"

    @property
    def available(self) -> bool:
        return pygame.mixer.get_init() is not None

    @property
    def playing(self) -> bool:
        return self._sound is not None and self._sound.get_num_channels() > 0

    def load(self, track: Track | None) -> None:
        self.stop()
        self.track = track

    def sound_from(self, video_time: float) -> pygame.mixer.Sound | None:
        """The track from the sample at ``video_time`` on, as a mixer Sound (None: nothing)."""
        if self.track is None or not self.available:
            return None
        start = min(max(0, round(video_time * RATE)), len(self.track))
        if start >= len(self.track):
            return None
        return pygame.mixer.Sound(buffer=np.ascontiguousarray(self.track[start:]).tobytes())

    def follow(self, wanted: bool, shown: float, now: float) -> None:
        """Keep the sound with the picture, which shows video time ``shown`` at clock time
        ``now``: started there, left alone while within ``SLACK`` of it, restarted where
        the picture is when they drift apart (a pause, a scrub, physics that lags);
        stopped when not ``wanted``."""
        if not wanted or self.track is None:
            self.stop()
            return
        if self.anchor is not None and self.playing:
            start, since = self.anchor
            if abs(start + (now - since) - shown) <= SLACK:
                return
        self.play(shown)
        self.anchor = (shown, now)

    def play(self, video_time: float) -> None:
        """Start the track at ``video_time`` (stopping what was playing)."""
        self.stop()
        self._sound = self.sound_from(video_time)
        if self._sound is not None:
            self._sound.play()

    def stop(self) -> None:
        self.anchor = None
        if self._sound is not None:
            self._sound.stop()
            self._sound = None

    def close(self) -> None:
        self.stop()
        if self.available:
            pygame.mixer.quit()
