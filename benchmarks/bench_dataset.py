"""Dataset throughput: PhyWorld-format clips per second, against a straightforward loop.

    python benchmarks/bench_dataset.py                 # 24 clips each way
    python benchmarks/bench_dataset.py --clips 60 --workers 2

Clips are items of ``scenes/templates/thrown_balls.yaml`` (256x256, 32 frames at 16 fps,
2-4 balls in a walled box). The reference is what a first version would do, one clip
after another in one process: simulate with pymunk, draw with pygame, hand the frames
to imageio's ffmpeg writer (``reference_pipeline.render_reference``, same x264 preset
and CRF), and nothing else. ``batch`` writes more per clip (the states file, the
metadata, the per-pixel ground truth, checksums and the item record, each atomically)
with the default engine and workers. Both run in this one invocation; the ratio is the
result. Then one clip's time is split by stage, in this process.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reference_pipeline import render_reference  # noqa: E402

from physics_scenes.job.dataset import DatasetJob, run_dataset  # noqa: E402
from physics_scenes.job.engines.pool import ProcessPool  # noqa: E402
from physics_scenes.job.ground_truth import write_truth  # noqa: E402
from physics_scenes.job.pipeline import RenderJob, run  # noqa: E402
from physics_scenes.output.sink import QUALITY  # noqa: E402
from physics_scenes.scene.template import load_template, sample  # noqa: E402

TEMPLATE = ROOT / "scenes" / "templates" / "thrown_balls.yaml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    template = load_template(TEMPLATE)
    quality = QUALITY["standard"]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        started = time.perf_counter()
        for index in range(args.clips):
            scene = sample(template, index).scene
            render_reference(scene, out / f"ref{index}.mp4", 256, 256, quality.preset, quality.crf)
        reference = args.clips / (time.perf_counter() - started)

        started = time.perf_counter()
        job = DatasetJob.of(template, out / "batch", args.clips)
        run_dataset(job, ProcessPool(args.workers))
        batch = args.clips / (time.perf_counter() - started)

        started = time.perf_counter()
        job = DatasetJob.of(template, out / "plain", args.clips, truth=False)
        run_dataset(job, ProcessPool(args.workers))
        plain = args.clips / (time.perf_counter() - started)

        started = time.perf_counter()
        job = DatasetJob.of(template, out / "one", args.clips)
        run_dataset(job, ProcessPool(1))
        one = args.clips / (time.perf_counter() - started)

        stages = {"sample": 0.0, "render (simulate, draw, encode, states)": 0.0, "truth": 0.0}
        count = min(args.clips, 8)
        for index in range(count):
            t0 = time.perf_counter()
            item = sample(template, index)
            t1 = time.perf_counter()
            run(RenderJob(item.scene, out / f"s{index}.mp4", "mp4", 256, 256, audio="none",
                          parallel=False))  # fmt: skip
            t2 = time.perf_counter()
            write_truth(item.scene, 256, 256, out / f"s{index}.npz")
            t3 = time.perf_counter()
            stages["sample"] += t1 - t0
            stages["render (simulate, draw, encode, states)"] += t2 - t1
            stages["truth"] += t3 - t2
    print(f"{args.clips} clips of 256x256, 32 frames; {cores} cores, {args.workers} workers")
    print(f"reference loop (one process):   {reference:6.2f} clips/s")
    per_core = batch / min(args.workers, cores)
    print(f"batch, {args.workers} workers:              {batch:6.2f} clips/s "
          f"({batch / reference:.2f}x; {per_core:.2f} clips/s/core)")  # fmt: skip
    print(f"  without the ground truth:     {plain:6.2f} clips/s ({plain / reference:.2f}x)")
    print(f"batch, 1 worker (in process):   {one:6.2f} clips/s ({one / reference:.2f}x)")
    print("one clip, by stage (in this process):")
    for name, seconds in stages.items():
        print(f"  {name:<42} {seconds / count * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
