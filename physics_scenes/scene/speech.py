"""Spoken lines and sound cues of a script, as pure data, and who speaks with which voice.

A ``say`` action speaks a line: synthesised offline by a speech engine (``audio/speech.py``
runs espeak-ng) or played from a recorded ``file``; it is shown as a caption for as long
as it is spoken. A ``sound`` action plays a cue: a file, or a synthesised hit of a
material preset. ``voice_for`` is the one place that decides how a line is voiced
(a recorded file, or the engine's voice, rate and pitch for this speaker), so a
speaker's own recorded voice plugs in here.

>>> line = Say(text="Here it comes.", who="man")
>>> speaker = voice_for(line)
>>> speaker.voice, speaker.rate, speaker.file
('en-us+m7', 165, None)
>>> say_caption(line, 1.2).text, say_caption(line, 1.2).duration
('man: Here it comes.', 1.5)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from pydantic import Field, model_validator

from .audio import Preset
from .captions import Caption
from .fields import Model
from .triggers import Name

NARRATOR = "en-us"
"""The engine's voice for a line nobody in the scene speaks."""
SPEAKERS = ("en-us+m3", "en-us+f3", "en-gb+m2", "en-gb+f2", "en-us+m7", "en-us+f4")
"""Voices given to named speakers (by a stable hash of the name), so two people differ."""
CAPTION_TAIL = 0.3
"""Seconds a spoken line's caption stays after the voice ends."""


class Say(Model):
    """A spoken line: shown as a caption while it is spoken."""

    text: str = Field(min_length=1, max_length=500, description="What is said (and captioned).")
    who: Name | None = Field(
        None, description="The speaker (a body's name); the caption reads 'who: text'."
    )
    file: str | None = Field(
        None,
        min_length=1,
        description="A recorded line (WAV, FLAC or MP3, relative to the scene file) "
        "played instead of the speech engine; `text` is its caption.",
    )
    voice: str | None = Field(
        None,
        pattern=r"^[a-z]{2,3}(-[a-z0-9]+)*(\+[A-Za-z0-9]+)?$",
        description="espeak-ng voice, e.g. 'en-us', 'en-gb+f3'; default: the narrator's "
        "('en-us') or one chosen for the speaker by name.",
    )
    rate: int = Field(165, ge=80, le=450, description="Words per minute.")
    pitch: int = Field(50, ge=0, le=99, description="Engine pitch, 0-99.")
    gain_db: float = Field(
        0.0, ge=-60, le=20, description="Loudness relative to the physics sounds' own, LU."
    )
    caption: bool = Field(True, description="false: heard, not shown.")
    duration: float | None = Field(
        None, gt=0, le=1e4, description="Seconds the caption shows; default: as long as spoken."
    )


class SoundCue(Model):
    """A sound at a moment: a file, or a synthesised hit of a material preset."""

    file: str | None = Field(
        None, min_length=1, description="WAV, FLAC or MP3, relative to the scene file."
    )
    hit: Preset | None = Field(None, description="A synthesised hit of this preset's sound.")
    size: float = Field(
        0.2, gt=0, le=100, description="Metres: the size of the thing hit (its pitch)."
    )
    gain_db: float = Field(
        -6.0, ge=-60, le=12, description="Peak level, dB against a full-scale impact."
    )

    @model_validator(mode="after")
    def _one(self) -> SoundCue:
        if (self.file is None) == (self.hit is None):
            raise ValueError("sound needs exactly one of file, hit")
        return self


@dataclass(frozen=True, slots=True)
class Speaker:
    """How one line is voiced: a recorded file, or the engine's settings."""

    file: str | None
    voice: str
    rate: int
    pitch: int


def voice_for(say: Say) -> Speaker:
    """The voice of a line: its file, else its own voice, else the speaker's by name."""
    if say.voice is not None:
        voice = say.voice
    elif say.who is None:
        voice = NARRATOR
    else:
        voice = SPEAKERS[zlib.crc32(say.who.encode()) % len(SPEAKERS)]
    return Speaker(say.file, voice, say.rate, say.pitch)


def say_caption(say: Say, seconds: float | None) -> Caption:
    """The caption of a line spoken for ``seconds`` (video time; None: not known yet)."""
    text = say.text if say.who is None else f"{say.who}: {say.text}"
    if say.duration is not None:
        duration = say.duration
    elif seconds is not None:
        duration = round(seconds + CAPTION_TAIL, 3)
    else:  # an estimate: 2.5 words a second
        duration = round(len(say.text.split()) / 2.5 + CAPTION_TAIL + 0.5, 3)
    return Caption(text=text[:500], duration=duration)
