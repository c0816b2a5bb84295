"""Scene-file models for the camera, the clock and the look.

The fields ``camera:``, ``time:``, ``look:`` and ``style:`` of a scene.

Pure data, like ``model.py``, and self-contained (``model.py`` imports this module,
not the other way round). Everything is in world units (metres) and seconds: camera
times (keyframes, shots, shake) are *video* seconds, what the viewer sees;
``time:`` segments are *simulation* seconds, where the action happens.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from .captions import AutoCaptions, Title
from .fields import Color, Model, ReadOnlyList

Center = Annotated[
    tuple[Annotated[float, Field(ge=-1e6, le=1e6)], Annotated[float, Field(ge=-1e6, le=1e6)]],
    Field(description="A point [x, y] in metres (y up)."),
]
Seconds = Annotated[float, Field(ge=0, le=1e6)]
BodyRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        description="A body's name; a grid's base name (e.g. 'ball') means all its copies.",
    ),
]


class Shake(Model):
    """Camera shake started by hard impacts, decaying, with phases from the scene seed."""

    impulse: float = Field(
        2.0,
        gt=0,
        le=1e12,
        description="Impacts with at least this impulse (N·s) shake the camera.",
    )
    amplitude: float = Field(
        0.08, ge=0, le=100, description="Displacement in metres for an impact at the threshold."
    )
    rotation: float = Field(0.4, ge=0, le=45, description="Roll amplitude in degrees.")
    decay: float = Field(0.35, gt=0, le=60, description="Seconds for the shake to fall to 1/e.")
    frequency: float = Field(14.0, gt=0, le=120, description="Oscillations per second.")


class _Framing(Model):
    zoom: float | None = Field(
        None,
        gt=0,
        le=1e4,
        description="Magnification: 1 shows the whole world region, 2 half as wide.",
    )
    width: float | None = Field(
        None, gt=0, le=1e6, description="Visible width of the picture in metres (instead of zoom)."
    )
    rotation: float = Field(0.0, ge=-360, le=360, description="Camera roll in degrees (ccw).")

    @model_validator(mode="after")
    def _one_size(self) -> _Framing:
        if self.zoom is not None and self.width is not None:
            raise ValueError("give zoom or width, not both")
        return self


class _Camera(_Framing):
    shake: Shake | None = Field(None, description="Shake on hard impacts.")


class FixedCamera(_Camera):
    """A still camera."""

    mode: Literal["fixed"]
    center: Center | None = Field(None, description="Default: the world region's centre.")


class FollowCamera(_Camera):
    """Tracks one body: critically damped smoothing, a dead zone and look-ahead."""

    mode: Literal["follow"]
    target: BodyRef
    smoothing: float = Field(
        0.35, ge=0, le=60, description="Seconds the camera takes to catch up (0 = locked)."
    )
    dead_zone: tuple[
        Annotated[float, Field(ge=0, le=1e6)], Annotated[float, Field(ge=0, le=1e6)]
    ] = Field(
        (0.6, 0.4),
        description="[width, height] in metres the target may move in without moving the camera.",
    )
    look_ahead: float = Field(
        0.25, ge=0, le=10, description="Aim this many seconds ahead along the target's velocity."
    )


class FitCamera(_Camera):
    """Drone view: keeps bodies in frame with a margin, smoothly, drifting slowly."""

    mode: Literal["fit", "wide"]
    bodies: ReadOnlyList[BodyRef] | None = Field(
        None, min_length=1, description="Bodies to keep in frame (default: all dynamic ones)."
    )
    margin: float = Field(0.6, ge=0, le=1e4, description="Space around them in metres.")
    smoothing: float = Field(0.8, ge=0, le=60, description="Seconds to settle on a new framing.")
    drift: float = Field(0.25, ge=0, le=1e4, description="Slow drift amplitude in metres.")
    drift_period: float = Field(16.0, gt=0, le=1e4, description="Seconds per drift cycle.")
    min_width: float = Field(3.0, gt=0, le=1e6, description="Never zoom closer than this width.")


class CloseUpCamera(_Camera):
    """Frames one body so it fills ``fill`` of the picture's height."""

    mode: Literal["close_up"]
    target: BodyRef
    fill: float = Field(0.3, gt=0, le=1, description="Fraction of the picture height it fills.")
    smoothing: float = Field(0.15, ge=0, le=60, description="Seconds to catch up.")


Easing = Literal["linear", "ease_in", "ease_out", "ease_in_out", "hold"]


class Keyframe(Model):
    """Where the camera is at one video time; unset fields keep the previous key's value."""

    time: Seconds
    center: Center | None = None
    zoom: float | None = Field(None, gt=0, le=1e4)
    width: float | None = Field(None, gt=0, le=1e6)
    rotation: float | None = Field(None, ge=-360, le=360)
    ease: Easing = Field("ease_in_out", description="Easing of the move that arrives here.")

    @model_validator(mode="after")
    def _one_size(self) -> Keyframe:
        if self.zoom is not None and self.width is not None:
            raise ValueError("give zoom or width, not both")
        return self


class KeyframeCamera(Model):
    """A scripted move: centre, zoom and roll between keyframes with easing."""

    mode: Literal["keyframes"]
    keys: ReadOnlyList[Keyframe] = Field(min_length=1)
    shake: Shake | None = None

    @model_validator(mode="after")
    def _sorted(self) -> KeyframeCamera:
        times = [k.time for k in self.keys]
        if any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("keyframe times must increase")
        return self


def _mode_tag(value: object) -> str:
    if isinstance(value, str):
        return "preset"
    if isinstance(value, BaseModel):
        mode = getattr(value, "mode", None)
    elif isinstance(value, dict):
        mode = value.get("mode")
    else:
        return "preset"
    return "fit" if mode == "wide" else str(mode)


CameraPreset = Literal["drone view", "wide", "fit", "fixed"]
ShotCamera = Annotated[
    Annotated[FixedCamera, Tag("fixed")]
    | Annotated[FollowCamera, Tag("follow")]
    | Annotated[FitCamera, Tag("fit")]
    | Annotated[CloseUpCamera, Tag("close_up")]
    | Annotated[KeyframeCamera, Tag("keyframes")]
    | Annotated[CameraPreset, Tag("preset")],
    Discriminator(_mode_tag),
]
MODES = ("fixed", "follow", "fit", "wide", "close_up", "keyframes", "shots")


class Shot(Model):
    """One shot: from ``start`` (video seconds) until the next shot starts."""

    start: Seconds
    camera: ShotCamera


class ShotsCamera(Model):
    """An edit: a list of shots, each with its own camera; hard cuts between them."""

    mode: Literal["shots"]
    shots: ReadOnlyList[Shot] = Field(min_length=1)

    @model_validator(mode="after")
    def _sorted(self) -> ShotsCamera:
        starts = [s.start for s in self.shots]
        if starts[0] != 0:
            raise ValueError("the first shot must start at 0")
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError("shot starts must increase")
        return self


Camera = Annotated[
    Annotated[FixedCamera, Tag("fixed")]
    | Annotated[FollowCamera, Tag("follow")]
    | Annotated[FitCamera, Tag("fit")]
    | Annotated[CloseUpCamera, Tag("close_up")]
    | Annotated[KeyframeCamera, Tag("keyframes")]
    | Annotated[ShotsCamera, Tag("shots")]
    | Annotated[CameraPreset, Tag("preset")],
    Discriminator(_mode_tag),
    Field(
        description="The camera: a mapping with 'mode' (fixed, follow, fit/wide, close_up, "
        "keyframes, shots) or a preset name ('drone view')."
    ),
]

ResolvedCamera = (
    FixedCamera | FollowCamera | FitCamera | CloseUpCamera | KeyframeCamera | ShotsCamera
)
"""A ``Camera`` with its preset name (if any) replaced by settings: what ``resolve`` gives."""


class TimeSegment(Model):
    """Play simulation time ``start``..``end`` at ``rate`` (0.25 = 4x slow motion)."""

    start: Seconds = Field(description="Simulation seconds.")
    end: Seconds = Field(description="Simulation seconds.")
    rate: float = Field(
        gt=0, ge=0.01, le=100, description="Simulation seconds per video second (0.25 = slow)."
    )
    ramp: Seconds = Field(0.0, description="Seconds (simulation) to ease in and out of the rate.")

    @model_validator(mode="after")
    def _ordered(self) -> TimeSegment:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TimeSpec(Model):
    """Remap the clock; physics is unchanged (fixed dt), only the frames' sample times move."""

    segments: ReadOnlyList[TimeSegment] = Field(min_length=1)

    @model_validator(mode="after")
    def _apart(self) -> TimeSpec:
        previous = 0.0
        for i, seg in enumerate(self.segments):
            if seg.start - seg.ramp < previous - 1e-12:
                raise ValueError(
                    f"segment {i} (with its ramp) overlaps the one before it or starts before 0"
                )
            previous = seg.end + seg.ramp
        return self


TimePreset = Literal["slow motion", "fast"]
TIME_PRESETS = MappingProxyType({"slow motion": 0.25, "fast": 2.0})
Time = Annotated[
    Annotated[TimeSpec, Tag("spec")] | Annotated[TimePreset, Tag("preset")],
    Discriminator(lambda v: "preset" if isinstance(v, str) else "spec"),
    Field(description="Playback rate segments, or 'slow motion' (0.25x) / 'fast' (2x) throughout."),
]


class Gradient(Model):
    """A vertical gradient behind everything."""

    top: Color
    bottom: Color


class ImageBackground(Model):
    """A picture behind everything, scaled to cover the frame."""

    image: str = Field(min_length=1, description="Path to a PNG/JPEG, relative to the scene file.")


def _background_tag(value: object) -> str:
    if isinstance(value, Gradient) or (isinstance(value, dict) and "top" in value):
        return "gradient"
    if isinstance(value, (ImageBackground, dict)):
        return "image"
    return "color"


Background = Annotated[
    Annotated[Color, Tag("color")]
    | Annotated[Gradient, Tag("gradient")]
    | Annotated[ImageBackground, Tag("image")],
    Discriminator(_background_tag),
]


class MotionBlur(Model):
    """Average sub-frame renders over the shutter's open time."""

    shutter: float = Field(
        180.0, gt=0, le=360, description="Shutter angle in degrees (180 = open half the frame)."
    )
    samples: int = Field(12, ge=2, le=64, description="Renders averaged per frame.")


class Trails(Model):
    """Fading lines behind moving bodies."""

    bodies: ReadOnlyList[BodyRef] | None = Field(
        None, min_length=1, description="Default: all balls."
    )
    length: float = Field(0.6, gt=0, le=60, description="Seconds (video) of trail.")


class Label(Model):
    """A name tag that follows a body (each body of a grid or composite), above it."""

    body: BodyRef
    text: str | None = Field(None, min_length=1, max_length=200, description="Default: body.")
    size: float = Field(0.035, gt=0, le=0.3, description="Text height, fraction of the picture.")
    color: Color = Field("#ffffff", description="Text colour.")  # type: ignore[assignment]


class SyntheticLabel(Model):
    """A visible note in a corner of every frame that the clip is synthetic: the marks and
    credentials prove it to software, this tells a viewer (``label: true`` for the default)."""

    text: str = Field(
        "Synthetic: physics_scenes", min_length=1, max_length=120, description="What it says."
    )
    corner: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = Field(
        "bottom-right", description="Which corner of the title-safe area."
    )
    opacity: float = Field(0.8, gt=0, le=1, description="Of the text (its box: 60 % of it).")
    size: float = Field(0.04, gt=0, le=0.3, description="Text height, fraction of the picture.")


Aspect = Literal["16:9", "9:16", "1:1", "4:3", "2.39:1"]
ASPECTS: Mapping[str, float] = MappingProxyType(
    {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0, "4:3": 4 / 3, "2.39:1": 2.39}
)


class Look(Model):
    """How the picture is finished: aspect, blur, background, trails, vignette."""

    aspect: Aspect | None = Field(
        None,
        description="Picture aspect. The output keeps its size; a different aspect gets black "
        "bars (2.39:1 = cinema letterbox). 9:16 also makes the default output size vertical.",
    )
    motion_blur: MotionBlur | None = None
    background: Background | None = Field(None, description="Colour, {top, bottom} or {image}.")
    trails: Trails | None = None
    vignette: float = Field(0.0, ge=0, le=1, description="Darkening of the corners, 0-1.")
    spin_marks: bool | None = Field(
        None,
        description="Draw the dash on each ball that shows its rotation. Default: on, "
        "off with the cinematic styles.",
    )
    fluid: Literal["surface", "particles"] = Field(
        "surface",
        description="How liquids are drawn: 'surface' (smooth water) or 'particles' (each "
        "particle as a dot, to debug a scene).",
    )
    auto_captions: AutoCaptions | None = Field(
        None, description="true, or {min_impulse, gap, ...}: captions written from contacts."
    )
    labels: ReadOnlyList[Label] = Field(
        default_factory=tuple, description="Name tags that follow bodies: [{body, text}]."
    )
    title: Title | None = Field(
        None, description="A title card at the start: text, or {text, duration, size, box, ...}."
    )
    label: SyntheticLabel | None = Field(
        None, description="true, text, or {text, corner, opacity, size}: 'synthetic' on screen."
    )

    @model_validator(mode="before")
    @classmethod
    def _short_title(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("title"), str):
            data = {**data, "title": {"text": data["title"]}}
        if isinstance(data, dict) and data.get("auto_captions") is True:
            data = {**data, "auto_captions": {}}
        if isinstance(data, dict) and data.get("label") is True:
            data = {**data, "label": {}}
        elif isinstance(data, dict) and data.get("label") is False:
            data = {**data, "label": None}
        elif isinstance(data, dict) and isinstance(data.get("label"), str):
            data = {**data, "label": {"text": data["label"]}}
        return data


STYLES = ("cinematic", "close-up cinematic", "drone view", "slow motion")
Style = Annotated[
    ReadOnlyList[Literal["cinematic", "close-up cinematic", "drone view", "slow motion"]],
    BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
    Field(
        description="Named presets, one or a list: 'cinematic' (letterbox, motion blur, "
        "vignette), 'close-up cinematic', 'drone view', 'slow motion'. Explicit camera, time "
        "and look settings win."
    ),
]


def cinematic_look() -> Look:
    return Look(aspect="2.39:1", motion_blur=MotionBlur(), vignette=0.35, spin_marks=False)


def resolve(
    camera: Camera | None,
    time: Time | None,
    look: Look | None,
    style: Sequence[str],
    first_dynamic: str | None,
) -> tuple[ResolvedCamera | None, TimeSpec | None, Look | None]:
    """Presets → concrete settings. Explicit fields win over what a style implies."""
    if "cinematic" in style or "close-up cinematic" in style:
        look = look or cinematic_look()
        if look.spin_marks is None:
            look = look.model_copy(update={"spin_marks": False})
    if camera is None and "drone view" in style:
        camera = "drone view"
    if camera is None and "close-up cinematic" in style and first_dynamic is not None:
        camera = CloseUpCamera(mode="close_up", target=first_dynamic, fill=0.25)
    if isinstance(camera, str):
        camera = FixedCamera(mode="fixed") if camera == "fixed" else FitCamera(mode="fit")
    if time is None and "slow motion" in style:
        time = "slow motion"
    if isinstance(time, str):
        rate = TIME_PRESETS[time]
        time = TimeSpec(segments=(TimeSegment(start=0.0, end=1e6, rate=rate),))
    return camera, time, look


def _refs(camera: object, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(camera, FollowCamera | CloseUpCamera):
        found.append(((*path, "target"), camera.target))
    elif isinstance(camera, FitCamera) and camera.bodies:
        found += [((*path, "bodies", i), name) for i, name in enumerate(camera.bodies)]
    elif isinstance(camera, ShotsCamera):
        for i, shot in enumerate(camera.shots):
            found += _refs(shot.camera, (*path, "shots", i, "camera"))
    return found


def resolve_names(names: list[str], ref: str) -> list[str]:
    """Names ``ref`` stands for: itself, or every '<ref>/...' part."""
    if ref in names:
        return [ref]
    return [n for n in names if n.startswith(ref + "/")]


def cross_check(
    camera: object, look: Look | None, names: list[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every body the camera or trails name must exist: (path, message) pairs."""
    refs = _refs(camera, ("camera",))
    if look is not None and look.trails is not None and look.trails.bodies:
        refs += [(("look", "trails", "bodies", i), n) for i, n in enumerate(look.trails.bodies)]
    if look is not None:
        refs += [(("look", "labels", i, "body"), tag.body) for i, tag in enumerate(look.labels)]
    problems: list[tuple[tuple[str | int, ...], str]] = []
    known = set(names)  # and every '<ref>' of a '<ref>/...', as resolve_names finds them
    for name in names:
        parts = name.split("/")
        known.update("/".join(parts[:end]) for end in range(1, len(parts)))
    for path, ref in refs:
        if ref not in known:
            # suggestions cost a pass over every name: only for the first few
            hints = len(problems) < MAX_HINTS
            close = difflib.get_close_matches(ref[:200], names, n=1) if hints else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append((path, f"unknown body {ref!r}{hint}"))
    return problems


MAX_HINTS = 3
"""Unknown body names that get a 'did you mean' (each compares with every name)."""


def aspect_ratio(look: Look | None) -> float | None:
    return None if look is None or look.aspect is None else ASPECTS[look.aspect]
