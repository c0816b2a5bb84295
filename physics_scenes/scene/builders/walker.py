"""The walker's body: torso with neck and head, arms, thighs, shins and feet, hinged, with a
motor per joint.

The motors are driven every step by ``gait.GaitController`` (see there for how);
this module only lays out the parts, standing upright with feet on the ground.
"""

from __future__ import annotations

import math
from types import MappingProxyType

from ...frame import CircleGeom, PolyGeom, SegmentGeom
from ..assembly import Assembly, JointSpec, WalkerSpec
from ..colors import shade
from ..composites import Walker
from ..materials import Material
from .common import Context, hinge, limit, part
from .human import Proportions, default_mass

SOLE = Material("sole", density=1000.0, friction=1.2, elasticity=0.0, color=(60, 60, 70))
"""Rubber soles that grip: feet must not slide on ground."""
MASS_SHARES = MappingProxyType(
    {"torso": 0.54, "arm": 0.05, "thigh": 0.115, "shin": 0.055, "foot": 0.015}
)
"""Shares of the body's mass (Winter's tables, rounded; the torso carries head and neck)."""
ELBOW = math.radians(20.0)
"""The arm's forearm is bent forward this much at the elbow (a relaxed arm)."""


def build_walker(entry: Walker, ctx: Context) -> Assembly:
    p = Proportions(entry.height, entry.mass or default_mass(entry.height))
    s, d = p.s, (1 if entry.direction == "right" else -1)
    gx, gy = entry.position
    hip = (gx, gy + p.hip + 0.002 * s)
    knee, ankle = (gx, hip[1] - p.thigh), (gx, hip[1] - p.thigh - p.shin)
    heel, toe = 0.06 * s, 0.19 * s
    outline = [(-heel, -p.ankle), (toe, -p.ankle), (toe, -p.ankle + 0.035 * s), (0.0, 0.0)]
    mirrored = [(d * x, y) for x, y in outline]
    foot = PolyGeom(tuple(mirrored if d > 0 else reversed(mirrored)))  # counter-clockwise
    torso_shapes = (
        SegmentGeom((0.0, 0.08 * s), (0.0, p.torso - 0.08 * s), 0.13 * s),
        SegmentGeom((0.0, p.torso - 0.08 * s), (0.0, p.torso + 0.1 * s), 0.045 * s),  # neck
        CircleGeom(p.head_radius, (0.0, p.torso + p.head_radius + 0.08 * s)),
    )
    names = {role: f"{ctx.name}/{role}" for role in entry.part_names()}
    at = {names["torso"]: hip}
    torso = part(ctx, "torso", hip, torso_shapes, mass=p.mass * MASS_SHARES["torso"], kind="torso")
    joints: list[JointSpec] = []
    tone = {"left": 0.72, "right": 1.0}  # the far (left, drawn first) side darker: limbs read apart
    shoulder = (gx, hip[1] + p.torso - 0.06 * s)
    upper, fore = 0.29 * s, 0.3 * s
    elbow = (0.0, -upper)
    hand = (d * fore * math.sin(ELBOW), -upper - fore * math.cos(ELBOW))
    arm_shapes = (SegmentGeom((0.0, 0.0), elbow, 0.045 * s), SegmentGeom(elbow, hand, 0.04 * s))
    arms = {}
    for side in ("left", "right"):
        arm = names[f"arm_{side}"]
        at[arm] = shoulder
        arms[side] = part(
            ctx,
            f"arm_{side}",
            shoulder,
            arm_shapes,
            mass=p.mass * MASS_SHARES["arm"],
            color=shade(ctx.color, tone[side]),
            kind="limb",
        )
        joints += [
            hinge(ctx, f"shoulder_{side}", names["torso"], arm, shoulder, at),
            limit(ctx, f"shoulder_{side}_limit", names["torso"], arm, -60.0, 60.0),
        ]
    bodies = [arms["left"], torso]  # the far arm behind the torso, the near one in front
    for side in ("left", "right"):
        color = shade(ctx.color, tone[side])
        thigh, shin, sole_name = (
            names[f"thigh_{side}"],
            names[f"shin_{side}"],
            names[f"foot_{side}"],
        )
        at |= {thigh: hip, shin: knee, sole_name: ankle}
        bodies += [
            part(
                ctx,
                f"thigh_{side}",
                hip,
                (SegmentGeom((0.0, 0.0), (0.0, -p.thigh), 0.075 * s),),
                mass=p.mass * MASS_SHARES["thigh"],
                color=color,
                kind="limb",
            ),
            part(
                ctx,
                f"shin_{side}",
                knee,
                (SegmentGeom((0.0, 0.0), (0.0, -p.shin), 0.055 * s),),
                mass=p.mass * MASS_SHARES["shin"],
                color=color,
                kind="limb",
            ),
            part(
                ctx,
                f"foot_{side}",
                ankle,
                (foot,),
                mass=p.mass * MASS_SHARES["foot"],
                material=SOLE,
                color=color,
                kind="foot",
            ),
        ]
        joints += [
            hinge(ctx, f"hip_{side}", names["torso"], thigh, hip, at),
            hinge(ctx, f"knee_{side}", thigh, shin, knee, at),
            hinge(ctx, f"ankle_{side}", shin, sole_name, ankle, at),
            limit(
                ctx, f"knee_{side}_limit", thigh, shin, *((-150.0, 0.0) if d > 0 else (0.0, 150.0))
            ),
            limit(
                ctx,
                f"hip_{side}_limit",
                names["torso"],
                thigh,
                *((-40.0, 120.0) if d > 0 else (-120.0, 40.0)),
            ),
            limit(ctx, f"ankle_{side}_limit", shin, sole_name, -45.0, 45.0),
        ]
    bodies.append(arms["right"])
    motors = {}
    for side in ("left", "right"):
        for joint, (a, b) in {
            f"shoulder_{side}": (names["torso"], names[f"arm_{side}"]),
            f"hip_{side}": (names["torso"], names[f"thigh_{side}"]),
            f"knee_{side}": (names[f"thigh_{side}"], names[f"shin_{side}"]),
            f"ankle_{side}": (names[f"shin_{side}"], names[f"foot_{side}"]),
        }.items():
            motors[joint] = f"{ctx.name}/{joint}_motor"
            joints.append(JointSpec(motors[joint], "motor", a, b, max_force=0.0, visible=False))
    motors["balance"] = f"{ctx.name}/balance_motor"
    joints.append(
        JointSpec(motors["balance"], "motor", names["torso"], None, max_force=0.0, visible=False)
    )
    spec = WalkerSpec(
        name=ctx.name,
        height=entry.height,
        speed=entry.speed,
        direction=d,
        active=entry.active,
        fall_angle=math.radians(entry.fall_angle),
        parts={role: names[role] for role in entry.part_names()},
        motors=motors,
    )
    return Assembly(bodies, joints, [spec])
