"""The walker's gait controller: body state in, motor commands out. Pure and deterministic.

Two phases per step in the style of SIMBICON (Yin et al. 2007) with Raibert's
foot placement; every joint is a velocity-servo motor, which pymunk solves
implicitly, so stiff control stays stable at any time step:

- **stance leg**: the hip drives the leg back at the angular speed that carries
  the hip forward at the target speed, with a small torque (a stiff drive
  fights the arc the hip must follow and makes the foot hop); the knee stays
  nearly straight; the ankle is soft so the sole follows the ground;
- **swing leg**: the thigh swings to a world-frame placement angle from the body's
  speed (half the distance covered in a step, plus ``PLACEMENT_GAIN`` times the
  speed error: a faster body steps further ahead and brakes), the knee folds for
  clearance and straightens to land, the foot is held level;
- **step switch**: when the swing foot, having left the ground, touches down after
  a quarter of a step period (or when the step overruns);
- **balance assist**: a torque-limited motor holds the torso's tilt (a stand-in for
  the balance a person keeps with ankles, hips and arms). It acts on the tilt only,
  never on height or speed: the legs carry the weight and make the progress. It is
  limited to ``BALANCE_TORQUE`` so a hard hit still topples the walker;
- **falling**: once the torso tilts past ``fall_angle`` or the hips sink below
  half their standing height, every motor goes slack for good and the walker is a
  ragdoll (its joint limits stay).

Angles are "pitch" in the walking direction: positive swings a leg forward.
Torques scale with ``(height / 1.7)^4`` (mass × length) so any size walks alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GAIN = 12.0
"""1/s: joint speed commanded per radian of error."""
HIP_TORQUE, KNEE_TORQUE, ANKLE_TORQUE, STANCE_ANKLE_TORQUE = 400.0, 600.0, 100.0, 60.0
PUSH_TORQUE = 80.0
"""Stance hip drive, N·m: gentle, since a stiff drive fights the hip's arc and the foot hops."""
UPHILL_REACH = 0.6
"""Uphill, land further ahead (leg lengths per radian of slope): the ground rises to the foot."""
UPHILL_LEAN, DOWNHILL_LEAN = 2.0, 0.5
"""Extra torso lean per radian of slope (forward uphill, back downhill)."""
STANCE_KNEE = -0.12
"""Knee bend held through stance, radians."""
MAX_SWEEP = 0.35
"""Radians behind vertical where the stance drive stops."""
BALANCE_TORQUE = 500.0
"""N·m at 1.7 m on the torso's tilt only, never its height or speed."""
PLACEMENT_GAIN = 0.3
"""Raibert's k: extra foot placement (m) per m/s of speed above the target."""
LEAN = 0.05
"""Forward lean of the torso, radians."""
KNEE_FOLD = 1.2
"""Peak knee bend in swing, radians: enough to clear a 10° slope."""
LEG_ROLES = ("hip", "knee", "ankle")


@dataclass(frozen=True, slots=True)
class PartState:
    """A part's world pose and velocity (radians counter-clockwise, metres, SI)."""

    angle: float
    spin: float
    position: tuple[float, float] = (0.0, 0.0)
    velocity: tuple[float, float] = (0.0, 0.0)
    mass: float = 0.0


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
    stance: str = "left"
    step_time: float = 0.0
    lift_angle: float = 0.0
    steps: int = 0
    airborne: bool = False
    ground_pitch: float = 0.0
    """The slope underfoot (radians, rising ahead positive), from the last two footholds."""
    foothold: tuple[float, float] | None = None
    fallen: bool = False

    @property
    def scale(self) -> float:
        return self.height / 1.7

    @property
    def leg_length(self) -> float:
        return 0.91 * self.scale

    @property
    def step_period(self) -> float:
        """Seconds per step: people step faster when they walk faster."""
        return (0.62 - 0.12 * self.speed) * math.sqrt(self.scale)

    def update(
        self, dt: float, parts: dict[str, PartState], contacts: frozenset[str]
    ) -> dict[str, Command]:
        """Motor commands for this step; zero torque everywhere once limp."""
        torso = parts["torso"]
        if self.active and not self.fallen:
            feet = min(parts["foot_left"].position[1], parts["foot_right"].position[1])
            sunk = torso.position[1] - feet < 0.5 * self.leg_length
            self.fallen = abs(torso.angle) > self.fall_angle or sunk
        if not self.active or self.fallen:
            return {role: Command(0.0, 0.0) for role in self._roles()}
        d, s4, period = self.direction, self.scale**4, self.step_period
        swing = "right" if self.stance == "left" else "left"
        self.step_time += dt
        if f"foot_{swing}" not in contacts:
            self.airborne = True
        landed = f"foot_{swing}" in contacts and self.airborne and self.step_time > 0.25 * period
        if landed or self.step_time > 2.0 * period:
            self.stance, swing = swing, self.stance
            self.step_time, self.steps, self.airborne = 0.0, self.steps + 1, False
            self.lift_angle = d * parts[f"thigh_{swing}"].angle
            self._read_slope(parts[f"foot_{self.stance}"].position)

        def q(role: str) -> float:
            return d * parts[role].angle

        def w(role: str) -> float:
            return d * parts[role].spin

        slope = self.ground_pitch

        def child_world(parent: str, child: str, target: float, torque: float) -> Command:
            return Command(d * (GAIN * (target - q(child)) - w(parent)), torque * s4)

        def relative(parent: str, child: str, target: float, torque: float) -> Command:
            return Command(d * GAIN * (target - (q(child) - q(parent))), torque * s4)

        mass = sum(part.mass for part in parts.values()) or 1.0
        velocity = d * sum(part.mass * part.velocity[0] for part in parts.values()) / mass
        u = min(1.0, self.step_time / period)
        reach = (
            velocity * period / 2
            + PLACEMENT_GAIN * (velocity - self.speed) * self.scale
            + UPHILL_REACH * max(0.0, self.ground_pitch) * self.leg_length
        )
        place = math.asin(max(-0.7, min(0.7, reach / self.leg_length)))
        blend = 0.5 - 0.5 * math.cos(math.pi * min(1.0, u / 0.7))
        swing_hip = self.lift_angle + (place - self.lift_angle) * blend
        fold = KNEE_FOLD + 2.0 * max(0.0, slope)  # more clearance uphill
        swing_knee = -0.05 - fold * math.sin(math.pi * min(1.0, u / 0.7))
        lean = LEAN + (UPHILL_LEAN if slope > 0 else DOWNHILL_LEAN) * slope
        push = PUSH_TORQUE * (1 + 6 * abs(slope))  # carry the weight up (or hold it back down)
        commands = {
            # the balance motor joins the torso (a) to the world (b): rate = −ω_torso wanted
            "balance": Command(-d * GAIN * (-lean - q("torso")), BALANCE_TORQUE * s4),
            # the stance leg sweeps back at the speed that carries the hip at the target speed
            # ... but only until the leg is a stride behind: pushing further just trails the foot
            f"hip_{self.stance}": Command(
                d * (-self.speed / self.leg_length - w("torso")),
                push * s4 if q(f"thigh_{self.stance}") > -MAX_SWEEP else 0.0,
            ),
            f"knee_{self.stance}": relative(
                f"thigh_{self.stance}", f"shin_{self.stance}", STANCE_KNEE, KNEE_TORQUE
            ),
            f"ankle_{self.stance}": relative(
                f"shin_{self.stance}", f"foot_{self.stance}", 0.0, STANCE_ANKLE_TORQUE
            ),
            f"hip_{swing}": child_world("torso", f"thigh_{swing}", swing_hip, HIP_TORQUE),
            f"knee_{swing}": relative(f"thigh_{swing}", f"shin_{swing}", swing_knee, KNEE_TORQUE),
            f"ankle_{swing}": child_world(f"shin_{swing}", f"foot_{swing}", slope, ANKLE_TORQUE),
        }
        return commands

    def _read_slope(self, landed: tuple[float, float]) -> None:
        """Slope between the previous foothold and this one (a stride is a good ruler)."""
        if self.foothold is not None:
            run = self.direction * (landed[0] - self.foothold[0])
            if run > 0.1 * self.scale:
                rise = landed[1] - self.foothold[1]
                pitch = max(-0.35, min(0.35, math.atan2(rise, run)))
                self.ground_pitch += 0.6 * (pitch - self.ground_pitch)
        self.foothold = landed

    @staticmethod
    def _roles() -> list[str]:
        return ["balance", *(f"{j}_{s}" for s in ("left", "right") for j in LEG_ROLES)]
