"""The walker's gait controller: body state in, motor commands out. Pure and deterministic.

Two phases per step in the style of SIMBICON (Yin et al. 2007) with Raibert's
foot placement; every joint is a velocity-servo motor, which pymunk solves
implicitly, so stiff control stays stable at any time step. One gait, striding,
at every speed; the stance leg is driven one of two ways, chosen by the target
speed (as people walk differently when they hurry). Measured foot slide 1–3 %
on flat ground, peak ground force ~2–4 body weights, torso within ~4° of upright.

- **swing leg**, in Cartesian terms solved to hip and knee angles: the foot
  leaves the ground standing still in the world (it moves back under the hip at
  the body's speed), swings forward over an arch to a Raibert placement ahead of
  the hip (half a step's travel, ± ``STRIDE_PLACEMENT`` per m/s of speed error), swings
  a little past it and comes back (swing-leg retraction), so it lands moving
  neither forwards nor down much: no skid, no slap;
- **stance leg, strolling** (up to ``SUPPORT_FROM`` m/s): the knee keeps the
  landing bend while the foot is ahead of the hip (straightening a leading leg
  pushes the body back and up: a brake and a bounce), then bends just enough that
  the hip vaults over a knee bent ``MID_BEND`` and never sinks below the height
  the legs reach at the step's ends (``END_BEND``); the knee moves at most
  ``KNEE_RATE`` rad/s, so it never kicks; the hip drives the leg back at the speed
  that carries the body at the target (plus ``DRIVE_GAIN`` times the shortfall),
  its push on the ground kept inside ``GRIP`` times the load on the feet (weight
  plus the body's vertical acceleration), so the sole grips; the ankle holds the
  foot flat;
- **stance leg, walking briskly** (faster targets): a virtual force on the hip
  (Pratt's virtual model control) turned into hip and knee torques through the
  leg's Jacobian (J^T F), the motors used as torque sources. Upwards: a spring and
  damper (``SUPPORT_HEIGHT``) to a hip height that lets straight legs reach the
  step's ends (``SUPPORT_REACH``); forwards: ``SUPPORT_SPEED`` per m/s short of the
  wanted speed plus a slowly learnt push (``SUPPORT_LEARN``) that makes up for
  what the swing and the landings cost, kept inside ``SUPPORT_GRIP`` times the
  upward push so the sole grips. A position-servoed stance leg is stiff: above
  ~1.1 m/s each landing threw the body up and off its feet, and the hip drive
  that won the speed back made it hop (it quick-stepped instead). The ankle only
  keeps the foot flat (a stiff one brakes); the swing foot lifts higher
  (``SUPPORT_CLEARANCE``), as a fast swing lags its path;
- the wanted speed rises from ``START_SPEED`` by ``ACCELERATION``: setting off is
  a few shorter steps;
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
UPHILL_REACH = 0.6
"""Uphill, land further ahead (leg lengths per radian of slope): the ground rises to the foot."""
UPHILL_LEAN, DOWNHILL_LEAN = 0.5, 0.5
"""Extra torso lean per radian of slope (forward uphill, back downhill)."""
BALANCE_TORQUE = 500.0
"""N·m at 1.7 m on the torso's tilt only, never its height or speed."""
LEAN = 0.05
"""Forward lean of the torso, radians."""
STEP_PERIOD = (0.62, 0.12)
"""Seconds per step: a − b × speed (people step faster when they walk faster)."""

STRIDE_PUSH = 220.0
"""Stance hip drive when striding, N·m."""
STRIDE_SWEEP = 0.8
"""Radians of thigh behind vertical where the striding drive stops."""
STRIDE_PLACEMENT = 0.15
"""Raibert's k when striding: extra foot placement (m) per m/s above the wanted speed."""
DRIVE_GAIN = 3.0
"""The striding drive aims this much faster per m/s of speed short of the wanted speed."""
GRIP = 0.3
"""The stance drive's push on the ground stays below this share of the feet's load."""
MID_BEND, END_BEND = 0.4, 0.1
"""Stance knee bend (radians) at mid-stance and at the step's ends."""
KNEE_RATE = 3.0
"""Fastest the stance knee straightens or bends, rad/s."""
CLEARANCE = 0.08
"""Peak height (m at 1.7 m) the swing foot is lifted over the ground."""
SEEK = 0.05
"""How far (m) below the ground the swing foot is aimed once the step is due: it lands."""
SWING_REACH = 0.8
"""Share of the step period the swing foot takes to arrive over its (overshot) landing point."""
RETRACT = 0.2
ARCH_POW = 0.5
"""The swing foot swings this share of a step's travel past its landing point, then back."""
PUSH_FROM, PUSH_OFF_TORQUE = 0.7, 150.0
"""From this share of the step the stance ankle firms up to this torque (N·m)."""
PUSH_ANGLE = 0.0
"""Radians the stance ankle points the toe down by the step's end (push-off)."""
START_SPEED, ACCELERATION = 0.3, 1.0
"""Setting off: the wanted speed (m/s) starts here and rises by this much per second."""

SUPPORT_FROM = 1.15
"""Targets above this (m/s at 1.7 m) carry the body on a force-controlled stance leg."""
SUPPORT_REACH, SUPPORT_BOB = 0.98, 0.0
"""Hip over the ankle at the step's ends (share of the leg) and how much higher mid-step (m)."""
SUPPORT_HEIGHT = (200.0, 20.0)
"""Stance leg's vertical stiffness (1/s²) and damping (1/s) per kg."""
SUPPORT_SPEED = 3.0
"""1/s: stance leg's horizontal push per m/s short of the wanted speed."""
SUPPORT_LEARN = 1.0
"""1/s²: how fast the stance leg learns the push that holds the wanted speed."""
SUPPORT_CLEARANCE, SUPPORT_SEEK = 0.12, 0.03
"""Swing foot's lift and aim below the ground (m) in the fast gait: it swings fast, so lags."""
SUPPORT_GRIP = 0.5
"""The stance leg's horizontal push stays below this share of its vertical push."""
SUPPORT_ANKLE = 10.0
"""N·m: the force-controlled stance ankle only keeps the foot flat (a stiff one brakes)."""
SLACK = 3.0
"""rad/s beyond the joint's speed a torque-commanded motor is asked for (a torque source)."""
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


@dataclass(frozen=True, slots=True)
class _Body:
    """The walker's parts seen in its walking direction, and servo commands for its joints."""

    parts: dict[str, PartState]
    d: int
    s4: float

    def q(self, role: str) -> float:
        """Pitch of a part (positive: a leg swung forward, the torso leaning back)."""
        return self.d * self.parts[role].angle

    def w(self, role: str) -> float:
        return self.d * self.parts[role].spin

    def forward(self, role: str) -> float:
        return self.d * self.parts[role].position[0]

    def child_world(self, parent: str, child: str, target: float, torque: float) -> Command:
        """Turn ``child`` to a world pitch, pushing against ``parent``."""
        rate = GAIN * (target - self.q(child)) - self.w(parent)
        return Command(self.d * rate, torque * self.s4)

    def relative(self, parent: str, child: str, target: float, torque: float) -> Command:
        """Bend the joint between ``parent`` and ``child`` to a relative pitch."""
        rate = GAIN * (target - (self.q(child) - self.q(parent)))
        return Command(self.d * rate, torque * self.s4)


@dataclass(slots=True)
class GaitController:
    height: float
    speed: float
    direction: int
    fall_angle: float
    active: bool = True
    stance: str = "left"
    step_time: float = 0.0
    steps: int = 0
    airborne: bool = False
    ground_pitch: float = 0.0
    """The slope underfoot (radians, rising ahead positive), from the last two footholds."""
    foothold: tuple[float, float] | None = None
    fallen: bool = False
    clock: float = 0.0
    lift: tuple[float, float] | None = None
    """Striding: where the swing ankle left the ground, from the hip (forward, up)."""
    land_knee: float = 0.0
    """Striding: the stance knee's bend when its foot landed."""
    rise: float | None = None
    """The body's vertical speed a step ago, and (below) its smoothed vertical acceleration."""
    lift_rate: float = 0.0
    push: float = 0.0
    tick: float = 0.0
    """Force-controlled stance: the learnt extra push (m/s² of the body) that holds the speed."""

    @property
    def scale(self) -> float:
        return self.height / 1.7

    @property
    def leg_length(self) -> float:
        return 0.91 * self.scale

    @property
    def step_period(self) -> float:
        """Seconds per step at the target speed."""
        return self.period_at(self.speed)

    def period_at(self, speed: float) -> float:
        return (STEP_PERIOD[0] - STEP_PERIOD[1] * speed) * math.sqrt(self.scale)

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
        self.clock += dt
        self.tick = dt
        # set off gently: the wanted speed rises from a stroll
        start = START_SPEED * math.sqrt(self.scale)
        goal = min(self.speed, start + ACCELERATION * self.clock)
        body = _Body(parts, self.direction, self.scale**4)
        period = self.period_at(goal)
        swing = "right" if self.stance == "left" else "left"
        self.step_time += dt
        if f"foot_{swing}" not in contacts:
            self.airborne = True
        landed = f"foot_{swing}" in contacts and self.airborne and self.step_time > 0.25 * period
        # a toe scuffing the ground behind the other foot is no step
        landed = landed and body.forward(f"foot_{swing}") > body.forward(f"foot_{self.stance}")
        if landed or self.step_time > 2.0 * period:
            self.stance, swing = swing, self.stance
            self.step_time, self.steps, self.airborne = 0.0, self.steps + 1, False
            self.lift = None
            self.land_knee = body.q(f"shin_{self.stance}") - body.q(f"thigh_{self.stance}")
            self._read_slope(parts[f"foot_{self.stance}"].position)
        mass = sum(part.mass for part in parts.values()) or 1.0
        velocity = self.direction * sum(p.mass * p.velocity[0] for p in parts.values()) / mass
        rise = sum(part.mass * part.velocity[1] for part in parts.values()) / mass
        if self.rise is not None:  # smoothed over ~20 ms: contacts make it spiky
            accel = (rise - self.rise) / dt
            self.lift_rate += (1 - math.exp(-dt / 0.02)) * (accel - self.lift_rate)
        self.rise = rise
        slope = self.ground_pitch
        lean = LEAN + (UPHILL_LEAN if slope > 0 else DOWNHILL_LEAN) * slope
        # the balance motor joins the torso (a) to the world (b): rate = −ω_torso wanted
        balance = Command(
            -self.direction * GAIN * (-lean - body.q("torso")), BALANCE_TORQUE * body.s4
        )
        legs = self._stride(body, goal, period, velocity, mass, swing)
        return {"balance": balance, **legs}

    def _reach(self, velocity: float, goal: float, period: float, gain: float) -> float:
        """Raibert's foot placement ahead of the hip (m), further uphill."""
        return (
            velocity * period / 2
            + gain * (velocity - goal) * self.scale
            + UPHILL_REACH * max(0.0, self.ground_pitch) * self.leg_length
        )

    def _stride(
        self, body: _Body, goal: float, period: float, velocity: float, mass: float, swing: str
    ) -> dict[str, Command]:
        """Striding: swing foot placed in Cartesian terms, stance knee riding the hip."""
        stance, slope, s = self.stance, self.ground_pitch, self.scale
        u = self.step_time / period
        thigh = 0.42 * s
        reach = self._reach(velocity, goal, period, STRIDE_PLACEMENT)
        reach = max(-0.5, min(0.5, reach / self.leg_length)) * self.leg_length
        hip_x, hip_y = body.forward("torso"), body.parts["torso"].position[1]
        ankle_x, ankle_y = body.forward(f"foot_{stance}"), body.parts[f"foot_{stance}"].position[1]
        if self.lift is None:
            self.lift = (
                body.forward(f"foot_{swing}") - hip_x,
                body.parts[f"foot_{swing}"].position[1] - hip_y,
            )
        # the hip never sinks below what legs bent END_BEND reach at the step's ends
        ride = (
            2 * thigh * math.cos(END_BEND / 2) * math.cos(math.atan2(goal * period / 2, 2 * thigh))
        )
        # swing ankle: it leaves the ground and returns to it standing still in the world
        # (it moves back under the hip at the body's speed), swinging forward over an arch
        # past its landing point and back; a little below the ground once due, so it lands
        back = velocity * self.step_time
        peak = reach + RETRACT * velocity * period
        blend = 0.5 - 0.5 * math.cos(math.pi * min(1.0, u / SWING_REACH))
        x = self.lift[0] - back + (peak - self.lift[0] + back) * blend
        if u > SWING_REACH:
            x = peak - velocity * (self.step_time - SWING_REACH * period)
        ground = ankle_y - hip_y + math.tan(slope) * (x - (ankle_x - hip_x))
        fast = self.speed > SUPPORT_FROM * math.sqrt(s)
        clearance, seek = (SUPPORT_CLEARANCE, SUPPORT_SEEK) if fast else (CLEARANCE, SEEK)
        arch = (clearance + 0.3 * max(0.0, slope)) * s * math.sin(math.pi * min(1.0, u)) ** ARCH_POW
        y = ground + arch - seek * s * min(1.0, max(0.0, u - 0.9) / 0.3)
        if u < 0.5:  # lift straight from where the foot left
            y = max(y, self.lift[1] + (ground + arch - self.lift[1]) * min(1.0, u / 0.25))
        swing_hip, swing_knee = _leg_angles(x, y, thigh)
        # stance knee: keeps its landing bend while the foot is ahead of the hip, then
        # lets the hip vault over a knee bent MID_BEND, never lower than ``ride``
        ahead = hip_x - ankle_x
        span = ride / max(0.5, math.cos(math.atan2(ahead, ride)))
        _, knee = _leg_angles(0.0, -max(span, 2 * thigh * math.cos(MID_BEND / 2)), thigh)
        over = min(1.0, max(0.0, (ahead / s + 0.02) / 0.08))
        knee = self.land_knee + (knee - self.land_knee) * over
        bend = body.q(f"shin_{stance}") - body.q(f"thigh_{stance}")
        knee_rate = KNEE_RATE / math.sqrt(s)
        # the stance hip drives the leg back at the speed that carries the body at the
        # wanted speed, pushing the ground no harder than friction holds the foot
        sweep = -(goal + DRIVE_GAIN * (goal - velocity)) / ride
        load = max(0.0, mass * (9.81 + self.lift_rate))
        drive = min(STRIDE_PUSH * (1 + 6 * abs(slope)) * body.s4, GRIP * load * ride)
        toe = min(1.0, max(0.0, (u - PUSH_FROM) / (1.0 - PUSH_FROM)))
        ankle = STANCE_ANKLE_TORQUE + (PUSH_OFF_TORQUE - STANCE_ANKLE_TORQUE) * toe
        if fast:
            support = self._support(body, goal, period, velocity, mass, stance)
            ankle = SUPPORT_ANKLE
        else:
            support = {
                f"hip_{stance}": Command(
                    body.d * (sweep - body.w("torso")),
                    drive if body.q(f"thigh_{stance}") > -STRIDE_SWEEP else 0.0,
                ),
                f"knee_{stance}": Command(
                    body.d * max(-knee_rate, min(knee_rate, GAIN * (knee - bend))),
                    KNEE_TORQUE * body.s4,
                ),
            }
        return {
            **support,
            f"ankle_{stance}": body.child_world(
                f"shin_{stance}",
                f"foot_{stance}",
                slope - PUSH_ANGLE * toe,
                ankle,
            ),
            f"hip_{swing}": body.child_world("torso", f"thigh_{swing}", swing_hip, HIP_TORQUE),
            f"knee_{swing}": body.relative(
                f"thigh_{swing}", f"shin_{swing}", swing_knee, KNEE_TORQUE
            ),
            f"ankle_{swing}": body.child_world(
                f"shin_{swing}", f"foot_{swing}", slope, ANKLE_TORQUE
            ),
        }

    def _support(
        self, body: _Body, goal: float, period: float, velocity: float, mass: float, stance: str
    ) -> dict[str, Command]:
        """Stance hip and knee torques that push the hip with a wanted force (Pratt's VMC)."""
        s, segment = self.scale, 0.42 * self.scale
        ahead = body.forward("torso") - body.forward(f"foot_{stance}")
        height = body.parts["torso"].position[1] - body.parts[f"foot_{stance}"].position[1]
        half = max(0.05 * s, goal * period / 2)
        end = math.sqrt(max(0.0, (SUPPORT_REACH * 2 * segment) ** 2 - half**2))
        mid = min(SUPPORT_REACH * 2 * segment, end + SUPPORT_BOB * s)
        bow = (mid - end) / half**2
        target, climb = mid - bow * ahead**2, -2 * bow * ahead * velocity
        stiff, damp = SUPPORT_HEIGHT
        rise = self.rise or 0.0
        fy = mass * (9.81 + stiff * (target - height) + damp * (climb - rise))
        fy = max(0.0, min(3 * 9.81 * mass, fy))
        self.push += SUPPORT_LEARN * self.tick * (goal - velocity)
        self.push = max(-2.0, min(2.0, self.push))
        fx = mass * (SUPPORT_SPEED * (goal - velocity) + self.push)
        fx = max(-SUPPORT_GRIP * fy, min(SUPPORT_GRIP * fy, fx))
        thigh, shin = body.q(f"thigh_{stance}"), body.q(f"shin_{stance}")
        # joint torques J^T F: the leg pushes the hip with (fx, fy) off a still foot
        hip = -segment * (
            (math.cos(thigh) + math.cos(shin)) * fx + (math.sin(thigh) + math.sin(shin)) * fy
        )
        knee = -segment * (math.cos(shin) * fx + math.sin(shin) * fy)
        return {
            f"hip_{stance}": _torque(
                body, body.w(f"thigh_{stance}") - body.w("torso"), hip, HIP_TORQUE
            ),
            f"knee_{stance}": _torque(
                body, body.w(f"shin_{stance}") - body.w(f"thigh_{stance}"), knee, KNEE_TORQUE
            ),
        }

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


def _torque(body: _Body, spin: float, torque: float, limit: float) -> Command:
    """A motor as a torque source: asked to turn faster than it does, it pushes at its limit."""
    rate = spin + math.copysign(SLACK, torque)
    return Command(body.d * rate, min(abs(torque), limit * body.s4))


def _leg_angles(x: float, y: float, segment: float) -> tuple[float, float]:
    """Thigh pitch and knee bend (≤ 0) that put the ankle at (x forward, y up) from the hip.

    Thigh and shin are both ``segment`` long; the knee bends forwards like a person's.
    """
    reach = min(math.hypot(x, y), 2 * segment * math.cos(0.03))
    bend = 2 * math.acos(reach / (2 * segment))
    return math.atan2(x, -y) + bend / 2, -bend
