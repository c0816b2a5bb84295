"""One render's marks: the content id, the key, the picture mark and the WAV marker.

>>> marks = Marks.make("ab" * 32, 0, "mp4 320x180 30fps 60", None)
>>> marks.content_id, marks.describe()["keyed"]
('a69dd286b021', False)
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .payload import MarkKey, content_id, payload_bits
from .picture import STRENGTH, PictureMark
from .sound import (
    CONTEXT,
    FLOOR_BAND_UNDER_DB,
    FLOOR_UNDER_DB,
    MARGIN_DB,
    PERIOD,
    shaped_mark,
)

WAV_BLOCK = PERIOD
"""Samples marked at once (one 2 s period of the mark): memory stays flat and small."""


@dataclass(frozen=True)
class Marks:
    content_id: str
    key: MarkKey
    picture: PictureMark

    @classmethod
    def make(cls, scene_hash: str, seed: int, settings: str, secret: bytes | None) -> Marks:
        cid = content_id(scene_hash, seed, settings)
        key = MarkKey(secret) if secret is not None else MarkKey()
        return cls(cid, key, PictureMark(key, payload_bits(cid)))

    @classmethod
    def for_run(
        cls, scene_hash: str, seed: int, fps: int, frame_count: int, secret: bytes | None = None
    ) -> Marks:
        """The marks of a run, named by what decides its run hash: the scene (with its
        seed) and the clock, not the picture size or format (every output of a run, and
        the preview's takes of it, carry one id, and ``verify --scene`` can name it
        without rendering)."""
        return cls.make(scene_hash, seed, f"{fps}fps {frame_count}", secret)

    def describe(self) -> dict[str, Any]:
        """The ``watermark`` section of metadata.json (never the key itself)."""
        return {
            "content_id": self.content_id,
            "keyed": self.key.keyed,
            "picture": {"kind": "tiled spread spectrum, luma", "strength_levels": STRENGTH},
            "sound": {
                "kind": "spread spectrum 0.92-15.4 kHz, masked, convolutional code",
                "under_masking_threshold_db": MARGIN_DB,
                "floor_1500_6000_hz": {
                    "under_programme_db": FLOOR_UNDER_DB,
                    "at_most_under_its_band_db": FLOOR_BAND_UNDER_DB,
                },
            },
        }

    def mark_wav(self, path: Path) -> None:
        """Add the sound mark to a 24-bit WAV in place (through a file beside it), a 2 s
        block at a time with the few samples around it that its masking depends on: the
        same bytes as marking the whole track at once."""
        from ...audio.dsp import WavWriter  # scipy.signal: only when there is sound

        marked = path.with_name(path.name + ".mark")
        bits = payload_bits(self.content_id)
        before, after = CONTEXT
        try:
            with wave.open(str(path), "rb") as source:
                channels = source.getnchannels()
                with WavWriter(marked, channels) as out:
                    past = np.zeros((0, channels))
                    block = _samples(source.readframes(WAV_BLOCK), channels)
                    start = 0
                    while len(block):
                        coming = _samples(source.readframes(WAV_BLOCK), channels)
                        span = np.concatenate([past, block, coming[:after]])
                        mark = shaped_mark(span, self.key, bits, start - len(past))
                        out.write(
                            (block + mark[len(past) : len(past) + len(block)]).astype(np.float32)
                        )
                        past, block, start = block[-before:], coming, start + len(block)
            marked.replace(path)
        finally:
            marked.unlink(missing_ok=True)


def _samples(raw: bytes, channels: int) -> npt.NDArray[np.float64]:
    """24-bit little-endian PCM → (samples, channels) floats in [-1, 1]."""
    triples = np.frombuffer(raw, np.uint8).reshape(-1, 3)
    wide = np.zeros((len(triples), 4), np.uint8)
    wide[:, 1:] = triples
    values = wide.view("<i4").ravel() >> 8
    return (values / (2**23 - 1)).reshape(-1, channels)
