"""The ``script:`` of a scene: actions at set times or on triggers, as pure data.

A scene file without a script is one initial state left to run; a script changes the
world while it runs (push a ball at 1 s, release a held crate when the ball hits the
first domino, show a caption, end the clip). ``physics/script.py`` applies the actions
between physics steps at exact step indices; this module only says what may be
written and checks the names and times (``check``), so ``validate`` needs no physics.

>>> from physics_scenes.scene.loader import parse_scene
>>> scene = parse_scene('''
... bodies: [{kind: ball, name: b, radius: 0.2, position: [0, 2]}]
... script:
...   - {name: kick, at: 0.5, impulse: {body: b, impulse: [1, 0]}}
...   - {after: kick, delay: 0.25, caption: "off it goes"}
... ''')
>>> [(a.label(i), a.verb) for i, a in enumerate(scene.script)]
[('kick', 'impulse'), ('action_1', 'caption')]
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from .captions import Caption
from .fields import MODEL_CONFIG, Color, MaterialRef, Model, Point, Vec2
from .speech import Say, SoundCue
from .story import Transition
from .triggers import (
    BodyRef,
    Name,
    OnAll,
    OnAny,
    OnContact,
    OnEvent,
    Seconds,
    Trigger,
    leaves,
    only_key,
)

if TYPE_CHECKING:  # the unions are given to ``Action.model_rebuild`` by model.py
    from .camera import ShotCamera
    from .model import Body

Loc = tuple[str | int, ...]
VERBS = (
    "impulse", "force", "set", "remove", "spawn", "joint", "motor", "walker", "camera",
    "caption", "say", "sound", "time", "end",
)  # fmt: skip


class Impulse(Model):
    body: BodyRef
    impulse: Vec2 = Field(description="N·s, applied at the centre of gravity.")


class Force(Model):
    body: BodyRef
    force: Vec2 = Field(description="N, at the centre of gravity, every step for `duration`.")
    duration: float = Field(gt=0, le=1e6, description="Seconds.")


class SetSpec(Model):
    """Change a body's motion or type, or the world's gravity, at once."""

    body: BodyRef | None = None
    velocity: Vec2 | None = Field(None, description="m/s.")
    angular_velocity: float | None = Field(None, ge=-1e6, le=1e6, description="Degrees/s.")
    body_type: Literal["dynamic", "kinematic"] | None = Field(
        None, description="'dynamic' releases a body held as 'kinematic'; 'kinematic' holds it."
    )
    gravity: Vec2 | None = Field(None, description="The world's gravity from now on, m/s².")
    material: MaterialRef | None = Field(
        None, description="New friction and elasticity (the mass stays; the colour too)."
    )

    @model_validator(mode="after")
    def _something(self) -> SetSpec:
        motion = (self.velocity, self.angular_velocity, self.body_type, self.material)
        if all(v is None for v in (*motion, self.gravity)):
            raise ValueError("set needs velocity, angular_velocity, body_type, material or gravity")
        if self.body is None and any(v is not None for v in motion):
            raise ValueError("set: velocity, angular_velocity, body_type and material need a body")
        return self


class JointChange(Model):
    """Break a joint, or add one (by its name in ``joints:``, default '<kind>_<index>'): a
    joint a script adds is held out of the world until then (as a spawned body is)."""

    model_config = ConfigDict(**MODEL_CONFIG, populate_by_name=True)
    break_: Name | None = Field(None, alias="break", description="The joint to break.")
    add: Name | None = Field(None, description="The joint to add (absent until now).")

    @model_validator(mode="after")
    def _one(self) -> JointChange:
        if (self.break_ is None) == (self.add is None):
            raise ValueError("joint needs exactly one of break, add")
        return self

    @property
    def name(self) -> str:
        return self.break_ if self.break_ is not None else self.add or ""


def added_joints(script: Sequence[Action]) -> frozenset[str]:
    """The joints a script adds: absent from the world until their action fires."""
    return frozenset(a.joint.add for a in script if a.joint is not None and a.joint.add)


class MotorChange(Model):
    """Change a ``motor`` joint: a new ``rate`` (degrees/s, b relative to a), or stop/start."""

    joint: Name
    rate: float | None = Field(None, ge=-1e6, le=1e6, description="Degrees/s.")
    running: bool | None = Field(
        None, description="false: no torque (it turns freely); true: drives again."
    )

    @model_validator(mode="after")
    def _something(self) -> MotorChange:
        if self.rate is None and self.running is None:
            raise ValueError("motor needs rate or running")
        return self


class WalkerChange(Model):
    """A walker's new target speed, ``turn: true`` (it turns round and walks back), or
    ``limp: true`` (its muscles off: it falls)."""

    body: Name = Field(description="The walker's name.")
    speed: float | None = Field(None, ge=0.2, le=2.0, description="Target speed, m/s.")
    turn: Literal[True] | None = Field(None, description="true: it turns round.")
    limp: Literal[True] | None = Field(None, description="true: it goes limp, for good.")

    @model_validator(mode="after")
    def _something(self) -> WalkerChange:
        if self.speed is None and self.limp is None and self.turn is None:
            raise ValueError("walker needs speed, turn or limp")
        return self


class TimeChange(Model):
    """From this moment the clip plays at ``rate``: 0.25 enters 4x slow motion, 1 leaves it."""

    rate: float = Field(ge=0.01, le=100, description="Simulation seconds per video second.")
    ramp: float = Field(0.0, ge=0, le=1e4, description="Simulation seconds to ease into it.")


class FromTemplate(Model):
    """A spawn of a ``templates:`` entry, with its own name and, optionally, a new place."""

    template: Name = Field(description="A key of the scene's templates.")
    name: Name
    position: Point | None = Field(None, description="Default: the template's.")
    velocity: Vec2 | None = Field(None, description="m/s; default: the template's.")
    color: Color | None = Field(None, description="Default: the template's.")


def _spawn_tag(value: object) -> str:
    if isinstance(value, FromTemplate) or (isinstance(value, dict) and "template" in value):
        return "template"
    return "body"


def _caption(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


class Action(Model):
    """One action: when (``at``, ``when`` or ``after``) and what (exactly one verb)."""

    name: Name | None = Field(None, description="Default 'action_<index>'.")
    at: Seconds | None = Field(None, description="Simulation time in seconds.")
    when: Trigger | None = Field(None, description="Fire on the first time this holds.")
    after: Name | None = Field(None, description="Fire after this action first fires.")
    delay: Seconds = Field(0.0, description="Seconds after the trigger or `after` action.")
    every: float | None = Field(None, gt=0, le=1e6, description="Repeat period, seconds.")
    times: int | None = Field(None, ge=1, le=1_000_000, description="Firings (default 1).")
    impulse: Impulse | None = None
    force: Force | None = None
    set: SetSpec | None = None
    remove: BodyRef | None = Field(None, description="Take a body (or group) out of the world.")
    spawn: (
        Annotated[
            Annotated[Body, Tag("body")] | Annotated[FromTemplate, Tag("template")],
            Discriminator(_spawn_tag),
        ]
        | None
    ) = Field(None, description="A body entry (inline, or {template, name, position}).")
    joint: JointChange | None = Field(
        None, description="{break: NAME}: a joint snaps; {add: NAME}: it holds from now."
    )
    motor: MotorChange | None = Field(None, description="{joint, rate, running}: drive a motor.")
    walker: WalkerChange | None = Field(None, description="{body, speed | limp}.")
    camera: ShotCamera | None = Field(
        None, description="Cut to this camera (any mode but shots) on the frame that shows it."
    )
    transition: Transition | None = Field(
        None,
        description="With camera: {kind: crossfade|fade|wipe, duration} from the shot before "
        "(default a cut).",
    )
    caption: Annotated[Caption | None, Field(None)] = None
    say: Say | None = Field(None, description="Speak a line: {text, who, file, voice} or a text.")
    sound: SoundCue | None = Field(None, description="A sound cue: {file | hit, gain_db}.")
    time: TimeChange | None = Field(
        None, description="{rate, ramp}: the clip's speed from now on (slow motion in or out)."
    )
    end: Literal[True] | None = Field(None, description="true: the clip ends here.")

    @model_validator(mode="before")
    @classmethod
    def _short_caption(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("caption"), str):
            data = {**data, "caption": _caption(data["caption"])}
        if isinstance(data, dict) and isinstance(data.get("say"), str):
            data = {**data, "say": {"text": data["say"]}}
        return data

    @model_validator(mode="after")
    def _one_each(self) -> Action:
        whens = [k for k in ("at", "when", "after") if getattr(self, k) is not None]
        if len(whens) != 1:
            raise ValueError("give exactly one of at, when, after")
        if self.at is not None and self.delay:
            raise ValueError("delay goes with when or after, not at")
        verbs = [k for k in VERBS if getattr(self, k) is not None]
        if len(verbs) != 1:
            raise ValueError(f"give exactly one action: {', '.join(VERBS)}")
        if self.transition is not None and self.camera is None:
            raise ValueError("transition goes with a camera action")
        if self.times is not None and self.times > 1 and self.every is None:
            raise ValueError("times > 1 needs every (the period)")
        if self.spawn is not None and self.spawn.name is None:
            raise ValueError("a spawned body needs a name")
        if self.spawn is not None and self.every is not None and self.times is None:
            raise ValueError("a repeated spawn needs times (each firing adds one copy)")
        return self

    @property
    def verb(self) -> str:
        return next(k for k in VERBS if getattr(self, k) is not None)

    def label(self, index: int) -> str:
        return self.name or f"action_{index}"


def spawned(script: Sequence[Action]) -> list[Any]:
    """The script's spawn entries, in order (absent until spawned); templates unresolved."""
    return [action.spawn for action in script if action.spawn is not None]


def spawn_body(spawn: Any, templates: Mapping[str, Any]) -> Any:
    """The body entry a spawn adds: inline as written, or its template renamed and moved.

    None for an unknown template (a located error of ``model.cross_check``)."""
    if not isinstance(spawn, FromTemplate):
        return spawn
    template = templates.get(spawn.template)
    if template is None:
        return None
    fields = {"name": spawn.name}
    fields.update({k: getattr(spawn, k) for k in ("position", "velocity", "color")
                   if getattr(spawn, k) is not None})  # fmt: skip
    return template.model_copy(update=fields)


def matches(ref: str, name: str) -> bool:
    """``ref`` names ``name`` itself or the group (grid, composite) it is part of."""
    return name == ref or name.startswith(ref + "/")


def check(
    script: Sequence[Action],
    names: Sequence[str],
    static: set[str],
    sim_duration: float | None,
    joints: Mapping[str, str] | None = None,
    walkers: Sequence[str] = (),
) -> list[tuple[Loc, str]]:
    """Located problems: unknown names, static targets, impossible times, cycles."""
    problems: list[tuple[Loc, str]] = []
    labels: dict[str, int] = {}
    for i, action in enumerate(script):
        label = action.label(i)
        if label in labels:
            problems.append((("script", i, "name"), f"action name {label!r} is already used"))
        labels.setdefault(label, i)

    def body(loc: Loc, ref: str, moving: bool = True) -> None:
        found = [n for n in names if matches(ref, n)]
        if not found:
            hint = difflib.get_close_matches(ref, names, 1)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append((loc, f"no body is called {ref!r}{more}"))
        elif moving and all(n in static for n in found):
            problems.append((loc, f"{ref!r} is static: it cannot be moved"))

    def action_ref(loc: Loc, ref: str) -> None:
        if ref not in labels:
            hint = difflib.get_close_matches(ref, list(labels), 1)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append((loc, f"no action is called {ref!r}{more}"))

    for i, action in enumerate(script):
        here: Loc = ("script", i)
        if action.at is not None and sim_duration is not None and action.at > sim_duration:
            problems.append(
                (
                    (*here, "at"),
                    f"{action.at:g} s is after the end of the simulation ({sim_duration:g} s)",
                )
            )
        if action.after is not None:
            action_ref((*here, "after"), action.after)
        if action.when is not None:
            _check_trigger(action.when, (*here, "when"), body, action_ref)
        verb = action.verb
        spec = getattr(action, verb)
        if verb in ("impulse", "force"):
            body((*here, verb, "body"), spec.body)
        elif verb == "set" and spec.body is not None:
            body((*here, "set", "body"), spec.body)
        elif verb == "remove":
            if any(matches(spec, n) for n in names) and all(
                n in static for n in names if matches(spec, n)
            ):
                problems.append(((*here, "remove"), f"{spec!r} is static: scenery stays"))
            else:
                body((*here, "remove"), spec, moving=False)
        elif verb == "say" and spec.who is not None:
            body((*here, "say", "who"), spec.who, moving=False)
        elif verb == "walker" and spec.body not in walkers:
            hint = difflib.get_close_matches(spec.body, list(walkers), 1)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append(((*here, "walker", "body"), f"no walker is called {spec.body!r}{more}"))
        elif verb in ("joint", "motor"):
            name = spec.name if verb == "joint" else spec.joint
            kinds = joints or {}
            field = ("add" if spec.add else "break") if verb == "joint" else "joint"
            loc = (*here, verb, field)
            if name not in kinds:
                hint = difflib.get_close_matches(name, list(kinds), 1)
                more = f" (did you mean {hint[0]!r}?)" if hint else ""
                problems.append((loc, f"no joint is called {name!r}{more}"))
            elif verb == "motor" and kinds[name] != "motor":
                problems.append((loc, f"{name!r} is a {kinds[name]} joint, not a motor"))
        elif verb == "spawn":
            spawned_static = [n for n in names if matches(spec.name, n) and n in static]
            if spawned_static:
                problems.append(
                    ((*here, "spawn", "kind"), "a spawned body must move (not static scenery)")
                )
    problems += _cycles(script, labels)
    return problems


def _check_trigger(trigger: Any, loc: Loc, body: Any, action_ref: Any) -> None:
    if isinstance(trigger, OnAny | OnAll):
        key = "any" if isinstance(trigger, OnAny) else "all"
        for k, inner in enumerate(getattr(trigger, key)):
            _check_trigger(inner, (*loc, key, k), body, action_ref)
    elif isinstance(trigger, OnContact):
        body((*loc, "contact", 0), trigger.contact[0], moving=False)
        body((*loc, "contact", 1), trigger.contact[1], moving=False)
    elif isinstance(trigger, OnEvent):
        action_ref((*loc, "event"), trigger.event)
    else:
        kind = only_key(trigger)
        assert kind is not None
        body((*loc, kind, "body"), getattr(trigger, kind).body, moving=False)


def depends_on(action: Action) -> list[str]:
    """The actions this one waits for (``after`` and ``event`` triggers)."""
    names = [action.after] if action.after is not None else []
    if action.when is not None:
        names += [leaf.event for leaf in leaves(action.when) if isinstance(leaf, OnEvent)]
    return names


def _cycles(script: Sequence[Action], labels: dict[str, int]) -> list[tuple[Loc, str]]:
    """An action that (through after/event) waits for itself would never fire."""
    edges = {
        i: [labels[n] for n in depends_on(action) if n in labels] for i, action in enumerate(script)
    }
    state: dict[int, int] = {}  # 1 visiting, 2 done
    for start in range(len(script)):
        stack = [(start, iter(edges[start]))]
        path = [start]
        if state.get(start):
            continue
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                names = " → ".join(script[k].label(k) for k in cycle)
                return [(("script", nxt), f"actions wait for each other in a cycle: {names}")]
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(edges[nxt])))
                path.append(nxt)
    return []
