"""Physical quantities computed from Frames alone (for tests, HUDs and ground truth)."""

from __future__ import annotations

import math
from collections.abc import Callable

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


def _present(layout: Layout, frame: Frame) -> npt.NDArray[np.bool_]:
    """Dynamic bodies in the world (a script's absent bodies have NaN states)."""
    return layout.dynamic_mask() & np.isfinite(frame.position).all(axis=1)


def kinetic_energy(layout: Layout, frame: Frame) -> float:
    """Σ ½mv² + ½Iω² over dynamic bodies, in joules (pymunk's velocity is the COG's).
    Bodies not in the world (a script's, NaN) are left out."""
    mask = _present(layout, frame)
    mass, moment = layout.masses()[mask], layout.moments()[mask]
    speed2 = np.sum(frame.velocity[mask] ** 2, axis=1)
    return float(
        0.5 * np.sum(mass * speed2) + 0.5 * np.sum(moment * frame.angular_velocity[mask] ** 2)
    )


def potential_energy(layout: Layout, frame: Frame) -> float:
    """Gravitational energy −Σ m g·r of dynamic bodies, in joules (zero at the origin)."""
    mask = _present(layout, frame)
    gravity = np.asarray(layout.gravity, dtype=np.float64)
    heights = centers_of_gravity(layout, frame)[mask] @ gravity
    return float(-np.sum(layout.masses()[mask] * heights))


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


def _cores(layout: Layout, frame: Frame, row: int) -> list[Core]:
    x, y = frame.position[row]
    c, s = math.cos(frame.angle[row]), math.sin(frame.angle[row])
    out: list[Core] = []
    for geom in layout.bodies[row].shapes:
        if isinstance(geom, CircleGeom):
            local, radius = np.array([geom.offset], dtype=np.float64), geom.radius
        elif isinstance(geom, SegmentGeom):
            local, radius = np.array([geom.a, geom.b], dtype=np.float64), geom.radius
        else:
            local, radius = np.array(geom.vertices, dtype=np.float64), 0.0
        world = np.column_stack((x + local[:, 0] * c - local[:, 1] * s,
                                 y + local[:, 0] * s + local[:, 1] * c))  # fmt: skip
        out.append((world, radius))
    return out


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


CoreCache = dict[int, tuple[tuple[float, float, float], list[Core]]]
"""``penetration``'s memory between frames: row → (pose, its shapes' cores)."""


def penetration(
    layout: Layout, frame: Frame, cache: CoreCache | None = None
) -> tuple[float, int, int]:
    """The deepest overlap (m) between shapes of two bodies in ``frame``, and their rows
    (a < b); (0.0, -1, -1) when no shapes overlap.

    Pairs that may overlap by design are left out: two static bodies, parts of one
    composite (a shared ``group``) and bodies tied by a joint. Each shape is a convex
    core plus a radius (``Core``): depth = radius_a + radius_b − the cores' distance.
    Candidates come from the shapes' boxes, so a frame costs about one numpy pass. With
    ``cache`` (one dict per clip), a body in the pose it had (walls) reuses its cores."""
    rows, cores = [], []
    for row in range(len(layout.bodies)):
        x, y = frame.position[row]
        pose = (float(x), float(y), float(frame.angle[row]))
        if not all(map(math.isfinite, pose)):
            continue
        known = cache.get(row) if cache is not None else None
        if known is not None and known[0] == pose:
            mine = known[1]
        else:
            mine = _cores(layout, frame, row)
            if cache is not None:
                cache[row] = (pose, mine)
        rows += [row] * len(mine)
        cores += mine
    if len(cores) < 2:
        return 0.0, -1, -1
    owner = np.array(rows)
    pad = np.array([r for _, r in cores])
    low = np.array([pts.min(axis=0) for pts, _ in cores]) - pad[:, None]
    high = np.array([pts.max(axis=0) for pts, _ in cores]) + pad[:, None]
    apart = (low[:, None, :] > high[None, :, :]).any(axis=2)
    first, second = np.nonzero(np.triu(~apart & ~apart.T, k=1))
    static = np.array([b.body_type == "static" for b in layout.bodies])
    groups = np.array([b.group for b in layout.bodies])
    tied = {frozenset((j.a, j.b)) for j in layout.joints}
    deepest, pair = 0.0, (-1, -1)
    for i, j in zip(first.tolist(), second.tolist(), strict=True):
        a, b = int(owner[i]), int(owner[j])
        if a == b or (static[a] and static[b]) or frozenset((a, b)) in tied:
            continue
        if groups[a] != 0 and groups[a] == groups[b]:
            continue
        depth = cores[i][1] + cores[j][1] - _core_distance(cores[i][0], cores[j][0])
        if depth > deepest:
            deepest, pair = depth, (min(a, b), max(a, b))
    return deepest, *pair
