"""Composite entries of ``bodies:``: one entry that expands to many bodies and joints.

Every part is named '<name>/<part>' so outputs stay addressable (``cradle/ball_2``,
``bob/foot_left``); ``part_names`` lists them without building anything, so name
checks and joints that refer to parts work before the world exists.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from .fields import Color, Degrees, Length, MaterialRef, Model, Name, Point, Positive, Vec2


class Face(Model):
    """A picture worn on a figure's head: its centred square cropped to the inscribed
    circle, drawn turned with the head. A personal likeness (the default for a picture
    of your own) needs a consent record; ``personal: false`` declares a generic face."""

    image: str = Field(min_length=1, description="PNG or JPEG, relative to the scene file.")
    consent: str | None = Field(None, description="The consent record (.consent.json).")
    personal: bool = Field(True, description="false: a generic face that needs no consent.")

    @model_validator(mode="after")
    def _consented(self) -> Face:
        if self.personal and self.consent is None:
            raise ValueError(
                "a personal face needs 'consent: FILE.consent.json' (made by "
                "'physics-scenes consent grant'); a generic face says 'personal: false'"
            )
        return self


class Voice(Model):
    """A recording a figure speaks: played at ``start`` on the video clock, panned where
    the figure stands then. A personal voice needs a consent record, like a face."""

    file: str = Field(min_length=1, description="WAV, FLAC or MP3, relative to the scene file.")
    consent: str | None = Field(None, description="The consent record (.consent.json).")
    personal: bool = Field(True, description="false: a generic voice that needs no consent.")
    start: float = Field(0.0, ge=0, le=86_400, description="Video time it starts, seconds.")
    gain_db: float = Field(0.0, ge=-60, le=20, description="Loudness relative to the mix, LU.")

    @model_validator(mode="after")
    def _consented(self) -> Voice:
        if self.personal and self.consent is None:
            raise ValueError(
                "a personal voice needs 'consent: FILE.consent.json' (made by "
                "'physics-scenes consent grant'); a generic voice says 'personal: false'"
            )
        return self


class CompositeBase(Model):
    name: Name | None = Field(None, description="Parts are named '<name>/<part>'.")
    material: MaterialRef | None = Field(None, description="Material of the parts.")
    color: Color | None = Field(None, description="Colour of the parts.")

    def part_names(self) -> list[str]:
        raise NotImplementedError


class Chain(CompositeBase):
    """Links joined end to end, from ``start`` to ``end`` or hanging from ``start``.

    With both ends given and ``length`` longer than their distance the chain starts
    sagging (a parabola of the right length); ends are pinned to the world unless
    ``fix_start``/``fix_end`` say otherwise.
    """

    kind: Literal["chain", "rope"]
    start: Point = Field(description="First end, world metres.")
    end: Point | None = Field(None, description="Last end; omitted: the chain hangs straight down.")
    length: Length | None = Field(
        None, description="Total length; default the distance start→end (required when hanging)."
    )
    links: int = Field(12, ge=2, le=500, description="Number of links.")
    thickness: Length = Field(0.04, description="Link thickness in metres.")
    fix_start: bool = Field(True, description="Pin the first link's end to the world.")
    fix_end: bool | None = Field(None, description="Pin the last end; default: when 'end' given.")

    @model_validator(mode="after")
    def _has_length(self) -> Chain:
        if self.end is None and self.length is None:
            raise ValueError("a hanging chain (no 'end') needs a 'length'")
        if self.end is not None:
            distance = math.dist(self.start, self.end)
            if distance <= 1e-9:
                raise ValueError("start and end must be different points")
            if self.length is not None and self.length < distance * (1 - 1e-9):
                raise ValueError(
                    f"length {self.length:g} m is shorter than the distance between the ends "
                    f"({distance:.3g} m)"
                )
        return self

    def part_names(self) -> list[str]:
        width = len(str(self.links - 1))
        return [f"link_{i:0{width}d}" for i in range(self.links)]


class Pendulum(CompositeBase):
    """A bob on a massless rod from a fixed ``pivot``, released at ``angle`` from vertical."""

    kind: Literal["pendulum"]
    pivot: Point = Field(description="World point the rod hangs from.")
    length: Length = Field(1.0, description="Rod length, pivot to the bob's centre.")
    angle: float = Field(20.0, ge=-180, le=180, description="Release angle from straight down.")
    bob_radius: Length = Field(0.08, description="Radius of the bob.")
    mass: Positive | None = Field(None, description="Bob mass; default from the material.")

    def part_names(self) -> list[str]:
        return ["bob"]


class NewtonsCradle(CompositeBase):
    """``balls`` equal balls hanging in a row; the first ``lift`` are raised and released."""

    kind: Literal["newtons_cradle"]
    position: Point = Field(description="Middle of the top bar, world metres.")
    balls: int = Field(5, ge=2, le=20, description="Number of balls.")
    radius: Length = Field(0.1, description="Ball radius.")
    length: Length = Field(0.8, description="String length, bar to ball centre.")
    lift: int = Field(1, ge=0, le=20, description="How many balls start raised (from the left).")
    lift_angle: float = Field(35.0, gt=0, lt=90, description="Raise angle in degrees.")
    gap: float = Field(
        0.001, ge=0, le=0.1, description="Gap between resting balls (metres) so impacts are clean."
    )

    @model_validator(mode="after")
    def _lift_fits(self) -> NewtonsCradle:
        if self.lift >= self.balls:
            raise ValueError(f"lift ({self.lift}) must be smaller than balls ({self.balls})")
        return self

    def part_names(self) -> list[str]:
        return ["bar", *(f"ball_{i}" for i in range(self.balls))]


RAGDOLL_PARTS = (
    "torso", "head", "upper_arm_left", "lower_arm_left", "upper_arm_right",
    "lower_arm_right", "thigh_left", "shin_left", "thigh_right", "shin_right",
)  # fmt: skip


class Ragdoll(CompositeBase):
    """A limp human figure: head, torso, upper/lower arms and legs, with human joint limits."""

    kind: Literal["ragdoll"]
    position: Point = Field(description="Where the feet stand (world metres).")
    height: Length = Field(1.7, description="Standing height in metres.")
    angle: Degrees = Field(0.0, description="Tilt of the whole figure, degrees.")
    velocity: Vec2 = Field((0.0, 0.0), description="Initial velocity of every part, m/s.")
    mass: Positive | None = Field(None, description="Total mass; default 70 kg × (height/1.7)³.")
    facing: Literal["right", "left"] = "right"
    face: Face | None = Field(None, description="A picture worn on the head.")
    voice: Voice | None = Field(None, description="A recording it speaks.")

    def part_names(self) -> list[str]:
        return list(RAGDOLL_PARTS)


WALKER_PARTS = (
    "torso", "thigh_left", "shin_left", "foot_left", "thigh_right", "shin_right", "foot_right",
    "arm_left", "arm_right",
)  # fmt: skip


class Walker(CompositeBase):
    """A biped whose hips, knees and ankles are driven by motors from a gait controller.

    ``active: false`` makes it a limp ragdoll. It goes limp for good when knocked
    over (torso tilted past ``fall_angle``).
    """

    kind: Literal["walker"]
    position: Point = Field(description="Point on the ground between the feet (world metres).")
    height: Length = Field(1.7, description="Standing height in metres.")
    speed: float = Field(1.0, ge=0.2, le=2.0, description="Target walking speed, m/s.")
    direction: Literal["right", "left"] = "right"
    active: bool = Field(True, description="false: no muscles, a ragdoll.")
    fall_angle: float = Field(
        40.0, gt=5, lt=90, description="Torso tilt (degrees) beyond which it goes limp."
    )
    mass: Positive | None = Field(None, description="Total mass; default 70 kg × (height/1.7)³.")
    face: Face | None = Field(None, description="A picture worn on the head.")
    voice: Voice | None = Field(None, description="A recording it speaks.")

    def part_names(self) -> list[str]:
        return list(WALKER_PARTS)


class Whegs(CompositeBase):
    """A walking machine on two hubs of five stiff legs ("whegs"), turned by one motor.

    Not a person: a machine that cannot fall over, so long walks always work.
    """

    kind: Literal["whegs"]
    position: Point = Field(description="Point on the ground under the chassis centre.")
    size: Length = Field(1.0, description="Chassis length in metres.")
    speed: float = Field(0.5, gt=0, le=3.0, description="Walking speed, m/s.")
    direction: Literal["right", "left"] = "right"

    def part_names(self) -> list[str]:
        return ["chassis", "hub_front", "hub_back"]


COMPOSITES = (Chain, Pendulum, NewtonsCradle, Ragdoll, Walker, Whegs)
COMPOSITE_KINDS = (
    "chain", "rope", "pendulum", "newtons_cradle", "ragdoll", "walker", "whegs",
)  # fmt: skip
