"""Nothing that existed is lost, nothing temporary stays: existing targets, odd names,
failures while opening, writing and committing (issue 21)."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from physics_scenes import parse_scene
from physics_scenes.cli import main
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output import atomic
from physics_scenes.output.sink import ExportError

from helpers import ROOT

SMALL = """\
name: small
seed: 3
timing: {frames: 6, fps: 20}
bodies:
  - {kind: floor, name: ground}
  - {kind: ball, name: ball, radius: 0.5, position: [3, 1], velocity: [1, -6]}
"""
SCENE = parse_scene(SMALL)


def cli(*args: str, cwd: Path = ROOT, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def limited() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "physics_scenes", *args], cwd=cwd, capture_output=True,
        text=True, stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=limited,
    )  # fmt: skip


def render(scene: Path, target: Path, *options: str) -> int:
    return main(["render", str(scene), "-o", str(target), "--size", "64x36", "-q", *options])


def contents(folder: Path) -> dict[str, bytes | list[str]]:
    return {
        p.name: sorted(q.name for q in p.iterdir()) if p.is_dir() else p.read_bytes()
        for p in sorted(folder.iterdir())
    }


def test_a_folder_holding_other_files_is_never_replaced(write_scene, tmp_path, capsys) -> None:
    scene = write_scene(SMALL)
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    (folder / "frame_000000.png").write_bytes(b"mine too")
    before = contents(tmp_path)
    for options in ((), ("--overwrite",)):
        assert render(scene, folder, *options) == 1
        err = capsys.readouterr().err
        assert "holds files this render would not write" in err and "holiday.jpg" in err
        assert contents(tmp_path) == before  # and no temporary left
    assert (folder / "holiday.jpg").read_bytes() == b"precious"


def test_an_existing_file_needs_overwrite_unless_an_earlier_render_wrote_it(
    write_scene, tmp_path, capsys
) -> None:
    scene = write_scene(SMALL)
    target = tmp_path / "out" / "c.mp4"
    target.parent.mkdir()
    target.write_bytes(b"someone's video")
    assert render(scene, target) == 1
    err = capsys.readouterr().err
    assert "c.mp4 already exists" in err and "--overwrite" in err
    assert target.read_bytes() == b"someone's video"
    assert sorted(p.name for p in target.parent.iterdir()) == ["c.mp4"]
    assert render(scene, target, "--overwrite") == 0
    first = contents(target.parent)
    assert first["c.mp4"][:8] != b"someone'"  # type: ignore[index]
    assert render(scene, target, "--seed", "4") == 0  # the earlier render's: replaced
    assert contents(target.parent) != first
    assert json.loads((target.parent / "c.metadata.json").read_text())["seed"] == 4


def test_a_foreign_metadata_file_does_not_vouch_for_the_target(
    write_scene, tmp_path, capsys
) -> None:
    scene = write_scene(SMALL)
    (tmp_path / "c.mp4").write_bytes(b"not ours")
    (tmp_path / "c.metadata.json").write_text('{"output": {"files": ["c.mp4"]}}')
    assert render(scene, tmp_path / "c.mp4") == 1
    assert "c.mp4 already exists" in capsys.readouterr().err
    assert (tmp_path / "c.mp4").read_bytes() == b"not ours"


def test_a_folder_is_never_replaced_by_a_file(write_scene, tmp_path, capsys) -> None:
    scene = write_scene(SMALL)
    (tmp_path / "c.mp4").mkdir()
    (tmp_path / "c.mp4" / "x").write_text("x")
    assert render(scene, tmp_path / "c.mp4", "--overwrite") == 1
    assert "is a folder" in capsys.readouterr().err
    assert (tmp_path / "c.mp4" / "x").read_text() == "x"


def test_readme_example_rerender_needs_no_flag(write_scene, tmp_path) -> None:
    """The common case: the same command twice (a PNG folder and an MP4 with its WAV)."""
    scene = write_scene(SMALL)
    for target, options in ((tmp_path / "frames", ()), (tmp_path / "c.mp4", ("--audio", "wav"))):
        assert render(scene, target, *options) == 0
        assert render(scene, target, *options) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", [".", "..", "sub/.."])
def test_dot_names_are_refused_without_a_traceback(write_scene, tmp_path, name) -> None:
    result = cli("render", str(write_scene(SMALL)), "-o", name, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "give a file or folder name" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.yaml"]


def test_the_longest_legal_names_work_and_longer_ones_fail_clearly(write_scene, tmp_path) -> None:
    """The temporary names are short: outputs whose longest name (the metadata's) is
    exactly 255 bytes are written; one byte more is a clear error, not a traceback."""
    scene = write_scene(SMALL)
    stem = "é" * 50 + "x" * (255 - len(".metadata.json") - 100)
    assert len(os.fsencode(stem + ".metadata.json")) == 255
    assert render(scene, tmp_path / f"{stem}.jsonl") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{stem}.jsonl", f"{stem}.metadata.json", "scene.yaml"]
    )
    result = cli("render", str(scene), "-o", str(tmp_path / f"{stem}y.jsonl"))
    assert result.returncode == 1 and "name is too long" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # 3 s; .ci/run runs it
def test_a_folder_named_like_an_ffmpeg_protocol_gets_the_video(write_scene, tmp_path) -> None:
    scene = write_scene(SMALL)
    result = cli("render", str(scene), "-o", "file:odd/c.mp4", "--size", "64x36", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    video = tmp_path / "file:odd" / "c.mp4"
    assert video.stat().st_size > 1000 and video.read_bytes()[4:8] == b"ftyp"
    assert not (tmp_path / "odd").exists()
    gif = cli("render", str(scene), "--output=-y.gif", "--size", "64x36", cwd=tmp_path)
    assert gif.returncode == 0 and (tmp_path / "-y.gif").read_bytes()[:6] == b"GIF89a"


def test_escape_codes_in_names_do_not_reach_the_terminal(write_scene, tmp_path) -> None:
    text = SMALL.replace("name: small", 'name: "\\e]0;owned\\a\\e[2J"').replace(
        "name: ball,", 'name: "ball\\e[31m",'
    )
    result = cli("info", str(write_scene(text, "scene\x1b[1m.yaml")))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b]0;owned\\x07\\x1b[2J" in result.stdout and "ball\\x1b[31m" in result.stdout
    missing = cli("validate", str(tmp_path / "gone\x1b[31m.yaml"))
    assert missing.returncode == 1 and "gone\\x1b[31m.yaml" in missing.stderr
    assert "\x1b" not in missing.stderr


@pytest.mark.slow  # 3 s; .ci/run runs it
def test_a_full_disk_while_the_states_are_written_loses_nothing(write_scene, tmp_path) -> None:
    """RLIMIT_FSIZE makes writes past 20 kB fail with a real OS error (EFBIG) while the
    states file is written, as a full disk would with ENOSPC: exit 1 with the reason,
    the earlier render's outputs untouched, no temporary left."""
    scene = write_scene(SMALL.replace("frames: 6", "frames: 400"))
    target = tmp_path / "out" / "d.jsonl"
    assert cli("render", str(scene), "-o", str(target), "--seed", "1").returncode == 0
    before = contents(target.parent)
    result = cli("render", str(scene), "-o", str(target), "--seed", "2", limit=20_000)
    assert result.returncode == 1, result.stderr
    assert "cannot write output" in result.stderr and "File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert contents(target.parent) == before


def test_a_folder_that_cannot_be_written_gives_a_clear_error(write_scene, tmp_path) -> None:
    """As root no permission bit stops a write, so the temporary folder's creation is
    made to fail another way: the output's folder is a file. Nothing changes."""
    scene = write_scene(SMALL)
    (tmp_path / "notafolder").write_text("keep")
    result = cli("render", str(scene), "-o", str(tmp_path / "notafolder" / "c.mp4"))
    assert result.returncode == 1, result.stderr
    assert (
        f"cannot write output: [Errno 17] File exists: '{tmp_path / 'notafolder'}'" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert (tmp_path / "notafolder").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notafolder", "scene.yaml"]


def test_a_sink_that_fails_as_it_opens_leaves_no_temporary(tmp_path) -> None:
    """An odd width fails the MP4 sink's open(), after the sound sink has opened."""
    with pytest.raises(ExportError, match="even"):
        run(RenderJob(SCENE, tmp_path / "c.mp4", "mp4", 65, 36))
    assert list(tmp_path.iterdir()) == []


def test_a_failing_final_rename_rolls_the_set_back(tmp_path, monkeypatch) -> None:
    """The third rename of the commit fails: the two already made are undone, the old
    set is back and no temporary stays."""
    run(RenderJob(SCENE, tmp_path / "c.mp4", "mp4", 64, 36))
    before = contents(tmp_path)
    renames = []
    real = Path.rename

    def failing(self: Path, target: Path) -> Path:
        if self.parent.name == "new":
            renames.append(self.name)
            if len(renames) == 3:
                raise OSError(5, "Input/output error")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    new_scene = SCENE.model_copy(update={"seed": 8})
    with pytest.raises(OSError, match="Input/output"):
        run(RenderJob(new_scene, tmp_path / "c.mp4", "mp4", 64, 36))
    assert len(renames) == 3  # c.wav is not kept: c.mp4 and c.states.jsonl were installed
    monkeypatch.undo()
    assert contents(tmp_path) == before


def test_recovery_rolls_back_a_commit_killed_half_way(tmp_path) -> None:
    """A journal left by a dead process, with one name swapped and one not: recovery
    puts the old entries back and deletes the staging folder."""
    for name in ("c.mp4", "c.metadata.json"):
        (tmp_path / name).write_text("old")
    staging = tmp_path / f".ps-{atomic.stem_key('c')}-999999999-abc.partial"
    (staging / "new").mkdir(parents=True)
    (staging / "old").mkdir()
    (staging / "old" / "c.mp4").write_text("old")
    (tmp_path / "c.mp4").write_text("new")  # swapped
    (staging / "new" / "c.metadata.json").write_text("new")  # not yet
    write_manifest(staging, {"c.mp4": tmp_path / "c.mp4", "c.metadata.json": None})
    atomic.recover(tmp_path, "c")
    assert contents(tmp_path) == {"c.metadata.json": b"old", "c.mp4": b"old"}


def write_manifest(staging: Path, installed: dict[str, Path | None]) -> None:
    """The journal as a commit writes it: names, and the device and inode of each new
    entry (here: of the file that stands for it, or of the one still in new/)."""
    ids = []
    for name, path in installed.items():
        status = os.lstat(path if path is not None else staging / "new" / name)
        ids.append([status.st_dev, status.st_ino])
    (staging / "manifest").write_text(json.dumps({"names": list(installed), "ids": ids}))


def test_recovery_leaves_alone_what_a_later_render_put_there(tmp_path) -> None:
    """A dead run had installed its c.mp4, then another render replaced it: rolling the
    dead run back must not delete the other render's file (found by review)."""
    staging = tmp_path / f".ps-{atomic.stem_key('c')}-999999999-abc.partial"
    (staging / "new").mkdir(parents=True)
    (staging / "old").mkdir()
    (staging / "old" / "c.mp4").write_text("original")
    dead_runs = tmp_path / "c.mp4"
    dead_runs.write_text("dead run's")
    write_manifest(staging, {"c.mp4": dead_runs})
    later = tmp_path / ".later"
    later.write_text("later render's")
    later.replace(dead_runs)  # as a later commit installs its file: another inode
    atomic.recover(tmp_path, "c")
    assert contents(tmp_path) == {"c.mp4": b"later render's"}


def test_overwrite_never_replaces_a_device_or_a_pipe(tmp_path) -> None:
    fifo = tmp_path / "c.mp4"
    os.mkfifo(fifo)
    scene = tmp_path / "small.yaml"
    scene.write_text(SMALL)
    code = main(["render", str(scene), "-o", str(fifo), "--overwrite", "-q"])
    assert code == 1 and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_killed_process_not_yet_reaped_counts_as_dead() -> None:
    # kill -9 then the same command at once: the killed run's staging must be recovered
    # although its processes may still be zombies (reaped later by their parent or init)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert atomic.process_alive(child.pid)
        child.kill()
        deadline = 50
        while deadline and not atomic._zombie(child.pid):  # exited, not reaped: a zombie
            os.sched_yield()
            deadline -= 1
            subprocess.run(["true"])  # let the kernel finish the exit
        assert atomic._zombie(child.pid)
        assert not atomic.process_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not atomic.process_alive(child.pid)
    assert atomic.process_alive(os.getpid())


def test_a_new_folder_is_made_under_its_staging_name_and_committed_with_the_umasks_mode(
    tmp_path: Path,
) -> None:
    """A dataset item's folder is made as ``.ps-…partial`` in one step (nothing a kill
    could leave unrecognised), committed with the umask's mode like any folder; a bare
    ``.ps-KEY-PID-XXXX`` folder that an earlier version's ``mkdtemp`` left is recovered."""
    item = atomic.NewFolder(tmp_path / "000007")
    assert atomic._STAGING.fullmatch(item.temp.name)[3] == "partial"  # type: ignore[index]
    (item.temp / "item.json").write_text("{}")
    item.commit()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "000007").stat().st_mode) == 0o777 & ~umask
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    left = tmp_path / f".ps-{atomic.stem_key('000008')}-{child.pid}-abcd1234"
    left.mkdir()
    atomic.recover(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000007"]
    with pytest.raises(atomic.TargetExistsError):
        again = atomic.NewFolder(tmp_path / "000007")
        (again.temp / "item.json").write_text("{}")
        again.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000007"]
