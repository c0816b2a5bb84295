"""Can the picture mark be made less visible on flat areas and still be read? A sweep.

    nice -n 10 python benchmarks/mark_shaping.py --clips 6    # ~10 minutes on a busy machine

Each candidate keeps the chip plan and the detector of ``picture.py`` and changes only
what a chip puts into the pixels: ``full`` (today's mark: every pixel of the 8x8 chip
±1), ``dither75``/``dither50`` (a fixed keyed 75 %/50 % of the chip's pixels, so flat
areas show fine grain at a lower mean), ``checker`` (half the pixels, as a checkerboard:
all the energy at the highest frequency, where the eye is least sensitive) and
``inner6``/``inner4`` (a 6x6 or 4x4 blob in the chip's middle, no chip edges). For each:
S-CIELAB ΔE (as ``mark_imperceptibility.py`` measures it) on a flat field of
bouncing_balls' background colour, and the picture attacks of
``watermark_robustness.py`` on clips of the thrown_balls template (clip k: item k, seed
100 + k, 320x180, 2.5 s): exact ids read, the lowest sync z-score (the detector needs
7) and the lowest weakest-bit margin.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import mark_imperceptibility as looks  # noqa: E402
import watermark_robustness as robustness  # noqa: E402

from physics_scenes.job.pipeline import RenderJob, run  # noqa: E402
from physics_scenes.output.provenance import marks, picture  # noqa: E402
from physics_scenes.output.provenance.media import frames_of  # noqa: E402
from physics_scenes.output.provenance.payload import MarkKey, payload_bits  # noqa: E402
from physics_scenes.scene.model import Timing  # noqa: E402
from physics_scenes.scene.template import load_template, sample  # noqa: E402

CANDIDATES = ("full", "dither75", "dither50", "checker", "inner6", "inner4")
BACKGROUND = (20, 22, 28)
"""bouncing_balls' background (the flat dark one where today's mark shows)."""


def chip_pixels(name: str) -> np.ndarray:
    """(128, 128) 0/1: which pixels of the tile a chip changes."""
    if name.startswith("dither"):
        return (np.random.default_rng(7).random((picture.TILE,) * 2) < int(name[6:]) / 100) * 1
    cells = {
        "full": np.ones((8, 8)),
        "checker": np.indices((8, 8)).sum(axis=0) % 2,
        "inner6": np.pad(np.ones((6, 6)), 1),
        "inner4": np.pad(np.ones((4, 4)), 2),
    }
    cell = cells[name]
    return np.tile(cell, (picture.CHIPS, picture.CHIPS)).astype(int)


def shaped(name: str) -> type[picture.PictureMark]:
    class Shaped(picture.PictureMark):
        def __init__(self, key: MarkKey, bits: Sequence[int], strength: int = 1) -> None:
            super().__init__(key, bits, strength)
            self.tile = (self.tile * chip_pixels(name)).astype(np.int16)

    return Shaped


def visibility(name: str) -> float:
    plain = np.zeros((256, 256, 3), np.uint8) + np.array(BACKGROUND, np.uint8)
    mark = shaped(name)(MarkKey(), payload_bits("0123456789ab"))
    return float(np.percentile(looks.scielab(mark.apply_rgb(plain), plain), 99))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--only", nargs="+", choices=CANDIDATES, default=list(CANDIDATES))
    args = parser.parse_args()
    path = ROOT / "scenes" / "templates" / "thrown_balls.yaml"
    template = load_template(path)
    read: dict[str, dict[str, list[tuple[bool, float, float]]]] = {n: {} for n in args.only}
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "c.mp4"
        for k in range(args.clips):
            scene = sample(template, k).scene
            scene = scene.model_copy(update={"seed": 100 + k, "timing": Timing(
                duration=2.5, fps=30, substeps=scene.timing.substeps)})  # fmt: skip
            attacks = robustness.attacks(random.Random(7 + k))
            for name in args.only:
                marks.PictureMark = shaped(name)  # type: ignore[misc]  # Marks.make's class
                run(RenderJob(scene, clip, "mp4", robustness.W, robustness.H, states=False,
                              source=path, overwrite=True, audio="none"))  # fmt: skip
                meta = json.loads(clip.with_suffix(".metadata.json").read_text())
                cid = meta["watermark"]["content_id"]
                for attack, (suffix, ffargs, which) in attacks.items():
                    if which != "picture":
                        continue
                    copy = Path(folder) / f"a{suffix}"
                    subprocess.run([robustness.FFMPEG, "-y", "-loglevel", "error", "-i",
                                    str(clip), *ffargs, str(copy)], check=True)  # fmt: skip
                    got = picture.detect_picture(frames_of(copy), MarkKey())
                    read[name].setdefault(attack, []).append(
                        (got.payload == cid, got.z, got.bit_margin)
                    )
            print(f"clip {k + 1} of {args.clips}", file=sys.stderr, flush=True)
    print("| chip | S-CIELAB ΔE p99 (flat) | " + " | ".join(read[args.only[0]]) + " |")
    print("|---|---|" + "---|" * len(read[args.only[0]]))
    for name, attacks_read in read.items():
        cells = [f"{sum(ok for ok, _, _ in r)}/{len(r)} (z {min(z for _, z, _ in r):.1f}, "
                 f"m {min(m for _, _, m in r):.2f})" for r in attacks_read.values()]  # fmt: skip
        print(f"| {name} | {visibility(name):.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
