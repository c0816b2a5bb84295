"""The audio sink: collects the score while frames stream by, writes the WAV at the end
(mixed and mastered through a temporary file, so memory stays flat however long),
measured once encoded as AAC and mastered again lower if the encoder pushed its true
peak over the ceiling (the MP4 gets exactly that encoding).

It follows the ``Sink`` protocol of ``sink.py`` (open / write / finish /
commit / discard) and is atomic: the WAV lives at a temporary name until
commit. When only the MP4 wants the sound (no ``--audio wav``), commit
deletes the temporary WAV after the MP4 has taken it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.beds import Beds
from ..audio.dsp import RATE, Audio32
from ..audio.mix import Levels
from ..audio.score import Score
from ..audio.speech import speak
from ..audio.stems import STEMS, write_stems
from ..audio.synth import ImpactSynth
from ..audio.timbre import PRESET_TIMBRES
from ..audio.track import Mix, TimeMap, identity, write_track
from ..errors import AudioInputError, ScriptSoundError
from ..frame import Frame
from ..scene import files
from ..scene.audio import AudioSpec
from ..scene.script import Action
from ..scene.speech import voice_for
from .atomic import AtomicPath
from .ffmpeg import aac_true_peak, decode_audio
from .sink import ExportError


@dataclass(frozen=True, slots=True)
class FigureVoice:
    """A figure's recording (``bodies[i].voice``): played from ``start`` (video seconds),
    panned where the figure's ``part`` (a Layout name) stands at that moment. Consent was
    checked before the render began (``rights.consent_check``)."""

    loc: str
    part: str
    file: str
    start: float
    gain_db: float


class AudioSink:
    """Builds the track from the Frames; ``wav`` is the finished file after ``finish()``."""

    needs_pixels = False
    info: tuple[tuple[str, str], ...] = ()
    """RIFF INFO fields (``INAM`` title, ``ICMT`` comment, ``ISFT`` software), set before
    ``open``: what a player shows about the file."""

    def __init__(
        self,
        path: str | Path,
        spec: AudioSpec,
        seed: int,
        *,
        keep: bool = True,
        base_dir: Path = Path("."),
        materials: dict[str, tuple[float, float]] | None = None,
        time_map: TimeMap = identity,
        stems: bool = False,
        encoded: bool = True,
        mark: Callable[[Path], None] | None = None,
        figures: tuple[FigureVoice, ...] = (),
        assets: tuple[Path, ...] = (),
        script: ScriptSounds | None = None,
    ) -> None:
        self.script = script
        """The script's spoken lines and sound cues, placed where their actions fire."""
        self._fired: list[tuple[str, float]] = []
        self.path = Path(path)
        self.roots = files.Roots(base_dir, assets)
        """Music, voices and figures' recordings may also be in the ``--assets`` folders."""
        self.figures = figures
        self._figure_x: list[list[float]] = [[] for _ in figures]
        self.spec, self.seed, self.keep = spec, seed, keep
        self.base_dir, self.materials, self.time_map = base_dir, materials, time_map
        self.encoded = encoded
        """Whether an MP4 takes the sound as AAC: then the master is checked once encoded."""
        self.stem_paths = {name: stem_path(self.path, name) for name in STEMS} if stems else {}
        """Where each stem goes: ``clip.impacts.wav`` … beside ``clip.wav``."""
        self._stems: dict[str, AtomicPath] = {}
        self.mark = mark
        """Adds the in-signal mark to the finished WAV, in place (``output.provenance``)."""
        self._out: AtomicPath | None = None
        self._score: Score | None = None
        self.levels: Levels | None = None
        self.wav: Path | None = None

    def open(self, info: Any) -> None:
        self._out = AtomicPath(self.path, group=info.outputs)
        self._stems = {n: AtomicPath(p, group=info.outputs) for n, p in self.stem_paths.items()}
        self._score = Score(info.layout)
        self._layout = info.layout
        self._figure_rows = [info.layout.names.index(f.part) for f in self.figures]
        self._fps = info.fps
        self._frames = 0

    def write(self, frame: Frame, pixels: object | None) -> None:
        assert self._score is not None
        self._score.add(frame)
        for row, xs in zip(self._figure_rows, self._figure_x, strict=True):
            xs.append(float(frame.position[row, 0]))
        if self.script:
            self._fired += [(e.a, e.time) for e in frame.events if e.kind == "action"]
        self._frames += 1  # a script's ``end`` may stop the clip before info.frame_count

    def finish(self) -> None:
        assert self._score is not None and self._out is not None
        duration = self._frames / self._fps  # the frames written (a script may ``end`` early)
        beds = load_beds(self.spec, self.roots, duration)
        if self.figures:
            beds = replace(beds, voices=beds.voices + self._figure_voices(duration))
        if self.script:
            beds = self.script.placed(beds, self._fired, self.time_map)
        self.levels = write_track(
            self._out.temp, self._score, self.spec, self.seed, duration,
            time_map=self.time_map, base_dir=self.base_dir, materials=self.materials,
            encoded_peak=aac_true_peak if self.encoded else None, beds=beds, mark=self.mark,
        )  # fmt: skip
        if self._stems:
            mix = Mix(self._score, self.spec, self.seed, duration, self.time_map,
                      self.base_dir, self.materials, beds)  # fmt: skip
            write_stems({n: out.temp for n, out in self._stems.items()}, mix, self.levels)
        if self.info:
            append_wav_info(self._out.temp, self.info)
        self.wav = self._out.temp

    def _figure_voices(self, duration: float) -> tuple[tuple[int, Audio32, float], ...]:
        """Each figure's recording, decoded, panned (constant power) at the figure's x in
        the frame shown at its start."""
        voices = []
        for figure, xs in zip(self.figures, self._figure_x, strict=True):
            if figure.start >= duration or not xs:
                continue
            try:
                path = files.check(self.roots, figure.file, "media")
                clip = decode_audio(path, duration - figure.start)
            except (files.FileRefError, ExportError) as error:
                raise AudioInputError(f"{figure.loc}: {error}") from None
            x = xs[min(len(xs) - 1, round(figure.start * self._fps))]
            origin, width = self._layout.region_origin[0], self._layout.region_size[0]
            pan = 0.8 * (2.0 * (x - origin) / width - 1.0) if math.isfinite(x) else 0.0
            voices.append((round(figure.start * RATE), panned(clip, pan), figure.gain_db))
        return tuple(voices)

    def metadata(self) -> dict[str, Any] | None:
        """The measured levels for ``metadata.json`` (None before ``finish()``)."""
        if self.levels is None:
            return None
        return {
            "sample_rate": RATE, "channels": 2,
            "loudness_lufs": _rounded(self.levels.loudness),
            "true_peak_dbtp": _rounded(self.levels.true_peak),
            "gain_db": _rounded(self.levels.gain_db),
            "aac_true_peak_dbtp": _rounded(self.levels.encoded_true_peak),
        }  # fmt: skip

    def commit(self) -> None:
        assert self._out is not None
        if self.keep:
            self._out.commit()
        else:
            self._out.discard()
        for stem in self._stems.values():
            stem.commit()

    def discard(self) -> None:
        if self._out is not None:
            self._out.discard()
        for stem in self._stems.values():
            stem.discard()


def panned(clip: Audio32, pan: float) -> Audio32:
    """A clip's mono sum placed at ``pan`` (-1 left … 1 right), constant power (the
    centre keeps the clip's level in each channel)."""
    angle = (min(1.0, max(-1.0, pan)) + 1.0) * math.pi / 4
    mono = clip.mean(axis=1, dtype=np.float32)
    gains = np.array([math.cos(angle), math.sin(angle)], np.float32) * np.float32(math.sqrt(2))
    return np.ascontiguousarray(mono[:, None] * gains[None, :], dtype=np.float32)


def stem_path(wav: Path, name: str) -> Path:
    """``out/clip.wav`` → ``out/clip.impacts.wav``."""
    return wav.with_name(f"{wav.stem}.{name}.wav")


def load_beds(spec: AudioSpec, base_dir: files.Root, seconds: float) -> Beds:
    """The music and voice files ``spec`` names (relative to ``base_dir``, the scene's
    folder), decoded by ffmpeg: only as much as a clip of ``seconds`` can play.
    ``AudioInputError`` names the field of a file that cannot be used."""

    def decoded(loc: str, ref: str, length: float) -> Audio32:
        try:
            path = files.check(base_dir, ref, "media")
            return decode_audio(path, length)
        except (files.FileRefError, ExportError) as error:
            raise AudioInputError(f"{loc}: {error}") from None

    music = None
    if spec.music is not None:
        music = decoded("audio.music.file", spec.music.file, seconds)
    voices = tuple(
        (round(v.start * RATE), decoded(f"audio.voice[{i}].file", v.file, seconds - v.start),
         v.gain_db)
        for i, v in enumerate(spec.voice)
        if v.start < seconds
    )  # fmt: skip
    return Beds(music, voices)


@dataclass(frozen=True)
class ScriptSounds:
    """The sound of a script's ``say`` and ``sound`` actions, made before the run (a line
    is the same whenever it is said), placed on the video clock once the run says when."""

    lines: Mapping[str, tuple[Audio32, float]]
    """Action name → (its spoken line, stereo at ``RATE``; its gain_db)."""
    cues: Mapping[str, Audio32]
    """Action name → its cue at its level."""

    def __bool__(self) -> bool:
        return bool(self.lines) or bool(self.cues)

    def seconds(self) -> dict[str, float]:
        """How long each line is spoken (the captions show that long)."""
        return {name: len(clip) / RATE for name, (clip, _) in self.lines.items()}

    def placed(self, beds: Beds, fired: Sequence[tuple[str, float]], time_map: TimeMap) -> Beds:
        """``beds`` with each line and cue at the moment its action fired (simulation
        seconds, mapped to the video's clock)."""
        voices, cues = list(beds.voices), list(beds.cues)
        for name, time in fired:
            start = round(time_map(time) * RATE)
            if name in self.lines:
                clip, gain_db = self.lines[name]
                voices.append((start, clip, gain_db))
            if name in self.cues:
                cues.append((start, self.cues[name]))
        return Beds(beds.music, tuple(voices), tuple(cues))


LONGEST_LINE = 600.0
"""Seconds of a recorded line or cue file decoded at most."""


def load_script_sounds(script: Sequence[Action], base_dir: files.Root, seed: int) -> ScriptSounds:
    """Every ``say`` line spoken (or its file decoded) and every ``sound`` cue made, with
    located errors (``script[2].say: ...``); a missing speech engine is one of them."""
    lines: dict[str, tuple[Audio32, float]] = {}
    cues: dict[str, Audio32] = {}

    def decoded(loc: tuple[str | int, ...], ref: str) -> Audio32:
        try:
            return decode_audio(files.check(base_dir, ref, "media"), LONGEST_LINE)
        except (files.FileRefError, ExportError, AudioInputError) as error:
            raise ScriptSoundError(loc, f"script[{loc[1]}].{'.'.join(map(str, loc[2:]))}",
                                   str(error)) from None  # fmt: skip

    for i, action in enumerate(script):
        name = action.label(i)
        if action.say is not None:
            speaker = voice_for(action.say)
            if speaker.file is not None:
                clip = decoded(("script", i, "say", "file"), speaker.file)
            else:
                try:
                    mono = speak(speaker, action.say.text)
                except AudioInputError as error:
                    where = ("script", i, "say")
                    raise ScriptSoundError(where, f"script[{i}].say", str(error)) from None
                clip = np.repeat(mono.astype(np.float32)[:, None], 2, axis=1)
            lines[name] = (clip, action.say.gain_db)
        elif action.sound is not None:
            cue = action.sound
            if cue.file is not None:
                wave = decoded(("script", i, "sound", "file"), cue.file)
            else:
                assert cue.hit is not None
                timbre = PRESET_TIMBRES[cue.hit]
                rng = np.random.default_rng([seed, 0x5C, i])
                mono = ImpactSynth(seed).impact(timbre, timbre.f_ref * 0.1 / cue.size, rng)[0]
                wave = np.repeat(mono.astype(np.float32)[:, None], 2, axis=1)
            peak = float(np.abs(wave).max())
            level = 10 ** (cue.gain_db / 20) / peak if peak > 0 else 0.0
            cues[name] = (wave * np.float32(level)).astype(np.float32)
    return ScriptSounds(lines, cues)


def _rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None and math.isfinite(value) else None


def append_wav_info(path: Path, fields: tuple[tuple[str, str], ...]) -> None:
    """Append a ``LIST``/``INFO`` chunk to a WAV file and fix the RIFF size.

    >>> import tempfile, wave
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "a.wav"
    ...     with wave.open(str(path), "wb") as out:
    ...         out.setnchannels(1); out.setsampwidth(2); out.setframerate(8000)
    ...         out.writeframes(bytes(8))
    ...     append_wav_info(path, (("INAM", "bounce"),))
    ...     data = path.read_bytes()
    ...     with wave.open(str(path)) as back:
    ...         print(back.getnframes(), data[-8:-2], int.from_bytes(data[4:8], "little") + 8)
    4 b'bounce' 80
    """
    body = b"INFO"
    for key, value in fields:
        text = value.encode("utf-8") + b"\0"
        body += key.encode("ascii") + len(text).to_bytes(4, "little") + text
        body += b"\0" * (len(text) % 2)
    with path.open("r+b") as handle:
        handle.seek(0, 2)
        if handle.tell() % 2:
            handle.write(b"\0")
        handle.write(b"LIST" + len(body).to_bytes(4, "little") + body)
        size = handle.tell() - 8
        handle.seek(4)
        handle.write(size.to_bytes(4, "little"))
