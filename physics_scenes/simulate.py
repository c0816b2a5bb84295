"""The fixed-timestep loop: a World stepped at dt = 1/(fps·substeps), one Frame per output frame."""

from __future__ import annotations

from collections.abc import Iterator

from .frame import Frame, Layout
from .scene import Scene
from .world import World


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
