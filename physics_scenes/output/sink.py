"""What every output has in common: the Sink protocol, the stream's facts, the format tables.

A sink is opened with a ``StreamInfo``, gets ``write()`` once per frame, then
``finish()`` (everything written, still at the temporary name), then ``commit()`` or
``discard()``: the pipeline commits all sinks only after every one of them has
finished. Every sink streams (memory does not grow with the video's length) and is
atomic (see ``atomic.py``). No encoder here: the command line reads these tables
without loading imageio.

>>> format_for_path("out/clip.gif"), format_for_path("out/frames"), format_for_path("a.txt")
('gif', 'png', None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from ..frame import Frame, Layout
from ..picture.view import Pixels

if TYPE_CHECKING:
    from .atomic import Outputs


class ExportError(Exception):
    """An output could not be written (encoder failure, disk full, permissions)."""


@dataclass(frozen=True, slots=True)
class Quality:
    """x264 settings behind a quality name."""

    preset: str
    crf: int
    description: str


QUALITY: Mapping[str, Quality] = MappingProxyType(
    {
        "draft": Quality("ultrafast", 26, "fastest, larger files, visible artefacts on gradients"),
        "standard": Quality("veryfast", 18, "clean picture, quick to encode (default)"),
        "high": Quality("slow", 14, "near-lossless, slow to encode"),
    }
)
DEFAULT_QUALITY = "standard"
X264_THREADS = 4
"""Fixed so the encoded bytes do not depend on the machine's core count."""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What every sink knows before the first frame."""

    layout: Layout
    width: int
    height: int
    fps: int
    frame_count: int
    dt: float
    quality: str = DEFAULT_QUALITY
    outputs: Outputs | None = None
    """The set the sinks' files are committed with (``atomic.OutputSet``, or ``InPlace``
    in a folder staged as a whole); None: each sink is a set of its own."""


class Sink(Protocol):
    """One output. ``needs_pixels`` says whether ``write`` needs the rendered picture."""

    needs_pixels: bool
    path: Path

    def open(self, info: StreamInfo) -> None: ...
    def write(self, frame: Frame, pixels: Pixels | None) -> None: ...
    def finish(self) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...


GIF_MAX_FPS = 25
"""GIF frame delays are whole hundredths of a second: 25 fps is 4/100 s for every frame
(30 fps alternated 3 and 4, a visible judder) and browsers slow down delays under 2/100."""


def gif_delay(fps: int) -> int:
    """The GIF's frame delay in hundredths of a second for a clip at ``fps``: 4 (25 fps)
    for 25 fps and up, else the next whole hundredth at or above the clip's own.

    >>> gif_delay(60), gif_delay(25), gif_delay(24), gif_delay(10)
    (4, 4, 5, 10)
    """
    return max(round(100 / GIF_MAX_FPS), -(-100 // fps))


FORMATS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "mp4": (".mp4", "H.264 video (yuv420p) that plays everywhere"),
        "gif": (".gif", f"animated GIF ({GIF_MAX_FPS} fps, or fewer for slower clips)"),
        "png": ("", "a folder of PNG frames"),
        "states": (".jsonl", "only the states (JSON Lines), no pictures"),
    }
)
"""Output formats: name → (file extension, help). Feeds the CLI's choices and help."""


def format_for_path(path: str | Path) -> str | None:
    """The format a target path implies by its extension; None when it has none."""
    suffix = Path(path).suffix.lower()
    for name, (extension, _) in FORMATS.items():
        if extension and suffix == extension:
            return name
    return "png" if suffix == "" else None
