"""A face picture on a figure's head: a circle of the picture, turned with the head,
drawn by coverage like every other shape (numpy only, sub-pixel exact).

The crop: the picture's centred square (the shorter side), of which the inscribed
circle shows; ``square`` makes that square at ``TEXTURE`` px (area-averaged), and
``face_tile`` samples it bilinearly at each pixel centre of the head's disc, so the
face moves and turns smoothly at any sub-pixel position. Colours are the picture's
own (premultiplied by its alpha and the disc's edge coverage).

>>> texture = np.zeros((TEXTURE, TEXTURE, 4), np.float32)
>>> texture[..., 0], texture[..., 3] = 255, 1
>>> x0, y0, tile = face_tile(texture, (10.5, 10.5), 4.0, 0.0)
>>> (x0, y0), tile.shape, tuple(int(v) for v in tile[5, 5])
((5, 5), (11, 11, 4), (0, 0, 255, 255))
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .raster import Tile

TEXTURE = 128
"""Side of the face texture, px: sharper than the head is ever drawn in practice (a 1.7 m
figure's head at 1080p full height is about 70 px across)."""


def square(rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(h, w, 4) RGBA → (TEXTURE, TEXTURE, 4) float: the centred square, area-averaged to
    TEXTURE px, RGB premultiplied by alpha (alpha in 0..1)."""
    h, w = rgba.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = rgba[top : top + side, left : left + side].astype(np.float64)
    crop[..., :3] *= crop[..., 3:4] / 255.0
    crop[..., 3] /= 255.0
    edges = np.linspace(0, side, TEXTURE + 1)
    out = np.empty((TEXTURE, TEXTURE, 4), np.float64)
    weights = _area_weights(side, edges)
    for channel in range(4):
        out[..., channel] = weights @ crop[..., channel] @ weights.T
    return out.astype(np.float32)


def _area_weights(side: int, edges: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(TEXTURE, side): how much of each source pixel each texture cell covers, rows
    summing to 1 (enlarging repeats pixels; shrinking averages them)."""
    start, stop = edges[:-1, None], edges[1:, None]
    pixels = np.arange(side, dtype=np.float64)[None, :]
    overlap = np.clip(np.minimum(stop, pixels + 1) - np.maximum(start, pixels), 0, None)
    result: npt.NDArray[np.float64] = overlap / overlap.sum(axis=1, keepdims=True)
    return result


def face_tile(
    texture: npt.NDArray[np.float32],
    center: tuple[float, float],
    radius: float,
    angle: float,
    clip: tuple[int, int] | None = None,
) -> Tile | None:
    """The face as a premultiplied BGRA tile: a disc of ``radius`` px at ``center`` (px),
    the picture's top towards the head's up, turned by ``angle`` (radians,
    counter-clockwise on screen, the body's angle less the view's rotation)."""
    cx, cy = center
    x0, y0 = math.floor(cx - radius - 1), math.floor(cy - radius - 1)
    x1, y1 = math.ceil(cx + radius + 1), math.ceil(cy + radius + 1)
    if clip is not None:
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, clip[0]), min(y1, clip[1])
    if x1 <= x0 or y1 <= y0 or radius <= 0:
        return None
    dx = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5 - cx
    dy = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5 - cy
    cos, sin = math.cos(angle), math.sin(angle)
    # screen (y down) → the head's own axes (y up), turned back by the angle
    local_x = cos * dx - sin * dy
    local_y = -sin * dx - cos * dy
    size = texture.shape[0]
    u = (local_x / radius + 1.0) * 0.5 * size - 0.5
    v = (1.0 - local_y / radius) * 0.5 * size - 0.5
    sampled = _bilinear(texture, u, v)
    coverage = np.clip(0.5 - (np.sqrt(dx * dx + dy * dy) - radius), 0.0, 1.0)
    out = np.empty((y1 - y0, x1 - x0, 4), np.uint8)
    for channel in range(3):  # RGB → BGRA, premultiplied
        out[..., 2 - channel] = sampled[..., channel] * coverage + 0.5
    out[..., 3] = sampled[..., 3] * coverage * 255 + 0.5
    return x0, y0, out


def _bilinear(
    texture: npt.NDArray[np.float32], u: npt.NDArray[np.float64], v: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Texture values at fractional (u, v) texel coordinates, edges clamped."""
    size = texture.shape[0]
    u = np.clip(u, 0.0, size - 1.0)
    v = np.clip(v, 0.0, size - 1.0)
    i0 = np.minimum(np.floor(u).astype(np.intp), size - 2)
    j0 = np.minimum(np.floor(v).astype(np.intp), size - 2)
    fu, fv = (u - i0)[..., None], (v - j0)[..., None]
    top = texture[j0, i0] * (1 - fu) + texture[j0, i0 + 1] * fu
    bottom = texture[j0 + 1, i0] * (1 - fu) + texture[j0 + 1, i0 + 1] * fu
    result: npt.NDArray[np.float64] = top * (1 - fv) + bottom * fv
    return result
