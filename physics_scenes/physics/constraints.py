"""JointSpec → pymunk constraint. The second (and last) module that imports pymunk."""

from __future__ import annotations

import math
import sys

import pymunk

from ..scene.assembly import JointSpec

CORRECTION = 0.4
"""Fraction of a joint's position error corrected in one step.

pymunk's default (``error_bias`` = 0.9^60: 10 % of the error left after 1/60 s, i.e. 2.6 %
a step at 240 steps/s) lets a rigid joint drift: a 1 m pendulum released at 150° stretched
its rod 10 mm, ran 7.5 % fast and lost 13° of swing in 12 s. Correcting 40 % of the error
every step holds it to 0.8 mm, 0.03 % and 0.07° (``tests/test_joints.py``); more (up to
all of it at once) helps the pendulum a little but makes long chains overshoot.
"""


def error_bias(dt: float, correction: float = CORRECTION) -> float:
    """pymunk's ``error_bias`` (error left after one second) for ``correction`` per step.

    >>> round(1 - error_bias(1 / 240, 0.5) ** (1 / 240), 6)
    0.5

    Clamped to the smallest normal float, so a tiny step corrects less than asked
    (its drift, which goes as dt², is tinier still).
    """
    left: float = (1.0 - correction) ** (1.0 / dt)
    return max(left, sys.float_info.min)


def build_constraint(
    spec: JointSpec, a: pymunk.Body, b: pymunk.Body, dt: float
) -> pymunk.Constraint:
    """One pymunk constraint; ``b`` is the space's static body for world joints.

    ``dt`` is the world's step, which sets the joint's ``error_bias`` (``CORRECTION``).
    """
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
    joint.error_bias = error_bias(dt)
    if spec.max_force is not None:
        joint.max_force = spec.max_force
    return joint


def relative_rate_to_pymunk(rate: float) -> float:
    """Our motor rate (b − a) as pymunk's SimpleMotor.rate (a − b)."""
    return -rate
