"""Colour: the MP4 is BT.709, converted and tagged, so players show the drawn colours;
the GIF's palette keeps the scene's flat colours exact."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
from scipy import ndimage

from physics_scenes import parse_scene, simulate
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.picture.renderer import Renderer

from helpers import decode_video

RUBBER = (228, 87, 46)
SCENE = """
seed: 2
world: {size: [8, 4.5], background: "#e4572e", walls: true}
timing: {frames: 6, fps: 25}
bodies:
  - {kind: ball, name: a, radius: 0.5, position: [2, 3], velocity: [3, 0], color: "#29335c"}
  - {kind: box, name: b, size: [1.2, 0.8], position: [5, 1], angle: 20, color: "#a8c686"}
  - {kind: ball, name: c, radius: 0.3, position: [6, 3.5], velocity: [0, -6], color: "#f0f3bd"}
"""


def decoded_as_a_player_does(target: Path) -> np.ndarray:
    """The first frame decoded as a BT.709 player does, whatever ffmpeg's own default."""
    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(target), "-frames:v", "1",
         "-vf", "scale=in_color_matrix=bt709:in_range=tv", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(180, 320, 3)


def test_mp4_is_bt709_tagged_and_shows_the_drawn_colour(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    run(RenderJob(parse_scene(SCENE), target, "mp4", 320, 180, watermark=False))  # see below
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(target)],
        capture_output=True, text=True,
    )  # fmt: skip
    # matrix, then primaries/transfer when they differ; one name when all three agree
    assert re.search(r"yuv420p\(tv, bt709, progressive\)", probe.stderr), probe.stderr
    rgb = decoded_as_a_player_does(target)
    corner = rgb[20:40, 150:170].reshape(-1, 3).astype(int)  # background, far from bodies
    assert np.abs(corner - RUBBER).max() <= 2, corner[0]
    assert np.abs(decode_video(target).frames[0][30, 160].astype(int) - RUBBER).max() <= 2
    # by default the invisible provenance mark adds ±1 level to every pixel (zero-mean over
    # its 128 px tile); once encoded, pixels of a flat area differ by a few levels, and its
    # mean colour by less than one
    run(RenderJob(parse_scene(SCENE), target, "mp4", 320, 180, overwrite=True))
    background = (np.abs(rgb.astype(int) - RUBBER) <= 2).all(axis=2)  # flat, far from edges
    background = ndimage.binary_erosion(background, iterations=3)
    change = (decoded_as_a_player_does(target).astype(int) - rgb.astype(int))[background]
    assert background.mean() > 0.5
    # measured: median 2 levels, 99.9 % within 4, the mean colour within 0.7 of a level
    assert np.median(np.abs(change)) <= 2 and np.percentile(np.abs(change), 99.9) <= 4
    assert np.abs(change.mean(axis=0)).max() <= 1


def test_gif_keeps_flat_colours_flat_and_delays_even(tmp_path: Path) -> None:
    scene = parse_scene(SCENE)
    target = tmp_path / "clip.gif"
    run(RenderJob(scene, target, "gif", 320, 180, watermark=False))  # the mark: below
    gif = iio.imread(target, index=None)[..., :3].astype(int)
    layout, frames = simulate(scene)
    renderer = Renderer(layout, 320, 180)
    exact = np.array([renderer.render(f).rgb() for f in frames], dtype=int)
    assert gif.shape == exact.shape
    assert [iio.immeta(target, index=i)["duration"] for i in range(len(gif))] == [40] * 6
    # a pixel inside a flat area (its 3x3 neighbourhood one colour) keeps that colour
    same = np.ones(exact.shape[:3], bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(exact, (dy, dx), axis=(1, 2))
            same &= (shifted == exact).all(axis=3)
    flat = same[:, 1:-1, 1:-1]
    assert flat.mean() > 0.8
    off = (gif[:, 1:-1, 1:-1] != exact[:, 1:-1, 1:-1]).any(axis=3) & flat
    # error diffusion may carry an edge's rounding a pixel or two into a flat area, rarely
    # (1 pixel of 570 000 here); the Bayer-dithered palette changed 50 % of them
    assert off.sum() <= flat.sum() / 100_000, (off.sum(), flat.sum())
    mse = ((gif - exact) ** 2).mean()
    assert 10 * np.log10(255**2 / mse) > 40  # was 35 dB with a Bayer-dithered palette
    # with the invisible provenance mark (the default) the GIF carries it: every pixel of a
    # flat area is within a level or two of its colour, and no more
    run(RenderJob(scene, target, "gif", 320, 180, overwrite=True))
    marked = iio.imread(target, index=None)[..., :3].astype(int)
    near = np.abs(marked[:, 1:-1, 1:-1] - exact[:, 1:-1, 1:-1]).max(axis=3)[flat]
    assert np.percentile(near, 99) <= 2 and near.mean() <= 1.5, (near.max(), near.mean())
