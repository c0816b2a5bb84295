"""The scene file's ``joints:`` section: constraints between named bodies.

Anchors are in each body's own coordinates (metres, relative to its position,
before rotation), like pymunk's; a joint whose ``b`` is omitted or ``world``
attaches to the world and its ``anchor_b`` is a world point. Angles are degrees
in the file, radians everywhere after ``build``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .fields import MAX_LENGTH, Degrees, Model, NonNegative, Point, Positive

WORLD = "world"


class JointBase(Model):
    name: str | None = Field(
        None, max_length=200, description="Name in outputs; default '<kind>_<index>'."
    )
    a: str = Field(min_length=1, max_length=1000, description="Name of the first body.")
    b: str = Field(
        WORLD, min_length=1, max_length=1000, description="Name of the second body, or 'world'."
    )
    collide: bool = Field(False, description="Whether the two bodies still collide.")
    max_force: Positive | None = Field(
        None, description="Strongest force (N) or torque (N·m) it may apply; default unlimited."
    )


class AnchoredJoint(JointBase):
    anchor_a: Point = Field((0.0, 0.0), description="Point on a, in a's coordinates (metres).")
    anchor_b: Point = Field(
        (0.0, 0.0), description="Point on b in b's coordinates, or a world point if b is 'world'."
    )


class Pin(AnchoredJoint):
    """A massless rod: keeps the anchors at their starting distance (or ``length``)."""

    kind: Literal["pin", "rod"]
    length: Positive | None = Field(None, description="Rod length; default the start distance.")


class Pivot(AnchoredJoint):
    """A hinge: the anchors coincide. ``point`` (a world point) sets both anchors at once."""

    kind: Literal["pivot", "hinge"]
    point: Point | None = Field(None, description="World point to hinge at (instead of anchors).")


class Slide(AnchoredJoint):
    """Like a rod whose length may vary between ``min`` and ``max``."""

    kind: Literal["slide"]
    min: float = Field(ge=0, le=MAX_LENGTH, description="Shortest distance in metres.")
    max: float = Field(ge=0, le=MAX_LENGTH, description="Longest distance in metres.")

    @model_validator(mode="after")
    def _ordered(self) -> Slide:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Groove(JointBase):
    """b's anchor slides along the groove from ``groove_a`` to ``groove_b`` on a."""

    kind: Literal["groove"]
    groove_a: Point = Field(description="Start of the groove, in a's coordinates.")
    groove_b: Point = Field(description="End of the groove, in a's coordinates.")
    anchor_b: Point = Field((0.0, 0.0), description="Point on b (b's coordinates).")


class Spring(AnchoredJoint):
    """A damped spring between the anchors (drawn as a zig-zag)."""

    kind: Literal["spring"]
    rest_length: float | None = Field(
        None, ge=0, le=MAX_LENGTH, description="Length at rest; default the start distance."
    )
    stiffness: Positive = Field(description="N/m.")
    damping: NonNegative = Field(0.0, description="N·s/m.")


class RotarySpring(JointBase):
    """A damped torsion spring on the relative angle (b − a)."""

    kind: Literal["rotary_spring"]
    rest_angle: Degrees = Field(0.0, description="Relative angle at rest, degrees.")
    stiffness: Positive = Field(description="N·m/rad.")
    damping: NonNegative = Field(0.0, description="N·m·s/rad.")


class RotaryLimit(JointBase):
    """Keeps the relative angle (b − a) between ``min`` and ``max`` degrees."""

    kind: Literal["rotary_limit"]
    min: Degrees = Field(description="Degrees.")
    max: Degrees = Field(description="Degrees.")

    @model_validator(mode="after")
    def _ordered(self) -> RotaryLimit:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Motor(JointBase):
    """Spins b relative to a at ``rate`` degrees/s, up to ``max_force`` N·m."""

    kind: Literal["motor"]
    rate: Degrees = Field(description="Relative angular velocity b − a, degrees/s.")


class Gear(JointBase):
    """Keeps b's angle at ``ratio`` × a's angle plus ``phase`` degrees."""

    kind: Literal["gear"]
    ratio: float = Field(1.0, ge=-1e6, le=1e6, description="Angular ratio b / a.")
    phase: Degrees = Field(0.0, description="Degrees.")


Joint = Annotated[
    Pin | Pivot | Slide | Groove | Spring | RotarySpring | RotaryLimit | Motor | Gear,
    Field(discriminator="kind"),
]
JOINT_KINDS = (
    "pin", "rod", "pivot", "hinge", "slide", "groove", "spring", "rotary_spring",
    "rotary_limit", "motor", "gear",
)  # fmt: skip
