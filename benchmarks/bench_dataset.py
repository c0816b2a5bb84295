"""Dataset throughput: PhyWorld-format clips per second, against two plain loops, in one run.

    nice -n 10 python benchmarks/bench_dataset.py                  # 128 clips, 3 rounds
    nice -n 10 python benchmarks/bench_dataset.py --issue --clips 256 --rounds 5  # the issue's pair
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
start-up (about a second on an idle machine) is spread over thousands of clips. Each
batch still starts its workers and waits for the last item (~50-60 ms): 128 clips a
batch by default (at 32 that was ~10 % of the time). Every candidate's files are kept
until the end of the run, and after each candidate the file system's work is flushed
(``os.sync``, untimed): deleting a candidate's gigabytes on this disk (mounted with
``discard``) slowed whichever candidate came next by ~15 %, and neither side deletes
anything while it works. ``--issue`` runs only the issue's pair.

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
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reference_pipeline import render_reference  # noqa: E402

from physics_scenes.job.dataset import DatasetJob, prepare, render_item, run_dataset  # noqa: E402
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


REFERENCE = "imageio loop (one process): MP4 only"


def batch(
    workers: int, fmt: str, truth: bool = True, **options: Any
) -> Callable[[Template, int, Path], None]:
    """``physics-scenes batch --workers W --format F [--no-truth] [...]``, shards included."""

    def go(template: Template, count: int, out: Path) -> None:
        job = DatasetJob.of(template, out / "ds", count, truth=truth, fmt=fmt, **options)
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


def _stage_table() -> dict[str, list[tuple[object, str]]]:
    """Stage → the (owner, attribute name) of the functions whose CPU time it is."""
    from physics_scenes.job import dataset
    from physics_scenes.job.clip import Clip
    from physics_scenes.output.arrays import FramesSink
    from physics_scenes.output.atomic import NewFolder, OutputSet
    from physics_scenes.output.ffmpeg import FFmpegSink
    from physics_scenes.output.metadata import MetadataSink
    from physics_scenes.output.provenance.picture import PictureMark
    from physics_scenes.output.states import StatesSink
    from physics_scenes.physics.simulate import Sampler

    return {
        "template draw and scene validation": [(dataset, "sample")],
        "world setup (scene to pymunk, renderer, camera)": [(Clip, "__init__")],
        "simulation (pymunk steps, contact events, state reads)": [(Sampler, "frame_at")],
        "drawing": [(Clip, "pixels")],
        "watermark": [(PictureMark, "apply")],
        "encoding, this process (MP4: ffmpeg start and pipe; frames: clip.h5, gzip 1 or none)": [
            (FFmpegSink, n) for n in ("open", "write", "finish")
        ] + [(FramesSink, n) for n in ("write", "finish")],
        "states file": [(StatesSink, n) for n in ("open", "write", "finish")],
        "metadata": [(MetadataSink, n) for n in ("open", "write", "finish")],
        "per frame: events kept; with truth ids, flow, boxes, visibility": [
            (TruthRecorder, "start"), (TruthRecorder, "add")
        ],
        "truth.npz written": [(TruthRecorder, "write")],
        "HDF5 item: states as arrays, events, truth (gzip 1) added to clip.h5": [
            (dataset, "add_clip_arrays")
        ],
        "annotations (captions, questions; plausibility: the clip's energies, overlap)": [
            (TruthRecorder, "notes")
        ],
        "checksums (SHA-256)": [(dataset, "files_sha256")],
        "staging folders and commits (renames)": [
            (OutputSet, "__init__"), (OutputSet, "commit"), (NewFolder, "__init__"),
            (NewFolder, "commit"),
        ],
    }  # fmt: skip


def stages(template: Template, out: Path, count: int, **options: Any) -> dict[str, float]:
    """CPU milliseconds per clip by stage: ``render_item`` in this process with the stage
    functions wrapped in timers (a call inside a timed call counts to the outer one);
    the encoder's own CPU (ffmpeg, a child process) apart; the rest is what is left."""
    table = _stage_table()
    spent = dict.fromkeys(table, 0.0)
    active: list[str] = []

    def timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if active:
                return fn(*args, **kwargs)
            active.append(stage)
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[stage] += time.process_time() - started
                active.pop()

        return wrapper

    saved = [(owner, name, getattr(owner, name)) for pairs in table.values()
             for owner, name in pairs]  # fmt: skip
    for stage, pairs in table.items():
        for owner, name in pairs:
            setattr(owner, name, timed(stage, getattr(owner, name)))
    try:
        job = DatasetJob.of(template, out / "ds", count + 2, **options)
        prepare(job)
        for index in range(2):  # untimed: caches
            render_item((job, index))
        spent = dict.fromkeys(table, 0.0)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.process_time()
        for index in range(2, count + 2):
            render_item((job, index))
        total = time.process_time() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
    result = {name: seconds / count * 1000 for name, seconds in spent.items()}
    result["the rest (records, JSON, files)"] = (total - sum(spent.values())) / count * 1000
    encoder = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    result["encoder process (ffmpeg's own CPU)"] = encoder / count * 1000
    return result


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
    parser.add_argument("--clips", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="the batch pool (default: the cores)")  # fmt: skip
    parser.add_argument(
        "--more",
        action="store_true",
        help="also the render loop and MP4 batches (with and without truth)",
    )
    parser.add_argument(
        "--issue",
        action="store_true",
        help="only the issue's comparison: the imageio loop against hdf5 --no-truth (the "
        "other candidates' gigabytes of files leave the disk busy into the next one's time)",
    )
    parser.add_argument("--ray", action="store_true", help="also a local Ray (about 1 GB)")
    parser.add_argument("--memory", action="store_true", help="peak memory at N and 4N items")
    parser.add_argument("--stages", type=int, default=8, help="clips for the split by stage")
    args = parser.parse_args()
    template = load_template(TEMPLATE)
    k = args.workers
    candidates: dict[str, Callable[[Template, int, Path], None]] = {
        REFERENCE: imageio_loop,
        f"batch, {k} workers, hdf5 (frames, states), --no-truth": batch(k, "hdf5", False),
    }
    if not args.issue:
        candidates[f"batch, {k} workers, hdf5 (frames, states, ground truth)"] = batch(k, "hdf5")
        candidates[f"batch, {k} workers, hdf5, --no-truth --compression none"] = batch(
            k, "hdf5", False, compression="none"
        )
    if args.more:
        candidates["render loop (one process): MP4, states, metadata"] = render_loop
        candidates[f"batch, {k} workers, folder (MP4, states, ground truth)"] = batch(k, "folder")
        candidates[f"batch, {k} workers, folder (MP4, states), --no-truth"] = batch(
            k, "folder", False
        )
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    cpu_ms: dict[str, list[float]] = {name: [] for name in candidates}
    cores = os.cpu_count() or 1
    print(f"{args.clips} clips of {SIZE}x{SIZE}, 32 frames; {cores} cores; "
          f"load {os.getloadavg()[0]:.1f} at the start", flush=True)  # fmt: skip
    for go in candidates.values():  # untimed: imports, caches, the pool's fork server
        with tempfile.TemporaryDirectory() as folder:
            go(template, 2, Path(folder))
    kept = tempfile.TemporaryDirectory()
    for round_ in range(args.rounds):
        for name, go in candidates.items():
            # every candidate's files are kept until the end: deleting gigabytes on a disk
            # mounted with ``discard`` slowed whichever candidate came next (by ~15 %)
            folder = tempfile.mkdtemp(dir=kept.name)
            cpu = _cpu()
            started = time.perf_counter()
            go(template, args.clips, Path(folder))
            rates[name].append(args.clips / (time.perf_counter() - started))
            cpu_ms[name].append((_cpu() - cpu) / args.clips * 1000)
            os.sync()  # untimed: its writeback done before the next one starts
            print(f"  round {round_ + 1}: {name:<58} {rates[name][-1]:6.2f} clips/s "
                  f"({cpu_ms[name][-1]:.0f} ms CPU a clip here) load "
                  f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        if args.ray and round_ == 0:  # one local Ray a process: a second start often fails
            with tempfile.TemporaryDirectory() as folder:
                seconds = ray_batch(template, args.clips, Path(folder))
            ray_ratio = (args.clips / seconds) / rates[REFERENCE][-1]
            print(f"  round 1: local Ray, once up: {args.clips / seconds:6.2f} clips/s "
                  f"({ray_ratio:.2f}x the imageio loop of this round)", flush=True)  # fmt: skip
    kept.cleanup()
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    print(f"\n| | clips/s (median of {args.rounds}) | clips/s/core | against the imageio loop "
          "(median of the rounds' ratios) |\n|---|---|---|---|")  # fmt: skip
    for name, values in rates.items():
        ratio = statistics.median(v / r for v, r in zip(values, rates[REFERENCE], strict=True))
        share = 1 if name == REFERENCE or "one process" in name else min(k, cores)
        rate = statistics.median(values)
        print(f"| {name} | {rate:.2f} | {rate / share:.2f} | {ratio:.2f}x |")
    print(
        f"\nimageio loop: {statistics.median(cpu_ms[REFERENCE]):.0f} ms CPU a clip "
        "(the process and its ffmpeg)"
    )
    splits = {
        "hdf5 frames, no truth": {"fmt": "hdf5", "truth": False},
        "hdf5 frames, no truth, --compression none": {
            "fmt": "hdf5",
            "truth": False,
            "compression": "none",
        },
        "hdf5 frames + truth": {"fmt": "hdf5"},
        "hdf5 frames + truth, --flow16": {"fmt": "hdf5", "flow16": True},
        "MP4 + truth": {"fmt": "folder"},
    }
    table = {}
    for label, options in splits.items():
        with tempfile.TemporaryDirectory() as folder:
            table[label] = stages(template, Path(folder), args.stages, **options)
    print(
        f"\n| CPU ms a clip, by stage (one process, {args.stages} clips) | "
        + " | ".join(table)
        + " |\n|---|"
        + "---|" * len(table)
    )
    for stage in next(iter(table.values())):
        print(f"| {stage} | " + " | ".join(f"{t[stage]:.1f}" for t in table.values()) + " |")
    print("| **total** | " + " | ".join(f"**{sum(t.values()):.0f}**" for t in table.values())
          + " |")  # fmt: skip
    if args.memory:
        small, large = peak_memory(args.clips), peak_memory(4 * args.clips)
        print(f"\npeak memory, 1-worker batch: {args.clips} items {small:.0f} MB, "
              f"{4 * args.clips} items {large:.0f} MB")  # fmt: skip
    print(
        f"(this process's own peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MB)"
    )


if __name__ == "__main__":
    main()
