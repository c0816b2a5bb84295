"""physics_scenes against the straightforward reference pipeline, in one run.

Same scene (1000 balls), same size, frame rate, length and x264 settings; prints both
frame rates and their ratio, then the draft preset's ratio. Also: peak memory of a
short and a long render (in subprocesses), and the simulation-only rate of a
10 000-body scene against real time.

Usage: python benchmarks/bench_vs_reference.py [--seconds 10] [--long-seconds 600]
       python benchmarks/bench_vs_reference.py --skip compare drift memory bodies \
           --rounds 3 --process-seconds 2 [--profile DIR]   # whole processes only

The whole-process section (``processes``) runs, for ``ball_pile`` and the contact-rich
``benchmarks/contact_rich.yaml``, the reference script and ``physics-scenes render`` (video
only; ``--quality draft``; the defaults, sound and states) each as its own process,
interleaved round by round so that a shared machine's load falls on all alike, and prints
medians, ratios and the CPU of each process with its children (ffmpeg, the physics worker).
``--profile DIR`` then runs each once more under cProfile (CPU time) and prints where its
main process spends its time. ``--before TREE`` adds the renders run from another checkout
(``git worktree add /tmp/before main``) in the same rounds, and each scene's line says what
the defaults add over video only (CPU and wall).
"""

from __future__ import annotations

import argparse
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from physics_scenes import load_scene, parse_scene, simulate
from physics_scenes.frame import Layout
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.sink import QUALITY, StreamInfo
from physics_scenes.output.video import Mp4Sink
from physics_scenes.picture.renderer import Renderer
from physics_scenes.picture.view import Pixels
from physics_scenes.scene.model import Scene, Timing

sys.path.insert(0, str(Path(__file__).parent))
from reference_pipeline import render_reference

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1280, 720


def with_seconds(scene: Scene, seconds: float) -> Scene:
    timing = Timing(duration=seconds, fps=scene.timing.fps, substeps=scene.timing.substeps)
    return scene.model_copy(update={"timing": timing})


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process, and by its finished children (ffmpeg, worker)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def timed(label: str, work) -> float:  # type: ignore[no-untyped-def]
    """Run ``work`` (returns frames made); print frames/s and CPU ms per frame by process."""
    mine, kids = cpu_seconds()
    started = time.perf_counter()
    frames = work()
    wall = time.perf_counter() - started
    mine2, kids2 = cpu_seconds()
    rate = frames / wall
    print(f"  {label:<44} {rate:7.1f} frames/s   CPU ms/frame: this process "
          f"{(mine2 - mine) / frames * 1000:5.1f}, children {(kids2 - kids) / frames * 1000:5.1f}"
          f" (cores busy {(mine2 - mine + kids2 - kids) / wall:.2f})")  # fmt: skip
    return rate


def pictures_of(scene: Scene) -> tuple[Layout, list[Pixels]]:
    """Every 4th frame of the clip drawn once, for the encoder-alone measurement."""
    layout, stream = simulate(scene)
    renderer = Renderer(layout, WIDTH, HEIGHT)
    return layout, [renderer.render(frame) for frame in stream if frame.index % 4 == 0]


def encoder_alone(scene: Scene, folder: Path, quality: str, drawn: tuple[Layout, list[Pixels]]
                  ) -> int:  # fmt: skip
    """Only x264 at the job's settings, fed pictures drawn beforehand from memory: no
    pipeline can beat this rate at these settings on this machine."""
    layout, pictures = drawn
    count, timing = scene.timing.frame_count, scene.timing
    sink = Mp4Sink(folder / "encoder.mp4")
    sink.open(StreamInfo(layout, WIDTH, HEIGHT, timing.fps, count, timing.dt, quality))
    for index in range(count):
        sink.write(None, pictures[index // 4])  # type: ignore[arg-type]
    sink.finish()
    sink.discard()
    return count


def compare(scene: Scene, folder: Path, title: str) -> None:
    frames = scene.timing.frame_count
    print(f"{title}: 1000 balls, {WIDTH}x{HEIGHT}, {scene.timing.fps} fps, {frames} frames, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    rates = {}
    drawn = pictures_of(scene)
    for quality in ("standard", "draft"):
        preset, crf = QUALITY[quality].preset, QUALITY[quality].crf
        print(f"x264 preset {preset}, CRF {crf} ({quality}):")
        timed("x264 alone (pictures drawn beforehand)",
              lambda q=quality: encoder_alone(scene, folder, q, drawn))  # fmt: skip
        target = folder / "ref.mp4"
        reference = timed(
            "reference (loop, draw, array3d, imageio)",
            lambda p=preset, c=crf, t=target: render_reference(scene, t, WIDTH, HEIGHT, p, c),
        )
        for states in (False, True):
            label = "physics_scenes" + (" + states.jsonl" if states else " (video only)")
            # no sound: the reference has none, and the comparison is of the picture pipeline
            job = RenderJob(scene, folder / "ps.mp4", "mp4", WIDTH, HEIGHT, quality, states=states,
                            audio="none", overwrite=True)  # fmt: skip
            rates[quality, states] = timed(label, lambda j=job: run(j).frames)
            print(f"  {'':<44} ratio {rates[quality, states] / reference:5.2f}x")
        for parallel, label in ((False, "in one process"), (True, "physics in a worker")):
            forced = RenderJob(scene, folder / "ps.mp4", "mp4", WIDTH, HEIGHT, quality,
                               states=False, audio="none", parallel=parallel,
                               overwrite=True)  # fmt: skip
            rate = timed(f"  forced {label} (video only)", lambda j=forced: run(j).frames)
            print(f"  {'':<44} ratio {rate / reference:5.2f}x")
        if quality == "standard":
            standard_reference = reference
    print(
        f"draft physics_scenes (video only) vs standard reference: "
        f"{rates['draft', False] / standard_reference:.2f}x"
    )


DRIFT = """
name: "1000 balls drifting (light physics: draw, copy and encode dominate)"
seed: 7
world: {size: [16, 9], walls: true, gravity: [0, 0]}
timing: {duration: 10, fps: 60, substeps: 4}
bodies:
  - kind: ball
    name: ball
    position: [0.6, 0.5]
    radius: 0.06
    material: rubber
    velocity: [0.4, 0.3]
    grid: {columns: 50, rows: 20, spacing: [0.3, 0.4], jitter: 0.05,
           colors: ["#e4572e", "#f3a712", "#29335c", "#669bbc", "#a8c686", "#f0f3bd"]}
"""


MEMORY_PROBE = """
import resource, sys
from pathlib import Path
from physics_scenes import load_scene
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.scene.model import Timing
scene = load_scene(sys.argv[1])
scene = scene.model_copy(update={"timing": Timing(duration=float(sys.argv[2]), fps=60)})
run(RenderJob(scene, Path(sys.argv[3]), "mp4", 640, 360, "draft", audio=sys.argv[4]))
# Peak RSS of this program in KiB. Not ru_maxrss: Linux carries it over from the parent
# through fork and exec, so it reported the benchmark's own 680 MiB.
status = Path("/proc/self/status")
if status.exists():
    print(next(line.split()[1] for line in status.read_text().splitlines()
               if line.startswith("VmHWM:")))
else:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory(folder: Path, short: float, long: float) -> None:
    print(
        f"peak memory (RSS), dominoes at 640x360 with states, {short:g} s vs {long:g} s of video:"
    )
    for audio in ("none", "auto"):
        peaks = {}
        for seconds in (short, long):
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", MEMORY_PROBE, str(ROOT / "scenes" / "dominoes.yaml"),
                 str(seconds), str(folder / f"mem{seconds:g}.mp4"), audio],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            peaks[seconds] = int(out.stdout.split()[-1]) / 1024
            print(
                f"  {'no sound' if audio == 'none' else 'with sound'}, {seconds:>6g} s: "
                f"{peaks[seconds]:6.1f} MiB peak RSS "
                f"(rendered in {time.perf_counter() - started:.0f} s)"
            )
        print(f"  growth: {peaks[long] / peaks[short] - 1:+.1%}")


def many_bodies(seconds: float) -> None:
    """10 000 balls, simulation only: drifting (few contacts) and raining into a pile
    (about 25 000 contacts once it forms: the solver's cost grows with contacts)."""
    cases = {
        "drifting, no gravity": ("world: {size: [64, 60], walls: true, gravity: [0, 0]}",
                                 "[0.3, 1.0]"),
        "falling into a pile": ("world: {size: [64, 36], walls: true}", "[0.3, 0.3]"),
    }  # fmt: skip
    for label, (world, spacing) in cases.items():
        scene = parse_scene(f"""
{world}
timing: {{duration: {seconds}, fps: 60, substeps: 4}}
bodies:
  - kind: ball
    radius: 0.12
    position: [2, 2]
    velocity: [0.3, 0.2]
    grid: {{columns: 200, rows: 50, spacing: {spacing}, jitter: 0.02}}
""")
        layout, frames = simulate(scene)
        started = time.perf_counter()
        count = sum(1 for _ in frames)
        elapsed = time.perf_counter() - started
        print(
            f"{len(layout.bodies) - 1} balls {label}, 60 fps x 4 substeps, simulation only, "
            f"{seconds:g} s: {count / elapsed:.1f} frames/s = {count / 60 / elapsed:.2f}x real time"
        )


CONTACT_RICH = ROOT / "benchmarks" / "contact_rich.yaml"
PROCESS_SCENES = {"ball_pile": ROOT / "scenes" / "ball_pile.yaml", "contact_rich": CONTACT_RICH}


def process_cases(scene: Path, folder: Path, seconds: float) -> dict[str, list[str]]:
    """The command lines compared: the reference (standard x264 settings) and three renders."""
    standard = QUALITY["standard"]
    size, length = f"{WIDTH}x{HEIGHT}", f"{seconds:g}"
    render = [sys.executable, "-m", "physics_scenes", "render", str(scene), "--size", size,
              "--duration", length, "--overwrite", "-q", "-o"]  # fmt: skip
    return {
        "reference": [
            sys.executable,
            str(ROOT / "benchmarks" / "reference_pipeline.py"),
            str(scene),
            str(folder / "ref.mp4"),
            str(WIDTH),
            str(HEIGHT),
            standard.preset,
            str(standard.crf),
            f"{seconds:g}",
        ],
        "video only": [*render, str(folder / "video.mp4"), "--no-audio", "--no-states"],
        "draft": [
            *render,
            str(folder / "draft.mp4"),
            "--no-audio",
            "--no-states",
            "--quality",
            "draft",
        ],
        "defaults": [*render, str(folder / "defaults.mp4")],
    }


PROFILED = """
import cProfile, runpy, sys, time
out, sys.argv = sys.argv[1], sys.argv[2:]
profile = cProfile.Profile(time.process_time)  # CPU time: on a shared machine wall time lies
profile.enable()
try:
    if sys.argv[0] == "-m":
        sys.argv = sys.argv[1:]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    profile.disable()
    profile.dump_stats(out)
"""
"""A command under cProfile, timed by CPU (``python -c PROFILED OUT [-m] COMMAND...``)."""


def run_process(command: list[str], tree: Path = ROOT) -> tuple[float, float]:
    """Wall seconds and CPU seconds (the process and every child it waited for), with the
    package imported from ``tree``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(tree)}
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def processes(
    folder: Path, seconds: float, rounds: int, profile: Path | None, before: Path | None = None
) -> None:
    """Whole processes, interleaved: reference, video only, draft, defaults, then again.
    ``before``: another checkout of physics_scenes (an earlier commit) whose three renders
    run in the same rounds, marked "before"."""
    load = os.getloadavg()
    print(f"whole processes, {seconds:g} s clips at {WIDTH}x{HEIGHT}, medians of {rounds} "
          f"interleaved rounds; load average at the start {load[0]:.1f} {load[1]:.1f}")  # fmt: skip
    for name, scene in PROCESS_SCENES.items():
        cases = process_cases(scene, folder, seconds)
        trees = dict.fromkeys(cases, ROOT)
        if before is not None:
            for case, command in list(cases.items())[1:]:
                cases[f"{case}, before"] = command
                trees[f"{case}, before"] = before
        walls: dict[str, list[float]] = {case: [] for case in cases}
        cpus: dict[str, list[float]] = {case: [] for case in cases}
        for _ in range(rounds):
            for case, command in cases.items():
                wall, cpu = run_process(command, trees[case])
                walls[case].append(wall)
                cpus[case].append(cpu)
        reference = statistics.median(walls["reference"])
        print(f"{name}:")
        for case in cases:
            wall = statistics.median(walls[case])
            runs = ", ".join(f"{w:.2f}" for w in walls[case])
            cpu = statistics.median(cpus[case])
            print(f"  {case:<19} {wall:6.2f} s  (runs {runs})  CPU {cpu:6.2f} s  "
                  f"ratio {reference / wall:5.2f}x  CPU ratio "
                  f"{statistics.median(cpus['reference']) / cpu:5.2f}x")  # fmt: skip
        for tag in ("", ", before"):
            if f"defaults{tag}" in cases:
                cpu_over = [
                    d / v - 1
                    for d, v in zip(cpus[f"defaults{tag}"], cpus[f"video only{tag}"], strict=True)
                ]
                wall_over = [
                    d / v - 1
                    for d, v in zip(walls[f"defaults{tag}"], walls[f"video only{tag}"], strict=True)
                ]
                print(
                    f"  defaults over video only{tag}: CPU {statistics.median(cpu_over):+.0%}, "
                    f"wall {statistics.median(wall_over):+.0%} (medians of the rounds)"
                )
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            for case, command in cases.items():
                out = profile / f"{name}-{case.replace(' ', '_').replace(',', '')}.prof"
                run_process([command[0], "-c", PROFILED, str(out), *command[1:]], trees[case])
                print(f"  profile of {case} (main process, by own time): {out}")
                stats = pstats.Stats(str(out))
                stats.sort_stats("tottime").print_stats(8)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} {load[1]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--long-seconds", type=float, default=600.0)
    parser.add_argument(
        "--skip", nargs="*", default=[],
        choices=["compare", "drift", "memory", "bodies", "processes"],
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--process-seconds", type=float, default=5.0)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of an earlier commit, run in the same rounds")  # fmt: skip
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "compare" not in args.skip:
            pile = load_scene(ROOT / "scenes" / "ball_pile.yaml")
            compare(with_seconds(pile, args.seconds), folder,
                    "ball_pile (heavy physics: ~450 contact events a frame)")  # fmt: skip
            rich = load_scene(CONTACT_RICH)
            compare(with_seconds(rich, min(args.seconds, rich.timing.duration)), folder,
                    "contact_rich (1000 balls of 5-10 cm in a closed box with a ramp)")  # fmt: skip
        if "processes" not in args.skip:
            processes(folder, args.process_seconds, args.rounds, args.profile, args.before)
        if "drift" not in args.skip:
            compare(with_seconds(parse_scene(DRIFT), args.seconds), folder, "drift")
        if "memory" not in args.skip:
            memory(folder, 10.0, args.long_seconds)
    if "bodies" not in args.skip:
        many_bodies(2.0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process's peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
