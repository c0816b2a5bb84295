"""A ``Plan`` → a scene file's text: objects placed left to right on a floor, styles,
a camera that follows, and the script's steps; checked by the loader before it is given.

>>> result = compose("three red rubber balls bounce down the stairs, slow motion")
>>> print([line for line in result.text.splitlines() if "kind: ball" in line][0][:63])
  - {kind: ball, name: ball, radius: 0.15, position: [1.3, 2.9]
>>> result.scene.style, result.skipped
(('slow motion',), [])
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from ..loader import parse_scene
from ..model import Scene
from .grammar import Group, Plan, parse

FLOOR = 0.0
TOP = 9.0


@dataclass(frozen=True)
class Composed:
    text: str
    scene: Scene
    explain: list[str]
    skipped: list[str]


def compose(prompt: str) -> Composed:
    """The scene a prompt describes, as checked YAML text (deterministic, offline)."""
    plan = parse(prompt)
    data = scene_data(plan, prompt)
    text = to_yaml(data)
    return Composed(text, parse_scene(text, "<prompt>"), plan.explain, plan.skipped)


def _r(x: float) -> float:
    return round(x, 3) + 0.0


class _Layout:
    """Places groups left to right; remembers each group's name and where it is."""

    def __init__(self) -> None:
        self.x = 1.0
        self.bodies: list[dict[str, Any]] = []
        self.names: dict[int, str] = {}
        self.anchor: dict[int, tuple[float, float]] = {}
        self.used: set[str] = set()

    def name(self, index: int, base: str) -> str:
        name, k = base, 2
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        self.names[index] = name
        return name


def scene_data(plan: Plan, prompt: str) -> dict[str, Any]:
    lay = _Layout()
    order = sorted(range(len(plan.groups)), key=lambda i: _rank(plan.groups[i]))
    for index in order:
        _place(plan, index, lay)
    liquid = any(g.kind in ("pool", "tap") for g in plan.groups)
    width = max(8.0 if liquid else 16.0, lay.x + 1.0)  # a pool is small: frame it closer
    duration = plan.duration or 5.0
    script = _script(plan, lay, duration)  # takes spawned bodies out of lay.bodies
    data: dict[str, Any] = {
        "name": prompt[:80],
        "description": f"Made by 'physics-scenes new' from: {prompt}",
        "world": {"size": [_r(width), _r(width * 9 / 16)]},
        "timing": {"duration": duration, "fps": 60},
        "bodies": [{"kind": "floor", "name": "floor", "y": FLOOR}, *lay.bodies],
    }
    if plan.styles:
        data["style"] = list(plan.styles)
    standing = {b["name"] for b in lay.bodies}  # not those spawned later by the script
    if plan.follow is not None and lay.names.get(plan.follow) in standing:
        data["camera"] = {"mode": "follow", "target": lay.names[plan.follow]}
    if script:
        data["script"] = script
    return data


def _rank(group: Group) -> int:
    """Scenery first (stairs, ramps), then what moves on it, walls last (right side)."""
    if "throw" in group.motions:
        return 0  # thrown from the left at what stands to its right
    fixed = {"stairs": 0, "ramp": 0, "pool": 0, "tap": 1, "walker": 3, "wall": 4}
    return fixed.get(group.kind, 1 if group.target is None else 2)


def _place(plan: Plan, index: int, lay: _Layout) -> None:
    g = plan.groups[index]
    s = g.scale
    body: dict[str, Any]
    if g.kind == "floor":
        lay.names[index] = "floor"
        return
    if g.kind == "stairs":
        name = lay.name(index, "stairs")
        steps = 5
        for k in range(steps):
            h = 0.5 * s * (steps - k)
            lay.bodies.append({"kind": "box", "name": f"{name}_{k}", "size": [0.8 * s, _r(h)],
                               "position": [_r(lay.x + 0.8 * s * k + 0.4 * s), _r(h / 2)],
                               "body_type": "static"})  # fmt: skip
        lay.anchor[index] = (lay.x + 0.3 * s, 0.5 * s * steps + 0.4)
        lay.names[index] = f"{name}_0"
        lay.x += 0.8 * s * steps + 1.0
        return
    if g.kind == "ramp":
        name = lay.name(index, "ramp")
        h, w = 2.5 * s, 4.0 * s
        lay.bodies.append({"kind": "ramp", "name": name, "position": [_r(lay.x), FLOOR],
                           "a": [0, _r(h)], "b": [_r(w), 0]})  # fmt: skip
        lay.anchor[index] = (lay.x + 0.4, h + 0.5)
        lay.x += w + 0.5
        return
    if g.kind in ("pool", "tap"):
        _liquid(plan, index, lay)
        return
    if g.kind == "wall":
        name = lay.name(index, "wall")
        size, where = [0.3, _r(4 * s)], [_r(lay.x + 1.0), _r(2 * s)]
        lay.bodies.append(
            {"kind": "box", "name": name, "size": size, "position": where, "body_type": "static"}
        )
        lay.x += 1.5
        return
    name = lay.name(index, g.kind)
    found = next((k for k, o in enumerate(plan.groups) if o.kind == g.target), None)
    on = found is not None and "throw" not in g.motions
    target = lay.anchor.get(found) if on and found is not None else None
    if g.kind == "ball":
        r = 0.15 * s
        x, y = target if target else (lay.x + r + 0.5, 3.0 if "bounce" in g.motions else r + 0.01)
        if "fall" in g.motions and not target:
            y = 5.0
        body = {"kind": "ball", "name": name, "radius": _r(r), "position": [_r(x), _r(y)]}
        if "bounce" in g.motions and g.material is None:
            g.material = "rubber"
        if "roll" in g.motions and not target:
            body["velocity"] = [2.0, 0]
        spacing = [_r(2.6 * r), _r(2.6 * r)]
    elif g.kind == "box":
        w = 0.5 * s
        x, y = target if target else (lay.x + w, w / 2 + 0.001)
        body = {"kind": "box", "name": name, "size": [_r(w), _r(w)], "position": [_r(x), _r(y)]}
        if "fall" in g.motions:
            body["position"][1] = 4.0
        spacing = [_r(w * 1.05), _r(w * 1.001)]
    elif g.kind == "domino":
        w, h = 0.1 * s, 0.8 * s
        body = {"kind": "box", "name": name, "size": [_r(w), _r(h)],
                "position": [_r(lay.x + 0.3), _r(h / 2 + 0.001)]}  # fmt: skip
        spacing = [_r(h * 0.6), _r(h)]
        g.arrangement = g.arrangement or "row"
    else:
        _composite(g, name, lay)
        return
    if g.held:
        body["body_type"] = "kinematic"
    if g.material:
        body["material"] = g.material
    if g.color:
        body["color"] = g.color
    if "throw" in g.motions and g.target is not None:
        body["velocity"] = [6.0, 4.0]
    if g.count > 1 or g.arrangement == "row":
        body["grid"] = _grid(g, spacing)
        if g.arrangement == "pile":
            body["grid"]["jitter"] = _r(spacing[0] * 0.2)
            body["position"][1] = _r(body["position"][1] + 1.0)
    if g.arrangement == "pyramid" and g.count > 1:
        _pyramid(g, body, spacing, lay)
        lay.names[index] = f"{name}_row0"  # the base row stands for the pyramid
    else:
        lay.bodies.append(body)
    columns = body.get("grid", {}).get("columns", 1)
    if not target:
        lay.x = max(lay.x, body["position"][0] + spacing[0] * columns + 0.5)
    lay.anchor[index] = (body["position"][0], body["position"][1] + 1.0)


POOL_WIDTH, POOL_DEPTH = 4.0, 0.8
"""A pool's water (m) at scale 1: ~1300 particles at its 5 cm spacing."""


def _liquid(plan: Plan, index: int, lay: _Layout) -> None:
    """A pool: water between two low walls on the floor (what falls into it lands above
    its middle); a tap: an emitter pouring for 3 s, over the pool if there is one (one
    resolution for every liquid of a scene: the pool's 5 cm). Water is no body, so a
    trigger on a pool means its bed, the floor."""
    g = plan.groups[index]
    s = g.scale
    if g.kind == "pool":
        name = lay.name(index, "pool")
        left, width, depth = lay.x + 0.5, POOL_WIDTH * s, POOL_DEPTH * s
        for side, x in (("left", left - 0.05), ("right", left + width + 0.05)):
            wall = {"kind": "box", "name": f"{name}_{side}", "size": [0.1, _r(1.5 * depth)],
                    "position": [_r(x), _r(0.75 * depth)], "body_type": "static"}  # fmt: skip
            lay.bodies.append(wall)
        box = [_r(left), FLOOR, _r(left + width), _r(FLOOR + depth)]
        lay.bodies.append({"kind": "water", "name": name, "resolution": 0.05, "box": box})
        lay.anchor[index] = (left + width / 2, depth + 2.0)
        lay.names[index] = "floor"
        lay.x = left + width + 0.6
        return
    pool = next((k for k, o in enumerate(plan.groups) if o.kind == "pool"), None)
    x, y = lay.anchor.get(pool, (lay.x + 0.5, 3.0)) if pool is not None else (lay.x + 0.5, 3.0)
    if pool is None:
        lay.x += 1.5
    name = lay.name(index, "tap")
    lay.bodies.append({"kind": "emitter", "name": name, "position": [_r(x - 0.8), _r(y)],
                       "direction": -90, "speed": 1.5, "rate": 75, "resolution": 0.05,
                       "stop": 3.0})  # fmt: skip
    lay.names[index] = "floor"


def _grid(g: Group, spacing: list[float]) -> dict[str, Any]:
    if g.arrangement == "stack":
        return {"columns": 1, "rows": g.count, "spacing": spacing}
    if g.arrangement == "pile":  # exactly count: the divisor nearest above the square root
        columns = next(c for c in range(math.ceil(math.sqrt(g.count)), g.count + 1)
                       if g.count % c == 0)  # fmt: skip
        return {"columns": columns, "rows": g.count // columns, "spacing": spacing}
    return {"columns": g.count, "rows": 1, "spacing": spacing}


def _pyramid(g: Group, body: dict[str, Any], spacing: list[float], lay: _Layout) -> None:
    """Rows of boxes, each one shorter and half a box further in: n + (n-1) + ... ≥ count."""
    base = 1
    while base * (base + 1) // 2 < g.count:
        base += 1
    x, y = body["position"]
    left = g.count
    for row in range(base):
        n = min(base - row, left)  # the top row takes what is left: exactly count boxes
        left -= n
        if n <= 0:
            break
        where = [_r(x + row * spacing[0] / 2), _r(y + row * spacing[1])]
        part = {**body, "name": f"{body['name']}_row{row}", "position": where}
        part["grid"] = {"columns": n, "rows": 1, "spacing": spacing}
        if n == 1:
            del part["grid"]
        lay.bodies.append(part)


def _composite(g: Group, name: str, lay: _Layout) -> None:
    x = lay.x + 1.0
    common = {k: v for k, v in (("material", g.material), ("color", g.color)) if v}
    if g.kind == "pendulum":
        body = {"kind": "pendulum", "name": name, "pivot": [_r(x), 6.0],
                "length": _r(2.0 * g.scale), "angle": 50.0,
                "bob_radius": _r(0.2 * g.scale)}  # fmt: skip
        lay.x += 2.5
    elif g.kind == "chain":
        body = {"kind": "chain", "name": name, "start": [_r(x), 8.0], "length": _r(3.0 * g.scale)}
        lay.x += 1.5
    elif g.kind == "cradle":
        balls = g.count if g.count > 1 else 5
        body = {"kind": "newtons_cradle", "name": name, "position": [_r(x + 0.5), 4.0],
                "balls": max(2, min(20, balls)), "radius": _r(0.15 * g.scale),
                "length": 1.5}  # fmt: skip
        lay.x += 0.4 * balls + 2
    else:  # walker
        body = {"kind": "walker", "name": name, "position": [_r(x), FLOOR],
                "height": _r(1.7 * g.scale if g.noun != "woman" else 1.65 * g.scale)}  # fmt: skip
        if g.noun == "robot":
            body["speed"] = 0.6
        lay.x += 1.5
    body.update(common)
    lay.bodies.append(body)


def _ref(plan: Plan, lay: _Layout, index: int, first: bool = False) -> str:
    name = lay.names[index]
    g = plan.groups[index]
    if first and g.count > 1 and g.arrangement != "pyramid":
        width = len(str(g.count - 1))
        return f"{name}/{0:0{width}d}"
    return name


def _script(plan: Plan, lay: _Layout, duration: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in plan.steps:
        if step.verb == "trigger":
            continue
        action: dict[str, Any] = {}
        if step.contact is not None:
            a, b = step.contact
            if a not in lay.names or b not in lay.names:
                continue
            action["when"] = {"contact": [_ref(plan, lay, a), _ref(plan, lay, b, step.first_b)]}
        else:
            action["at"] = min(step.at or 0.0, duration)
        if step.verb == "caption":
            action["caption"] = step.text
        elif step.verb == "end":
            action["end"] = True
        elif step.group is None or step.group not in lay.names:
            continue
        elif step.verb == "spawn":
            spawn = next((b for b in lay.bodies if b["name"] == lay.names[step.group]), None)
            if spawn is None or plan.groups[step.group].arrangement == "pyramid":
                continue  # a pyramid is several entries: it stands from the start
            lay.bodies.remove(spawn)
            spawn = {**spawn, "position": [spawn["position"][0], 6.0]}
            action["spawn"] = spawn
        elif step.verb == "release":
            action["set"] = {"body": lay.names[step.group], "body_type": "dynamic"}
        elif step.verb == "push":
            action["impulse"] = {"body": lay.names[step.group], "impulse": [3.0, 1.0]}
        elif step.verb == "remove":
            action["remove"] = lay.names[step.group]
        out.append(action)
    return out


def to_yaml(data: dict[str, Any]) -> str:
    """Block YAML at the top, flow mappings per body and action: short and diffable."""
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}:")
            lines += [f"  - {_flow(item)}" for item in value]
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 else repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    plain = text.replace(" ", "").replace("_", "").replace("-", "").replace("/", "")
    if plain.isalnum() and text[0].isalpha() and text not in ("true", "false", "null", "yes", "no"):
        return text
    return json.dumps(text, ensure_ascii=False)
