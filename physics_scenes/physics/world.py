"""Scene → pymunk Space with name → body handles, and a step that records events.

With ``arbiters.py``, ``constraints.py`` and the preview's ``hand.py``, the only place
that imports pymunk (the ``physics/`` package). Bodies are
added in a fixed order (walls, then file order) because pymunk's results
depend on it. Collision events follow Box2D's discipline: Chipmunk's begin and
separate callbacks only note which body pair changed (a dictionary lookup and an
append), and events are made from those notes after each step, so a step costs what
changed in it, not how many contacts there are.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from itertools import repeat
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pymunk
import pymunk.batch as batch

from ..frame import (
    NO_BODY,
    BodyInfo,
    CircleGeom,
    Event,
    FloatArray,
    FluidInfo,
    Geom,
    JointInfo,
    Layout,
    PolyGeom,
    SegmentGeom,
)
from ..scene import model
from ..scene.assemble import assemble
from ..scene.assembly import BodySpec, JointSpec, WalkerSpec
from ..scene.script import added_joints, matches, spawned
from .arbiters import BodyReader, BodyRows, Stepper, first_contacts
from .constraints import build_constraint, relative_rate_to_pymunk
from .contacts import HOLD_TIME, ContactHold, member
from .fluid import Collider, Fluid
from .gait import GaitController, PartState
from .script import Director

_BODY_TYPES = MappingProxyType(
    {
        "dynamic": pymunk.Body.DYNAMIC,
        "kinematic": pymunk.Body.KINEMATIC,
        "static": pymunk.Body.STATIC,
    }
)
_BODY_FIELDS = (
    batch.BodyFields.BODY_ID
    | batch.BodyFields.POSITION
    | batch.BodyFields.ANGLE
    | batch.BodyFields.VELOCITY
    | batch.BodyFields.ANGULAR_VELOCITY
)
_BULK_FIELDS = (
    batch.ArbiterFields.BODY_A_ID
    | batch.ArbiterFields.BODY_B_ID
    | batch.ArbiterFields.IS_FIRST_CONTACT
    | batch.ArbiterFields.CONTACT_COUNT
    | batch.ArbiterFields.TOTAL_IMPULSE
    | batch.ArbiterFields.NORMAL
    | batch.ArbiterFields.POINT_A_1
)
BULK_ABOVE = 100.0
"""Changes of contact a step (moving average) above which contacts are read in bulk: a
callback costs ≈ 2.5 µs, reading ~3000 arbiters in bulk ≈ 0.3 ms (1000 balls)."""
CALLBACKS_BELOW = 50.0
"""... and below which the callbacks take over again."""
_ARBITER_FIELDS = (
    batch.ArbiterFields.BODY_A_ID
    | batch.ArbiterFields.BODY_B_ID
    | batch.ArbiterFields.CONTACT_COUNT
)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


_NO_POINTS = _frozen(np.zeros((0, 2), dtype=np.float64))
_NO_KINDS = _frozen(np.zeros(0, dtype=np.int16))
_NO_FLUID = (_NO_POINTS, _NO_POINTS, _NO_KINDS)
"""A state's liquid where there is none: read-only, one for every state (no arrays to
make for each frame of a scene without water)."""


class BodyState(NamedTuple):
    """All bodies' state, row-aligned with the Layout (fresh arrays), and the liquid's
    particles (arrays the fluid never changes in place). A named tuple, immutable, made
    once a frame: a third of a frozen dataclass's cost."""

    position: FloatArray
    angle: FloatArray
    velocity: FloatArray
    angular_velocity: FloatArray
    fluid_position: FloatArray = _NO_POINTS
    fluid_velocity: FloatArray = _NO_POINTS
    fluid_kind: np.ndarray = _NO_KINDS


def _make_shape(body: pymunk.Body, geom: Geom) -> pymunk.Shape:
    if isinstance(geom, CircleGeom):
        return pymunk.Circle(body, geom.radius, geom.offset)
    if isinstance(geom, PolyGeom):
        return pymunk.Poly(body, list(geom.vertices))
    if isinstance(geom, SegmentGeom):
        return pymunk.Segment(body, geom.a, geom.b, geom.radius)
    raise TypeError(f"unknown geometry {geom!r}")


def _build_body(spec: BodySpec) -> tuple[pymunk.Body, list[pymunk.Shape]]:
    body = pymunk.Body(body_type=_BODY_TYPES[spec.body_type])
    body.position = spec.position
    body.angle = spec.angle
    shapes = [_make_shape(body, geom) for geom in spec.shapes]
    area = sum(shape.area for shape in shapes)
    for shape in shapes:
        if spec.group:
            shape.filter = pymunk.ShapeFilter(group=spec.group)
        shape.friction = spec.material.friction
        shape.elasticity = spec.material.elasticity
        if spec.body_type != "static":  # kinematic too: a script may release it
            # A mass override scales density so mass, moment and centre of
            # gravity all still come from the shapes.
            shape.density = spec.mass / area if spec.mass else spec.material.density
    return body, shapes


T = TypeVar("T")
Velocities = dict[int, tuple[float, float]] | FloatArray | None
"""Velocities before a step by row (of the bodies of parted pairs), or None."""
Firsts = tuple[
    list[int], list[int], list[float], list[tuple[float, float]], list[tuple[float, float]]
]
"""A step's begin events: rows a and b (a the lower), impulses, points, normals."""
FEW_FIRSTS = 12
"""Up to this many first contacts in a step, events are made in plain Python (≈ 3 µs a
contact), more with numpy (≈ 40 µs, and less a contact)."""
PARTED_ONE_BY_ONE = 24
"""Up to this many parted pairs, their bodies' velocities are read one by one before a step
(≈ 0.3 µs a body); more, all bodies at once (≈ 0.1 ms for 1000)."""


class World:
    """A running simulation of one scene.

    ``bodies`` maps every name to its pymunk body for callers that need a
    handle (``hand.Hand``, the preview's mouse joint); everything downstream
    should read ``Layout`` and ``read_state()`` instead.
    """

    def __init__(self, scene: model.Scene) -> None:
        self.scene = scene
        self.space = pymunk.Space()
        self.space.gravity = scene.world.gravity
        self.space.damping = scene.world.damping
        self.space.iterations = scene.world.iterations
        self.space.collision_slop = scene.world.collision_slop
        self.dt = scene.timing.dt
        self.step_index = 0
        assembly = assemble(model.with_spawns(scene))
        specs = assembly.bodies
        spawns = {b.name for b in spawned(scene.script)}
        self.bodies: dict[str, pymunk.Body] = {}
        self._absent: set[str] = set()
        """Bodies built but not in the space: spawned later, or removed."""
        for spec in specs:
            body, shapes = _build_body(spec)
            if spec.name.split("/")[0] in spawns:
                self._absent.add(spec.name)
            else:
                self.space.add(body, *shapes)
            if spec.body_type != "static":
                body.velocity = spec.velocity
                body.angular_velocity = spec.angular_velocity
            self.bodies[spec.name] = body
        self.joints: dict[str, pymunk.Constraint] = {}
        self._held = set(added_joints(scene.script))
        """Joints a script adds, out of the world until then."""
        self._joint_specs = {joint.name: joint for joint in assembly.joints}
        for joint in assembly.joints:
            other = self.space.static_body if joint.b is None else self.bodies[joint.b]
            self.joints[joint.name] = build_constraint(joint, self.bodies[joint.a], other, self.dt)
            if not {joint.a, joint.b} & self._absent and joint.name not in self._held:
                self.space.add(self.joints[joint.name])
        self._walkers = [
            (
                walker,
                GaitController(
                    walker.height, walker.speed, walker.direction, walker.fall_angle, walker.active
                ),
            )
            for walker in assembly.walkers
        ]
        self._names = [spec.name for spec in specs]
        rows = self._rows_by_name = {name: row for row, name in enumerate(self._names)}
        # A walker's foot landing on anything but the walker itself is a "foot" event.
        self._foot_owner = {
            rows[walker.parts[foot]]: {rows[name] for name in walker.parts.values()}
            for walker in assembly.walkers
            for foot in ("foot_left", "foot_right")
        }
        self._index_ids()
        self._contacts = ContactHold(max(1, math.ceil(HOLD_TIME / self.dt - 1e-9)))
        self._inverse_mass = np.zeros(0)
        self._dynamic: list[bool] = []
        """Per row: a dynamic body (finite mass). Chipmunk solves, and gives contact points
        to, only the shape pairs with a dynamic body; the callbacks count no other pair."""
        self.refresh_masses()
        self._resync = False
        """Read the next step in bulk (a body changed type: see ``_pace``)."""
        self._arbiter_buffer = batch.Buffer()
        self._events: list[Event] = []
        self._touching: dict[int, int] = {}
        """Body pair key (``low_row * bodies + high_row``) → its shape pairs in contact now
        (Chipmunk's arbiters with contact points), kept by the callbacks."""
        self._changes: list[tuple[int, int]] = []
        """This step's (pair key, +1 begin / -1 separate) from the callbacks."""
        self._begun: list[pymunk.Arbiter] = []
        """This step's first contacts, as begin callbacks gave them (read after the step)."""
        self._begun_rows: list[tuple[int, int]] = []
        """... and the rows of their bodies a and b."""
        self._before: dict[int, tuple[float, float]] | None = None
        """While pairs have parted (``ContactHold.parted``) and the callbacks are on: the
        velocities before this step of the bodies of parted pairs that touch again, noted by
        ``_on_begin`` (see ``step``)."""
        self.space.on_collision(begin=self._on_begin, separate=self._on_separate)
        self._bulk: np.ndarray | None = None
        """While contacts are read in bulk (``_pace``): the touching pairs after the last step."""
        self._density = 0.0
        """Changes of contact a step, a moving average (``_pace``)."""
        self.fluid: Fluid | None = None
        fluids: tuple[FluidInfo, ...] = ()
        if assembly.fluid is not None:
            setup = assembly.fluid
            (ox, oy), (w, h) = scene.world.origin, scene.world.size
            self.fluid = Fluid(
                setup.kinds,
                setup.spacing,
                np.array(setup.position),
                np.array(setup.velocity),
                np.array(setup.kind),
                setup.emitters,
                scene.world.gravity,
                self.dt,
                (ox - 2 * w, oy - h, ox + 3 * w, oy + 20 * h),
                scene.seed,
            )
            fluids = tuple(
                FluidInfo(k.name, k.density, k.density * setup.spacing**2, k.color)
                for k in setup.kinds
            )
            self._shapes = [
                (geom, spec.body_type, row)
                for row, spec in enumerate(specs)
                for geom in spec.shapes
            ]
            self._static_colliders = [
                _collider(geom, self.bodies[specs[row].name], -1)
                for geom, kind, row in self._shapes
                if kind == "static"
            ]
        self._broken: set[str] = set()
        self.motor_force = {name: joint.max_force for name, joint in self.joints.items()}
        """Each joint's torque limit as built: a script's ``motor: {on: true}`` restores it."""
        self.end_step: int | None = None
        """The step of a script's ``end`` action: the clip stops at the frame that shows it."""
        self._order = np.zeros(len(self._names), dtype=np.intp)
        self.layout = Layout(
            bodies=tuple(_body_info(spec, self.bodies[spec.name]) for spec in specs),
            region_origin=scene.world.origin,
            region_size=scene.world.size,
            background=scene.world.background,
            gravity=scene.world.gravity,
            joints=tuple(_joint_info(joint, rows) for joint in assembly.joints),
            fluids=fluids,
            fluid_spacing=assembly.fluid.spacing if assembly.fluid is not None else 0.0,
        )
        self._director = Director(self, scene.script) if scene.script else None
        if self._director is not None:
            self._director.after_step(())

    @property
    def time(self) -> float:
        return self.step_index * self.dt

    def _index_ids(self) -> None:
        """Body ids and pointers (pymunk's, which change when a world is copied) → rows,
        for batch reads and the callbacks."""
        ids = np.array([body.id for body in self.bodies.values()], dtype=np.uint64)
        self._id_order = np.argsort(ids)
        self._sorted_ids = ids[self._id_order]
        self._gather: tuple[bytes, tuple[np.ndarray, ...]] | None = None
        """``read_state``'s cache: the batch API's list of body ids (bytes) and, for that
        order, where each row's position, angle, velocity and spin are in its floats."""
        self._hash_ids(ids)
        self._body_list = list(self.bodies.values())
        self._body_rows = BodyRows(self._body_list)
        self._step_space = Stepper(self.space)
        self._read_bodies = BodyReader(self.space, _BODY_FIELDS)

    def _on_begin(self, arbiter: pymunk.Arbiter, space: pymunk.Space, data: Any) -> None:
        """Chipmunk's begin: a shape pair's first step of contact. Noted, nothing more.

        Chipmunk calls it for every pair of overlapping shapes, also for pairs it will
        not solve (a kinematic body crossing a static one: no dynamic body), whose
        arbiter it then leaves with no contact points; those are not contacts here (as
        in the bulk read, which lists solved arbiters only) and are never read."""
        a, b = self._body_rows.of(arbiter)
        if a >= 0 and b >= 0 and (self._dynamic[a] or self._dynamic[b]):
            self._begun.append(arbiter)  # alive until the next step (arbiters.py)
            self._begun_rows.append((a, b))
            before = self._before
            if before is not None:
                count = len(self._names)
                if (a * count + b if a < b else b * count + a) in self._contacts.parted:
                    for row in (a, b):
                        v = self._body_list[row].velocity
                        before[row] = (v.x, v.y)

    def _on_separate(self, arbiter: pymunk.Arbiter, space: pymunk.Space, data: Any) -> None:
        """Chipmunk's separate: a shape pair no longer touches (or a shape left the space).
        Counted only for the pairs ``_on_begin`` counts (while no body changes type)."""
        a, b = self._body_rows.of(arbiter)
        if a >= 0 and b >= 0 and (self._dynamic[a] or self._dynamic[b]):
            count = len(self._names)
            self._changes.append((a * count + b if a < b else b * count + a, -1))

    def touching_in_bulk(self) -> dict[int, int]:
        """The touching pairs (as ``_touching`` keeps them from the callbacks) read from
        Chipmunk's whole arbiter list instead: a check, a pass over every contact."""
        buffer = self._arbiter_buffer
        buffer.clear()
        batch.get_space_arbiters(self.space, _ARBITER_FIELDS, buffer)
        ints = np.frombuffer(buffer.int_buf(), dtype=np.uint64).reshape(-1, 3)
        rows, ours = self._lookup(ints[:, 0:2])
        keep = (ints[:, 2] > 0) & np.all(ours, axis=1)
        keys = rows[keep].min(axis=1) * len(self._names) + rows[keep].max(axis=1)
        counted: dict[int, int] = {}
        for key in keys.tolist():
            counted[key] = counted.get(key, 0) + 1
        return counted

    def _row_of(self, ids: np.ndarray) -> np.ndarray:
        """Body ids (as the batch API reports them; any shape) → Layout rows, -1 if not ours.

        pymunk's ids are memory addresses, too spread for a dense table: a multiplicative
        hash into 8 slots per body finds most of them with one gather, and the binary
        search (``_lookup``) settles the rest (ids that share a slot, ids not ours)."""
        factor, shift, table_ids, table_rows = self._id_hash
        slot = (ids * factor) >> shift
        rows: np.ndarray = table_rows[slot]
        missed = table_ids[slot] != ids
        if missed.any():
            found, ours = self._lookup(ids[missed])
            rows[missed] = np.where(ours, found, -1)
        return rows

    def _hash_ids(self, ids: np.ndarray, bits: int | None = None) -> None:
        """Build ``_row_of``'s table: 2**bits slots (default: 8 or more per body)."""
        bits = max(4, (8 * len(ids) - 1).bit_length()) if bits is None else bits
        factor, shift = np.uint64(0x9E3779B97F4A7C15), np.uint64(64 - bits)
        table_ids = np.zeros(1 << bits, dtype=np.uint64)
        table_rows = np.full(1 << bits, -1, dtype=np.int64)
        slot = (ids * factor) >> shift
        # the first id in each slot keeps it (reversed: numpy keeps the last write)
        table_ids[slot[::-1]] = ids[::-1]
        table_rows[slot[::-1]] = np.arange(len(ids), dtype=np.int64)[::-1]
        table_rows[table_ids == 0] = -1  # an empty slot never matches a real id (never 0)
        self._id_hash = (factor, shift, table_ids, table_rows)

    def _lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Body ids (as the batch API reports them) → (Layout rows, mask of ids that are ours).

        Rows of ids that are not ours are meaningless: filter them with the mask."""
        at = np.minimum(np.searchsorted(self._sorted_ids, ids), len(self._sorted_ids) - 1)
        return self._id_order[at], self._sorted_ids[at] == ids

    @property
    def gaits(self) -> dict[str, GaitController]:
        """Each walker's controller by name (read-only use: phase, fallen)."""
        return {walker.name: gait for walker, gait in self._walkers}

    def _drive_walkers(self) -> None:
        for walker, gait in self._walkers:
            parts = {}
            for role, name in walker.parts.items():
                body = self.bodies[name]
                parts[role] = PartState(
                    body.angle,
                    body.angular_velocity,
                    (body.position.x, body.position.y),
                    (body.velocity.x, body.velocity.y),
                    body.mass,
                )
            for role, command in gait.update(self.dt, parts, self._feet_down(walker)).items():
                motor = self.joints[walker.motors[role]]
                motor.rate = relative_rate_to_pymunk(command.rate)
                motor.max_force = command.max_torque

    def _feet_down(self, walker: WalkerSpec) -> frozenset[str]:
        """The walker's feet touching something other than the walker (after the last step)."""
        count = len(self._names)
        touching = np.array(sorted(self._touching)) if self._bulk is None else self._bulk
        low, high = np.divmod(touching.astype(np.int64), count)
        down = set()
        for role in ("foot_left", "foot_right"):
            row = self._rows_by_name[walker.parts[role]]
            mine = self._foot_owner[row]
            others = np.concatenate((high[low == row], low[high == row]))
            if any(int(other) not in mine for other in others):
                down.add(role)
        return frozenset(down)

    def step(self) -> None:
        """Advance one fixed step and record the contacts it began and ended."""
        if self._walkers:
            self._drive_walkers()
        if self._director is not None:
            self._director.apply_forces()  # forces: no velocity changes before the solver
        if self._begun:  # left by a step that did not finish: never read an older step's
            self._begun, self._begun_rows, self._resync = [], [], True
        if self._resync:
            self._resync = False
            if self._bulk is None:
                self._read_in_bulk()
        # bodies that parted a moment ago may touch again: how fast they approach decides
        # whether that is the same contact or a new hit (contacts.ContactHold). With the
        # callbacks on, _on_begin reads the velocities of only the parted pairs that touch
        # again: Chipmunk calls begin while it finds contacts, after moving the bodies and
        # before changing any velocity (cpSpaceStep), so they are the same doubles as read
        # before the step; the bulk read has no callbacks and reads them all before.
        before: Velocities = None
        if self._contacts.parted:
            if self._bulk is None:
                before = self._before = {}
            else:
                before = self._parted_velocities()
        elif self._before is not None:
            self._before = None
        self._step_space(self.dt)
        self.step_index += 1
        known = len(self._events)
        self._collect_events(before)
        if self.fluid is not None:
            self._step_fluid(self.fluid)
        if self._director is not None:
            self._director.after_step(self._events[known:])

    def advance(self, steps: int) -> None:
        """``step()`` ``steps`` times; the quiet steps of a world with no walker, script or
        liquid (contacts read from the callbacks, no pair parted, nothing begun or ended
        in the last step) in a tight loop that does what ``step`` does for them. Most
        steps of a few balls are quiet: 1.9 -> 1.5 µs a step."""
        if self._walkers or self._director is not None or self.fluid is not None:
            for _ in range(steps):
                self.step()
            return
        step_space, dt = self._step_space, self.dt
        for _ in range(steps):
            if self._begun or self._resync or self._bulk is not None or self._contacts.parted:
                self.step()
                continue
            self._before = None
            step_space(dt)
            self.step_index += 1
            if self._changes or self._begun:
                self._collect_events(None)
            else:  # as _collect_events: nothing began or ended, none parted (_pace(0))
                self._density = density = 0.9 * self._density + 0.1 * 0
                if density > BULK_ABOVE:
                    self._read_in_bulk()

    def _step_fluid(self, fluid: Fluid) -> None:
        """The liquid's step against the bodies where this rigid step left them; its
        impulses change the bodies' velocities for the next rigid step."""
        colliders = list(self._static_colliders)
        for geom, kind, row in self._shapes:
            if kind != "static":
                body = self.bodies[self._names[row]]
                colliders.append(_collider(geom, body, row if kind == "dynamic" else -1))
        for push in fluid.step(colliders):
            body = self.bodies[self._names[push.body]]
            body.velocity += pymunk.Vec2d(*push.impulse) / body.mass
            body.angular_velocity += push.angular / body.moment
        names = self.layout.fluids
        for splash in fluid.splashes:
            name = names[splash.kind].name if splash.kind < len(names) else "fluid"
            self._events.append(
                Event(
                    self.time,
                    self.step_index,
                    "splash",
                    name,
                    "",
                    splash.mass * splash.speed,
                    splash.point,
                    (splash.mass, splash.speed),
                )
            )
        fluid.splashes.clear()

    def _parted_velocities(self) -> dict[int, tuple[float, float]] | FloatArray:
        """Before a step, the velocities of the bodies of pairs that have parted but are
        still held (a touch again needs how fast they approach): a few bodies one by one,
        many (a pile being built: hundreds) all at once with the batch API. Either way
        ``velocities[row]`` is that body's (vx, vy), the same doubles."""
        parted = self._contacts.parted
        if len(parted) > PARTED_ONE_BY_ONE:
            return self.read_state().velocity
        count, bodies = len(self._names), self.bodies
        rows = {row for key in parted for row in divmod(key, count)}
        velocities = {}
        for row in rows:
            v = bodies[self._names[row]].velocity
            velocities[row] = (v.x, v.y)
        return velocities

    def _changes_from_callbacks(
        self,
    ) -> tuple[list[int], list[int], list[tuple[int, int]], list[tuple[float, ...]]]:
        """This step's changes from the callbacks' notes: (pairs that began touching, that
        stopped, first contacts' rows a and b, their impulse, normal and point)."""
        count = len(self._names)
        begun = self._begun_rows
        values: list[tuple[float, ...]] = []
        if begun:
            # the first contacts' impulse, normal and point, read after the solver ran,
            # where Chipmunk made contact points (arbiters.first_contacts)
            solved, values = first_contacts(self._begun)
            if len(solved) < len(begun):  # not expected (see _on_begin): recount in bulk
                self._resync, begun = True, [begun[k] for k in solved]
        changes = [(a * count + b if a < b else b * count + a, 1) for a, b in begun]
        changes += self._changes  # separations after the beginnings: a count never dips
        self._changes, self._begun, self._begun_rows = [], [], []
        touching: dict[int, int] = self._touching
        was: dict[int, int] = {}
        for key, change in changes:
            n = touching.get(key, 0)
            was.setdefault(key, n)
            if n + change > 0:
                touching[key] = n + change
            else:
                touching.pop(key, None)
        started = [key for key, n in was.items() if n <= 0 and key in touching]
        stopped = [key for key, n in was.items() if n > 0 and key not in touching]
        return started, stopped, begun, values

    def _changes_in_bulk(self) -> tuple[list[int], list[int], Any, Any, FloatArray]:
        """The same as ``_changes_from_callbacks``, from Chipmunk's whole arbiter list."""
        buffer = self._arbiter_buffer
        buffer.clear()
        batch.get_space_arbiters(self.space, _BULK_FIELDS, buffer)
        ints = np.frombuffer(buffer.int_buf(), dtype=np.uint64).reshape(-1, 4)
        rows = self._row_of(ints[:, 0:2])
        touching = ints[:, 3] > 0
        if rows.min(initial=0) < 0:  # shapes on the space's static body are none of ours
            touching &= np.all(rows >= 0, axis=1)
        pairs = rows.min(axis=1) * len(self._names) + rows.max(axis=1)
        now, before = np.sort(pairs[touching]), self._bulk
        if len(now) > 1:
            now = now[np.concatenate(([True], now[1:] != now[:-1]))]
        assert before is not None
        started = now[~member(now, before)].tolist()
        stopped = before[~member(before, now)].tolist()
        self._bulk = now
        first = np.flatnonzero(touching & (ints[:, 2] == 1))
        floats = np.frombuffer(buffer.float_buf(), dtype=np.float64).reshape(-1, 6)[first]
        return started, stopped, rows[first, 0], rows[first, 1], floats

    def _pace(self, changes: int) -> None:
        """Choose how the next steps read contacts: from the callbacks while changes are
        few (each costs a callback), from the whole list in bulk while they are dense
        (hundreds of bodies landing: the callbacks' cost passes the bulk read's). Decided
        from event counts alone, so the same run decides the same way in any process."""
        self._density = 0.9 * self._density + 0.1 * changes
        if self._bulk is None and self._density > BULK_ABOVE:
            self._read_in_bulk()
        elif self._bulk is not None and self._density < CALLBACKS_BELOW:
            self._bulk = None
            self._touching = self.touching_in_bulk()
            self.space.on_collision(begin=self._on_begin, separate=self._on_separate)

    def _read_in_bulk(self) -> None:
        """From the next step on, read contacts from Chipmunk's whole list. Also for one
        step after a body changed type: a pair touching across the change is solved from
        then on (or no longer) with no begin or separate callback, which the bulk read
        sees; its recount, when the callbacks return, starts them from Chipmunk's list.
        Separations noted since the last step are in that step's comparison."""
        self._bulk = np.array(sorted(self._touching), dtype=np.int64)
        self._changes = []
        self.space.on_collision(begin=pymunk.empty_callback, separate=pymunk.empty_callback)

    def _collect_events(self, before: Velocities) -> None:
        """Turn this step's changes of contact (from the callbacks) into Events.

        ``begin``: a shape pair's first step of contact (each new contact counts,
        e.g. a ball reaching a second side of the walls). ``separate``: two bodies
        that have touched nowhere for ``HOLD_TIME``, reported on the step that decides
        it. ``contacts.ContactHold`` keeps resting bodies that part or graze by a
        hair, as in a settled pile, from flickering; every real hit is still a begin.
        The work is per change: a step in which nothing began or ended costs a check.
        """
        in_bulk = self._bulk is not None  # (_pace may switch for the next step)
        if not in_bulk:
            dense = len(self._changes) + len(self._begun)
            if not dense:
                contacts = self._contacts
                if not contacts.parted or self.step_index < contacts.due:
                    self._pace(0)  # nothing began or ended, no hold runs out: no events
                    return
            started, stopped, rows, values = self._changes_from_callbacks()
            firsts = len(rows)
        else:
            started, stopped, rows_a, rows_b, floats = self._changes_in_bulk()
            firsts = len(rows_a)
            dense = len(started) + len(stopped) + firsts
        self._pace(dense)
        time, step = self.time, self.step_index
        count, names = len(self._names), self._names
        if not firsts:  # contacts only ended (or a hold ran out): no numbers to read
            _, ended = self._contacts.update(started, stopped, [], [], [], step)
        elif firsts <= FEW_FIRSTS:
            if in_bulk:
                rows = list(zip(rows_a.tolist(), rows_b.tolist(), strict=True))
                values = floats.tolist()
            found, ended = self._few_firsts(started, stopped, rows, values, before)
        else:
            if not in_bulk:
                rows_a = np.array([a for a, _ in rows], dtype=np.int64)
                rows_b = np.array([b for _, b in rows], dtype=np.int64)
                floats = np.array(values, dtype=np.float64).reshape(-1, 6)
            found, ended = self._many_firsts(started, stopped, rows_a, rows_b, floats, before)
        if firsts:
            a_rows, b_rows, impulses, points, directions = found
            kinds = ["begin"] * len(a_rows)
            if self._foot_owner:
                self._mark_feet(a_rows, b_rows, kinds, directions)
            self._events.extend(map(Event._make, zip(
                repeat(time), repeat(step), kinds, [names[r] for r in a_rows],
                [names[r] for r in b_rows], impulses, points, directions, strict=False,
            )))  # fmt: skip
        for key in ended:
            a, b = divmod(key, count)
            self._events.append(Event(time, step, "separate", names[a], names[b]))

    def _few_firsts(
        self,
        started: list[int],
        stopped: list[int],
        rows: list[tuple[int, int]],
        values: Sequence[Sequence[float]],
        before: Velocities,
    ) -> tuple[Firsts, list[int]]:
        """``_many_firsts`` in plain Python, for the few first contacts of most steps
        (numpy's calls cost more than its loops save below ``FEW_FIRSTS``): the same
        doubles from the same operations (``np.hypot`` for the speed, ``math.hypot`` for
        the impulse), sorted the same way (stable sorts on the same keys)."""
        count, inverse = len(self._names), self._inverse_list
        parted = self._contacts.parted if before is not None else {}
        pairs, speed, approach = [], [], []
        for (a, b), (ix, iy, nx, ny, _, _) in zip(rows, values, strict=True):
            low, high = (a, b) if a < b else (b, a)
            pair = low * count + high
            pairs.append(pair)
            speed.append(float(np.hypot(ix, iy)) * (inverse[low] + inverse[high]))
            closing = 0.0
            if pair in parted:  # low's velocity relative to high, along the normal a → b
                assert before is not None
                (lx, ly), (hx, hy) = before[low], before[high]
                sign = -1.0 if a > b else 1.0
                closing = (lx - hx) * nx * sign + (ly - hy) * ny * sign
            approach.append(closing)
        begins, ended = self._contacts.update(
            started, stopped, pairs, speed, approach, step=self.step_index
        )
        first = [k for k, begin in enumerate(begins) if begin]
        first.sort(key=lambda k: (pairs[k], values[k][4], values[k][5]))  # see _many_firsts
        a_rows, b_rows, impulses, points, directions = [], [], [], [], []
        for k in first:
            a, b = rows[k]
            ix, iy, nx, ny, px, py = values[k]
            flip = -1.0 if a > b else 1.0
            a_rows.append(b if a > b else a)
            b_rows.append(a if a > b else b)
            impulses.append(math.hypot(ix, iy))
            points.append((px, py))
            directions.append((nx * flip, ny * flip))
        return (a_rows, b_rows, impulses, points, directions), ended

    def _many_firsts(
        self,
        started: list[int],
        stopped: list[int],
        rows_a: np.ndarray,
        rows_b: np.ndarray,
        floats: FloatArray,
        before: Velocities,
    ) -> tuple[Firsts, list[int]]:
        """The step's first contacts (rows a and b, impulse, normal, point: 6 floats each)
        → the ContactHold's verdict: the begin events' (rows a and b, impulses, points,
        normals), a being the lower row, and the pairs whose contact ended."""
        count = len(self._names)
        low, high = np.minimum(rows_a, rows_b), np.maximum(rows_a, rows_b)
        mobility = self._inverse_mass[low] + self._inverse_mass[high]
        speed = np.hypot(floats[:, 0], floats[:, 1]) * mobility
        pairs = (low * count + high).tolist()
        approach = [0.0] * len(pairs)
        if before is not None:
            parted = self._contacts.parted
            for k, pair in enumerate(pairs):
                if pair in parted:  # low's velocity relative to high, along the normal a → b
                    (lx, ly), (hx, hy) = before[int(low[k])], before[int(high[k])]
                    sign = -1.0 if rows_a[k] > rows_b[k] else 1.0
                    approach[k] = (lx - hx) * floats[k, 2] * sign + (ly - hy) * floats[k, 3] * sign
        begins, ended = self._contacts.update(
            started, stopped, pairs, speed.tolist(), approach, self.step_index
        )
        first = np.flatnonzero(np.array(begins, dtype=np.bool_))
        # by body rows, then by contact point: one body pair can begin on two shapes in a
        # step (a ball in a corner of the walls), and Chipmunk calls back in an order
        # that depends on memory addresses, which differ from process to process
        first = first[np.lexsort((floats[first, 5], floats[first, 4], high[first], low[first]))]
        flip = np.where(rows_a[first] > rows_b[first], -1.0, 1.0)  # normals point from a to b,
        normals = floats[first, 2:4] * flip[:, None]  # a being the lower row
        a_rows, b_rows = low[first].tolist(), high[first].tolist()
        # math.hypot, not np.hypot: the same floats as before, to the last bit
        impulses = list(map(math.hypot, floats[first, 0].tolist(), floats[first, 1].tolist()))
        points = list(map(tuple, floats[first, 4:6].tolist()))
        directions = list(map(tuple, normals.tolist()))
        return (a_rows, b_rows, impulses, points, directions), ended

    def _mark_feet(
        self,
        a_rows: list[int],
        b_rows: list[int],
        kinds: list[str],
        directions: list[tuple[float, float]],
    ) -> None:
        """A walker's foot landing on anything but its own walker: a ``foot`` event with the
        foot as ``a`` (rows swapped and the normal turned when the foot was ``b``)."""
        feet = self._foot_owner
        for k, (a, b) in enumerate(zip(a_rows, b_rows, strict=True)):
            if a in feet and b not in feet[a]:
                kinds[k] = "foot"
            elif b in feet and a not in feet[b]:
                kinds[k] = "foot"
                a_rows[k], b_rows[k] = b, a
                nx, ny = directions[k]
                directions[k] = (-nx, -ny)

    def fork(self) -> World:
        """An independent copy of this world, to run a different future from here.

        Objects holding pymunk handles into this world (the preview's ``Hand``) must be
        copied along with it: use ``fork_with`` (``Hand.fork`` does).

        Deterministic, but not bit-identical to carrying on: pymunk's copy drops its
        contact cache (measured: a 1000-ball pile 200 steps on differs by up to 1.4 m).
        So copies are used for forked timelines only, never to replay the original.
        """
        return self.fork_with(None)[0]

    def fork_with(self, along: T) -> tuple[World, T]:
        """``fork()``, also copying ``along`` (objects that hold pymunk handles into this
        world, such as a hand's joint) so that the copy's handles point into the copy."""
        # C buffers and pointers do not copy: the twin makes its own
        held = (self._read_bodies, self._arbiter_buffer, self._body_rows, self._step_space)
        self._read_bodies = self._arbiter_buffer = self._body_rows = self._step_space = None  # type: ignore[assignment]
        try:
            twin, twin_along = copy.deepcopy((self, along))
        finally:
            self._read_bodies, self._arbiter_buffer, self._body_rows, self._step_space = held
        twin._arbiter_buffer = batch.Buffer()
        twin._index_ids()  # pymunk's copy keeps the arbiters: _touching holds
        return twin, twin_along

    @property
    def absent(self) -> np.ndarray | None:
        """Rows not in the world now (NaN in states), or None when every body is in it."""
        if not self._absent:
            return None
        mask = np.zeros(len(self._names), dtype=bool)
        mask[[self._rows_by_name[name] for name in self._absent]] = True
        return mask

    def bodies_of(self, ref: str) -> list[pymunk.Body]:
        """The bodies a script names: one body, or every body of a grid or composite."""
        return [body for name, body in self.bodies.items() if matches(ref, name)]

    def present(self, body: pymunk.Body) -> bool:
        return body.space is not None

    def take_out(self, ref: str) -> None:
        """Remove bodies (with their shapes and joints) from the space; rows become NaN."""
        for name in [n for n in self.bodies if matches(ref, n) and n not in self._absent]:
            body = self.bodies[name]
            self.space.remove(*[c for c in body.constraints if c in self.space.constraints])
            self.space.remove(body, *body.shapes)
            self._absent.add(name)

    def refresh_masses(self) -> None:
        """Re-read 1 / mass of each body in row order, for the contact hold (0: static,
        kinematic, or not yet in the space, where pymunk has not summed its shapes'
        masses); after a spawn or a change of body type."""
        self._inverse_mass = np.array(
            [1.0 / body.mass if body.body_type == pymunk.Body.DYNAMIC and body.mass > 0
             else 0.0 for body in self.bodies.values()]
        )  # fmt: skip
        self._inverse_list: list[float] = self._inverse_mass.tolist()
        dynamic = [body.body_type == pymunk.Body.DYNAMIC for body in self.bodies.values()]
        if dynamic != self._dynamic:  # which pairs Chipmunk solves changed: see _read_in_bulk
            self._dynamic, self._resync = dynamic, True

    def put_in(self, ref: str) -> None:
        """Add the bodies of a spawned entry, and the joints whose bodies are all present."""
        for name in [n for n in self.bodies if matches(ref, n) and n in self._absent]:
            body = self.bodies[name]
            self.space.add(body, *body.shapes)
            self._absent.discard(name)
        self.refresh_masses()  # the spawned bodies' masses are known now
        for name, joint in self.joints.items():
            if name in self._broken or name in self._held:
                continue
            self._add_when_ready(joint)

    def turn_walker(self, name: str) -> None:
        """The walker turns round: each part's shapes mirrored in its own frame (feet and
        bent elbows point the other way; the joints sit on the parts' axes, so the pose
        stays whole), its knee and hip limits mirrored, its controller walking back."""
        walker, gait = next((w, g) for w, g in self._walkers if w.name == name)
        for part in walker.parts.values():
            for shape in self.bodies[part].shapes:
                if isinstance(shape, pymunk.Poly):
                    points = [(-v.x, v.y) for v in shape.get_vertices()]
                    shape.unsafe_set_vertices(points[::-1])
                elif isinstance(shape, pymunk.Segment):
                    (ax, ay), (bx, by) = shape.a, shape.b
                    shape.unsafe_set_endpoints((-ax, ay), (-bx, by))
                elif isinstance(shape, pymunk.Circle):
                    shape.unsafe_set_offset((-shape.offset.x, shape.offset.y))
        prefix = f"{name}/"
        for joint_name, joint in self.joints.items():
            if joint_name.startswith(prefix) and isinstance(joint, pymunk.RotaryLimitJoint):
                joint.min, joint.max = -joint.max, -joint.min
        gait.turn()

    def add_joint(self, name: str) -> None:
        """Put a held (or broken) joint into the space: it holds from this step on (once
        both its bodies are in the world). A held joint is made now, from where its bodies
        are: a pin or spring without a written length takes the distance of this moment."""
        joint = self.joints[name]
        if name in self._held:
            spec = self._joint_specs[name]
            joint = build_constraint(spec, joint.a, joint.b, self.dt)
            self.joints[name] = joint
        self._held.discard(name)
        self._broken.discard(name)
        self._add_when_ready(joint)

    def _add_when_ready(self, joint: pymunk.Constraint) -> None:
        """Add ``joint`` to the space if it is not there and both its bodies are."""
        if joint not in self.space.constraints and all(
            e.space is not None or e is self.space.static_body for e in (joint.a, joint.b)
        ):
            self.space.add(joint)

    def break_joint(self, name: str) -> None:
        """Take a joint out of the space for good (a spawn does not bring it back)."""
        joint = self.joints[name]
        if joint in self.space.constraints:
            self.space.remove(joint)
        self._broken.add(name)

    def record(self, event: Event) -> None:
        """An event from the script (``action``), delivered with the others."""
        self._events.append(event)

    def drain_events(self) -> tuple[Event, ...]:
        """The events since the last call, in a stable order (step, kind, rows)."""
        events, self._events = tuple(self._events), []
        return events

    def read_state(self) -> BodyState:
        """Every body's pose and velocity in Layout row order, via pymunk's batch API."""
        ids, floats = self._read_bodies()
        key = ids.tobytes()
        if self._gather is None or self._gather[0] != key:
            # The batch API lists bodies in the space's internal order, which
            # changes after removals: map ids back to Layout rows (cached).
            # It may also list the space's own static body (once a joint holds a
            # body to the world), which is not one of ours: leave it out.
            rows, ours = self._lookup(ids)
            starts = np.zeros(len(self._names), dtype=np.intp)  # absent rows: NaN below
            starts[rows[ours]] = 6 * np.flatnonzero(ours)  # 6 floats a body: x, y, angle, v, spin
            xy = starts[:, None] + np.array([0, 1], dtype=np.intp)
            self._gather = (key, (xy, starts + 2, xy + 3, starts + 5))
        # one gather each from the floats: fresh contiguous arrays, in row order
        position, angle, velocity, spin = (floats[at] for at in self._gather[1])
        if self._absent:
            gone = [self._rows_by_name[name] for name in self._absent]
            for array in (position, angle, velocity, spin):
                array[gone] = np.nan
        if self.fluid is None:
            return BodyState(position, angle, velocity, spin, *_NO_FLUID)
        return BodyState(
            position,
            angle,
            velocity,
            spin,
            fluid_position=self.fluid.position.copy(),
            fluid_velocity=self.fluid.velocity.copy(),
            fluid_kind=self.fluid.kind.copy(),
        )


def _collider(geom: Geom, body: pymunk.Body, row: int) -> Collider:
    """A shape where its body is now, in world coordinates, for the fluid."""
    c, s = math.cos(body.angle), math.sin(body.angle)
    px, py = body.position
    if isinstance(geom, CircleGeom):
        local = np.array([geom.offset], dtype=np.float64)
        kind, radius = "circle", geom.radius
    elif isinstance(geom, SegmentGeom):
        local = np.array([geom.a, geom.b], dtype=np.float64)
        kind, radius = "segment", geom.radius
    else:
        local = np.array(geom.vertices, dtype=np.float64)
        kind, radius = "poly", 0.0
    points = np.column_stack(
        (px + local[:, 0] * c - local[:, 1] * s, py + local[:, 0] * s + local[:, 1] * c)
    )
    cog = body.local_to_world(body.center_of_gravity)
    return Collider(kind, points, radius, row, (float(cog.x), float(cog.y)))


def engine_versions() -> dict[str, str]:
    """The physics engine's versions, for metadata (golden hashes depend on them)."""
    return {"pymunk": pymunk.version, "chipmunk": pymunk.chipmunk_version}


def _joint_info(joint: JointSpec, rows: dict[str, int]) -> JointInfo:
    rest = joint.rest if joint.rest is not None else float("nan")
    if joint.kind == "pin" and joint.length is not None:
        rest = joint.length
    return JointInfo(
        name=joint.name,
        kind=joint.kind,
        a=rows[joint.a],
        b=NO_BODY if joint.b is None else rows[joint.b],
        anchor_a=joint.anchor_a,
        anchor_b=joint.anchor_b,
        low=joint.low if joint.kind in ("rotary_limit", "slide") else float("nan"),
        high=joint.high if joint.kind in ("rotary_limit", "slide") else float("nan"),
        rest=rest,
        visible=joint.visible and joint.kind not in ("rotary_limit", "motor", "gear"),
    )


def _body_info(spec: BodySpec, body: pymunk.Body) -> BodyInfo:
    dynamic = spec.body_type == "dynamic"
    cog = body.center_of_gravity if dynamic else (0.0, 0.0)
    return BodyInfo(
        name=spec.name,
        kind=spec.kind,
        body_type=spec.body_type,
        material=spec.material.name,
        color=spec.color,
        shapes=spec.shapes,
        mass=float(body.mass) if dynamic else float("inf"),
        moment=float(body.moment) if dynamic else float("inf"),
        center_of_gravity=(float(cog[0]), float(cog[1])),
        marked=spec.kind == "ball",
        group=spec.group,
    )
