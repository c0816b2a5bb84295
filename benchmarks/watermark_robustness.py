"""How often the in-signal marks survive attacks, and how often they are found where there
are none. Prints the table that benchmarks/README.md quotes.

    nice -n 10 python benchmarks/watermark_robustness.py --clips 40 --negatives 1000
    nice -n 10 python benchmarks/watermark_robustness.py --clips 300 --negatives 0 \
        --template scenes/templates/thrown_balls.yaml --picture-only  # the picture's attacks

With ``--template``, clip k is item k of that template (``sample``: every clip different:
positions, sizes, colours, counts), 2.5 s long. The table gives each rate's 95 % Wilson
interval: 300 of 300 bounds the rate over 98.7 %, which is what "99 %" can honestly rest on.

Marked clips: every scene in scenes/ rendered at 320x180, 30 fps, 3-4 s, with several
seeds (so the content ids differ), then each attack made with the bundled ffmpeg and the
copy read back by the same detectors ``verify`` uses. A clip counts as detected only when
the exact content id comes back; a different id is counted separately (a false read).
Negatives: frames of the same renders without the mark (each frame alone), smooth
random "natural" pictures, and unmarked sound tracks and noise.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from physics_scenes.job.pipeline import RenderJob, run  # noqa: E402
from physics_scenes.output.provenance.media import frames_of, sound_of  # noqa: E402
from physics_scenes.output.provenance.payload import MarkKey  # noqa: E402
from physics_scenes.output.provenance.picture import detect_picture  # noqa: E402
from physics_scenes.output.provenance.sound import detect_sound  # noqa: E402
from physics_scenes.scene.loader import load_scene  # noqa: E402
from physics_scenes.scene.model import Timing  # noqa: E402
from physics_scenes.scene.template import load_template, sample  # noqa: E402

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
W, H = 320, 180


def attacks(rng: random.Random) -> dict[str, tuple[str, list[str], str]]:
    """name -> (output suffix, ffmpeg arguments, which mark to read: picture/sound)."""
    side = rng.choice(["left", "right", "top", "bottom", "all"])
    cw, ch = (0.8, 1.0) if side in ("left", "right") else (1.0, 0.8)
    if side == "all":
        cw, ch = 0.8, 0.8
    x = {"left": "iw*0.2", "right": "0"}.get(side, f"{rng.randint(0, 30)}")
    y = {"top": "ih*0.2", "bottom": "0"}.get(side, f"{rng.randint(0, 17)}")
    start = rng.uniform(0, 1.0)
    return {
        "H.264 CRF 18": (".mp4", ["-c:v", "libx264", "-crf", "18", "-an"], "picture"),
        "H.264 CRF 23": (".mp4", ["-c:v", "libx264", "-crf", "23", "-an"], "picture"),
        "H.264 CRF 28": (".mp4", ["-c:v", "libx264", "-crf", "28", "-an"], "picture"),
        "resize to half": (".mp4", ["-vf", "scale=iw/2:ih/2", "-c:v", "libx264", "-an"], "picture"),
        "resize to 0.75": (".mp4", ["-vf", "scale=240:136", "-c:v", "libx264", "-an"], "picture"),
        "crop 20 % (random side, offset)": (
            ".mp4", ["-vf", f"crop=iw*{cw}:ih*{ch}:{x}:{y}", "-c:v", "libx264", "-an"], "picture"),
        "GIF": (".gif", ["-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse"], "picture"),
        "brightness/contrast 10 %": (
            ".mp4", ["-vf", "eq=brightness=0.05:contrast=1.1", "-c:v", "libx264", "-an"],
            "picture"),
        "trim to 2 s (picture)": (
            ".mp4", ["-ss", f"{start:.2f}", "-t", "2", "-c:v", "libx264", "-an"], "picture"),
        "AAC 96k": (".m4a", ["-vn", "-c:a", "aac", "-b:a", "96k"], "sound"),
        "MP3 128k": (".mp3", ["-vn", "-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100"],
                     "sound"),
        "trim to 2 s (sound, AAC)": (
            ".m4a", ["-ss", f"{start:.2f}", "-t", "2", "-vn", "-c:a", "aac"], "sound"),
    }  # fmt: skip


def read(path: Path, which: str) -> str | None:
    if which == "picture":
        return detect_picture(frames_of(path), MarkKey()).payload
    sound = sound_of(path)
    return detect_sound(sound, MarkKey()).payload if sound is not None else None


def natural(rng: np.random.Generator, height: int = H, width: int = W) -> np.ndarray:
    """A smooth random picture: 1/f noise plus a few flat shapes (neither a render nor a mark)."""
    fy, fx = np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij")
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1
    out = np.empty((height, width, 3))
    for c in range(3):
        spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f**1.5
        plane = np.real(np.fft.ifft2(spectrum))
        out[..., c] = 128 + 50 * plane / (plane.std() + 1e-9)
    y, x = np.mgrid[0:height, 0:width]
    for _ in range(rng.integers(0, 6)):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(5, 50)
        out[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    if rng.random() < 0.5:
        out += rng.normal(0, rng.uniform(0.5, 4), out.shape)  # sensor-like grain
    return np.clip(out, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--negatives", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--first", type=int, default=0, help="first clip number (seed 100 + it)")
    parser.add_argument("--template", type=Path, help="clips sampled from this template")
    parser.add_argument("--picture-only", action="store_true", help="skip the sound attacks")
    parser.add_argument(
        "--marked-only",
        action="store_true",
        help="no unmarked twin of each clip (its negatives): half the renders",
    )
    parser.add_argument(
        "--negative-seed",
        type=int,
        default=11,
        help="another seed gives other negatives to add to a run's",
    )
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="print the tables of these runs' --json files together",
    )
    args = parser.parse_args()
    if args.combine:
        combine(args.combine)
        return
    template = load_template(args.template) if args.template is not None else None
    rng = random.Random(7 + args.first)
    scenes = sorted((ROOT / "scenes").glob("*.yaml"))
    found: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    tried: Counter[str] = Counter()
    neg = {"unmarked render frames": [0, 0], "unmarked render clips": [0, 0],
           "natural pictures": [0, 0], "unmarked render sound": [0, 0],
           "noise sound": [0, 0]}  # fmt: skip
    started = time.perf_counter()
    nrng = np.random.default_rng(args.negative_seed)
    for _ in range(args.negatives):
        neg["natural pictures"][0] += 1
        neg["natural pictures"][1] += detect_picture([natural(nrng)], MarkKey()).found
        noise = nrng.normal(0, nrng.uniform(0.01, 0.3), (48_000 * 4, 1))
        if nrng.random() < 0.5:  # bursts and silences, like impacts
            noise *= (nrng.random((48_000 * 4, 1)) < 0.3).cumsum(axis=0) % 2
        neg["noise sound"][0] += 1
        neg["noise sound"][1] += detect_sound(np.repeat(noise, 2, axis=1), MarkKey()).found
    print(f"negatives done {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for k in range(args.first, args.first + args.clips):
            path = scenes[k % len(scenes)] if template is None else args.template
            scene = load_scene(path) if template is None else sample(template, k).scene
            seconds = rng.choice([3.0, 4.0]) if template is None else 2.5
            scene = scene.model_copy(update={"seed": 100 + k, "timing": Timing(
                duration=seconds, fps=30, substeps=scene.timing.substeps)})  # fmt: skip
            clip = work / f"c{k}.mp4"
            run(RenderJob(scene, clip, "mp4", W, H, states=False, source=path, overwrite=True))
            cid = json.loads((work / f"c{k}.metadata.json").read_text())["watermark"]["content_id"]
            for name, (suffix, ffargs, which) in attacks(rng).items():
                if args.picture_only and which == "sound":
                    continue
                copy = work / f"a{suffix}"
                subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(clip), *ffargs,
                                str(copy)], check=True)  # fmt: skip
                got = read(copy, which)
                tried[name] += 1
                found[name] += got == cid
                if got != cid:
                    print(f"clip {k + 1}: {name}: read {got}, not {cid}", file=sys.stderr)
                wrong[name] += got is not None and got != cid
            plain = work / f"p{k}.mp4"
            if args.marked_only:
                print(f"clip {k + 1} {time.perf_counter() - started:.0f} s", file=sys.stderr)
                report(found, wrong, tried, neg, args.json)
                continue
            run(RenderJob(scene, plain, "mp4", W, H, states=False, source=path, overwrite=True,
                          watermark=False))  # fmt: skip
            for frame in frames_of(plain, limit=30):
                neg["unmarked render frames"][0] += 1
                neg["unmarked render frames"][1] += detect_picture([frame], MarkKey()).found
            neg["unmarked render clips"][0] += 1  # the whole clip, as verify reads it
            neg["unmarked render clips"][1] += detect_picture(frames_of(plain), MarkKey()).found
            sound = sound_of(plain)
            if sound is not None:
                neg["unmarked render sound"][0] += 1
                neg["unmarked render sound"][1] += detect_sound(sound, MarkKey()).found
            print(f"clip {k + 1} ({path.stem}) {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)  # fmt: skip
            report(found, wrong, tried, neg, args.json)
    report(found, wrong, tried, neg, args.json)
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)


def wilson(ok: int, n: int) -> tuple[float, float]:
    """95 % Wilson interval of a proportion (honest at 0 or n of n, unlike ±1.96 sd);
    (0, 1) for no trials."""
    if n == 0:
        return 0.0, 1.0
    z = 1.96
    centre = (ok / n + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(ok / n * (1 - ok / n) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def report(found: Counter[str], wrong: Counter[str], tried: Counter[str],
           neg: dict[str, list[int]], save: Path | None) -> None:  # fmt: skip
    """Print the tables (and save the counts), so an interrupted run still reports."""
    lines = ["| attack | mark read | detected (exact id) | 95 % interval | wrong id |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, (_, _, which) in attacks(random.Random(0)).items():
        n, ok = tried[name], found[name]
        if n == 0:
            continue
        rate = f"{ok}/{n} ({100 * ok / n:.1f} %)"
        low, high = wilson(ok, n)
        lines.append(f"| {name} | {which} | {rate} | {100 * low:.1f}-{100 * high:.1f} % "
                     f"| {wrong[name]} |")  # fmt: skip
    lines += ["", "| unmarked input | checked | false positives |", "|---|---|---|"]
    for name, (n, fp) in neg.items():
        lines.append(f"| {name} | {n} | {fp} |")
    print("\n".join(lines), flush=True)
    if save is not None:
        save.write_text(json.dumps({"found": found, "wrong": wrong, "tried": tried,
                                    "negatives": neg}, indent=1))  # fmt: skip


def combine(paths: list[Path]) -> None:
    """The tables of several batches (``--first``) together: their counts summed."""
    found: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    tried: Counter[str] = Counter()
    neg: dict[str, list[int]] = {}
    for path in paths:
        run_ = json.loads(path.read_text())
        found.update(run_["found"]), wrong.update(run_["wrong"]), tried.update(run_["tried"])
        for name, (n, fp) in run_["negatives"].items():
            total = neg.setdefault(name, [0, 0])
            total[0], total[1] = total[0] + n, total[1] + fp
    report(found, wrong, tried, neg, None)


if __name__ == "__main__":
    main()
