"""The physics probe on tiny synthetic clips (fast): what it measures, what it flags, its
outputs, and its messages for clips it cannot measure. The validation on our own
renders is in test_probe_validation.py (slow)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from physics_scenes.cli import main
from physics_scenes.probe.run import Options, probe

W, H, FPS, G = 200, 120, 30.0, 240.0  # G: pixels per second², y down


def _ball_clip(folder: Path, n: int = 30, jump: int | None = None,
               grow: int | None = None) -> np.ndarray:  # fmt: skip
    """A red ball thrown up and across at sub-pixel positions (drawn with OpenCV, not our
    renderer), optionally teleported or grown from one frame; returns its true path."""
    folder.mkdir()
    t = np.arange(n) / FPS
    path = np.stack([30 + 100 * t, 90 - 140 * t + 0.5 * G * t**2], 1)
    if jump is not None:
        path[jump:, 0] += 60
    for i, (x, y) in enumerate(path):
        image = np.full((H, W, 3), (28, 22, 20), np.uint8)
        cv2.rectangle(image, (0, 110), (W, H), (96, 85, 74), -1)
        radius = 7 if grow is None or i < grow else 10
        center = (round((x - 0.5) * 16), round((y - 0.5) * 16))  # pixel (i, j) covers [i, i+1)
        cv2.circle(image, center, radius * 16, (40, 40, 220), -1, cv2.LINE_AA, shift=4)
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    return path


def test_gravity_and_the_path_of_a_thrown_ball(tmp_path: Path) -> None:
    truth = _ball_clip(tmp_path / "clip")
    result = probe(tmp_path / "clip", Options(fps=FPS))
    assert len(result.tracks) == 1 and result.violations == []
    assert result.gravity == pytest.approx(G, rel=0.03)
    track = result.tracks[0]
    error = np.hypot(np.array(track.x) - truth[track.frames, 0],
                     np.array(track.y) - truth[track.frames, 1])  # fmt: skip
    assert np.median(error) < 0.5
    assert result.names[track.id] == "the red object"


def test_a_teleport_is_flagged_at_its_frame(tmp_path: Path) -> None:
    _ball_clip(tmp_path / "clip", jump=17)
    result = probe(tmp_path / "clip", Options(fps=FPS))
    assert [(v.kind, v.frame) for v in result.violations] == [("teleport", 17)]
    assert "jumps 60 px" in result.violations[0].message


def test_a_ball_that_grows_is_flagged_at_its_frame(tmp_path: Path) -> None:
    _ball_clip(tmp_path / "clip", grow=12)
    result = probe(tmp_path / "clip", Options(fps=FPS))
    assert [(v.kind, v.frame) for v in result.violations] == [("size", 12)]


def test_the_command_writes_trajectories_and_a_report(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    truth = _ball_clip(tmp_path / "clip")
    out = tmp_path / "report"
    assert main(["probe", str(tmp_path / "clip"), "--fps", "30", "--reference", "100:2",
                 "-o", str(out), "--json"]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert printed["gravity"]["m_per_s2"] == pytest.approx(G * 0.02, rel=0.03)
    assert printed == json.loads((out / "report.json").read_text())
    data = json.loads((out / "trajectories.json").read_text())
    (obj,) = data["objects"]
    assert [p["frame"] for p in obj["points"]] == list(range(len(truth)))
    with open(out / "trajectories.csv", encoding="utf-8") as table:
        rows = list(csv.DictReader(table))
    assert float(rows[5]["y_m"]) == pytest.approx((H - truth[5, 1]) * 0.02, abs=0.02)
    assert "Plausibility 100 / 100" in (out / "report.html").read_text()
    # a flat backdrop holds no still scenery: whether the camera moves cannot be told,
    # and the probe says so
    assert printed["camera"]["seen"] == "still"
    assert printed["camera"]["motion_observable"] is False
    assert main(["probe", str(tmp_path / "clip"), "--fps", "30", "-o", str(out)]) == 0
    assert "held too little still scenery to tell" in capsys.readouterr().out
    picture = cv2.imread(str(out / "report.png"))
    assert picture is not None and picture.shape[1] >= W
    # a second run replaces its own report; a folder holding other files is refused
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    assert main(["probe", str(tmp_path / "clip"), "-o", str(tmp_path / "other"), "-q"]) == 1
    assert "not an earlier probe report" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["keep.txt"]


def _still(folder: Path, count: int) -> Path:
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((40, 60, 3), 90, np.uint8))
    return folder


@pytest.mark.parametrize(
    ("make", "code", "message"),
    [
        (lambda p: p / "missing.mp4", 1, "no such file or folder"),
        (lambda p: (p / "notes.mp4").write_text("not a video") and p / "notes.mp4", 1,
         "not a video OpenCV can read"),
        (lambda p: (p / "empty").mkdir() or p / "empty", 1, "the folder holds no PNG frames"),
        (lambda p: _still(p / "one", 1), 1, "1 frame; motion needs at least two"),
        (lambda p: _still(p / "still", 12), 3, "nothing moves in 12 frames"),
    ],
)  # fmt: skip
def test_clips_it_cannot_measure_get_a_message_and_an_exit_code(
    tmp_path: Path,
    capsys,
    make,
    code: int,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    assert main(["probe", str(make(tmp_path)), "-o", str(tmp_path / "out")]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_usage_errors() -> None:
    with pytest.raises(SystemExit) as stop:
        main(["probe", "x.mp4", "--reference", "abc"])
    assert stop.value.code == 2


def test_a_states_file_without_cameras_is_refused_with_its_line(tmp_path: Path) -> None:
    from physics_scenes.probe.camera import read_cameras
    from physics_scenes.probe.source import ProbeError

    states = tmp_path / "x.states.jsonl"
    states.write_text('{"type": "header"}\n{"type": "frame", "index": 0, "camera": {}}\n')
    with pytest.raises(ProbeError, match=r"x.states.jsonl:2: frame 0 has no camera.matrix"):
        read_cameras(states)
    states.write_text('{"type": "header"}\nnot json\n')
    with pytest.raises(ProbeError, match=r"x.states.jsonl:2:1: not JSON"):
        read_cameras(states)


def test_against_and_states_together_are_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["probe", str(tmp_path / "x.mp4"), "--states", "s.jsonl", "--against", "x.yaml"])
    assert code == 2
    assert "use one of them" in capsys.readouterr().err


def _panning_clip(folder: Path, n: int = 36) -> tuple[list[np.ndarray], np.ndarray]:
    """A red ball thrown in front of blocky scenery, seen by a camera that pans 50 px and
    zooms in 15 %: the frames, each frame's true map to the first frame's pixels, and the
    ball's path in the first frame's pixels."""
    folder.mkdir()
    rng = np.random.default_rng(3)
    blocks = rng.integers(30, 110, (12, 30), dtype=np.uint8)
    scenery = cv2.resize(blocks, (600, 240), interpolation=cv2.INTER_NEAREST)
    scenery = cv2.cvtColor(scenery, cv2.COLOR_GRAY2BGR)
    t = np.arange(n) / FPS
    path = np.stack([120 + 90 * t, 100 - 150 * t + 0.5 * G * t**2], 1)  # first frame's px
    maps = []
    for i in range(n):
        zoom, pan = 1.0 + 0.15 * i / (n - 1), 50.0 * i / (n - 1)
        to_frame = np.array([[zoom, 0.0, -zoom * (100 + pan)], [0.0, zoom, -zoom * 60]])
        first = np.array([[1.0, 0.0, -100.0], [0.0, 1.0, -60.0]])  # scenery -> frame 0
        image = cv2.warpAffine(scenery, to_frame, (W, H), flags=cv2.INTER_LINEAR)
        x, y = (path[i] - first[:, 2]) * zoom + to_frame[:, 2]  # frame 0 -> scenery -> here
        center = (round((x - 0.5) * 16), round((y - 0.5) * 16))
        cv2.circle(image, center, round(7 * zoom * 16), (40, 40, 220), -1, cv2.LINE_AA, shift=4)
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
        back = np.linalg.inv(np.vstack([to_frame, [0, 0, 1]]))  # frame -> scenery
        maps.append((np.vstack([first, [0, 0, 1]]) @ back)[:2])
    return maps, path


def test_a_panning_zooming_camera_is_measured_from_the_scenery(tmp_path: Path) -> None:
    # the probe finds the camera moving and puts the frames on a still canvas: gravity
    # and the path as if the camera had stood still at its first frame
    maps, path = _panning_clip(tmp_path / "pan", n=24)
    result = probe(tmp_path / "pan", Options(fps=FPS))
    assert result.camera == "picture" and result.motion is not None
    grid = np.array([[x, y, 1.0] for x in (0, W / 2, W) for y in (0, H / 2, H)])
    found = result.motion.maps
    worst = max(float(np.abs(grid @ (m - e).T).max()) for m, e in zip(maps, found, strict=True))
    assert result.motion.lost == 0 and worst < 0.25, worst  # px, at the frame's corners
    assert not result.motion.unobservable
    assert result.violations == []
    assert result.gravity == pytest.approx(G, rel=0.02)
    (track,) = result.tracks
    to_canvas = result.first_to_canvas
    assert to_canvas is not None
    truth = path[track.frames] @ to_canvas[:, :2].T + to_canvas[:, 2]
    assert np.median(np.hypot(truth[:, 0] - track.x, truth[:, 1] - track.y)) < 0.3
    # taken as still, the zoom reads as growth and the pan as motion
    still = probe(tmp_path / "pan", Options(fps=FPS, still=True))
    assert still.camera == "still" and still.violations != []


def test_spin_is_read_from_the_mark_and_a_jump_in_flight_is_flagged(tmp_path: Path) -> None:
    # two balls thrown side by side, each with a dark dash from centre to rim (drawn with
    # OpenCV): the left turns at 4 rad/s throughout, the right at -3 rad/s until frame
    # 15 and 5 rad/s after it, with nothing touching it
    folder = tmp_path / "spin"
    folder.mkdir()
    n, radius = 30, 11.0
    t = np.arange(n) / FPS
    for i in range(n):
        image = np.full((H, W, 3), (28, 22, 20), np.uint8)
        turns = (4.0 * t[i], -3.0 * t[i] if i < 15 else -3.0 * t[15] + 5.0 * (t[i] - t[15]))
        for k, (x0, turn) in enumerate(zip((50.0, 140.0), turns, strict=True)):
            x, y = x0 + 20 * t[i], 90 - 140 * t[i] + 0.5 * G * t[i] ** 2
            color = ((40, 40, 220), (220, 120, 40))[k]
            cv2.circle(image, _px(x, y), round(radius * 16), color, -1, cv2.LINE_AA, shift=4)
            ends = [
                (x + f * radius * np.cos(turn), y - f * radius * np.sin(turn)) for f in (0.35, 0.9)
            ]
            cv2.line(image, _px(*ends[0]), _px(*ends[1]), (30, 30, 110), 2, cv2.LINE_AA, shift=4)
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    result = probe(folder, Options(fps=FPS))
    by_x = sorted(result.tracks, key=lambda track: track.x[0])
    spins = {s.track: s.omega for s in result.spins}
    assert spins[by_x[0].id] == pytest.approx(4.0, abs=0.1)
    ((jump),) = result.violations
    # the angle at frame 15 is on both lines: the new spin first shows at frame 16
    assert (jump.kind, jump.objects, jump.frame) == ("spin", (by_x[1].id,), 16)
    assert jump.value == pytest.approx(8.0, abs=0.5)


def _px(x: float, y: float) -> tuple[int, int]:
    """A continuous position as OpenCV's fixed point (4 bits; pixel i covers [i, i+1))."""
    return round((x - 0.5) * 16), round((y - 0.5) * 16)
