"""Signals and kills at any moment of a render leave the old outputs or the new ones, whole,
and no temporary file: real processes, real signals (os.kill), real SIGKILL."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from physics_scenes.output.atomic import PAUSE_ENV, recover

from helpers import ROOT, SCENES

SMALL = """\
name: small
seed: 3
timing: {frames: 10, fps: 20}
bodies:
  - {kind: floor, name: ground}
  - {kind: ball, name: ball, radius: 0.5, position: [3, 1], velocity: [1, -6]}
"""
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


def start(*args: str, pause: float | None = None, cwd: Path = ROOT) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    if pause is not None:
        env[PAUSE_ENV] = str(pause)
    return subprocess.Popen(  # unsigned: sets are compared byte for byte, and signatures
        # are salted afresh each run (a failed signing leaves nothing: test_provenance)
        [sys.executable, "-m", "physics_scenes", "render", "--no-sign", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(process: subprocess.Popen[str], folder: Path, pattern: str) -> Path:
    """The first path matching ``pattern`` under ``folder``, once the process makes it."""
    deadline = time.monotonic() + 90
    while not (found := sorted(folder.glob(pattern))):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{pattern} never appeared"
        time.sleep(0.01)
    return found[0]


def snapshot(folder: Path) -> dict[str, bytes | dict[str, bytes]]:
    """Every entry of ``folder`` (one level of subfolders) with its bytes."""
    out: dict[str, bytes | dict[str, bytes]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            out[path.name] = {p.name: p.read_bytes() for p in sorted(path.iterdir())}
        else:
            out[path.name] = path.read_bytes()
    return out


def stopped(process: subprocess.Popen[str], signum: int) -> str:
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT[signum], (process.returncode, stdout, stderr)
    assert "Traceback" not in stderr and "no partial output was left behind" in stderr, stderr
    return stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_render_leaves_no_output(tmp_path: Path, signum: int) -> None:
    process = start(str(SCENES / "ball_pile.yaml"), "-o", str(tmp_path / "pile.mp4"),
                    "--preset", "360p")  # fmt: skip
    wait_for(process, tmp_path, ".ps-*.partial/new/pile.states.jsonl")
    time.sleep(0.3)  # well into the render, with frames already encoded
    process.send_signal(signum)
    stopped(process, signum)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow  # a 30 s render; .ci/run runs it
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_sound_is_mastered_stops_the_render(tmp_path: Path, signum: int) -> None:
    """After the last frame the 30 s track is mixed and mastered (about 1.5 s): the WAV
    appears in the staging folder only then. A signal there used to be ignored."""
    process = start(str(SCENES / "bouncing_balls.yaml"), "-o", str(tmp_path / "b.jsonl"),
                    "--audio", "wav", "--duration", "30")  # fmt: skip
    wait_for(process, tmp_path, ".ps-*.partial/new/b.wav")
    time.sleep(0.2)
    assert process.poll() is None, "the mastering should still be running"
    process.send_signal(signum)
    stopped(process, signum)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def two_sets(tmp_path: Path, name: str, *options: str) -> tuple[Path, dict, dict]:
    """A scene file, and the outputs of seed 1 (old) and seed 2 (new) rendered to ``name``."""
    scene = tmp_path / "small.yaml"
    scene.write_text(SMALL)
    sets = []
    for seed in ("1", "2"):
        folder = tmp_path / f"seed{seed}"
        process = start(str(scene), "-o", str(folder / name), "--seed", seed, "-q", *options)
        output = process.communicate(timeout=60)
        assert process.returncode == 0, output
        sets.append(snapshot(folder))
    assert sets[0] != sets[1] and len(sets[0]) >= 3
    return scene, sets[0], sets[1]


@pytest.mark.slow  # 8 s of real signals; .ci/run runs it
def test_a_signal_during_the_commit_waits_for_it_and_still_stops(tmp_path: Path) -> None:
    """The commit's renames hold signals back: SIGTERM in the middle of them leaves the
    complete new set (no mix of old and new), then the command exits 143."""
    scene, _old, new = two_sets(tmp_path, "c.mp4", "--audio", "wav", "--size", "64x36")
    folder = tmp_path / "seed1"
    process = start(str(scene), "-o", str(folder / "c.mp4"), "--seed", "2", "--audio", "wav",
                    "--size", "64x36", pause=0.2)  # fmt: skip
    wait_for(process, folder, ".ps-*.partial/old/*")  # the first old entry moved aside
    process.send_signal(signal.SIGTERM)  # mid-commit, whatever the machine's load
    stderr = stopped(process, signal.SIGTERM)
    assert "stopped by SIGTERM" in stderr
    assert snapshot(folder) == new


KILLS = 5
"""SIGKILLs per format; PHYSICS_SCENES_TEST_KILL_SEED picks other random moments."""


@pytest.mark.slow  # ten renders; .ci/run runs it
@pytest.mark.parametrize(
    "name, options",
    [
        ("c.mp4", ("--audio", "wav", "--size", "64x36")),
        pytest.param("frames", ("--size", "64x36"), marks=pytest.mark.slow),  # same commit code
    ],
)
def test_sigkill_at_random_moments_of_the_commit_leaves_the_old_set_or_the_new(
    tmp_path: Path, name: str, options: tuple[str, ...]
) -> None:
    """The commit is slowed down (a test-only pause between its renames) and the process
    SIGKILLed at a random moment in each of KILLS equal slices of it (and a little after).
    Afterwards (once the next run's recovery has run) the folder holds exactly the old
    set or exactly the new one, and no temporary file. Both outcomes must be seen."""
    scene, old, new = two_sets(tmp_path, name, *options)
    pause = 0.1
    commit_time = (2 * len(new) + 2) * pause
    rng = random.Random(int(os.environ.get("PHYSICS_SCENES_TEST_KILL_SEED", "21")))
    outcomes = []
    for run in range(KILLS):
        folder = tmp_path / f"run{run}"
        shutil.copytree(tmp_path / "seed1", folder)
        process = start(str(scene), "-o", str(folder / name), "--seed", "2", "-q", *options,
                        pause=pause)  # fmt: skip
        wait_for(process, folder, ".ps-*.partial/manifest")
        time.sleep((run + rng.random()) / KILLS * commit_time * 1.3)
        process.kill()
        process.communicate(timeout=30)
        recover(folder, name.removesuffix(".mp4"))
        after = snapshot(folder)
        assert after in (old, new), (run, sorted(after))
        outcomes.append("old" if after == old else "new")
    assert set(outcomes) == {"old", "new"}, outcomes


@pytest.mark.slow  # a killed 1000-ball render; .ci/run runs it
def test_the_next_run_cleans_up_after_a_killed_one(tmp_path: Path) -> None:
    """SIGKILL mid-render leaves its staging folder (up to tens of MB); the next render of
    the same target deletes it, and leaves alone the one of a process that is alive."""
    process = start(str(SCENES / "ball_pile.yaml"), "-o", str(tmp_path / "pile.jsonl"))
    wait_for(process, tmp_path, ".ps-*.partial/new/pile.jsonl")
    time.sleep(0.5)
    process.kill()
    process.communicate(timeout=30)
    (left,) = tmp_path.glob(".ps-*.partial")
    assert (left / "new" / "pile.jsonl").stat().st_size > 0
    alive = tmp_path / left.name.replace(f"-{process.pid}-", f"-{os.getpid()}-")
    shutil.copytree(left, alive)
    legacy = tmp_path / f".pile.jsonl.partial-{process.pid}"  # an earlier version's name
    legacy.write_bytes(b"x" * 1000)
    scene = tmp_path / "small.yaml"
    scene.write_text(SMALL)
    again = start(str(scene), "-o", str(tmp_path / "pile.jsonl"), "-q")
    output = again.communicate(timeout=60)
    assert again.returncode == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, "pile.jsonl", "pile.metadata.json", "small.yaml"]
    )


STARTED = (
    "import sys\n"
    "from physics_scenes.__main__ import main\n"
    "sys.argv = ['physics-scenes', 'validate', sys.argv[1]]\n"
    "print('started', flush=True)\n"
    "sys.exit(main())\n"
)
"""What the ``physics-scenes`` script does (import the entry point, call it), saying
when the interpreter is up: a signal before that lands in Python's own start-up (site,
the module search), which no program can handle."""


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1, 0.2])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(delay: float) -> None:
    """An interrupt while the command is still importing its modules, or loading the
    scene, is reported in one line with exit 130 (exit 0 if it had already finished)."""
    process = subprocess.Popen(
        [sys.executable, "-c", STARTED, str(SCENES / "ball_pile.yaml")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline() == "started\n"
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    if process.returncode == 130:
        assert stderr == "physics-scenes: interrupted; no partial output was left behind\n"
    elif process.returncode == -signal.SIGINT:
        assert stderr == "" and "ok" in stdout  # finished; SIGINT came during shutdown
    else:
        assert process.returncode == 0 and "ok" in stdout, (process.returncode, stderr)


def test_an_interrupt_while_importing_the_command_is_handled() -> None:
    """Deterministic twin of the test above: the interrupt lands inside the import of
    the command's modules (the slowest part of start-up)."""
    code = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def interrupting(name, *args, **kwargs):\n"
        "    if name == 'cli' or name.endswith('.cli'):\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupting\n"
        "from physics_scenes.__main__ import main\n"
        "sys.exit(main())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 130, result.stderr
    assert result.stderr == "physics-scenes: interrupted; no partial output was left behind\n"
