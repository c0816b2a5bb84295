"""The fixed-timestep loop: a World stepped at dt = 1/(fps·substeps), one Frame per output frame."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..frame import Event, Frame, Layout
from ..scene.model import Scene
from .world import BodyState, World


def frames(world: World, count: int, fps: int, substeps: int) -> Iterator[Frame]:
    """Yield ``count`` Frames; frame 0 is the initial state, frame i is at t = i/fps.

    A frame's events are those of the ``substeps`` steps since the previous frame.
    """
    for index in range(count):
        if index:
            for _ in range(substeps):
                world.step()
        yield snapshot(world, index, fps)


def snapshot(world: World, index: int, fps: int) -> Frame:
    """The world's current state as Frame ``index``, with the events since the last one."""
    state = world.read_state()
    return Frame(
        index=index,
        time=index / fps,
        position=state.position,
        angle=state.angle,
        velocity=state.velocity,
        angular_velocity=state.angular_velocity,
        events=world.drain_events(),
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
    """

    def __init__(self, world: World, lookback: int = 0) -> None:
        self.world = world
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
        while world.step_index < step:
            world.step()
            self._pending.extend(world.drain_events())
            if step - world.step_index < self.lookback and world.step_index < step:
                self._states[world.step_index] = world.read_state()
        state = self._states[step] = world.read_state()
        horizon = step - self.lookback - 1
        for old in [k for k in self._states if k < horizon]:
            del self._states[old]
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
        step, fraction = self.steps_for(sim_time)
        a = self._step_state(step)
        if fraction == 0.0:
            return a
        b = self._step_state(step + 1)
        return BodyState(
            position=a.position + (b.position - a.position) * fraction,
            angle=a.angle + (b.angle - a.angle) * fraction,
            velocity=a.velocity + (b.velocity - a.velocity) * fraction,
            angular_velocity=a.angular_velocity
            + (b.angular_velocity - a.angular_velocity) * fraction,
        )

    def frame_at(self, index: int, sim_time: float) -> Frame:
        """The Frame shown at ``sim_time``, with the events of every step up to it not yet given."""
        state = self.state_at(sim_time)
        step, fraction = self.steps_for(sim_time)
        last = step + (1 if fraction else 0)
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
        )
