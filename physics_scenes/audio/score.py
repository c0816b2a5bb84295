"""The score: what should sound and when, collected from the Frame stream as it goes by.

Audio needs the whole run before it can set the loudness, so the render loop
hands every Frame to a ``Score`` (cheap: events, and for bodies in lasting
contact their sliding and rolling speeds) and the track is made at the end.
Lasting contacts are the pairs between a ``begin`` (or ``foot``) event and the
matching ``separate``.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..frame import CircleGeom, Event, Frame, Layout
from .water import WaterScore

SPLASH_MERGE = 0.05
"""Seconds over which a liquid's splash events make one sound."""
SCRAPE_FLOOR = 0.03
"""Contact speeds below this (m/s) make no scraping or rolling sound."""


class Hit(NamedTuple):
    """One impact or footstep to synthesize (a named tuple: cheap to build, by the
    thousand a second in a pile)."""

    time: float
    """Simulation time, seconds."""
    kind: str
    """'begin' (impact), 'foot' (footstep) or 'splash' (liquid; rows -1, ``impulse`` the
    momentum the liquid lost)."""
    a: int
    """Row of the event's first body: for a footstep, the foot."""
    b: int
    """Row of the other body: for a footstep, the ground."""
    impulse: float
    x: float
    order: int
    """Position in the event stream, for stable ordering and per-hit seeding."""
    step_seconds: float = 0.0
    """Length of the physics step the hit happened in (0 if unknown)."""


@dataclass
class ContactLayer:
    """Per-frame scraping and rolling energy of one material pair, with its mean x.

    Plain C doubles (8 bytes a value, a Python float in a list takes 32): a layer
    grows by a frame every frame, for the whole video.
    """

    slide: array[float] = field(default_factory=lambda: array("d"))
    roll: array[float] = field(default_factory=lambda: array("d"))
    x: array[float] = field(default_factory=lambda: array("d"))


class Score:
    """Collects hits and contact-noise levels from Frames; row-indexed like the Layout."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._rows = {name: i for i, name in enumerate(layout.names)}
        self.hits: list[Hit] = []
        self.frame_times: array[float] = array("d")
        self.layers: dict[tuple[str, str], ContactLayer] = {}
        self._contacts = _Contacts()
        self._groups: dict[tuple[str, str], int] = {}
        """Material pair → its number (in order of first contact)."""
        self._names: list[tuple[str, str]] = []
        self._group_of: dict[tuple[int, int], int] = {}
        self._radius = np.array(
            [
                b.shapes[0].radius
                if b.shapes and isinstance(b.shapes[0], CircleGeom) and b.shapes[0].offset == (0, 0)
                else 0.0
                for b in layout.bodies
            ]
        )
        masses = layout.masses()
        self._mass = np.where(np.isfinite(masses), masses, np.inf)
        self._material = [b.material for b in layout.bodies]
        self._cogs = [(float(x), float(y)) for x, y in (b.center_of_gravity for b in layout.bodies)]
        self.water = WaterScore(layout) if layout.fluids else None
        """The liquid's pour and slosh measures (``audio.water``), in scenes with liquid."""

    def _row(self, name: str) -> int:
        return self._rows.get(name, -1)

    def add(self, frame: Frame) -> None:
        """Take one Frame's events and contact speeds."""
        for event in frame.events:
            self._event(event, frame)
        self.frame_times.append(frame.time)
        self._contact_levels(frame)
        if self.water is not None:
            self.water.add(frame)

    def _event(self, event: Event, frame: Frame) -> None:
        if event.kind == "action":  # a script's action names no bodies
            return
        a, b = self._row(event.a), self._row(event.b)
        normal = event.normal
        # Lasting contacts are keyed by rows in order, so 'separate' finds them whichever
        # way they are named; a footstep's hit keeps the event's order (the foot first).
        hit_a, hit_b = a, b
        if a > b:
            a, b, normal = b, a, (-normal[0], -normal[1])
        if event.kind != "foot":
            hit_a, hit_b = a, b
        if event.kind == "separate":
            self._contacts.remove((a, b))
            return
        if event.kind == "splash":
            self._splash(event)
            return
        if event.kind not in ("begin", "foot"):
            return
        self.hits.append(
            Hit(
                event.time,
                event.kind,
                hit_a,
                hit_b,
                event.impulse,
                event.point[0],
                len(self.hits),
                event.time / event.step if event.step > 0 else 0.0,
            )
        )
        if a >= 0 and b >= 0:
            # Where the bodies touch, in each body's own frame (relative to its centre of
            # gravity): a toppling domino pivots on its corner, which does not scrape.
            local = []
            for row in (a, b):
                angle = float(frame.angle[row])
                dx = event.point[0] - float(frame.position[row, 0])
                dy = event.point[1] - float(frame.position[row, 1])
                c, s = math.cos(angle), math.sin(angle)
                cog_x, cog_y = self._cogs[row]
                local += [c * dx + s * dy - cog_x, -s * dx + c * dy - cog_y]
            self._contacts.put((a, b), (*normal, *local), self._group(a, b))

    def _splash(self, event: Event) -> None:
        """Liquid hitting something: one hit per ``SPLASH_MERGE`` seconds (the fluid reports
        every step; a pour would otherwise be hundreds of voices a second)."""
        last = self.hits[-1] if self.hits else None
        if last is not None and last.kind == "splash" and event.time - last.time < SPLASH_MERGE:
            self.hits[-1] = last._replace(impulse=last.impulse + event.impulse)
            return
        self.hits.append(
            Hit(event.time, "splash", -1, -1, event.impulse, event.point[0], len(self.hits))
        )

    def _group(self, a: int, b: int) -> int:
        """The number of the material pair of rows ``a`` and ``b`` (cached per body pair)."""
        number = self._group_of.get((a, b))
        if number is None:
            low, high = sorted((self._material[a], self._material[b]))
            number = self._groups.get((low, high))
            if number is None:
                number = self._groups[low, high] = len(self._names)
                self._names.append((low, high))
            self._group_of[a, b] = number
        return number

    def _contact_levels(self, frame: Frame) -> None:
        ra, rb, normal, local_a, local_b, group = self._contacts.arrays()
        levels: dict[tuple[str, str], tuple[float, float, float]] = {}
        if len(ra):
            v, w, pos = frame.velocity, frame.angular_velocity, frame.position
            tangent = np.stack([-normal[:, 1], normal[:, 0]], axis=1)
            # surface velocity at the contact: v + ω × r; r = ±radius·n for discs (the
            # touching point moves round a rolling disc), else the body-fixed contact point
            r_a = np.where(
                self._radius[ra, None] > 0,
                self._radius[ra, None] * normal,
                _rotate(local_a, frame.angle[ra]),
            )
            r_b = np.where(
                self._radius[rb, None] > 0,
                -self._radius[rb, None] * normal,
                _rotate(local_b, frame.angle[rb]),
            )
            surf_a = v[ra] + w[ra, None] * np.stack([-r_a[:, 1], r_a[:, 0]], axis=1)
            surf_b = v[rb] + w[rb, None] * np.stack([-r_b[:, 1], r_b[:, 0]], axis=1)
            slip = np.abs(np.einsum("ij,ij->i", surf_a - surf_b, tangent))
            roll = np.abs(np.einsum("ij,ij->i", v[ra] - v[rb], tangent))
            round_ = (self._radius[ra] > 0) | (self._radius[rb] > 0)
            rolling = np.where(round_, np.maximum(roll - slip, 0.0), 0.0)
            load = np.minimum(self._mass[ra], self._mass[rb])
            load = np.where(np.isfinite(load), load, 1.0) ** 0.3
            slide_e = (np.where(slip > SCRAPE_FLOOR, slip, 0.0) ** 1.6) * load**2
            roll_e = (np.where(rolling > SCRAPE_FLOOR, rolling, 0.0) ** 1.6) * load**2 * 0.25
            dyn_a = np.isfinite(self._mass[ra])
            dyn_b = np.isfinite(self._mass[rb])
            x = np.where(
                dyn_a & dyn_b,
                (pos[ra, 0] + pos[rb, 0]) / 2,
                np.where(dyn_a, pos[ra, 0], pos[rb, 0]),
            )
            total = slide_e + roll_e
            for g in np.unique(group[total > 0]).tolist():
                mask = group == g
                e = float(total[mask].sum())
                levels[self._names[g]] = (
                    float(slide_e[mask].sum()),
                    float(roll_e[mask].sum()),
                    float((x[mask] * total[mask]).sum() / e),
                )
        count = len(self.frame_times) - 1
        for key in levels.keys() | self.layers.keys():
            layer = self.layers.get(key)
            if layer is None:
                zeros = bytes(8 * count)
                layer = self.layers[key] = ContactLayer(
                    array("d", zeros), array("d", zeros), array("d", zeros)
                )
            slide, roll, x = levels.get(key, (0.0, 0.0, layer.x[-1] if layer.x else 0.0))
            layer.slide.append(slide)
            layer.roll.append(roll)
            layer.x.append(x)


def _rotate(points: np.ndarray, angles: np.ndarray) -> np.ndarray:
    c, s = np.cos(angles), np.sin(angles)
    return np.stack([c * points[:, 0] - s * points[:, 1], s * points[:, 0] + c * points[:, 1]], 1)


class _Contacts:
    """The lasting contacts, (row a, row b) → (normal x, y, contact point in a's frame x,
    y, in b's frame x, y) and material pair, kept as arrays in the order the contacts
    began (a contact that begins again keeps its place, one that ends leaves a gap,
    closed when gaps are half the rows): a busy scene begins and ends contacts on most
    frames, and rebuilding the arrays each time cost as much as the sound's physics.
    """

    def __init__(self) -> None:
        self._slot: dict[tuple[int, int], int] = {}
        self._rows = np.zeros((0, 2), dtype=np.intp)
        self._data = np.zeros((0, 6))
        self._group = np.zeros(0, dtype=np.intp)
        self._alive = np.zeros(0, dtype=bool)
        self._used = 0
        self._cache: tuple[np.ndarray, ...] | None = None

    def put(self, key: tuple[int, int], values: tuple[float, ...], group: int) -> None:
        slot = self._slot.get(key)
        if slot is None:
            if self._used == len(self._alive):
                self._grow()
            slot = self._slot[key] = self._used
            self._used += 1
            self._rows[slot] = key
            self._group[slot] = group
            self._alive[slot] = True
        self._data[slot] = values
        self._cache = None

    def remove(self, key: tuple[int, int]) -> None:
        slot = self._slot.pop(key, None)
        if slot is not None:
            self._alive[slot] = False
            self._cache = None

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(rows a, rows b, normals, points in a's frame, in b's frame, material pairs) of
        the contacts, in order."""
        if self._cache is None:
            if 2 * len(self._slot) < self._used:
                self._compact()
            live = np.flatnonzero(self._alive[: self._used])
            rows, data = self._rows[live], self._data[live]
            self._cache = (
                rows[:, 0], rows[:, 1], data[:, 0:2], data[:, 2:4], data[:, 4:6], self._group[live]
            )  # fmt: skip
        return self._cache

    def _grow(self) -> None:
        size = max(64, 2 * len(self._alive))
        self._rows = np.resize(self._rows, (size, 2))
        self._data = np.resize(self._data, (size, 6))
        self._group = np.resize(self._group, size)
        alive = np.zeros(size, dtype=bool)
        alive[: self._used] = self._alive[: self._used]
        self._alive = alive

    def _compact(self) -> None:
        live = np.flatnonzero(self._alive[: self._used])
        count = len(live)
        self._rows[:count] = self._rows[live]
        self._data[:count] = self._data[live]
        self._group[:count] = self._group[live]
        self._alive[:count] = True
        self._alive[count:] = False
        self._slot = {(int(a), int(b)): i for i, (a, b) in enumerate(self._rows[:count].tolist())}
        self._used = count
