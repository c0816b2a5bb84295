"""The audio sink: collects the score while frames stream by, writes the WAV at the end
(mixed and mastered through a temporary file, so memory stays flat however long).

It follows the ``Sink`` protocol of ``sink.py`` (open / write / finish /
commit / discard) and is atomic: the WAV lives at a temporary name until
commit. When only the MP4 wants the sound (no ``--audio wav``), commit
deletes the temporary WAV after the MP4 has taken it.
"""

from __future__ import annotations

import math
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
    ) -> None:
        self.path = Path(path)
        self.spec, self.seed, self.keep = spec, seed, keep
        self.base_dir, self.materials, self.time_map = base_dir, materials, time_map
        self._out: AtomicPath | None = None
        self._score: Score | None = None
        self.levels: Levels | None = None
        self.wav: Path | None = None

    def open(self, info: Any) -> None:
        self._out = AtomicPath(self.path, group=info.outputs)
        self._score = Score(info.layout)
        self._fps = info.fps
        self._frames = 0

    def write(self, frame: Frame, pixels: object | None) -> None:
        assert self._score is not None
        self._score.add(frame)
        self._frames += 1  # a script's ``end`` may stop the clip before info.frame_count

    def finish(self) -> None:
        assert self._score is not None and self._out is not None
        self.levels = write_track(
            self._out.temp, self._score, self.spec, self.seed, self._frames / self._fps,
            time_map=self.time_map, base_dir=self.base_dir, materials=self.materials,
        )  # fmt: skip
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


def _rounded(value: float) -> float | None:
    return round(value, 3) if math.isfinite(value) else None
