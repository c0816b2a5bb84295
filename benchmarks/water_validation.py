"""The particle fluid against the classic checks of free-surface solvers, from Frames only.

    nice -n 19 python benchmarks/water_validation.py            # every case
    nice -n 19 python benchmarks/water_validation.py archimedes # one case
    nice -n 19 python benchmarks/water_validation.py --fine     # also at half the spacing

Cases (the issue's validation list):
- archimedes: a wide box (density 500, then 800; wide, so that it floats flat) in a tank.
  Submerged fraction two ways: *hydrostatic*, the box's depth in equivalent liquid (the
  mass of liquid per metre of width above the box's bottom, far from the box, over
  ρ × box height: what the pressure at the box's bottom says) and *geometric*, (surface
  − bottom) / height with the surface at the top particles plus half a spacing.
- u_tube: two columns joined at the bottom, started 0.6 m apart; the final levels.
- floor: the floor's push on a settled tank of water over the water's weight.
- dam_break: Martin & Moyce (1952), n² = 2: the surge front x/a against t·√(2g/a).
- torricelli: the jet speed from a hole 0.2 m wide at depth h against √(2gh) (h to the hole's
  centre at that moment; each particle against its own drop, the jet falls).
- speed: particle-steps per CPU second for 1000, 3000 and 10,000 particles at the default
  step, the cost split, and drawing.
Time-averages over the second half of each run (the boxes bob, the tank sloshes).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from physics_scenes import parse_scene, simulate
from physics_scenes.frame import Frame

G = 9.81
MARTIN_MOYCE = [
    (0.85, 1.25), (1.21, 1.44), (1.60, 1.88), (2.28, 2.69), (2.95, 3.73), (3.60, 4.53),
    (3.91, 5.00), (4.59, 5.84),
]  # fmt: skip
"""(T = t·√(2g/a), Z = x/a) of the surge front for n² = 2 (their Table, as the issue lists)."""

TANK = """
world: {{size: [{w}, 1.6]}}
timing: {{duration: {t}, fps: 60, substeps: 4}}
bodies:
  - {{kind: floor, y: 0}}
  - {{kind: box, position: [-0.1, 0.8], size: [0.2, 1.6], body_type: static}}
  - {{kind: box, position: [{wr}, 0.8], size: [0.2, 1.6], body_type: static}}
  - {{kind: water, box: [0, 0, {w}, {h}], resolution: {s}}}
"""


def archimedes(
    density: float,
    s: float,
    width: float = 3.0,
    depth: float = 1.0,
    box: tuple[float, float] = (0.8, 0.3),
    seconds: float = 6.0,
) -> dict[str, float]:
    """Mean submerged fractions (hydrostatic, geometric) over the last half of the run."""
    bw, bh = box
    text = TANK.format(w=width, wr=width + 0.1, h=depth, s=s, t=seconds) + (
        f"  - {{kind: box, name: box, position: [{width / 2}, {depth + bh / 2 + 0.02}], "
        f"size: [{bw}, {bh}], material: {{density: {density}}}}}\n"
    )
    layout, frames = simulate(parse_scene(text))
    row = layout.index("box")
    area = layout.fluid_spacing**2  # liquid area per particle at rest
    hydro, geo = [], []
    for frame in frames:
        if frame.time < seconds / 2:
            continue
        cx, cy = frame.position[row]
        bottom = cy - bh / 2
        x = frame.fluid_position
        band = (np.abs(x[:, 0] - cx) > bw) & (x[:, 0] > 0.3) & (x[:, 0] < width - 0.3)
        band_width = (width - 0.6) - 2 * bw
        hydro.append((band & (x[:, 1] > bottom)).sum() * area / band_width / bh)
        cols = np.floor(x[band, 0] / layout.fluid_spacing).astype(int)
        tops = np.full(cols.max() + 1, -np.inf)
        np.maximum.at(tops, cols, x[band, 1])
        surface = float(np.median(tops[np.isfinite(tops)])) + layout.fluid_spacing / 2
        geo.append((surface - bottom) / bh)
    return {"hydrostatic": float(np.mean(hydro)), "hydrostatic_sd": float(np.std(hydro)),
            "geometric": float(np.mean(geo)), "expected": density / 1000.0}  # fmt: skip


U_TUBE = """
world: {{size: [1.2, 1.6]}}
timing: {{duration: {t}, fps: 60, substeps: 4}}
bodies:
  - {{kind: floor, y: 0}}
  - {{kind: box, position: [-0.1, 0.8], size: [0.2, 1.6], body_type: static}}
  - {{kind: box, position: [1.1, 0.8], size: [0.2, 1.6], body_type: static}}
  - {{kind: box, position: [0.5, 0.85], size: [0.4, 1.3], body_type: static}}
  - {{kind: water, box: [0, 0, 1.0, 0.2], resolution: {s}}}
  - {{kind: water, box: [0, 0.2, 0.3, 0.9], resolution: {s}}}
  - {{kind: water, box: [0.7, 0.2, 1.0, 0.3], resolution: {s}}}
"""


def levels(frame: Frame, spacing: float) -> tuple[float, float]:
    """The median top of the particles in the left (x < 0.3) and right (x > 0.7) columns."""
    x = frame.fluid_position
    out = []
    for lo, hi in ((0.0, 0.3), (0.7, 1.0)):
        col = x[(x[:, 0] > lo) & (x[:, 0] < hi) & (x[:, 1] > 0.2)]
        cells = np.floor((col[:, 0] - lo) / spacing).astype(int)
        tops = np.full(cells.max() + 1, -np.inf)
        np.maximum.at(tops, cells, col[:, 1])
        out.append(float(np.median(tops[np.isfinite(tops)])) + spacing / 2)
    return out[0], out[1]


def u_tube(s: float, seconds: float = 4.0) -> dict[str, float]:
    _layout, frames = simulate(parse_scene(U_TUBE.format(s=s, t=seconds)))
    pairs = [levels(f, s) for f in frames if f.time >= seconds - 1.0]
    left, right = np.mean(pairs, axis=0)
    return {"left": float(left), "right": float(right), "difference": float(left - right),
            "column_height": 1.3}  # fmt: skip


def floor_force(s: float) -> dict[str, float]:
    """Through the solver: the floor's mean push on a settled 1 m tank over the weight."""
    from physics_scenes.physics.fluid import Collider, Fluid
    from physics_scenes.scene.assembly import FluidSpec

    xs, ys = np.meshgrid(np.arange(s / 2, 1.0, s), np.arange(s / 2, 1.0, s))
    points = np.column_stack((xs.ravel(), ys.ravel()))
    water = Fluid((FluidSpec("water", 1000.0, 0.02, 0.0, (0, 0, 255)),), s, points,
                  np.zeros_like(points), np.zeros(len(points), np.int16), (), (0.0, -G),
                  1 / 240, (-9.0, -9.0, 9.0, 9.0), 0)  # fmt: skip
    walls = [[(-0.2, -0.2), (1.2, -0.2), (1.2, 0.0), (-0.2, 0.0)],
             [(-0.2, 0.0), (0.0, 0.0), (0.0, 3.0), (-0.2, 3.0)],
             [(1.0, 0.0), (1.2, 0.0), (1.2, 3.0), (1.0, 3.0)]]  # fmt: skip
    shapes = [Collider("poly", np.array(v), 0.0, k) for k, v in enumerate(walls)]
    push, steps = np.zeros((3, 2)), 0
    for step in range(720):
        for p in water.step(shapes):
            if step >= 360:
                push[p.body] += p.impulse
        steps += step >= 360
    weight = water.count * 1000.0 * s * s * G
    side = 1000.0 * G * 1.0**2 / 2
    return {"floor_over_weight": float(-push[0, 1] / steps / water.dt / weight),
            "side_over_rho_g_h2_2": float(push[1, 0] / steps / water.dt / -side)}  # fmt: skip


DAM = """
world: {{size: [{L}, 1.6]}}
timing: {{duration: {t}, fps: 120, substeps: 2}}
bodies:
  - {{kind: floor, y: 0}}
  - {{kind: box, position: [-0.1, 1.0], size: [0.2, 2.0], body_type: static}}
  - {{kind: box, position: [{Lr}, 1.0], size: [0.2, 2.0], body_type: static}}
  - {{kind: water, box: [0, 0, {a}, {a2}], resolution: {s}}}
"""


FRONT_MASS = 0.01
"""The surge front: the farthest point with this fraction of the water beyond it."""


def dam_break(s: float, a: float = 0.5) -> dict[str, list[tuple[float, float, float]]]:
    """(T, measured Z, Martin & Moyce's Z) at their times up to T = 4, for two fronts:

    - ``mass``: the farthest point with 1 % of the water's mass beyond it (plus half a
      spacing), the same share of the liquid at every resolution;
    - ``third``: the third-farthest particle within two spacings of the floor (plus half
      a spacing): 1.5 % of the water at 0.05 m but 0.1 % at 0.0125 m, so at fine
      spacings it follows the thin tip of the surge and runs ahead."""
    scale = math.sqrt(2 * G / a)
    seconds = 4.2 / scale
    _layout, frames = simulate(parse_scene(DAM.format(L=6 * a, Lr=6 * a + 0.1, a=a, a2=2 * a,
                                                     s=s, t=seconds)))  # fmt: skip
    times: list[float] = []
    fronts: dict[str, list[float]] = {"mass": [], "third": []}
    for frame in frames:
        x = frame.fluid_position
        times.append(frame.time * scale)
        ahead = np.sort(x[:, 0])[-max(1, round(FRONT_MASS * len(x)))]
        fronts["mass"].append((ahead + s / 2) / a)
        low = np.sort(x[x[:, 1] < 2 * s, 0])
        front = low[-3] if len(low) > 3 else a  # the third-farthest: one drop is no front
        fronts["third"].append((front + s / 2) / a)
    return {
        name: [(t, float(np.interp(t, times, zs)), z) for t, z in MARTIN_MOYCE if t <= 4.0]
        for name, zs in fronts.items()
    }


TORRICELLI = """
world: {{size: [{W}, {H}]}}
timing: {{duration: {t}, fps: 60, substeps: 4}}
bodies:
  - {{kind: floor, y: 0}}
  - {{kind: box, position: [-0.1, {yw}], size: [0.2, {H}], body_type: static}}
  - {{kind: box, position: [{xc}, {yt}], size: [{wall}, {ht}], body_type: static}}
  - {{kind: box, position: [{xc}, {yb}], size: [{wall}, {hb}], body_type: static}}
  - {{kind: water, box: [0, 0, {tank}, {top}], resolution: {s}}}
"""


def torricelli(
    s: float,
    hole: float = 0.2,
    bottom: float = 0.4,
    tank: float = 0.8,
    top: float = 1.6,
    wall: float = 0.05,
    window: tuple[float, float] = (0.3, 0.7),
) -> dict[str, object]:
    """A tank ``tank`` m wide filled to ``top``, with a sharp-edged hole ``hole`` m high
    (its bottom at ``bottom``, well above the puddle outside) through a wall ``wall``
    thick: the textbook orifice. The jet's mean speed |v| in slices a quarter of the
    hole's width thick, from a quarter to one and a half widths outside the wall (the
    particles from half a width under the hole to its top: the jet falls), each over
    √(2 g h) with h from the hole's centre to the surface at that frame (the median top
    particle of the tank's columns plus half a spacing) and y the particle's own height
    (the jet falls: each particle against its own drop), averaged over ``window`` seconds
    (after the flow has built up; the level falls about 0.2 m in that time). The particle
    jet keeps speeding up for about two widths (a real one stops at the vena contracta,
    half a width out): the jet speed is the mean of the slices 1.5 to 2.5 widths out."""
    centre = bottom + hole / 2
    text = TORRICELLI.format(
        W=tank + 2.0, H=top + 0.5, yw=(top + 0.5) / 2, t=window[1], xc=tank + wall / 2, wall=wall,
        yt=(bottom + hole + top + 0.5) / 2, ht=top + 0.5 - bottom - hole, yb=bottom / 2, hb=bottom,
        tank=tank, top=top, s=s,
    )  # fmt: skip
    _layout, frames = simulate(parse_scene(text))
    at = np.arange(1, 11) * hole / 4  # slice centres outside the wall
    ratios, heads = [], []
    for frame in frames:
        if not window[0] <= frame.time <= window[1]:
            continue
        x, v = frame.fluid_position, frame.fluid_velocity
        inside = x[x[:, 0] < tank]
        cols = np.floor(inside[:, 0] / s).astype(int)
        tops = np.full(cols.max() + 1, -np.inf)
        np.maximum.at(tops, cols, inside[:, 1])
        surface = float(np.median(tops[np.isfinite(tops)])) + s / 2
        level = (x[:, 1] > bottom - hole) & (x[:, 1] < bottom + hole)
        # each particle against its own drop from the surface (the jet falls)
        ideal = np.sqrt(2 * G * np.maximum(surface - x[:, 1], 1e-9))
        row = []
        for d in at:
            jet = level & (np.abs(x[:, 0] - (tank + wall + d)) < hole / 8)
            ratio = np.hypot(v[jet, 0], v[jet, 1]) / ideal[jet]
            row.append(ratio.mean() if jet.sum() >= 2 else np.nan)
        ratios.append(row)
        heads.append(surface - centre)
    profile = np.nanmean(ratios, axis=0)
    return {
        "jet_over_sqrt_2gh": float(profile[at >= 1.5 * hole - 1e-9].mean()),
        "profile": {
            f"{d / hole:.2f}": round(float(r), 3) for d, r in zip(at, profile, strict=True)
        },
        "head_from_to": (round(heads[0], 3), round(heads[-1], 3)),
        "hole_in_spacings": hole / s,
    }


POOL = """
world: {{size: [{w}, {H}]}}
timing: {{duration: {t}, fps: 60, substeps: 4}}
bodies:
  - {{kind: floor, y: 0}}
  - {{kind: box, position: [-0.1, {yc}], size: [0.2, {H}], body_type: static}}
  - {{kind: box, position: [{wr}, {yc}], size: [0.2, {H}], body_type: static}}
  - {{kind: water, box: [0, 0, {w}, {h}], resolution: {s}}}
"""

PHASES = {
    "neighbour search": ("_pairs",),
    "density iterations": ("_solve_density",),
    "shapes (contacts, projection)": ("_contacts", "_project"),
    "viscosity": ("_viscous",),
}
"""The Fluid methods timed for the cost split (the rest of a step: emitting, moving the
contacts along, dropping particles; then the rigid step and the Frames)."""


def speed(n: int, seconds: float = 1.0, repeat: int = 3, draw: bool = True) -> dict[str, object]:
    """A settled pool of about n particles at s = 0.05 m and the default step (60 fps x 4
    substeps, dt = 1/240 s), stepped ``seconds`` through ``simulate``, ``repeat`` times:
    CPU seconds (this process only: other jobs on a shared machine do not count, though
    they still slow it through the shared caches, so the fastest run is the figure and
    the others show the spread) and wall seconds, the cost split by phase, and the time
    to paint one frame at 1280x720."""
    import os

    from physics_scenes.physics import fluid

    s = 0.05
    depth = math.sqrt(n * s * s / 4)  # four times as wide as deep
    width = 4 * depth
    text = POOL.format(w=width, wr=width + 0.1, h=depth, H=depth + 0.5, yc=(depth + 0.5) / 2,
                       s=s, t=seconds)  # fmt: skip
    spent: dict[str, float] = {}
    originals = {}
    for phase, names in PHASES.items():
        for name in names:
            originals[name] = getattr(fluid.Fluid, name)

            def timed(*args: object, _f=originals[name], _p=phase) -> object:  # type: ignore[no-untyped-def]
                start = time.process_time()
                out = _f(*args)
                spent[_p] += time.process_time() - start
                return out

            setattr(fluid.Fluid, name, timed)
    runs = []
    try:
        for _ in range(repeat):
            spent.update(dict.fromkeys(PHASES, 0.0))
            load = os.getloadavg()[0]
            layout, frames = simulate(parse_scene(text))
            cpu, wall = time.process_time(), time.perf_counter()
            count, last = 0, None
            for frame in frames:
                count, last = len(frame.fluid_kind), frame
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            runs.append((cpu, wall, load, dict(spent)))
    finally:
        for name, f in originals.items():
            setattr(fluid.Fluid, name, f)
    cpu, wall, load, split = min(runs, key=lambda run: run[0])
    steps = seconds * 240
    out: dict[str, object] = {
        "particles": count,
        "load_average": round(load, 1),
        "cpu_ms_per_step": round(1000 * cpu / steps, 2),
        "cpu_ms_per_step_all_runs": [round(1000 * r[0] / steps, 2) for r in runs],
        "wall_ms_per_step": round(1000 * wall / steps, 2),
        "frames_per_cpu_second": round(steps / 4 / cpu, 1),
        "particle_steps_per_cpu_second": round(count * steps / cpu),
        "split": {k: f"{v / cpu:.0%}" for k, v in split.items()}
        | {"rest (rigid step, Frames)": f"{1 - sum(split.values()) / cpu:.0%}"},
    }
    if draw and last is not None:
        from physics_scenes.picture.renderer import Renderer

        renderer = Renderer(layout, 1280, 720)
        renderer.render(last)
        start = time.process_time()
        for _ in range(5):
            renderer.render(last)
        out["draw_ms_per_frame_1280x720"] = round(1000 * (time.process_time() - start) / 5, 1)
    return out


def speed_dam_break(s: float = 0.0129, repeat: int = 2) -> dict[str, object]:
    """CPU ms a step of the dam break (a = 0.5 m; about 3,000 particles at 0.0129 m) over
    its first 0.5 s: a splashing flow, where the neighbour list is rebuilt nearly every
    step (the fastest of ``repeat`` runs)."""
    a = 0.5
    text = DAM.format(L=6 * a, Lr=6 * a + 0.1, a=a, a2=2 * a, s=s, t=0.5)
    best, count = math.inf, 0
    for _ in range(repeat):
        _layout, frames = simulate(parse_scene(text))
        start = time.process_time()
        for frame in frames:
            count = len(frame.fluid_kind)
        best = min(best, time.process_time() - start)
    steps = 0.5 * 240
    return {"particles": count, "cpu_ms_per_step": round(1000 * best / steps, 2),
            "frames_per_cpu_second": round(steps / 4 / best, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("case", nargs="?", default="all")
    parser.add_argument("--fine", action="store_true", help="also at half the spacing")
    args = parser.parse_args()
    spacings = [0.05, 0.025] if args.fine else [0.05]
    case = args.case
    if case in ("all", "floor"):
        print("floor", floor_force(0.05))
    if case in ("all", "u_tube"):
        for s in spacings:
            print("u_tube", s, u_tube(s))
    if case in ("all", "archimedes"):
        for density in (500.0, 800.0):
            print("archimedes", density, archimedes(density, 0.05))
    if case in ("all", "dam_break"):
        previous: dict[str, list[float]] = {}
        for s in [0.05, 0.025, 0.0125] if args.fine else [0.05, 0.025]:
            for name, rows in dam_break(s).items():
                worst = max(abs(z - ref) / ref for _, z, ref in rows)
                points = [(round(t, 2), round(z, 2), f"{z / ref - 1:+.1%}") for t, z, ref in rows]
                print("dam_break", s, name, points, f"worst {worst:.1%}")
                fronts = [z for _, z, _ in rows]
                if name in previous:
                    moved = max(abs(a / b - 1) for a, b in zip(fronts, previous[name], strict=True))
                    print(f"  halving the spacing moved this front by at most {moved:.1%}")
                previous[name] = fronts
    if case in ("all", "torricelli"):
        for s in spacings:
            print("torricelli", s, torricelli(s))
    if case in ("all", "speed"):
        for n in (1000, 3000, 10000):
            print("speed", speed(n))
        print("speed, dam break", speed_dam_break())


if __name__ == "__main__":
    main()
