"""Drawing cost per frame: the renderer alone on 1000 balls at 1280x720.

Simulates ``scenes/ball_pile.yaml`` once, keeps the frames, then times
``Renderer.draw`` on each (CPU time of this process: steadier than the wall clock on a
shared machine) (median and 90th percentile, milliseconds). The first
pass fills the sprite caches; the second is the one reported.

``--template``: the dataset case instead: items of a template (default 256x256), each
drawn once by a new renderer (its caches empty, as in a batch), then watermarked; CPU
milliseconds a clip for ``Renderer.render`` and ``PictureMark.apply``.

Usage: python benchmarks/bench_drawing.py [--frames 240] [--size 1280x720] [--scene PATH]
       [--no-spin-marks]
       python benchmarks/bench_drawing.py --template scenes/templates/thrown_balls.yaml
       [--clips 24] [--size 256x256]
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


def dataset_clips(template_path: Path, clips: int, width: int, height: int) -> None:
    """Cold drawing and the watermark, CPU ms a clip, over ``clips`` template items."""
    from physics_scenes.output.provenance.payload import MarkKey, payload_bits
    from physics_scenes.output.provenance.picture import PictureMark
    from physics_scenes.scene.template import load_template, sample

    template = load_template(template_path)
    simulated = []
    for index in range(clips + 2):
        layout, frames = simulate(sample(template, index).scene)
        simulated.append((layout, list(frames)))
    drawing = marking = 0.0
    count = 0
    for k, (layout, kept) in enumerate(simulated):
        renderer = Renderer(layout, width, height)
        mark = PictureMark(MarkKey(), payload_bits("0123456789ab"))
        started = time.process_time()
        pictures = [renderer.render(frame) for frame in kept]
        drawn = time.process_time()
        for pixels in pictures:
            mark.apply(pixels)
        if k >= 2:  # the first two: imports and first calls
            drawing += drawn - started
            marking += time.process_time() - drawn
            count += len(kept)
    print(
        f"{template_path.name}: {clips} clips ({count / clips:.0f} frames each) at "
        f"{width}x{height}, a new renderer each: drawing {drawing * 1000 / clips:.2f} ms a "
        f"clip ({drawing * 1e6 / count:.0f} us a frame), watermark "
        f"{marking * 1000 / clips:.2f} ms a clip"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=ROOT / "scenes" / "ball_pile.yaml")
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--size", default=None, help="WxH (1280x720; 256x256 with --template)")
    parser.add_argument("--no-spin-marks", action="store_true")
    parser.add_argument("--template", type=Path, default=None)
    parser.add_argument("--clips", type=int, default=24)
    args = parser.parse_args()
    size = args.size or ("256x256" if args.template else "1280x720")
    width, height = (int(v) for v in size.split("x"))
    if args.template is not None:
        dataset_clips(args.template, args.clips, width, height)
        return
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
