"""Physical quantities computed from Frames alone (for tests, HUDs and ground truth)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..frame import NO_BODY, CircleGeom, FloatArray, Frame, Layout, PolyGeom, SegmentGeom


def centers_of_gravity(layout: Layout, frame: Frame) -> FloatArray:
    """World position of every body's centre of gravity, (N, 2)."""
    cog = np.array([body.center_of_gravity for body in layout.bodies], dtype=np.float64)
    cos, sin = np.cos(frame.angle), np.sin(frame.angle)
    return frame.position + np.column_stack(
        (cog[:, 0] * cos - cog[:, 1] * sin, cog[:, 0] * sin + cog[:, 1] * cos)
    )


def kinetic_energy(layout: Layout, frame: Frame) -> float:
    """Σ ½mv² + ½Iω² over dynamic bodies, in joules (pymunk's velocity is the COG's).
    Bodies not in the world (a script's, NaN) are left out."""
    return Energies(layout).kinetic(frame)


def potential_energy(layout: Layout, frame: Frame) -> float:
    """Gravitational energy −Σ m g·r of dynamic bodies, in joules (zero at the origin)."""
    return Energies(layout).potential(frame)


class Energies:
    """``kinetic_energy`` and ``potential_energy`` frame after frame of one layout, with
    its masses, moments and centres of gravity gathered once."""

    def __init__(self, layout: Layout) -> None:
        self.dynamic = layout.dynamic_mask()
        self.masses, self.moments = layout.masses(), layout.moments()
        self.gravity = np.asarray(layout.gravity, dtype=np.float64)
        self.cog = np.array([body.center_of_gravity for body in layout.bodies], dtype=np.float64)

    def kinetic(self, frame: Frame) -> float:
        mask = self.dynamic & np.isfinite(frame.position).all(axis=1)
        mass, moment = self.masses[mask], self.moments[mask]
        speed2 = np.sum(frame.velocity[mask] ** 2, axis=1)
        return float(
            0.5 * np.sum(mass * speed2) + 0.5 * np.sum(moment * frame.angular_velocity[mask] ** 2)
        )

    def potential(self, frame: Frame) -> float:
        mask = self.dynamic & np.isfinite(frame.position).all(axis=1)
        cog = self.cog.reshape(-1, 2)
        cos, sin = np.cos(frame.angle), np.sin(frame.angle)
        centres = frame.position + np.column_stack(
            (cog[:, 0] * cos - cog[:, 1] * sin, cog[:, 0] * sin + cog[:, 1] * cos)
        )
        heights = centres[mask] @ self.gravity
        return float(-np.sum(self.masses[mask] * heights))

    def totals(self, frames: Sequence[Frame]) -> FloatArray:
        """``kinetic(f) + potential(f)`` of every frame, bit for bit, in whole-clip array
        passes: the same float operations on the frames stacked (sums along each frame's
        row, as one frame's; cos, sin and the matrix product still frame by frame, as a
        longer array may take another code path). A frame with a body out of the world
        (NaN) drops other rows, so it is measured alone."""
        totals = np.empty(len(frames))
        if not frames:
            return totals
        position = np.stack([f.position for f in frames])
        alone = ~np.isfinite(position[:, self.dynamic]).all(axis=(1, 2))
        mask = self.dynamic
        mass, moment, cog = self.masses[mask], self.moments[mask], self.cog.reshape(-1, 2)
        velocity = np.stack([f.velocity for f in frames])[:, mask]
        spin = np.stack([f.angular_velocity for f in frames])[:, mask]
        speed2 = np.sum(velocity**2, axis=2)
        cos = np.stack([np.cos(f.angle) for f in frames])
        sin = np.stack([np.sin(f.angle) for f in frames])
        turned = np.stack(
            (cog[:, 0] * cos - cog[:, 1] * sin, cog[:, 0] * sin + cog[:, 1] * cos), axis=2
        )
        centres = position + turned
        # (a matrix product frame by frame: BLAS may round rows otherwise in a taller one)
        heights = np.array([c[mask] @ self.gravity for c in centres]).reshape(len(frames), -1)
        # numpy sums pairwise along the fast axis only: each frame's terms in one
        # C-ordered row are summed as one frame's array is
        terms = [np.ascontiguousarray(t) for t in (mass * speed2, moment * spin**2, mass * heights)]
        kinetic = 0.5 * np.sum(terms[0], axis=1) + 0.5 * np.sum(terms[1], axis=1)
        totals[:] = kinetic + -np.sum(terms[2], axis=1)
        for k in np.flatnonzero(alone).tolist():
            totals[k] = self.kinetic(frames[k]) + self.potential(frames[k])
        return totals


ON_GROUND = 0.01
"""A sole point this close to the ground (m) ..."""
STILL = 0.1
"""... and moving up or down slower than this (m/s) stands on it (for ``foot_slide``)."""


def foot_slide(
    layout: Layout,
    frames: list[Frame],
    row: int,
    ground: Callable[[FloatArray], FloatArray] = np.zeros_like,
) -> float:
    """How far (m) a foot's sole travels horizontally while it stands on the ground.

    The two lowest vertices of the foot's polygon (heel and toe) are followed as
    material points from frame to frame, so a foot rolling over its heel or toe
    moves nothing; a point counts while it is within ``ON_GROUND`` of
    ``ground(x)`` (the ground's height) at both frames and moves vertically
    slower than ``STILL``. A person's stance foot does not slide: this is ~0.
    """
    poly = next(g for g in layout.bodies[row].shapes if isinstance(g, PolyGeom))
    vertices = np.array(poly.vertices, dtype=np.float64)
    sole = vertices[np.argsort(vertices[:, 1])[:2]]
    angle = np.array([f.angle[row] for f in frames])[:, None]
    origin = np.array([f.position[row] for f in frames])[:, None, :]
    cos, sin = np.cos(angle), np.sin(angle)
    x = origin[..., 0] + sole[:, 0] * cos - sole[:, 1] * sin  # (frames, 2)
    y = origin[..., 1] + sole[:, 0] * sin + sole[:, 1] * cos
    dt = np.diff([f.time for f in frames])[:, None]
    height = y - ground(x)
    dx, dy = np.diff(x, axis=0), np.diff(y, axis=0)
    down = (height[:-1] < ON_GROUND) & (height[1:] < ON_GROUND) & (np.abs(dy) / dt < STILL)
    # a foot flat on the ground has both points down: count its travel once
    return float(np.where(down, np.abs(dx), 0.0).max(axis=1).sum())


def ground_force(layout: Layout, frames: list[Frame], rows: list[int]) -> FloatArray:
    """Vertical force (in weights) the world exerts on bodies ``rows``, frame to frame.

    From the change of their total vertical momentum plus their weight, so it is
    the ground's push when nothing else touches them (1 standing, ~1.2 for a
    person's heel strike; a stiff-legged stamp reads several). One value per
    pair of consecutive frames.
    """
    masses = layout.masses()[rows]
    momentum = np.array([masses @ f.velocity[rows, 1] for f in frames])
    weight = masses.sum() * abs(layout.gravity[1])
    times = np.array([f.time for f in frames])
    force: FloatArray = (np.diff(momentum) / np.diff(times) + weight) / weight
    return force


def _anchors(positions: FloatArray, angles: FloatArray, row: int, local: FloatArray) -> FloatArray:
    """A body-local point in world metres at every frame, (F, 2)."""
    cos, sin = np.cos(angles[:, row]), np.sin(angles[:, row])
    points: FloatArray = positions[:, row] + np.column_stack(
        (local[0] * cos - local[1] * sin, local[0] * sin + local[1] * cos)
    )
    return points


def joint_errors(layout: Layout, frames: list[Frame]) -> dict[str, float]:
    """Worst error (m) of every rigid joint over ``frames``, by joint name.

    A ``pivot`` should keep its two anchors together, a ``pin`` (rod) their distance
    at its rest length (the distance at the first frame when the file gave none).
    Both are measured from the Frames alone: anchors in each body's own coordinates
    moved with the body's position and angle (a world anchor stays put).
    """
    positions = np.array([f.position for f in frames])
    angles = np.array([f.angle for f in frames])
    worst: dict[str, float] = {}
    for joint in layout.joints:
        if joint.kind not in ("pin", "pivot"):
            continue
        pa = _anchors(positions, angles, joint.a, np.asarray(joint.anchor_a, dtype=np.float64))
        pb = np.asarray(joint.anchor_b, dtype=np.float64)
        if joint.b != NO_BODY:
            pb = _anchors(positions, angles, joint.b, pb)
        gaps = np.hypot(*(pa - pb).T)
        if joint.kind == "pin":
            gaps = np.abs(gaps - (joint.rest if math.isfinite(joint.rest) else gaps[0]))
        worst[joint.name] = float(gaps.max())
    return worst


Core = tuple[FloatArray, float]
"""A shape in world metres as a convex core and a radius: a circle is its centre (one
point), a segment its two ends (capsule), a polygon its vertices (radius 0)."""


def _point_edges(points: FloatArray, a: FloatArray, b: FloatArray) -> float:
    """The least distance from any of ``points`` (k, 2) to any segment a[i]–b[i]."""
    ab = b - a  # (e, 2)
    length2 = np.maximum(np.sum(ab * ab, axis=1), 1e-300)
    rel = points[:, None, :] - a[None, :, :]  # (k, e, 2)
    t = np.clip(np.sum(rel * ab[None], axis=2) / length2, 0.0, 1.0)
    gap = rel - t[..., None] * ab[None]
    return float(np.sqrt(np.min(np.sum(gap * gap, axis=2))))


def _edges(points: FloatArray) -> tuple[FloatArray, FloatArray]:
    if len(points) < 3:  # a point or a segment: itself
        return points, np.roll(points, -1, axis=0) if len(points) == 2 else points
    return points, np.roll(points, -1, axis=0)


def _core_distance(p: FloatArray, q: FloatArray) -> float:
    """Distance between two convex cores; negative (minus the depth) when they overlap.

    Separated cores: the least vertex-to-edge distance (exact for convex sets). Overlap
    is measured by separating axes (each core's edge normals), as pymunk's own polygon
    test does; cores of a point or a segment cannot overlap a point or a segment by more
    than a crossing, counted as touching (0)."""
    axes = [_normals(core) for core in (p, q) if len(core) >= 2]
    if axes and (len(p) >= 3 or len(q) >= 3):
        normals = np.concatenate(axes)
        pp, qq = p @ normals.T, q @ normals.T
        gaps = np.maximum(qq.min(axis=0) - pp.max(axis=0), pp.min(axis=0) - qq.max(axis=0))
        widest = float(gaps.max())
        if widest < 0:
            return widest
    return min(_point_edges(p, *_edges(q)), _point_edges(q, *_edges(p)))


def _normals(points: FloatArray) -> FloatArray:
    edges = (np.roll(points, -1, axis=0) - points)[: max(1, len(points) - (len(points) == 2))]
    normals = np.column_stack((edges[:, 1], -edges[:, 0]))
    lengths = np.hypot(normals[:, 0], normals[:, 1])
    keep = lengths > 1e-12
    return normals[keep] / lengths[keep, None]


WHOLE_CLIP_PAIRS = 4096
"""``Penetration.deepest`` measures all frames together when its layout has at most
this many pairs of shapes (about 90 shapes), else frame by frame (sweep and prune)."""
WHOLE_CLIP_CELLS = 1 << 18
"""... and at most this many (frame, pair) cells at once (a few MB)."""


class Penetration:
    """The deepest overlap between shapes of two bodies, frame after frame of one layout.

    ``Penetration(layout)(frame)`` is (depth in m, row a, row b) with a < b, or (0.0, −1,
    −1) when no shapes overlap. Pairs that may overlap by design are left out: two static
    bodies, parts of one composite (a shared ``group``) and bodies tied by a joint. Each
    shape is a convex core plus a radius (``Core``): depth = radius_a + radius_b − the
    cores' distance (``_core_distance``).

    What the layout fixes (each shape's local points, radius, owner; which pairs are
    left out) is built once. A frame is a few whole-array passes: every shape's points
    moved at once, candidate pairs by sorting the shapes' boxes along x (sweep and
    prune), then the distances of all pairs of circles and segments together; only a
    pair with a polygon is measured one by one. The result is the same, to the bit,
    as measuring every candidate pair one by one (same float operations; the first of
    equally deep pairs in shape order wins).

    >>> from dataclasses import replace
    >>> from physics_scenes.frame import BodyInfo
    >>> ball = BodyInfo("a", "ball", "dynamic", "wood", (0, 0, 0), (CircleGeom(0.5),), 1, 1, (0, 0))
    >>> layout = Layout((ball, replace(ball, name="b")), (0, 0), (4, 4), (0, 0, 0), (0, -9.81))
    >>> two = np.zeros(2)
    >>> frame = Frame(0, 0.0, np.array([[0.0, 0.0], [0.8, 0.0]]), two, np.zeros((2, 2)), two)
    >>> depth, a, b = Penetration(layout)(frame)
    >>> round(depth, 12), layout.names[a], layout.names[b]
    (0.2, 'a', 'b')
    """

    def __init__(self, layout: Layout) -> None:
        owner, radius, local, counts = [], [], [], []
        for row, body in enumerate(layout.bodies):
            for geom in body.shapes:
                if isinstance(geom, CircleGeom):
                    points, pad = [geom.offset], geom.radius
                elif isinstance(geom, SegmentGeom):
                    points, pad = [geom.a, geom.b], geom.radius
                else:
                    points, pad = list(geom.vertices), 0.0
                owner.append(row)
                radius.append(float(pad))
                local += points
                counts.append(len(points))
        self.rows = len(layout.bodies)
        self.owner = np.array(owner, dtype=np.int64)
        self.radius = np.array(radius, dtype=np.float64)
        self.counts = np.array(counts, dtype=np.int64)
        self.local = np.array(local, dtype=np.float64).reshape(-1, 2)
        self.starts = np.concatenate(([0], np.cumsum(self.counts)[:-1])).astype(np.int64)
        self.point_owner = np.repeat(self.owner, self.counts)
        # a circle's one point taken twice: its edge (a point to itself) and its distances
        # are the same, and every core of a circle or segment is two points
        self.second = self.starts + (self.counts == 2)
        self.static = np.array([b.body_type == "static" for b in layout.bodies], dtype=bool)
        self.group = np.array([b.group for b in layout.bodies], dtype=np.int64)
        tied = [(min(j.a, j.b), max(j.a, j.b)) for j in layout.joints if min(j.a, j.b) >= 0]
        self.tied = np.array(sorted({a * self.rows + b for a, b in tied}), dtype=np.int64)
        self._pairs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None

    @property
    def pairs(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Every pair of shapes that may count, in shape order (for ``deepest``: a few
        shapes only, ``WHOLE_CLIP_PAIRS``)."""
        if self._pairs is None:
            first, second = np.triu_indices(len(self.owner), k=1)
            keep = self._counts(self.owner[first], self.owner[second])
            self._pairs = (first[keep].astype(np.int64), second[keep].astype(np.int64))
        return self._pairs

    def _counts(self, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which pairs of bodies (rows ``a``, ``b``) may overlap: two bodies, not both
        static, not in one group, not tied by a joint."""
        keep: npt.NDArray[np.bool_] = (a != b) & ~(self.static[a] & self.static[b])
        keep &= (self.group[a] == 0) | (self.group[a] != self.group[b])
        if len(self.tied):
            keep &= ~np.isin(np.minimum(a, b) * self.rows + np.maximum(a, b), self.tied)
        return keep

    def __call__(self, frame: Frame) -> tuple[float, int, int]:
        if len(self.owner) < 2:
            return 0.0, -1, -1
        x, y = frame.position[:, 0], frame.position[:, 1]
        angle = frame.angle
        present = np.isfinite(x) & np.isfinite(y) & np.isfinite(angle)
        # math's cos and sin, as the pose of one body (numpy's may differ in the last bit)
        cos = np.array([math.cos(a) if ok else 0.0 for a, ok in
                        zip(angle.tolist(), present.tolist(), strict=True)])  # fmt: skip
        sin = np.array([math.sin(a) if ok else 0.0 for a, ok in
                        zip(angle.tolist(), present.tolist(), strict=True)])  # fmt: skip
        rows = self.point_owner
        lx, ly = self.local[:, 0], self.local[:, 1]
        c, s = cos[rows], sin[rows]
        wx = x[rows] + lx * c - ly * s
        wy = y[rows] + lx * s + ly * c
        shapes = np.flatnonzero(present[self.owner])
        if len(shapes) < 2:
            return 0.0, -1, -1
        pad = self.radius[shapes]
        low_x = np.minimum.reduceat(wx, self.starts)[shapes] - pad
        high_x = np.maximum.reduceat(wx, self.starts)[shapes] + pad
        low_y = np.minimum.reduceat(wy, self.starts)[shapes] - pad
        high_y = np.maximum.reduceat(wy, self.starts)[shapes] + pad
        first, second = _overlapping_boxes(low_x, high_x, low_y, high_y)
        i, j = shapes[first], shapes[second]  # i < j: shape order, as the pairs were listed
        a, b = self.owner[i], self.owner[j]
        low, high = np.minimum(a, b), np.maximum(a, b)
        keep = self._counts(a, b)
        i, j, low, high = i[keep], j[keep], low[keep], high[keep]
        if len(i) == 0:
            return 0.0, -1, -1
        distance = np.empty(len(i))
        simple = (self.counts[i] <= 2) & (self.counts[j] <= 2)
        if simple.any():
            distance[simple] = self._simple_distances(wx, wy, i[simple], j[simple])
        for k in np.flatnonzero(~simple).tolist():
            distance[k] = _core_distance(self._core(wx, wy, int(i[k])),
                                         self._core(wx, wy, int(j[k])))  # fmt: skip
        depth = (self.radius[i] + self.radius[j]) - distance
        depth[np.isnan(depth)] = -np.inf
        best = int(np.argmax(depth))
        if not depth[best] > 0.0:
            return 0.0, -1, -1
        return float(depth[best]), int(low[best]), int(high[best])

    def deepest(self, frames: Sequence[Frame]) -> tuple[float, int, int, int]:
        """The deepest overlap over ``frames``: (depth, position in ``frames``, row a, row
        b) of the first frame as deep as any, or (0.0, −1, −1, −1) when none overlaps.

        The same, to the bit, as calling this object on each frame and keeping the first
        deepest, but in whole-clip array passes: every shape's points in every frame at
        once, then the box test and the circle and segment distances of every listed
        pair in every frame (``pairs``: the layout's pairs that may count, in shape
        order, as each frame's sweep lists them). A frame with a body out of the world
        (NaN) has fewer shapes and is measured alone, as is a pair with a polygon."""
        best: tuple[float, int, int, int] = (0.0, -1, -1, -1)
        shapes = len(self.owner)
        if shapes < 2 or not frames:
            return best
        if shapes * (shapes - 1) // 2 > WHOLE_CLIP_PAIRS:  # a crowd: each frame's sweep
            for at, frame in enumerate(frames):
                depth, a, b = self(frame)
                if depth > best[0]:
                    best = (depth, at, a, b)
            return best
        step = max(1, WHOLE_CLIP_CELLS // max(len(self.pairs[0]), 1))
        for start in range(0, len(frames), step):
            found = self._deepest_of(frames[start : start + step])
            if found[0] > best[0]:
                best = (found[0], found[1] + start, found[2], found[3])
        return best

    def _deepest_of(self, frames: Sequence[Frame]) -> tuple[float, int, int, int]:
        """``deepest`` of a few frames of a layout of a few shapes: all in arrays."""
        best: tuple[float, int, int, int] = (0.0, -1, -1, -1)
        x = np.stack([f.position[:, 0] for f in frames])
        y = np.stack([f.position[:, 1] for f in frames])
        angle = np.stack([f.angle for f in frames])
        present = np.isfinite(x) & np.isfinite(y) & np.isfinite(angle)
        turns = list(zip(angle.ravel().tolist(), present.ravel().tolist(), strict=True))
        cos = np.array([math.cos(a) if ok else 0.0 for a, ok in turns])
        sin = np.array([math.sin(a) if ok else 0.0 for a, ok in turns])
        rows = self.point_owner
        lx, ly = self.local[:, 0], self.local[:, 1]
        c, s = cos.reshape(angle.shape)[:, rows], sin.reshape(angle.shape)[:, rows]
        wx = x[:, rows] + lx * c - ly * s  # (frames, points)
        wy = y[:, rows] + lx * s + ly * c
        pad = self.radius
        low_x = np.minimum.reduceat(wx, self.starts, axis=1) - pad
        high_x = np.maximum.reduceat(wx, self.starts, axis=1) + pad
        low_y = np.minimum.reduceat(wy, self.starts, axis=1) - pad
        high_y = np.maximum.reduceat(wy, self.starts, axis=1) + pad
        i, j = self.pairs
        near = (low_x[:, j] <= high_x[:, i]) & (low_x[:, i] <= high_x[:, j])
        near &= (low_y[:, i] <= high_y[:, j]) & (low_y[:, j] <= high_y[:, i])
        whole = present[:, self.owner].all(axis=1)  # (and no point overflowed to inf)
        whole &= np.isfinite(wx).all(axis=1) & np.isfinite(wy).all(axis=1)
        near &= whole[:, None]
        depth = np.full(near.shape, -np.inf)
        simple = (self.counts[i] <= 2) & (self.counts[j] <= 2)
        frame, pair = np.nonzero(near & simple)
        if len(frame):
            points = frame * wx.shape[1]
            ii, jj = i[pair], j[pair]
            wxf, wyf = wx.ravel(), wy.ravel()
            px = np.stack((wxf[points + self.starts[ii]], wxf[points + self.second[ii]]), axis=1)
            py = np.stack((wyf[points + self.starts[ii]], wyf[points + self.second[ii]]), axis=1)
            qx = np.stack((wxf[points + self.starts[jj]], wxf[points + self.second[jj]]), axis=1)
            qy = np.stack((wyf[points + self.starts[jj]], wyf[points + self.second[jj]]), axis=1)
            least = np.minimum(_to_edges(px, py, qx, qy), _to_edges(qx, qy, px, py))
            depth[frame, pair] = (self.radius[ii] + self.radius[jj]) - np.sqrt(least)
        for f, k in zip(*np.nonzero(near & ~simple), strict=True):
            a, b = int(i[k]), int(j[k])
            distance = _core_distance(self._core(wx[f], wy[f], a), self._core(wx[f], wy[f], b))
            depth[f, k] = (self.radius[a] + self.radius[b]) - distance
        depth[np.isnan(depth)] = -np.inf
        listed = len(i)
        top = np.argmax(depth, axis=1) if listed else np.zeros(len(frames), dtype=np.int64)
        for f in range(len(frames)):
            if not whole[f]:  # fewer shapes: the sweep of this frame alone
                found, a, b = self(frames[f])
            elif listed and depth[f, top[f]] > 0.0:
                k = int(top[f])
                found = float(depth[f, k])
                a, b = int(self.owner[i[k]]), int(self.owner[j[k]])
                a, b = min(a, b), max(a, b)
            else:
                continue
            if found > best[0]:
                best = (found, f, a, b)
        return best

    def _core(self, wx: FloatArray, wy: FloatArray, shape: int) -> FloatArray:
        at = slice(int(self.starts[shape]), int(self.starts[shape] + self.counts[shape]))
        return np.column_stack((wx[at], wy[at]))

    def _simple_distances(
        self, wx: FloatArray, wy: FloatArray, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]
    ) -> FloatArray:
        """``_core_distance`` of pairs of cores of one or two points (circles, segments):
        the least distance from each core's points to the other's edges, both ways."""
        px = np.stack((wx[self.starts[i]], wx[self.second[i]]), axis=1)  # (m, 2)
        py = np.stack((wy[self.starts[i]], wy[self.second[i]]), axis=1)
        qx = np.stack((wx[self.starts[j]], wx[self.second[j]]), axis=1)
        qy = np.stack((wy[self.starts[j]], wy[self.second[j]]), axis=1)
        least = np.minimum(_to_edges(px, py, qx, qy), _to_edges(qx, qy, px, py))
        distance: FloatArray = np.sqrt(least)
        return distance


def _to_edges(px: FloatArray, py: FloatArray, qx: FloatArray, qy: FloatArray) -> FloatArray:
    """Per pair: the least squared distance from the points (m, 2) to the edges of the
    two-point cores q (edges q0→q1 and q1→q0, as ``_edges``), as ``_point_edges``."""
    ax, ay = qx, qy
    abx, aby = qx[:, ::-1] - qx, qy[:, ::-1] - qy  # (m, edges)
    length2 = np.maximum(abx * abx + aby * aby, 1e-300)
    relx = px[:, :, None] - ax[:, None, :]  # (m, points, edges)
    rely = py[:, :, None] - ay[:, None, :]
    t = np.clip((relx * abx[:, None, :] + rely * aby[:, None, :]) / length2[:, None, :], 0.0, 1.0)
    gx = relx - t * abx[:, None, :]
    gy = rely - t * aby[:, None, :]
    least: FloatArray = np.min((gx * gx + gy * gy).reshape(len(px), -1), axis=1)
    return least


def _overlapping_boxes(
    low_x: FloatArray, high_x: FloatArray, low_y: FloatArray, high_y: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair (i < j, sorted by i then j) of boxes that touch or overlap: boxes sorted
    by their left edge, each paired with those whose left edge is within its width."""
    order = np.argsort(low_x, kind="stable")
    lows = low_x[order]
    ends = np.searchsorted(lows, high_x[order], side="right")
    index = np.arange(len(order))
    counts = np.maximum(ends - index - 1, 0)
    p = np.repeat(index, counts)
    q = p + 1 + np.arange(len(p)) - np.repeat(np.cumsum(counts) - counts, counts)
    i, j = order[p], order[q]
    near = (low_y[i] <= high_y[j]) & (low_y[j] <= high_y[i])
    i, j = np.minimum(i[near], j[near]), np.maximum(i[near], j[near])
    ranked = np.lexsort((j, i))
    return i[ranked], j[ranked]


def penetration(layout: Layout, frame: Frame) -> tuple[float, int, int]:
    """``Penetration(layout)(frame)``: for one frame (a clip measures with one
    ``Penetration``, which builds the layout's part once)."""
    return Penetration(layout)(frame)
