"""Ctrl-C or a kill during a render leaves nothing half-written at the target path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT, SCENES


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_render_leaves_no_output(tmp_path: Path, signum: int) -> None:
    target = tmp_path / "pile.mp4"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "physics_scenes", "render", str(SCENES / "ball_pile.yaml"),
         "-o", str(target), "--preset", "360p"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".pile.mp4.partial") for p in tmp_path.iterdir()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the render never started writing"
        time.sleep(0.02)
    time.sleep(0.3)  # well into the render, with frames already encoded
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, (stdout, stderr)
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


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
