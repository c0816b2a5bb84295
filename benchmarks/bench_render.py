"""Render the 1000-ball scene to a 720p MP4; print frames per second and per-stage costs.

Three passes over the same frames:
1. end to end, exactly what ``physics-scenes render`` does (pipeline.run), video only;
2. end to end with the defaults (sound and states), the same frames: CPU of each pass
   with its children (ffmpeg, the physics worker) and what the defaults add;
3. instrumented, timing each stage on its own (wall and CPU ms a frame): simulation
   (steps + batch state read), drawing (pygame), pixel transfer (Surface -> bytes),
   encoding (writing into ffmpeg's pipe + the final flush; ffmpeg encodes in its own
   process, so this is the time the pipeline waits for it, not ffmpeg's CPU), the
   states file (JSON Lines), the sound score (per frame) and the sound track (mixed
   and mastered at the end, its AAC check included; shown per frame of the clip).

Usage: python benchmarks/bench_render.py [--frames 300] [--size 1280x720] [--scene PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
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
STAGES = ("simulation", "drawing", "pixel transfer", "encoding (wait)", "states file",
          "sound score", "sound track (end)")  # fmt: skip


def with_frames(scene: Scene, frames: int) -> Scene:
    timing = Timing(frames=frames, fps=scene.timing.fps, substeps=scene.timing.substeps)
    return scene.model_copy(update={"timing": timing})


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (ffmpeg, the worker)."""
    me, kids = (resource.getrusage(resource.RUSAGE_SELF),
                resource.getrusage(resource.RUSAGE_CHILDREN))  # fmt: skip
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def end_to_end(
    scene: Scene, size: tuple[int, int], quality: str, folder: Path, defaults: bool = False
) -> tuple[float, float]:
    """Frames per second and CPU seconds (with children) of one render: video only, or
    with the defaults (sound and states)."""
    audio, states = ("auto", True) if defaults else ("none", False)
    job = RenderJob(scene, folder / "e2e.mp4", "mp4", *size, quality, audio=audio,
                    states=states, overwrite=True)  # fmt: skip
    cpu, started = cpu_seconds(), time.perf_counter()
    run(job)
    return scene.timing.frame_count / (time.perf_counter() - started), cpu_seconds() - cpu


def instrumented(scene: Scene, size: tuple[int, int], quality: str, folder: Path, home: Path):
    from physics_scenes.job.clip import Clip
    from physics_scenes.job.pipeline import audio_sink_for

    layout, frames = simulate(scene)
    renderer = Renderer(layout, *size)
    info = StreamInfo(layout, *size, scene.timing.fps, scene.timing.frame_count,
                      scene.timing.dt, quality)  # fmt: skip
    video, states = Mp4Sink(folder / "staged.mp4"), StatesSink(folder / "staged.jsonl")
    clip = Clip(scene, *size, home)
    sound = audio_sink_for(scene, folder / "staged.wav", clip, home, keep=False, encoded=True)
    video.open(info)
    states.open(info)
    sound.open(info)
    wall: dict[str, list[float]] = {stage: [] for stage in STAGES}
    cpu: dict[str, list[float]] = {stage: [] for stage in STAGES}
    clocks = (time.perf_counter, time.process_time)
    frames = iter(frames)
    while True:
        marks = [tuple(clock() for clock in clocks)]
        frame = next(frames, None)
        if frame is None:
            break
        marks.append(tuple(clock() for clock in clocks))
        surface = renderer.draw(frame)
        marks.append(tuple(clock() for clock in clocks))
        pixels = Pixels(*size, surface.get_buffer().raw, renderer.pix_fmt)
        marks.append(tuple(clock() for clock in clocks))
        video.write(frame, pixels)
        marks.append(tuple(clock() for clock in clocks))
        states.write(frame, None)
        marks.append(tuple(clock() for clock in clocks))
        sound.write(frame, None)
        marks.append(tuple(clock() for clock in clocks))
        for stage, a, b in zip(STAGES, marks, marks[1:], strict=False):
            wall[stage].append((b[0] - a[0]) * 1000)
            cpu[stage].append((b[1] - a[1]) * 1000)
    count = len(wall["simulation"])
    t0, c0 = time.perf_counter(), cpu_seconds()
    sound.finish()  # the track, once all frames are in (with its AAC check: children)
    wall["sound track (end)"] = [(time.perf_counter() - t0) * 1000 / count] * count
    cpu["sound track (end)"] = [(cpu_seconds() - c0) * 1000 / count] * count
    sound.discard()
    t0 = time.perf_counter()
    video.finish()
    flush = (time.perf_counter() - t0) * 1000
    states.finish()
    video.commit()
    states.commit()
    wall["encoding (wait)"].append(flush)  # the tail ffmpeg still had to encode
    return wall, cpu, flush


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
        fps, video_cpu = end_to_end(scene, size, args.quality, folder)
        fps_defaults, defaults_cpu = end_to_end(scene, size, args.quality, folder, defaults=True)
        wall, cpu, flush = instrumented(scene, size, args.quality, folder, args.scene.parent)
    print(
        f"\nend to end (physics-scenes render), video only: {fps:.1f} frames/s "
        f"({1000 / fps:.2f} ms per frame), CPU {video_cpu:.2f} s with children"
    )
    print(
        f"end to end with the defaults (sound + states): {fps_defaults:.1f} frames/s, "
        f"CPU {defaults_cpu:.2f} s: {defaults_cpu / video_cpu - 1:+.0%} CPU, "
        f"{fps / fps_defaults - 1:+.0%} wall over video only; load {os.getloadavg()[0]:.1f}\n"
    )
    print(f"{'stage':<18} {'median ms':>10} {'mean ms':>10} {'share':>7} {'CPU mean ms':>12}")
    total = sum(sum(v) for v in wall.values())
    for stage in STAGES:
        values = wall[stage]
        print(
            f"{stage:<18} {statistics.median(values):>10.3f} {statistics.fmean(values):>10.3f}"
            f" {sum(values) / total:>7.1%} {statistics.fmean(cpu[stage]):>12.3f}"
        )
    print(
        f"\nfinal encoder flush: {flush:.0f} ms; instrumented pass total "
        f"{total / 1000:.2f} s = {args.frames / (total / 1000):.1f} frames/s"
    )


if __name__ == "__main__":
    main()
