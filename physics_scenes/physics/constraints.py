"""JointSpec → pymunk constraint. The second (and last) module that imports pymunk."""

from __future__ import annotations

import math

import pymunk

from ..scene.assembly import JointSpec


def build_constraint(spec: JointSpec, a: pymunk.Body, b: pymunk.Body) -> pymunk.Constraint:
    """One pymunk constraint; ``b`` is the space's static body for world joints."""
    aa, ab = spec.anchor_a, spec.anchor_b
    if spec.kind == "pin":
        joint: pymunk.Constraint = pymunk.PinJoint(a, b, aa, ab)
        if spec.length is not None:
            joint.distance = spec.length
    elif spec.kind == "pivot":
        joint = pymunk.PivotJoint(a, b, aa, ab)
    elif spec.kind == "slide":
        joint = pymunk.SlideJoint(a, b, aa, ab, spec.low, spec.high)
    elif spec.kind == "groove":
        joint = pymunk.GrooveJoint(a, b, spec.groove[0], spec.groove[1], ab)
    elif spec.kind == "spring":
        rest = spec.rest
        if rest is None:
            rest = math.dist(a.local_to_world(aa), b.local_to_world(ab))
        joint = pymunk.DampedSpring(a, b, aa, ab, rest, spec.stiffness, spec.damping)
    elif spec.kind == "rotary_spring":
        rest = 0.0 if spec.rest is None else spec.rest
        joint = pymunk.DampedRotarySpring(a, b, rest, spec.stiffness, spec.damping)
    elif spec.kind == "rotary_limit":
        # pymunk limits b.angle − a.angle; start angles count, as in the file.
        joint = pymunk.RotaryLimitJoint(a, b, spec.low, spec.high)
    elif spec.kind == "motor":
        # pymunk's rate is ω_a − ω_b; ours is the relative spin b − a.
        joint = pymunk.SimpleMotor(a, b, -spec.rate)
    elif spec.kind == "gear":
        joint = pymunk.GearJoint(a, b, spec.phase, spec.ratio)
    else:  # pragma: no cover - JointKind is a closed Literal
        raise ValueError(f"unknown joint kind {spec.kind!r}")
    joint.collide_bodies = spec.collide
    if spec.max_force is not None:
        joint.max_force = spec.max_force
    return joint


def relative_rate_to_pymunk(rate: float) -> float:
    """Our motor rate (b − a) as pymunk's SimpleMotor.rate (a − b)."""
    return -rate
