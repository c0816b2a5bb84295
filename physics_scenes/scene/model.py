"""The scene file's data model: what a scene may say, validated and frozen.

Units are SI (metres, seconds, kilograms) with y pointing up; angles in the
file are degrees (counter-clockwise) because people and language models write
those more reliably, and every output uses radians. Loading from YAML with
located errors lives in ``loader.py``; this module is pure data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from . import camera as camera_model
from .audio import AmbientSpec, AudioSpec, SoundSpec  # noqa: F401 (field names for typo hints)
from .composites import (
    COMPOSITE_KINDS,
    COMPOSITES,
    Chain,
    NewtonsCradle,
    Pendulum,
    Ragdoll,
    Walker,
    Whegs,
)
from .fields import (
    MAX_LENGTH,
    MODEL_CONFIG,
    Color,
    Coordinate,
    Degrees,
    Length,
    MaterialRef,
    MaterialSpec,
    Model,
    Point,
    Positive,
    ReadOnlyList,
    ReadOnlyMap,
    Vec2,
)
from .joints import WORLD, Joint
from .materials import PRESETS
from .script import Action, spawn_body
from .script import check as check_script
from .water import LIQUIDS, Emitter, FluidMaterial, Water  # noqa: F401 (FluidMaterial: hints)

SCHEMA_VERSION = 1
MAX_BODIES = 20_000
"""More bodies than this would take minutes per second of video; a clear error beats a hang."""


def _bool_or_mapping(value: object) -> str:
    return "spec" if isinstance(value, dict | Walls) else "flag"


class Grid(Model):
    """Repeat a body on a grid; copies are named '<name>/<index>' (index zero-padded)."""

    columns: int = Field(ge=1, le=10**9, description="Copies along x.")
    rows: int = Field(1, ge=1, le=10**9, description="Copies along y.")
    spacing: Point = Field(description="Distance between neighbours [dx, dy] in metres.")
    jitter: float = Field(
        0.0,
        ge=0,
        le=MAX_LENGTH,
        description="Random offset (metres, uniform ±jitter) from the scene seed.",
    )
    colors: ReadOnlyList[Color] | None = Field(
        None, min_length=1, description="Colours cycled over the copies."
    )

    @property
    def count(self) -> int:
        return self.columns * self.rows


class BodyBase(Model):
    name: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\s/][^/]*$",
        description="Unique name used in every output (events, states). Default: '<kind>_<index>'. "
        "'/' is reserved for parts of composite and grid bodies.",
    )
    position: Point = Field((0.0, 0.0), description="Body origin in metres.")
    angle: Degrees = Field(0.0, description="Rotation in degrees, counter-clockwise.")
    velocity: Vec2 = Field((0.0, 0.0), description="Initial velocity in m/s.")
    angular_velocity: Degrees = Field(
        0.0, description="Initial spin in degrees/s, counter-clockwise."
    )
    material: MaterialRef | None = Field(
        None, description="Material; default 'wood' for moving bodies, 'ground' for static ones."
    )
    color: Color | None = Field(None, description="Fill colour; default: the material's colour.")
    mass: Positive | None = Field(None, description="Mass in kg; overrides the material's density.")
    body_type: Literal["dynamic", "static", "kinematic"] = Field(
        "dynamic",
        description="dynamic: moved by forces; static: never moves; kinematic: moves at its "
        "velocity, unaffected by forces.",
    )


class RepeatableBody(BodyBase):
    """A body that may be repeated on a grid."""

    grid: Grid | None = Field(None, description="Repeat this body on a grid.")


class Ball(RepeatableBody):
    """A solid disc. A line from centre to rim makes its spin visible."""

    kind: Literal["ball"]
    radius: Length = Field(description="Radius in metres.")


class Box(RepeatableBody):
    """A solid rectangle centred on its position."""

    kind: Literal["box"]
    size: tuple[Length, Length] = Field(description="[width, height] in metres.")


class Polygon(RepeatableBody):
    """A solid convex polygon; vertices are relative to the position."""

    kind: Literal["polygon"]
    vertices: ReadOnlyList[Point] = Field(
        min_length=3, max_length=64, description="Convex outline, metres, relative to position."
    )

    @field_validator("vertices")
    @classmethod
    def _convex(cls, vertices: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        check_convex(vertices)
        return vertices


class Segment(BodyBase):
    """A line with rounded ends (a thin wall, a rail). Static unless body_type says otherwise."""

    kind: Literal["segment"]
    a: Point = Field(description="First end, metres, relative to position (default [0, 0]).")
    b: Point = Field(description="Second end, metres, relative to position.")
    thickness: Length = Field(0.05, description="Thickness in metres.")
    body_type: Literal["dynamic", "static", "kinematic"] = "static"

    @model_validator(mode="after")
    def _not_degenerate(self) -> Segment:
        if math.dist(self.a, self.b) <= 1e-9:
            raise ValueError("a and b must be different points")
        return self


class Ramp(BodyBase):
    """A solid wedge whose sloped top runs from ``a`` to ``b`` (static)."""

    kind: Literal["ramp"]
    a: Point = Field(description="One end of the slope, metres, relative to position.")
    b: Point = Field(description="Other end of the slope, metres, relative to position.")
    body_type: Literal["static"] = "static"

    @model_validator(mode="after")
    def _sloped(self) -> Ramp:
        if abs(self.a[0] - self.b[0]) <= 1e-9 or abs(self.a[1] - self.b[1]) <= 1e-9:
            raise ValueError("a and b must differ in both x and y (use a segment for flat pieces)")
        return self


class Floor(BodyBase):
    """Static ground whose top is at height ``y``, spanning far beyond the view."""

    kind: Literal["floor"]
    y: Coordinate | None = Field(
        None, description="Height of the top surface; default: the view's bottom."
    )
    body_type: Literal["static"] = "static"


Body = Annotated[
    Ball
    | Box
    | Polygon
    | Segment
    | Ramp
    | Floor
    | Chain
    | Pendulum
    | NewtonsCradle
    | Ragdoll
    | Walker
    | Whegs
    | Water
    | Emitter,
    Field(discriminator="kind"),
]
Action.model_rebuild(_types_namespace={"Body": Body, "ShotCamera": camera_model.ShotCamera})
BODY_KINDS = (
    "ball", "box", "polygon", "segment", "ramp", "floor", *COMPOSITE_KINDS, "water", "emitter"
)  # fmt: skip


class Walls(Model):
    """Static walls around the visible region."""

    material: MaterialRef = "ground"
    color: Color | None = None
    thickness: Length = Field(0.1, description="Drawn thickness in metres (inside the view).")
    sides: ReadOnlyList[Literal["bottom", "left", "right", "top"]] = Field(
        ("bottom", "left", "right", "top"), min_length=1, description="Which sides get a wall."
    )


class WorldSettings(Model):
    """The world's physics constants and the region the camera shows."""

    gravity: Vec2 = Field((0.0, -9.81), description="Acceleration in m/s².")
    size: tuple[Length, Length] = Field(
        (16.0, 9.0), description="Width and height of the visible region in metres."
    )
    origin: Point = Field((0.0, 0.0), description="Bottom-left corner of the visible region.")
    background: Color = Field("#15171c", description="Background colour.")  # type: ignore[assignment]
    walls: Annotated[
        Annotated[bool, Tag("flag")] | Annotated[Walls, Tag("spec")],
        Discriminator(_bool_or_mapping),
    ] = Field(
        False, description="true, or {material, sides, ...}: walls around the visible region."
    )
    damping: float = Field(
        1.0, gt=0, le=1, description="Fraction of velocity kept per second (1 = no air drag)."
    )
    iterations: int = Field(
        20,
        ge=1,
        le=100,
        description="Solver iterations per step (20: a 30-link chain holds its joints "
        "to about 1 mm; pymunk's own default of 10 lets it stretch several).",
    )
    collision_slop: float = Field(
        0.002,
        gt=0,
        le=1,
        description="Overlap in metres allowed between touching shapes (pymunk's default of "
        "0.1 suits pixels, not metres: 10 cm balls would sink 3 cm into each other).",
    )


class Timing(Model):
    """How long to simulate and how finely."""

    duration: float | None = Field(
        None, gt=0, le=1e6, description="Seconds (default 5). Give this or frames."
    )
    frames: int | None = Field(None, ge=1, le=1_000_000, description="Number of output frames.")
    fps: int = Field(60, ge=1, le=240, description="Output frames per second.")
    substeps: int = Field(
        4, ge=1, le=64, description="Physics steps per frame: dt = 1 / (fps x substeps)."
    )

    @model_validator(mode="after")
    def _one_length(self) -> Timing:
        if self.duration is not None and self.frames is not None:
            raise ValueError("give duration or frames, not both")
        if self.frame_count > 1_000_000:
            raise ValueError(f"{self.frame_count} frames is more than the limit of 1,000,000")
        return self

    @property
    def frame_count(self) -> int:
        """Frames in the output; frame 0 is the initial state at t = 0."""
        if self.frames is not None:
            return self.frames
        return max(1, round((self.duration or 5.0) * self.fps))

    @property
    def dt(self) -> float:
        return 1.0 / (self.fps * self.substeps)


class Authorship(Model):
    """Who wrote a scene file when it was not a person: the content credentials declare the
    scene an ingredient made with trainedAlgorithmicData."""

    model: str = Field(min_length=1, max_length=200, description="The model's name.")
    endpoint: str = Field(min_length=1, max_length=500, description="Where it was asked.")
    prompt_sha256: str = Field(
        pattern="^[0-9a-f]{64}$", description="SHA-256 of the prompt (UTF-8), not the prompt."
    )


class Scene(Model):
    """A physics scene: world, timing, materials and bodies. Unknown keys are errors."""

    model_config = ConfigDict(
        **MODEL_CONFIG,
        title="physics_scenes scene",
    )

    version: Literal[1] = Field(1, description="Scene format version.")
    name: str | None = Field(None, description="Title of the scene.")
    description: str | None = Field(None, description="Free text for people.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed for every random choice.")
    world: WorldSettings = Field(default_factory=WorldSettings)
    timing: Timing = Field(default_factory=Timing)
    materials: ReadOnlyMap[MaterialSpec] = Field(
        default_factory=dict, description="Custom materials by name, usable in 'material'."
    )
    bodies: ReadOnlyList[Body] = Field(
        min_length=1, description="Everything in the scene, in order."
    )
    joints: ReadOnlyList[Joint] = Field(
        default_factory=tuple,
        description="Constraints between named bodies (parts of composites included).",
    )
    camera: camera_model.Camera | None = None
    time: camera_model.Time | None = None
    look: camera_model.Look | None = None
    style: camera_model.Style = Field(default_factory=tuple)
    audio: AudioSpec = Field(default_factory=AudioSpec)
    script: ReadOnlyList[Action] = Field(
        default_factory=tuple,
        description="Actions at set times or on triggers (push, release, spawn, caption, end).",
    )
    authored_by: Authorship | None = Field(
        None, description="Set by 'new --llm': the language model that wrote this file."
    )
    templates: ReadOnlyMap[Body] = Field(
        default_factory=dict, description="Body entries by name, for the script to spawn."
    )


def with_spawns(scene: Scene) -> Scene:
    """The scene with the script's spawned bodies appended (built absent, added when spawned)."""
    extra = []
    for action in scene.script:
        body = spawn_body(action.spawn, scene.templates)
        if body is not None and (action.times or 1) > 1:  # one copy a firing: name/0, name/1 …
            body = body.model_copy(
                update={"grid": Grid(columns=action.times, spacing=(0.0, 0.0))}  # type: ignore[arg-type]
            )
        if body is not None:
            extra.append(body)
    return scene.model_copy(update={"bodies": scene.bodies + tuple(extra)}) if extra else scene


def body_names(scene: Scene) -> list[list[str]]:
    """The names each entry of ``scene.bodies`` expands to, in file order.

    An unnamed entry is called '<kind>_<index>'; a grid repeats it as
    '<name>/<i>' with i zero-padded so names sort in creation order; a
    composite's parts are '<name>/<part>'. Liquids expand to no bodies at all.
    """
    result: list[list[str]] = []
    for index, body in enumerate(scene.bodies):
        base = body.name or f"{body.kind}_{index}"
        grid = getattr(body, "grid", None)
        if isinstance(body, LIQUIDS):
            result.append([])  # particles, not bodies: no rows in the Layout
        elif isinstance(body, COMPOSITES):
            result.append([f"{base}/{part}" for part in body.part_names()])
        elif grid is None:
            result.append([base])
        else:
            width = len(str(grid.count - 1))
            result.append([f"{base}/{i:0{width}d}" for i in range(grid.count)])
    return result


WALLS_NAME = "walls"


def cross_check(scene: Scene) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks that span fields: body count, unique names, known materials.

    Returns (path, message) pairs; an empty list means the scene is usable.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    total = 0
    for index, body in enumerate(scene.bodies):
        grid = getattr(body, "grid", None)
        if isinstance(body, LIQUIDS):
            continue
        if isinstance(body, COMPOSITES):
            total += len(body.part_names())
        else:
            total += grid.count if grid else 1
        if total > MAX_BODIES:
            where: tuple[str | int, ...] = ("bodies", index, "grid") if grid else ("bodies", index)
            problems.append(
                (where, f"the scene would have {total:,} bodies; the limit is {MAX_BODIES:,}")
            )
            return problems
    seen: dict[str, int] = {}
    if scene.world.walls:
        seen[WALLS_NAME] = -1
    for index, names in enumerate(body_names(scene)):
        for name in names:
            if name in seen:
                first = seen[name]
                other = "the walls" if first < 0 else f"bodies[{first}]"
                problems.append(
                    ((("bodies", index, "name")), f"name {name!r} is already used by {other}")
                )
                break
            seen[name] = index
    problems += _joint_names(scene, seen)
    known = set(PRESETS) | set(scene.materials)
    walls = scene.world.walls
    refs: list[tuple[tuple[str | int, ...], object]] = [
        (("bodies", i, "material"), body.material)
        for i, body in enumerate(scene.bodies)
        if not isinstance(body, LIQUIDS)
    ]
    if isinstance(walls, Walls):
        refs.append((("world", "walls", "material"), walls.material))
    refs += [(("script", i, "set", "material"), a.set.material)
             for i, a in enumerate(scene.script) if a.set is not None]  # fmt: skip
    for path, ref in refs:
        if isinstance(ref, str) and ref not in known:
            problems.append(
                (path, f"unknown material {ref!r}; expected one of: {', '.join(sorted(known))}")
            )
    problems += _one_resolution(scene)
    all_names = [n for names in body_names(scene) for n in names]
    problems += camera_model.cross_check(scene.camera, scene.look, all_names)
    if scene.script:
        problems += _script_names(scene, set(all_names))
    return problems


def _one_resolution(scene: Scene) -> list[tuple[tuple[str | int, ...], str]]:
    """The fluid solver has one particle spacing: every liquid entry that gives one agrees."""
    first: tuple[int, float] | None = None
    for index, body in enumerate(scene.bodies):
        if not isinstance(body, LIQUIDS) or body.resolution is None:
            continue
        if first is None:
            first = (index, body.resolution)
        elif body.resolution != first[1]:
            return [
                (
                    ("bodies", index, "resolution"),
                    f"every liquid in a scene has one resolution; bodies[{first[0]}] "
                    f"says {first[1]:g} m, this one {body.resolution:g} m",
                )
            ]
    return []


def _script_names(scene: Scene, taken: set[str]) -> list[tuple[tuple[str | int, ...], str]]:
    """Spawned names must be new; the script's references must name bodies and actions."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    total = len(taken)
    for index, action in enumerate(scene.script):
        if action.spawn is None:
            continue
        body = spawn_body(action.spawn, scene.templates)
        if body is None:
            known = ", ".join(sorted(scene.templates)) or "none are defined"
            missing = getattr(action.spawn, "template", "")
            message = f"no template is called {missing!r} (templates: {known})"
            return [(("script", index, "spawn", "template"), message)]
        if (action.times or 1) > 1 and (
            body.kind not in ("ball", "box", "polygon") or getattr(body, "grid", None) is not None
        ):
            message = "repeated spawns are for single balls, boxes and polygons"
            return [(("script", index, "spawn"), message)]
        grid = getattr(body, "grid", None)
        each = (
            len(body.part_names()) if isinstance(body, COMPOSITES) else (grid.count if grid else 1)
        )
        total += each * (action.times or 1)
        if total > MAX_BODIES:
            where = "times" if (action.times or 1) > 1 else "spawn"
            message = f"the scene would have {total:,} bodies; the limit is {MAX_BODIES:,}"
            return [(("script", index, where), message)]
    grown = with_spawns(scene)
    names = [n for names in body_names(grown) for n in names]
    spawns = iter(body_names(grown)[len(scene.bodies) :])
    for index, action in enumerate(scene.script):
        if action.spawn is not None:
            for name in next(spawns):
                if name in taken:
                    problems.append(
                        (("script", index, "spawn", "name"), f"name {name!r} is already used")
                    )
                taken.add(name)
    static = {
        n
        for body, ns in zip(grown.bodies, body_names(grown), strict=True)
        if not isinstance(body, (*COMPOSITES, *LIQUIDS)) and body.body_type == "static"
        for n in ns
    }
    duration = scene.timing.frame_count / scene.timing.fps if scene.time is None else None
    for index, action in enumerate(scene.script):
        if action.camera is not None:  # the camera's checks, located in the script
            for loc, message in camera_model.cross_check(action.camera, None, names):
                problems.append((("script", index, *loc), message))
    joints = {j.name or f"{j.kind}_{i}": j.kind for i, j in enumerate(scene.joints)}
    walkers = [b.name or f"walker_{i}" for i, b in enumerate(grown.bodies) if b.kind == "walker"]
    return problems + check_script(scene.script, names, static, duration, joints, walkers)


def _joint_names(scene: Scene, seen: dict[str, int]) -> list[tuple[tuple[str | int, ...], str]]:
    """Joints must name existing, distinct bodies; ``world`` is the fixed world."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    composites = {b.name for b in scene.bodies if isinstance(b, COMPOSITES)}
    for index, joint in enumerate(scene.joints):
        for side in ("a", "b"):
            name = getattr(joint, side)
            if name == WORLD or name in seen:
                continue
            hint = ""
            if name in composites:
                hint = f" ({name!r} is a composite: name one of its parts, e.g. '{name}/...')"
            problems.append((("joints", index, side), f"no body is called {name!r}{hint}"))
        if joint.a == WORLD:
            problems.append((("joints", index, "a"), "'a' must be a body; put 'world' in 'b'"))
        elif joint.a == joint.b:
            problems.append(
                (("joints", index, "b"), f"a joint needs two bodies; both are {joint.a!r}")
            )
    return problems


def check_convex(vertices: Sequence[tuple[float, float]]) -> None:
    """Raise ValueError unless the polygon is convex with non-zero area."""
    n = len(vertices)
    signs = set()
    area2 = 0.0
    for i in range(n):
        (x0, y0), (x1, y1), (x2, y2) = vertices[i], vertices[(i + 1) % n], vertices[(i + 2) % n]
        cross = (x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1)
        if abs(cross) > 1e-12:
            signs.add(cross > 0)
        area2 += x0 * y1 - x1 * y0
    if abs(area2) <= 1e-12:
        raise ValueError("the polygon has no area (are the vertices on one line?)")
    if len(signs) > 1:
        raise ValueError("the polygon must be convex (split a concave shape into convex ones)")


def json_schema() -> dict[str, object]:
    """The JSON Schema of a scene file, for editors and language models."""
    return Scene.model_json_schema(mode="validation")
