"""The simulation against textbook results, measured from the Frame stream only."""

from __future__ import annotations

import math

import numpy as np

from physics_scenes import parse_scene, simulate
from physics_scenes.physics.measure import kinetic_energy, potential_energy

G = 9.81


def run(text: str):
    layout, frames = simulate(parse_scene(text))
    return layout, list(frames)


def test_free_fall_matches_half_g_t_squared_within_one_percent() -> None:
    layout, frames = run(
        "timing: {duration: 2, fps: 60, substeps: 4}\n"
        "bodies: [{kind: ball, name: b, radius: 0.1, position: [0, 100]}]\n"
    )
    row = layout.index("b")
    for frame in frames[30::30]:  # t = 0.5, 1.0, 1.5 s
        fallen = 100 - frame.position[row, 1]
        expected = 0.5 * G * frame.time**2
        assert abs(fallen - expected) / expected < 0.01, (frame.time, fallen, expected)
        assert abs(-frame.velocity[row, 1] - G * frame.time) / (G * frame.time) < 0.01


def rebound_ratio(elasticity: float, drop: float) -> float:
    """Apex height after the first bounce / drop height, for a ball on the (e = 1) ground."""
    radius = 0.1
    layout, frames = run(
        "timing: {duration: 2.5, fps: 240, substeps: 2}\n"
        f"materials: {{m: {{elasticity: {elasticity}, friction: 0.5}}}}\n"
        "bodies:\n  - {kind: floor, y: 0}\n"
        f"  - {{kind: ball, name: b, radius: {radius}, position: [0, {drop + radius}],"
        " material: m}\n"
    )
    row = layout.index("b")
    y = np.array([f.position[row, 1] for f in frames])
    vy = np.array([f.velocity[row, 1] for f in frames])
    first_bounce = int(np.argmax(vy > 0))
    back_down = first_bounce + int(np.argmax(vy[first_bounce:] < 0))
    return float((y[first_bounce : back_down + 1].max() - radius) / drop)


def test_a_ball_rebounds_to_e_squared_of_its_drop_height() -> None:
    # Tolerance: contact is found at the end of a step, when the ball has sunk up to
    # v·dt into the floor (6.26 m/s / 480 Hz = 1.3 cm), and it rebounds from there; the
    # impact velocity is also off by up to g·dt (0.3 %, so 0.7 % in height). Allowed:
    # 1 % of e²h plus v·dt, which is 2 % of the apex at e = 0.8 and 7 % at e = 0.3.
    drop, dt = 2.0, 1 / 480
    sink = math.sqrt(2 * G * drop) * dt
    for e in (0.3, 0.5, 0.8, 0.95):
        apex = rebound_ratio(e, drop) * drop
        assert abs(apex - e**2 * drop) <= 0.01 * e**2 * drop + sink, (e, apex, e**2 * drop)


def test_ball_rolling_down_a_rough_ramp_reaches_sqrt_four_thirds_g_h() -> None:
    # A solid disc rolling without slipping: v = sqrt(2gh / (1 + I/mr²)) = sqrt(4gh/3).
    # Rolling needs mu >= tan(theta)/3 = 0.19 at 30 degrees; rubber on ground gives 0.9.
    theta, radius, length = math.radians(30), 0.2, 12.0
    top = (0.0, length * math.sin(theta))
    bottom = (length * math.cos(theta), 0.0)
    normal = (math.sin(theta), math.cos(theta))
    start = (
        top[0] + 0.5 * math.cos(theta) + radius * normal[0],
        top[1] - 0.5 * math.sin(theta) + radius * normal[1],
    )
    layout, frames = run(
        "timing: {duration: 2.0, fps: 60, substeps: 8}\n"
        "bodies:\n"
        f"  - {{kind: segment, name: ramp, a: [{top[0]}, {top[1]}], b: [{bottom[0]}, {bottom[1]}],"
        " thickness: 0.02}\n"
        f"  - {{kind: ball, name: b, radius: {radius}, position: [{start[0]}, {start[1] + 0.011}],"
        " material: rubber}\n"
    )
    row = layout.index("b")
    checked = 0
    for frame in frames[30:]:
        drop = start[1] - frame.position[row, 1]
        if frame.position[row, 0] > bottom[0] - 1.0:
            break  # stay clear of the ramp's end
        speed = float(np.hypot(*frame.velocity[row]))
        expected = math.sqrt(4 / 3 * G * drop)
        assert abs(speed - expected) / expected < 0.05, (frame.time, speed, expected)
        checked += 1
    assert checked > 30


def test_box_sliding_on_a_ramp_follows_coulomb_friction() -> None:
    # v² = 2 g d (sin θ − μ cos θ) for a block sliding a distance d.
    theta, mu, length = math.radians(35), 0.2, 12.0
    top = (0.0, length * math.sin(theta))
    bottom = (length * math.cos(theta), 0.0)
    half = 0.2
    along, normal = (math.cos(theta), -math.sin(theta)), (math.sin(theta), math.cos(theta))
    start = (
        top[0] + 1.0 * along[0] + (half + 0.01) * normal[0],
        top[1] + 1.0 * along[1] + (half + 0.01) * normal[1],
    )
    layout, frames = run(
        "timing: {duration: 1.5, fps: 60, substeps: 8}\n"
        f"materials: {{slider: {{friction: {mu}, elasticity: 0}}}}\n"
        "bodies:\n"
        f"  - {{kind: segment, name: ramp, a: [{top[0]}, {top[1]}], b: [{bottom[0]}, {bottom[1]}],"
        " thickness: 0.02}\n"
        f"  - {{kind: box, name: block, size: [{2 * half}, {2 * half}], angle: -35,"
        f" position: [{start[0]}, {start[1]}], material: slider}}\n"
    )
    row = layout.index("block")
    last = frames[-1]
    distance = math.dist(start, last.position[row])
    expected = math.sqrt(2 * G * distance * (math.sin(theta) - mu * math.cos(theta)))
    speed = float(np.hypot(*last.velocity[row]))
    assert distance > 3.0
    assert abs(speed - expected) / expected < 0.05, (speed, expected)
    assert abs(last.angle[row] - math.radians(-35)) < math.radians(2), "it slides, not tumbles"


def test_energy_never_increases_in_a_closed_inelastic_box() -> None:
    # Every collision loses energy (elasticities < 1, friction); pymunk's position
    # correction may add a little when shapes overlap: allowed 0.1 % of the initial
    # total energy per frame, and the total must fall overall.
    layout, frames = run(
        "world: {size: [8, 6], walls: {material: wood}}\n"
        "timing: {duration: 6, fps: 60, substeps: 4}\n"
        "bodies:\n"
        "  - {kind: ball, name: a, radius: 0.3, position: [2, 4], velocity: [5, 2],"
        " material: rubber}\n"
        "  - {kind: ball, name: b, radius: 0.4, position: [5, 3], velocity: [-3, 4],"
        " material: metal}\n"
        "  - {kind: box, name: c, size: [0.8, 0.5], position: [4, 1.5], velocity: [2, 6],"
        " angular_velocity: 180}\n"
        "  - {kind: ball, name: d, radius: 0.2, position: [6, 5], grid: {columns: 4, rows: 2,"
        " spacing: [0.45, 0.45]}, material: glass}\n"
    )
    energy = np.array([kinetic_energy(layout, f) + potential_energy(layout, f) for f in frames])
    scale = energy[0] - potential_energy(layout, frames[-1])  # energy available to lose
    rises = np.diff(energy)
    assert rises.max() <= 1e-3 * scale, rises.max() / scale
    assert energy[-1] < energy[0] - 0.5 * scale


def test_batch_read_matches_each_body_read_one_by_one() -> None:
    from physics_scenes.physics.world import World

    scene = parse_scene(
        "bodies:\n  - {kind: ball, name: x, radius: 0.2, grid: {columns: 5, rows: 4,"
        " spacing: [0.5, 0.5]}, position: [3, 3], velocity: [1, 2], angular_velocity: 30}\n"
        "  - {kind: floor}\n"
    )
    world = World(scene)
    for _ in range(50):
        world.step()
    state = world.read_state()
    for row, name in enumerate(world.layout.names):
        body = world.bodies[name]
        assert tuple(state.position[row]) == tuple(body.position)
        assert state.angle[row] == body.angle
        assert tuple(state.velocity[row]) == tuple(body.velocity)
        assert state.angular_velocity[row] == body.angular_velocity
