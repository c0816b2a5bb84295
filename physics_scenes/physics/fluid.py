"""A 2D particle fluid (position-based fluids) stepped between pymunk's rigid steps.

Why position-based fluids (Macklin & Müller 2013): a density constraint solved by a few
Jacobi iterations keeps the liquid nearly incompressible at the rigid step (1/240 s)
where an explicit SPH pressure would need a step ten times smaller. The constraint is
one-sided (only compression pushes), so a free surface needs no special treatment.

Everything is numpy over all particles at once: neighbour pairs come from a
``scipy.spatial.cKDTree`` list kept while it holds (``fluid_shapes.Neighbours``),
densities and corrections are ``np.bincount`` sums over the pairs (summed in an order
that depends only on the run, so runs are bit-identical). Rigid shapes count
as liquid behind their surface (``fluid_shapes.py``: a half-plane of particles), so the
same density constraint pushes particles off walls; a thin skin projects out any that
get closer. The momentum a moving shape gives the particles goes to its body as an
impulse.
That is the two-way coupling: buoyancy, drag and splashes follow from it; nothing floats
by script. pymunk is not imported here: ``world.py`` passes shapes as arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..scene.assembly import EmitterSpec, FluidSpec
from .fluid_shapes import (
    F64,
    I64,
    Collider,
    Contact,
    Neighbours,
    lattice_sums,
    poly6,
    poly6_factor,
    spiky_factor,
    surface_contact,
    wall_table,
)

__all__ = ["Collider", "Fluid", "Push", "Splash"]

KERNEL_FACTOR = 2.0
"""Kernel radius h in particle spacings: about 12 neighbours in 2D."""
ITERATIONS = 4
"""Density (Jacobi) iterations a step."""
RELAXATION = 0.02
"""Constraint softening (fraction of a full particle's gradient sum): keeps λ finite."""
SKIN = 0.25
"""The hard collision radius in spacings (a safety net: the density constraint keeps
particles about half a spacing off a wall)."""
VERLET = 0.5
"""The neighbour list's margin in spacings: pairs up to h plus this are kept, so the tree
is rebuilt only after some particle moved a quarter spacing."""
EXACT_STEPS = 8
"""Lists built without a margin after one with a margin served only one step."""
OMEGA = 1.0
"""Relaxation of each Jacobi correction (1: none)."""
SPLASH_SPEED = 1.5
"""m/s of speed a particle must lose against a shape in one step to count as splashing."""
SPLASH_PARTICLES = 3
"""Fewer splashing particles than this in a step make no splash event."""
COHESION = 0.01
"""Cohesion's pull per iteration, in spacings, between two particles of ``cohesion`` 1."""


def _pairs_within(x: F64, r: float) -> npt.NDArray[np.intp]:
    """Every pair (i < j) of rows of ``x`` closer than ``r``, from one tree."""
    from scipy.spatial import cKDTree  # here: loading the world's module stays light

    pairs: npt.NDArray[np.intp] = cKDTree(x).query_pairs(r, output_type="ndarray")
    return pairs


@dataclass(frozen=True, slots=True)
class Push:
    """The impulse the fluid gave one body in a step: linear (N·s) and angular about its
    centre of gravity (N·m·s)."""

    body: int
    impulse: tuple[float, float]
    angular: float


@dataclass(frozen=True, slots=True)
class Splash:
    """Fluid that hit something hard this step: where, how much mass, how fast."""

    point: tuple[float, float]
    mass: float
    speed: float
    kind: int
    """The liquid (index into the kinds) most of the mass belongs to."""


class Fluid:
    """Every particle of a scene's liquids, and the emitters that add more.

    Arrays (``position``, ``velocity``, ``kind``) are replaced, never changed in place,
    after each step, so a snapshot taken between steps stays valid.
    """

    def __init__(
        self,
        kinds: tuple[FluidSpec, ...],
        spacing: float,
        position: F64,
        velocity: F64,
        kind: npt.NDArray[np.int16],
        emitters: tuple[EmitterSpec, ...],
        gravity: tuple[float, float],
        dt: float,
        bounds: tuple[float, float, float, float],
        seed: int,
    ) -> None:
        self.kinds = kinds
        self.spacing = spacing
        self.h = KERNEL_FACTOR * spacing
        self.rest, full = lattice_sums(spacing, self.h)
        self.eps = RELAXATION * full
        self.skin = SKIN * spacing
        self._self_density = float(poly6(np.zeros(1), self.h)[0])
        self._poly6_scale = poly6_factor(self.h)
        self._spiky_scale = spiky_factor(self.h)
        self._wall_at, self._wall_density, self._wall_slope = wall_table(spacing, self.h)
        self.position, self.velocity, self.kind = position, velocity, kind
        self.emitters = emitters
        self.gravity = np.array(gravity, dtype=np.float64)
        self.dt = dt
        self.bounds = bounds
        """x0, y0, x1, y1 beyond which particles are dropped (fell out of the world)."""
        self._mass = np.array([k.density * spacing**2 for k in kinds], dtype=np.float64)
        self._viscosity = np.array([k.viscosity for k in kinds], dtype=np.float64)
        self._cohesion = np.array([k.cohesion for k in kinds], dtype=np.float64)
        self._rngs = [np.random.default_rng([seed, 7919, i]) for i in range(len(emitters))]
        self._emitted = [0.0] * len(emitters)
        """Rows each emitter has emitted so far (fractional: the clock of the next row)."""
        self._neighbours = Neighbours(_pairs_within, self.h, VERLET * spacing, EXACT_STEPS)
        self.time = 0.0
        self.splashes: list[Splash] = []

    @property
    def count(self) -> int:
        return len(self.position)

    def masses(self) -> F64:
        return self._mass[self.kind]

    def step(self, colliders: list[Collider]) -> list[Push]:
        """Advance one step of ``dt`` against this step's shapes; the impulses for bodies."""
        self.time += self.dt
        self._emit()
        if not self.count:
            return []
        dt = self.dt
        old = self.position
        velocity = self.velocity + self.gravity * dt
        x = old + velocity * dt
        i, j = self._pairs(x)
        n = self.count
        moved = np.zeros(n, dtype=np.float64)
        pushes: dict[int, F64] = {}
        contacts = self._contacts(x, old, colliders)
        for _ in range(ITERATIONS):
            contacts = [c.moved(x) for c in contacts]
            x = self._solve_density(x, i, j, n, contacts, pushes)
            x = self._project(x, contacts, pushes, moved)
        velocity = (x - old) / dt
        velocity = self._viscous(velocity, x, i, j)
        self._record_splashes(moved, x)
        keep = self._inside(x)
        if not keep.all():
            x, velocity, self.kind = x[keep], velocity[keep], self.kind[keep]
            self._neighbours.forget()  # the rows are numbered anew
        self.position, self.velocity = x, velocity
        return [Push(b, (float(p[0]), float(p[1])), float(p[2])) for b, p in sorted(pushes.items())]

    def _pairs(self, x: F64) -> tuple[I64, I64]:
        """Every pair (i < j) closer than the kernel radius at ``x`` (``Neighbours``)."""
        return self._neighbours.pairs(x)

    def _contacts(self, x: F64, old: F64, colliders: list[Collider]) -> list[Contact]:
        """The particles within a kernel radius of each shape (and a margin for this
        step's iterations): distance, normal and nearest surface point. Found once a step;
        the iterations move the particles along the surface's tangent plane."""
        found = []
        reach = self.h + self.spacing
        for shape in colliders:
            lo = shape.points.min(axis=0) - shape.radius - reach
            hi = shape.points.max(axis=0) + shape.radius + reach
            near = np.flatnonzero(
                (x[:, 0] > lo[0]) & (x[:, 0] < hi[0]) & (x[:, 1] > lo[1]) & (x[:, 1] < hi[1])
            )
            if not len(near):
                continue
            depth, normal = surface_contact(shape, x[near], old[near])
            close = -depth < reach
            if close.any():
                rows, dist, nrm = near[close], -depth[close], normal[close]
                found.append(Contact(shape, rows, dist, nrm, x[rows] - nrm * dist[:, None]))
        return found

    def _solve_density(
        self,
        x: F64,
        i: I64,
        j: I64,
        n: int,
        contacts: list[Contact],
        pushes: dict[int, F64],
    ) -> F64:
        """One Jacobi iteration of the one-sided density constraint (PBF's λ and Δx).

        Shapes count as fluid behind their surface (a precomputed half-plane of
        particles), so a particle beside a wall is as dense as one inside the liquid and
        the wall pushes it back through the same constraint. Coordinates are gathered as
        1-D arrays (a gather of n x 2 rows costs eight times as much)."""
        h, rest = self.h, self.rest
        px, py = x[:, 0].copy(), x[:, 1].copy()
        dx, dy = px[i] - px[j], py[i] - py[j]
        r2 = dx * dx + dy * dy
        q = np.maximum(h * h - r2, 0.0)  # poly6 and spiky vanish beyond h
        w = self._poly6_scale * (q * q * q)
        r = np.sqrt(r2)
        beyond = np.maximum(h - r, 0.0)
        s = self._spiky_scale / rest * (beyond * beyond) / np.maximum(r, 1e-12)
        gx, gy = s * dx, s * dy  # ∇_i C_i from j
        rho = self._self_density + np.bincount(i, w, n) + np.bincount(j, w, n)
        wall_gx, wall_gy = np.zeros(n), np.zeros(n)
        slopes = []
        for contact in contacts:
            value, slope = self._wall(contact.distance)
            slopes.append(slope)
            rows = contact.rows  # unique within a contact
            rho[rows] += value
            wall_gx[rows] += contact.normal[:, 0] * (slope / rest)
            wall_gy[rows] += contact.normal[:, 1] * (slope / rest)
        c = np.maximum(rho / rest - 1.0, 0.0)
        g2 = s * s * r2
        sx = np.bincount(i, gx, n) - np.bincount(j, gx, n) + wall_gx
        sy = np.bincount(i, gy, n) - np.bincount(j, gy, n) + wall_gy
        denom = sx * sx + sy * sy + np.bincount(i, g2, n) + np.bincount(j, g2, n)
        lam = -c / (denom + self.eps)
        both = lam[i] + lam[j]
        ux, uy = both * gx, both * gy
        pull = self._cohesion[self.kind]
        if pull.any():
            cx, cy = self._cohesion_shift(pull, dx, dy, r, i, j)
            ux, uy = ux - cx, uy - cy
        shift = np.column_stack(
            (
                np.bincount(i, ux, n) - np.bincount(j, ux, n),
                np.bincount(i, uy, n) - np.bincount(j, uy, n),
            )
        )
        for contact, slope in zip(contacts, slopes, strict=True):
            rows = contact.rows
            push = (lam[rows] * slope / rest)[:, None] * contact.normal
            shift[rows] += push
            if contact.shape.body >= 0:
                self._give(contact.shape, rows, x[rows], OMEGA * push, pushes)
        return x + OMEGA * shift

    def _cohesion_shift(
        self, pull: F64, dx: F64, dy: F64, r: F64, i: I64, j: I64
    ) -> tuple[F64, F64]:
        """Cohesion (surface tension): neighbours farther apart than the rest spacing pull
        together, most at halfway to the kernel's edge; closer ones not at all, so drops
        hold together without particles clumping in pairs."""
        span = self.h - self.spacing
        u = np.clip((r - self.spacing) / span, 0.0, 1.0)
        bump = 4.0 * u * (1.0 - u)  # 0 at the rest spacing and at h, 1 halfway
        size = 0.5 * (pull[i] + pull[j]) * COHESION * self.spacing * bump
        scale = size / np.maximum(r, 1e-12)
        return scale * dx, scale * dy

    def _wall(self, distance: F64) -> tuple[F64, F64]:
        """Density of the fluid a shape stands in for, and its slope, at ``distance``."""
        value = np.interp(distance, self._wall_at, self._wall_density)
        slope = np.interp(distance, self._wall_at, self._wall_slope)
        return value, slope

    def _give(
        self, shape: Collider, rows: I64, at: F64, shift: F64, pushes: dict[int, F64]
    ) -> None:
        """The momentum a shape gave these particles (by moving them ``shift``) goes to its
        body with the opposite sign, with its angular part about the centre of gravity."""
        m = self._mass[self.kind[rows]][:, None]
        impulse = -m * shift / self.dt
        arm = at - np.asarray(shape.center)
        total = np.array(
            (
                impulse[:, 0].sum(),
                impulse[:, 1].sum(),
                (arm[:, 0] * impulse[:, 1] - arm[:, 1] * impulse[:, 0]).sum(),
            )
        )
        if shape.body in pushes:
            pushes[shape.body] = pushes[shape.body] + total
        else:
            pushes[shape.body] = total

    def _project(self, x: F64, contacts: list[Contact], pushes: dict[int, F64], moved: F64) -> F64:
        """The safety net: a particle closer than the skin to a shape is put back on it."""
        x = x.copy()
        for contact in contacts:
            rows = contact.rows
            distance = contact.moved(x).distance
            deep = distance < self.skin
            if not deep.any():
                continue
            rows = rows[deep]
            shift = contact.normal[deep] * (self.skin - distance[deep])[:, None]
            x[rows] += shift
            moved[rows] += np.hypot(shift[:, 0], shift[:, 1])
            if contact.shape.body >= 0:
                self._give(contact.shape, rows, x[rows], shift, pushes)
        return x

    def _viscous(self, v: F64, x: F64, i: I64, j: I64) -> F64:
        """XSPH viscosity: each particle's velocity blends towards its neighbours'."""
        c = self._viscosity[self.kind]
        if not c.any():
            return v
        n = len(v)
        px, py = x[:, 0].copy(), x[:, 1].copy()
        dx, dy = px[i] - px[j], py[i] - py[j]
        q = np.maximum(self.h**2 - (dx * dx + dy * dy), 0.0)
        k = 0.5 * (c[i] + c[j]) * (self._poly6_scale / self.rest) * (q * q * q)
        vx, vy = v[:, 0].copy(), v[:, 1].copy()
        bx, by = (vx[j] - vx[i]) * k, (vy[j] - vy[i]) * k
        blend = np.column_stack(
            (
                np.bincount(i, bx, n) - np.bincount(j, bx, n),
                np.bincount(i, by, n) - np.bincount(j, by, n),
            )
        )
        return v + blend

    def _record_splashes(self, moved: F64, x: F64) -> None:
        """Particles stopped hard by a shape this step, as one splash per step (for sound
        and the event stream); the mass and the mean speed lost."""
        lost = moved / self.dt
        hard = lost > SPLASH_SPEED
        if hard.sum() < SPLASH_PARTICLES:
            return
        m = self.masses()[hard]
        where = x[hard]
        point = (m[:, None] * where).sum(axis=0) / m.sum()
        self.splashes.append(
            Splash(
                (float(point[0]), float(point[1])),
                float(m.sum()),
                float(lost[hard].mean()),
                int(np.bincount(self.kind[hard]).argmax()),
            )
        )

    def _inside(self, x: F64) -> npt.NDArray[np.bool_]:
        x0, y0, x1, y1 = self.bounds
        return (
            np.isfinite(x).all(axis=1)
            & (x[:, 0] > x0)
            & (x[:, 0] < x1)
            & (x[:, 1] > y0)
            & (x[:, 1] < y1)
        )

    def _emit(self) -> None:
        """New rows of particles from every running emitter, at their exact mass rate."""
        new_x, new_v, new_k = [], [], []
        for e, (spec, rng) in enumerate(zip(self.emitters, self._rngs, strict=True)):
            if not spec.start <= self.time - self.dt < spec.stop:
                continue
            mass = self._mass[spec.fluid]
            columns = max(1, round(spec.width / self.spacing))
            row_time = columns * mass / spec.rate
            now = min(self.time, spec.stop) - spec.start
            due = math.floor(now / row_time + 1e-9)
            for row in range(int(self._emitted[e]), due):
                age = now - (row + 1) * row_time  # how long ago this row left the nozzle
                ca, sa = math.cos(spec.direction), math.sin(spec.direction)
                offsets = (np.arange(columns) - (columns - 1) / 2) * self.spacing
                turn = (
                    rng.uniform(-spec.spread, spec.spread, columns)
                    if spec.spread
                    else np.zeros(columns)
                )
                angle = spec.direction + turn
                v = np.column_stack((np.cos(angle), np.sin(angle))) * spec.speed
                base = np.column_stack(
                    (spec.position[0] - offsets * sa, spec.position[1] + offsets * ca)
                )
                new_x.append(base + v * age + 0.5 * self.gravity * age * age)
                new_v.append(v + self.gravity * age)
                new_k.append(np.full(columns, spec.fluid, dtype=np.int16))
            self._emitted[e] = float(max(due, int(self._emitted[e])))
        if new_x:
            self.position = np.concatenate([self.position, *new_x])
            self.velocity = np.concatenate([self.velocity, *new_v])
            self.kind = np.concatenate([self.kind, *new_k])
