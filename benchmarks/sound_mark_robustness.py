"""How often the sound mark survives re-encoding and cuts, how loud it is, and how often it
is found where there is none. Prints the table that benchmarks/README.md quotes.

    nice -n 10 python benchmarks/sound_mark_robustness.py --clips 60 --negatives 1000

Marked clips: every scene in scenes/ in turn, rendered as delivered (MP4 with its AAC
track, the mark in the master before the encode; a tiny picture, since only the sound is
read) for 3, 4 or 5 s with a different seed each, then each attack made with the bundled
ffmpeg from the delivered MP4 and read back by ``verify``'s detector. A clip counts only
when the exact content id comes back. The same clip rendered with ``--no-watermark`` gives
the unmarked negative and, marked as the pipeline marks a master, the mark's level: under
the whole programme and under the programme's own part in the mark's band, over the slots where
the programme is within 40 dB of its loudest. Noise negatives: 4 s of noise, half of it
in bursts with silences.
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
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watermark_robustness import wilson  # noqa: E402  (benchmarks/ is the script's folder)

from physics_scenes.job.pipeline import RenderJob, run  # noqa: E402
from physics_scenes.output.provenance.marks import _samples  # noqa: E402
from physics_scenes.output.provenance.media import sound_of  # noqa: E402
from physics_scenes.output.provenance.payload import MarkKey, payload_bits  # noqa: E402
from physics_scenes.output.provenance.sound import BAND, detect_sound, mark_track  # noqa: E402
from physics_scenes.scene.loader import load_scene  # noqa: E402
from physics_scenes.scene.model import Timing  # noqa: E402

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def attacks(rng: random.Random, seconds: float) -> dict[str, list[str]]:
    start = rng.uniform(0, seconds - 2.0)
    return {
        "as delivered (AAC in the MP4)": ["-c:a", "copy"],
        "AAC 96k": ["-c:a", "aac", "-b:a", "96k"],
        "MP3 128k": ["-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100"],
        "any 2 s, AAC": ["-ss", f"{start:.3f}", "-t", "2", "-c:a", "aac"],
    }


def levels(plain: Path, cid: str) -> tuple[float, float]:
    """(mark under the programme, under its part in the mark's band) in dB, loud parts: the mark
    the pipeline adds to this clip's unmarked master (a marked render is mastered with the
    mark inside the loudness loop, so its gain differs by up to 0.7 dB: subtracting the two
    renders measures that, not the mark)."""
    with wave.open(str(plain)) as b:
        track = _samples(b.readframes(b.getnframes()), b.getnchannels())
    y = track.mean(axis=1)
    x = mark_track(track, MarkKey(), payload_bits(cid)).mean(axis=1)
    n = len(y) // 1024 * 1024
    mark, prog = (x[:n] - y[:n]).reshape(-1, 1024), y[:n].reshape(-1, 1024)
    loud = np.sqrt(np.mean(prog**2, axis=1))
    keep = loud > loud.max() * 0.01
    hz = np.fft.rfftfreq(1024, 1 / 48_000)
    band = (hz >= BAND[0]) & (hz <= BAND[1])
    pm = np.abs(np.fft.rfft(mark[keep] * np.hanning(1024), axis=1)) ** 2
    pp = np.abs(np.fft.rfft(prog[keep] * np.hanning(1024), axis=1)) ** 2
    if pp.sum() <= 0 or pm.sum() <= 0:
        return math.nan, math.nan  # a silent clip (u_tube): nothing to be under
    whole = 10 * math.log10(pm.sum() / pp.sum())
    in_band = 10 * math.log10(pm[:, band].sum() / pp[:, band].sum())
    return whole, in_band


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--negatives", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--marked-only",
        action="store_true",
        help="no unmarked twin of each clip (negatives, level): half the renders",
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
    rng = random.Random(17 + args.first)
    scenes = sorted((ROOT / "scenes").glob("*.yaml"))
    tried: dict[str, int] = {}
    found: dict[str, int] = {}
    wrong: dict[str, int] = {}
    neg = {"unmarked render sound": [0, 0], "noise sound": [0, 0]}
    marks: list[tuple[str, float, float]] = []
    started = time.perf_counter()
    nrng = np.random.default_rng(11)
    for _ in range(args.negatives):
        noise = nrng.normal(0, nrng.uniform(0.01, 0.3), (48_000 * 4, 1))
        if nrng.random() < 0.5:  # bursts and silences, like impacts
            noise *= (nrng.random((48_000 * 4, 1)) < 0.3).cumsum(axis=0) % 2
        neg["noise sound"][0] += 1
        neg["noise sound"][1] += detect_sound(np.repeat(noise, 2, axis=1), MarkKey()).found
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for k in range(args.first, args.first + args.clips):
            path = scenes[k % len(scenes)]
            seconds = rng.choice([3.0, 4.0, 5.0])
            scene = load_scene(path)
            scene = scene.model_copy(update={"seed": 100 + k, "timing": Timing(
                duration=seconds, fps=30, substeps=scene.timing.substeps)})  # fmt: skip
            clip, plain = work / f"c{k}.mp4", work / f"p{k}.mp4"
            for target, marked in ((clip, True), (plain, False))[: 1 if args.marked_only else 2]:
                run(RenderJob(scene, target, "mp4", 96, 54, states=False, source=path,
                              overwrite=True, audio="wav", watermark=marked))  # fmt: skip
            meta = json.loads((work / f"c{k}.metadata.json").read_text())
            cid = meta["watermark"]["content_id"]
            if not args.marked_only:
                marks.append((path.stem, *levels(plain.with_suffix(".wav"), cid)))
            for name, ffargs in attacks(rng, seconds).items():
                copy = work / ("a.mp3" if "MP3" in name else "a.m4a")
                subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(clip), "-vn",
                                *ffargs, str(copy)], check=True)  # fmt: skip
                sound = sound_of(copy)
                got = detect_sound(sound, MarkKey()).payload if sound is not None else None
                tried[name] = tried.get(name, 0) + 1
                found[name] = found.get(name, 0) + (got == cid)
                if got != cid:
                    print(f"clip {k + 1}: {name}: read {got}, not {cid}", file=sys.stderr)
                wrong[name] = wrong.get(name, 0) + (got is not None and got != cid)
            sound = None if args.marked_only else sound_of(plain)
            if sound is not None:
                neg["unmarked render sound"][0] += 1
                neg["unmarked render sound"][1] += detect_sound(sound, MarkKey()).found
            print(f"clip {k + 1} ({path.stem}, {seconds:.0f} s) "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
            report(tried, found, wrong, neg, marks, args.json)
    report(tried, found, wrong, neg, marks, args.json)
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)


def report(tried: dict[str, int], found: dict[str, int], wrong: dict[str, int],
           neg: dict[str, list[int]], marks: list[tuple[str, float, float]],
           save: Path | None) -> None:  # fmt: skip
    """Print the tables (and save the counts), so an interrupted run still reports."""
    lines = ["| attack | detected (exact id) | 95 % interval | wrong id |", "|---|---|---|---|"]
    for name, n in tried.items():
        low, high = wilson(found[name], n)
        lines.append(f"| {name} | {found[name]}/{n} ({100 * found[name] / n:.1f} %) "
                     f"| {100 * low:.1f}-{100 * high:.1f} % | {wrong[name]} |")  # fmt: skip
    lines += ["", "| unmarked input | checked | false positives |", "|---|---|---|"]
    lines += [f"| {name} | {n} | {fp} |" for name, (n, fp) in neg.items()]
    marks = [m for m in marks if math.isfinite(m[1]) and math.isfinite(m[2])]  # not silent
    if marks:
        whole = np.array([m[1] for m in marks])
        band = np.array([m[2] for m in marks])
        lines += ["", f"| mark under ({len(marks)} clips with sound) | median | loudest clip "
                  "| quietest clip |", "|---|---|---|---|",
                  f"| the whole programme | {np.median(whole):.1f} dB | {whole.max():.1f} dB "
                  f"({marks[int(whole.argmax())][0]}) | {whole.min():.1f} dB |",
                  f"| its part in the mark's band | {np.median(band):.1f} dB | {band.max():.1f} dB "
                  f"({marks[int(band.argmax())][0]}) | {band.min():.1f} dB |"]  # fmt: skip
    print("\n".join(lines), flush=True)
    if save is not None:
        save.write_text(json.dumps({"tried": tried, "found": found, "wrong": wrong,
                                    "negatives": neg, "marks": marks}, indent=1))  # fmt: skip


def combine(paths: list[Path]) -> None:
    """The tables of several batches (``--first``) together: their counts summed."""
    tried: dict[str, int] = {}
    found: dict[str, int] = {}
    wrong: dict[str, int] = {}
    neg: dict[str, list[int]] = {}
    marks: list[tuple[str, float, float]] = []
    for path in paths:
        run_ = json.loads(path.read_text())
        for total, part in ((tried, run_["tried"]), (found, run_["found"]), (wrong, run_["wrong"])):
            for name, n in part.items():
                total[name] = total.get(name, 0) + n
        for name, (n, fp) in run_["negatives"].items():
            both = neg.setdefault(name, [0, 0])
            both[0], both[1] = both[0] + n, both[1] + fp
        marks += [tuple(m) for m in run_["marks"]]
    report(tried, found, wrong, neg, marks, None)


if __name__ == "__main__":
    main()
