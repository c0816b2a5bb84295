"""Start-up cost of the command line, against the imports it cannot do without.

``physics-scenes validate`` needs Python, pydantic, PyYAML and numpy; everything else
(pymunk, pygame, scipy, imageio) is loaded only by the commands that use it. This runs
``python -m physics_scenes validate SCENE`` and a reference interpreter that only imports
pydantic, yaml and numpy, interleaved, and prints the medians and their ratio::

    python benchmarks/bench_startup.py            # 15 runs each
    python benchmarks/bench_startup.py --runs 40 --scene scenes/ball_pile.yaml
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "import pydantic, yaml, numpy"


def wall_time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--scene", default="scenes/bouncing_balls.yaml")
    args = parser.parse_args()
    ours = [sys.executable, "-m", "physics_scenes", "validate", args.scene]
    help_ = [sys.executable, "-m", "physics_scenes", "--help"]
    reference = [sys.executable, "-c", REFERENCE]
    times: dict[str, list[float]] = {"validate": [], "--help": [], "reference": []}
    wall_time(ours)  # warm the file cache and the bytecode
    for _ in range(args.runs):
        times["validate"].append(wall_time(ours))
        times["--help"].append(wall_time(help_))
        times["reference"].append(wall_time(reference))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:>10}: median {median * 1000:6.0f} ms over {args.runs} runs")
    print(f"validate / reference: {medians['validate'] / medians['reference']:.2f}x")


if __name__ == "__main__":
    main()
