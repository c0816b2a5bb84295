"""Frame stream + Layout → one View per output frame: the camera operator.

Pure (numpy only) and deterministic: a rig is fed frames in order and keeps
only its own smoothing state. Smoothing runs on the *video* clock, so a
follow shot stays smooth in slow motion. Framing is computed for the picture
area (inside letterbox bars); the View itself covers the whole output.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from ..frame import CircleGeom, Frame, Layout, PolyGeom
from ..scene import camera as cm
from .view import View

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Picture:
    """Output size and the picture area inside it (centred; the rest is bars)."""

    width: int
    height: int
    area_width: int
    area_height: int

    @classmethod
    def of(cls, width: int, height: int, aspect: float | None) -> Picture:
        """The largest centred rectangle of ``aspect`` (even-sized) inside the output."""
        if aspect is None or abs(width / height - aspect) < 1e-3:
            return cls(width, height, width, height)
        if width / height > aspect:
            area = (2 * round(height * aspect / 2), height)
        else:
            area = (width, 2 * round(width / aspect / 2))
        return cls(width, height, *area)


def extents(layout: Layout) -> FloatArray:
    """Per body, the largest distance (m) from its origin to any of its points."""
    out = np.zeros(len(layout.bodies))
    for i, body in enumerate(layout.bodies):
        for geom in body.shapes:
            if isinstance(geom, CircleGeom):
                reach = math.hypot(*geom.offset) + geom.radius
            elif isinstance(geom, PolyGeom):
                reach = max(math.hypot(x, y) for x, y in geom.vertices)
            else:
                reach = max(math.hypot(*geom.a), math.hypot(*geom.b)) + geom.radius
            out[i] = max(out[i], reach)
    return out


def smooth_damp(
    current: FloatArray, target: FloatArray, velocity: FloatArray, smooth_time: float, dt: float
) -> tuple[FloatArray, FloatArray]:
    """A critically damped spring toward ``target`` (Game Programming Gems 4, 1.10).

    No overshoot, no oscillation; ``smooth_time`` ≈ the time to get most of the way.
    """
    if smooth_time <= 0:
        return target.copy(), np.zeros_like(velocity)
    omega = 2.0 / smooth_time
    x = omega * dt
    decay = 1.0 / (1.0 + x + 0.48 * x * x + 0.235 * x * x * x)
    change = current - target
    temp = (velocity + omega * change) * dt
    new_velocity = (velocity - omega * temp) * decay
    return target + (change + temp) * decay, new_velocity


EASINGS: Mapping[str, Callable[[float], float]] = MappingProxyType(
    {
        "linear": lambda f: f,
        "ease_in": lambda f: f * f * f,
        "ease_out": lambda f: 1 - (1 - f) ** 3,
        "ease_in_out": lambda f: f * f * (3 - 2 * f),
        "hold": lambda f: 0.0 if f < 1 else 1.0,
    }
)


@dataclass(frozen=True, slots=True)
class ShotRecord:
    """What the states output records per frame besides the View."""

    index: int
    mode: str


_SpecT = TypeVar("_SpecT")
"""The camera settings model a rig runs on."""


class _Rig(Generic[_SpecT]):
    """Base: turns framing settings into scales, and adds shake."""

    mode = "fixed"

    def __init__(self, spec: _SpecT, ctx: _Context) -> None:
        self.spec = spec
        self.ctx = ctx
        self.rotation = math.radians(getattr(spec, "rotation", 0.0) or 0.0)
        shake = getattr(spec, "shake", None)
        self.shake = _Shake(shake, ctx.rng) if shake is not None else None
        self._last: View | None = None

    def scale_for(self, zoom: float | None, width: float | None) -> float:
        ctx = self.ctx
        if width is not None:
            return ctx.picture.area_width / width
        return ctx.base_scale * (zoom if zoom is not None else 1.0)

    def view(self, frame: Frame, t: float) -> View:
        center, scale, rotation = self.aim(frame, t)
        if self.shake is not None:
            offset, roll = self.shake.offset(frame, t)
            center = (center[0] + offset[0], center[1] + offset[1])
            rotation += roll
        p = self.ctx.picture
        view = View((float(center[0]), float(center[1])), float(scale), p.width, p.height,
                    float(rotation))  # fmt: skip
        if not all(map(math.isfinite, (*view.center, view.scale, view.rotation))):
            # a target that blew up (inf/NaN): hold the last good framing
            return self._last or View(self.ctx.region_center, self.ctx.base_scale, p.width,
                                      p.height)  # fmt: skip
        self._last = view
        return view

    def aim(self, frame: Frame, t: float) -> tuple[tuple[float, float], float, float]:
        raise NotImplementedError


class _Fixed(_Rig[cm.FixedCamera]):
    def aim(self, frame: Frame, t: float) -> tuple[tuple[float, float], float, float]:
        spec = self.spec
        center = spec.center if spec.center is not None else self.ctx.region_center
        return center, self.scale_for(spec.zoom, spec.width), self.rotation


class _Follow(_Rig[cm.FollowCamera]):
    mode = "follow"

    def __init__(self, spec: cm.FollowCamera, ctx: _Context) -> None:
        super().__init__(spec, ctx)
        self.row = ctx.rows(spec.target)[0]
        self.center: FloatArray | None = None
        self.velocity = np.zeros(2)
        self.anchor = np.zeros(2)

    def aim(self, frame: Frame, t: float) -> tuple[tuple[float, float], float, float]:
        spec = self.spec
        position = frame.position[self.row]
        scale = self.scale_for(spec.zoom, spec.width)
        if not np.isfinite(position).all():  # the target blew up: hold still
            held = self.center if self.center is not None else self.ctx.region_center
            return (held[0], held[1]), scale, self.rotation
        # Aim ahead by look_ahead, plus the smoothing's own lag (a critically damped
        # follower trails a steady target by velocity x smoothing time).
        lead_goal = frame.velocity[self.row] * (spec.look_ahead + spec.smoothing)
        if not np.isfinite(lead_goal).all():
            lead_goal = np.zeros(2)
        # No extra easing of the lead: the damped spring below already smooths a
        # bounce, and easing it too lets a reversing target run off-centre.
        goal = position + lead_goal
        half = np.array(spec.dead_zone) / 2
        if self.center is None:  # start as if it had been tracking all along
            self.anchor = goal.copy()
            self.center = position + np.nan_to_num(frame.velocity[self.row]) * spec.look_ahead
            self.velocity = np.nan_to_num(frame.velocity[self.row]).copy()
        else:
            self.anchor = np.clip(self.anchor, goal - half, goal + half)
            self.center, self.velocity = smooth_damp(
                self.center, self.anchor, self.velocity, spec.smoothing, self.ctx.dt
            )
        return (
            (self.center[0], self.center[1]),
            self.scale_for(spec.zoom, spec.width),
            self.rotation,
        )


class _CloseUp(_Rig[cm.CloseUpCamera]):
    mode = "close_up"

    def __init__(self, spec: cm.CloseUpCamera, ctx: _Context) -> None:
        super().__init__(spec, ctx)
        self.row = ctx.rows(spec.target)[0]
        self.size = 2 * ctx.extent[self.row]
        self.center: FloatArray | None = None
        self.velocity = np.zeros(2)

    def aim(self, frame: Frame, t: float) -> tuple[tuple[float, float], float, float]:
        spec = self.spec
        scale = self.ctx.picture.area_height * spec.fill / self.size
        if not np.isfinite(frame.position[self.row]).all():  # the target blew up: hold still
            held = self.center if self.center is not None else self.ctx.region_center
            return (held[0], held[1]), scale, self.rotation
        goal = frame.position[self.row] + frame.velocity[self.row] * spec.smoothing
        if not np.isfinite(goal).all():
            goal = np.array(frame.position[self.row])
        if self.center is None:  # start as if it had been tracking all along
            self.center = np.array(frame.position[self.row])
            self.velocity = np.nan_to_num(frame.velocity[self.row]).copy()
        else:
            self.center, self.velocity = smooth_damp(
                self.center, goal, self.velocity, spec.smoothing, self.ctx.dt
            )
        return (self.center[0], self.center[1]), scale, self.rotation


class _Fit(_Rig[cm.FitCamera]):
    """Drone view: smooth framing of a set of bodies; containment is enforced every frame."""

    mode = "fit"

    def __init__(self, spec: cm.FitCamera, ctx: _Context) -> None:
        super().__init__(spec, ctx)
        if spec.bodies:
            rows = sorted({r for name in spec.bodies for r in ctx.rows(name)})
        else:
            rows = [i for i, dyn in enumerate(ctx.layout.dynamic_mask()) if dyn]
        self.rows = np.array(rows or range(len(ctx.layout.bodies)), dtype=np.intp)
        self.state: FloatArray | None = None  # centre x, centre y, log scale
        self.velocity = np.zeros(3)

    def _bounds(self, frame: Frame, ahead: float = 0.0) -> tuple[FloatArray, FloatArray]:
        """Bounding box of the bodies in camera-aligned coordinates (lo, hi).

        ``ahead`` > 0 also includes where they will be that many simulation seconds on.
        """
        pos = frame.position[self.rows]
        if ahead:
            pos = np.concatenate((pos, pos + frame.velocity[self.rows] * ahead))
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        local = np.column_stack((pos[:, 0] * cos + pos[:, 1] * sin,
                                 -pos[:, 0] * sin + pos[:, 1] * cos))  # fmt: skip
        reach = np.tile(self.ctx.extent[self.rows], len(pos) // len(self.rows))[:, None]
        ok = np.isfinite(local).all(axis=1)
        if not ok.any():
            c = np.array(self.ctx.region_center)
            return c - 1, c + 1
        return (local[ok] - reach[ok]).min(axis=0), (local[ok] + reach[ok]).max(axis=0)

    def aim(self, frame: Frame, t: float) -> tuple[tuple[float, float], float, float]:
        spec, pic = self.spec, self.ctx.picture
        lo, hi = self._bounds(frame)
        # Aim where the bodies are heading (one smoothing time on, in simulation time)
        # so the spring's lag rarely needs the hard containment below.
        a_lo, a_hi = self._bounds(frame, spec.smoothing * self.ctx.rate)
        span = np.maximum(a_hi - a_lo + 2 * spec.margin, [spec.min_width, spec.min_width / 2])
        scale = min(pic.area_width / span[0], pic.area_height / span[1])
        phase = 2 * math.pi * t / spec.drift_period
        drift = spec.drift * np.array([math.sin(phase), 0.5 * math.sin(2 * phase)])
        goal = np.array([*((a_lo + a_hi) / 2 + drift), math.log(scale)])
        if self.state is None:
            self.state = goal
        self.state, self.velocity = smooth_damp(
            self.state, goal, self.velocity, spec.smoothing, self.ctx.dt
        )
        # Hard guarantee: every body's box stays inside the picture, whatever the smoothing.
        center, scale = self.state[:2].copy(), math.exp(self.state[2])
        half = np.array([pic.area_width, pic.area_height]) / 2
        need = (hi - lo) / 2
        if np.any(need * scale > half):
            scale = float(np.min(half / np.maximum(need, 1e-9))) * 0.999
            self.state[2] = math.log(scale)
            self.velocity[2] = min(self.velocity[2], 0.0)
        room = half / scale
        center = np.clip(center, hi - room, lo + room)
        self.state[:2] = center
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        world = (center[0] * cos - center[1] * sin, center[0] * sin + center[1] * cos)
        return world, scale, self.rotation


REFRAME_BELOW = 0.75
"""The default camera reframes when the picture's aspect is below this share of the
world region's (a 9:16 or square picture of a 16:9 scene) instead of shrinking it."""
SAFE_WIDTH = 0.8
"""Reframing keeps the action inside the middle 80 % of the picture's width when it fits."""
MOVING = 0.2
"""m/s: bodies faster than this are the action a reframing camera follows."""
FORGET = 1.5
"""Seconds over which a reframing camera's box of the action shrinks back."""


class _Reframe(_Rig[None]):
    """The default camera for a picture much narrower than the world region (9:16 of a
    16:9 scene): the region fills the picture's height (so nothing outside the world
    shows) and the camera pans with the action. The action is the box of the moving
    bodies (all dynamic ones while none moves); it grows at once and shrinks over
    ``FORGET`` seconds, so a swinging cradle stays framed whole. When the box fits in
    ``SAFE_WIDTH`` of the picture it is centred; when not, the camera follows the
    bodies' kinetic energy inside it. Smooth (0.6 s) but never lagging so far that the
    goal's safe width leaves the picture, and never past the region's sides."""

    mode = "reframe"

    def __init__(self, ctx: _Context) -> None:
        super().__init__(None, ctx)
        self.rows = np.array([i for i, d in enumerate(ctx.layout.dynamic_mask()) if d], np.intp)
        self.mass = np.array([ctx.layout.bodies[i].mass for i in self.rows], np.float64)
        self.box: tuple[float, float] | None = None
        self.state: FloatArray | None = None  # centre x
        self.velocity = np.zeros(1)

    def _goal(self, frame: Frame, width: float) -> float:
        """Where the camera wants its centre (x, m) for a view ``width`` metres wide."""
        ctx = self.ctx
        pos, vel = frame.position[self.rows], frame.velocity[self.rows]
        ok = np.isfinite(pos).all(axis=1) & np.isfinite(vel).all(axis=1)
        if not ok.any():
            return self.box[0] / 2 + self.box[1] / 2 if self.box else ctx.region_center[0]
        speed2 = (vel[ok] ** 2).sum(axis=1)
        moving = speed2 > MOVING**2
        pick = moving if moving.any() else np.ones_like(moving)
        x, reach = pos[ok, 0][pick], ctx.extent[self.rows][ok][pick]
        lo, hi = float((x - reach).min()), float((x + reach).max())
        if self.box is not None:
            keep = math.exp(-ctx.dt / FORGET)
            lo = min(lo, lo + (self.box[0] - lo) * keep)
            hi = max(hi, hi + (self.box[1] - hi) * keep)
        self.box = (lo, hi)
        if hi - lo <= SAFE_WIDTH * width:
            return (lo + hi) / 2
        energy = self.mass[ok][pick] * speed2[pick] + 1e-12
        center = float((x * energy).sum() / energy.sum())
        return min(max(center, lo + SAFE_WIDTH * width / 2), hi - SAFE_WIDTH * width / 2)

    def aim(self, frame: Frame, t: float) -> tuple[tuple[float, float], float, float]:
        ctx, pic = self.ctx, self.ctx.picture
        left, size = ctx.layout.region_origin[0], ctx.layout.region_size
        scale = pic.area_height / size[1]
        half = pic.area_width / 2 / scale
        goal = np.array([self._goal(frame, 2 * half)])
        if self.state is None:
            self.state = goal
        self.state, self.velocity = smooth_damp(self.state, goal, self.velocity, 0.6, ctx.dt)
        # Hard guarantee: the spring lags a moving target (speed × 0.6 s); what the goal
        # keeps inside SAFE_WIDTH stays in the picture, whatever the lag.
        slack = half * (1 - SAFE_WIDTH)
        center = float(np.clip(self.state[0], goal[0] - slack, goal[0] + slack))
        center = float(np.clip(center, left + half, left + size[0] - half))
        self.state[0] = center
        return (center, ctx.region_center[1]), scale, 0.0


class _Keyframes(_Rig[cm.KeyframeCamera]):
    mode = "keyframes"

    def __init__(self, spec: cm.KeyframeCamera, ctx: _Context) -> None:
        super().__init__(spec, ctx)
        self.rotation = 0.0
        keys = []
        center, scale, rotation = ctx.region_center, ctx.base_scale, 0.0
        for key in spec.keys:  # fill unset fields forward
            center = key.center if key.center is not None else center
            if key.zoom is not None or key.width is not None:
                scale = self.scale_for(key.zoom, key.width)
            rotation = math.radians(key.rotation) if key.rotation is not None else rotation
            keys.append((key.time, np.array(center, dtype=float), math.log(scale), rotation,
                         EASINGS[key.ease]))  # fmt: skip
        self.keys = keys

    def aim(self, frame: Frame, t: float) -> tuple[tuple[float, float], float, float]:
        keys = self.keys
        if t <= keys[0][0]:
            k = keys[0]
            return (k[1][0], k[1][1]), math.exp(k[2]), k[3]
        for a, b in itertools.pairwise(keys):
            if t < b[0]:
                f = b[4]((t - a[0]) / (b[0] - a[0]))
                c = a[1] + (b[1] - a[1]) * f
                return (c[0], c[1]), math.exp(a[2] + (b[2] - a[2]) * f), a[3] + (b[3] - a[3]) * f
        k = keys[-1]
        return (k[1][0], k[1][1]), math.exp(k[2]), k[3]


class _Shake:
    """Decaying oscillations, one per hard impact; phases from the scene's seeded RNG."""

    def __init__(self, spec: cm.Shake, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.active: list[tuple[float, float, FloatArray]] = []  # start, strength, phases

    def offset(self, frame: Frame, t: float) -> tuple[tuple[float, float], float]:
        spec = self.spec
        hits = [e.impulse for e in frame.events if e.kind == "begin" and e.impulse >= spec.impulse]
        if hits:
            strength = min(max(hits) / spec.impulse, 3.0)
            self.active.append((t, strength, self.rng.uniform(0, 2 * math.pi, 3)))
        self.active = [a for a in self.active if t - a[0] < 8 * spec.decay]
        x = y = roll = 0.0
        w = 2 * math.pi * spec.frequency
        for start, strength, phase in self.active:
            age = t - start
            envelope = strength * math.exp(-age / spec.decay)
            x += spec.amplitude * envelope * math.sin(w * age + phase[0])
            y += spec.amplitude * envelope * math.sin(1.13 * w * age + phase[1])
            roll += math.radians(spec.rotation) * envelope * math.sin(0.87 * w * age + phase[2])
        return (x, y), roll


@dataclass
class _Context:
    layout: Layout
    picture: Picture
    dt: float
    rng: np.random.Generator
    extent: FloatArray
    base_scale: float
    region_center: tuple[float, float]
    rate: float = 1.0
    """Simulation seconds per video second at the current frame."""

    def rows(self, ref: str) -> list[int]:
        names = list(self.layout.names)
        return [names.index(n) for n in cm.resolve_names(names, ref)]


# Any: which settings model a rig takes follows from the mode string, which mypy cannot see.
_RIGS: Mapping[str, type[_Rig[Any]]] = MappingProxyType(
    {
        "fixed": _Fixed,
        "follow": _Follow,
        "fit": _Fit,
        "wide": _Fit,
        "close_up": _CloseUp,
        "keyframes": _Keyframes,
    }
)


class CameraRig:
    """The camera for a whole clip: call ``view(frame, video_time)`` once per frame, in order.

    ``spec`` None keeps the world region fitted (exactly the View the renderer
    uses by default), or, for a picture much narrower than the region, reframes
    (``_Reframe``). Shots switch rigs on the first frame at or after their
    start: a hard cut, and each shot's smoothing starts fresh.
    """

    def __init__(
        self, spec: cm.ResolvedCamera | None, layout: Layout, picture: Picture, fps: int, seed: int
    ) -> None:
        self.picture = picture
        self.fps = fps
        origin, size = layout.region_origin, layout.region_size
        base = min(picture.area_width / size[0], picture.area_height / size[1])
        ctx = _Context(
            layout, picture, 1.0 / fps, np.random.default_rng([seed, 0xCA3E7A]), extents(layout),
            base, (origin[0] + size[0] / 2, origin[1] + size[1] / 2),
        )  # fmt: skip
        self.ctx = ctx
        if isinstance(spec, cm.ShotsCamera):
            self.cuts = [cut_frame(shot.start, fps) for shot in spec.shots]
            self.specs: list[cm.ShotCamera | None] = [shot.camera for shot in spec.shots]
        else:
            self.cuts, self.specs = [0], [spec]
        self._rig: _Rig[Any] | None = None
        self._shot = -1
        size = layout.region_size
        # a narrower picture than the world's region reframes; no picture (states or sound
        # only, 0x0) has nothing to frame
        self.reframes = (
            picture.area_height > 0
            and picture.area_width / picture.area_height < REFRAME_BELOW * size[0] / size[1]
        )

    def shot_at(self, index: int) -> int:
        """The shot of frame ``index``: the latest cut at or before it (a script's cut, made
        while the clip runs, counts from its frame until a later planned shot)."""
        return max((cut, i) for i, cut in enumerate(self.cuts) if cut <= index)[1]

    def outgoing(self) -> Callable[[Frame, float], View]:
        """The shot on now, still running after a cut (a transition shows both)."""
        rig, picture, ctx = self._rig, self.picture, self.ctx

        def view(frame: Frame, video_time: float) -> View:
            if rig is None:
                return View(ctx.region_center, ctx.base_scale, picture.width, picture.height)
            return rig.view(frame, video_time)

        return view

    def cut_to(self, spec: cm.ShotCamera, index: int) -> None:
        """A script's ``camera`` action: a hard cut to ``spec`` from frame ``index`` on."""
        self.cuts.append(index)
        self.specs.append(spec)

    def view(self, frame: Frame, video_time: float, rate: float = 1.0) -> tuple[View, ShotRecord]:
        """The View for ``frame``; ``rate`` is the clock's playback rate there."""
        self.ctx.rate = rate
        shot = self.shot_at(frame.index)
        if shot != self._shot:
            self._shot = shot
            spec, _, _ = cm.resolve(self.specs[shot], None, None, [], None)
            if self.picture.area_width * self.picture.area_height == 0:
                self._rig = None
            elif spec is not None:
                self._rig = _RIGS[spec.mode](spec, self.ctx)
            else:
                self._rig = _Reframe(self.ctx) if self.reframes else None
        if self._rig is None:  # the default framing, or no picture (sound only, 0x0)
            p = self.picture
            view = View(self.ctx.region_center, self.ctx.base_scale, p.width, p.height)
            return view, ShotRecord(shot, "default")
        return self._rig.view(frame, video_time), ShotRecord(shot, self._rig.mode)


def cut_frame(start: float, fps: int) -> int:
    """The first frame whose video time k / fps is at or after ``start``."""
    return math.ceil(start * fps - 1e-9)
