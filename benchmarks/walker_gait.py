"""Measure the walker's gait from the Frame stream only: does it look like walking?

Per target speed on flat ground (and up and down the 10° hill) it reports the
average speed, step length, cadence, torso tilt, lowest hip height, the peak
ground force in body weights (from the change of total momentum), and the foot
slide: how far the feet travel horizontally while standing on the ground, as a
share of the distance walked. A person's stance foot does not slide at all.

    nice -n 19 python benchmarks/walker_gait.py            # flat ground and hill
    nice -n 19 python benchmarks/walker_gait.py --flat 1.0 # one speed only
    nice -n 19 python benchmarks/walker_gait.py --sheet 1.5 /tmp/gait.png
        # a contact sheet: one gait cycle at 1.5 m/s after 10 s, 12 pictures and a strobe
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from physics_scenes import parse_scene, simulate
from physics_scenes.frame import CircleGeom, Frame, PolyGeom, SegmentGeom
from physics_scenes.physics.measure import foot_slide, ground_force

FLAT = """
world: {{size: [40, 4], origin: [-2, -0.5]}}
timing: {{duration: {duration}, fps: 60, substeps: 4}}
bodies:
  - {{kind: floor, name: ground, y: 0}}
  - {{kind: walker, name: w, position: [0, 0], speed: {speed}, direction: right}}
"""

HILL = """
world: {{size: [16, 9], origin: [-2, -1.5]}}
timing: {{duration: {duration}, fps: 60, substeps: 4}}
bodies:
  - {{kind: floor, name: ground, y: 0}}
  - {{kind: ramp, name: uphill, a: [2, 0], b: [7, 0.8816]}}
  - {{kind: box, name: top, body_type: static, position: [7.5, 0.4408], size: [1.0, 0.8816],
      material: ground}}
  - {{kind: ramp, name: downhill, a: [8, 0.8816], b: [13, 0]}}
  - {{kind: walker, name: w, position: [0, 0], speed: {speed}, direction: right}}
"""


def flat_ground(x: np.ndarray) -> np.ndarray:
    return np.zeros_like(x)


def hill_ground(x: np.ndarray) -> np.ndarray:
    return np.interp(x, [2, 7, 8, 13], [0, 0.8816, 0.8816, 0])


@dataclass(frozen=True)
class Gait:
    """What one walk measured."""

    speed: float
    distance: float
    step_length: float
    cadence: float
    max_tilt: float
    min_hip: float
    peak_force: float
    slide: float
    fell: bool
    bounces: int

    def row(self, label: str) -> str:
        return (
            f"{label:>14} {self.speed:6.2f} {self.step_length:6.2f} {self.cadence:6.0f}"
            f" {100 * self.slide:7.1f} {self.max_tilt:6.1f} {self.min_hip:6.2f}"
            f" {self.peak_force:6.1f} {self.bounces:7d} {'FELL' if self.fell else ''}"
        )


HEADER = (
    f"{'':>14} {'m/s':>6} {'step':>6} {'/min':>6} {'slide%':>7} {'tilt°':>6} {'hip':>6}"
    f" {'Fmax':>6} {'bounces':>7}"
)


def measure(text: str, ground: Callable[[np.ndarray], np.ndarray] = flat_ground) -> Gait:
    layout, stream = simulate(parse_scene(text))
    frames = list(stream)
    torso = layout.index("w/torso")
    feet = [layout.index("w/foot_left"), layout.index("w/foot_right")]
    rows = [i for i, b in enumerate(layout.bodies) if b.name.startswith("w/")]
    x = np.array([f.position[torso, 0] for f in frames])
    hip = np.array([f.position[torso, 1] for f in frames]) - ground(x)
    tilt = np.degrees(np.abs([f.angle[torso] for f in frames]))
    time = frames[-1].time - frames[0].time
    distance = x[-1] - x[0]
    landings = [e.a for f in frames for e in f.events if e.kind == "foot"]
    # a step is a landing of the other foot; a foot landing again (a bounce) is not
    steps = sum(1 for i, foot in enumerate(landings) if i == 0 or foot != landings[i - 1])
    force = ground_force(layout, frames, rows)
    settled = np.array([f.time for f in frames[1:]]) > 1.0
    slide = sum(foot_slide(layout, frames, row, ground) for row in feet)
    return Gait(
        speed=distance / time,
        distance=distance,
        step_length=distance / max(1, steps),
        cadence=60 * steps / time,
        bounces=len(landings) - steps,
        max_tilt=float(tilt.max()),
        min_hip=float(hip.min()),
        peak_force=float(force[settled].max()),
        slide=slide / max(distance, 1e-9),
        fell=bool(hip.min() < 0.5),
    )


def _placer(
    position: np.ndarray, angle: float, ox: float, oy: float, scale: float
) -> Callable[[tuple[float, float]], tuple[float, float]]:
    """A body's local point (m) to the sheet's pixels."""
    cos, sin = math.cos(angle), math.sin(angle)

    def at(p: tuple[float, float]) -> tuple[float, float]:
        x = position[0] + cos * p[0] - sin * p[1]
        y = position[1] + sin * p[0] + cos * p[1]
        return ox + x * scale, oy - y * scale

    return at


def contact_sheet(speed: float, path: str, start: float = 10.0, pictures: int = 12) -> None:
    """Draw one gait cycle on flat ground (a landing of the left foot to its next), from
    ``start`` s: ``pictures`` pictures centred on the hip (ticks every 0.25 m on the
    ground, a red line through the hip) and below them a strobe of two cycles in the
    world with the landings marked (left red, right blue). Saved as PNG."""
    import os

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    text = FLAT.format(duration=start + 3, speed=speed).replace(
        "fps: 60, substeps: 4", "fps: 120, substeps: 2"
    )
    layout, stream = simulate(parse_scene(text))
    frames = list(stream)
    torso = layout.index("w/torso")
    lands = [
        (f.index, e.a) for f in frames if f.time >= start for e in f.events if e.kind == "foot"
    ]
    first = next(i for i, (_, foot) in enumerate(lands) if foot.endswith("left"))
    begin, end, right = lands[first][0], None, False
    for index, foot in lands[first + 1 :]:
        right = right or foot.endswith("right")
        if right and foot.endswith("left"):
            end = index
            break
    end = end or begin + 120
    rows = sorted(
        (i for i, b in enumerate(layout.bodies) if b.name.startswith("w/")),
        key=lambda r: ("left" not in layout.bodies[r].name, "torso" not in layout.bodies[r].name),
    )
    scale, width, height, columns = 180, 288, 360, 6
    lines = math.ceil(pictures / columns)
    sheet = pygame.Surface((columns * width, lines * height + 2.3 * scale))
    sheet.fill((255, 255, 255))
    pygame.font.init()
    font = pygame.font.Font(None, 20)

    def body(frame: Frame, ox: float, oy: float, fade: float = 1.0) -> None:
        for row in rows:
            info = layout.bodies[row]
            at = _placer(frame.position[row], frame.angle[row], ox, oy, scale)
            color = tuple(round(255 - (255 - c) * fade) for c in info.color)

            for shape in info.shapes:
                if isinstance(shape, SegmentGeom):
                    r = shape.radius * scale
                    pygame.draw.line(sheet, color, at(shape.a), at(shape.b), max(1, round(2 * r)))
                    for end_point in (shape.a, shape.b):
                        pygame.draw.circle(sheet, color, at(end_point), r)
                elif isinstance(shape, CircleGeom):
                    pygame.draw.circle(sheet, color, at(shape.offset), shape.radius * scale)
                elif isinstance(shape, PolyGeom):
                    pygame.draw.polygon(sheet, color, [at(v) for v in shape.vertices])

    grey = (90, 90, 90)
    for k, index in enumerate(np.linspace(begin, end, pictures).round().astype(int)):
        frame = frames[index]
        hip = frame.position[torso, 0]
        left, top = (k % columns) * width, (k // columns) * height
        ox, oy = left + width / 2 - hip * scale, top + height - 0.15 * scale
        pygame.draw.rect(sheet, (200, 200, 200), (left, top, width, height), 1)
        pygame.draw.line(sheet, grey, (left, oy), (left + width, oy), 2)
        for mark in np.arange(math.floor(hip - 1), hip + 1, 0.25):
            if left <= ox + mark * scale <= left + width:
                pygame.draw.line(sheet, grey, (ox + mark * scale, oy), (ox + mark * scale, oy + 10))
        pygame.draw.line(
            sheet, (220, 120, 120), (left + width / 2, top + 24), (left + width / 2, oy)
        )
        body(frame, ox, oy)
        label = f"t={frame.time:.2f} s  torso {frame.velocity[torso, 0]:.2f} m/s"
        sheet.blit(font.render(label, True, (0, 0, 0)), (left + 5, top + 5))
    top = lines * height
    ox = -(frames[begin].position[torso, 0] - 0.6) * scale
    oy = top + 2.1 * scale
    pygame.draw.line(sheet, grey, (0, oy), (sheet.get_width(), oy), 2)
    span = end - begin
    for index in range(begin, min(len(frames) - 1, begin + 2 * span) + 1, max(1, span // 8)):
        body(frames[index], ox, oy, fade=0.55)
    for index, foot in lands:
        if begin <= index <= begin + 2 * span:
            x = ox + frames[index].position[layout.index(foot), 0] * scale
            color = (220, 0, 0) if foot.endswith("left") else (0, 0, 220)
            pygame.draw.circle(sheet, color, (x, oy), 5)
    pygame.image.save(sheet, path)
    print(f"{path}: {frames[begin].time:.2f}-{frames[end].time:.2f} s at {speed} m/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flat", type=float, nargs="*", default=[0.5, 0.75, 1.0, 1.25, 1.5])
    parser.add_argument("--hill", type=float, nargs="*", default=[0.5, 1.0, 1.5])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument(
        "--sheet",
        nargs=2,
        metavar=("SPEED", "PNG"),
        help="draw a contact sheet of one gait cycle at SPEED m/s (flat, after 10 s) to PNG",
    )
    args = parser.parse_args()
    if args.sheet:  # only the pictures
        contact_sheet(float(args.sheet[0]), args.sheet[1])
        return
    print(HEADER, flush=True)
    for speed in args.flat:
        text = FLAT.format(duration=args.duration, speed=speed)
        print(measure(text).row(f"flat {speed}"), flush=True)
    for speed in args.hill:
        duration = 2.0 + 17.0 / speed
        gait = measure(HILL.format(duration=duration, speed=speed), hill_ground)
        print(gait.row(f"hill {speed}"), f"end x={gait.distance:.1f}", flush=True)


if __name__ == "__main__":
    main()
