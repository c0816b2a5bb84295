"""The script's actions applied to a running World, between steps, at exact step indices.

An action due at step *s* is applied when the World has completed step *s* (``at: 0``
when the World is made), so the Frame of step *s* already shows its effect; triggers
are evaluated on the state and contact events after each step, and an action fired by
one (or by ``event``/``after`` with no delay) is applied in the same pass. Everything
runs in file order on the World's own state: the same bytes in any process. Each
firing is delivered as an ``action`` Event (``a`` the action's name, ``b`` its verb).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pymunk

from ..frame import Event
from ..scene import script as sm
from ..scene import triggers as tg
from ..scene.assemble import resolve_material
from .constraints import relative_rate_to_pymunk

if TYPE_CHECKING:
    from .world import World


@dataclass
class _Plan:
    """One action's schedule while the world runs."""

    action: sm.Action
    label: str
    next_step: int | None
    """Step of the next firing, or None while it waits for its trigger."""
    left: int
    """Firings still to come (a large number for ``every`` without ``times``)."""
    period: int


class Director:
    """Runs one scene's script on one World (``World`` owns it and calls it each step)."""

    def __init__(self, world: World, script: Sequence[sm.Action]) -> None:
        self.world = world
        dt = world.dt
        self.plans: list[_Plan] = []
        for i, action in enumerate(script):
            left = action.times or (1 if action.every is None else 2**62)
            period = max(1, round(action.every / dt)) if action.every is not None else 0
            start = round(action.at / dt) if action.at is not None else None
            self.plans.append(_Plan(action, action.label(i), start, left, period))
        self.fired: dict[str, int] = {}
        """Step at which each action first fired."""
        self._fired_now: set[str] = set()
        self._forces: list[tuple[list[pymunk.Body], tuple[float, float], int]] = []
        self._triggers = [
            _Trigger(plan.action.when, world) if plan.action.when is not None else None
            for plan in self.plans
        ]

    def apply_forces(self) -> None:
        """Before a step: push with every force still running."""
        step = self.world.step_index
        running = []
        for bodies, force, until in self._forces:
            if step < until:
                for body in bodies:
                    body.apply_force_at_local_point(force, body.center_of_gravity)
                running.append((bodies, force, until))
        self._forces = running

    def after_step(self, new_events: Sequence[Event]) -> None:
        """After step ``world.step_index`` (or at 0 on creation): fire what is due."""
        step = self.world.step_index
        self._fired_now = set()
        for plan, trigger in zip(self.plans, self._triggers, strict=True):
            if trigger is not None and plan.next_step is None and plan.left > 0:
                trigger.observe(new_events)
        changed = True
        while changed:  # event/after chains with no delay fire in the same step
            changed = False
            for plan, trigger in zip(self.plans, self._triggers, strict=True):
                if plan.left <= 0:
                    continue
                if plan.next_step is None:
                    start = self._start(plan, trigger, step)
                    if start is None:
                        continue
                    plan.next_step = start
                if plan.next_step == step and plan.label not in self._fired_now:
                    self._fire(plan, step)
                    changed = True

    def _start(self, plan: _Plan, trigger: _Trigger | None, step: int) -> int | None:
        delay = round(plan.action.delay / self.world.dt)
        if plan.action.after is not None:
            first = self.fired.get(plan.action.after)
            return None if first is None else first + delay
        if trigger is not None and trigger.holds(self._fired_now):
            return step + delay
        return None

    def _fire(self, plan: _Plan, step: int) -> None:
        world = self.world
        action = plan.action
        verb = action.verb
        spec = getattr(action, verb)
        if verb == "impulse":
            for body in world.bodies_of(spec.body):
                body.apply_impulse_at_local_point(spec.impulse, body.center_of_gravity)
        elif verb == "force":
            until = step + max(1, round(spec.duration / world.dt))
            self._forces.append((world.bodies_of(spec.body), spec.force, until))
        elif verb == "set":
            _set(world, spec)
        elif verb == "remove":
            world.take_out(spec)
        elif verb == "spawn":
            times = action.times or 1
            if times > 1:  # the next copy of the repeated spawn
                k = times - plan.left
                world.put_in(f"{spec.name}/{k:0{len(str(times - 1))}d}")
            else:
                world.put_in(spec.name)
        elif verb == "walker":
            gait = world.gaits[spec.body]
            if spec.speed is not None:
                gait.speed = spec.speed
            if spec.turn:
                world.turn_walker(spec.body)
            if spec.limp:
                gait.active = False
        elif verb == "joint":
            if spec.add is not None:
                world.add_joint(spec.add)
            else:
                world.break_joint(spec.break_)
        elif verb == "motor":
            motor = world.joints[spec.joint]
            if spec.rate is not None:
                motor.rate = relative_rate_to_pymunk(math.radians(spec.rate))
            if spec.running is not None:
                motor.max_force = world.motor_force[spec.joint] if spec.running else 0.0
        elif verb == "end":
            world.end_step = step if world.end_step is None else world.end_step
        world.record(Event(step * world.dt, step, "action", plan.label, verb))
        self.fired.setdefault(plan.label, step)
        self._fired_now.add(plan.label)
        plan.left -= 1
        plan.next_step = step + plan.period if plan.left > 0 and plan.period else None
        if plan.next_step is None:
            plan.left = 0  # done (a one-off, or the last of its repeats)


def _set(world: World, spec: sm.SetSpec) -> None:
    if spec.gravity is not None:
        world.space.gravity = spec.gravity
    if spec.body is None:
        return
    if spec.material is not None:
        material = resolve_material(spec.material, world.scene, static=False)
        for body in world.bodies_of(spec.body):
            for shape in body.shapes:
                shape.friction = material.friction
                shape.elasticity = material.elasticity
    for body in world.bodies_of(spec.body):
        if body.body_type == pymunk.Body.STATIC:
            continue
        if spec.body_type is not None:
            kind = pymunk.Body.DYNAMIC if spec.body_type == "dynamic" else pymunk.Body.KINEMATIC
            if body.body_type != kind:
                body.body_type = kind
                world.refresh_masses()  # a released body can now be pushed (contact hold)
                if kind == pymunk.Body.KINEMATIC:
                    body.velocity, body.angular_velocity = (0.0, 0.0), 0.0
        if spec.velocity is not None:
            body.velocity = spec.velocity
        if spec.angular_velocity is not None:
            body.angular_velocity = math.radians(spec.angular_velocity)


class _Trigger:
    """A ``when:`` tree: each leaf latches once it has held; ``any``/``all`` combine them.

    Plain data (names, counters), no closures over pymunk bodies: a forked World (the
    preview's) deep-copies its Director, and every check must read the copy's bodies.
    """

    def __init__(self, tree: Any, world: World) -> None:
        self.tree = tree
        self.world = world
        self.leaves = tg.leaves(tree)
        self.latched = [False] * len(self.leaves)
        self.names: list[list[str]] = []
        self.memory: list[int] = []
        """Per leaf: enter/leave, whether it was inside at the last step; rest, steps still."""
        for leaf in self.leaves:
            key = tg.only_key(leaf)
            spec = getattr(leaf, key) if key not in (None, "contact", "event") else None
            ref = spec.body if spec is not None else None
            self.names.append(
                [] if ref is None else [n for n in world.bodies if sm.matches(ref, n)]
            )
            self.memory.append(0)
        for k, leaf in enumerate(self.leaves):
            if isinstance(leaf, tg.OnEnter | tg.OnLeave):
                self.memory[k] = int(self._inside(k, leaf))

    def _bodies(self, k: int) -> list[pymunk.Body]:
        return [self.world.bodies[name] for name in self.names[k]]

    def _inside(self, k: int, leaf: Any) -> bool:
        spec = leaf.enter if isinstance(leaf, tg.OnEnter) else leaf.leave
        (x0, y0), (x1, y1) = spec.region
        lo, hi = (min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))
        return any(
            lo[0] <= b.position.x <= hi[0] and lo[1] <= b.position.y <= hi[1]
            for b in self._bodies(k)
            if self.world.present(b)
        )

    def _check(self, k: int, leaf: Any, events: Sequence[Event]) -> bool:
        if isinstance(leaf, tg.OnContact):
            a, b = leaf.contact
            return any(
                e.kind in ("begin", "foot")
                and (
                    (sm.matches(a, e.a) and sm.matches(b, e.b))
                    or (sm.matches(b, e.a) and sm.matches(a, e.b))
                )
                for e in events
            )
        if isinstance(leaf, tg.OnEnter | tg.OnLeave):
            now = self._inside(k, leaf)
            want = isinstance(leaf, tg.OnEnter)
            crossed = now == want and bool(self.memory[k]) != want
            self.memory[k] = int(now)
            return crossed
        if isinstance(leaf, tg.OnRest):
            need = max(1, round(leaf.rest.for_ / self.world.dt))
            slow = all(b.velocity.length < leaf.rest.speed_below for b in self._bodies(k))
            self.memory[k] = self.memory[k] + 1 if slow else 0
            return self.memory[k] >= need
        if isinstance(leaf, tg.OnSpeed):
            return any(b.velocity.length > leaf.speed_above.speed for b in self._bodies(k))
        if isinstance(leaf, tg.OnAngle):
            limit = math.radians(leaf.angle_above.degrees)
            return any(abs(b.angle) > limit for b in self._bodies(k))
        return False  # event: answered by holds()

    def observe(self, events: Sequence[Event]) -> None:
        for k, leaf in enumerate(self.leaves):
            if not self.latched[k] and self._check(k, leaf, events):
                self.latched[k] = True

    def holds(self, fired_now: set[str]) -> bool:
        for k, leaf in enumerate(self.leaves):
            if isinstance(leaf, tg.OnEvent) and leaf.event in fired_now:
                self.latched[k] = True
        return bool(self._value(self.tree, iter(self.latched)))

    def _value(self, tree: Any, flags: Any) -> bool:
        if isinstance(tree, tg.OnAny | tg.OnAll):
            inner = [
                self._value(t, flags)
                for t in (tree.any if isinstance(tree, tg.OnAny) else tree.all)
            ]
            return any(inner) if isinstance(tree, tg.OnAny) else all(inner)
        return bool(next(flags))
