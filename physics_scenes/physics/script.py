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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pymunk

from ..frame import Event
from ..scene import script as sm

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
        self.by_label = {plan.label: plan for plan in self.plans}
        self.fired: dict[str, int] = {}
        """Step at which each action first fired."""
        self._fired_now: set[str] = set()
        self._forces: list[tuple[list[pymunk.Body], tuple[float, float], int]] = []
        self._triggers = [
            _Trigger(plan.action.when, world) if plan.action.when is not None else None
            for plan in self.plans
        ]
        self.caption_steps: list[tuple[str, int]] = []

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
            world.put_in(spec.name)
        elif verb == "end":
            world.end_step = step if world.end_step is None else world.end_step
        world.record(Event(step * world.dt, step, "action", plan.label, verb))
        self.fired.setdefault(plan.label, step)
        self._fired_now.add(plan.label)
        plan.left -= 1
        plan.next_step = step + plan.period if plan.left > 0 and plan.period else None
        if plan.next_step is None:
            plan.left = 0 if not plan.period else plan.left


def _set(world: World, spec: sm.SetSpec) -> None:
    if spec.gravity is not None:
        world.space.gravity = spec.gravity
    if spec.body is None:
        return
    for body in world.bodies_of(spec.body):
        if body.body_type == pymunk.Body.STATIC:
            continue
        if spec.body_type is not None:
            kind = pymunk.Body.DYNAMIC if spec.body_type == "dynamic" else pymunk.Body.KINEMATIC
            if body.body_type != kind:
                body.body_type = kind
                if kind == pymunk.Body.KINEMATIC:
                    body.velocity, body.angular_velocity = (0.0, 0.0), 0.0
        if spec.velocity is not None:
            body.velocity = spec.velocity
        if spec.angular_velocity is not None:
            body.angular_velocity = math.radians(spec.angular_velocity)


class _Trigger:
    """A ``when:`` tree: each leaf latches once it has held; ``any``/``all`` combine them."""

    def __init__(self, tree: Any, world: World) -> None:
        self.tree = tree
        self.world = world
        self.leaves = sm.leaves(tree)
        self.latched = [False] * len(self.leaves)
        self.checks: list[Callable[[Sequence[Event]], bool] | None] = [
            self._check_for(leaf) for leaf in self.leaves
        ]

    def _check_for(self, leaf: Any) -> Callable[[Sequence[Event]], bool] | None:
        world = self.world
        if isinstance(leaf, sm.OnContact):
            a, b = leaf.contact

            def contact(events: Sequence[Event]) -> bool:
                for e in events:
                    if e.kind in ("begin", "foot") and (
                        (sm.matches(a, e.a) and sm.matches(b, e.b))
                        or (sm.matches(b, e.a) and sm.matches(a, e.b))
                    ):
                        return True
                return False

            return contact
        if isinstance(leaf, sm.OnEnter | sm.OnLeave):
            spec = leaf.enter if isinstance(leaf, sm.OnEnter) else leaf.leave
            (x0, y0), (x1, y1) = spec.region
            lo, hi = (min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))
            want = isinstance(leaf, sm.OnEnter)
            bodies = world.bodies_of(spec.body)

            def inside() -> bool:
                return any(
                    lo[0] <= b.position.x <= hi[0] and lo[1] <= b.position.y <= hi[1]
                    for b in bodies
                    if world.present(b)
                )

            was = [inside()]

            def edge(events: Sequence[Event]) -> bool:
                now = inside()
                crossed = now == want and was[0] != want
                was[0] = now
                return crossed

            return edge
        if isinstance(leaf, sm.OnRest):
            bodies = world.bodies_of(leaf.rest.body)
            need = max(1, round(leaf.rest.for_ / world.dt))
            still = [0]

            def rest(events: Sequence[Event]) -> bool:
                slow = all(b.velocity.length < leaf.rest.speed_below for b in bodies)
                still[0] = still[0] + 1 if slow else 0
                return still[0] >= need

            return rest
        if isinstance(leaf, sm.OnSpeed):
            bodies = world.bodies_of(leaf.speed_above.body)
            return lambda events: any(b.velocity.length > leaf.speed_above.speed for b in bodies)
        if isinstance(leaf, sm.OnAngle):
            bodies = world.bodies_of(leaf.angle_above.body)
            limit = math.radians(leaf.angle_above.degrees)
            return lambda events: any(abs(b.angle) > limit for b in bodies)
        return None  # event: answered by holds()

    def observe(self, events: Sequence[Event]) -> None:
        for k, check in enumerate(self.checks):
            if check is not None and not self.latched[k] and check(events):
                self.latched[k] = True

    def holds(self, fired_now: set[str]) -> bool:
        for k, leaf in enumerate(self.leaves):
            if isinstance(leaf, sm.OnEvent) and leaf.event in fired_now:
                self.latched[k] = True
        return bool(self._value(self.tree, iter(self.latched)))

    def _value(self, tree: Any, flags: Any) -> bool:
        if isinstance(tree, sm.OnAny | sm.OnAll):
            inner = [
                self._value(t, flags)
                for t in (tree.any if isinstance(tree, sm.OnAny) else tree.all)
            ]
            return any(inner) if isinstance(tree, sm.OnAny) else all(inner)
        return bool(next(flags))
