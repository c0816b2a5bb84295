"""Sub-pixel drawing: discs found by colour in the written frames sit where the states'
camera ``matrix`` puts them, with the right radius, at any fractional position."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from physics_scenes import parse_scene, simulate
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.picture.renderer import Renderer
from physics_scenes.scene.colors import shade

from helpers import decode_video

BACKGROUND = np.array([16, 16, 16], dtype=np.float64)
FILL = (228, 87, 46)  # "#e4572e"
RADII = (0.07, 0.11, 0.16, 0.23, 0.35, 0.52)
"""Metres; 5.6 to 41.6 px at 80 px/m (1280x720 showing 16 m x 9 m)."""


def scene_text() -> str:
    rows = []
    for i, radius in enumerate(RADII):  # one row of balls per radius, spread by jitter
        rows.append(
            f"  - {{kind: ball, name: r{i}, radius: {radius}, position: [1.1, {0.9 + 1.3 * i}],"
            f" velocity: [0.37, 0.21], angular_velocity: {90 + 40 * i}, color: '#e4572e',"
            f" grid: {{columns: 12, rows: 1, spacing: [1.21, 0], jitter: 0.05}}}}"
        )
    return (
        "seed: 3\nworld: {size: [16, 9], gravity: [0, 0], background: '#101010'}\n"
        "timing: {frames: 3, fps: 30}\nbodies:\n" + "\n".join(rows) + "\n"
    )


def measure(rgb: np.ndarray, center: np.ndarray, radius: float) -> tuple[np.ndarray, float]:
    """Centroid (px, pixel i spans [i, i+1)) and radius (from the area) of the disc near
    ``center``: each pixel's coverage is its colour's share of the way from the background
    to the outermost colour, the rim's (12 % of the radius, drawn from 0.75 px) or else the
    fill's (fill and spin mark lie beyond the rim colour and count as 1)."""
    outermost = shade(FILL, 0.55) if radius * 0.12 >= 0.75 else FILL
    edge = np.array(outermost, dtype=np.float64) - BACKGROUND
    reach = int(radius) + 4
    x0, y0 = int(center[0]) - reach, int(center[1]) - reach
    window = rgb[y0 : y0 + 2 * reach + 1, x0 : x0 + 2 * reach + 1].astype(np.float64)
    cover = np.clip((window - BACKGROUND) @ edge / (edge @ edge), 0, 1)
    ys, xs = np.mgrid[0 : cover.shape[0], 0 : cover.shape[1]] + 0.5
    area = cover.sum()
    found = np.array([(cover * xs).sum() / area + x0, (cover * ys).sum() / area + y0])
    return found, float(np.sqrt(area / np.pi))


def errors(frames: list[np.ndarray], states: Path) -> tuple[np.ndarray, np.ndarray]:
    lines = [json.loads(line) for line in states.read_text().splitlines()]
    records = [line for line in lines[1:] if "index" in line]
    radii = [shape["radius"] for body in lines[0]["bodies"] for shape in body["shapes"]]
    offsets, sizes = [], []
    for rgb, record in zip(frames, records, strict=True):
        matrix = np.array(record["camera"]["matrix"])
        scale = record["camera"]["scale"]
        for (x, y), radius in zip(record["position"], radii, strict=True):
            expected = matrix @ np.array([x, y, 1.0])
            found, size = measure(rgb, expected, radius * scale)
            offsets.append(np.hypot(*(found - expected)))
            sizes.append(size - radius * scale)
    return np.array(offsets), np.array(sizes)


def test_discs_are_drawn_at_their_sub_pixel_place_and_size(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    run(RenderJob(parse_scene(scene_text()), target, "png", 1280, 720, audio="none"))
    frames = [iio.imread(path) for path in sorted(target.glob("frame_*.png"))]
    offset, size = errors(frames, target.with_suffix(".states.jsonl"))
    assert len(offset) == 3 * 72
    # pygame's aacircle (whole-pixel centre and radius) was 0.40 px median, 0.74 max off
    assert np.median(offset) <= 0.1 and offset.max() <= 0.25, (np.median(offset), offset.max())
    assert np.abs(size).max() <= 0.25, size


@pytest.mark.slow
def test_discs_keep_their_place_through_the_mp4(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    run(RenderJob(parse_scene(scene_text()), target, "mp4", 1280, 720, "high", audio="none"))
    frames = list(decode_video(target).frames)
    offset, size = errors(frames, target.with_suffix(".states.jsonl"))
    assert np.median(offset) <= 0.1 and offset.max() <= 0.25, (np.median(offset), offset.max())
    assert np.abs(size).max() <= 0.25, size


def test_a_shape_moved_by_a_fraction_of_a_pixel_moves_its_picture_by_that_much() -> None:
    """Boxes and capsules too: the coverage-weighted centre follows a 1/8-pixel shift."""
    text = """
world: {size: [16, 9], gravity: [0, 0], background: '#101010'}
timing: {frames: 1, fps: 30}
bodies:
  - {kind: box, name: crate, size: [0.8, 0.5], position: [4, 4], angle: 23, color: '#e4572e'}
  - {kind: segment, name: rail, a: [9, 3], b: [12, 4.1], thickness: 0.06, color: '#e4572e',
     body_type: dynamic}
"""
    layout, frames = simulate(parse_scene(text))
    frame = next(iter(frames))
    renderer = Renderer(layout, 640, 360)
    view = renderer.default_view()
    centres = []
    for shift in np.arange(8) / 8 / view.scale:
        moved = frame.position + np.array([shift, shift / 2])
        shifted = type(frame)(0, 0.0, moved, frame.angle, frame.velocity, frame.angular_velocity)
        rgb = renderer.render(shifted, view).rgb().astype(np.float64)
        weight = np.abs(rgb - BACKGROUND).sum(axis=2)
        found = []
        for lo, hi in ((0, 320), (320, 640)):  # crate left, rail right
            part = weight[:, lo:hi]
            ys, xs = np.mgrid[0:360, lo:hi] + 0.5
            found.append(((part * xs).sum() / part.sum(), (part * ys).sum() / part.sum()))
        centres.append(found)
    steps = np.diff(np.array(centres), axis=0)  # (7, 2 shapes, 2 axes)
    assert np.allclose(steps[..., 0], 1 / 8, atol=0.02), steps[..., 0]
    assert np.allclose(steps[..., 1], -1 / 16, atol=0.02), steps[..., 1]
