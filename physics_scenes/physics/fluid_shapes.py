"""The fluid's geometry: SPH kernels, rigid shapes as colliders, the density a wall
stands in for, and the neighbour list. Pure numpy, no pymunk: ``world.py`` makes the
colliders, ``fluid.py`` uses them and hands the neighbour list its tree search.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Collider:
    """One rigid shape in world coordinates for this step.

    ``kind`` is 'circle' (points[0] centre, radius), 'segment' (points a, b; radius
    half-thickness) or 'poly' (counter-clockwise vertices; radius 0). ``body`` is the
    index of the moving body to push (-1: static, nothing pushed).
    """

    kind: str
    points: F64
    radius: float
    body: int
    center: tuple[float, float] = (0.0, 0.0)
    """The body's centre of gravity (world), for the torque of the impulses."""


def poly6_factor(h: float) -> float:
    """poly6 is this times (h² - r²)³."""
    return 4.0 / (math.pi * h**8)


def spiky_factor(h: float) -> float:
    """The spiky kernel's |∇W| / r is this times (h - r)² / r."""
    return -30.0 / (math.pi * h**5)


def poly6(r2: F64, h: float) -> F64:
    return poly6_factor(h) * (h * h - r2) ** 3


def spiky_scale(r: F64, h: float) -> F64:
    """|∇W| / r for the spiky kernel (the gradient is this times the separation vector)."""
    return spiky_factor(h) * (h - r) ** 2 / np.maximum(r, 1e-12)


def lattice_sums(spacing: float, h: float) -> tuple[float, float]:
    """Kernel density and constraint-gradient sum of a particle inside a full square lattice:
    the rest density (the fluid starts exactly at it) and the scale of λ's denominator."""
    k = math.ceil(h / spacing)
    grid = np.arange(-k, k + 1, dtype=np.float64) * spacing
    x, y = np.meshgrid(grid, grid)
    d = np.hypot(x, y).ravel()
    near = d < h
    rho = float(poly6(d[near] ** 2, h).sum())
    others = near & (d > 0)
    g = -spiky_scale(d[others], h) * d[others]
    return rho, float((g**2).sum() / rho**2)


@dataclass(frozen=True, slots=True)
class Contact:
    """Particles near one shape in one iteration: rows, distance from the surface, normal."""

    shape: Collider
    rows: I64
    distance: F64
    normal: F64
    surface: F64
    """The nearest point of the shape's surface to each particle."""

    def moved(self, x: F64) -> Contact:
        """The same contact with distances for particles now at ``x`` (the surface taken
        as its tangent plane at the nearest point)."""
        rows = self.rows
        distance = np.einsum("ij,ij->i", x[rows] - self.surface, self.normal)
        return Contact(self.shape, rows, distance, self.normal, self.surface)


def wall_table(spacing: float, h: float) -> tuple[F64, F64, F64]:
    """Density a half-plane of fluid behind a wall gives a particle at each distance from the
    wall (its first row half a spacing behind the surface, rows averaged along the wall),
    and the slope of that density: (distances, values, slopes)."""
    at = np.linspace(-spacing, h, 129)
    rows = spacing / 2 + spacing * np.arange(math.ceil(h / spacing) + 2)
    along = np.linspace(-h, h, 201)
    dy = at[:, None, None] + rows[None, :, None]
    r2 = dy**2 + along[None, None, :] ** 2
    w = np.where(r2 < h * h, poly6(np.minimum(r2, h * h), h), 0.0)
    values = w.sum(axis=(1, 2)) * (along[1] - along[0]) / spacing
    return at, values, np.gradient(values, at)


def surface_contact(shape: Collider, p: F64, old: F64) -> tuple[F64, F64]:
    """Signed depth (positive inside, minus the distance outside) and outward normal of
    each point against one shape; thin walls take the side the point came from."""
    if shape.kind == "circle":
        c = shape.points[0]
        d = p - c
        r = np.hypot(d[:, 0], d[:, 1])
        normal = d / np.maximum(r, 1e-12)[:, None]
        normal[r < 1e-12] = (0.0, 1.0)
        return shape.radius - r, normal
    if shape.kind == "segment":
        a, b = shape.points[0], shape.points[1]
        ab = b - a
        t = np.clip(((p - a) @ ab) / float(ab @ ab), 0.0, 1.0)
        closest = a + t[:, None] * ab
        d = p - closest
        r = np.hypot(d[:, 0], d[:, 1])
        side = np.sign((old - closest) @ np.array([-ab[1], ab[0]]))
        now = np.sign(d @ np.array([-ab[1], ab[0]]))
        crossed = (side != 0) & (now != side) & (t > 0) & (t < 1)
        normal = d / np.maximum(r, 1e-12)[:, None]
        flat = np.array([-ab[1], ab[0]]) / math.hypot(ab[0], ab[1])
        normal[crossed] = flat * side[crossed][:, None]
        depth = shape.radius - r
        depth[crossed] = shape.radius + r[crossed]
        return depth, normal
    v = shape.points
    e = np.roll(v, -1, axis=0) - v
    out = np.column_stack((e[:, 1], -e[:, 0])) / np.hypot(e[:, 0], e[:, 1])[:, None]
    dist = np.einsum("nkd,kd->nk", p[:, None, :] - v[None, :, :], out)
    before = np.einsum("nkd,kd->nk", old[:, None, :] - v[None, :, :], out)
    inside = dist.max(axis=1) <= 0
    edge = np.where(before.max(axis=1) > 0, before.argmax(axis=1), dist.argmax(axis=1))
    rows = np.arange(len(p))
    depth = -dist[rows, edge]
    normal = out[edge]
    outside = ~inside
    if outside.any():  # the distance to the nearest edge or corner
        q = p[outside]
        t = np.einsum("nkd,kd->nk", q[:, None, :] - v[None, :, :], e) / np.einsum("kd,kd->k", e, e)
        t = np.clip(t, 0.0, 1.0)
        closest = v[None, :, :] + t[:, :, None] * e[None, :, :]
        diff = q[:, None, :] - closest
        r = np.hypot(diff[..., 0], diff[..., 1])
        k = r.argmin(axis=1)
        m = np.arange(len(q))
        near = r[m, k]
        depth[outside] = -near
        normal[outside] = diff[m, k] / np.maximum(near, 1e-12)[:, None]
    return depth, normal


class Neighbours:
    """The pairs of particles closer than h, kept between steps while they hold.

    A Verlet list: ``pairs_within`` (a tree search) is asked for the pairs within h plus
    ``margin``, and that list serves later steps (filtered to h) until some particle has
    moved half the margin since, or particles came or went. In a splashing flow a list
    rarely lasts two steps: then the next ``exact_steps`` lists are asked for without a
    margin (fewer pairs, nothing to filter). The pairs are exactly those within h either
    way; their order (which the sums over them follow) depends only on the run, so runs
    stay bit-identical.
    """

    def __init__(
        self,
        pairs_within: Callable[[F64, float], npt.NDArray[np.intp]],
        h: float,
        margin: float,
        exact_steps: int,
    ) -> None:
        self._pairs_within = pairs_within
        self.h = h
        self._full_margin = margin
        self._exact_steps = exact_steps
        self._near: tuple[I64, I64] | None = None
        self._built_at: F64 = np.zeros((0, 2))
        self._margin = 0.0
        self._served = 0
        """Steps the list has served."""
        self._exact = 0
        """Lists still to build without a margin."""

    def forget(self) -> None:
        """The particles were renumbered: build anew next time."""
        self._near = None

    def pairs(self, x: F64) -> tuple[I64, I64]:
        """Every pair (i < j) of rows of ``x`` closer than h."""
        near = self._near
        if near is not None and self._margin > 0 and len(self._built_at) == len(x):
            d = x - self._built_at
            if float(np.max(d[:, 0] ** 2 + d[:, 1] ** 2)) <= (self._margin / 2) ** 2:
                self._served += 1
                i, j = near
                px, py = x[:, 0].copy(), x[:, 1].copy()
                dx, dy = px[i] - px[j], py[i] - py[j]
                close = dx * dx + dy * dy < self.h * self.h
                return i[close], j[close]
        if near is not None and self._margin > 0 and self._served <= 1:
            self._exact = self._exact_steps  # the last list served one step: no margin a while
        self._margin = 0.0 if self._exact > 0 else self._full_margin
        self._exact = max(self._exact - 1, 0)
        found = self._pairs_within(x, self.h + self._margin)
        i, j = found[:, 0].astype(np.int64), found[:, 1].astype(np.int64)
        self._near, self._built_at, self._served = (i, j), x, 0
        if self._margin > 0:
            return self.pairs(x)  # filtered to h (and counted as served once)
        self._served = 1
        return i, j
