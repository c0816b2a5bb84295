"""The walker's gait controller: joint angles in, motor commands out. Pure and deterministic.

A phase-based gait (two steps per cycle) tracked by velocity-servo motors, which
pymunk solves implicitly, so stiff control stays stable at any step size:

- **legs**: each thigh follows a world-frame target (stance: a linear sweep from
  +A to −A so the foot stays put while the body passes over it; swing: a Hermite
  curve from −A to +A that ends already sweeping back, so the foot lands with no
  forward speed); knees bend in swing for clearance and lock in stance; a swing
  foot is held level, a stance foot is free to follow the ground;
- **balance**: a torque-limited motor keeps the torso near upright (a stand-in for
  the whole-body balance a person does with ankles and hips; it is limited to
  ``BALANCE_TORQUE`` so a hard hit still topples the walker);
- **speed**: step length and cadence are set from the target speed (open loop: a
  closed speed loop through cadence made feet slip more, measured);
- **falling**: once the torso tilts past ``fall_angle`` every motor goes slack for
  good and the walker is a ragdoll (the joint limits stay).

All torques scale with ``(height / 1.7)^4`` (mass × length) so any size walks alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GAIN = 14.0
"""1/s: joint velocity per radian of error."""
HIP_TORQUE, KNEE_TORQUE, ANKLE_TORQUE, STANCE_ANKLE_TORQUE = 300.0, 300.0, 120.0, 120.0
BALANCE_TORQUE = 600.0
"""N·m at 1.7 m: enough to walk upright, far less than a heavy ball's knock delivers."""
LEG_ROLES = ("hip", "knee", "ankle")


@dataclass(frozen=True, slots=True)
class LimbState:
    """World angle (radians, counter-clockwise) and angular velocity of one part."""

    angle: float
    spin: float


@dataclass(frozen=True, slots=True)
class Command:
    """Relative angular velocity (b − a) a motor should hold, and its torque limit."""

    rate: float
    max_torque: float


@dataclass(slots=True)
class GaitController:
    height: float
    speed: float
    direction: int
    fall_angle: float
    active: bool = True
    phase: float = 0.0
    fallen: bool = False

    @property
    def scale(self) -> float:
        return self.height / 1.7

    @property
    def step_length(self) -> float:
        return (0.30 + 0.30 * self.speed / math.sqrt(self.scale)) * self.scale

    @property
    def amplitude(self) -> float:
        leg = 0.91 * self.scale
        return math.asin(min(0.9, self.step_length / (2 * leg)))

    def leg_targets(self, phase: float) -> tuple[float, float, bool]:
        """(thigh world angle as 'forward' pitch, knee angle, in stance?) at a phase."""
        a = self.amplitude
        phase %= 2 * math.pi
        if phase < math.pi:
            u = phase / math.pi
            return a * (1 - 2 * u), -0.08, True
        u = (phase - math.pi) / math.pi
        slope = -2 * a  # d(pitch)/du during stance: land already sweeping back
        h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
        h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
        hip = h00 * (-a) + h10 * slope + h01 * a + h11 * slope
        knee = -0.08 - (0.6 + 0.3 * self.speed) * math.sin(math.pi * u)
        return hip, knee, False

    def update(self, dt: float, parts: dict[str, LimbState]) -> dict[str, Command]:
        """Motor commands for this step; empty values (zero torque) once limp."""
        d = self.direction
        torso = parts["torso"]
        if self.active and not self.fallen and abs(torso.angle) > self.fall_angle:
            self.fallen = True
        if not self.active or self.fallen:
            return {role: Command(0.0, 0.0) for role in self._roles()}
        s4 = self.scale**4
        cadence = self.speed / self.step_length
        self.phase += math.pi * cadence * dt

        def q(name: str) -> float:
            return d * parts[name].angle

        def w(name: str) -> float:
            return d * parts[name].spin

        def world(parent: str, child: str, target: float, torque: float) -> Command:
            # child's world pitch → target: ω_child = GAIN·error, so ω_b − ω_a = that − ω_a
            return Command(d * (GAIN * (target - q(child)) - w(parent)), torque * s4)

        def relative(parent: str, child: str, target: float, torque: float) -> Command:
            return Command(d * GAIN * (target - (q(child) - q(parent))), torque * s4)

        lean = 0.04 + 0.04 * self.speed
        commands = {
            # The balance motor joins the torso (a) to the world (b): rate is ω_world − ω_torso.
            "balance": Command(-d * GAIN * (-lean - q("torso")), BALANCE_TORQUE * s4),
        }
        for side, offset in (("left", 0.0), ("right", math.pi)):
            hip, knee, stance = self.leg_targets(self.phase + offset)
            thigh, shin, foot = f"thigh_{side}", f"shin_{side}", f"foot_{side}"
            commands[f"hip_{side}"] = world("torso", thigh, hip, HIP_TORQUE)
            commands[f"knee_{side}"] = relative(thigh, shin, knee, KNEE_TORQUE)
            ankle = STANCE_ANKLE_TORQUE if stance else ANKLE_TORQUE
            commands[f"ankle_{side}"] = world(shin, foot, 0.0, ankle)
        return commands

    @staticmethod
    def _roles() -> list[str]:
        return ["balance", *(f"{j}_{s}" for s in ("left", "right") for j in LEG_ROLES)]
