"""The simulation stage of a dataset clip against pymunk alone, and the cost of a step.

Items of ``scenes/templates/thrown_balls.yaml`` (2 s at 16 fps, 15 substeps: 465 steps
and 32 state reads a clip, 2-4 balls in a walled box): CPU milliseconds a clip of

- **ours**: ``Sampler.frame_at`` for each frame, as ``job/dataset.py`` renders an item
  (``World`` steps with contact events, state reads in row order, the blow-up guard);
- **pymunk alone**, the reference, in the same run: the same worlds' ``Space.step``
  and one ``pymunk.batch.get_space_bodies`` a frame (no events, no rows, no guard).

The ratio (ours / pymunk alone) is per round, then the median. Then milliseconds a
step through ``simulate()`` on bigger scenes (a pile of 1000 balls, ``contact_rich``,
Newton's cradle, the walker). CPU time of this process (``time.process_time``).

Usage: python benchmarks/bench_simulation.py [--items 24] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pymunk
import pymunk.batch as batch

from physics_scenes import load_scene
from physics_scenes.job.dataset import chosen_draw
from physics_scenes.physics.simulate import Sampler, simulate
from physics_scenes.physics.world import World
from physics_scenes.scene.model import Scene
from physics_scenes.scene.template import load_template

ROOT = Path(__file__).resolve().parent.parent
SCENES = ["scenes/ball_pile.yaml", "benchmarks/contact_rich.yaml",
          "scenes/newtons_cradle.yaml", "scenes/walker_on_hill.yaml"]  # fmt: skip


def ours(scenes: list[Scene]) -> float:
    """CPU ms a clip: every frame through the Sampler."""
    spent = 0.0
    for scene in scenes:
        sampler, fps = Sampler(World(scene)), scene.timing.fps
        started = time.process_time()
        for index in range(scene.timing.frame_count):
            sampler.frame_at(index, index / fps)
        spent += time.process_time() - started
    return spent / len(scenes) * 1000


def pymunk_alone(scenes: list[Scene]) -> float:
    """CPU ms a clip: the same steps with pymunk's own calls, one batch read a frame."""
    spent = 0.0
    for scene in scenes:
        world, timing = World(scene), scene.timing
        # the world's callbacks off: Chipmunk solves contacts as ever, calls nothing
        world.space.on_collision(begin=pymunk.empty_callback, separate=pymunk.empty_callback)
        space, dt, buffer = world.space, world.dt, batch.Buffer()
        fields = batch.BodyFields.POSITION | batch.BodyFields.VELOCITY
        started = time.process_time()
        for index in range(timing.frame_count):
            if index:
                for _ in range(timing.substeps):
                    space.step(dt)
            buffer.clear()
            batch.get_space_bodies(space, fields, buffer)
        spent += time.process_time() - started
    return spent / len(scenes) * 1000


def per_step(path: Path) -> float:
    """CPU ms a step of ``simulate()`` over the whole scene."""
    scene = load_scene(path)
    started = time.process_time()
    _, frames = simulate(scene)
    count = sum(1 for _ in frames)
    return (time.process_time() - started) / ((count - 1) * scene.timing.substeps) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    template = load_template(ROOT / "scenes" / "templates" / "thrown_balls.yaml")
    items = [chosen_draw(template, index) for index in range(args.items)]
    scenes = [item.scene for item in items if item is not None]
    ours(scenes[:2]), pymunk_alone(scenes[:2])  # untimed: imports, caches
    rounds = [(ours(scenes), pymunk_alone(scenes)) for _ in range(args.rounds)]
    mine, alone = (statistics.median(column) for column in zip(*rounds, strict=True))
    ratio = statistics.median(a / b for a, b in rounds)
    print(f"thrown_balls, {len(scenes)} items, {args.rounds} rounds (medians):")
    print(f"  ours (Sampler.frame_at)  {mine:6.2f} ms a clip")
    print(f"  pymunk alone             {alone:6.2f} ms a clip")
    print(f"  ratio                    {ratio:6.2f}x")
    for path in SCENES:
        best = min(per_step(ROOT / path) for _ in range(2))
        print(f"  {path:32s} {best:8.4f} ms a step (simulate(), best of 2)", flush=True)


if __name__ == "__main__":
    main()
