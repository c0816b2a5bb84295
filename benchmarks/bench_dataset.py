"""Dataset throughput: PhyWorld-format clips per second, against two plain loops, in one run.

    nice -n 10 python benchmarks/bench_dataset.py                  # 16 clips, 2 rounds
    nice -n 10 python benchmarks/bench_dataset.py --clips 24 --rounds 3 --ray

Clips are items 0 … N−1 of ``scenes/templates/thrown_balls.yaml`` (256x256, 32 frames
at 16 fps, 2-4 balls in a walled box). Every candidate renders the same items, and
each round runs every candidate once, one after the other, so a machine that others
share slows them alike; the ratios are per round, against that round's references:

- ``imageio loop`` (the issue's yardstick): one clip after another in one process:
  simulate with pymunk, draw with pygame, hand the frames to imageio's ffmpeg writer
  (``reference_pipeline.render_reference``, same x264 preset and CRF), nothing else;
- ``render loop``: one ``pipeline.run`` per clip in one process (what a script calling
  ``render`` per item gets: MP4, states and metadata, atomically; no ground truth);
- ``batch``: ``run_dataset`` with the process pool at each ``--workers`` count (1: in
  the command's process), and with ``--ray`` a local Ray in the first round (its start
  timed apart; a second local Ray in one process often fails to start). A
  batch writes more per clip than either loop: the ground truth (``clip.truth.npz``:
  ids, flow, boxes, visibility), the annotations, checksums and the item record, each
  item committed atomically, then the manifest; and once more with ``--no-truth``
  (no ``clip.truth.npz``; the annotations are still made).

Before the rounds each candidate runs two clips untimed (imports, caches, and the fork
server the pool starts once per command): the rates are those of a long batch, whose
start-up (about a second on an idle machine) is spread over thousands of clips.

CPU time a clip (this process and its encoders) does not depend on how busy the machine
is, unlike clips/s: on a machine others share, a pool's processes also get a larger
share of it than one process does. It is given for the one-process candidates.

Then one clip's time by stage (in this process), and with ``--memory`` the peak memory
of a 1-worker batch of N and of 4N items, each in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reference_pipeline import render_reference  # noqa: E402

from physics_scenes.job.dataset import DatasetJob, run_dataset  # noqa: E402
from physics_scenes.job.engines.pool import ProcessPool  # noqa: E402
from physics_scenes.job.ground_truth import TruthRecorder  # noqa: E402
from physics_scenes.job.pipeline import RenderJob, run  # noqa: E402
from physics_scenes.output.sink import QUALITY  # noqa: E402
from physics_scenes.scene.template import Template, load_template, sample  # noqa: E402

TEMPLATE = ROOT / "scenes" / "templates" / "thrown_balls.yaml"
SIZE = 256


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the encoders; not a pool's
    workers, which are the fork server's children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def imageio_loop(template: Template, count: int, out: Path) -> None:
    quality = QUALITY["standard"]
    for index in range(count):
        scene = sample(template, index).scene
        render_reference(scene, out / f"{index}.mp4", SIZE, SIZE, quality.preset, quality.crf)


def render_loop(template: Template, count: int, out: Path) -> None:
    for index in range(count):
        scene = sample(template, index).scene
        run(RenderJob(scene, out / f"{index}.mp4", "mp4", SIZE, SIZE, audio="none",
                      parallel=False))  # fmt: skip


def batch(workers: int, truth: bool = True) -> Callable[[Template, int, Path], None]:
    def go(template: Template, count: int, out: Path) -> None:
        job = DatasetJob.of(template, out / "ds", count, truth=truth)
        run_dataset(job, ProcessPool(workers))

    return go


def ray_batch(template: Template, count: int, out: Path) -> float:
    """Seconds for the items once Ray is up (its start is reported apart)."""
    from physics_scenes.job.engines.ray_tasks import RayEngine

    started = time.perf_counter()
    with RayEngine(address=None, temp_dir=out / "ray") as engine:
        up = time.perf_counter()
        print(f"    (local Ray started in {up - started:.1f} s)", flush=True)
        run_dataset(DatasetJob.of(template, out / "ds", count), engine)
        return time.perf_counter() - up


def stages(template: Template, out: Path, count: int) -> dict[str, float]:
    """Milliseconds per clip: the render alone, the ground truth watching it, the npz."""
    spent = {"render: simulate, draw, encode, states, metadata": 0.0,
             "ground truth and annotations from the render's frames": 0.0,
             "truth.npz written (zlib)": 0.0}  # fmt: skip
    keys = list(spent)
    for index in range(count):
        scene = sample(template, index).scene
        job = RenderJob(scene, out / f"a{index}.mp4", "mp4", SIZE, SIZE, audio="none",
                        parallel=False)  # fmt: skip
        t0 = time.perf_counter()
        run(job)
        t1 = time.perf_counter()
        recorder = TruthRecorder(SIZE, SIZE)
        run(RenderJob(scene, out / f"b{index}.mp4", "mp4", SIZE, SIZE, audio="none",
                      parallel=False), observers=[recorder])  # fmt: skip
        t2 = time.perf_counter()
        recorder.write(out / f"b{index}.npz")
        t3 = time.perf_counter()
        spent[keys[0]] += t1 - t0
        spent[keys[1]] += (t2 - t1) - (t1 - t0)
        spent[keys[2]] += t3 - t2
    return {name: seconds / count * 1000 for name, seconds in spent.items()}


def peak_memory(count: int) -> float:
    """MB: the peak resident memory of a fresh process running a 1-worker batch."""
    code = (
        "import resource, sys; from pathlib import Path\n"
        "from physics_scenes.job.dataset import DatasetJob, run_dataset\n"
        "from physics_scenes.job.engines.pool import ProcessPool\n"
        "from physics_scenes.scene.template import load_template\n"
        f"t = load_template(Path({str(TEMPLATE)!r}))\n"
        f"run_dataset(DatasetJob.of(t, Path(sys.argv[1]), {count}), ProcessPool(1))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-c", code, str(Path(folder) / "ds")],
                              env=env, capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", default="1,2", help="pool sizes to run, e.g. 1,2,3")
    parser.add_argument("--ray", action="store_true", help="also a local Ray (about 1 GB)")
    parser.add_argument("--memory", action="store_true", help="peak memory at N and 4N items")
    args = parser.parse_args()
    template = load_template(TEMPLATE)
    candidates: dict[str, Callable[[Template, int, Path], None]] = {
        "imageio loop (one process)": imageio_loop,
        "render loop (one process)": render_loop,
    }
    counts = [int(w) for w in args.workers.split(",")]
    for workers in counts:
        name = "batch, 1 worker (in process)" if workers == 1 else f"batch, {workers} workers"
        candidates[name] = batch(workers)
    candidates[f"batch, {max(counts)} workers, --no-truth"] = batch(max(counts), truth=False)
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    cpu_ms: dict[str, list[float]] = {name: [] for name in candidates}
    cores = os.cpu_count() or 1
    print(f"{args.clips} clips of {SIZE}x{SIZE}, 32 frames; {cores} cores; "
          f"load {os.getloadavg()[0]:.1f} at the start", flush=True)  # fmt: skip
    for go in candidates.values():  # untimed: imports, caches, the pool's fork server
        with tempfile.TemporaryDirectory() as folder:
            go(template, 2, Path(folder))
    for round_ in range(args.rounds):
        for name, go in candidates.items():
            with tempfile.TemporaryDirectory() as folder:
                cpu = _cpu()
                started = time.perf_counter()
                go(template, args.clips, Path(folder))
                rates[name].append(args.clips / (time.perf_counter() - started))
                cpu_ms[name].append((_cpu() - cpu) / args.clips * 1000)
            print(f"  round {round_ + 1}: {name:<32} {rates[name][-1]:6.2f} clips/s "
                  f"({cpu_ms[name][-1]:.0f} ms CPU a clip)", flush=True)  # fmt: skip
        if args.ray and round_ == 0:  # one local Ray a process: a second start often fails
            with tempfile.TemporaryDirectory() as folder:
                seconds = ray_batch(template, args.clips, Path(folder))
            ray_ratio = (args.clips / seconds) / rates["imageio loop (one process)"][-1]
            print(f"  round 1: local Ray, once up: {args.clips / seconds:6.2f} clips/s "
                  f"({ray_ratio:.2f}x the imageio loop of this round)", flush=True)  # fmt: skip
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    references = list(rates)[:2]
    print(f"\n| | clips/s (median of {args.rounds}) | against the imageio loop | "
          "against the render loop | CPU ms a clip |\n|---|---|---|---|---|")  # fmt: skip
    for name, values in rates.items():
        ratios = [statistics.median(v / r for v, r in zip(values, rates[ref], strict=True))
                  for ref in references]  # fmt: skip
        pooled = name.startswith("batch, ") and "1 worker (" not in name
        cpu = (
            "(in workers)"
            if pooled or name not in cpu_ms
            else f"{statistics.median(cpu_ms[name]):.0f}"
        )
        print(f"| {name} | {statistics.median(values):.2f} | {ratios[0]:.2f}x | "
              f"{ratios[1]:.2f}x | {cpu} |")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        by_stage = stages(template, Path(folder), min(args.clips, 8))
    print("\n| one clip, by stage (this process) | ms |\n|---|---|")
    for name, ms in by_stage.items():
        print(f"| {name} | {ms:.0f} |")
    if args.memory:
        small, large = peak_memory(args.clips), peak_memory(4 * args.clips)
        print(f"\npeak memory, 1-worker batch: {args.clips} items {small:.0f} MB, "
              f"{4 * args.clips} items {large:.0f} MB")  # fmt: skip
    print(
        f"(this process's own peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MB)"
    )


if __name__ == "__main__":
    main()
