"""Joints and composites against physics, measured from the Frame stream only."""

from __future__ import annotations

import math

import numpy as np
import pytest

from physics_scenes import Issue, SceneError, load_scene, parse_scene, simulate
from physics_scenes.physics.measure import joint_errors
from physics_scenes.picture.renderer import Renderer

from helpers import SCENES

G = 9.81


def run(text: str):
    layout, frames = simulate(parse_scene(text))
    return layout, list(frames)


def crossings(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Times where ``values`` crosses zero going up, linearly interpolated."""
    up = np.flatnonzero((values[:-1] < 0) & (values[1:] >= 0))
    fraction = -values[up] / (values[up + 1] - values[up])
    return times[up] + fraction * (times[up + 1] - times[up])


@pytest.mark.parametrize("length", [0.5, 1.0, 2.0])
def test_pendulum_period_is_two_pi_root_l_over_g_within_two_percent(length: float) -> None:
    layout, frames = run(
        "timing: {duration: 12, fps: 120, substeps: 4}\n"
        "bodies:\n"
        f"  - {{kind: pendulum, name: p, pivot: [0, 3], length: {length}, angle: 5,"
        " bob_radius: 0.02}\n"
    )
    row = layout.index("p/bob")
    x = np.array([f.position[row, 0] for f in frames])
    t = np.array([f.time for f in frames])
    periods = np.diff(crossings(x, t))
    expected = 2 * math.pi * math.sqrt(length / G)
    assert len(periods) >= 3
    assert abs(periods.mean() - expected) / expected < 0.02, (periods.mean(), expected)


def exact_period(length: float, amplitude_degrees: float) -> float:
    """A rigid pendulum's period at any amplitude: 4·√(L/g)·K(sin²(θ₀/2))."""
    from scipy.special import ellipk

    return (
        4
        * math.sqrt(length / G)
        * float(ellipk(math.sin(math.radians(amplitude_degrees) / 2) ** 2))
    )


def test_pendulum_released_at_150_degrees_keeps_the_exact_period_swing_and_length() -> None:
    """At the default step a rod holds its length: the large swing is the exact one."""
    layout, frames = run(
        "timing: {duration: 12}\n"
        "bodies:\n"
        "  - {kind: pendulum, name: p, pivot: [0, 3], length: 1, angle: 150, bob_radius: 0.02}\n"
    )
    row = layout.index("p/bob")
    x = np.array([f.position[row, 0] for f in frames])
    t = np.array([f.time for f in frames])
    periods = np.diff(crossings(x, t))
    expected = exact_period(1.0, 150.0)  # 3.5 s, 75 % longer than the small-swing 2π√(L/g)
    assert len(periods) >= 2
    assert abs(periods.mean() - expected) / expected < 0.005, (periods.mean(), expected)
    swing = np.degrees(np.arctan2(x, 3 - np.array([f.position[row, 1] for f in frames])))
    last = np.abs(swing[t > t[-1] - expected]).max()  # the last full swing's turning point
    assert 150 - last < 1.0, last
    assert joint_errors(layout, frames)["p/rod"] < 1e-3


def test_hand_made_rods_and_hinges_hold_within_a_millimetre() -> None:
    """A double pendulum of two rods released at 60°, and a door hinged to the world.

    The drift a step leaves grows as (spin × step)² × reach: a part whirling at
    16 rad/s 0.4 m from its hinge is held to about 2 mm at the default step; 4×
    the ``substeps`` makes that 16× smaller."""
    layout, frames = run(
        "world: {size: [12, 6], origin: [-7, -3]}\n"
        "timing: {duration: 6}\n"
        "bodies:\n"
        "  - {kind: ball, name: upper, position: [0.866, 1.5], radius: 0.08}\n"
        "  - {kind: ball, name: lower, position: [1.732, 1.0], radius: 0.08}\n"
        "  - {kind: box, name: door, position: [-4.5, 1], size: [1.2, 0.1]}\n"
        "joints:\n"
        "  - {kind: rod, a: upper, b: world, anchor_b: [0, 2]}\n"
        "  - {kind: rod, a: lower, b: upper}\n"
        "  - {kind: hinge, a: door, b: world, anchor_a: [0.6, 0], anchor_b: [-3.9, 1]}\n"
    )
    errors = joint_errors(layout, frames)
    assert len(errors) == 3
    speed = max(np.hypot(*f.velocity[layout.index("lower")]) for f in frames)
    assert speed > 4  # a fast, chaotic motion: the lower bob whips round
    assert max(errors.values()) < 1e-3, errors


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scene", "bound", "settle"),
    [
        ("hanging_chain", 1e-3, 0.25),  # released on a parabola: the first 0.25 s whip it
        ("newtons_cradle", 1e-3, 0.0),
        ("ragdoll_stairs", 1e-3, 0.0),
        ("walker_on_hill", 1.5e-3, 0.0),  # 17 s up and down: a foot strike gives 1.1 mm
        ("whegs_long_walk", 1e-3, 0.0),
        # the 120 kg boulder pins both feet to the ground as the torso slams down: two
        # frames of up to 9 mm at the ankles, under 2 mm for all but 3 of 360 frames
        ("walker_hit_by_ball", 1e-2, 0.0),
    ],
)
def test_composites_in_the_examples_hold_their_joints(
    scene: str, bound: float, settle: float
) -> None:
    layout, frames = simulate(load_scene(SCENES / f"{scene}.yaml"))
    frames = list(frames)
    errors = joint_errors(layout, [frames[0]] + [f for f in frames if f.time >= settle])
    assert errors
    assert max(errors.values()) < bound, max(errors.items(), key=lambda kv: kv[1])


def test_spring_mass_oscillates_at_root_k_over_m() -> None:
    layout, frames = run(
        "world: {gravity: [0, 0]}\n"
        "timing: {duration: 6, fps: 120, substeps: 8}\n"
        "bodies: [{kind: ball, name: m, radius: 0.1, mass: 2, position: [1.2, 0]}]\n"
        "joints: [{kind: spring, a: m, b: world, anchor_b: [0, 0], rest_length: 1,"
        " stiffness: 50}]\n"
    )
    row = layout.index("m")
    x = np.array([f.position[row, 0] - 1.0 for f in frames])
    t = np.array([f.time for f in frames])
    period = np.diff(crossings(x, t)).mean()
    expected = 2 * math.pi * math.sqrt(2 / 50)
    assert abs(period - expected) / expected < 0.02, (period, expected)


def moving_balls(layout, frame, count: int, threshold: float) -> list[int]:
    speeds = [np.hypot(*frame.velocity[layout.index(f"c/ball_{i}")]) for i in range(count)]
    return [i for i, speed in enumerate(speeds) if speed > threshold]


@pytest.mark.parametrize("lift", [1, 2])
def test_newtons_cradle_sends_out_as_many_balls_as_come_in(lift: int) -> None:
    """Over the first three collisions, exactly ``lift`` balls swing, alternately each side."""
    layout, frames = run(
        "timing: {duration: 4, fps: 120, substeps: 8}\n"
        "bodies:\n"
        f"  - {{kind: newtons_cradle, name: c, position: [0, 2], balls: 5, lift: {lift}}}\n"
    )
    ball_rows = {layout.index(f"c/ball_{i}") for i in range(5)}
    # an impact: balls hitting balls hard (the middle balls also nudge each other gently
    # as they drift apart by a fraction of a millimetre), after a quiet spell
    hardest = max(e.impulse for f in frames for e in f.events)
    impacts, last = [], -1.0
    for frame in frames:
        hits = [
            e
            for e in frame.events
            if e.kind == "begin" and e.b.startswith("c/ball") and e.impulse > 0.1 * hardest
        ]
        if hits and frame.time - last > 0.2:
            impacts.append(frame.index)
        if hits:
            last = frame.time
    assert len(impacts) >= 3, impacts
    peak = max(np.hypot(*f.velocity[r]) for f in frames[:60] for r in ball_rows)
    sides = []
    for index in impacts[:3]:
        after = frames[index + 12]  # 0.1 s later: the chain of impacts is over
        moving = moving_balls(layout, after, 5, 0.3 * peak)
        assert len(moving) == lift, (after.time, moving)
        sides.append("right" if min(moving) >= 5 - lift else "left")
        assert set(moving) in ({*range(lift)}, {*range(5 - lift, 5)}), moving
    assert sides == ["right", "left", "right"]


def test_chain_links_stay_joined_and_hang_below_their_pins() -> None:
    layout, frames = run(
        "timing: {duration: 3, fps: 60, substeps: 8}\n"
        "bodies:\n"
        "  - {kind: chain, name: ch, start: [0, 3], end: [3, 3], length: 4, links: 20}\n"
    )
    last = frames[-1]
    lengths = [layout.bodies[layout.index(f"ch/link_{i:02d}")].shapes[0].b[0] for i in range(20)]
    for i in range(19):
        a, b = layout.index(f"ch/link_{i:02d}"), layout.index(f"ch/link_{i + 1:02d}")
        angle = last.angle[a]
        end = last.position[a] + lengths[i] * np.array([math.cos(angle), math.sin(angle)])
        assert np.linalg.norm(end - last.position[b]) < 2e-3
    first = last.position[layout.index("ch/link_00")]
    assert np.linalg.norm(first - (0, 3)) < 2e-3
    lowest = min(last.position[layout.index(f"ch/link_{i:02d}"), 1] for i in range(20))
    assert 1.5 < lowest < 3.0  # a 4 m chain between pins 3 m apart sags, it doesn't fall


def test_ragdoll_joint_limits_hold_within_five_degrees_down_the_stairs() -> None:
    layout, frames = simulate(load_scene(SCENES / "ragdoll_stairs.yaml"))
    limits = [j for j in layout.joints if j.kind == "rotary_limit"]
    assert len(limits) == 9
    worst = 0.0
    for frame in frames:
        for joint in limits:
            relative = frame.angle[joint.b] - frame.angle[joint.a]
            worst = max(worst, joint.low - relative, relative - joint.high)
    assert math.degrees(worst) < 5.0, math.degrees(worst)


def test_ragdoll_tumbles_down_the_stairs() -> None:
    layout, frames = simulate(load_scene(SCENES / "ragdoll_stairs.yaml"))
    frames = list(frames)
    torso = layout.index("doll/torso")
    start, end = frames[0].position[torso], frames[-1].position[torso]
    assert end[0] - start[0] > 2.0 and start[1] - end[1] > 1.0, (start, end)


def issues_of(text: str) -> list[Issue]:
    with pytest.raises(SceneError) as caught:
        parse_scene(text, "joints.yaml")
    return caught.value.issues


def test_joint_with_an_unknown_body_is_a_located_error() -> None:
    (issue,) = issues_of(
        "bodies:\n"
        "  - {kind: ball, name: a, radius: 0.1}\n"
        "joints:\n"
        "  - {kind: pin, a: a, b: nobody}\n"
    )
    assert (issue.line, issue.path) == (4, "joints[0].b")
    assert "no body is called 'nobody'" in issue.message


def test_joint_naming_a_composite_instead_of_a_part_gets_a_hint() -> None:
    (issue,) = issues_of(
        "bodies:\n"
        "  - {kind: pendulum, name: p, pivot: [0, 2]}\n"
        "  - {kind: ball, name: b, radius: 0.1}\n"
        "joints:\n"
        "  - {kind: spring, a: b, b: p, stiffness: 10}\n"
    )
    assert issue.path == "joints[0].b" and "'p/...'" in issue.message


def test_joint_between_a_body_and_itself_is_an_error() -> None:
    (issue,) = issues_of(
        "bodies:\n  - {kind: ball, name: a, radius: 0.1}\njoints:\n  - {kind: pivot, a: a, b: a}\n"
    )
    assert issue.path == "joints[0].b" and "two bodies" in issue.message


def test_impossible_anchor_is_a_located_error() -> None:
    (issue,) = issues_of(
        "bodies:\n"
        "  - {kind: ball, name: a, radius: 0.1}\n"
        "joints:\n"
        "  - {kind: pin, a: a, b: world, anchor_a: [5, 0], anchor_b: [0, 2]}\n"
    )
    assert issue.path == "joints[0].anchor_a"
    assert "outside" in issue.message and "0.1" in issue.message


def test_hanging_chain_needs_a_length() -> None:
    (issue,) = issues_of("bodies:\n  - {kind: chain, start: [0, 2], links: 5}\n")
    assert issue.path == "bodies[0]" and "length" in issue.message


def test_rods_are_drawn_as_lines_and_springs_as_zigzags() -> None:
    scene = parse_scene(
        "world: {size: [4, 4], origin: [-2, -2], background: '#000000', gravity: [0, 0]}\n"
        "bodies:\n"
        "  - {kind: ball, name: m, radius: 0.1, position: [-1, -1]}\n"
        "  - {kind: ball, name: n, radius: 0.1, position: [1, -1]}\n"
        "joints:\n"
        "  - {kind: pin, a: m, b: world, anchor_b: [-1, 1]}\n"
        "  - {kind: spring, a: n, b: world, anchor_b: [1, 1], stiffness: 10}\n"
    )
    layout, frames = simulate(scene, 1)
    rgb = Renderer(layout, 200, 200).render(next(iter(frames))).rgb().max(axis=2)
    # 50 px per metre: y = 1 is row 50, the balls' tops (y = -0.9) row 145
    # the rod (x = -1: column 50.0, a pixel edge) is anti-aliased over the two columns
    # beside it: its coverage across them adds up to one bright pixel in every row
    rod = rgb[55:140, 48:53].astype(int).sum(axis=1)
    assert (rod > 120).all()
    coils = rgb[70:125, 140:161] > 120
    assert coils[:, :6].any() and coils[:, -6:].any()  # it swings out to both sides ...
    assert not coils[:, 9:12].all(axis=1).all()  # ... so it is not a straight line
