"""A chain or rope: capsule links hinged end to end."""

from __future__ import annotations

import itertools
import math

from ...frame import SegmentGeom, Vec2
from ..assembly import Assembly, JointSpec
from ..composites import Chain
from .common import Context, part


def _sag(start: Vec2, end: Vec2, length: float, count: int) -> list[Vec2]:
    """``count + 1`` points from start to end on a parabolic sag of the given arc length.

    Points are spaced evenly along the curve, so all links are (almost) equal.
    """
    (sx, sy), (ex, ey) = start, end
    dx, dy = ex - sx, ey - sy
    chord = math.hypot(dx, dy)
    nx, ny = dy / chord, -dx / chord  # perpendicular; pick the one that points down
    if ny > 0:
        nx, ny = -nx, -ny

    def curve(depth: float, samples: int = 400) -> list[Vec2]:
        return [
            (sx + dx * t + nx * depth * 4 * t * (1 - t), sy + dy * t + ny * depth * 4 * t * (1 - t))
            for t in (i / samples for i in range(samples + 1))
        ]

    def arc(points: list[Vec2]) -> float:
        return sum(math.dist(p, q) for p, q in itertools.pairwise(points))

    low, high = 0.0, length
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if arc(curve(mid)) < length else (low, mid)
    dense = curve(low)
    cumulative = [0.0]
    for p, q in itertools.pairwise(dense):
        cumulative.append(cumulative[-1] + math.dist(p, q))
    total, result, j = cumulative[-1], [], 0
    for i in range(count + 1):
        target = total * i / count
        while j < len(dense) - 2 and cumulative[j + 1] < target:
            j += 1
        span = cumulative[j + 1] - cumulative[j] or 1.0
        f = (target - cumulative[j]) / span
        (ax, ay), (bx, by) = dense[j], dense[j + 1]
        result.append((ax + (bx - ax) * f, ay + (by - ay) * f))
    return result


def build_chain(entry: Chain, ctx: Context) -> Assembly:
    names = [f"{ctx.name}/{role}" for role in entry.part_names()]
    if entry.end is None:
        step = entry.length / entry.links  # type: ignore[operator]
        x, y = entry.start
        points = [(x, y - step * i) for i in range(entry.links + 1)]
    else:
        length = entry.length or math.dist(entry.start, entry.end)
        if length <= math.dist(entry.start, entry.end) * (1 + 1e-6):
            points = [
                (
                    entry.start[0] + (entry.end[0] - entry.start[0]) * i / entry.links,
                    entry.start[1] + (entry.end[1] - entry.start[1]) * i / entry.links,
                )
                for i in range(entry.links + 1)
            ]
        else:
            points = _sag(entry.start, entry.end, length, entry.links)
    radius = entry.thickness / 2
    bodies, joints = [], []
    for i, (p, q) in enumerate(itertools.pairwise(points)):
        link = math.dist(p, q)
        angle = math.atan2(q[1] - p[1], q[0] - p[0])
        bodies.append(
            part(
                ctx,
                names[i].split("/")[-1],
                p,
                (SegmentGeom((0.0, 0.0), (link, 0.0), radius),),
                angle=angle,
                kind="link",
            )
        )
    lengths = [math.dist(p, q) for p, q in itertools.pairwise(points)]
    for i in range(entry.links - 1):
        joints.append(
            JointSpec(
                f"{names[i]}:hinge",
                "pivot",
                names[i],
                names[i + 1],
                anchor_a=(lengths[i], 0.0),
                anchor_b=(0.0, 0.0),
                visible=False,
            )
        )
    if entry.fix_start:
        joints.append(
            JointSpec(
                f"{ctx.name}/start",
                "pivot",
                names[0],
                None,
                anchor_a=(0.0, 0.0),
                anchor_b=points[0],
            )
        )
    fix_end = entry.fix_end if entry.fix_end is not None else entry.end is not None
    if fix_end:
        joints.append(
            JointSpec(
                f"{ctx.name}/end",
                "pivot",
                names[-1],
                None,
                anchor_a=(lengths[-1], 0.0),
                anchor_b=points[-1],
            )
        )
    return Assembly(bodies, joints, [])
