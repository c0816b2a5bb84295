"""A limp human figure: capsule limbs hinged with human joint limits."""

from __future__ import annotations

import math
from dataclasses import replace

from ...frame import CircleGeom, Geom, SegmentGeom, Vec2
from ..assembly import Assembly, BodySpec, JointSpec
from ..composites import Ragdoll
from .common import Context, hinge, limit, part, rotate
from .human import Proportions, default_mass

# (child, parent, joint, low°, high°) for a figure facing right; angles are child − parent,
# counter-clockwise positive, so "forward" for a limb hanging down is positive.
RAGDOLL_JOINTS = (
    ("head", "torso", "neck", -40.0, 40.0),
    ("upper_arm_left", "torso", "shoulder_left", -60.0, 170.0),
    ("upper_arm_right", "torso", "shoulder_right", -60.0, 170.0),
    ("lower_arm_left", "upper_arm_left", "elbow_left", 0.0, 145.0),
    ("lower_arm_right", "upper_arm_right", "elbow_right", 0.0, 145.0),
    ("thigh_left", "torso", "hip_left", -30.0, 120.0),
    ("thigh_right", "torso", "hip_right", -30.0, 120.0),
    ("shin_left", "thigh_left", "knee_left", -150.0, 0.0),
    ("shin_right", "thigh_right", "knee_right", -150.0, 0.0),
)


def build_ragdoll(entry: Ragdoll, ctx: Context) -> Assembly:
    p = Proportions(entry.height, entry.mass or default_mass(entry.height))
    s = p.s
    fx, fy = entry.position
    # the shin's capsule reaches 0.05·s below the ankle and is 0.055·s thick: its sole on fy
    hip = (fx, fy + p.thigh + p.shin + 0.105 * s)
    neck = (hip[0], hip[1] + p.torso)
    shoulder = (neck[0], neck[1] - 0.05 * s)
    arm = 0.3 * s
    capsule = SegmentGeom
    layout: list[tuple[str, Vec2, tuple[Geom, ...], float]] = [
        ("torso", hip, (capsule((0.0, 0.06 * s), (0.0, p.torso - 0.06 * s), 0.12 * s),), 0.50),
        ("head", neck, (CircleGeom(p.head_radius, (0.0, p.head_radius + 0.04 * s)),), 0.08),
    ]
    for side in ("left", "right"):
        elbow = (shoulder[0], shoulder[1] - arm)
        knee = (hip[0], hip[1] - p.thigh)
        layout += [
            (f"upper_arm_{side}", shoulder, (capsule((0.0, 0.0), (0.0, -arm), 0.045 * s),), 0.03),
            (f"lower_arm_{side}", elbow, (capsule((0.0, 0.0), (0.0, -arm), 0.04 * s),), 0.025),
            (f"thigh_{side}", hip, (capsule((0.0, 0.0), (0.0, -p.thigh), 0.07 * s),), 0.10),
            (
                f"shin_{side}",
                knee,
                (capsule((0.0, 0.0), (0.0, -p.shin - 0.05 * s), 0.055 * s),),
                0.06,
            ),
        ]
    total = sum(share for *_, share in layout)
    origin = {role: at for role, at, *_ in layout}
    name = {role: f"{ctx.name}/{role}" for role in origin}
    bodies: list[BodySpec] = [
        part(
            ctx,
            role,
            at,
            shapes,
            mass=p.mass * share / total,
            velocity=entry.velocity,
            kind="limb" if role != "head" else "head",
        )
        for role, at, shapes, share in layout
    ]
    sign = 1.0 if entry.facing == "right" else -1.0
    joints: list[JointSpec] = []
    for child, parent, joint, low, high in RAGDOLL_JOINTS:
        at = origin[child]
        body_at = {name[r]: origin[r] for r in origin}
        joints.append(hinge(ctx, joint, name[parent], name[child], at, body_at))
        lo, hi = (low, high) if sign > 0 else (-high, -low)
        joints.append(limit(ctx, f"{joint}_limit", name[parent], name[child], lo, hi))
    return Assembly(_tilted(bodies, (fx, fy), math.radians(entry.angle)), joints, [])


def _tilted(bodies: list[BodySpec], pivot: Vec2, angle: float) -> list[BodySpec]:
    """Rotate a whole figure about ``pivot``; body-local anchors stay valid."""
    if not angle:
        return bodies
    result = []
    for body in bodies:
        dx, dy = rotate((body.position[0] - pivot[0], body.position[1] - pivot[1]), angle)
        result.append(replace(body, position=(pivot[0] + dx, pivot[1] + dy), angle=angle))
    return result
