"""File size and picture quality of each ``--quality`` preset, for the README's table.

    python benchmarks/quality_sizes.py                      # bouncing_balls and ball_pile, 720p
    python benchmarks/quality_sizes.py scenes/dominoes.yaml

Renders each scene once as lossless PNG frames and once per preset as MP4 (picture only,
no sound), then measures every MP4 against the PNGs (as 4:2:0 YUV) with ffmpeg's PSNR and
SSIM filters.
Sizes and scores are deterministic (the encoder runs with fixed threads and bitexact flags).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import imageio_ffmpeg

from physics_scenes import load_scene
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.sink import QUALITY

ROOT = Path(__file__).resolve().parent.parent


def scores(video: Path, frames: Path, fps: int) -> tuple[float, float]:
    """(PSNR dB, SSIM) of ``video`` against the PNG frames in the same 4:2:0 YUV, averaged
    over every frame: what the encoder lost (colour subsampling itself costs every preset
    alike: small saturated balls score ≈ 32 dB in RGB even when encoded losslessly)."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(video),
        "-framerate", str(fps), "-i", str(frames / "frame_%06d.png"),
        "-lavfi", "[1:v]format=yuv420p,split[b][d];[0:v]split[a][c];[a][b]psnr;[c][d]ssim",
        "-f", "null", "-",
    ]  # fmt: skip
    log = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    psnr = re.search(r"PSNR .*? average:([\d.]+|inf)", log)
    ssim = re.search(r"SSIM .*? All:([\d.]+)", log)
    assert psnr and ssim, log[-2000:]
    return float(psnr.group(1)), float(ssim.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", type=Path,
                        default=[ROOT / "scenes" / "bouncing_balls.yaml",
                                 ROOT / "scenes" / "ball_pile.yaml"])  # fmt: skip
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    print("| scene | quality | x264 | size | bit rate | PSNR | SSIM |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.scenes:
            scene = load_scene(path)
            seconds = scene.timing.frame_count / scene.timing.fps
            frames = Path(tmp) / f"{path.stem}_frames"
            run(RenderJob(scene, frames, "png", width, height, states=False, audio="none"))
            for quality, setting in QUALITY.items():
                video = Path(tmp) / f"{path.stem}_{quality}.mp4"
                run(RenderJob(scene, video, "mp4", width, height, quality, states=False,
                              audio="none"))  # fmt: skip
                size = video.stat().st_size
                psnr, ssim = scores(video, frames, scene.timing.fps)
                print(f"| {path.stem} ({seconds:g} s) | {quality} | {setting.preset}, CRF "
                      f"{setting.crf} | {size / 1e6:.2f} MB | {size * 8 / seconds / 1e6:.2f} Mbit/s"
                      f" | {psnr:.1f} dB | {ssim:.4f} |")  # fmt: skip
            sys.stdout.flush()


if __name__ == "__main__":
    main()
