"""Render the 1000-ball scene to a 720p MP4; print frames per second and per-stage costs.

Two passes over the same frames:
1. end to end, exactly what ``physics-scenes render`` does (pipeline.run);
2. instrumented, timing each stage on its own: simulation (steps + batch state read),
   drawing (pygame), pixel transfer (Surface -> bytes), encoding (writing into ffmpeg's
   pipe + the final flush; ffmpeg encodes in its own process, so this is the time the
   pipeline waits for it, not ffmpeg's CPU) and the states file (JSON Lines).

Usage: python benchmarks/bench_render.py [--frames 300] [--size 1280x720] [--scene PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from physics_scenes import load_scene
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.sink import StreamInfo
from physics_scenes.output.states import StatesSink
from physics_scenes.output.video import Mp4Sink
from physics_scenes.physics.simulate import simulate
from physics_scenes.picture.renderer import Renderer
from physics_scenes.picture.view import Pixels
from physics_scenes.scene.model import Scene, Timing

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("simulation", "drawing", "pixel transfer", "encoding (wait)", "states file")


def with_frames(scene: Scene, frames: int) -> Scene:
    timing = Timing(frames=frames, fps=scene.timing.fps, substeps=scene.timing.substeps)
    return scene.model_copy(update={"timing": timing})


def end_to_end(scene: Scene, size: tuple[int, int], quality: str, folder: Path) -> float:
    job = RenderJob(scene, folder / "e2e.mp4", "mp4", *size, quality, audio="none")
    started = time.perf_counter()
    run(job)
    return scene.timing.frame_count / (time.perf_counter() - started)


def instrumented(scene: Scene, size: tuple[int, int], quality: str, folder: Path):
    layout, frames = simulate(scene)
    renderer = Renderer(layout, *size)
    info = StreamInfo(layout, *size, scene.timing.fps, scene.timing.frame_count,
                      scene.timing.dt, quality)  # fmt: skip
    video, states = Mp4Sink(folder / "staged.mp4"), StatesSink(folder / "staged.jsonl")
    video.open(info)
    states.open(info)
    costs: dict[str, list[float]] = {stage: [] for stage in STAGES}
    clock = time.perf_counter
    frames = iter(frames)
    while True:
        t0 = clock()
        frame = next(frames, None)
        if frame is None:
            break
        t1 = clock()
        surface = renderer.draw(frame)
        t2 = clock()
        pixels = Pixels(*size, surface.get_buffer().raw, renderer.pix_fmt)
        t3 = clock()
        video.write(frame, pixels)
        t4 = clock()
        states.write(frame, None)
        t5 = clock()
        for stage, (a, b) in zip(STAGES, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)),
                                 strict=True):  # fmt: skip
            costs[stage].append((b - a) * 1000)
    t0 = clock()
    video.finish()
    flush = (clock() - t0) * 1000
    states.finish()
    video.commit()
    states.commit()
    costs["encoding (wait)"].append(flush)  # the tail ffmpeg still had to encode
    return costs, flush


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=ROOT / "scenes" / "ball_pile.yaml")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--quality", default="standard")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    scene = with_frames(load_scene(args.scene), args.frames)
    layout, _ = simulate(scene, 1)
    print(
        f"scene {args.scene.name}: {len(layout.bodies)} bodies, {args.frames} frames, "
        f"{size[0]}x{size[1]}, quality {args.quality}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fps = end_to_end(scene, size, args.quality, folder)
        costs, flush = instrumented(scene, size, args.quality, folder)
    print(
        f"\nend to end (physics-scenes render): {fps:.1f} frames/s "
        f"({1000 / fps:.2f} ms per frame)\n"
    )
    print(f"{'stage':<18} {'median ms':>10} {'mean ms':>10} {'share':>7}")
    total = sum(sum(v) for v in costs.values())
    for stage in STAGES:
        values = costs[stage]
        print(
            f"{stage:<18} {statistics.median(values):>10.3f} {statistics.fmean(values):>10.3f}"
            f" {sum(values) / total:>7.1%}"
        )
    print(
        f"\nfinal encoder flush: {flush:.0f} ms; instrumented pass total "
        f"{total / 1000:.2f} s = {args.frames / (total / 1000):.1f} frames/s"
    )


if __name__ == "__main__":
    main()
