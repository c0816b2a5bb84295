"""The scene file's ``audio:`` section: master level, ambient bed, per-material and per-body sounds.

Pure data (pydantic), like ``model.py``; ``audio/`` turns it into sound.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .fields import ReadOnlyList, ReadOnlyMap

_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)

Preset = Literal[
    "rubber", "wood", "metal", "stone", "ice", "glass", "plastic", "ground",
    "steel", "sole", "grip", "flesh",
]  # fmt: skip


class SoundSpec(BaseModel):
    """How one material or body sounds, relative to its default."""

    model_config = _CONFIG

    like: Preset | None = Field(
        None,
        description="Sound like this preset (default: the material's own, or the nearest "
        "preset by density and elasticity for custom materials); also steel (a cradle's "
        "balls), sole (a walker's shoes), grip (whegs' feet), flesh (a person's body).",
    )
    pitch: float = Field(1.0, gt=0, le=16, description="Multiply every frequency by this.")
    decay: float = Field(1.0, gt=0, le=16, description="Multiply every ring time by this.")
    gain_db: float = Field(0.0, ge=-60, le=24, description="Level change in dB.")
    sample: str | None = Field(
        None,
        min_length=1,
        description="A WAV file (path relative to the scene file) played "
        "instead of the synthesized sound; loudness still follows the impulse and pitch the size.",
    )
    sample_size: float = Field(
        0.2,
        gt=0,
        le=100,
        description="Size in metres at which the sample plays at its recorded "
        "pitch; a body twice as big plays it an octave lower.",
    )


class AmbientSpec(BaseModel):
    """A bed under everything: synthesized room tone, or a WAV file looped."""

    model_config = _CONFIG

    file: str | None = Field(
        None,
        min_length=1,
        description="WAV file to loop (relative to the scene file); "
        "default: synthesized room tone.",
    )
    level_db: float = Field(
        -30.0, ge=-80, le=0, description="Level of the bed relative to a full-scale impact, dB."
    )


class DuckSpec(BaseModel):
    """How far the music bed dips under the action (the physics sounds and the voice)."""

    model_config = _CONFIG

    amount_db: float = Field(
        8.0, ge=0, le=40, description="Dip, dB, while the action is as loud as it is on average."
    )
    attack: float = Field(0.05, gt=0, le=5, description="Seconds to dip (one time constant).")
    release: float = Field(0.6, gt=0, le=20, description="Seconds to come back up.")


class MusicSpec(BaseModel):
    """A music bed under the physics sounds: its own level, fades, loop and ducking."""

    model_config = _CONFIG

    file: str = Field(
        ..., min_length=1, description="WAV, FLAC or MP3 file, relative to the scene file."
    )
    gain_db: float = Field(
        -10.0,
        ge=-60,
        le=20,
        description="Loudness of the music relative to the physics sounds' own, LU.",
    )
    fade_in: float = Field(0.0, ge=0, le=600, description="Seconds of fade-in at the start.")
    fade_out: float = Field(2.0, ge=0, le=600, description="Seconds of fade-out at the end.")
    loop: bool = Field(True, description="Loop the music if it is shorter than the clip.")
    duck: DuckSpec | None = Field(
        default_factory=DuckSpec, description="Dip under the action; null: a steady level."
    )


class VoiceSpec(BaseModel):
    """A voice-over or narration clip placed on the video's clock."""

    model_config = _CONFIG

    file: str = Field(
        ..., min_length=1, description="WAV, FLAC or MP3 file, relative to the scene file."
    )
    start: float = Field(0.0, ge=0, le=86_400, description="Video time it starts, seconds.")
    gain_db: float = Field(
        0.0, ge=-60, le=20, description="Loudness relative to the physics sounds' own, LU."
    )
    consent: str | None = Field(
        None, description="A consent record for a personal voice (checked before rendering)."
    )


class AudioSpec(BaseModel):
    """Sound made from the simulation: impacts, footsteps, scraping and rolling."""

    model_config = _CONFIG

    enabled: bool = Field(True, description="false: no sound track at all.")
    loudness: float | None = Field(
        -16.0,
        ge=-50,
        le=-5,
        description="Integrated loudness target in LUFS "
        "(ITU-R BS.1770); null leaves the level alone (only the limiter acts).",
    )
    true_peak: float = Field(-1.0, ge=-20, le=0, description="True-peak ceiling in dBTP.")
    gain_db: float = Field(
        0.0, ge=-60, le=0, description="Master gain applied after loudness normalisation, dB."
    )
    voices: int = Field(64, ge=1, le=1024, description="Most sounds at once; quietest dropped.")
    impacts_db: float = Field(0.0, ge=-60, le=24, description="Level of impact sounds, dB.")
    scrapes_db: float = Field(
        0.0, ge=-60, le=24, description="Level of scraping and rolling noise, dB."
    )
    footsteps_db: float = Field(0.0, ge=-60, le=24, description="Level of footsteps, dB.")
    min_speed: float = Field(
        0.15,
        ge=0,
        le=10,
        description="Impacts slower than this (m/s) are silent, so resting contacts make no buzz.",
    )
    ambient: AmbientSpec | None = Field(None, description="Optional bed of room tone or a WAV.")
    music: MusicSpec | None = Field(None, description="A music bed, ducked under the action.")
    voice: ReadOnlyList[VoiceSpec] = Field(
        default_factory=tuple, description="Voice-over clips, each from its start time."
    )
    room_tone: float | None = Field(
        50.0,
        ge=10,
        le=90,
        description="A quiet synthesized room tone this many LU under the track's loudness "
        "fills its silences, so a clip never starts or ends in digital zero; null: none.",
    )
    materials: ReadOnlyMap[SoundSpec] = Field(
        default_factory=dict, description="Sound per material name (preset or scene material)."
    )
    bodies: ReadOnlyMap[SoundSpec] = Field(
        default_factory=dict,
        description="Sound per body name; a grid's base name applies "
        "to all its copies. Wins over 'materials'.",
    )
