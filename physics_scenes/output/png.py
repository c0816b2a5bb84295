"""A folder of lossless PNG frames, for datasets and compositing."""

from __future__ import annotations

import re
from pathlib import Path

import imageio.v3 as iio
from PIL.PngImagePlugin import PngInfo

from ..frame import Frame
from ..picture.view import Pixels
from .atomic import AtomicPath
from .sink import StreamInfo

FRAME_NAME = re.compile(r"frame_[0-9]{6,}\.png")
"""The files this sink writes: an existing folder holding anything else is not replaced."""


class PngSequenceSink:
    """A folder of frame_000000.png … (lossless, for datasets and compositing)."""

    needs_pixels = True
    text: tuple[tuple[str, str], ...] = ()
    """tEXt chunks for every frame (what made it), set before ``open``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._out: AtomicPath | None = None

    def open(self, info: StreamInfo) -> None:
        self._out = AtomicPath(self.path, directory=True, owns=FRAME_NAME, group=info.outputs)
        self._digits = max(6, len(str(info.frame_count - 1)))

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        assert pixels is not None and self._out is not None
        target = self._out.temp / f"frame_{frame.index:0{self._digits}d}.png"
        if self.text:
            info = PngInfo()
            for key, value in self.text:
                info.add_text(key, value)
            iio.imwrite(target, pixels.rgb(), extension=".png", pnginfo=info)
        else:
            iio.imwrite(target, pixels.rgb(), extension=".png")

    def finish(self) -> None:
        pass

    def commit(self) -> None:
        assert self._out is not None
        self._out.commit()

    def discard(self) -> None:
        if self._out is not None:
            self._out.discard()
