"""The audio sink: collects the score while frames stream by, writes the WAV at the end
(mixed and mastered through a temporary file, so memory stays flat however long).

It follows the ``Sink`` protocol of ``sink.py`` (open / write / finish /
commit / discard) and is atomic: the WAV lives at a temporary name until
commit. When only the MP4 wants the sound (no ``--audio wav``), commit
deletes the temporary WAV after the MP4 has taken it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..audio.dsp import RATE
from ..audio.mix import Levels
from ..audio.score import Score
from ..audio.track import TimeMap, identity, write_track
from ..frame import Frame
from ..scene.audio import AudioSpec
from .atomic import AtomicPath


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
        mark: Callable[[Path], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.spec, self.seed, self.keep = spec, seed, keep
        self.base_dir, self.materials, self.time_map = base_dir, materials, time_map
        self.mark = mark
        """Adds the in-signal mark to the finished WAV, in place (``output.provenance``)."""
        self._out: AtomicPath | None = None
        self._score: Score | None = None
        self.levels: Levels | None = None
        self.wav: Path | None = None

    def open(self, info: Any) -> None:
        self._out = AtomicPath(self.path, group=info.outputs)
        self._score = Score(info.layout)
        self._duration = info.frame_count / info.fps

    def write(self, frame: Frame, pixels: object | None) -> None:
        assert self._score is not None
        self._score.add(frame)

    def finish(self) -> None:
        assert self._score is not None and self._out is not None
        self.levels = write_track(
            self._out.temp, self._score, self.spec, self.seed, self._duration,
            time_map=self.time_map, base_dir=self.base_dir, materials=self.materials,
        )  # fmt: skip
        if self.mark is not None:
            self.mark(self._out.temp)
        if self.info:
            append_wav_info(self._out.temp, self.info)
        self.wav = self._out.temp

    def metadata(self) -> dict[str, Any] | None:
        """The measured levels for ``metadata.json`` (None before ``finish()``)."""
        if self.levels is None:
            return None
        return {
            "sample_rate": RATE, "channels": 2,
            "loudness_lufs": _rounded(self.levels.loudness),
            "true_peak_dbtp": _rounded(self.levels.true_peak),
            "gain_db": _rounded(self.levels.gain_db),
        }  # fmt: skip

    def commit(self) -> None:
        assert self._out is not None
        if self.keep:
            self._out.commit()
        else:
            self._out.discard()

    def discard(self) -> None:
        if self._out is not None:
            self._out.discard()


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


def _rounded(value: float) -> float | None:
    return round(value, 3) if math.isfinite(value) else None
