"""The drawing's fast paths give the bytes of the formula they stand in for, to the bit."""

from __future__ import annotations

import math
import random

import numpy as np

from physics_scenes import parse_scene, simulate
from physics_scenes.picture import raster
from physics_scenes.picture.renderer import Renderer
from physics_scenes.picture.sprites import FEW, SPRITE_MAX_RADIUS, SUBPIXEL, DiscSprites, rim_width
from physics_scenes.picture.view import View


def same(a: raster.Tile | None, b: raster.Tile | None) -> bool:
    if a is None or b is None:
        return a is b
    return a[:2] == b[:2] and a[2].shape == b[2].shape and np.array_equal(a[2], b[2])


def test_disc_table_gives_disc_bytes_at_every_grid_offset() -> None:
    rng = random.Random(19)
    checked = 0
    for trial in range(120):
        radius = max(round(rng.uniform(0.5, 48.0) * SUBPIXEL) / SUBPIXEL, 1.0)
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        edge = fill if trial % 4 == 0 else (rng.randrange(256), rng.randrange(256), 0)
        rim = rim_width(radius)
        table = raster.DiscTable(fill, edge, radius, rim, SUBPIXEL)
        half = math.ceil(radius) + 2
        for _ in range(3):
            center = (half + rng.randrange(SUBPIXEL) / SUBPIXEL,
                      half + rng.randrange(SUBPIXEL) / SUBPIXEL)  # fmt: skip
            tile = table.tile(center)
            assert same(tile, raster.disc(fill, edge, center, radius, rim)), (radius, center)
            assert tile is not None and tile[2][tile[2].shape[0] // 2, 0, 3] < 255
            checked += 1
    assert checked == 360


def test_capsules_together_give_each_capsules_bytes() -> None:
    rng = random.Random(7)
    checked = 0
    for trial in range(150):
        colors, segments, radii = [], [], []
        for _ in range(rng.randrange(1, 5)):
            colors.append((rng.randrange(256), rng.randrange(256), rng.randrange(256)))
            # near the origin too: pixel centres minus a tiny coordinate round differently
            if trial % 2:
                ax, ay = rng.uniform(-30.0, 280.0), rng.uniform(-30.0, 280.0)
            else:
                ax, ay = rng.uniform(-2.0, 2.0), rng.uniform(-0.5, 0.5)
            length = 0.0 if rng.random() < 0.05 else rng.uniform(0.0, 25.0)
            turn = rng.uniform(0.0, 2 * math.pi)
            segments.append((ax, ay, ax + length * math.cos(turn), ay - length * math.sin(turn)))
            radii.append(rng.uniform(0.5, 4.0))
        clip = None if trial % 5 == 0 else (256, 256)
        tiles = raster.capsules(colors, segments, radii, clip)
        for color, (ax, ay, bx, by), radius, tile in zip(colors, segments, radii, tiles,
                                                        strict=True):  # fmt: skip
            want = raster.capsule(color, color, (ax, ay), (bx, by), radius, 0.0, clip)
            assert same(tile, want), (color, (ax, ay, bx, by), radius, clip)
            checked += want is not None
    assert checked > 250


def test_a_few_discs_are_placed_as_many_are() -> None:
    """``DiscSprites.sprites`` rounds a few discs in Python, many in numpy: the same."""
    rng = np.random.default_rng(3)
    count = FEW + 5
    centers = rng.uniform(-40.0, 300.0, (count, 2))
    centers[:6] = np.round(centers[:6] * 16) / 16  # halves of a 1/8 step: round half to even
    centers[6] = (-0.0625, 12.9375)
    radii = np.concatenate([[0.3, 4.0625, 9.1875], rng.uniform(0.5, SPRITE_MAX_RADIUS, count - 3)])
    colors = [(200, 10, 10)] * count
    sprites = DiscSprites()
    for start in range(0, count, 4):
        few = sprites.sprites(colors[start : start + 4], colors[start : start + 4],
                              centers[start : start + 4], radii[start : start + 4])  # fmt: skip
        many = sprites.sprites(colors, colors, centers, radii)
        assert [p for _, p in few[0]] == [p for _, p in many[0][start : start + 4]]
        assert few[1] == many[1][start : start + 4]


def test_pixel_list_gives_to_pixels_numbers() -> None:
    """The few-balls path places them with ``View.pixel_list``: ``to_pixels``' numbers."""
    rng = np.random.default_rng(5)
    for rotation in (0.0, 0.3, -2.1):
        view = View(center=(3.7, -1.2), scale=37.3, width=320, height=181, rotation=rotation)
        points = rng.uniform(-20.0, 20.0, (12, 2))
        assert np.array_equal(np.array(view.pixel_list(points.tolist())), view.to_pixels(points))


def shade_reference(
    distance: np.ndarray, fill: raster.Color, edge: raster.Color, rim: float
) -> np.ndarray:
    """``raster.shade`` as first written: one channel at a time, straight from the formula."""
    raw = 0.5 - distance
    outer = np.clip(raw, 0.0, 1.0)
    out = np.empty((*distance.shape, 4), dtype=np.uint8)
    if rim > 0 and fill != edge:
        inner = np.clip(raw - rim, 0.0, 1.0)
        for channel in range(3):
            value = outer * edge[channel] + inner * (fill[channel] - edge[channel]) + 0.5
            out[..., 2 - channel] = value
    else:
        for channel in range(3):
            out[..., 2 - channel] = outer * fill[channel] + 0.5
    out[..., 3] = outer * 255 + 0.5
    return out


COLORINGS = [
    ((230, 57, 70), (120, 30, 40), 2.0),
    ((9, 200, 255), (9, 200, 255), 0.0),
    ((0, 255, 17), (255, 0, 3), 1.25),
    ((5, 6, 7), (1, 2, 3), 0.0),
]


def test_shade_gives_the_formula_bytes_in_planes_and_a_channel_at_a_time() -> None:
    rng = np.random.default_rng(11)
    for shape in ((300,), (23, 41), (3, 16, 16), (raster.PLANES_UP_TO + 7,)):
        distance = rng.uniform(-4.0, 2.0, shape)
        distance.flat[:5] = (-0.5, 0.5, -2.5, 0.0, -1.5)  # coverage exactly 0, 1 or between
        for fill, edge, rim in COLORINGS:
            got = raster.shade(distance, fill, edge, rim)
            assert np.array_equal(got, shade_reference(distance, fill, edge, rim)), (shape, rim)


BALLS = """
world: {size: [4, 3], background: "#203040", walls: true}
timing: {duration: 1, fps: 30}
bodies:
  - {kind: ball, radius: 0.05, position: [1, 2], velocity: [3, 1], color: "#ff8000"}
  - {kind: ball, radius: 0.2, position: [2, 1.5], velocity: [-2, 3], angular_velocity: 20,
     color: "#00c0ff"}
  - {kind: ball, radius: 0.45, position: [3, 2], velocity: [1, -2], angular_velocity: -9,
     color: "#e03040"}
"""


def test_a_renderer_restoring_only_where_it_drew_gives_a_fresh_renderers_frames() -> None:
    """A frame of a few balls restores just the rects the last one drew on: every frame
    equals a new renderer's (thin and wide spin marks, a ball leaving the picture)."""
    layout, frames = simulate(parse_scene(BALLS))
    kept = [f for _, f in zip(range(30), frames, strict=False)]
    renderer = Renderer(layout, 160, 120)
    for frame in kept:
        assert renderer.render(frame).data == Renderer(layout, 160, 120).render(frame).data
