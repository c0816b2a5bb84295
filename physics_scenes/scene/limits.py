"""What a scene may ask of the machine: checks on the assembled scene, so that a scene
that validates also renders (instead of crashing pymunk, hanging for hours or lying).

Pure (numpy, no pymunk): ``validate`` runs them. Each check returns (field path,
message) pairs like ``model.cross_check``; the loader locates them in the file. The
thresholds were measured; see the README's list of limits and ``benchmarks/README.md``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from ..frame import CircleGeom, Geom, SegmentGeom, extent
from . import camera as cm
from . import model, water
from .assemble import assemble
from .assembly import Assembly, BodySpec
from .composites import COMPOSITES
from .water import LIQUIDS

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]

MAX_JOINTS = 20_000
"""Joints in all (composites' included): as many as bodies."""
MAX_FRAMES = 1_000_000
"""Output frames, after slow motion stretches the clip (``Timing`` allows as many before)."""
MIN_SIZE = 0.001
"""Metres: the smallest inner radius of a moving body (a ball's radius; about half a box's
shorter side). A resting body sinks about 0.15-0.2 mm into what it rests on whatever its
size (measured, default slop): 2 % of a 10 mm ball, 14 % of a 1 mm one, most of a smaller
one; and a radius of 1e-300 m gave pymunk a zero mass and an assertion."""
MIN_MASS = 1e-6
MAX_MASS = 1e9
"""kg of a moving body, from its mass or density × area. Beyond these, moments of
inertia leave the range in which Chipmunk's solver stays finite (1e308 kg gives an
infinite moment and NaN at the first step)."""
MAX_SPEED = 10_000.0
"""m/s, also the run-time guard's limit (``physics.simulate.Guard``): a body's start speed
(or its rim's, spinning) may not exceed it. Faster than any body in a scene of everyday
things (a rifle bullet flies at about 1 km/s); a body beyond it has been flung out by a
solver that lost its footing."""
MAX_OVERLAPS = 20_000
"""Pairs of moving bodies that start deeply overlapping (see ``DEEP``). Each pair is a
contact the solver pushes apart every step: 400 balls dropped on one spot (80,000 pairs)
cost 0.07 s a frame, 800 (320,000) 0.5 s, 2,000 never finished and 20,000 crashed."""
DEEP = 0.75
"""Two bodies overlap deeply when their centres are closer than this fraction of the sum
of their inner radii (a grid of touching, jittered balls does not)."""
SEED_RANGE = (0, 2**63 - 1)
MAX_PARTICLES = 20_000
"""Liquid particles in a scene at once (regions plus everything its emitters pour).
Measured on the 2-core development machine: about 1000 particles cost 3-5 ms a step
(12-20 ms a frame at 4 substeps); 20,000 would take about a second per video frame."""


def check_limits(scene: model.Scene, assembly: Assembly | None = None) -> Problems:
    """Every limit the scene exceeds, as (field path, message) pairs."""
    assembly = assemble(scene) if assembly is None else assembly
    problems = _frames(scene)
    problems += _seed(scene)
    problems += _text(scene)
    problems += _joints(scene, assembly)
    problems += _bodies(scene, assembly)
    problems += _overlaps(scene, assembly)
    return problems


def check_particles(scene: model.Scene) -> Problems:
    """The liquids' particle count, estimated before any particle is made (a region's grid
    cells, an emitter's mass over its open time): a huge pool is an error, not a hang."""
    entries = [(i, b) for i, b in enumerate(scene.bodies) if isinstance(b, LIQUIDS)]
    if not entries:
        return []
    liquids = [b for _, b in entries]
    spacing = water.spacing_of(liquids)
    duration = scene.timing.frame_count / scene.timing.fps
    total = 0.0
    for (index, entry), count in zip(
        entries, water.estimate_particles(liquids, duration), strict=True
    ):
        total += count
        if total > MAX_PARTICLES:
            field = "rate" if isinstance(entry, water.Emitter) else "resolution"
            return [
                (
                    ("bodies", index, field),
                    f"the liquids would need about {total:,.0f} particles at a resolution of "
                    f"{spacing:g} m; the limit is {MAX_PARTICLES:,} (make the region smaller, "
                    "the resolution coarser or the flow shorter)",
                )
            ]
    return []


def video_frames_bound(scene: model.Scene) -> int:
    """An upper bound of the output frames after the time remap (exact without ramps):
    a ramp's rate lies between 1 and its segment's rate."""
    _, time, _ = cm.resolve(scene.camera, scene.time, scene.look, scene.style, None)
    timing = scene.timing
    sim_end = timing.frame_count / timing.fps
    video = sim_end
    if time is not None:
        for seg in time.segments:
            low, high = max(0.0, seg.start - seg.ramp), min(sim_end, seg.end + seg.ramp)
            if high > low:
                video += (high - low) * (1 / min(seg.rate, 1.0) - 1)
    return max(1, math.ceil(video * timing.fps - 1e-9))


def check_overrides(scene: model.Scene) -> Problems:
    """The limits on what the command line may change (seed, fps, duration): for a scene
    copied with new values, which no validator saw."""
    return _frames(scene) + _seed(scene)


def _frames(scene: model.Scene) -> Problems:
    frames = video_frames_bound(scene)
    if frames <= MAX_FRAMES:
        return []
    where: Loc = ("time",) if scene.time is not None else ("style",)
    return [
        (
            where,
            f"slow motion stretches the clip to {frames:,} frames; the limit is {MAX_FRAMES:,} "
            "(shorten the clip, the slow part or the fps)",
        )
    ]


def _seed(scene: model.Scene) -> Problems:
    low, high = SEED_RANGE
    if low <= scene.seed <= high:
        return []
    return [(("seed",), f"the seed must be between {low} and {high:,} (got {scene.seed})")]


def _strings(value: object, path: Loc) -> Iterator[tuple[Loc, str, bool]]:
    """(path, text, is a mapping key) for every string in a dumped scene."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield path, key, True
            yield from _strings(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _opaque(value: object) -> None:
    """What ``_strings`` does not look into (neither a string, a mapping nor a list)."""
    return None


def _text(scene: model.Scene) -> Problems:
    """Every name and text must be writable as UTF-8: a lone surrogate (YAML's "\\ud800")
    validates as a Python string but no output file can hold it."""
    dump = scene.model_dump()
    try:  # one C pass first: no surrogate anywhere (the usual case) needs no walk
        json.dumps(dump, ensure_ascii=False, check_circular=False, default=_opaque).encode()
        return []
    except (TypeError, ValueError, UnicodeEncodeError):  # the walk says where
        pass
    problems: Problems = []
    for loc, text, key in _strings(dump, ()):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            what = f"the key {text!a}" if key else ascii(text)
            problems.append(
                (
                    loc,
                    f"{what} holds a lone surrogate (U+{ord(text[error.start]):04X}), which no "
                    "output file can hold: write the character itself",
                )
            )
    return problems


def _entries(scene: model.Scene) -> dict[str, int]:
    """Body name → index of the ``bodies:`` entry it comes from."""
    return {name: i for i, names in enumerate(model.body_names(scene)) for name in names}


def _joints(scene: model.Scene, assembly: Assembly) -> Problems:
    joints = assembly.joints
    if len(joints) > MAX_JOINTS:
        return [((), f"the scene would have {len(joints):,} joints; the limit is {MAX_JOINTS:,}")]
    kinds = {spec.name: spec.body_type for spec in assembly.bodies}
    entries = _entries(scene)
    first_own = len(joints) - len(scene.joints)  # the ``joints:`` section comes last
    problems: Problems = []
    reported: set[int] = set()
    for k, joint in enumerate(joints):
        ends = [kinds[joint.a], "static" if joint.b is None else kinds[joint.b]]
        if "dynamic" in ends:
            continue
        if k >= first_own:
            other = "is the world" if joint.b is None else f"({joint.b!r}) is {ends[1]}"
            problems.append(
                (
                    ("joints", k - first_own),
                    f"a joint needs a moving (dynamic) body; {joint.a!r} is {ends[0]} and "
                    f"the other end {other}",
                )
            )
        elif (entry := entries[joint.a]) not in reported:
            reported.add(entry)
            problems.append(
                (
                    ("bodies", entry, "body_type"),
                    "the parts of a composite are joined: it must be dynamic",
                )
            )
    return problems


def inner_circle(geom: Geom) -> tuple[tuple[float, float], float]:
    """A circle inside the shape (body coordinates): (centre, radius)."""
    if isinstance(geom, CircleGeom):
        return geom.offset, geom.radius
    if isinstance(geom, SegmentGeom):
        (ax, ay), (bx, by) = geom.a, geom.b
        return ((ax + bx) / 2, (ay + by) / 2), geom.radius
    vertices = geom.vertices
    cx = sum(x for x, _ in vertices) / len(vertices)
    cy = sum(y for _, y in vertices) / len(vertices)
    distances = []
    for (x0, y0), (x1, y1) in zip(vertices, (*vertices[1:], vertices[0]), strict=True):
        length = math.hypot(x1 - x0, y1 - y0)
        if length > 0:
            distances.append(abs((x1 - x0) * (y0 - cy) - (y1 - y0) * (x0 - cx)) / length)
    return (cx, cy), min(distances, default=0.0)


def area(geom: Geom) -> float:
    """The shape's area in m² (as pymunk computes it)."""
    if isinstance(geom, CircleGeom):
        return math.pi * geom.radius**2
    if isinstance(geom, SegmentGeom):
        return 2 * geom.radius * math.dist(geom.a, geom.b) + math.pi * geom.radius**2
    vertices = geom.vertices
    pairs = zip(vertices, (*vertices[1:], vertices[0]), strict=True)
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairs)) / 2


def body_mass(spec: BodySpec) -> float:
    """A dynamic body's mass: its override, or density × area."""
    return spec.mass if spec.mass else spec.material.density * sum(map(area, spec.shapes))


def _bodies(scene: model.Scene, assembly: Assembly) -> Problems:
    """Sizes, masses and start speeds of moving bodies; one problem per entry at most."""
    entries = _entries(scene)
    problems: Problems = []
    reported: set[int] = set()
    for spec in assembly.bodies:
        if spec.body_type == "static" or spec.name not in entries:
            continue
        index = entries[spec.name]
        if index in reported:
            continue
        found = _body_problem(scene.bodies[index], spec)
        if found is not None:
            reported.add(index)
            problems.append((("bodies", index, *found[0]), found[1]))
    return problems


def _body_problem(entry: model.Body, spec: BodySpec) -> tuple[Loc, str] | None:
    part = f"part {spec.name!r}: " if isinstance(entry, COMPOSITES) else ""
    speed = math.hypot(*spec.velocity)
    if speed > MAX_SPEED:
        return ("velocity",), f"{speed:.3g} m/s is faster than the limit of {MAX_SPEED:g} m/s"
    rim = abs(spec.angular_velocity) * extent(spec.shapes)
    if rim > MAX_SPEED:
        return ("angular_velocity",), (
            f"its rim would move at {rim:.3g} m/s; the limit is {MAX_SPEED:g} m/s"
        )
    if spec.body_type != "dynamic":
        return None
    inner = max(inner_circle(geom)[1] for geom in spec.shapes)
    if inner < MIN_SIZE:
        field = {"ball": "radius", "box": "size", "polygon": "vertices", "segment": "thickness"}
        return (field.get(entry.kind, "size"),), (
            f"{part}a moving body must be at least {MIN_SIZE * 1000:g} mm across its middle "
            f"(a ball's radius; half a box's shorter side); this one is "
            f"{inner * 1000:.3g} mm"
        )
    mass = body_mass(spec)
    if not MIN_MASS <= mass <= MAX_MASS:
        given = getattr(entry, "mass", None) is not None
        material = getattr(entry, "material", None)
        loc: Loc = ("mass",) if given else ("material",) if material is not None else ()
        source = "" if given else " (its density × area)"
        return loc, (
            f"{part}a moving body's mass{source} must be between {MIN_MASS:g} and "
            f"{MAX_MASS:g} kg; this one is {mass:.3g} kg"
        )
    return None


def _overlaps(scene: model.Scene, assembly: Assembly) -> Problems:
    moving = [spec for spec in assembly.bodies if spec.body_type == "dynamic"]
    if len(moving) * (len(moving) - 1) // 2 <= MAX_OVERLAPS:
        return []  # each pair counts once: too few pairs to pass the limit (a dataset's items)
    centres = np.empty((len(moving), 2))
    radii = np.empty(len(moving))
    for row, spec in enumerate(moving):
        (cx, cy), r = max((inner_circle(g) for g in spec.shapes), key=lambda c: c[1])
        c, s = math.cos(spec.angle), math.sin(spec.angle)
        centres[row] = (spec.position[0] + cx * c - cy * s, spec.position[1] + cx * s + cy * c)
        radii[row] = r
    groups = np.array([spec.group for spec in moving], dtype=np.int64)
    count, row = deep_overlaps(centres, radii, groups, MAX_OVERLAPS)
    if count <= MAX_OVERLAPS:
        return []
    return [
        (
            ("bodies", _entries(scene).get(moving[row].name, 0)),
            f"more than {MAX_OVERLAPS:,} pairs of moving bodies start overlapping deeply "
            "(piled on one spot); the solver would take hours to push them apart: spread them "
            "out (a grid's spacing at least the bodies' size)",
        )
    ]


def deep_overlaps(
    centres: npt.NDArray[np.float64],
    radii: npt.NDArray[np.float64],
    groups: npt.NDArray[np.int64],
    limit: int,
) -> tuple[int, int]:
    """Pairs whose circles overlap deeply (centres closer than ``DEEP`` × the sum of radii),
    not counting pairs in one non-zero group; counting stops once past ``limit``.
    Returns the count and a row in one of the pairs (-1 if none).

    Each pair is looked for from its larger circle, in a window ±2 radii wide along the
    axis on which the windows hold fewer candidates: the work is about the number of
    near neighbours, not the square of the bodies.
    """
    best: tuple[int, npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]] | None
    best = None
    for axis in (0, 1):
        order = np.argsort(centres[:, axis], kind="stable")
        keys = centres[order, axis]
        lo = np.searchsorted(keys, centres[:, axis] - 2 * radii, side="left")
        hi = np.searchsorted(keys, centres[:, axis] + 2 * radii, side="right")
        work = int((hi - lo).sum())
        if best is None or work < best[0]:
            best = (work, order, lo, hi)
    assert best is not None
    _, order, lo, hi = best
    found, row = 0, -1
    for i, j in _candidates(order, lo, hi):
        bigger = (radii[i] > radii[j]) | ((radii[i] == radii[j]) & (i < j))
        apart = groups[i] != groups[j]
        apart |= groups[i] == 0
        d = np.hypot(*(centres[i] - centres[j]).T)
        deep = np.flatnonzero(bigger & apart & (d < DEEP * (radii[i] + radii[j])))
        if row < 0 and len(deep):
            row = int(i[deep[0]])
        found += len(deep)
        if found > limit:
            break
    return found, row


def _candidates(
    order: npt.NDArray[np.intp],
    lo: npt.NDArray[np.intp],
    hi: npt.NDArray[np.intp],
    chunk: int = 1 << 20,
) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    """(i, j) index arrays of every body i against its window of sorted positions, about
    ``chunk`` pairs at a time."""
    sizes = hi - lo
    start = 0
    n = len(sizes)
    while start < n:
        stop = start + 1
        total = int(sizes[start])
        while stop < n and total + int(sizes[stop]) <= chunk:
            total += int(sizes[stop])
            stop += 1
        rows = np.arange(start, stop)
        counts = sizes[start:stop]
        i = np.repeat(rows, counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        j = order[np.repeat(lo[start:stop], counts) + offsets]
        yield i, j
        start = stop
