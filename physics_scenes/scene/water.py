"""Liquids in a scene file: ``kind: water`` regions, ``kind: emitter`` taps, ``fluid:``.

They are entries of ``bodies:`` (so a scene reads top to bottom) but not rigid bodies:
``setup`` turns them into one ``FluidSetup`` of particles at one spacing for
``physics/fluid.py``. Pure: numpy only.

>>> from physics_scenes.scene.water import FLUID_PRESETS
>>> FLUID_PRESETS["honey"].density, FLUID_PRESETS["water"].density
(1400.0, 1000.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Annotated, Literal

import numpy as np
from pydantic import Discriminator, Field, Tag, model_validator

from ..frame import CircleGeom, SegmentGeom
from .assembly import BodySpec, EmitterSpec, FluidSetup, FluidSpec
from .colors import parse_color
from .fields import Color, Coordinate, Degrees, Length, Model, Point, Positive, ReadOnlyList, Vec2

DEFAULT_RESOLUTION = 0.05
"""Metres between particles: a 1 m deep pool is 20 particles deep."""

FLUID_PRESETS: MappingProxyType[str, FluidSpec] = MappingProxyType(
    {
        "water": FluidSpec("water", 1000.0, 0.02, 0.0, parse_color("#2f7fd0")),
        "oil": FluidSpec("oil", 900.0, 0.15, 0.2, parse_color("#c9a227")),
        "honey": FluidSpec("honey", 1400.0, 0.6, 0.5, parse_color("#d98a12")),
    }
)
"""Liquids by name. Viscosity and cohesion are the solver's dimensionless blends (0-1):
XSPH velocity smoothing per step, and a pull between close particles."""


class FluidMaterial(Model):
    """A liquid: a preset (``like``) with any of its properties changed."""

    like: Literal["water", "oil", "honey"] = Field("water", description="Preset to start from.")
    density: Positive | None = Field(None, description="kg/m² (2D); water 1000.")
    viscosity: float | None = Field(
        None, ge=0, le=1, description="0 (water: 0.02) to 1 (like tar): velocity smoothing."
    )
    surface_tension: float | None = Field(
        None, ge=0, le=1, description="Cohesion 0-1: how much close particles pull together."
    )
    color: Color | None = Field(None, description="Colour of the liquid.")


def _name_or_mapping(value: object) -> str:
    """One union member up front, so a wrong value gets one error, not two."""
    return "spec" if isinstance(value, dict | FluidMaterial) else "name"


FluidRef = Annotated[
    Annotated[Literal["water", "oil", "honey"], Tag("name")]
    | Annotated[FluidMaterial, Tag("spec")],
    Discriminator(_name_or_mapping),
]


class _Liquid(Model):
    name: str | None = Field(
        None, min_length=1, max_length=200, pattern=r"^[^\s/][^/]*$", description="A label."
    )
    fluid: FluidRef = Field("water", description="water, oil, honey or {like, density, ...}.")
    resolution: Length | None = Field(
        None,
        description="Particle spacing in metres (default 0.05); one per scene: every water "
        "and emitter entry that gives it must agree.",
    )


class Water(_Liquid):
    """A region filled with liquid at rest (or at ``velocity``), as particles on a grid.

    Particles that would start inside a rigid body are left out."""

    kind: Literal["water"]
    box: tuple[Coordinate, Coordinate, Coordinate, Coordinate] | None = Field(
        None, description="[x0, y0, x1, y1]: the filled rectangle, metres."
    )
    polygon: ReadOnlyList[Point] | None = Field(
        None, min_length=3, max_length=256, description="Filled outline (any simple polygon)."
    )
    velocity: Vec2 = Field((0.0, 0.0), description="Initial velocity in m/s.")

    @model_validator(mode="after")
    def _one_region(self) -> Water:
        if (self.box is None) == (self.polygon is None):
            raise ValueError("give the region as 'box' or as 'polygon' (one of them)")
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if not (x1 > x0 and y1 > y0):
                raise ValueError("box must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0")
        return self


class Emitter(_Liquid):
    """A tap or hose: liquid leaves ``position`` at ``speed`` along ``direction``."""

    kind: Literal["emitter"]
    position: Point = Field(description="Nozzle centre, metres.")
    direction: Degrees = Field(-90.0, description="Degrees counter-clockwise from +x (-90: down).")
    speed: Positive = Field(2.0, le=100, description="Exit speed, m/s.")
    rate: Positive = Field(description="Mass flow in kg/s (2D: water at 1 m/s through 5 cm = 50).")
    width: Length | None = Field(
        None, description="Nozzle width in metres; default rate / (density × speed)."
    )
    start: float = Field(0.0, ge=0, le=1e6, description="Seconds at which it opens.")
    stop: float | None = Field(None, gt=0, le=1e6, description="Seconds at which it closes.")
    spread: Degrees = Field(0.0, ge=0, le=90, description="Random ± spread of the jet, degrees.")

    @model_validator(mode="after")
    def _times(self) -> Emitter:
        if self.stop is not None and self.stop <= self.start:
            raise ValueError("stop must be later than start")
        return self


LIQUIDS = (Water, Emitter)


def resolve_fluid(ref: FluidRef) -> FluidSpec:
    if isinstance(ref, str):
        return FLUID_PRESETS[ref]
    base = FLUID_PRESETS[ref.like]
    return FluidSpec(
        name=ref.like if ref == FluidMaterial(like=ref.like) else f"{ref.like} (custom)",
        density=base.density if ref.density is None else ref.density,
        viscosity=base.viscosity if ref.viscosity is None else ref.viscosity,
        cohesion=base.cohesion if ref.surface_tension is None else ref.surface_tension,
        color=base.color if ref.color is None else ref.color,
    )


def region_points(entry: Water, spacing: float) -> np.ndarray:
    """Grid points half a spacing inside the region (row by row, bottom first)."""
    if entry.box is not None:
        x0, y0, x1, y1 = entry.box
        outline = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    else:
        outline = list(entry.polygon or ())
    xs = np.array([p[0] for p in outline])
    ys = np.array([p[1] for p in outline])
    gx = np.arange(xs.min() + spacing / 2, xs.max() - spacing / 4, spacing)
    gy = np.arange(ys.min() + spacing / 2, ys.max() - spacing / 4, spacing)
    x, y = np.meshgrid(gx, gy)
    points = np.column_stack((x.ravel(), y.ravel()))
    if entry.polygon is not None:
        points = points[_inside(points, outline)]
    return points


def _inside(points: np.ndarray, outline: Sequence[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule, vectorised over points (a loop over the outline's edges only)."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), dtype=bool)
    for (ax, ay), (bx, by) in zip(outline, [*outline[1:], outline[0]], strict=True):
        crosses = (ay > y) != (by > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = ax + (y - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (x < at)
    return inside


def spacing_of(entries: Sequence[Water | Emitter]) -> float:
    given = [e.resolution for e in entries if e.resolution is not None]
    return given[0] if given else DEFAULT_RESOLUTION


def estimate_particles(entries: Sequence[Water | Emitter], duration: float) -> list[int]:
    """Particles each entry adds over ``duration`` seconds (regions: before bodies are cut
    out), for the limit check."""
    spacing = spacing_of(entries)
    counts = []
    for entry in entries:
        if isinstance(entry, Water):
            counts.append(math.ceil(_cells(entry, spacing)))
        else:
            fluid = resolve_fluid(entry.fluid)
            stop = duration if entry.stop is None else min(entry.stop, duration)
            mass = max(stop - entry.start, 0.0) * entry.rate
            counts.append(math.ceil(mass / (fluid.density * spacing**2)))
    return counts


def _cells(entry: Water, spacing: float) -> float:
    """Grid cells in the region's bounding box (checked before making the grid)."""
    if entry.box is not None:
        x0, y0, x1, y1 = entry.box
    else:
        xs = [p[0] for p in entry.polygon or ()]
        ys = [p[1] for p in entry.polygon or ()]
        x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    return (x1 - x0) / spacing * (y1 - y0) / spacing


def setup(
    entries: Sequence[Water | Emitter],
    duration: float,
    outside: Callable[[np.ndarray], np.ndarray] | None = None,
) -> FluidSetup | None:
    """Every liquid entry as particles and emitters; ``outside`` is a function of points
    that says which are free of rigid bodies (``None``: all)."""
    if not entries:
        return None
    spacing = spacing_of(entries)
    kinds: list[FluidSpec] = []

    def kind_of(ref: FluidRef) -> int:
        spec = resolve_fluid(ref)
        if spec not in kinds:
            kinds.append(spec)
        return kinds.index(spec)

    positions, velocities, ids, emitters = [], [], [], []
    for index, entry in enumerate(entries):
        k = kind_of(entry.fluid)
        if isinstance(entry, Water):
            points = region_points(entry, spacing)
            if outside is not None and len(points):
                points = points[outside(points)]
            positions.append(points)
            velocities.append(np.tile(np.array(entry.velocity, dtype=np.float64), (len(points), 1)))
            ids.append(np.full(len(points), k, dtype=np.int16))
        else:
            density = kinds[k].density
            width = entry.width or entry.rate / (density * entry.speed)
            emitters.append(
                EmitterSpec(
                    name=entry.name or f"emitter_{index}",
                    position=entry.position,
                    direction=math.radians(entry.direction),
                    speed=entry.speed,
                    rate=entry.rate,
                    width=width,
                    start=entry.start,
                    stop=duration if entry.stop is None else entry.stop,
                    spread=math.radians(entry.spread),
                    fluid=k,
                )
            )
    position = np.concatenate([*positions, np.zeros((0, 2))]).astype(np.float64)
    velocity = np.concatenate([*velocities, np.zeros((0, 2))]).astype(np.float64)
    kind = np.concatenate([*ids, np.zeros(0, dtype=np.int16)]).astype(np.int16)
    for array in (position, velocity, kind):
        array.flags.writeable = False
    return FluidSetup(tuple(kinds), spacing, position, velocity, kind, tuple(emitters))


def free_of(
    points: np.ndarray, bodies: Sequence[BodySpec], entries: Sequence[Water | Emitter]
) -> np.ndarray:
    """Which points lie at least half a spacing outside every body's shapes (at its start
    pose): water poured around a box leaves the box's place empty."""
    margin = spacing_of(entries) / 2
    free = np.ones(len(points), dtype=bool)
    for body in bodies:
        c, s = math.cos(body.angle), math.sin(body.angle)
        # the points in the body's own frame
        d = points - np.array(body.position)
        local = np.column_stack((d[:, 0] * c + d[:, 1] * s, -d[:, 0] * s + d[:, 1] * c))
        for geom in body.shapes:
            if isinstance(geom, CircleGeom):
                gap = np.hypot(*(local - np.array(geom.offset)).T) - geom.radius
            elif isinstance(geom, SegmentGeom):
                a, b = np.array(geom.a), np.array(geom.b)
                ab = b - a
                t = np.clip(((local - a) @ ab) / max(float(ab @ ab), 1e-300), 0.0, 1.0)
                gap = np.hypot(*(local - (a + t[:, None] * ab)).T) - geom.radius
            else:
                v = np.array(geom.vertices)
                e = np.roll(v, -1, axis=0) - v
                out = np.column_stack((e[:, 1], -e[:, 0])) / np.hypot(e[:, 0], e[:, 1])[:, None]
                gap = np.einsum("nkd,kd->nk", local[:, None, :] - v[None], out).max(axis=1)
            free &= gap >= margin * (1 - 1e-9)  # a particle half a spacing off stays
    return free
