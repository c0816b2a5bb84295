"""The contract between the physics and everything downstream.

``Layout`` is what never changes during a run (row i = body i), ``Frame`` is
what changes (row-aligned arrays), ``Event`` is a collision that happened
between two frames. Renderer, exporters, audio and ground truth read only
these, so they never need pymunk and can run in other processes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
RGB = tuple[int, int, int]
Vec2 = tuple[float, float]


@dataclass(frozen=True, slots=True)
class CircleGeom:
    """A circle in body-local coordinates (metres)."""

    radius: float
    offset: Vec2 = (0.0, 0.0)
    type: Literal["circle"] = "circle"


@dataclass(frozen=True, slots=True)
class PolyGeom:
    """A convex polygon in body-local coordinates, counter-clockwise."""

    vertices: tuple[Vec2, ...]
    type: Literal["poly"] = "poly"


@dataclass(frozen=True, slots=True)
class SegmentGeom:
    """A capsule-ended segment from ``a`` to ``b`` with half-thickness ``radius``."""

    a: Vec2
    b: Vec2
    radius: float
    type: Literal["segment"] = "segment"


Geom = CircleGeom | PolyGeom | SegmentGeom


def extent(shapes: tuple[Geom, ...]) -> float:
    """Largest distance from the body origin to any point of its shapes, in metres."""
    reach = 0.0
    for geom in shapes:
        if isinstance(geom, CircleGeom):
            reach = max(reach, math.hypot(*geom.offset) + geom.radius)
        elif isinstance(geom, PolyGeom):
            reach = max(reach, max(math.hypot(x, y) for x, y in geom.vertices))
        else:
            reach = max(reach, math.hypot(*geom.a) + geom.radius, math.hypot(*geom.b) + geom.radius)
    return reach


BodyType = Literal["dynamic", "kinematic", "static"]


@dataclass(frozen=True, slots=True)
class BodyInfo:
    """Everything about one body that stays fixed for the whole run."""

    name: str
    kind: str
    body_type: BodyType
    material: str
    color: RGB
    shapes: tuple[Geom, ...]
    mass: float
    moment: float
    center_of_gravity: Vec2
    marked: bool = False
    """Draw a spin mark (balls), so rotation is visible."""
    group: int = 0
    """Parts of one composite (a walker, a chain) share a non-zero group and never collide."""


JointKind = Literal[
    "pin", "pivot", "slide", "groove", "spring", "rotary_spring", "rotary_limit", "motor", "gear"
]
NO_BODY = -1
"""Row used for a joint's ``b`` when it is attached to the world."""


@dataclass(frozen=True, slots=True)
class JointInfo:
    """A constraint between two bodies (rows), with anchors in body-local metres.

    ``b == NO_BODY`` attaches to the world, and ``anchor_b`` is then a world point.
    ``low``/``high`` are the limits of ``rotary_limit`` (radians, relative angle
    b - a) and the length range of ``slide``; ``rest`` the rest length or angle.
    """

    name: str
    kind: JointKind
    a: int
    b: int
    anchor_a: Vec2 = (0.0, 0.0)
    anchor_b: Vec2 = (0.0, 0.0)
    low: float = float("nan")
    high: float = float("nan")
    rest: float = float("nan")
    visible: bool = True
    """Drawn by the renderer (internal joints of ragdolls and chains are not)."""


@dataclass(frozen=True, slots=True)
class FluidInfo:
    """One liquid of the run (``Frame.fluid_kind`` indexes these): its name, areal
    density (kg/m²), the mass of each of its particles (kg) and its colour."""

    name: str
    density: float
    particle_mass: float
    color: RGB


@dataclass(frozen=True, slots=True)
class Layout:
    """The static description of a run: bodies in row order, plus the world box."""

    bodies: tuple[BodyInfo, ...]
    region_origin: Vec2
    region_size: Vec2
    background: RGB
    gravity: Vec2
    joints: tuple[JointInfo, ...] = ()
    fluids: tuple[FluidInfo, ...] = ()
    """The scene's liquids; empty when it has none."""
    fluid_spacing: float = 0.0
    """Metres between fluid particles at rest (0 without liquids)."""

    def __post_init__(self) -> None:
        names = [b.name for b in self.bodies]
        assert len(set(names)) == len(names), "body names must be unique"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bodies)

    def index(self, name: str) -> int:
        """Row of the body called ``name`` (KeyError if there is none)."""
        for i, body in enumerate(self.bodies):
            if body.name == name:
                return i
        raise KeyError(name)

    def masses(self) -> FloatArray:
        return np.array([b.mass for b in self.bodies], dtype=np.float64)

    def moments(self) -> FloatArray:
        return np.array([b.moment for b in self.bodies], dtype=np.float64)

    def dynamic_mask(self) -> npt.NDArray[np.bool_]:
        return np.array([b.body_type == "dynamic" for b in self.bodies], dtype=bool)


EventKind = Literal["begin", "separate", "foot", "splash", "action"]


class Event(NamedTuple):
    """Two bodies started (``begin``) or stopped (``separate``) touching.

    A named tuple, not a frozen dataclass: a 1000-ball pile makes ≈ 450 events a
    frame, and a frozen dataclass took 3.7 µs to build each (0.4 µs as a tuple).

    ``foot`` is a walker's foot (``a``, named '<walker>/foot_left' or '_right')
    landing on ``b``; it replaces the ``begin`` event of that contact, so sound
    and ground truth can tell footsteps from impacts.

    ``action`` is a script's action firing: ``a`` is its name, ``b`` its verb
    ('impulse', 'caption', ...).

    ``impulse`` is the total impulse (N·s) applied in the step where contact
    began, ``point`` a world contact point and ``normal`` points from ``a`` to
    ``b``; all three are zero for ``separate``.

    ``splash``: liquid ``a`` (a fluid's name; ``b`` is empty) was stopped hard by a
    shape in a step: ``impulse`` is the momentum it lost (mass × speed, N·s), ``point``
    the centre of the particles, ``normal`` (mass in kg, mean speed in m/s).
    """

    time: float
    step: int
    kind: EventKind
    a: str
    b: str
    impulse: float = 0.0
    point: Vec2 = (0.0, 0.0)
    normal: Vec2 = (0.0, 0.0)

    def to_dict(self) -> dict[str, object]:
        return {
            "time": self.time,
            "step": self.step,
            "kind": self.kind,
            "a": self.a,
            "b": self.b,
            "impulse": self.impulse,
            "point": list(self.point),
            "normal": list(self.normal),
        }


def _readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.flags.writeable = False
    return array


def _no_points() -> FloatArray:
    return _readonly(np.zeros((0, 2), dtype=np.float64))


def _no_kinds() -> npt.NDArray[np.int16]:
    return _readonly(np.zeros(0, dtype=np.int16))


@dataclass(frozen=True, slots=True)
class Frame:
    """The state of every body at one output frame, plus the events since the last.

    Arrays are row-aligned with ``Layout.bodies``; positions are body origins
    in metres, angles in radians, velocities in m/s and rad/s. Liquids travel as three
    more arrays, one row per particle (their number changes as emitters pour and
    particles leave the world): ``fluid_position`` and ``fluid_velocity`` (n, 2) and
    ``fluid_kind`` (n,), an index into ``Layout.fluids``.
    """

    index: int
    time: float
    position: FloatArray
    angle: FloatArray
    velocity: FloatArray
    angular_velocity: FloatArray
    events: tuple[Event, ...] = field(default=())
    fluid_position: FloatArray = field(default_factory=_no_points)
    fluid_velocity: FloatArray = field(default_factory=_no_points)
    fluid_kind: npt.NDArray[np.int16] = field(default_factory=_no_kinds)
    _hash: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for array in (self.position, self.angle, self.velocity, self.angular_velocity):
            _readonly(array)
        for fluid in (self.fluid_position, self.fluid_velocity, self.fluid_kind):
            _readonly(fluid)

    def state_hash(self) -> str:
        """SHA-256 over index, time and the four arrays as little-endian float64 (and the
        fluid's three arrays when there are particles: frames without liquid keep their
        hashes).

        Equal hashes mean bit-identical state; this is what determinism tests
        and the states output compare.

        >>> def at_rest(x: float) -> Frame:
        ...     still = np.zeros(1), np.zeros((1, 2)), np.zeros(1)
        ...     return Frame(0, 0.0, np.array([[x, 0.0]]), *still)
        >>> digest = at_rest(0.0).state_hash()
        >>> len(digest), digest[:16]
        (64, 'f5a5fd42d16a2030')
        >>> at_rest(0.0).state_hash() == digest  # same bits, same hash, in any process
        True
        >>> at_rest(5e-324).state_hash() == digest  # the smallest float apart is a change
        False
        """
        if self._hash is not None:
            return self._hash
        digest = hashlib.sha256()
        digest.update(np.array([self.index], dtype="<i8").tobytes())
        digest.update(np.array([self.time], dtype="<f8").tobytes())
        for array in (self.position, self.angle, self.velocity, self.angular_velocity):
            digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
        if len(self.fluid_kind):
            digest.update(b"fluid")
            digest.update(np.ascontiguousarray(self.fluid_position, dtype="<f8").tobytes())
            digest.update(np.ascontiguousarray(self.fluid_velocity, dtype="<f8").tobytes())
            digest.update(np.ascontiguousarray(self.fluid_kind, dtype="<i2").tobytes())
        # Cached: several sinks ask; the arrays are read-only, so it cannot go stale.
        object.__setattr__(self, "_hash", digest.hexdigest())
        return self._hash  # type: ignore[return-value]


Packed = tuple[Any, ...]
"""A Frame as plain tuples and arrays, to send to another process."""


def pack(frame: Frame) -> Packed:
    """A Frame for a pipe, events as plain tuples (a named tuple pickles by class)."""
    events = tuple(tuple(e) for e in frame.events)
    arrays = (frame.position, frame.angle, frame.velocity, frame.angular_velocity)
    fluid = (frame.fluid_position, frame.fluid_velocity, frame.fluid_kind)
    return (frame.index, frame.time, *arrays, events, *fluid)


def unpack(packed: Packed) -> Frame:
    index, time, position, angle, velocity, spin, events, *fluid = packed
    return Frame(
        index,
        time,
        position,
        angle,
        velocity,
        spin,
        tuple(Event._make(e) for e in events),
        *fluid,
    )
