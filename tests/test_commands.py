"""The physics-scenes command: outputs, options, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from physics_scenes.cli import main
from physics_scenes.scene.model import json_schema

from helpers import ROOT, SCENES, decode_video

SMALL = """\
name: small
seed: 3
timing: {frames: 10, fps: 20}
bodies:
  - {kind: floor, name: ground}
  - {kind: ball, name: ball, radius: 0.5, position: [3, 4]}
"""
BAD = "bodies:\n  - {kind: ball, name: a, radius: 1}\n  - {kind: ball, name: b, radius: -1}\n"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "physics_scenes.cli", *args],
        cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_render_writes_video_states_and_metadata(write_scene, tmp_path, capsys) -> None:
    scene = write_scene(SMALL)
    assert main(["render", str(scene), "-o", str(tmp_path / "out" / "c.mp4"), "--size",
                 "160x96"]) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "c.metadata.json", "c.mp4", "c.states.jsonl"
    ]  # fmt: skip
    out = capsys.readouterr()
    assert "wrote" in out.out and "10 frames" in out.out
    assert "\x1b[" not in out.out + out.err, "no progress bar or colours when not a terminal"
    video = decode_video(tmp_path / "out" / "c.mp4")
    assert (len(video.frames), video.size, video.fps) == (10, (160, 96), 20.0)


def test_options_override_the_scene(write_scene, tmp_path, capsys) -> None:
    scene = write_scene(SMALL)
    target = tmp_path / "c.mp4"
    code = main(["render", str(scene), "-o", str(target), "--preset", "360p", "--fps", "10",
                 "--duration", "1.5", "--seed", "9", "--no-states", "--quiet"])  # fmt: skip
    assert code == 0 and capsys.readouterr().out == ""
    assert not (tmp_path / "c.states.jsonl").exists()
    metadata = json.loads((tmp_path / "c.metadata.json").read_text())
    assert metadata["seed"] == 9 and metadata["timing"]["frame_count"] == 15
    video = decode_video(target)
    assert (len(video.frames), video.size, video.fps) == (15, (640, 360), 10.0)


def test_format_comes_from_the_extension_or_the_flag(write_scene, tmp_path) -> None:
    scene = write_scene(SMALL)
    assert main(["render", str(scene), "-o", str(tmp_path / "f"), "--size", "64x36", "-q"]) == 0
    assert len(list((tmp_path / "f").glob("frame_*.png"))) == 10
    assert main(["render", str(scene), "-o", str(tmp_path / "g.gif"), "--size", "64x36", "-q"]) == 0
    assert (tmp_path / "g.gif").read_bytes()[:6] == b"GIF89a"
    assert main(["render", str(scene), "-o", str(tmp_path / "d.jsonl"), "-q"]) == 0
    assert json.loads((tmp_path / "d.jsonl").read_text().splitlines()[0])["type"] == "header"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-o", "x.mp4", "--format", "gif"], "does not match"),
        (["-o", "x.avi"], "cannot tell the format"),
        (["--size", "100x"], "WIDTHxHEIGHT"),
        (["--fps", "0"], "positive"),
        (["--fps", "1000"], "less than or equal to 240"),
        (["--size", "161x96"], "even"),
        (["-o", "x\0.mp4"], "cannot hold a NUL byte"),
        (["--fps", "1000"], "--fps: must be less than or equal to 240 (got 1000)"),
        (
            ["--duration", "1e9"],
            "--duration: must be less than or equal to 1000000 (got 1000000000.0)",
        ),
    ],
)
def test_bad_command_lines_exit_2_with_a_message(write_scene, tmp_path, capsys, args, message):
    scene = write_scene(SMALL)
    args = [a if a != "x.mp4" and a != "x.avi" else str(tmp_path / a) for a in args]
    with pytest.raises(SystemExit) as stopped:
        status = main(["render", str(scene), *args])
        raise SystemExit(status)
    err = capsys.readouterr().err
    assert stopped.value.code == 2, err
    assert message in err and "Traceback" not in err


def test_validate_reports_located_errors_without_traceback(write_scene, tmp_path) -> None:
    good, bad = write_scene(SMALL, "good.yaml"), write_scene(BAD, "bad.yaml")
    ok = cli("validate", str(good))
    assert ok.returncode == 0 and ok.stdout == f"{good}: ok (2 bodies, 10 frames)\n"
    both = cli("validate", str(good), str(bad), str(tmp_path / "missing.yaml"))
    assert both.returncode == 1
    assert f"{bad}:3:35: bodies[1].radius: must be greater than 0 (got -1)" in both.stderr
    assert f"{tmp_path / 'missing.yaml'}:1:1: no such file" in both.stderr
    assert "Traceback" not in both.stderr


def test_render_of_a_bad_scene_exits_1_and_writes_nothing(write_scene, tmp_path) -> None:
    result = cli("render", str(write_scene(BAD)), "-o", str(tmp_path / "out" / "x.mp4"))
    assert result.returncode == 1 and "bodies[1].radius" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_usage_errors_exit_2() -> None:
    assert cli().returncode == 2
    assert cli("render").returncode == 2
    assert cli("frobnicate").returncode == 2


def test_schema_command_prints_the_committed_schema(tmp_path, capsys) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json_schema() and "bodies" in printed["properties"]
    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text()) == printed
    committed = json.loads((ROOT / "schema" / "scene.schema.json").read_text())
    assert committed == printed, "run: physics-scenes schema -o schema/scene.schema.json"


def test_info_summarises_the_scene(write_scene, capsys) -> None:
    assert main(["info", str(write_scene(SMALL))]) == 0
    out = capsys.readouterr().out
    assert "bodies:    2 (1 dynamic, 1 static)" in out
    assert "ground" in out and "ball" in out and "s of simulation at 20 fps" in out
    assert "video:     10 frames = 0.5 s\n" in out


def test_info_counts_joints_and_walkers(capsys) -> None:
    assert main(["info", str(SCENES / "walker_hit_by_ball.yaml")]) == 0
    out = capsys.readouterr().out
    assert "joints:    25 (9 motor, 8 pivot, 8 rotary_limit); walkers: walker" in out
    assert "walker/foot_left" in out


def test_info_lists_the_liquids(capsys) -> None:
    assert main(["info", str(SCENES / "floating_crates.yaml")]) == 0
    out = capsys.readouterr().out
    assert "bodies:    6 (3 dynamic, 3 static)" in out
    pool, tap = "pool (region of water, up to 2000 particles)", "tap (emitter of water, up to"
    assert f"liquids:   {pool}, {tap}" in out and "; 0.05 m apart" in out


def test_a_path_holding_a_nul_byte_is_a_located_error(capsys) -> None:
    """Only from Python (a shell cannot pass one): open() raises ValueError for it."""
    assert main(["validate", "a\0.yaml"]) == 1
    err = capsys.readouterr().err
    assert "a path cannot hold a NUL byte" in err and "Traceback" not in err
