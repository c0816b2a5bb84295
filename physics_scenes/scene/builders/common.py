"""Shared pieces of the builders: the context they get and small geometry helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...frame import Geom, Vec2
from ..assembly import BodySpec, JointSpec
from ..colors import RGB
from ..materials import Material


@dataclass(frozen=True, slots=True)
class Context:
    """What a builder knows besides its entry: resolved names, material, colour, group."""

    name: str
    material: Material
    color: RGB
    group: int
    material_given: bool = False
    color_given: bool = False


def rotate(point: Vec2, angle: float) -> Vec2:
    c, s = math.cos(angle), math.sin(angle)
    return (point[0] * c - point[1] * s, point[0] * s + point[1] * c)


def part(
    ctx: Context,
    role: str,
    position: Vec2,
    shapes: tuple[Geom, ...],
    *,
    angle: float = 0.0,
    velocity: Vec2 = (0.0, 0.0),
    mass: float | None = None,
    color: RGB | None = None,
    material: Material | None = None,
    kind: str | None = None,
) -> BodySpec:
    """A dynamic part named '<name>/<role>' in the composite's collision group."""
    return BodySpec(
        name=f"{ctx.name}/{role}",
        kind=kind or role.split("_")[0],
        body_type="dynamic",
        position=position,
        angle=angle,
        velocity=velocity,
        angular_velocity=0.0,
        material=material or ctx.material,
        color=color or ctx.color,
        shapes=shapes,
        mass=mass,
        group=ctx.group,
    )


def hinge(
    ctx: Context,
    role: str,
    a: str,
    b: str | None,
    at: Vec2,
    body_at: dict[str, Vec2],
    visible: bool = False,
) -> JointSpec:
    """A pivot at world point ``at``; anchors follow from where each body starts (unrotated)."""
    ax, ay = body_at[a]
    anchor_b = at if b is None else (at[0] - body_at[b][0], at[1] - body_at[b][1])
    return JointSpec(
        name=f"{ctx.name}/{role}",
        kind="pivot",
        a=a,
        b=b,
        anchor_a=(at[0] - ax, at[1] - ay),
        anchor_b=anchor_b,
        visible=visible,
    )


def limit(ctx: Context, role: str, a: str, b: str, low_deg: float, high_deg: float) -> JointSpec:
    return JointSpec(
        name=f"{ctx.name}/{role}",
        kind="rotary_limit",
        a=a,
        b=b,
        low=math.radians(low_deg),
        high=math.radians(high_deg),
        visible=False,
    )
