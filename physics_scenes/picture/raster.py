"""Anti-aliased shapes as RGBA tiles, by coverage, in numpy (no pygame).

Each pixel's coverage comes from its centre's signed distance to the shape's edge
(``clip(0.5 - distance, 0, 1)``): exact for straight edges through a pixel, within a
few per cent on curves, and symmetric, so a disc's centroid and area in the picture
are the disc's own to a hundredth of a pixel at any sub-pixel position. Pixel ``i``
covers ``[i, i + 1)``, the convention of ``View.to_pixels`` and the states ``matrix``.
The renderer blits the tiles; why not pygame's own ``aacircle``: it truncates the
centre and radius to whole pixels.

>>> x0, y0, tile = disc((255, 0, 0), (128, 0, 0), (3.25, 2.5), 1.5, 0.0)
>>> (x0, y0), tile.shape, int(tile[2, 3, 3])
((0, 0), (5, 6, 4), 255)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

Tile = tuple[int, int, npt.NDArray[np.uint8]]
"""Left, top (pixels) and an (h, w, 4) tile in BGRA order (pygame's native alpha layout,
so it blits without a copy), premultiplied by its alpha."""
Color = tuple[int, int, int]


def _box(
    left: float, top: float, right: float, bottom: float, clip: tuple[int, int] | None
) -> tuple[int, int, int, int] | None:
    """Whole-pixel bounds covering [left, right) × [top, bottom), inside ``clip`` (w, h)."""
    x0, y0 = math.floor(left), math.floor(top)
    x1, y1 = math.ceil(right), math.ceil(bottom)
    if clip is not None:
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, clip[0]), min(y1, clip[1])
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _grid(
    box: tuple[int, int, int, int],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Pixel centres of ``box`` as a row (1, w) of x and a column (h, 1) of y."""
    x0, y0, x1, y1 = box
    xs = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5
    ys = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    return xs, ys


def shade(
    distance: npt.NDArray[np.float64], fill: Color, edge: Color, rim: float
) -> npt.NDArray[np.uint8]:
    """Signed distances (negative inside) → premultiplied BGRA: ``fill`` inside a band
    ``rim`` px wide of ``edge`` colour along the outline, alpha the coverage.
    Premultiplied (colour × coverage) needs no division and blends exactly with
    pygame's ``BLEND_PREMULTIPLIED``."""
    raw = 0.5 - distance
    outer = np.minimum(raw, 1.0)
    np.maximum(outer, 0.0, out=outer)
    banded = rim > 0 and fill != edge
    if banded:
        inner = np.subtract(raw, rim, out=raw)
        np.minimum(inner, 1.0, out=inner)
        np.maximum(inner, 0.0, out=inner)
    if distance.size > PLANES_UP_TO:  # a channel at a time: 4x the floats cost page faults
        out = np.empty((*distance.shape, 4), dtype=np.uint8)
        for channel in range(3):  # edge × (outer − inner) + fill × inner
            if banded:
                out[..., 2 - channel] = (
                    outer * edge[channel] + inner * (fill[channel] - edge[channel]) + 0.5
                )
            else:
                out[..., 2 - channel] = outer * fill[channel] + 0.5
        out[..., 3] = outer * 255 + 0.5
        return out
    # the four channel planes first (long inner loops), cast to bytes in one pass at the end:
    # a (..., 4) view of planar memory, not C-contiguous (its users copy it: tobytes,
    # slice assignment; a .view() of it would fail)
    # (alpha: 255 × outer + 0.5, as the sum with 0 × inner would be)
    lead = (4,) + (1,) * distance.ndim
    if banded:
        value = outer * np.array((*edge[::-1], 255), np.float64).reshape(lead)
        for plane, f, e in zip(value, fill[::-1], edge[::-1], strict=False):  # edge → fill
            plane += inner * (f - e)
    else:
        value = outer * np.array((*fill[::-1], 255), np.float64).reshape(lead)
    value += 0.5
    planes: npt.NDArray[np.uint8] = np.moveaxis(value, 0, -1).astype(np.uint8)
    return planes


PLANES_UP_TO = 128 * 128
"""Distances ``shade`` works out as four channel planes at once (faster); beyond, one
channel at a time (the same bytes, a quarter of the temporaries)."""


BLOCK = 16
"""Large shapes are worked out in blocks of BLOCK×BLOCK px: only blocks the outline
crosses are computed pixel by pixel; the rest are filled or left empty whole."""

DIRECT = 128 * 128
"""Tiles of up to this many pixels are computed whole: cheaper than sorting blocks."""

Distance = Callable[[npt.NDArray[np.float64], npt.NDArray[np.float64]], npt.NDArray[np.float64]]


def _tile(box: tuple[int, int, int, int], distance: Distance, fill: Color, edge: Color,
          rim: float) -> Tile:  # fmt: skip
    """Shade ``box`` by a signed distance that changes by at most 1 px per px (so a
    block's centre bounds the whole block), pixel by pixel only along the outline."""
    x0, y0, x1, y1 = box
    nx, ny = -(-(x1 - x0) // BLOCK), -(-(y1 - y0) // BLOCK)
    if (x1 - x0) * (y1 - y0) <= DIRECT:  # fewer numpy calls than the blocks need
        xs, ys = _grid(box)
        return x0, y0, shade(distance(xs, ys), fill, edge, rim)
    centre_x = x0 + (np.arange(nx, dtype=np.float64)[None, :] + 0.5) * BLOCK
    centre_y = y0 + (np.arange(ny, dtype=np.float64)[:, None] + 0.5) * BLOCK
    at_centre = distance(centre_x, centre_y)
    reach = BLOCK * math.sqrt(0.5)
    inside = at_centre < -(rim + 0.5 + reach)
    crossed = ~inside & (at_centre <= 0.5 + reach)
    tile = np.zeros((ny, BLOCK, nx, BLOCK, 4), dtype=np.uint8)
    tile[np.nonzero(inside)[0], :, np.nonzero(inside)[1], :] = (*fill[::-1], 255)
    by, bx = np.nonzero(crossed)
    step = np.arange(BLOCK, dtype=np.float64) + 0.5
    xs = x0 + bx[:, None, None] * BLOCK + step[None, None, :]
    ys = y0 + by[:, None, None] * BLOCK + step[None, :, None]
    tile[by, :, bx, :] = shade(distance(xs, ys), fill, edge, rim)
    flat = tile.reshape(ny * BLOCK, nx * BLOCK, 4)[: y1 - y0, : x1 - x0]
    return x0, y0, flat


def disc(
    fill: Color,
    edge: Color,
    center: tuple[float, float],
    radius: float,
    rim: float,
    clip: tuple[int, int] | None = None,
) -> Tile | None:
    """A disc of ``radius`` px at ``center`` (px) with an ``edge`` rim ``rim`` px wide."""
    cx, cy = center
    box = _box(cx - radius - 1, cy - radius - 1, cx + radius + 1, cy + radius + 1, clip)
    if box is None:
        return None

    def distance(
        xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        return np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) - radius

    return _tile(box, distance, fill, edge, rim)


TABLE_CHUNK = 4096
"""Entries of a ``DiscTable`` worked out at once (float temporaries of 32 kB)."""


class DiscTable:
    """``disc`` for one colour pair and radius, at centres on a 1/``step`` px grid, by
    table look-up: the same bytes, no floating point per tile.

    On that grid a pixel centre's offset from the disc's centre is a whole number of
    1/``step`` px, so ``disc``'s squared distance is exactly ``s / step²`` for a whole
    ``s``, and its bytes a function of ``s`` alone. The table holds that function for
    the ``s`` of the rim (worked out by ``disc``'s own formula); inside it the disc is
    ``fill`` (coverage 1 both for the rim and the disc), outside it transparent.
    Built for the ≈ 10-20 sprites a ball needs in a clip (a new radius per ball)."""

    def __init__(self, fill: Color, edge: Color, radius: float, rim: float, step: int) -> None:
        if step % 2:
            raise ValueError("the centre grid needs an even step (pixel centres at 1/2)")
        self.radius, self.step = radius, step
        low = max(radius - rim - 0.55, 0.0)  # d ≤ -rim - 0.55 within: coverage 1, 1 (fill)
        high = radius + 0.55  # d ≥ 0.55 beyond: coverage 0
        self.low = math.floor(low * low * step * step)
        top = math.ceil(high * high * step * step)
        table = np.empty((top + 1 - self.low, 4), np.uint8)
        for start in range(self.low, top + 1, TABLE_CHUNK):  # small temporaries: no page faults
            s = np.arange(start, min(start + TABLE_CHUNK, top + 1), dtype=np.int64)
            at = start - self.low
            distance = np.sqrt(s / float(step * step)) - radius
            table[at : at + len(s)] = shade(distance, fill, edge, rim)
        self.table = table.view(np.uint32).reshape(-1)
        """BGRA bytes of each ``s`` from ``low``, one 32-bit word a pixel."""
        self._rows: dict[tuple[int, int, bool], npt.NDArray[np.int64]] = {}

    def tile(self, center: tuple[float, float]) -> Tile | None:
        """``disc(fill, edge, center, radius, rim)`` for a centre on the grid."""
        cx, cy = center
        radius, step = self.radius, self.step
        box = _box(cx - radius - 1, cy - radius - 1, cx + radius + 1, cy + radius + 1, None)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        half = step // 2
        # step × (pixel centre − centre), whole numbers, squared: a row's and a column's
        across = self._squares(x0 * step + half - round(cx * step), x1 - x0, row=True)
        down = self._squares(y0 * step + half - round(cy * step), y1 - y0, row=False)
        words = self.table.take(down + across, mode="clip")  # below: fill, above: transparent
        return x0, y0, words.view(np.uint8).reshape(y1 - y0, x1 - x0, 4)

    def _squares(self, start: int, count: int, *, row: bool) -> npt.NDArray[np.int64]:
        """(start + step × i)² for i < count as a row, or less ``low`` as a column: kept,
        as a ball has few sub-pixel offsets."""
        key = (start, count, row)
        squares = self._rows.get(key)
        if squares is None:
            d = np.arange(start, start + count * self.step, self.step, dtype=np.int64)
            squares = d * d if row else d * d - self.low
            squares = self._rows[key] = squares[None, :] if row else squares[:, None]
        return squares


def convex(
    fill: Color,
    edge: Color,
    points: npt.ArrayLike,
    rim: float,
    clip: tuple[int, int] | None = None,
) -> Tile | None:
    """A convex polygon (vertices in px, either winding) with an ``edge`` outline."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 3 or not np.isfinite(p).all():
        return None
    box = _box(p[:, 0].min() - 1, p[:, 1].min() - 1, p[:, 0].max() + 1, p[:, 1].max() + 1, clip)
    if box is None:
        return None
    nxt = np.concatenate([p[1:], p[:1]])
    edge_vec = nxt - p
    length = np.hypot(edge_vec[:, 0], edge_vec[:, 1])
    keep = length > 1e-9
    if keep.sum() < 3:
        return None
    area = float(np.sum(p[:, 0] * nxt[:, 1] - nxt[:, 0] * p[:, 1]))
    # outward unit normals: each edge turned by -90° for positive (y-down) area
    sign = 1.0 if area > 0 else -1.0
    nx = sign * edge_vec[keep, 1] / length[keep]
    ny = -sign * edge_vec[keep, 0] / length[keep]
    offset = nx * p[keep, 0] + ny * p[keep, 1]

    def distance(
        xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        shape = (-1,) + (1,) * max(xs.ndim, ys.ndim)
        along = nx.reshape(shape) * xs + ny.reshape(shape) * ys - offset.reshape(shape)
        out: npt.NDArray[np.float64] = along.max(axis=0)
        return out

    return _tile(box, distance, fill, edge, rim)


def capsule(
    fill: Color,
    edge: Color,
    a: tuple[float, float],
    b: tuple[float, float],
    radius: float,
    rim: float,
    clip: tuple[int, int] | None = None,
) -> Tile | None:
    """The points within ``radius`` px of the segment a–b (a thick line with round ends)."""
    (ax, ay), (bx, by) = a, b
    reach = radius + 1
    box = _box(min(ax, bx) - reach, min(ay, by) - reach,
               max(ax, bx) + reach, max(ay, by) + reach, clip)  # fmt: skip
    if box is None:
        return None
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy

    def distance(
        xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        px, py = xs - ax, ys - ay
        if length2 == 0:
            return np.sqrt(px * px + py * py) - radius
        t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0)
        return np.sqrt((px - t * dx) ** 2 + (py - t * dy) ** 2) - radius

    return _tile(box, distance, fill, edge, rim)


def capsules(
    colors: Sequence[Color],
    segments: Sequence[tuple[float, float, float, float]],
    radii: Sequence[float],
    clip: tuple[int, int] | None = None,
) -> list[Tile | None]:
    """``capsule(color, color, (ax, ay), (bx, by), radius, 0.0, clip)`` of each
    (``segments``: ax, ay, bx, by), worked out in one set of numpy calls on tiles
    padded to the largest: a frame's spin marks cost one capsule's overhead, not one
    each. The same operations on the same numbers, so the same bytes."""
    tiles: list[Tile | None] = [None] * len(colors)
    rows: list[tuple[float, ...]] = []
    boxes: list[tuple[int, int, int, int]] = []
    together: list[int] = []
    for i, ((ax, ay, bx, by), radius) in enumerate(zip(segments, radii, strict=True)):
        reach = radius + 1
        box = _box(min(ax, bx) - reach, min(ay, by) - reach,
                   max(ax, bx) + reach, max(ay, by) + reach, clip)  # fmt: skip
        if box is None:
            continue
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        if length2 == 0:  # a dot: capsule's other formula
            tiles[i] = capsule(colors[i], colors[i], (ax, ay), (bx, by), radius, 0.0, clip)
            continue
        blue, green, red = colors[i][::-1]
        rows.append((box[0] + 0.5, box[1] + 0.5, ax, ay, dx, dy, length2, radius,
                     blue, green, red, 255))  # fmt: skip
        boxes.append(box)
        together.append(i)
    if not together:
        return tiles
    width = max(x1 - x0 for x0, _, x1, _ in boxes)
    height = max(y1 - y0 for _, y0, _, y1 in boxes)
    table = np.array(rows, np.float64)[:, :, None, None]
    px = np.arange(width, dtype=np.float64) + table[:, 0]  # pixel centres, exact
    px -= table[:, 2]  # then as capsule's distance, in place
    py = np.arange(height, dtype=np.float64)[:, None] + table[:, 1]
    py -= table[:, 3]
    along_x, along_y = table[:, 4], table[:, 5]
    t = px * along_x + py * along_y
    t /= table[:, 6]
    np.maximum(t, 0.0, out=t)
    np.minimum(t, 1.0, out=t)
    u = t * along_x
    np.subtract(px, u, out=u)
    np.square(u, out=u)
    t *= along_y
    np.subtract(py, t, out=t)
    np.square(t, out=t)
    u += t
    np.sqrt(u, out=u)
    u -= table[:, 7]
    outer = np.subtract(0.5, u, out=u)  # shade's, for one colour and no rim
    np.minimum(outer, 1.0, out=outer)
    np.maximum(outer, 0.0, out=outer)
    value = outer[..., None] * table[:, None, None, 8:, 0, 0]
    value += 0.5
    out = value.astype(np.uint8)
    for k, i in enumerate(together):
        x0, y0, x1, y1 = boxes[k]
        tiles[i] = (x0, y0, out[k, : y1 - y0, : x1 - x0])
    return tiles


def band(
    fill: Color, points: npt.ArrayLike, radius: float, clip: tuple[int, int] | None = None
) -> Tile | None:
    """The points within ``radius`` px of a polyline (a rope drawn as one smooth band):
    one distance field, each piece filling in only its own neighbourhood, then shaded
    once, so the band has no seams where the pieces meet."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 2 or not np.isfinite(p).all():
        return None
    reach = radius + 1
    box = _box(p[:, 0].min() - reach, p[:, 1].min() - reach,
               p[:, 0].max() + reach, p[:, 1].max() + reach, clip)  # fmt: skip
    if box is None:
        return None
    x0, y0, x1, y1 = box
    field = np.full((y1 - y0, x1 - x0), np.inf)
    for (ax, ay), (bx, by) in zip(p[:-1].tolist(), p[1:].tolist(), strict=True):
        near = _box(min(ax, bx) - reach, min(ay, by) - reach,
                    max(ax, bx) + reach, max(ay, by) + reach, None)  # fmt: skip
        assert near is not None
        left, top = max(near[0], x0), max(near[1], y0)
        right, bottom = min(near[2], x1), min(near[3], y1)
        if right <= left or bottom <= top:
            continue
        xs, ys = _grid((left, top, right, bottom))
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        px, py = xs - ax, ys - ay
        t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        piece = np.sqrt((px - t * dx) ** 2 + (py - t * dy) ** 2) - radius
        part = field[top - y0 : bottom - y0, left - x0 : right - x0]
        np.minimum(part, piece, out=part)
    return x0, y0, shade(field, fill, fill, 0.0)
