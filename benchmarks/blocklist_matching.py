"""How well the blocklist's perceptual prints find copies, and how often they take an
unrelated asset for a blocked one (the numbers behind the thresholds in
``physics_scenes/rights/fingerprint.py``; results in benchmarks/README.md).

Nothing is downloaded: the images are made here (random shapes, gradients with shapes,
noise textures, and frames of our own example renders), and so are the sounds (melodies,
chords, rhythms, noise bursts, and the sound tracks of example renders).

    python benchmarks/blocklist_matching.py                    # about 2 min on 2 cores
    python benchmarks/blocklist_matching.py --images 30 --sounds 8   # quicker
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from physics_scenes.rights.fingerprint import (
    DHASH_MAX,
    PHASH_MAX,
    SOUND_BER,
    SoundPrint,
    image_distance,
    image_matches,
    image_print_of,
    sound_distance,
    sound_print,
    value_distance,
)

ROOT = Path(__file__).resolve().parent.parent
RENDERED = (
    "bouncing_balls",
    "dominoes",
    "newtons_cradle",
    "ragdoll_stairs",
    "rube_goldberg",
    "walker_on_hill",
    "hanging_chain",
    "dam_break",
)
SECONDS = "3"
"""Each example is rendered this long (its first seconds)."""


def scene_file(name: str) -> Path:
    return ROOT / "scenes" / f"{name}.yaml"


# --- images ---------------------------------------------------------------------------


def shapes(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 25))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        box = [x, y, x + int(rng.integers(8, w // 2)), y + int(rng.integers(8, h // 2))]
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.line(box, fill=colour, width=int(rng.integers(2, 12)))
    return image


def gradient(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    a, b, c = rng.uniform(-3, 3, 3)
    base = np.stack([np.sin(a * x + b * y + c + k) for k in range(3)], axis=-1)
    image = Image.fromarray(((base + 1) * 127.5).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 6))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(10, h // 2))
        draw.ellipse(
            [x0 - r, y0 - r, x0 + r, y0 + r], fill=tuple(int(v) for v in rng.integers(0, 256, 3))
        )
    return image


def texture(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    small = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    return image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 3))))


def synthetic(count: int, seed: int) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    makers = (shapes, gradient, texture)
    sizes = ((640, 360), (480, 480), (800, 600), (360, 640), (1024, 576))
    return [makers[i % 3](rng, sizes[int(rng.integers(0, len(sizes)))]) for i in range(count)]


def render_frames(folder: Path, per_scene: int) -> list[tuple[str, Image.Image]]:
    """``per_scene`` frames, evenly spaced, of each example in RENDERED (320x180 PNG)."""
    frames: list[tuple[str, Image.Image]] = []
    for name in RENDERED:
        target = folder / name
        if target.is_dir():  # --keep-renders from an earlier run
            files = sorted(target.glob("frame_*.png"))
            for index in np.linspace(len(files) // 8, len(files) - 1, per_scene).astype(int):
                frames.append((name, Image.open(files[index]).convert("RGB")))
            continue
        command = [
            sys.executable,
            "-m",
            "physics_scenes",
            "render",
            str(scene_file(name)),
            "-o",
            str(target),
            "--format",
            "png",
            "--size",
            "320x180",
            "--no-states",
            "--duration",
            SECONDS,
            "-q",
            "--no-watermark",
            "--no-sign",
        ]
        subprocess.run(command, check=True, env=os.environ | {"SDL_VIDEODRIVER": "dummy"})
        files = sorted(target.glob("frame_*.png"))
        for index in np.linspace(len(files) // 8, len(files) - 1, per_scene).astype(int):
            frames.append((name, Image.open(files[index]).convert("RGB")))
    return frames


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def crop(image: Image.Image, fraction: float, rng: np.random.Generator) -> Image.Image:
    """``fraction`` of the width and of the height cut, split at random between the sides."""
    w, h = image.size
    cut_x, cut_y = round(w * fraction), round(h * fraction)
    left, top = int(rng.integers(0, cut_x + 1)), int(rng.integers(0, cut_y + 1))
    return image.crop((left, top, left + w - cut_x, top + h - cut_y))


def hue(image: Image.Image, degrees: float) -> Image.Image:
    hsv = np.array(image.convert("HSV"))
    hsv[..., 0] = (hsv[..., 0].astype(int) + round(degrees * 256 / 360)) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def scaled(image: Image.Image, factor: float) -> Image.Image:
    w, h = image.size
    return image.resize((round(w * factor), round(h * factor)), Image.Resampling.LANCZOS)


IMAGE_COPIES: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    "resize 0.5x": lambda im, _: scaled(im, 0.5),
    "resize 0.75x": lambda im, _: scaled(im, 0.75),
    "resize 1.5x": lambda im, _: scaled(im, 1.5),
    "JPEG q30": lambda im, _: jpeg(im, 30),
    "JPEG q50": lambda im, _: jpeg(im, 50),
    "JPEG q70": lambda im, _: jpeg(im, 70),
    "crop 5 %": lambda im, rng: crop(im, 0.05, rng),
    "crop 10 %": lambda im, rng: crop(im, 0.10, rng),
    "hue +30°": lambda im, _: hue(im, 30),
    "hue +90°": lambda im, _: hue(im, 90),
    "brightness 0.8x": lambda im, _: ImageEnhance.Brightness(im).enhance(0.8),
    "brightness 1.25x": lambda im, _: ImageEnhance.Brightness(im).enhance(1.25),
    "0.75x + crop 5 % + JPEG q50": lambda im, rng: jpeg(crop(scaled(im, 0.75), 0.05, rng), 50),
}


def image_study(count: int, per_scene: int, unrelated_count: int, renders: Path | None) -> None:
    if renders is not None:
        renders.mkdir(parents=True, exist_ok=True)
        frames = render_frames(renders, per_scene)
    else:
        with tempfile.TemporaryDirectory() as folder:
            frames = render_frames(Path(folder), per_scene)
    originals = [("synthetic", im) for im in synthetic(count, 1)] + frames[::2]
    unrelated = [("synthetic", im) for im in synthetic(unrelated_count, 2)] + frames[1::2]
    prints = [image_print_of(im, f"o{i}") for i, (_, im) in enumerate(originals)]
    rng = np.random.default_rng(3)
    print(
        f"\nimages: {len(originals)} originals ({count} synthetic, {len(frames[::2])} render "
        f"frames), {len(unrelated)} unrelated; thresholds pHash <= {PHASH_MAX}, "
        f"dHash <= {DHASH_MAX} (both, of the luminance or of the colour-insensitive print)"
    )
    print("| copy | matched | luminance pHash median / max | luminance dHash median / max |")
    print("|---|---|---|---|")
    for name, make in IMAGE_COPIES.items():
        copies = [image_print_of(make(im, rng), "copy") for _, im in originals]
        found = [image_distance(p, c) for p, c in zip(prints, copies, strict=True)]
        hits = sum(image_matches(p, c) for p, c in zip(prints, copies, strict=True))
        ph, dh = np.array([f[0] for f in found]), np.array([f[1] for f in found])
        print(
            f"| {name} | {hits}/{len(found)} ({hits / len(found):.1%}) | "
            f"{np.median(ph):.0f} / {ph.max()} | {np.median(dh):.0f} / {dh.max()} |"
        )
    others = [image_print_of(im, f"u{i}") for i, (_, im) in enumerate(unrelated)]
    pairs = false = 0
    closest: list[tuple[int, int]] = []
    for (source_a, _), a in zip(originals, prints, strict=True):
        for (source_b, _), b in zip(unrelated, others, strict=True):
            if source_a != "synthetic" and source_a == source_b:
                continue  # two frames of one clip are near-copies, not unrelated
            closest.append(image_distance(a, b))
            closest.append(value_distance(a, b))
            pairs += 1
            false += image_matches(a, b)
    ph = np.array([c[0] for c in closest])
    dh = np.array([c[1] for c in closest])
    print(
        f"\nunrelated pairs: {pairs}; false matches: {false} ({false / pairs:.3%}); "
        f"pHash min / 1st percentile {ph.min()} / {np.percentile(ph, 1):.0f}, "
        f"dHash min / 1st percentile {dh.min()} / {np.percentile(dh, 1):.0f}"
    )


# --- sounds ---------------------------------------------------------------------------

RATE = 44_100


def melody(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    tempo = float(rng.uniform(2, 8))
    notes = rng.integers(40, 90, int(seconds * tempo) + 2)
    freq = 440.0 * 2 ** ((notes[(t * tempo).astype(int)] - 69) / 12)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    env = np.exp(-((t * tempo) % 1.0) * float(rng.uniform(1, 8)))
    partials = rng.uniform(0, 0.6, 4)
    tone = np.sin(phase) + sum(p * np.sin((k + 2) * phase) for k, p in enumerate(partials))
    return env * tone + 0.02 * rng.standard_normal(len(t))


def chords(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    step = float(rng.uniform(0.4, 1.2))
    for start in np.arange(0, seconds, step):
        root = int(rng.integers(40, 70))
        part = (t >= start) & (t < start + step)
        for interval in (0, int(rng.choice([3, 4])), 7):
            out[part] += np.sin(2 * np.pi * 440 * 2 ** ((root + interval - 69) / 12) * t[part])
    return out


def rhythm(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    out = 0.05 * rng.standard_normal(len(t))
    for hit in np.cumsum(rng.uniform(0.08, 0.5, int(seconds * 12))):
        if hit >= seconds:
            break
        n = int(RATE * 0.15)
        start = int(hit * RATE)
        burst = rng.standard_normal(min(n, len(t) - start)) * np.exp(
            -np.arange(min(n, len(t) - start)) / 800
        )
        tone = np.sin(2 * np.pi * float(rng.uniform(80, 2000)) * np.arange(len(burst)) / RATE)
        out[start : start + len(burst)] += burst * 0.5 + tone * np.exp(
            -np.arange(len(burst)) / 3000
        )
    return out


def made_sounds(count: int, seed: int, seconds: tuple[float, float]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    makers = (melody, chords, rhythm)
    return [makers[i % 3](rng, float(rng.uniform(*seconds))) for i in range(count)]


def write_wav(path: Path, signal: np.ndarray) -> Path:
    signal = 0.5 * signal / max(1e-9, float(np.abs(signal).max()))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((signal * 32767).astype("<i2").tobytes())
    return path


def ffmpeg(source: Path, target: Path, *args: str) -> Path:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run(
        [exe, "-hide_banner", "-loglevel", "error", "-i", str(source), *args, "-y", str(target)],
        check=True,
    )
    return target


SOUND_COPIES: dict[str, Callable[[Path, Path], Path]] = {
    "AAC 96k": lambda s, f: ffmpeg(s, f / "c.m4a", "-c:a", "aac", "-b:a", "96k"),
    "MP3 128k": lambda s, f: ffmpeg(s, f / "c.mp3", "-b:a", "128k"),
    "gain +6 dB": lambda s, f: ffmpeg(s, f / "c.wav", "-af", "volume=6dB", "-c:a", "pcm_f32le"),
    "gain -6 dB": lambda s, f: ffmpeg(s, f / "c.wav", "-af", "volume=-6dB"),
    "MP3 128k, -6 dB": lambda s, f: ffmpeg(s, f / "c.mp3", "-af", "volume=-6dB", "-b:a", "128k"),
}


def render_sounds(folder: Path) -> list[Path]:
    found = []
    for name in RENDERED[:5]:
        target = folder / f"{name}.mp4"
        command = [
            sys.executable,
            "-m",
            "physics_scenes",
            "render",
            str(scene_file(name)),
            "-o",
            str(target),
            "--size",
            "64x36",
            "--audio",
            "wav",
            "--no-states",
            "-q",
            "--duration",
            "8",
            "--no-watermark",
            "--no-sign",
        ]
        subprocess.run(command, check=True, env=os.environ | {"SDL_VIDEODRIVER": "dummy"})
        found.append(target.with_suffix(".wav"))
    return found


def sound_study(count: int, short: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sources = [
            write_wav(folder / f"s{i}.wav", s)
            for i, s in enumerate(made_sounds(count, 1, (4.0, 20.0)))
        ]
        sources += [
            write_wav(folder / f"short{i}.wav", s)
            for i, s in enumerate(made_sounds(short, 5, (0.3, 2.0)))
        ]
        sources += render_sounds(folder)
        prints = [sound_print(path) for path in sources]
        print(
            f"\nsounds: {len(sources)} originals ({count} made, 4-20 s; {short} short, "
            f"0.3-2 s; {len(sources) - count - short} example render tracks); "
            f"threshold {SOUND_BER:.0%} of bits"
        )
        print("| copy | matched | bit error rate median / max |")
        print("|---|---|---|")
        for copy_name, make in SOUND_COPIES.items():
            rates = []
            for path, blocked in zip(sources, prints, strict=True):
                rates.append(sound_distance(blocked, sound_print(make(path, folder))))
            values = np.array(rates)
            hits = int(np.sum(values <= SOUND_BER))
            print(
                f"| {copy_name} | {hits}/{len(values)} ({hits / len(values):.1%}) | "
                f"{np.median(values):.1%} / {values.max():.1%} |"
            )
        others = [
            write_wav(folder / f"u{i}.wav", s)
            for i, s in enumerate(made_sounds(count * 2, 9, (0.3, 20.0)))
        ]
        other_prints = [sound_print(path) for path in others]
        everyone: list[SoundPrint] = prints + other_prints
        rates = [sound_distance(a, b) for i, a in enumerate(everyone) for b in everyone[i + 1 :]]
        values = np.array(rates)
        false = int(np.sum(values <= SOUND_BER))
        print(
            f"\nunrelated pairs: {len(values)}; false matches: {false} "
            f"({false / len(values):.3%}); bit error rate min / 1st percentile / median "
            f"{values.min():.1%} / {np.percentile(values, 1):.1%} / "
            f"{np.median(values):.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=100, help="synthetic originals")
    parser.add_argument("--frames", type=int, default=12, help="render frames per example")
    parser.add_argument("--unrelated", type=int, default=300, help="synthetic unrelated images")
    parser.add_argument("--sounds", type=int, default=15, help="made originals, 4-20 s")
    parser.add_argument("--short", type=int, default=6, help="made originals, 0.3-2 s")
    parser.add_argument("--renders", type=Path, help="keep (and reuse) the example frames here")
    parser.add_argument("--only", choices=["images", "sounds"], help="run one half")
    args = parser.parse_args()
    if args.only != "sounds":
        image_study(args.images, args.frames, args.unrelated, args.renders)
    if args.only != "images":
        sound_study(args.sounds, args.short)


if __name__ == "__main__":
    main()
