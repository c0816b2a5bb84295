"""Per-pixel ground truth (ids, flow, boxes, visibility) checked against rendered frames."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from scipy import ndimage

from physics_scenes.frame import Event, Frame
from physics_scenes.job.clip import Clip
from physics_scenes.job.ground_truth import IsolatedCollisions, TruthRecorder, write_truth
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.physics.measure import penetration
from physics_scenes.picture import truth
from physics_scenes.scene.loader import parse_scene

SCENE = """
world: {size: [8, 6], background: "#000000"}
timing: {duration: 0.5, fps: 20, substeps: 12}
camera: {mode: follow, target: ball, smoothing: 0.05}
bodies:
  - {kind: floor, name: floor, y: 0.5, color: "#3050a0"}
  - {kind: box, name: wall, position: [4, 2], size: [1, 2], body_type: static, color: "#808080"}
  - {kind: ball, name: ball, position: [2.5, 2.2], radius: 0.7, velocity: [4, 3],
     color: "#e02020"}
  - {kind: box, name: spinner, position: [4.2, 4.2], size: [1.6, 0.5], angular_velocity: 400,
     velocity: [0, -4], color: "#20c040", body_type: kinematic}   # passes over the wall
"""


def own_colour(pixels: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Whether each pixel is a body's fill, its darker edge (rims, spin marks: 0.55 of the
    fill) or an anti-aliased mix of the two: a colour of that body alone."""
    edge = np.round(fill * 0.55)
    span = fill - edge
    share = np.clip((pixels - edge) @ span / max(float(span @ span), 1.0), 0, 1)
    return np.abs(pixels - (edge + share[:, None] * span)).max(axis=1) <= 3


def kind(pixels: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """0: the fill, 1: the edge colour, -1: a blend of the two (anti-aliasing)."""
    edge = np.round(fill * 0.55)
    out = np.full(len(pixels), -1)
    out[np.abs(pixels - fill).max(axis=1) <= 3] = 0
    out[np.abs(pixels - edge).max(axis=1) <= 3] = 1
    return out


def test_ids_and_flow_match_the_rendered_frames() -> None:
    scene = parse_scene(SCENE)
    clip = Clip(scene, 160, 120)
    shown = list(clip.frames())
    rgb = [clip.pixels(s).rgb().astype(int) for s in shown]
    buffer = io.BytesIO()
    write_truth(scene, 160, 120, buffer)  # type: ignore[arg-type]
    truth = np.load(io.BytesIO(buffer.getvalue()))
    ids, flow, boxes, visible = truth["ids"], truth["flow"], truth["boxes"], truth["visible"]
    n = len(shown)
    assert ids.shape == (n, 120, 160) and flow.shape == (n - 1, 120, 160, 2)
    layout = clip.layout
    colours = [np.array(b.color) for b in layout.bodies]
    for i in range(n):
        for row in range(len(layout.bodies) + 1):
            inner = ndimage.binary_erosion(ids[i] == row, iterations=2)
            if not inner.any():
                continue
            wanted = colours[row - 1] if row else np.zeros(3)
            assert own_colour(rgb[i][inner], wanted).mean() >= 0.99, (i, row)
        ys, xs = np.nonzero(ids[i])
        for row in range(len(layout.bodies)):
            mine = ids[i][ys, xs] == row + 1
            if mine.any():
                assert boxes[i, row].tolist() == [xs[mine].min(), ys[mine].min(),
                                                  xs[mine].max(), ys[mine].max()]  # fmt: skip
    # the spinner covers part of the static wall while it passes in front of it
    wall = layout.names.index("wall")
    assert np.nanmin(visible[:, wall]) < 0.95 and np.nanmax(visible[:, wall]) == 1.0
    # flow carries each body pixel to where its colour and id are in the next frame
    order = [r for r, b in enumerate(layout.bodies) if b.body_type == "static"]
    order += [r for r, b in enumerate(layout.bodies) if b.body_type != "static"]
    above = {r + 1: [o + 1 for o in order[order.index(r) + 1 :]] for r in order}
    moved_pixels, total, marks, agree, compared = 0, 0, 0, 0, 0
    for i in range(n - 1):
        for row in range(1, len(layout.bodies) + 1):
            inner = ndimage.binary_erosion(ids[i] == row, iterations=2)
            ys, xs = np.nonzero(inner)
            if not len(ys):
                continue
            tx = np.floor(xs + 0.5 + flow[i, ys, xs, 0]).astype(int)
            ty = np.floor(ys + 0.5 + flow[i, ys, xs, 1]).astype(int)
            ok = (tx >= 0) & (tx < 160) & (ty >= 0) & (ty < 120)
            landed = ids[i + 1][ty[ok], tx[ok]]
            same_id = landed == row
            covered = np.isin(landed, above[row])  # hidden by a body drawn over it since
            assert (same_id | covered).mean() >= 0.97 and same_id.mean() > 0.5, (i, row)
            # a pixel of the fill lands on the fill, one of a rim or spin mark on a rim or
            # mark (where both are pure colours, not anti-aliased blends): rotation included
            fill = colours[row - 1]
            source = kind(rgb[i][ys[ok], xs[ok]], fill)
            target = kind(rgb[i + 1][ty[ok], tx[ok]], fill)
            pure = (source >= 0) & (target >= 0) & same_id
            agree += int((source[pure] == target[pure]).sum())
            compared += int(pure.sum())
            marks += int((source[pure] == 1).sum())
            total += int(ok.sum())
            moved_pixels += int((np.abs(flow[i, ys, xs]).max(axis=1) > 1).sum())
    assert moved_pixels > total / 3  # the check is not trivially about still pixels
    # nor only about plain fills (rims and spin marks are anti-aliased by coverage, so at
    # 160x120 only a few dozen of their pixels are pure colours)
    assert agree / compared >= 0.98 and marks > 30
    # the background moves only with the camera: the same flow everywhere it shows
    back = flow[3][ids[3] == 0]
    assert np.ptp(back, axis=0).max() < 1e-3 and np.abs(back).max() > 0.1


def test_the_render_s_own_frames_give_the_same_truth_as_a_separate_simulation(
    tmp_path: Path,
) -> None:
    """A dataset item's truth is recorded from the frames its render makes (no second
    simulation): the same bytes as simulating the clip again for it."""
    scene = parse_scene(SCENE)
    recorder = TruthRecorder(160, 120)
    result = run(RenderJob(scene, tmp_path / "clip.jsonl", "states", 160, 120, audio="none",
                           parallel=False), observers=[recorder])  # fmt: skip
    assert result.frames == 10 and recorder.ids.shape == (10, 120, 160)
    from_render, alone = io.BytesIO(), io.BytesIO()
    recorder.write(from_render)
    notes = write_truth(scene, 160, 120, alone)  # type: ignore[arg-type]
    assert from_render.getvalue() == alone.getvalue()
    assert recorder.notes() == notes and notes["collisions"]


def test_plausibility_measures_the_joints_of_a_clip() -> None:
    """A pendulum's rod keeps its length (millimetres at 10 substeps: not flagged); a rod
    of 2 m fixed to a ball 1 m from its world anchor starts 1 m wrong: flagged."""
    pendulum = ("timing: {duration: 1, fps: 10, substeps: 10}\nbodies:\n"
                "  - {kind: pendulum, name: p, pivot: [0, 3], length: 1, angle: 60}\n")  # fmt: skip
    notes = write_truth(parse_scene(pendulum), 64, 36, None)["plausibility"]
    (name, error), *others = notes["joint_error"].items()
    assert not others and name == "p/rod" and 0 < error < 5e-3
    assert notes["flagged"] is False
    stretched = ("timing: {duration: 0.5, fps: 10, substeps: 10}\nbodies:\n"
                 "  - {kind: ball, name: b, position: [0, 2], radius: 0.1}\njoints:\n"
                 "  - {kind: pin, name: rod, a: b, anchor_b: [0, 3], length: 2}\n")  # fmt: skip
    notes = write_truth(parse_scene(stretched), 64, 36, None)["plausibility"]
    assert abs(notes["joint_error"]["rod"] - 1.0) < 1e-9 and notes["flagged"] is True
    # a clip without rigid joints has no such field (its bytes stay as they were)
    assert "joint_error" not in write_truth(parse_scene(SCENE), 64, 36, None)["plausibility"]


AIR = """
world: {size: [8, 8]}
timing: {duration: 1, fps: 16}
bodies:
  - {kind: ball, name: left, radius: 0.4, position: [2, 5], velocity: [4, 1], material: rubber}
  - {kind: ball, name: right, radius: 0.3, position: [6, 5], velocity: [-3, 1.5], material: wood}
"""


def test_plausibility_checks_momentum_in_isolated_collisions_and_penetration() -> None:
    """Two balls of different masses meet in the air (nothing else near): one isolated
    collision, whose momentum before and after (gravity's push removed) agree to rounding;
    the shapes overlap only by the contact's few millimetres. Started 0.3 m into each
    other, the overlap at frame 0 is measured exactly and flagged."""
    notes = write_truth(parse_scene(AIR), 32, 32, None)["plausibility"]
    (hit,) = notes["momentum"]
    assert (hit["a"], hit["b"], hit["flagged"]) == ("left", "right", False)
    assert hit["error"] < 1e-9 and notes["momentum_error"] == hit["error"]
    assert 0 < notes["penetration"] < 0.02 and notes["penetration_at"]["frame"] == hit["frame"]
    assert notes["outliers"] == [] and notes["flagged"] is False
    overlapping = AIR.replace("position: [6, 5], velocity: [-3, 1.5]", "position: [2.4, 5]")
    notes = write_truth(parse_scene(overlapping), 32, 32, None)["plausibility"]
    assert abs(notes["penetration"] - 0.3) < 1e-12  # 0.4 + 0.3 − 0.4 m apart
    assert notes["penetration_at"] == {"frame": 0, "a": "left", "b": "right"}
    assert notes["outliers"] == ["penetration"] and notes["flagged"] is True


def test_momentum_is_checked_only_where_nothing_else_pushes_and_a_change_is_flagged() -> None:
    """A ball on the floor hit by another is not isolated (the floor pushes); hand-made
    Frames in which the pair gains 5 % momentum sideways in a collision are flagged; a box
    against a ball and a ball against a wall overlap by their known depths."""
    floor = ("world: {size: [8, 8]}\ntiming: {duration: 1, fps: 16}\nbodies:\n"
             "  - {kind: floor, name: floor, y: 0}\n"
             "  - {kind: ball, name: rest, radius: 0.4, position: [4, 0.4]}\n"
             "  - {kind: ball, name: rolling, radius: 0.4, position: [1, 0.4],"
             " velocity: [5, 0]}\n")  # fmt: skip
    notes = write_truth(parse_scene(floor), 32, 32, None)
    assert any({c["a"], c["b"]} == {"rest", "rolling"} for c in notes["collisions"])
    assert notes["plausibility"]["momentum"] == []
    layout = Clip(parse_scene(AIR), 32, 32).layout
    check = IsolatedCollisions(layout)
    m = layout.masses()
    hit = Event(0.1, 24, "begin", "left", "right")
    gain = 0.05 * (2 * m[0] + 2 * m[1])  # 5 % of the momenta's sizes: over the 1 %
    after = (2 * m[0] - 2 * m[1] + gain) / m[1]
    for index, (velocity, events) in enumerate([([[2, 0], [-2, 0]], ()),
                                                ([[2, 0], [-2, 0]], (hit,)),
                                                ([[0, 0], [after, 0]], ())]):  # fmt: skip
        check.add(Frame(index, 0.0, np.zeros((2, 2)), np.zeros(2),
                        np.array(velocity, dtype=float), np.zeros(2), events))  # fmt: skip
    (recorded,) = check.checked
    assert recorded["flagged"] is True and recorded["frame"] == 1
    assert abs(recorded["error"] - 0.05) < 1e-12
    for body, depth, pair in [
        ("{kind: box, name: box, size: [1, 1], position: [6, 4]}", 0.1, {"box", "ball"}),
        ("{kind: ball, name: low, radius: 0.4, position: [4, 0.45]}", 0.05, {"walls", "low"}),
    ]:  # a ball 0.3 m round at x = 6.7: 0.1 m into the box; the walls' inner side at 0.1 m
        shapes = ("world: {size: [8, 8], walls: true}\nbodies:\n  - " + body +
                  "\n  - {kind: ball, name: ball, radius: 0.3, position: [6.7, 4]}\n")  # fmt: skip
        clip = Clip(parse_scene(shapes), 32, 32)
        found, a, b = penetration(clip.layout, next(iter(clip.frames())).frame)
        assert abs(found - depth) < 1e-12 and {clip.layout.names[a], clip.layout.names[b]} == pair


def test_bodies_that_keep_still_reuse_their_pixels_with_the_same_ids() -> None:
    """Under a still camera the floor, the wall and a ball come to rest: their pixels are
    reused from the frame before, and every frame's ids equal a fresh computation."""
    still = SCENE.replace("camera: {mode: follow, target: ball, smoothing: 0.05}\n", "")
    scene = parse_scene(still.replace("velocity: [4, 3]", "velocity: [0, 0]"))
    clip = Clip(scene, 80, 60)
    masks: truth.Masks = {}
    reused = 0
    for shown in clip.frames():
        before = {row: known[2] for row, known in masks.items()}
        ids, full = truth.instance_ids(clip.layout, shown.frame, shown.view, masks)
        fresh, fresh_full = truth.instance_ids(clip.layout, shown.frame, shown.view)
        assert np.array_equal(ids, fresh) and np.array_equal(full, fresh_full)
        reused += sum(1 for row, mask in before.items() if masks[row][2] is mask)
    assert reused >= 2 * 9  # floor and wall on every frame after the first
