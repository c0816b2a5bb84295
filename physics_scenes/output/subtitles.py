"""Captions as WebVTT and SRT sidecars, so players can switch them on and off.

The same cues the picture burns in (``scene.script``: ``caption`` actions and the
``look.title`` card), timed on the video clock. Written atomically with the other
outputs at the end of the run (a cue's start is known only when its trigger fires).

>>> from physics_scenes.scene.captions import Caption, Cue
>>> print(webvtt([Cue(1.2, 3.5, Caption(text="the ball hits the ramp"))]), end="")
WEBVTT
<BLANKLINE>
1
00:00:01.200 --> 00:00:03.500
the ball hits the ramp
>>> print(srt([Cue(61.0, 62.25, Caption(text="ok"))]), end="")
1
00:01:01,000 --> 00:01:02,250
ok
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..frame import Frame
from ..picture.view import Pixels
from ..scene.captions import Cue, CueMaker
from .atomic import AtomicPath
from .sink import StreamInfo


def _clock(seconds: float, mark: str) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{mark}{ms:03d}"


def _text(cue: Cue) -> str:
    """Cue text without blank lines (a blank line ends a cue in both formats)."""
    return "\n".join(line for line in cue.text.splitlines() if line.strip()) or " "


def webvtt(cues: Sequence[Cue]) -> str:
    body = "".join(
        f"\n{i}\n{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n{_text(c).replace('-->', '->')}\n"
        for i, c in enumerate(sorted(cues, key=lambda c: c.start), 1)
    )
    return "WEBVTT\n" + body


def srt(cues: Sequence[Cue]) -> str:
    return "\n".join(
        f"{i}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n{_text(c)}\n"
        for i, c in enumerate(sorted(cues, key=lambda c: c.start), 1)
    )


WRITERS: Mapping[str, Callable[[Sequence[Cue]], str]] = {".vtt": webvtt, ".srt": srt}


class SubtitleSink:
    """One sidecar (``.vtt`` or ``.srt``, by the path's ending), from the Frames' events."""

    needs_pixels = False

    def __init__(
        self,
        path: str | Path,
        maker: CueMaker,
        first: Sequence[Cue] = (),
    ) -> None:
        self.path = Path(path)
        self.write_text = WRITERS[self.path.suffix]
        self.maker = maker
        self.video_time = maker.video_time
        self.cues: list[Cue] = list(first)
        self._out: AtomicPath | None = None
        self.written: Path | None = None
        """The finished file (under its temporary name until the commit)."""
        self._frame = 0.0
        self._end = 0.0

    def open(self, info: StreamInfo) -> None:
        self._out = AtomicPath(self.path, group=info.outputs)
        self._frame = 1.0 / info.fps

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        self.cues += self.maker.cues(frame.events)
        self._end = self.video_time(frame.time) + self._frame

    def finish(self) -> None:
        """Write the cues, each cut at the end of the video."""
        assert self._out is not None
        end = self._end
        cues = [Cue(c.start, min(c.end, end), c.style) for c in self.cues if c.start < end]
        self._out.temp.write_text(self.write_text(cues), encoding="utf-8")
        self.written = self._out.temp

    def commit(self) -> None:
        assert self._out is not None
        self._out.commit()

    def discard(self) -> None:
        if self._out is not None:
            self._out.discard()
