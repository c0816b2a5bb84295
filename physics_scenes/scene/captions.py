"""Captions as pure data: caption actions and title cards, and the cues they make on the
video clock (``CueMaker``: a run's action events, and auto-captions from contacts).

``picture/captions.py`` draws the cues; ``output/subtitles.py`` writes them as WebVTT and
SRT.

>>> maker = CueMaker({"hit": Caption(text="boom", duration=2)}, video_time=lambda s: 2 * s)
>>> from physics_scenes.frame import Event
>>> [(c.start, c.end, c.text) for c in maker.cues([Event(0.5, 60, "action", "hit", "caption")])]
[(1.0, 3.0, 'boom')]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from .fields import Color, Model

if TYPE_CHECKING:
    from .script import Action


class Caption(Model):
    """Text burned into the picture and written to the subtitle sidecars."""

    text: str = Field(min_length=1, max_length=500)
    duration: float = Field(3.0, gt=0, le=1e4, description="Seconds on screen (video time).")
    position: Literal["bottom", "top", "center"] = "bottom"
    size: float = Field(0.06, gt=0, le=0.5, description="Text height, fraction of the picture.")
    color: Color = Field("#ffffff", description="Text colour.")  # type: ignore[assignment]
    box: bool = Field(True, description="A translucent dark box behind the text.")
    fade: float = Field(0.25, ge=0, le=10, description="Seconds of fade in and of fade out.")


class Title(Caption):
    """A title card over the start of the video (``look.title``)."""

    duration: float = Field(2.5, gt=0, le=1e4, description="Seconds on screen (video time).")
    position: Literal["bottom", "top", "center"] = "center"
    size: float = Field(0.1, gt=0, le=0.5, description="Text height, fraction of the picture.")


@dataclass(frozen=True, slots=True)
class Cue:
    """One caption on the video clock: shown from ``start`` to ``end`` (video seconds)."""

    start: float
    end: float
    style: Caption

    @property
    def text(self) -> str:
        return self.style.text


def caption_table(
    script: Sequence[Action], spoken: Mapping[str, float] | None = None
) -> dict[str, Caption]:
    """Action name → its caption, for the captions' and sidecars' look-ups of events; a
    ``say`` line's shows as long as it is spoken (``spoken``: seconds by action name)."""
    from .speech import say_caption  # (speech builds on Caption)

    table = {a.label(i): a.caption for i, a in enumerate(script) if a.caption is not None}
    for i, a in enumerate(script):
        if a.say is not None and a.say.caption:
            label = a.label(i)
            table[label] = say_caption(a.say, (spoken or {}).get(label))
    return table


def cues_of(
    events: Sequence[Any], table: Mapping[str, Caption], video_time: Callable[[float], float]
) -> list[Cue]:
    """The cues that the ``action`` events of a Frame start (``video_time`` maps sim time)."""
    out = []
    for event in events:
        if event.kind == "action" and event.a in table:
            start = video_time(event.time)
            style = table[event.a]
            out.append(Cue(start, start + style.duration, style))
    return out


class AutoCaptions(Model):
    """Captions written from the contacts: 'ball hits ramp at 1.2 s'."""

    min_impulse: float = Field(0.05, ge=0, le=1e12, description="N·s a contact needs.")
    gap: float = Field(1.0, ge=0, le=1e4, description="Seconds (video) between two of them.")
    duration: float = Field(2.0, gt=0, le=1e4, description="Seconds on screen.")
    position: Literal["bottom", "top", "center"] = "top"
    size: float = Field(0.045, gt=0, le=0.5, description="Text height, fraction of the picture.")


def _spoken(name: str) -> str:
    return name.replace("/", " ").replace("_", " ")


class CueMaker:
    """The cues a run's events start: its caption actions, and with ``auto`` the first
    contact of each pair of bodies (hard enough, and not too soon after the last one).
    Stateful, and fed the same Frames in order: the picture and each sidecar keep one."""

    def __init__(
        self,
        table: Mapping[str, Caption],
        video_time: Callable[[float], float],
        auto: AutoCaptions | None = None,
        still: frozenset[str] = frozenset(),
    ) -> None:
        self.still = still
        """Static bodies: named second ('ball hits floor', not 'floor hits ball')."""
        self.table = table
        self.video_time = video_time
        self.auto = auto
        self._seen: set[tuple[str, str]] = set()
        self._last = -float("inf")

    def __bool__(self) -> bool:
        return bool(self.table) or self.auto is not None

    def cues(self, events: Sequence[Any]) -> list[Cue]:
        out = cues_of(events, self.table, self.video_time)
        auto = self.auto
        if auto is None:
            return out
        for event in events:
            pair = (event.a, event.b)
            if event.kind != "begin" or event.impulse < auto.min_impulse or pair in self._seen:
                continue
            self._seen.add(pair)
            start = self.video_time(event.time)
            if start - self._last < auto.gap:
                continue
            self._last = start
            a, b = (event.b, event.a) if event.a in self.still else (event.a, event.b)
            text = f"{_spoken(a)} hits {_spoken(b)} at {event.time:.1f} s"
            style = Caption(text=text, duration=auto.duration, position=auto.position,
                            size=auto.size)  # fmt: skip
            out.append(Cue(start, start + auto.duration, style))
        return out


def title_cues(title: Caption | None) -> list[Cue]:
    return [] if title is None else [Cue(0.0, title.duration, title)]
