"""The walker's gait controller: body state in, motor commands out. Pure and deterministic.

Two phases per step in the style of SIMBICON (Yin et al. 2007) with Raibert's
foot placement; every joint is a velocity motor, which pymunk solves implicitly.
One gait, striding, at every speed: measured on flat ground at 0.5–1.5 m/s, steps
of 0.34–0.75 m at ~87–117 a minute (a person's), foot slide ≤ 1 %, no foot
bounces, peak ground force ≤ ~2.9 body weights, torso within ~3° of upright, the
stance knee bent ~15° at mid-stance at 1 m/s and ~30° at 1.5 m/s (was 30° and 46°).

- **swing leg**, in Cartesian terms solved to hip and knee angles and held there
  by stiff servos: the foot leaves the ground standing still in the world (it
  moves back under the hip at the body's speed), swings forward over an arch to a
  Raibert placement ahead of the hip (half a step's travel, ± ``PLACEMENT`` per
  m/s of speed error), swings a little past it and comes back (swing-leg
  retraction), so it lands moving neither forwards nor down much; it is aimed
  only ``SEEK`` below the ground, and reaches down further (``FEEL``) only when
  the step is well overdue, as over a crest;
- **stance leg**, force-controlled (Pratt's virtual model control): a wanted force
  on the hip, turned into hip and knee torques through the leg's Jacobian
  (τ = −Jᵀ F) with the motors as torque sources (asked for ``SLACK`` rad/s more
  than the joint turns, they push at their limit). Upwards: a spring and damper
  (``HEIGHT_GAINS``) to a hip height that rises from where slightly bent legs
  (``REACH``) meet the step's ends towards a nearly straight knee over the foot
  (``MID_REACH``, a compass gait's arc) and falls back, level at both ends; how high
  is bounded by how much weight the fall takes off the foot (``DIP``: long fast
  steps rise less), and the arc's own acceleration is fed forward so the hip keeps
  to it (on a slope it runs parallel to the ground, low enough for the lower end,
  and rises less). The push is capped at ``UP_MAX`` body weights, lower for a moment
  after landing (``LOAD_CAP``: a person's knee yields as it takes the weight), so a
  landing is no jolt. The straight mid-step knee fades in from a stroll, and all of
  this fades out towards 2 m/s, where the hip runs low as before (``SLOW``, ``FAST``).
  Forwards: ``SPEED_GAIN`` per m/s short of the wanted speed plus a slowly learnt
  push (``LEARN``) that makes up for what swinging and landing cost, kept inside
  ``GRIP`` times the upward push, so the sole grips. The knee is damped a little
  (``KNEE_DAMP``) and the ankle only keeps the foot flat. (A position-servoed
  stance leg is stiff: above ~1.1 m/s each landing threw the body up and off its
  feet, and the hip drive that won the speed back made it hop; it had to
  quick-step, with short steps and legs trailing);
- the wanted speed rises from ``START_SPEED`` by ``ACCELERATION``: setting off is
  a few shorter steps;
- **step switch**: when the swing foot, having left the ground, touches down ahead
  of the stance foot after a quarter of a step period (or when the step overruns);
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
HIP_TORQUE, KNEE_TORQUE, ANKLE_TORQUE, STANCE_ANKLE_TORQUE = 400.0, 600.0, 100.0, 10.0
"""N·m at 1.7 m; the stance ankle only keeps the foot flat (a stiff one brakes the body)."""
UPHILL_REACH = 0.6
"""Uphill, land further ahead (leg lengths per radian of slope): the ground rises to the foot."""
UPHILL_LEAN, DOWNHILL_LEAN = 0.5, 0.5
"""Extra torso lean per radian of slope (forward uphill, back downhill)."""
BALANCE_TORQUE = 500.0
"""N·m at 1.7 m on the torso's tilt only, never its height or speed."""
LEAN = 0.05
"""Forward lean of the torso, radians."""
STEP_PERIOD = (0.70, 0.14)
"""Seconds per step: a − b × speed (people step faster when they walk faster) ..."""
SLOPE_SHORTEN = 1.0
"""... and, on a slope, this share shorter per radian (shorter steps up and down hill)."""

PLACEMENT = 0.15
"""Raibert's k: extra foot placement (m) per m/s above the wanted speed."""
CLEARANCE = 0.12
"""Peak height (m at 1.7 m) the swing foot is aimed over the ground (a fast swing lags it)."""
SEEK, SEEK_SLOPE = 0.01, 0.15
"""How far (m, plus m per radian of slope) below the ground the swing foot is aimed once
the step is due, so it lands (deeper kicks the body up: the foot bounces)."""
FEEL, FEEL_FROM = 0.6, 1.2
"""Once a step is this overdue (share of the period) the ground has fallen away (a crest):
the swing foot reaches down for it, this much (m) per period more."""
SWING_REACH = 0.8
"""Share of the step period the swing foot takes to arrive over its (overshot) landing point."""
RETRACT = 0.2
ARCH_POW = 0.5
"""The swing foot swings this share of a step's travel past its landing point, then back."""
START_SPEED, ACCELERATION = 0.3, 1.0
"""Setting off: the wanted speed (m/s) starts here and rises by this much per second."""

REACH, BOB = 0.97, 0.03
"""Hip over the stance ankle at the step's ends (share of the leg, the knee a little bent
to take the landing), and how much higher (m at 1.7 m) mid-step at least ..."""
MID_REACH, DIP, SLOPE_DIP = 0.99, 0.7, 2.0
"""... and at most: over the ankle mid-step the hip rises towards a nearly straight knee
(share of the leg), as far as a rise and fall that takes at most ``DIP`` of the body's
weight off the foot (less on a slope, ``SLOPE_DIP`` per radian, or the sole slips)."""
UP_MAX = 2.0
"""The stance leg's upward push stays below this many body weights (a landing is not a jolt) ..."""
LOAD_TIME, LOAD_CAP, SLOPE_LOAD = 0.05, 0.8, 10.0
"""... and just after landing below ``LOAD_CAP``, rising to ``UP_MAX`` over ``LOAD_TIME`` s:
the leg yields as it takes the weight, as a person's knee does (not on a slope, where it
would let the sole slip: fading out by ``SLOPE_LOAD`` per radian)."""
SLOW, FAST = (0.3, 0.5), (1.6, 1.9)
"""Speeds (m/s at 1.7 m) over which the nearly straight mid-step knee fades in (at 0.2–0.3
m/s the sole slipped under a straight leg: the hip tops out at ``REACH`` there), and over
which all of the above fades out: at 2 m/s the steps are too long for the arc (the soles
slid and the feet bounced), and the hip runs low as it did before (``FAST_REACH``, no
feedforward or loading response, the push capped at ``FAST_UP_MAX``)."""
FAST_REACH, FAST_UP_MAX = 0.98, 3.0
HEIGHT_GAINS = (200.0, 20.0)
"""The stance leg's upward push: stiffness (1/s²) and damping (1/s), per kg of body."""
SPEED_GAIN = 3.0
"""1/s: the stance leg's forward push, m/s² per m/s short of the wanted speed ..."""
LEARN = 1.0
"""... plus a push learnt at this rate (1/s² per m/s short) that makes up for the rest."""
GRIP = 0.5
"""The stance leg's forward (or backward) push stays below this share of its upward push."""
KNEE_DAMP = 5.0
"""N·m per rad/s the stance knee resists bending or straightening: a landing does not whip it."""
SLACK = 3.0
"""rad/s beyond the joint's speed a torque-commanded motor is asked for (a torque source)."""
LEG_ROLES = ("hip", "knee", "ankle")
JOINT_ROLES = (*LEG_ROLES, "shoulder")
ARM_SWING = 0.3
"""Each arm swings against its own leg: its pitch from the torso is −ARM_SWING × how far
that thigh is ahead of the other (about ±18° at 1 m/s: a person's arms swing ±15–20°)."""
ARM_TORQUE = 40.0
"""N·m (for a 1.7 m walker, scaled as height⁴) at the shoulder: enough to swing an arm."""


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
    """Where the swing ankle left the ground, from the hip (forward, up)."""
    push: float = 0.0
    """The learnt extra forward push (m/s² of the body) that holds the wanted speed."""

    def turn(self) -> None:
        """Walk the other way, setting off again gently (the script's ``turn``)."""
        self.direction = -self.direction
        self.clock, self.push, self.step_time = 0.0, 0.0, 0.0
        self.foothold, self.lift, self.airborne = None, None, False
        self.ground_pitch = -self.ground_pitch

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
        # set off gently: the wanted speed rises from a stroll
        start = START_SPEED * math.sqrt(self.scale)
        goal = min(self.speed, start + ACCELERATION * self.clock)
        body = _Body(parts, self.direction, self.scale**4)
        period = self.period_at(goal) * (1 - SLOPE_SHORTEN * abs(self.ground_pitch))
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
            self._read_slope(parts[f"foot_{self.stance}"].position)
        mass = sum(part.mass for part in parts.values()) or 1.0
        velocity = self.direction * sum(p.mass * p.velocity[0] for p in parts.values()) / mass
        rise = sum(part.mass * part.velocity[1] for part in parts.values()) / mass
        self.push += LEARN * dt * (goal - velocity)
        self.push = max(-2.0, min(2.0, self.push))
        slope = self.ground_pitch
        lean = LEAN + (UPHILL_LEAN if slope > 0 else DOWNHILL_LEAN) * slope
        # the balance motor joins the torso (a) to the world (b): rate = −ω_torso wanted
        balance = Command(
            -self.direction * GAIN * (-lean - body.q("torso")), BALANCE_TORQUE * body.s4
        )
        arms = {
            f"shoulder_{side}": body.relative(
                "torso",
                f"arm_{side}",
                -ARM_SWING * (body.q(f"thigh_{side}") - body.q(f"thigh_{other}")),
                ARM_TORQUE,
            )
            for side, other in (("left", "right"), ("right", "left"))
        }
        return {
            "balance": balance,
            **arms,
            **self._stance(body, goal, period, velocity, rise, mass),
            **self._swing(body, period, self._reach(velocity, goal, period), velocity, swing),
        }

    def _reach(self, velocity: float, goal: float, period: float) -> float:
        """Raibert's foot placement ahead of the hip (m), further uphill."""
        reach = (
            velocity * period / 2
            + PLACEMENT * (velocity - goal) * self.scale
            + UPHILL_REACH * max(0.0, self.ground_pitch) * self.leg_length
        )
        return max(-0.5, min(0.5, reach / self.leg_length)) * self.leg_length

    def _swing(
        self, body: _Body, period: float, reach: float, velocity: float, swing: str
    ) -> dict[str, Command]:
        """The swing leg: its ankle steered along a path in Cartesian terms."""
        stance, slope, s = self.stance, self.ground_pitch, self.scale
        u = self.step_time / period
        hip_x, hip_y = body.forward("torso"), body.parts["torso"].position[1]
        ankle_x, ankle_y = body.forward(f"foot_{stance}"), body.parts[f"foot_{stance}"].position[1]
        if self.lift is None:
            self.lift = (
                body.forward(f"foot_{swing}") - hip_x,
                body.parts[f"foot_{swing}"].position[1] - hip_y,
            )
        # it leaves the ground and returns to it standing still in the world (it moves
        # back under the hip at the body's speed), swinging forward over an arch past its
        # landing point and back; a little below the ground once due, so it lands
        back = velocity * self.step_time
        peak = reach + RETRACT * velocity * period
        blend = 0.5 - 0.5 * math.cos(math.pi * min(1.0, u / SWING_REACH))
        x = self.lift[0] - back + (peak - self.lift[0] + back) * blend
        if u > SWING_REACH:
            x = peak - velocity * (self.step_time - SWING_REACH * period)
        ground = ankle_y - hip_y + math.tan(slope) * (x - (ankle_x - hip_x))
        arch = (CLEARANCE + 0.3 * max(0.0, slope)) * s * math.sin(math.pi * min(1.0, u)) ** ARCH_POW
        seek = (SEEK + SEEK_SLOPE * abs(slope)) * s
        y = ground + arch - seek * min(1.0, max(0.0, u - 0.9) / 0.3)
        y -= FEEL * s * max(0.0, u - FEEL_FROM)  # overdue: the ground fell away, reach down for it
        if u < 0.5:  # lift straight from where the foot left
            y = max(y, self.lift[1] + (ground + arch - self.lift[1]) * min(1.0, u / 0.25))
        hip, knee = _leg_angles(x, y, 0.42 * s)
        return {
            f"hip_{swing}": body.child_world("torso", f"thigh_{swing}", hip, HIP_TORQUE),
            f"knee_{swing}": body.relative(f"thigh_{swing}", f"shin_{swing}", knee, KNEE_TORQUE),
            f"ankle_{swing}": body.child_world(
                f"shin_{swing}", f"foot_{swing}", slope, ANKLE_TORQUE
            ),
        }

    def _stance(
        self, body: _Body, goal: float, period: float, velocity: float, rise: float, mass: float
    ) -> dict[str, Command]:
        """The stance leg: hip and knee torques that push the hip with a wanted force."""
        stance, s, segment = self.stance, self.scale, 0.42 * self.scale
        ahead = body.forward("torso") - body.forward(f"foot_{stance}")
        height = body.parts["torso"].position[1] - body.parts[f"foot_{stance}"].position[1]
        # the hip rises from ``end`` (where slightly bent legs reach the step's ends)
        # to ``mid`` and back, level at both ends so that landing needs no jolt
        half = max(0.05 * s, goal * period / 2)
        pace = goal / math.sqrt(s)
        new, slow = 1 - _ramp(pace, FAST), _ramp(pace, SLOW)
        reach = _blend(FAST_REACH, REACH, new)
        end = math.sqrt(max(0.0, (reach * 2 * segment) ** 2 - half**2))
        # mid-step the hip rises towards a nearly straight knee (a compass gait's arc), as
        # far as a vertical swing that unloads the foot at most ``DIP`` of its weight allows
        dip = DIP * new * max(0.0, 1 - SLOPE_DIP * abs(self.ground_pitch))
        swing_up = dip * 9.81 * 2 * (half / (math.pi * max(goal, 0.1))) ** 2
        top = _blend(reach, MID_REACH, min(new, slow))
        mid = max(end, min(top * 2 * segment, end + max(BOB * s, swing_up)))
        phase = math.pi / 2 * max(-1.0, min(1.0, ahead / half))
        target = end + (mid - end) * math.cos(phase) ** 2
        climb = -(mid - end) * math.pi / (2 * half) * math.sin(2 * phase) * velocity
        # the arc's own up and down acceleration, fed forward so the hip keeps to it
        arc = -(mid - end) * (math.pi / half) ** 2 / 2 * math.cos(2 * phase) * velocity**2
        if abs(ahead) > half:
            climb = arc = 0.0
        # on a slope the hip runs parallel to it, as low as the lower end needs
        rising = math.tan(self.ground_pitch)
        target += rising * ahead - abs(rising) * half
        climb += rising * velocity
        stiff, damp = HEIGHT_GAINS
        up = mass * (9.81 + new * arc + stiff * (target - height) + damp * (climb - rise))
        # a loading response: it yields for a moment after landing (on flat ground only)
        soft = max(0.0, 1 - SLOPE_LOAD * abs(self.ground_pitch))
        soft *= max(0.0, 1 - self.step_time / LOAD_TIME)
        soft *= new
        cap = _blend(FAST_UP_MAX, UP_MAX, new) - (UP_MAX - LOAD_CAP) * soft
        up = max(0.0, min(cap * 9.81 * mass, up))
        on = mass * (SPEED_GAIN * (goal - velocity) + self.push)
        on = max(-GRIP * up, min(GRIP * up, on))
        # joint torques J^T F: the leg pushes the hip with (on, up) off a still foot
        thigh, shin = body.q(f"thigh_{stance}"), body.q(f"shin_{stance}")
        hip = -segment * (
            (math.cos(thigh) + math.cos(shin)) * on + (math.sin(thigh) + math.sin(shin)) * up
        )
        knee = -segment * (math.cos(shin) * on + math.sin(shin) * up)
        knee -= KNEE_DAMP * body.s4 * (body.w(f"shin_{stance}") - body.w(f"thigh_{stance}"))
        return {
            f"hip_{stance}": _torque(
                body, body.w(f"thigh_{stance}") - body.w("torso"), hip, HIP_TORQUE
            ),
            f"knee_{stance}": _torque(
                body, body.w(f"shin_{stance}") - body.w(f"thigh_{stance}"), knee, KNEE_TORQUE
            ),
            f"ankle_{stance}": body.child_world(
                f"shin_{stance}", f"foot_{stance}", self.ground_pitch, STANCE_ANKLE_TORQUE
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
        return ["balance", *(f"{j}_{s}" for s in ("left", "right") for j in JOINT_ROLES)]


def _torque(body: _Body, spin: float, torque: float, limit: float) -> Command:
    """A motor as a torque source: asked to turn faster than it does, it pushes at its limit."""
    rate = spin + math.copysign(SLACK, torque)
    return Command(body.d * rate, min(abs(torque), limit * body.s4))


def _ramp(x: float, span: tuple[float, float]) -> float:
    """0 below ``span``, 1 above it, and straight between."""
    return min(1.0, max(0.0, (x - span[0]) / (span[1] - span[0])))


def _blend(a: float, b: float, share: float) -> float:
    """``a`` turning into ``b`` as ``share`` goes from 0 to 1 (exactly ``b`` at 1)."""
    return b if share >= 1.0 else a + (b - a) * share


def _leg_angles(x: float, y: float, segment: float) -> tuple[float, float]:
    """Thigh pitch and knee bend (≤ 0) that put the ankle at (x forward, y up) from the hip.

    Thigh and shin are both ``segment`` long; the knee bends forwards like a person's.
    """
    reach = min(math.hypot(x, y), 2 * segment * math.cos(0.03))
    bend = 2 * math.acos(reach / (2 * segment))
    return math.atan2(x, -y) + bend / 2, -bend
