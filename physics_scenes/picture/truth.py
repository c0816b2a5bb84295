"""Per-pixel ground truth from the bodies' exact shapes: instance ids, flow, boxes.

Each pixel is tested at its centre against every body's shapes (discs, convex
polygons, capsules) in the body's own coordinates, painted in the renderer's order
(static bodies, then moving ones by row: later rows on top), so the ids are exact and
flat: no anti-aliasing blends two bodies in one pixel. Optical flow is analytic: the
world point under a pixel is carried by its body's rigid motion (the world itself for
the background) from one frame to the next and seen through the next frame's camera.

>>> from physics_scenes.frame import BodyInfo, CircleGeom, Frame, Layout
>>> ball = BodyInfo("ball", "ball", "dynamic", "wood", (200, 0, 0), (CircleGeom(1.0),),
...                 1.0, 1.0, (0.0, 0.0))
>>> layout = Layout((ball,), (0.0, 0.0), (8.0, 8.0), (0, 0, 0), (0.0, -9.81))
>>> view = View.of_layout(layout, 8, 8)
>>> at = lambda x: Frame(0, 0.0, np.array([[x, 4.0]]), np.zeros(1), np.zeros((1, 2)),
...                      np.zeros(1), ())
>>> ids, full = instance_ids(layout, at(4.0), view)
>>> print(ids)
[[0 0 0 0 0 0 0 0]
 [0 0 0 0 0 0 0 0]
 [0 0 0 0 0 0 0 0]
 [0 0 0 1 1 0 0 0]
 [0 0 0 1 1 0 0 0]
 [0 0 0 0 0 0 0 0]
 [0 0 0 0 0 0 0 0]
 [0 0 0 0 0 0 0 0]]
>>> flow(layout, at(4.0), view, at(5.0), view, ids)[3, 3].tolist(), full.tolist()
([1.0, 0.0], [4])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..frame import CircleGeom, Frame, Layout, PolyGeom, SegmentGeom
from .view import View

IdArray = npt.NDArray[np.uint16]
"""(height, width): 0 for the background, row + 1 for body ``row`` of the Layout."""
Covered = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.int64]]
"""``covered``: the ys, xs and body rows of the pixels that show a body."""
MAX_BODIES = 65_534
"""Ids are 16-bit."""


def _order(layout: Layout) -> list[int]:
    """The renderer's drawing order: static rows first, then the rest, each by row."""
    rows = range(len(layout.bodies))
    static = [r for r in rows if layout.bodies[r].body_type == "static"]
    return static + [r for r in rows if layout.bodies[r].body_type != "static"]


def _inside(geoms: tuple[object, ...], local: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Which points (…, 2), in body coordinates, lie in any of the shapes."""
    x, y = local[..., 0], local[..., 1]
    hit = np.zeros(x.shape, dtype=bool)
    for geom in geoms:
        if isinstance(geom, CircleGeom):
            ox, oy = geom.offset
            hit |= (x - ox) ** 2 + (y - oy) ** 2 <= geom.radius**2
        elif isinstance(geom, PolyGeom):
            v = np.asarray(geom.vertices, dtype=np.float64)
            w = np.roll(v, -1, axis=0)
            sides = np.stack(
                [(b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
                 for a, b in zip(v, w, strict=True)]
            )  # fmt: skip
            hit |= np.all(sides >= 0, axis=0) | np.all(sides <= 0, axis=0)
        elif isinstance(geom, SegmentGeom):
            (ax, ay), (bx, by) = geom.a, geom.b
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = np.clip(((x - ax) * dx + (y - ay) * dy) / length2, 0, 1) if length2 else 0.0
            hit |= (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= geom.radius**2
    return hit


def _to_body(world: npt.NDArray[np.float64], frame: Frame, row: int) -> npt.NDArray[np.float64]:
    c, s = np.cos(frame.angle[row]), np.sin(frame.angle[row])
    dx = world[..., 0] - frame.position[row, 0]
    dy = world[..., 1] - frame.position[row, 1]
    return np.stack((dx * c + dy * s, -dx * s + dy * c), axis=-1)


def _shape_box(
    geom: object, frame: Frame, row: int, view: View
) -> tuple[float, float, float, float]:
    """A shape's pixel bounding box (x0, y0, x1, y1), from its outline's extreme points."""
    if isinstance(geom, CircleGeom):
        points, pad = np.array([geom.offset], dtype=np.float64), geom.radius
    elif isinstance(geom, PolyGeom):
        points, pad = np.asarray(geom.vertices, dtype=np.float64), 0.0
    else:
        assert isinstance(geom, SegmentGeom)
        points, pad = np.array([geom.a, geom.b], dtype=np.float64), geom.radius
    c, s = np.cos(frame.angle[row]), np.sin(frame.angle[row])
    x, y = frame.position[row]
    world = np.column_stack((x + points[:, 0] * c - points[:, 1] * s,
                             y + points[:, 0] * s + points[:, 1] * c))  # fmt: skip
    pixels = view.to_pixels(world)
    reach = pad * view.scale + 1
    low, high = pixels.min(axis=0) - reach, pixels.max(axis=0) + reach
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])


Masks = dict[
    int, tuple[tuple[float, float, float, View], tuple[int, int, int, int], npt.NDArray[np.bool_]]
]
"""``instance_ids``' memory between frames: row → (pose and view, window, the body's pixels)."""


def instance_ids(
    layout: Layout, frame: Frame, view: View, masks: Masks | None = None
) -> tuple[IdArray, npt.NDArray[np.int64]]:
    """The id under each pixel's centre, and each body's whole area in pixels (as if
    nothing covered it; its visible fraction is its share of ``ids`` over this).

    Each shape is tested only inside its own pixel box (walls around the picture are
    four thin strips, not the whole picture). With ``masks`` (one dict per clip, frames
    in order), a body whose position, angle and view are those of the frame before
    (walls, a body at rest under a still camera) reuses its pixels: the same inputs, the
    same bits."""
    if len(layout.bodies) > MAX_BODIES:
        raise ValueError(f"instance ids are 16-bit: at most {MAX_BODIES} bodies")
    ids = np.zeros((view.height, view.width), dtype=np.uint16)
    full = np.zeros(len(layout.bodies), dtype=np.int64)
    for row in _order(layout):
        if not np.isfinite(frame.position[row]).all() or not np.isfinite(frame.angle[row]):
            continue
        x, y = frame.position[row]
        pose = (float(x), float(y), float(frame.angle[row]), view)
        known = masks.get(row) if masks is not None else None
        if known is not None and known[0] == pose:
            _, (ux0, uy0, ux1, uy1), body = known
            full[row] = int(body.sum())
            ids[uy0:uy1, ux0:ux1][body] = row + 1
            continue
        windows = []
        for geom in layout.bodies[row].shapes:
            bx0, by0, bx1, by1 = _shape_box(geom, frame, row, view)
            x0, x1 = max(0, int(bx0)), min(view.width, int(bx1) + 1)
            y0, y1 = max(0, int(by0)), min(view.height, int(by1) + 1)
            if x0 < x1 and y0 < y1:
                windows.append((geom, x0, y0, x1, y1))
        if not windows:
            continue
        ux0, uy0 = min(w[1] for w in windows), min(w[2] for w in windows)
        ux1, uy1 = max(w[3] for w in windows), max(w[4] for w in windows)
        body = np.zeros((uy1 - uy0, ux1 - ux0), dtype=bool)
        for geom, x0, y0, x1, y1 in windows:
            px, py = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)
            world = view.to_world(np.stack((px, py), axis=-1))
            body[y0 - uy0 : y1 - uy0, x0 - ux0 : x1 - ux0] |= _inside(
                (geom,), _to_body(world, frame, row)
            )
        full[row] = int(body.sum())
        ids[uy0:uy1, ux0:ux1][body] = row + 1
        if masks is not None:
            masks[row] = (pose, (ux0, uy0, ux1, uy1), body)
    return ids, full


def covered(ids: IdArray) -> Covered:
    """The pixels with a body: their ys, xs and body rows (what ``flow`` and ``boxes``
    both start from; found once a frame, they need not search the picture twice)."""
    ys, xs = np.nonzero(ids)
    return ys, xs, ids[ys, xs].astype(np.int64) - 1


def flow(
    layout: Layout,
    frame: Frame,
    view: View,
    after: Frame,
    view_after: View,
    ids: IdArray,
    hits: Covered | None = None,
) -> npt.NDArray[np.float32]:
    """Forward optical flow (height, width, 2), pixels from ``frame`` to ``after``: where
    the world point under each pixel centre is seen in the next frame. ``hits``:
    ``covered(ids)`` when already known."""
    height, width = ids.shape
    shift = np.zeros((height, width, 2), dtype=np.float32)
    if view_after != view:  # the background moves with the camera only
        px, py = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        pixels = np.stack((px, py), axis=-1)
        shift[:] = view_after.to_pixels(view.to_world(pixels)) - pixels
    ys, xs, rows = covered(ids) if hits is None else hits
    if not len(ys):
        return shift
    motion = _pixel_motion(frame, view, after, view_after)
    moving = np.ones(len(motion), dtype=bool)
    if view_after == view:  # a body that kept its pose: exactly no flow, not rounding
        moving = (frame.position != after.position).any(axis=1) | (frame.angle != after.angle)
    pick = moving[rows]
    ys, xs, rows = ys[pick], xs[pick], rows[pick]
    if not len(ys):
        return shift
    px, py = xs + 0.5, ys + 0.5
    m = motion[rows]  # (k, 2, 3): each pixel's body's pixel → pixel map
    shift[ys, xs, 0] = m[:, 0, 0] * px + m[:, 0, 1] * py + m[:, 0, 2] - px
    shift[ys, xs, 1] = m[:, 1, 0] * px + m[:, 1, 1] * py + m[:, 1, 2] - py
    return shift


def _affine(rows: list[list[float]]) -> npt.NDArray[np.float64]:
    return np.vstack((np.array(rows, dtype=np.float64), [0.0, 0.0, 1.0]))


def _pixel_motion(
    frame: Frame, view: View, after: Frame, view_after: View
) -> npt.NDArray[np.float64]:
    """Per body, the affine map (B, 2, 3) from a pixel of ``frame`` to where the body's
    point under it is seen in ``after``: the view's inverse, the body's rigid motion
    (turn by the change of angle about its origin, then its move) and the next view,
    composed once per body instead of applied per pixel."""
    turn = after.angle - frame.angle
    c, s = np.cos(turn), np.sin(turn)
    x0, y0 = frame.position[:, 0], frame.position[:, 1]
    rigid = np.zeros((len(turn), 3, 3))
    rigid[:, 0, 0], rigid[:, 0, 1], rigid[:, 1, 0], rigid[:, 1, 1] = c, -s, s, c
    rigid[:, 0, 2] = after.position[:, 0] - (c * x0 - s * y0)
    rigid[:, 1, 2] = after.position[:, 1] - (s * x0 + c * y0)
    rigid[:, 2, 2] = 1.0
    composed = _affine(view_after.matrix()) @ rigid @ np.linalg.inv(_affine(view.matrix()))
    return composed[:, :2, :]


def boxes(
    ids: IdArray,
    count: int,
    hits: Covered | None = None,
) -> npt.NDArray[np.int32]:
    """Each body's visible pixels' bounding box [x0, y0, x1, y1] (inclusive), or all −1.
    ``hits``: ``covered(ids)`` when already known."""
    out = np.full((count, 4), -1, dtype=np.int32)
    ys, xs, rows = covered(ids) if hits is None else hits
    if rows.size:
        for corner, values, reduce in ((0, xs, np.minimum), (1, ys, np.minimum)):
            found = np.full(count, np.iinfo(np.int32).max, dtype=np.int64)
            reduce.at(found, rows, values)
            out[:, corner] = np.where(found == np.iinfo(np.int32).max, -1, found)
        for corner, values in ((2, xs), (3, ys)):
            found = np.full(count, -1, dtype=np.int64)
            np.maximum.at(found, rows, values)
            out[:, corner] = found
    return out
