"""Clips with known truth for the probe: our own simulation drawn by our own renderer,
and the same clips deliberately broken (the positions or the drawn shapes edited from
one frame on), each with the frame where the violation begins.

Shared by tests/test_probe*.py and benchmarks/probe_validation.py.
"""

from __future__ import annotations

import dataclasses
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from physics_scenes.frame import CircleGeom, Frame, Layout
from physics_scenes.physics.simulate import simulate
from physics_scenes.picture.renderer import Renderer
from physics_scenes.picture.view import View
from physics_scenes.scene.loader import parse_scene

PALETTE = ["#e03030", "#3060e0", "#30c040", "#e0d030", "#c040d0", "#30d0d0", "#f08020"]


@dataclass
class Truth:
    """What the probe should find: per body row its pixel path, the gravity in px/s²
    (y down), each floor bounce (row, frame, restitution) and the violation if broken."""

    fps: float
    matrix: np.ndarray
    pixels: np.ndarray
    """(frames, bodies, 2) pixel positions of every body."""
    rows: list[int]
    """The dynamic bodies' rows."""
    gravity_px: float
    bounces: list[tuple[int, int, float]] = field(default_factory=list)
    violation: tuple[str, int, int] | None = None
    """(kind, first frame, last acceptable frame)."""
    angles: np.ndarray | None = None
    """(frames, bodies) the angles drawn, radians counter-clockwise."""


def scene_text(
    balls: list[dict[str, object]],
    duration: float,
    fps: int,
    gravity: float = 9.81,
    walls: bool = False,
) -> str:
    """A scene of balls over a floor in a 16 × 9 m world."""
    lines = [
        "name: probe truth",
        "seed: 1",
        f"world: {{size: [16, 9], background: '#14161c', gravity: [0, {-gravity}], "
        f"walls: {str(walls).lower()}}}",
        f"timing: {{duration: {duration}, fps: {fps}, substeps: 8}}",
        "bodies:",
        "  - {kind: floor, name: floor, y: 0.6}",
    ]
    for i, ball in enumerate(balls):
        e = ball.get("e", 0.7)
        lines.append(
            f"  - {{kind: ball, name: b{i}, position: {list(ball['p'])}, radius: {ball['r']}, "
            f"velocity: {list(ball['v'])}, color: '{ball['c']}', "
            + (f"angular_velocity: {ball['w']}, " if "w" in ball else "")
            + f"material: {{density: 500, friction: 0.0, elasticity: {e}}}}}"
        )
    return "\n".join(lines) + "\n"


Edit = Callable[[list[Frame], Layout], tuple[list[Frame], list[Layout], tuple[str, int, int]]]
"""Frames and layout → edited frames, one layout per frame, the violation."""


def make(
    text: str, width: int, height: int, edit: Edit | None = None
) -> tuple[list[np.ndarray], Truth]:
    """Simulate, optionally edit, draw: BGR frames and the truth."""
    scene = parse_scene(text)
    layout, stream = simulate(scene)
    frames = list(stream)
    layouts = [layout] * len(frames)
    violation = None
    if edit is not None:
        frames, layouts, violation = edit(frames, layout)
    view = View.of_layout(layout, width, height)
    renderers: dict[int, Renderer] = {}
    images = []
    for frame, lay in zip(frames, layouts, strict=True):
        renderer = renderers.setdefault(id(lay), Renderer(lay, width, height))
        images.append(cv2.cvtColor(renderer.render(frame, view).rgb(), cv2.COLOR_RGB2BGR))
    matrix = np.array(view.matrix())
    positions = np.array([f.position for f in frames])
    pixels = positions @ matrix[:, :2].T + matrix[:, 2]
    rows = [i for i, b in enumerate(layout.bodies) if b.body_type == "dynamic"]
    g = abs(scene.world.gravity[1]) * view.scale
    angles = np.array([f.angle for f in frames])
    truth = Truth(
        float(scene.timing.fps), matrix, pixels, rows, g, violation=violation, angles=angles
    )
    if edit is None:
        truth.bounces = floor_bounces(frames, layout, scene.world.gravity[1])
    return images, truth


def floor_bounces(frames: list[Frame], layout: Layout, g: float) -> list[tuple[int, int, float]]:
    """Every ball–floor bounce faster than 1 m/s: the velocities at the frames on either
    side carried by gravity to the contact's time, their normal parts' ratio."""
    floor = next((b.name for b in layout.bodies if b.kind == "floor"), None)
    if floor is None:  # (walls only: their bounces are not ``floor`` events)
        return []
    rows = {b.name: i for i, b in enumerate(layout.bodies)}
    gravity = np.array([0.0, g])
    found = []
    for k in range(len(frames) - 1):
        for event in frames[k + 1].events:
            if event.kind != "begin" or floor not in (event.a, event.b):
                continue
            row = rows[event.b if event.a == floor else event.a]
            before, after = frames[k], frames[k + 1]
            normal = np.array([0.0, 1.0])
            v_in = before.velocity[row] + gravity * (event.time - before.time)
            v_out = after.velocity[row] - gravity * (after.time - event.time)
            incoming = -float(v_in @ normal)
            if incoming > 1.0:
                found.append((row, k + 1, float(v_out @ normal) / incoming))
    return found


def _moved(frames: list[Frame], k: int, change: Callable[[Frame], np.ndarray]) -> list[Frame]:
    return [
        f if i < k else dataclasses.replace(f, position=change(f)) for i, f in enumerate(frames)
    ]


def teleport(
    row: int, k: int, shift: tuple[float, float], within: tuple[float, float] | None = None
) -> Edit:
    """From frame ``k`` ball ``row`` is ``shift`` metres away; with ``within`` (x range,
    m) the sideways shift is turned round when it would land outside (beyond a wall or
    the picture a teleport shows as a vanish) or on another ball (a teleport into a
    body is a pass-through too), if the other way is clear."""

    def edit(frames: list[Frame], layout: Layout):  # type: ignore[no-untyped-def]
        dx, dy = shift
        if within is not None:
            at = frames[k].position

            def clear(x: float) -> bool:
                spot = at[row] + (x, dy)
                inside = within[0] <= spot[0] <= within[1]
                gaps = [
                    float(np.hypot(*(spot - at[i]))) - _radius(layout, i) - _radius(layout, row)
                    for i, b in enumerate(layout.bodies)
                    if i != row and b.kind == "ball"
                ]
                return inside and min(gaps, default=1.0) > 0.2

            if not clear(dx) and clear(-dx):
                dx = -dx

        def change(f: Frame) -> np.ndarray:
            p = f.position.copy()
            p[row] += (dx, dy)
            return p

        return _moved(frames, k, change), [layout] * len(frames), ("teleport", k, k + 1)

    return edit


def _radius(layout: Layout, row: int) -> float:
    shape = layout.bodies[row].shapes[0]
    return shape.radius if isinstance(shape, CircleGeom) else 0.0


def vanish(row: int, k: int) -> Edit:
    def edit(frames: list[Frame], layout: Layout):  # type: ignore[no-untyped-def]
        def change(f: Frame) -> np.ndarray:
            p = f.position.copy()
            p[row] = (-1000.0, -1000.0)
            return p

        return _moved(frames, k, change), [layout] * len(frames), ("vanish", k, k + 1)

    return edit


def resize(row: int, k: int, factor: float) -> Edit:
    def edit(frames: list[Frame], layout: Layout):  # type: ignore[no-untyped-def]
        body = layout.bodies[row]
        shape = body.shapes[0]
        assert isinstance(shape, CircleGeom)
        bigger = dataclasses.replace(body, shapes=(CircleGeom(shape.radius * factor),))
        bodies = tuple(bigger if i == row else b for i, b in enumerate(layout.bodies))
        other = dataclasses.replace(layout, bodies=bodies)
        layouts = [layout if i < k else other for i in range(len(frames))]
        return frames, layouts, ("size", k, k + 1)

    return edit


def spin_jump(row: int, k: int, extra: float) -> Edit:
    """From frame ``k`` ball ``row`` turns ``extra`` rad/s faster (in free flight,
    nothing could do that)."""

    def edit(frames: list[Frame], layout: Layout):  # type: ignore[no-untyped-def]
        t0 = frames[k].time
        out = []
        for i, f in enumerate(frames):
            if i >= k:
                angle = f.angle.copy()
                angle[row] += extra * (f.time - t0)
                f = dataclasses.replace(f, angle=angle)
            out.append(f)
        return out, [layout] * len(frames), ("spin", k, k + 1)

    return edit


def _ballistic(
    frames: list[Frame],
    rows: list[int],
    k: int,
    g: float,
    start: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> list[Frame]:
    """Frames from ``k`` on with ``rows`` in free flight under ``g`` (m/s², y up) from
    frame k's state (or ``start``: time, positions, velocities)."""
    t0, p0, v0 = start or (frames[k].time, frames[k].position[rows], frames[k].velocity[rows])
    out = list(frames[:k])
    for f in frames[k:]:
        t = f.time - t0
        p = f.position.copy()
        p[rows] = p0 + v0 * t + 0.5 * np.array([0.0, g]) * t**2
        out.append(dataclasses.replace(f, position=p))
    return out


def gravity_switch(k: int, factor: float) -> Edit:
    def edit(frames: list[Frame], layout: Layout):  # type: ignore[no-untyped-def]
        rows = [i for i, b in enumerate(layout.bodies) if b.body_type == "dynamic"]
        out = _ballistic(frames, rows, k, -9.81 * factor)
        return out, [layout] * len(frames), ("gravity", k - 2, k + 2)

    return edit


def bounce_gain(row: int, gain: float) -> Edit:
    """The first floor bounce of ``row`` returns ``gain`` times the speed it brought."""

    def edit(frames: list[Frame], layout: Layout):  # type: ignore[no-untyped-def]
        floor = next(b.name for b in layout.bodies if b.kind == "floor")
        name = layout.bodies[row].name
        for k in range(1, len(frames)):
            hits = [
                e for e in frames[k].events if e.kind == "begin" and {e.a, e.b} == {name, floor}
            ]
            if hits:
                break
        else:
            raise AssertionError("no bounce")
        before = frames[k - 1]
        t_c = hits[0].time
        v_in = before.velocity[row] + np.array([0.0, -9.81]) * (t_c - before.time)
        p_c = (
            before.position[row]
            + before.velocity[row] * (t_c - before.time)
            + 0.5 * np.array([0.0, -9.81]) * (t_c - before.time) ** 2
        )
        v_out = np.array([v_in[0], -gain * v_in[1]])
        out = _ballistic(frames, [row], k, -9.81, (t_c, p_c[None], v_out[None]))
        return out, [layout] * len(frames), ("restitution", k - 1, k + 1)

    return edit


def pass_through(rows: list[int], k_touch: Callable[[list[Frame]], int]) -> Edit:
    """``rows`` fly on from the start as if the other were not there."""

    def edit(frames: list[Frame], layout: Layout):  # type: ignore[no-untyped-def]
        out = _ballistic(frames, rows, 0, -9.81)
        k = k_touch(out)
        return out, [layout] * len(frames), ("overlap", k, k + 6)

    return edit


def merge(rows: tuple[int, int], k_touch: Callable[[list[Frame]], int]) -> Edit:
    """``rows`` fly as if alone until they touch, then go on as one ball of their two
    areas at their midpoint with their mean velocity (momentum kept, like two drops).
    Played backwards, the clip shows one ball splitting in two."""

    def edit(frames: list[Frame], layout: Layout):  # type: ignore[no-untyped-def]
        a, b = rows
        alone = _ballistic(frames, list(rows), 0, -9.81)
        k = k_touch(alone)
        f = alone[k]
        start = (
            f.time,
            (0.5 * (f.position[a] + f.position[b]))[None],
            (0.5 * (f.velocity[a] + f.velocity[b]))[None],
        )
        out = _ballistic(alone, [a], k, -9.81, start)
        out = [
            g if i < k else dataclasses.replace(g, position=_away(g.position, b))
            for i, g in enumerate(out)
        ]
        body = layout.bodies[a]
        shape = body.shapes[0]
        assert isinstance(shape, CircleGeom)
        joined = dataclasses.replace(body, shapes=(CircleGeom(shape.radius * 2**0.5),))
        bodies = tuple(joined if i == a else x for i, x in enumerate(layout.bodies))
        after = dataclasses.replace(layout, bodies=bodies)
        layouts = [layout if i < k else after for i in range(len(frames))]
        return out, layouts, ("merge", k, k + 3)

    return edit


def _away(position: np.ndarray, row: int) -> np.ndarray:
    p = position.copy()
    p[row] = (-1000.0, -1000.0)
    return p


def write_png_folder(images: list[np.ndarray], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i:05d}.png"), image)
    return folder


def write_video(
    images: list[np.ndarray],
    path: Path,
    fps: float,
    crf: int = 18,
    scale: float = 1.0,
    noise: float = 0.0,
    seed: int = 0,
) -> Path:
    """H.264 at ``crf`` through the ffmpeg we ship, optionally resized and with noise."""
    rng = np.random.default_rng(seed)
    h, w = images[0].shape[:2]
    size = (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2)
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    cmd = [
        exe,
        "-v",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{size[0]}x{size[1]}",
        "-r",
        str(fps),
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        "-preset",
        "veryfast",
        str(path),
    ]
    raw = bytearray()
    for image in images:
        if size != (w, h):
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if noise:
            image = np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
        raw += image.tobytes()
    subprocess.run(cmd, input=bytes(raw), check=True)
    return path


def random_balls(seed: int, count: int | None = None) -> list[dict[str, object]]:
    """Balls spread over the world, launched in random directions, distinct colours."""
    rng = random.Random(seed)
    n = count or rng.randint(1, 3)
    colors = rng.sample(PALETTE, n)
    slots = rng.sample(range(n * 2), n)
    # spin (deg/s) from a generator of its own, so the rest stays as it was; frictionless
    # balls keep it through every bounce
    turn = random.Random(1000 + seed)
    spins = [round(turn.choice([-1, 1]) * turn.uniform(60, 720)) for _ in range(n)]
    return [
        {
            "p": [round(1.5 + (13 / (2 * n)) * (s + 0.5), 2), round(rng.uniform(4.5, 7.5), 2)],
            "r": round(rng.uniform(0.35, 0.6), 2),
            "v": [round(rng.uniform(-1.5, 1.5), 2), round(rng.uniform(-1, 3), 2)],
            "c": colors[i],
            "e": round(rng.uniform(0.4, 0.9), 2),
            "w": spins[i],
        }
        for i, s in enumerate(slots)
    ]


RAMP = (1.0, 5.5, 14.0, 0.6)
"""A ramp from (1, 5.5) down to (14, 0.6) m: 20.65° below horizontal."""


def ramp_text(duration: float = 2.0) -> str:
    """Two frictionless balls released just above the ramp (they slide down it at
    g·sin θ) and one thrown from the right that lands on it."""
    balls = [
        {"p": [2.5, 5.9], "r": 0.35, "v": [0, 0], "c": PALETTE[0], "e": 0.2},
        {"p": [6.0, 4.55], "r": 0.3, "v": [0, 0], "c": PALETTE[1], "e": 0.2},
        {"p": [12.0, 7.5], "r": 0.4, "v": [-1.0, 3.0], "c": PALETTE[2], "e": 0.6},
    ]
    x0, y0, x1, y1 = RAMP
    floor = "  - {kind: floor, name: floor, y: 0.6}\n"
    ramp = f"  - {{kind: ramp, name: ramp, a: [{x0}, {y0}], b: [{x1}, {y1}], material: stone}}\n"
    return scene_text(balls, duration, 30).replace(floor, floor + ramp)


CROWD_COLORS = [*PALETTE, "#f0f0f0", "#a0a0a0", "#ff80c0"]


def crowd_balls(seed: int, count: int = 20) -> list[dict[str, object]]:
    """A crowd: ``count`` balls in two rows 1.4 m apart, thrown in random directions, that
    collide, pile up on the floor and roll against each other (use with walls). Colours
    repeat every ten balls."""
    rng = random.Random(seed)
    return [
        {
            "p": [
                round(1.0 + 1.4 * (i % 10) + rng.uniform(-0.2, 0.2), 2),
                round(3.5 + 2.2 * (i // 10) + rng.uniform(-0.3, 0.3), 2),
            ],
            "r": round(rng.uniform(0.25, 0.4), 2),
            "v": [round(rng.uniform(-3, 3), 2), round(rng.uniform(-1, 4), 2)],
            "c": CROWD_COLORS[i % 10],
            "e": round(rng.uniform(0.5, 0.9), 2),
        }
        for i in range(count)
    ]


SHARED_COLORS = CROWD_COLORS


def shared_colors_text(seconds: float, fps: int = 60) -> str:
    """Twenty rubber balls of 0.3 m in two rows thrown across a 16 × 9 m box, two of
    each colour (``benchmarks/probe_speed.py``'s clip): colour does not tell them apart,
    only their motion does; they knock each other upwards and pass in front of each
    other in piles."""
    lines = [
        "name: twenty balls",
        "seed: 1",
        "world: {size: [16, 9], background: '#14161c', walls: true}",
        f"timing: {{duration: {seconds}, fps: {fps}, substeps: 4}}",
        "bodies:",
    ]
    for i in range(20):
        x, y = 1.2 + 0.7 * (i % 10) * 2, 4.5 + 2.5 * (i // 10)
        v = [(-1) ** i * (1.5 + 0.2 * i), 1.0 + 0.3 * (i % 7)]
        lines.append(
            f"  - {{kind: ball, name: b{i}, position: [{x:.2f}, {y:.2f}], radius: 0.3, "
            f"velocity: {v}, color: '{SHARED_COLORS[i % 10]}', material: rubber}}"
        )
    return "\n".join(lines) + "\n"


def match(tracks: list[tuple[np.ndarray, np.ndarray]], truth: Truth) -> dict[int, int]:
    """Track index → body row, by the smallest mean pixel distance over shared frames."""
    result = {}
    for i, (frames, xy) in enumerate(tracks):
        best, row = np.inf, -1
        for r in truth.rows:
            d = float(np.mean(np.hypot(*(truth.pixels[frames, r] - xy).T)))
            if d < best:
                best, row = d, r
        result[i] = row
    return result
