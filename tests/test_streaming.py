"""Streaming: peak memory does not grow with the length of the video."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, SCENES

MEASURE = """
import resource, sys
from pathlib import Path
from physics_scenes.cli import main
main(["render", sys.argv[1], "-o", sys.argv[2], "--duration", sys.argv[3], "--size", "320x180",
      "--quality", "draft", "-q"])
# not ru_maxrss: Linux carries it over from the parent (pytest) through fork and exec
status = Path("/proc/self/status")
if status.exists():
    print(next(l.split()[1] for l in status.read_text().splitlines() if l.startswith("VmHWM:")))
else:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kib(tmp_path: Path, seconds: float) -> int:
    output = tmp_path / f"clip{seconds:g}.mp4"
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(SCENES / "dominoes.yaml"), str(output), str(seconds)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert output.stat().st_size > 0
    return int(result.stdout.split()[-1])


@pytest.mark.slow  # a 25 s render; .ci/run runs it
def test_peak_memory_of_a_long_render_matches_a_short_one(tmp_path: Path) -> None:
    # 1500 frames kept in memory would add 1500 x 320 x 180 x 4 bytes = 345 MB. The sound
    # is mixed in windows of up to 11 s (audio.track.MIX_WINDOW): that working set is
    # reached by 12 s, so the two lengths compared are both beyond it (2 s vs 25 s: +19 %)
    short, long = peak_rss_kib(tmp_path, 12), peak_rss_kib(tmp_path, 25)
    assert long <= short * 1.10, (short, long)
