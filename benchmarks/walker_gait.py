"""Measure the walker's gait from the Frame stream only: does it look like walking?

Per target speed on flat ground (and up and down the 10° hill) it reports the
average speed, step length, cadence, torso tilt, lowest hip height, the peak
ground force in body weights (from the change of total momentum), and the foot
slide: how far the feet travel horizontally while standing on the ground, as a
share of the distance walked. A person's stance foot does not slide at all.

    nice -n 19 python benchmarks/walker_gait.py            # flat ground and hill
    nice -n 19 python benchmarks/walker_gait.py --flat 1.0 # one speed only
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from physics_scenes import parse_scene, simulate
from physics_scenes.measure import foot_slide, ground_force

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flat", type=float, nargs="*", default=[0.5, 0.75, 1.0, 1.25, 1.5])
    parser.add_argument("--hill", type=float, nargs="*", default=[0.5, 1.0, 1.5])
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
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
