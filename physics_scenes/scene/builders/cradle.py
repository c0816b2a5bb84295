"""Pendulums and Newton's cradle: balls on massless rods."""

from __future__ import annotations

import math
from dataclasses import replace

from ...frame import CircleGeom, SegmentGeom
from ..assembly import Assembly, BodySpec, JointSpec
from ..composites import NewtonsCradle, Pendulum
from ..materials import Material
from .common import Context, part

CRADLE_BALL = Material("steel", density=7800.0, friction=0.0, elasticity=1.0, color=(190, 196, 206))
"""Hard, frictionless and perfectly elastic: momentum passes through the row in one go."""


def build_pendulum(entry: Pendulum, ctx: Context) -> Assembly:
    theta = math.radians(entry.angle)
    px, py = entry.pivot
    bob = (px + entry.length * math.sin(theta), py - entry.length * math.cos(theta))
    body = part(ctx, "bob", bob, (CircleGeom(entry.bob_radius),), mass=entry.mass, kind="ball")
    rod = JointSpec(f"{ctx.name}/rod", "pin", body.name, None, anchor_b=entry.pivot)
    return Assembly([body], [rod], [])


def build_cradle(entry: NewtonsCradle, ctx: Context) -> Assembly:
    cx, top = entry.position
    pitch = 2 * entry.radius + entry.gap
    first = cx - pitch * (entry.balls - 1) / 2
    material = ctx.material if ctx.material_given else CRADLE_BALL
    color = ctx.color if ctx.color_given or ctx.material_given else CRADLE_BALL.color
    half = pitch * entry.balls / 2 + entry.radius
    bar = BodySpec(
        name=f"{ctx.name}/bar",
        kind="bar",
        body_type="static",
        position=(cx, top),
        angle=0.0,
        velocity=(0.0, 0.0),
        angular_velocity=0.0,
        material=material,
        color=(120, 124, 132),
        shapes=(SegmentGeom((-half, 0.0), (half, 0.0), 0.02),),
        group=ctx.group,
    )
    bodies, joints = [bar], []
    theta = -math.radians(entry.lift_angle)
    for i in range(entry.balls):
        ax = first + pitch * i
        angle = theta if i < entry.lift else 0.0
        centre = (ax + entry.length * math.sin(angle), top - entry.length * math.cos(angle))
        ball = part(
            ctx,
            f"ball_{i}",
            centre,
            (CircleGeom(entry.radius),),
            material=material,
            color=color,
            kind="ball",
        )
        bodies.append(ball)
        joints.append(
            JointSpec(f"{ctx.name}/string_{i}", "pin", ball.name, bar.name, anchor_b=(ax - cx, 0.0))
        )
    # Balls of one cradle must collide with each other: only the bar shares the group.
    bodies[1:] = [replace(b, group=0) for b in bodies[1:]]
    return Assembly(bodies, joints, [])
