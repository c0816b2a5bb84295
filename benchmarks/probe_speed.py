"""How fast the probe reads 720p video: a 20-ball clip rendered by physics_scenes (H.264,
1280x720, 60 fps), probed end to end (decode, detect, track, estimate, report), against
OpenCV decoding the same file alone in the same run (the floor no probe can beat).

    nice -n 10 python benchmarks/probe_speed.py [--seconds 5]

Prints wall-clock and CPU frames per second; on a shared machine the CPU figure is the
one that does not depend on what else runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import probe_clips as pc

from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.probe import report
from physics_scenes.probe.run import Options, probe
from physics_scenes.scene.loader import parse_scene


def scene(seconds: float) -> str:
    """Twenty balls in two rows thrown across a 16 x 9 m world with walls, two of each
    colour (also one of the validation's correct clips, at 640x360)."""
    return pc.shared_colors_text(seconds, 60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "twenty.mp4"
        job = RenderJob(
            parse_scene(scene(args.seconds)),
            clip,
            "mp4",
            1280,
            720,
            states=False,
            audio="none",
            parallel=False,
        )
        frames = run(job).frames
        wall, cpu = time.perf_counter(), time.process_time()
        capture = cv2.VideoCapture(str(clip))
        while capture.read()[0]:
            pass
        decode = (time.perf_counter() - wall, time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        result = probe(clip, Options())
        report.write(result, Path(tmp) / "report")
        spent = (time.perf_counter() - wall, time.process_time() - cpu)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"{frames} frames of 1280x720, {len(result.tracks)} objects tracked "
        f"(20 balls), {len(result.violations)} violations, gravity "
        f"{result.gravity / 80:.3f} m/s² (80 px/m)"
    )
    for violation in result.violations:
        print("  ", violation.message)
    print(
        f"probe:       {frames / spent[0]:6.1f} frames/s wall, "
        f"{frames / spent[1]:6.1f} frames/s CPU"
    )
    print(
        f"decode only: {frames / decode[0]:6.1f} frames/s wall, "
        f"{frames / decode[1]:6.1f} frames/s CPU"
    )
    print(
        f"probe / decode-only time: {spent[0] / decode[0]:.2f} (wall), "
        f"{spent[1] / decode[1]:.2f} (CPU)"
    )


if __name__ == "__main__":
    main()
