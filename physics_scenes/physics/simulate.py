"""The fixed-timestep loop: a World stepped at dt = 1/(fps·substeps), one Frame per output frame."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..errors import SimulationError
from ..frame import Event, Frame, Layout, extent
from ..scene.limits import MAX_SPEED  # the start's limit is the run's
from ..scene.model import Scene
from .world import BodyState, World

ESCAPE_FACTOR = 1000.0
"""A body farther from the world's region than this many times its size has escaped."""
FEW_BODIES = 16
"""Up to this many bodies the ``Guard`` checks each value in plain Python (≈ 0.4 µs a
body), more with numpy (≈ 7 µs whatever the count, a few for a thousand)."""


class Guard:
    """The run-time check of a blow-up, on the state arrays the loop reads anyway.

    Costs three ``max`` reductions per read (a few microseconds for 1000 bodies), or for a
    few bodies a comparison of each value; only when one of them trips does it look for
    which body and why, and raise ``SimulationError``. Non-finite values (NaN, infinity)
    fail the same comparisons.
    """

    def __init__(self, layout: Layout) -> None:
        (ox, oy), (w, h) = layout.region_origin, layout.region_size
        self.center = np.array([ox + w / 2, oy + h / 2], dtype=np.float64)
        self.size = max(w, h)
        self.reach = ESCAPE_FACTOR * self.size
        """Farthest a body may be from the region's centre, along x or y (set from the first
        state checked, so a body placed far outside the region has room too)."""
        self._started = False
        self.extent = np.array([extent(b.shapes) for b in layout.bodies], dtype=np.float64)
        self.spin_limit = MAX_SPEED / np.maximum(self.extent, 1e-9)
        """rad/s at which a body's rim moves at ``MAX_SPEED``."""
        self.names = layout.names
        self._few = (
            (*self.center.tolist(), self.spin_limit.tolist())
            if len(self.names) <= FEW_BODIES
            else None
        )
        """For a few bodies: the centre's x and y and each body's spin limit, as floats."""

    def check(
        self, state: BodyState, time: float, step: int, absent: np.ndarray | None = None
    ) -> None:
        """Raise ``SimulationError`` if any body is non-finite, too fast or escaped.

        ``absent`` rows (bodies a script has not spawned yet or has removed) are NaN by
        design and not checked."""
        if not len(self.names):
            return
        if absent is not None:
            state = BodyState(
                np.where(absent[:, None], self.center, state.position),
                np.where(absent, 0.0, state.angle),
                np.where(absent[:, None], 0.0, state.velocity),
                np.where(absent, 0.0, state.angular_velocity),
            )
        if not self._started:
            self._started = True
            start = np.abs(state.position - self.center).max()
            if np.isfinite(start):
                self.reach = ESCAPE_FACTOR * max(self.size, 2 * float(start))
        reach = self.reach + MAX_SPEED * max(time, 0.0)  # where a legal body can get to
        if self._few is not None:
            if self._all_fine(state, reach, *self._few):
                return
        else:
            fast = float(np.abs(state.velocity).max())
            far = float(np.abs(state.position - self.center).max())
            spin = float((np.abs(state.angular_velocity) - self.spin_limit).max())
            angle = float(np.abs(state.angle).max())
            if fast <= MAX_SPEED / 2 and far <= reach and spin <= 0 and angle < math.inf:
                return  # the common case: one comparison each, no per-body work
        self._explain(state, time, step)

    @staticmethod
    def _all_fine(
        state: BodyState, reach: float, cx: float, cy: float, spin_limit: list[float]
    ) -> bool:
        """The same test as the reductions, value by value: a NaN fails each comparison
        as it fails them there, and abs(w) <= limit holds exactly when abs(w) - limit <= 0."""
        fast = MAX_SPEED / 2
        for (x, y), angle, (vx, vy), spin, limit in zip(
            state.position.tolist(),
            state.angle.tolist(),
            state.velocity.tolist(),
            state.angular_velocity.tolist(),
            spin_limit,
            strict=True,
        ):
            if not (
                abs(vx) <= fast
                and abs(vy) <= fast
                and abs(x - cx) <= reach
                and abs(y - cy) <= reach
                and abs(spin) <= limit
                and abs(angle) < math.inf
            ):
                return False
        return True

    def _explain(self, state: BodyState, time: float, step: int) -> None:
        finite = (
            np.isfinite(state.position).all(axis=1)
            & np.isfinite(state.velocity).all(axis=1)
            & np.isfinite(state.angle)
            & np.isfinite(state.angular_velocity)
        )
        speed = np.hypot(state.velocity[:, 0], state.velocity[:, 1])
        offset = np.abs(state.position - self.center).max(axis=1)
        rim = np.abs(state.angular_velocity) * self.extent
        for row in range(len(self.names)):
            what = None
            if not finite[row]:
                what = "has a non-finite position, angle or velocity (NaN or infinity)"
            elif speed[row] > MAX_SPEED:
                what = f"moves at {speed[row]:.3g} m/s (the limit is {MAX_SPEED:g} m/s)"
            elif rim[row] > MAX_SPEED:
                what = (
                    f"spins so fast its rim moves at {rim[row]:.3g} m/s "
                    f"(the limit is {MAX_SPEED:g} m/s)"
                )
            elif offset[row] > self.reach + MAX_SPEED * max(time, 0.0):
                x, y = state.position[row]
                what = (
                    f"escaped to ({x:.3g}, {y:.3g}) m: farther from the world than "
                    f"{ESCAPE_FACTOR:g} times its size plus {MAX_SPEED:g} m/s for {time:.3g} s"
                )
            if what is not None:
                raise SimulationError(self.names[row], time, step, what)


def frames(world: World, count: int, fps: int, substeps: int) -> Iterator[Frame]:
    """Yield ``count`` Frames; frame 0 is the initial state, frame i is at t = i/fps.

    A frame's events are those of the ``substeps`` steps since the previous frame. Each
    frame's state passes the ``Guard`` (``SimulationError`` on a blow-up).
    """
    guard = Guard(world.layout)
    for index in range(count):
        if index:
            world.advance(substeps)
        yield snapshot(world, index, fps, guard)
        if world.end_step is not None and world.step_index >= world.end_step:
            return  # a script's ``end``: this frame shows it


def snapshot(world: World, index: int, fps: int, guard: Guard | None = None) -> Frame:
    """The world's current state as Frame ``index``, with the events since the last one."""
    state = world.read_state()
    if guard is not None:
        guard.check(state, world.time, world.step_index, world.absent)
    return Frame(
        index=index,
        time=index / fps,
        position=state.position,
        angle=state.angle,
        velocity=state.velocity,
        angular_velocity=state.angular_velocity,
        events=world.drain_events(),
        fluid_position=state.fluid_position,
        fluid_velocity=state.fluid_velocity,
        fluid_kind=state.fluid_kind,
    )


def simulate(scene: Scene, frame_count: int | None = None) -> tuple[Layout, Iterator[Frame]]:
    """Build a fresh World for ``scene`` and return its Layout and its Frame stream."""
    world = World(scene)
    count = scene.timing.frame_count if frame_count is None else frame_count
    return world.layout, frames(world, count, scene.timing.fps, scene.timing.substeps)


SNAP = 1e-6
"""A sample within this fraction of a step of a step boundary uses that step's exact state."""


class Sampler:
    """Body states at any simulation time, from a World stepped only at its fixed dt.

    A time between two steps interpolates linearly between their states; a
    time on a step (within ``SNAP``) returns that step's exact arrays, so a
    rate-1 clip is bit-identical to ``frames()``. Times may go back at most
    ``lookback`` steps behind the furthest one asked for (motion blur's shutter).
    Every state read passes the ``Guard`` (``SimulationError`` on a blow-up).
    """

    def __init__(self, world: World, lookback: int = 0) -> None:
        self.world = world
        self.guard = Guard(world.layout)
        self.dt = world.dt
        self.lookback = lookback
        self._states: dict[int, BodyState] = {}
        self._pending: list[Event] = []
        self._delivered_step = 0

    def _step_state(self, step: int) -> BodyState:
        state = self._states.get(step)
        if state is not None:
            return state
        world = self.world
        if step < world.step_index:
            raise ValueError(f"step {step} is behind the simulation (at {world.step_index})")
        if self.lookback:
            while world.step_index < step:
                world.step()
                if step - world.step_index < self.lookback and world.step_index < step:
                    self._states[world.step_index] = self._read()
        else:
            world.advance(step - world.step_index)
        self._pending.extend(world.drain_events())
        state = self._states[step] = self._read()
        horizon = step - self.lookback - 1
        for old in [k for k in self._states if k < horizon]:
            del self._states[old]
        return state

    def _read(self) -> BodyState:
        state = self.world.read_state()
        self.guard.check(state, self.world.time, self.world.step_index, self.world.absent)
        return state

    def steps_for(self, sim_time: float) -> tuple[int, float]:
        """(step, fraction): ``sim_time`` lies ``fraction`` of the way from ``step`` to the next."""
        u = sim_time / self.dt
        nearest = round(u)
        if abs(u - nearest) <= SNAP:
            return max(nearest, 0), 0.0
        below = math.floor(u)
        return below, u - below

    def state_at(self, sim_time: float) -> BodyState:
        return self._state(*self.steps_for(sim_time))

    def _state(self, step: int, fraction: float) -> BodyState:
        a = self._step_state(step)
        if fraction == 0.0:
            return a
        b = self._step_state(step + 1)
        # Particles interpolate when both steps have the same ones (an emitter adding a
        # row, or particles leaving, makes the nearer step's particles the answer).
        same = len(a.fluid_kind) == len(b.fluid_kind) and bool((a.fluid_kind == b.fluid_kind).all())
        near = a if fraction < 0.5 else b
        return BodyState(
            position=a.position + (b.position - a.position) * fraction,
            angle=a.angle + (b.angle - a.angle) * fraction,
            velocity=a.velocity + (b.velocity - a.velocity) * fraction,
            angular_velocity=a.angular_velocity
            + (b.angular_velocity - a.angular_velocity) * fraction,
            fluid_position=a.fluid_position + (b.fluid_position - a.fluid_position) * fraction
            if same
            else near.fluid_position,
            fluid_velocity=a.fluid_velocity + (b.fluid_velocity - a.fluid_velocity) * fraction
            if same
            else near.fluid_velocity,
            fluid_kind=a.fluid_kind if same else near.fluid_kind,
        )

    def frame_at(self, index: int, sim_time: float) -> Frame:
        """The Frame shown at ``sim_time``, with the events of every step up to it not yet given.

        An event is given with the first frame at or after its step: a frame between two
        steps shows the later step's state only in part, so that step's events wait for
        the next frame (which may show it exactly).
        """
        last, fraction = self.steps_for(sim_time)  # the step at or before sim_time (or on it)
        state = self._state(last, fraction)
        events: tuple[Event, ...] = ()
        if self._pending:
            events = tuple(e for e in self._pending if e.step <= last)
            self._pending = [e for e in self._pending if e.step > last]
        return Frame(
            index=index,
            time=sim_time,
            position=state.position,
            angle=state.angle,
            velocity=state.velocity,
            angular_velocity=state.angular_velocity,
            events=events,
            fluid_position=state.fluid_position,
            fluid_velocity=state.fluid_velocity,
            fluid_kind=state.fluid_kind,
        )
