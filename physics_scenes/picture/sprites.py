"""Anti-aliased shapes on a pygame Surface: cached disc sprites and polygon tiles,
one-pixel lines and spin marks, all placed to the sub-pixel.

The coverage itself is computed by ``raster`` (numpy); this module turns its tiles into
Surfaces, caches them and blits them (premultiplied). Split from ``renderer``, which
decides what to draw where.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

from . import raster

MAX_DRAW_RADIUS = 100_000.0
"""Pixels; larger circles are drawn this big (pygame's coordinates are 32-bit)."""
SPRITE_MAX_RADIUS = 48.0
"""Discs up to this radius (px) are blitted from cached anti-aliased sprites."""
PREMULTIPLIED = pygame.BLEND_PREMULTIPLIED
"""Every tile from ``raster`` is premultiplied by its coverage."""
SUBPIXEL = 8
"""Sprite centres and radii are rounded to 1/SUBPIXEL of a pixel (at most 1/16 px off)."""
SPRITE_CACHE_LIMIT = 8192
FEW = 16
"""Up to this many discs at once are rounded in Python floats rather than numpy."""
TABLE_LIMIT = 256
"""Disc tables kept (≈ 50 kB each for a 26 px ball)."""


class DiscSprites:
    """Anti-aliased discs drawn once per (colours, radius, sub-pixel offset), then blitted.

    Drawing a disc by coverage costs ≈ 40 µs, a blit ≈ 0.5 µs: with 1000 balls this
    is most of the drawing time. Sprites depend only on their key, so output stays a
    pure function of the inputs. A moving ball needs a new sprite most frames (a new
    sub-pixel offset): from its second one on, sprites come from the ball's
    ``raster.DiscTable`` (≈ 10 µs, the same bytes).
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], tuple[pygame.Surface, int, int]] = {}
        self._tables: dict[tuple[object, ...], raster.DiscTable] = {}
        """(fill, edge, radius) → its sprites at any offset, by look-up (``DiscTable``)."""
        self._seen: set[tuple[object, ...]] = set()
        """(fill, edge, radius) drawn once already: the next offset builds the table."""

    def draw(
        self,
        surface: pygame.Surface,
        fill: tuple[int, int, int],
        edge: tuple[int, int, int],
        center: tuple[float, float],
        radius: float,
        mark_angle: float | None,
    ) -> None:
        if not radius <= SPRITE_MAX_RADIUS:
            draw_disc(surface, fill, edge, center, radius, mark_angle)
            return
        (blit,), ((cx, cy, radius),) = self.sprites(
            [fill], [edge], np.array([center], np.float64), np.array([radius], np.float64)
        )
        surface.blit(*blit, special_flags=PREMULTIPLIED)
        if mark_angle is not None:
            spin_mark(surface, edge, (cx, cy), radius, mark_angle)

    def sprites(
        self,
        fills: list[tuple[int, int, int]],
        edges: list[tuple[int, int, int]],
        centers: npt.NDArray[np.float64] | Sequence[tuple[float, float]],
        radii: npt.NDArray[np.float64] | Sequence[float],
    ) -> tuple[list[tuple[pygame.Surface, tuple[int, int]]], list[tuple[float, float, float]]]:
        """Discs (radius ≤ SPRITE_MAX_RADIUS px) → what to blit where, and the rounded
        centre and radius each is drawn at (for its spin mark). Rounded in numpy for
        many discs (per disc arithmetic on numpy scalars cost more than the blits), in
        Python floats for a few (a dozen numpy calls cost more than a few balls'
        sums); both round half to even, so they give the same numbers."""
        if len(radii) <= FEW or not isinstance(radii, np.ndarray):
            step = SUBPIXEL
            if isinstance(radii, np.ndarray):
                radii = radii.tolist()
            if isinstance(centers, np.ndarray):
                centers = centers.tolist()
            rounded = [max(round(r * step) / step, 1.0) for r in radii]
            wholes, parts = [], []
            for x, y in centers:
                (ix, fx), (iy, fy) = divmod(round(x * step), step), divmod(round(y * step), step)
                wholes.append((ix, iy))
                parts.append((fx / step, fy / step))
        else:
            radius = np.maximum(np.round(radii * SUBPIXEL) / SUBPIXEL, 1.0)
            steps = np.round(np.asarray(centers) * SUBPIXEL).astype(np.int64)
            whole, part = np.divmod(steps, SUBPIXEL)
            rounded, wholes, parts = radius.tolist(), whole.tolist(), (part / SUBPIXEL).tolist()
        blits, drawn = [], []
        cache = self._cache
        for fill, edge, r, (ix, iy), (fx, fy) in zip(
            fills, edges, rounded, wholes, parts, strict=True
        ):
            key = (fill, edge, r, fx, fy)
            entry = cache.get(key)
            if entry is None:
                entry = self._make(key)
            sprite, left, top = entry
            blits.append((sprite, (ix - left, iy - top)))
            drawn.append((ix + fx, iy + fy, r))
        return blits, drawn

    def _make(self, key: tuple[Any, ...]) -> tuple[pygame.Surface, int, int]:
        if len(self._cache) >= SPRITE_CACHE_LIMIT:
            self._cache.clear()
        fill, edge, radius, fx, fy = key
        half = math.ceil(radius) + 2
        center = (half + fx, half + fy)
        rim = rim_width(radius)
        kind = (fill, edge, radius)
        table = self._tables.get(kind)
        if table is not None:
            tile = table.tile(center)
        elif kind in self._seen:  # a second offset: the table pays from here on
            if len(self._tables) >= TABLE_LIMIT:
                self._tables.clear()
            table = self._tables[kind] = raster.DiscTable(fill, edge, radius, rim, SUBPIXEL)
            tile = table.tile(center)
        else:
            if len(self._seen) >= SPRITE_CACHE_LIMIT:
                self._seen.clear()
            self._seen.add(kind)
            tile = raster.disc(fill, edge, center, radius, rim)
        assert tile is not None
        x0, y0, rgba = tile
        sprite = to_surface(rgba)
        entry = self._cache[key] = (sprite, half - x0, half - y0)
        return entry


class ShapeTiles:
    """Polygon tiles drawn once per (colours, shape at 1/16 px, sub-pixel offset), then
    blitted: a body at rest (and every body across a motion blur's samples, under a
    still camera) costs a blit instead of a coverage computation. The corners are
    rounded to 1/16 px before drawing, cached or not, so pixels depend on the key only."""

    STEP = 16
    LARGEST = 192
    """px: larger shapes (floors, walls) are drawn clipped to the picture, uncached."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], tuple[pygame.Surface, int, int]] = {}

    def convex(
        self,
        surface: pygame.Surface,
        fill: tuple[int, int, int],
        edge: tuple[int, int, int],
        points: npt.NDArray[np.float64],
    ) -> None:
        if not np.isfinite(points).all():
            return
        steps = np.round(points * self.STEP).astype(np.int64)
        low = steps.min(axis=0) // self.STEP
        span = steps.max(axis=0) // self.STEP - low
        if span.max() > self.LARGEST:
            blit_tile(
                surface, raster.convex(fill, edge, steps / self.STEP, 1.0, surface.get_size())
            )
            return
        relative = steps - low * self.STEP
        key = (fill, edge, relative.tobytes())
        entry = self._cache.get(key)
        if entry is None:
            if len(self._cache) >= SPRITE_CACHE_LIMIT:
                self._cache.clear()
            tile = raster.convex(fill, edge, relative / self.STEP, 1.0)
            if tile is None:
                return
            x0, y0, bgra = tile
            entry = self._cache[key] = (to_surface(bgra), x0, y0)
        sprite, x0, y0 = entry
        surface.blit(sprite, (int(low[0]) + x0, int(low[1]) + y0), special_flags=PREMULTIPLIED)


def rim_width(radius: float) -> float:
    """A disc's darker rim in px: 12 % of the radius, at most 2 px; none on tiny discs."""
    rim = min(2.0, radius * 0.12)
    return rim if rim >= 0.75 else 0.0


def to_surface(bgra: npt.NDArray[np.uint8]) -> pygame.Surface:
    """A BGRA tile as a Surface in pygame's native alpha layout (fast blits)."""
    height, width = bgra.shape[:2]
    return pygame.image.frombytes(bgra.tobytes(), (width, height), "BGRA")


def blit_tile(surface: pygame.Surface, tile: raster.Tile | None) -> None:
    if tile is not None:
        x0, y0, rgba = tile
        surface.blit(to_surface(rgba), (x0, y0), special_flags=PREMULTIPLIED)


def aa_line(
    surface: pygame.Surface,
    color: tuple[int, int, int],
    a: tuple[float, float],
    b: tuple[float, float],
) -> None:
    """A one-pixel anti-aliased line between points in the View's pixel coordinates
    (pygame's lines put integer coordinates in the middle of a pixel)."""
    pygame.draw.aaline(surface, color, (a[0] - 0.5, a[1] - 0.5), (b[0] - 0.5, b[1] - 0.5))


def draw_disc(
    surface: pygame.Surface,
    fill: tuple[int, int, int],
    edge: tuple[int, int, int],
    center: tuple[float, float],
    radius: float,
    mark_angle: float | None,
) -> None:
    """A filled anti-aliased disc with a darker rim and, for balls, a spin mark; only
    the part on the surface is computed, so a huge disc costs at most a screenful."""
    radius = min(max(radius, 1.0), MAX_DRAW_RADIUS)
    blit_tile(
        surface, raster.disc(fill, edge, center, radius, rim_width(radius), surface.get_size())
    )
    if mark_angle is not None:
        spin_mark(surface, edge, center, radius, mark_angle)


def spin_mark(
    surface: pygame.Surface,
    color: tuple[int, int, int],
    center: tuple[float, float],
    radius: float,
    angle: float,
) -> None:
    """A dash from 35 % of the radius to the rim, so rotation is visible (centre stays clear)."""
    if radius < 4:
        return
    if radius * 0.14 < 1.5:
        aa_line(surface, color, *_mark_ends(center, radius, math.cos(angle), math.sin(angle)))
        return
    ax, ay, bx, by, half = dash(center, radius, angle)
    blit_tile(surface, raster.capsule(color, color, (ax, ay), (bx, by), half, 0.0,
                                      surface.get_size()))  # fmt: skip


def _mark_ends(
    center: tuple[float, float], radius: float, cos: float, sin: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """A spin mark's ends: from 35 % of the radius to just inside the rim."""
    rim = min(2.0, radius * 0.12)
    inner, outer = radius * 0.35, radius - rim - 0.5
    return ((center[0] + inner * cos, center[1] - inner * sin),
            (center[0] + outer * cos, center[1] - outer * sin))  # fmt: skip


def dash(
    center: tuple[float, float], radius: float, angle: float
) -> tuple[float, float, float, float, float]:
    """A wide spin mark (radius × 0.14 ≥ 1.5 px) as a capsule: ends a, b and half width."""
    cos, sin = math.cos(angle), math.sin(angle)
    start, end = _mark_ends(center, radius, cos, sin)
    half = radius * 0.14 / 2
    # round ends inside the dash
    return (start[0] + half * cos, start[1] - half * sin,
            end[0] - half * cos, end[1] + half * sin, half)  # fmt: skip
