"""Scene → a flat, ordered list of bodies to build, with every default resolved.

This is the one place where grids expand, names and materials resolve and
walls and floors get their geometry, so the world builder, ``info`` and the
tests all see the same bodies. Pure: no pymunk, no pygame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict, cast

import numpy as np

from ..frame import CircleGeom, Geom, JointKind, PolyGeom, SegmentGeom, Vec2, extent
from . import joints as jm
from . import model, water
from .assembly import Assembly, BodySpec, JointSpec, WalkerSpec
from .builders import BUILDERS, Context
from .composites import COMPOSITES
from .fields import MaterialRef, MaterialSpec
from .joints import WORLD
from .materials import DEFAULT_DYNAMIC, DEFAULT_STATIC, PRESETS, Material
from .water import Emitter, Water

FLOOR_DEPTH_FACTOR = 1.0
"""A floor is a box this many view-heights deep, so nothing tunnels through it."""
FLOOR_REACH = 50.0
"""A floor extends this many view-widths to each side."""


def resolve_material(ref: MaterialRef | None, scene: model.Scene, static: bool) -> Material:
    """A preset, a scene material or an inline spec, as a ``Material``."""
    if ref is None:
        return PRESETS[DEFAULT_STATIC if static else DEFAULT_DYNAMIC]
    if isinstance(ref, str):
        if ref in scene.materials:
            return _custom(ref, scene.materials[ref])
        return PRESETS[ref]
    return _custom("custom", ref)


def _custom(name: str, spec: MaterialSpec) -> Material:
    color = spec.color or (200, 200, 200)
    return Material(name, spec.density, spec.friction, spec.elasticity, color)


def _geometry(body: model.Body, scene: model.Scene) -> tuple[Geom, ...]:
    """The body's shapes in body-local coordinates."""
    if isinstance(body, model.Ball):
        return (CircleGeom(body.radius),)
    if isinstance(body, model.Box):
        w, h = body.size[0] / 2, body.size[1] / 2
        return (PolyGeom(((-w, -h), (w, -h), (w, h), (-w, h))),)
    if isinstance(body, model.Polygon):
        return (PolyGeom(_counter_clockwise(body.vertices)),)
    if isinstance(body, model.Segment):
        return (SegmentGeom(body.a, body.b, body.thickness / 2),)
    if isinstance(body, model.Ramp):
        (ax, ay), (bx, by) = body.a, body.b
        low, high = ((ax, ay), (bx, by)) if ay < by else ((bx, by), (ax, ay))
        corner = (high[0], low[1])
        return (PolyGeom(_counter_clockwise([low, high, corner])),)
    if isinstance(body, model.Floor):
        (ox, oy), (w, h) = scene.world.origin, scene.world.size
        top = oy if body.y is None else body.y
        px, py = body.position
        left, right = ox - FLOOR_REACH * w - px, ox + (FLOOR_REACH + 1) * w - px
        top -= py
        bottom = top - FLOOR_DEPTH_FACTOR * h
        return (PolyGeom(((left, bottom), (right, bottom), (right, top), (left, top))),)
    raise TypeError(f"no geometry for {type(body).__name__}")


def _counter_clockwise(
    vertices: Sequence[tuple[float, float]],
) -> tuple[tuple[float, float], ...]:
    area2 = sum(
        x0 * y1 - x1 * y0
        for (x0, y0), (x1, y1) in zip(vertices, [*vertices[1:], vertices[0]], strict=True)
    )
    ordered: Sequence[tuple[float, float]] = vertices if area2 > 0 else vertices[::-1]
    return tuple((float(x), float(y)) for x, y in ordered)


def _walls(scene: model.Scene) -> BodySpec | None:
    walls = scene.world.walls
    if walls is False:
        return None
    spec = walls if isinstance(walls, model.Walls) else model.Walls()
    material = resolve_material(spec.material, scene, static=True)
    (x0, y0), (w, h) = scene.world.origin, scene.world.size
    x1, y1, t = x0 + w, y0 + h, spec.thickness
    # Boxes that sit just inside the view and reach far outside it, so that a
    # fast body cannot tunnel through and the drawn wall is exactly t wide.
    reach = max(w, h)
    boxes = {
        "bottom": (x0 - reach, y0 - reach, x1 + reach, y0 + t),
        "top": (x0 - reach, y1 - t, x1 + reach, y1 + reach),
        "left": (x0 - reach, y0 - reach, x0 + t, y1 + reach),
        "right": (x1 - t, y0 - reach, x1 + reach, y1 + reach),
    }
    shapes = tuple(
        PolyGeom(((a, b), (c, b), (c, d), (a, d)))
        for side, (a, b, c, d) in boxes.items()
        if side in spec.sides
    )
    return BodySpec(
        name=model.WALLS_NAME,
        kind="walls",
        body_type="static",
        position=(0.0, 0.0),
        angle=0.0,
        velocity=(0.0, 0.0),
        angular_velocity=0.0,
        material=material,
        color=spec.color or material.color,
        shapes=shapes,
    )


def expand(scene: model.Scene) -> list[BodySpec]:
    """Every body of the scene in build order (see ``assemble``)."""
    return assemble(scene).bodies


def assemble(scene: model.Scene) -> Assembly:
    """Every body, joint and walker of the scene, in build order: walls, then file order.

    Grid copies get seeded jitter from ``(seed, entry index)``, so editing one
    entry never moves the copies of another; composites expand through ``BUILDERS``;
    the ``joints:`` section comes after every body.
    """
    result: list[BodySpec] = []
    joints: list[JointSpec] = []
    walkers: list[WalkerSpec] = []
    walls = _walls(scene)
    if walls:
        result.append(walls)
    liquids: list[Water | Emitter] = []
    for index, (body, names) in enumerate(zip(scene.bodies, model.body_names(scene), strict=True)):
        if isinstance(body, Water | Emitter):
            liquids.append(body)
            continue
        if isinstance(body, COMPOSITES):
            material = resolve_material(body.material, scene, static=False)
            ctx = Context(
                name=body.name or f"{body.kind}_{index}",
                material=material,
                color=body.color or material.color,
                group=index + 1,
                material_given=body.material is not None,
                color_given=body.color is not None,
            )
            built = BUILDERS[body.kind](body, ctx)
            result += built.bodies
            joints += built.joints
            walkers += built.walkers
            continue
        static = body.body_type == "static"
        material = resolve_material(body.material, scene, static)
        shapes = _geometry(body, scene)
        grid = getattr(body, "grid", None)
        offsets = [(0.0, 0.0)]
        colors = [body.color or material.color]
        if grid is not None:
            rng = np.random.default_rng([scene.seed, index])
            jitter = rng.uniform(-grid.jitter, grid.jitter, size=(grid.count, 2))
            offsets = [
                (
                    (i % grid.columns) * grid.spacing[0] + float(jitter[i, 0]),
                    (i // grid.columns) * grid.spacing[1] + float(jitter[i, 1]),
                )
                for i in range(grid.count)
            ]
            colors = list(grid.colors) if grid.colors else colors
        for i, (name, (dx, dy)) in enumerate(zip(names, offsets, strict=True)):
            result.append(
                BodySpec(
                    name=name,
                    kind=body.kind,
                    body_type=body.body_type,
                    position=(body.position[0] + dx, body.position[1] + dy),
                    angle=math.radians(body.angle),
                    velocity=body.velocity,
                    angular_velocity=math.radians(body.angular_velocity),
                    material=material,
                    color=colors[i % len(colors)],
                    shapes=shapes,
                    mass=body.mass,
                )
            )
    starts = {spec.name: spec for spec in result}
    joints += [_joint(joint, index, starts) for index, joint in enumerate(scene.joints)]
    duration = scene.timing.frame_count / scene.timing.fps
    fluid = water.setup(liquids, duration, lambda p: water.free_of(p, result, liquids))
    return Assembly(result, joints, walkers, fluid)


class _CommonArgs(TypedDict):
    """The ``JointSpec`` arguments every kind of joint takes."""

    name: str
    a: str
    b: str | None
    collide: bool
    max_force: float | None


class _AnchorArgs(TypedDict):
    anchor_a: Vec2
    anchor_b: Vec2


def _joint(joint: jm.Joint, index: int, starts: dict[str, BodySpec]) -> JointSpec:
    """A ``joints:`` entry as a JointSpec: radians, world → None, kind aliases resolved."""
    kind = {"rod": "pin", "hinge": "pivot"}.get(joint.kind, joint.kind)
    b = None if joint.b == WORLD else joint.b
    common: _CommonArgs = {
        "name": joint.name or f"{joint.kind}_{index}",
        "a": joint.a,
        "b": b,
        "collide": joint.collide,
        "max_force": joint.max_force,
    }
    anchors: _AnchorArgs = {
        "anchor_a": getattr(joint, "anchor_a", (0.0, 0.0)),
        "anchor_b": getattr(joint, "anchor_b", (0.0, 0.0)),
    }
    if isinstance(joint, jm.Pivot) and joint.point is not None:
        return JointSpec(kind="pivot", **common, **_pivot_anchors(joint, starts))
    if isinstance(joint, jm.Pin):
        return JointSpec(kind="pin", length=joint.length, **common, **anchors)
    if isinstance(joint, jm.Slide):
        return JointSpec(kind="slide", low=joint.min, high=joint.max, **common, **anchors)
    if isinstance(joint, jm.Groove):
        return JointSpec(
            kind="groove",
            groove=(joint.groove_a, joint.groove_b),
            anchor_b=joint.anchor_b,
            **common,
        )
    if isinstance(joint, jm.Spring):
        return JointSpec(
            kind="spring",
            rest=joint.rest_length,
            stiffness=joint.stiffness,
            damping=joint.damping,
            **common,
            **anchors,
        )
    if isinstance(joint, jm.RotarySpring):
        return JointSpec(
            kind="rotary_spring",
            rest=math.radians(joint.rest_angle),
            stiffness=joint.stiffness,
            damping=joint.damping,
            **common,
        )
    if isinstance(joint, jm.RotaryLimit):
        return JointSpec(
            kind="rotary_limit",
            low=math.radians(joint.min),
            high=math.radians(joint.max),
            **common,
        )
    if isinstance(joint, jm.Motor):
        return JointSpec(kind="motor", rate=math.radians(joint.rate), **common)
    if isinstance(joint, jm.Gear):
        return JointSpec(
            kind="gear",
            ratio=joint.ratio,
            phase=math.radians(joint.phase),
            **common,
        )
    # Only a pivot/hinge without ``point`` is left, and the alias map above made it "pivot".
    return JointSpec(kind=cast(JointKind, kind), **common, **anchors)


def _pivot_anchors(joint: jm.Pivot, starts: dict[str, BodySpec]) -> _AnchorArgs:
    """Anchors of a hinge given as a world ``point``, from where the bodies start."""
    point = joint.point
    assert point is not None

    def local(name: str | None) -> tuple[float, float]:
        if name is None or name == WORLD:
            return (float(point[0]), float(point[1]))
        spec = starts[name]
        dx, dy = point[0] - spec.position[0], point[1] - spec.position[1]
        c, s = math.cos(-spec.angle), math.sin(-spec.angle)
        return (dx * c - dy * s, dx * s + dy * c)

    return {"anchor_a": local(joint.a), "anchor_b": local(joint.b)}


ANCHOR_TOLERANCE = 0.05
"""Anchors may sit this far (relative, at least 1 cm) outside a body's shapes."""


def check_anchors(scene: model.Scene) -> list[tuple[tuple[str | int, ...], str]]:
    """Anchors of ``joints:`` must lie on their body: a far-off anchor is almost always a
    world point written where a body point was meant (anchors are body coordinates)."""
    if not scene.joints:
        return []
    bodies = {spec.name: spec for spec in assemble(scene).bodies}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, joint in enumerate(scene.joints):
        points = [("a", "anchor_a"), ("b", "anchor_b")]
        if isinstance(joint, jm.Groove):
            points = [("a", "groove_a"), ("a", "groove_b"), ("b", "anchor_b")]
        if isinstance(joint, jm.Pivot) and joint.point is not None:
            continue
        for side, field in points:
            name = getattr(joint, side)
            if name == WORLD or not hasattr(joint, field):
                continue
            spec = bodies[name]
            if spec.body_type == "static" and spec.kind in ("floor", "walls"):
                continue
            reach = extent(spec.shapes)
            x, y = getattr(joint, field)
            distance = math.hypot(x, y)
            if distance > reach + max(ANCHOR_TOLERANCE * reach, 0.01):
                problems.append(
                    (
                        ("joints", index, field),
                        f"[{x:g}, {y:g}] is {distance:.3g} m from the origin of {name!r}, "
                        f"outside its shape (which reaches {reach:.3g} m); anchors are in the "
                        "body's own coordinates, relative to its position",
                    )
                )
    return problems
