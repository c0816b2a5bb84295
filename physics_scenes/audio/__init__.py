"""Sound from the physics: impacts, footsteps, scraping and rolling, mixed and mastered.

``Score`` collects what should sound from the Frame stream, ``render_track``
turns it into a 48 kHz stereo track (``write_track``: straight into a WAV, in
flat memory), ``output.sound.AudioSink`` does both inside a render job. Reads only
``Layout``, ``Frame`` and ``Event``: never pymunk or pygame.
"""

from __future__ import annotations

from ..errors import AudioInputError
from .dsp import RATE, integrated_loudness, read_wav, true_peak, write_wav
from .mix import Levels
from .score import Score
from .track import render_track, write_track

__all__ = [
    "RATE",
    "AudioInputError",
    "Levels",
    "Score",
    "integrated_loudness",
    "read_wav",
    "render_track",
    "true_peak",
    "write_track",
    "write_wav",
]
