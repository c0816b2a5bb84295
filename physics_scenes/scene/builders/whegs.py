"""A walking machine on whegs: two hubs of stiff legs, turned by one motor.

Each hub is a rimless wheel of ``LEGS`` legs ending in feet; the front hub is half
a leg out of step with the back one (a gear holds the phase), so one foot of each
is always planted and the chassis rides level on four points at most. It cannot
fall over, so long walks are always possible (the biped cannot promise that).
"""

from __future__ import annotations

import math

from ...frame import CircleGeom, PolyGeom, SegmentGeom
from ..assembly import Assembly, JointSpec
from ..colors import shade
from ..composites import Whegs
from ..materials import Material
from .common import Context, part

LEGS = 5
GRIP = Material("grip", density=400.0, friction=1.2, elasticity=0.0, color=(60, 60, 70))


def hub_spin(speed: float, leg: float, direction: int) -> float:
    """Hub angular velocity (rad/s, counter-clockwise positive) for a walking speed;
    ``leg`` is measured to the bottom of the foot.

    A rimless wheel advances one chord, 2·leg·sin(π/n), per leg: n chords a turn.
    """
    per_turn = LEGS * 2 * leg * math.sin(math.pi / LEGS)
    return -direction * 2 * math.pi * speed / per_turn


def build_whegs(entry: Whegs, ctx: Context) -> Assembly:
    size, d = entry.size, (1 if entry.direction == "right" else -1)
    leg, foot = 0.3 * size, 0.045 * size
    gx, gy = entry.position
    axle_y = gy + leg + foot + 0.002
    half_w, half_h = 0.5 * size, 0.07 * size
    chassis = part(
        ctx, "chassis", (gx, axle_y + 0.12 * size),
        (PolyGeom(((-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h))),),
        mass=20.0 * size**2, kind="chassis",
    )  # fmt: skip
    limb = shade(ctx.color, 0.8)
    bodies, joints = [chassis], []
    for label, dx, phase in (("front", 0.38 * size, math.pi / LEGS), ("back", -0.38 * size, 0.0)):
        shapes: list[SegmentGeom | CircleGeom] = []
        for k in range(LEGS):
            # legs start symmetric about straight down, so the first step is level
            angle = -math.pi / 2 + phase + 2 * math.pi * k / LEGS
            tip = (leg * math.cos(angle), leg * math.sin(angle))
            shapes += [SegmentGeom((0.0, 0.0), tip, 0.02 * size), CircleGeom(foot, tip)]
        hub = part(
            ctx,
            f"hub_{label}",
            (gx + dx, axle_y),
            tuple(shapes),
            mass=1.5 * size**2,
            color=limb,
            material=GRIP,
            kind="hub",
        )
        bodies.append(hub)
        joints.append(JointSpec(f"{hub.name}:axle", "pivot", chassis.name, hub.name,
                                anchor_a=(dx, -0.12 * size), visible=False))  # fmt: skip
    front, back = bodies[1].name, bodies[2].name
    joints += [
        JointSpec(f"{ctx.name}/motor", "motor", chassis.name, back,
                  rate=hub_spin(entry.speed, leg + foot, d), max_force=300.0 * size**3,
                  visible=False),
        JointSpec(f"{ctx.name}/gear", "gear", back, front, visible=False),
    ]  # fmt: skip
    return Assembly(bodies, joints, [])
