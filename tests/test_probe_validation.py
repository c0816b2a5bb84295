"""The probe against the truth of our own renders (slow): scenes simulated and drawn by
physics_scenes, compared with their states (positions through the camera matrix, the
velocities at each floor bounce), and the same scenes broken on purpose."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import probe_clips as pc
import pytest

from physics_scenes.probe.run import Options, probe
from physics_scenes.probe.track import MEASURED

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import probe_validation as pv

pytestmark = pytest.mark.slow


def test_gravity_restitution_and_paths_of_a_correct_render(tmp_path: Path) -> None:
    # seed 2: since 20 solver iterations, seed 0's scene has a ball-ball hit just before a
    # floor bounce, where the probe's restitution is off (0.56 for 0.46: a documented limit,
    # see benchmarks/README.md), and seed 1's has one measurable bounce; this test is about
    # a clean clip with several (seeds 2 and 3 both pass)
    balls = pc.random_balls(2)
    images, truth = pc.make(pc.scene_text(balls, 2.5, 30), pv.W, pv.H)
    result = probe(pc.write_png_folder(images, tmp_path / "clip"), Options(fps=30))
    assert result.violations == []
    assert result.gravity == pytest.approx(truth.gravity_px, rel=0.03)
    tracks = [
        (
            np.array(t.frames)[np.array(t.kind) == MEASURED],
            np.array([t.x, t.y]).T[np.array(t.kind) == MEASURED],
        )
        for t in result.tracks
    ]
    owner = pc.match(tracks, truth)
    assert sorted(owner.values()) == truth.rows  # one track per ball
    for i, (frames, xy) in enumerate(tracks):
        assert np.median(np.hypot(*(truth.pixels[frames, owner[i]] - xy).T)) < 1.0
    ids = [t.id for t in result.tracks]
    checked = 0
    for row, frame, e in truth.bounces:
        for bounce in result.bounces:
            if owner[ids.index(bounce.track)] == row and abs(bounce.frame - frame) <= 1:
                assert bounce.restitution == pytest.approx(e, abs=0.05)
                checked += 1
    assert checked >= 2
    # each ball's spin (its mark, over each free flight) against the angles drawn
    assert len(result.spins) >= len(truth.rows)
    for spin in result.spins:
        angle = truth.angles[:, owner[ids.index(spin.track)]]  # type: ignore[index]
        drawn = (angle[spin.last] - angle[spin.first]) * 30 / (spin.last - spin.first)
        assert spin.omega == pytest.approx(drawn, abs=0.1)


@pytest.mark.parametrize(
    "kind",
    ["gravity", "restitution", "teleport", "vanish", "size", "overlap", "merge", "split", "spin"],
)
def test_each_broken_render_is_flagged_at_its_frame(kind: str, tmp_path: Path) -> None:
    _, text, edit = next(case for case in pv.broken_cases(3) if case[0] == kind)
    images, truth = pc.make(text, pv.W, pv.H, edit)
    assert truth.violation is not None
    want, first, last = truth.violation
    if kind == "split":  # two balls that merge, played backwards: one ball splits
        images = images[::-1]
        want, first, last = "split", len(images) - 1 - last, len(images) - 1 - first
    result = probe(pc.write_png_folder(images, tmp_path / "clip"), Options(fps=30))
    hits = [v for v in result.violations if v.kind == want]
    assert hits and first - 1 <= hits[0].frame <= last + 1, [v.message for v in result.violations]


@pytest.mark.parametrize("variant", ["crf28", "half"])
def test_robust_to_compression_and_resizing(variant: str, tmp_path: Path) -> None:
    images, truth = pc.make(pc.scene_text(pc.random_balls(1), 2.5, 30), pv.W, pv.H)
    result, scale = pv.run_probe(images, truth, tmp_path / "ok", variant)
    assert result.violations == []
    assert result.gravity / scale[1] == pytest.approx(truth.gravity_px, rel=0.03)
    _, text, edit = next(case for case in pv.broken_cases(1) if case[0] == "teleport")
    images, truth = pc.make(text, pv.W, pv.H, edit)
    result, _ = pv.run_probe(images, truth, tmp_path / "bad", variant)
    assert truth.violation is not None
    assert [v.frame for v in result.violations if v.kind == "teleport"] == [truth.violation[1]]


def test_against_the_scene_gives_each_body_its_position_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from physics_scenes.cli import main

    scene = tmp_path / "two.yaml"
    scene.write_text(pc.scene_text(pc.random_balls(4, count=2), 1.5, 30))
    frames = tmp_path / "frames"
    assert main(["render", str(scene), "-o", str(frames), "--size", "480x270", "-q"]) == 0
    out = tmp_path / "report"
    assert (
        main(["probe", str(frames), "--fps", "30", "--against", str(scene), "-o", str(out), "-q"])
        == 0
    )
    against = json.loads((out / "against.json").read_text())
    assert sorted(o["body"] for o in against["objects"]) == ["b0", "b1"]
    assert against["bodies_not_found"] == []
    for obj in against["objects"]:
        assert obj["median_px"] < 1.0
        assert len(obj["error_px"]) >= 40  # followed for most of the 45 frames


def test_a_crowd_of_twenty_balls_gives_no_false_alarm(tmp_path: Path) -> None:
    # 20 balls that collide, pile up and roll against each other: before blobs were split
    # between the bodies sharing them, this clip gave 21 violations (overlap, size, vanish,
    # gravity). Not every crowd is clean yet: see benchmarks/README.md for the counts.
    images, truth = pc.make(pc.scene_text(pc.crowd_balls(1), 3.0, 30, walls=True), pv.CW, pv.CH)
    result = probe(pc.write_png_folder(images, tmp_path / "clip"), Options(fps=30))
    assert result.violations == [], [v.message for v in result.violations]
    assert result.gravity == pytest.approx(truth.gravity_px, rel=0.01)
    assert 20 <= len(result.tracks) <= 22


def test_a_moving_camera_is_undone_with_the_states_file_or_from_the_picture(
    tmp_path: Path,
) -> None:
    # a keyframe camera pans 2-4 m and zooms: on the canvas the states' camera matrices
    # give, gravity comes out in m/s² and the paths sit on the simulated ones; without
    # the states the pan and zoom are measured from the scenery, with the same result in
    # the first frame's pixels; taken as still, the camera's motion reads as the balls'
    run = pv.moving_camera(1, tmp_path)
    assert run["g"] == pytest.approx(1.0, abs=0.03)
    assert run["g_picture"] == pytest.approx(1.0, abs=0.03)
    assert run["camera"] == ("picture", 0)
    assert run["alarms"] == [] and run["alarms_picture"] == []
    assert run["alarms_raw"] != []
    assert run["balls"][0] == run["balls"][1]  # tracks, with either (a ball cut by the
    # picture's edge may come in pieces); every ball is followed, seen whole:
    assert len(run["px"]) == len(run["px_picture"]) == run["balls"][2]  # type: ignore[arg-type]
    assert max(run["px"]) < 1.0  # type: ignore[call-overload]
    assert max(run["px_picture"]) < 1.0  # type: ignore[call-overload]


def test_bodies_sliding_down_a_ramp_are_no_gravity_violation(tmp_path: Path) -> None:
    # before, a slide's acceleration (g·sin θ, not vertical) was fitted as a flight with
    # 0.12 g and all three balls were flagged; now it is a slope with its angle
    images, truth = pc.make(pc.ramp_text(), pv.W, pv.H)
    result = probe(pc.write_png_folder(images, tmp_path / "clip"), Options(fps=30))
    assert result.violations == [], [v.message for v in result.violations]
    assert result.gravity == pytest.approx(truth.gravity_px, rel=0.03)
    x0, y0, x1, y1 = pc.RAMP
    angle = np.degrees(np.arctan2(y0 - y1, x1 - x0))
    slides = [s for s in result.segments if np.isfinite(s.slope) and s.last - s.first > 30]
    assert len(slides) == 2  # the two released balls, each down the whole ramp
    for s in slides:
        assert s.slope == pytest.approx(angle, abs=1.0)
        along = np.hypot(s.ax, s.g) / np.sin(np.radians(angle))
        assert along == pytest.approx(truth.gravity_px, rel=0.03)  # frictionless: g·sin θ


def test_a_hit_between_two_balls_keeps_its_momentum(tmp_path: Path) -> None:
    # a big and a small ball (one density) meet in the air: the probe pairs their flights
    # around the hit and finds the total momentum kept (masses from the areas it sees)
    meet = [
        {"p": [3.0, 5.0], "r": 0.5, "v": [4.0, 6.0], "c": pc.PALETTE[0], "e": 0.7},
        {"p": [13.0, 4.6], "r": 0.35, "v": [-4.0, 6.0], "c": pc.PALETTE[1], "e": 0.7},
    ]
    images, _ = pc.make(pc.scene_text(meet, 1.6, 30), pv.W, pv.H)
    result = probe(pc.write_png_folder(images, tmp_path / "clip"), Options(fps=30))
    assert len(result.collisions) == 1
    hit = result.collisions[0]
    assert 30 <= hit.frame <= 40
    big, small = sorted(hit.masses, reverse=True)
    assert 0.3 < small / big < 0.6  # (0.35 / 0.5)² = 0.49, less what the erosion takes
    assert hit.momentum_change < 0.1


@pytest.mark.parametrize(
    ("seed", "kind", "variant"),
    [(1, "vanish", "png"), (2, "size", "png"), (2, "teleport", "png"), (1, "teleport", "noise")],
)
def test_a_broken_crowd_is_flagged_at_its_frame(
    seed: int, kind: str, variant: str, tmp_path: Path
) -> None:
    # the three crowd cases the probe missed before (benchmarks/README.md): a ball that
    # vanishes beside others (its track had been carried off by a new one born on a
    # blob four balls shared), one that grows while a neighbour is near but not in
    # contact (near points were left out of the size check), and one that jumps to the
    # picture's edge (an object coming in at the edge was never half of a teleport);
    # and with noise, one whose track lost it for a few frames and then went on on
    # something else (a short vanish and an appearance are one teleport)
    _, text, edit = next(case for case in pv.crowd_cases(seed) if case[0] == kind)
    images, truth = pc.make(text, pv.CW, pv.CH, edit)
    assert truth.violation is not None
    want, first, last = truth.violation
    result, _ = pv.run_probe(images, truth, tmp_path / "clip", variant)
    hits = [v for v in result.violations if v.kind == want]
    assert hits and first - 1 <= hits[0].frame <= last + 1, [v.message for v in result.violations]


def test_balls_of_one_colour_are_told_apart_by_their_motion(tmp_path: Path) -> None:
    # 20 balls in 10 colours knock each other about for 3 s at 60 fps: one track per
    # ball, none carried over to its twin, and no violation (before, balls knocked
    # upwards read as gravity reversed and bounces gaining height: a track that ended
    # the clip in a pile had lost its size, so no neighbour ever touched it)
    images, truth = pc.make(pc.shared_colors_text(3.0, 60), pv.CW, pv.CH)
    result = probe(pc.write_png_folder(images, tmp_path / "clip"), Options(fps=60))
    assert result.violations == [], [v.message for v in result.violations]
    assert result.gravity == pytest.approx(truth.gravity_px, rel=0.01)
    seen = [np.array(t.kind) == MEASURED for t in result.tracks]
    tracks = [
        (np.array(t.frames)[k], np.array([t.x, t.y]).T[k])
        for t, k in zip(result.tracks, seen, strict=True)
    ]
    owner = pc.match(tracks, truth)
    assert sorted(owner.values()) == truth.rows  # one track per ball
    for i, (frames, xy) in enumerate(tracks):
        # every measured point is nearer its own ball than any other (no swap)
        d = np.hypot(*(truth.pixels[frames][:, truth.rows] - xy[:, None]).transpose(2, 0, 1))
        assert (np.array(truth.rows)[np.argmin(d, axis=1)] == owner[i]).all()


def test_a_pass_through_is_seen_under_compression(tmp_path: Path) -> None:
    # under CRF 28 the blob of two balls at their deepest is 1.15x one ball: the track
    # merged with its owner the frame before stays in it, so the overlap is seen
    _, text, edit = next(case for case in pv.broken_cases(0) if case[0] == "overlap")
    images, truth = pc.make(text, pv.W, pv.H, edit)
    result, _ = pv.run_probe(images, truth, tmp_path / "bad", "crf28")
    assert truth.violation is not None
    _, first, last = truth.violation
    hits = [v.frame for v in result.violations if v.kind == "overlap"]
    assert hits and first - 1 <= hits[0] <= last + 1, [v.message for v in result.violations]
