"""Drawing cost per frame: the renderer alone on 1000 balls at 1280x720.

Simulates ``scenes/ball_pile.yaml`` once, keeps the frames, then times
``Renderer.draw`` on each (CPU time of this process: steadier than the wall clock on a
shared machine) (median and 90th percentile, milliseconds). The first
pass fills the sprite caches; the second is the one reported.

Usage: python benchmarks/bench_drawing.py [--frames 240] [--size 1280x720] [--scene PATH]
       [--no-spin-marks]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from physics_scenes import load_scene
from physics_scenes.physics.simulate import simulate
from physics_scenes.picture.renderer import Renderer
from physics_scenes.scene.model import Timing

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=ROOT / "scenes" / "ball_pile.yaml")
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--no-spin-marks", action="store_true")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    scene = load_scene(args.scene)
    timing = Timing(frames=args.frames, fps=scene.timing.fps, substeps=scene.timing.substeps)
    layout, frames = simulate(scene.model_copy(update={"timing": timing}))
    kept = list(frames)
    renderer = Renderer(layout, width, height, spin_marks=not args.no_spin_marks)
    for frame in kept:  # warm the caches
        renderer.draw(frame)
    costs = []
    for frame in kept:
        started = time.process_time()
        renderer.draw(frame)
        costs.append((time.process_time() - started) * 1000)
    costs.sort()
    print(
        f"{args.scene.name}: {len(layout.bodies)} bodies, {len(kept)} frames at {width}x{height}: "
        f"drawing median {statistics.median(costs):.2f} ms, "
        f"p90 {costs[int(0.9 * len(costs))]:.2f} ms, max {costs[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
