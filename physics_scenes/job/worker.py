"""A clip's frames computed in a second process, so physics overlaps drawing and encoding.

Measured on 2 cores with 1000 balls: simulating a frame costs about as much as
drawing, converting and writing it, so running them one after the other leaves a
core idle. The worker builds its own ``Clip`` from the same scene (the same code,
so the same frames, bit for bit) and sends each ``ClipFrame`` down a pipe; the
pipe's buffer is the bounded queue: a worker that gets ahead blocks, and memory
stays flat however long the video.

The worker is a fresh interpreter (``python -m physics_scenes.job.worker``), not a
``multiprocessing`` child: it inherits no open files (a forked child kept ffmpeg's
stdin open, so ffmpeg never saw the end of its input), does not re-run the caller's
script (spawn does, which breaks scripts without a ``__main__`` guard), and is safe
from threaded callers.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Generator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..frame import pack, unpack
from ..output.atomic import deepen_pipe
from ..picture.camera import ShotRecord
from ..picture.view import View
from ..scene.captions import Caption, Cue
from ..scene.files import Root
from ..scene.model import Scene
from .clip import Clip, ClipFrame

DONE = "done"
FAILED = "failed"
PIPE_BYTES = 1 << 20
"""The queue between the processes: ≈ 10 frames of 1000 bodies. Linux's default 64 KiB
holds less than one, which kept the two processes in lockstep (measured: no overlap)."""
AVAILABLE = os.name == "posix"
"""Passing the pipe to the worker needs ``pass_fds`` (POSIX); elsewhere renders are serial."""


Packed = tuple[Any, ...]


def pack_clip(item: ClipFrame) -> Packed:
    """A ClipFrame for a pipe (plain tuples and arrays: nothing pickled by class)."""
    return (pack(item.frame), _view(item.view), item.video_time, (item.shot.index, item.shot.mode),
            tuple(pack(sub) for sub in item.shutter), tuple(sorted(item.hidden)),
            tuple((c.start, c.end, c.style.model_dump()) for c in item.cues),
            tuple(sorted(item.mirrored)),
            None if item.outgoing is None else (_view(item.outgoing[0]), *item.outgoing[1:]),
            )  # fmt: skip


def _view(view: View) -> tuple[Any, ...]:
    return (view.center, view.scale, view.width, view.height, view.rotation)


def unpack_clip(packed: Packed) -> ClipFrame:
    frame, view, video_time, shot, shutter, hidden, cues, mirrored, outgoing = packed
    leaving = None if outgoing is None else (View(*outgoing[0]), *outgoing[1:])
    return ClipFrame(unpack(frame), View(*view), video_time, ShotRecord(*shot),
                     tuple(unpack(sub) for sub in shutter), frozenset(hidden),
                     tuple(Cue(a, b, Caption(**style)) for a, b, style in cues),
                     frozenset(mirrored), leaving)  # fmt: skip


def produce(
    scene: Scene, width: int, height: int, source_dir: Root | None, start: int, conn: Connection
) -> None:
    """The worker's side: every ClipFrame from ``start`` on down ``conn``, then DONE (or
    FAILED, error). Frames before ``start`` are computed (they lead to the others) but not sent."""
    try:
        clip = Clip(scene, width, height, source_dir)
        for item in clip.frames():
            if item.frame.index < start:
                continue
            conn.send(pack_clip(item))
        conn.send(DONE)
    except (BrokenPipeError, EOFError, OSError):
        return  # the parent stopped reading: it failed or was interrupted
    except BaseException as error:
        try:
            conn.send((FAILED, error))
        except Exception:
            conn.send((FAILED, RuntimeError(f"{type(error).__name__}: {error}")))
    finally:
        conn.close()


def _worker_env() -> dict[str, str]:
    """This process's environment, with this copy of the package first on the path (it
    may have been imported from a checkout the worker would not otherwise find)."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])  # the folder holding physics_scenes
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    return env


def frames_in_worker(
    scene: Scene, width: int, height: int, source_dir: Root | None = None, start: int = 0
) -> Generator[ClipFrame, None, None]:
    """The frames of ``Clip(scene, width, height, source_dir).frames()`` from ``start`` on,
    made in a worker."""
    read_end, write_end = os.pipe()
    deepen_pipe(write_end, PIPE_BYTES)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "physics_scenes.job.worker", str(write_end)],
            stdin=subprocess.PIPE, pass_fds=(write_end,), env=_worker_env(),
            start_new_session=True,  # Ctrl-C reaches the parent, which decides
        )  # fmt: skip
    finally:
        os.close(write_end)
    conn = Connection(read_end, writable=False)
    try:
        assert process.stdin is not None
        with process.stdin:
            pickle.dump((scene, width, height, source_dir, start), process.stdin)
        while True:
            try:
                message = conn.recv()
            except EOFError:
                raise RuntimeError("the simulation process stopped without finishing") from None
            if message == DONE:
                break
            if message[0] == FAILED:
                raise message[1]
            yield unpack_clip(message)
    finally:
        conn.close()  # a worker still writing gets a broken pipe and exits
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


PROBE_FRAMES = 30
"""Frames made in this process between decisions whether a worker would pay."""
WORKER_START = 1.0
"""Seconds a worker takes to start (a fresh interpreter importing the package), measured."""
HANDOFF = 0.0005
"""Seconds a frame costs to send, receive and unpack."""


def worth_a_worker(
    simulating: float, rest: float, frames: int, remaining: int, catch_up: float | None = None
) -> bool:
    """Whether overlapping the physics with the rest saves more than the worker costs.

    ``simulating`` and ``rest``: seconds spent over the last ``frames`` frames on the
    physics and on everything else (drawing, encoding, files). Overlap saves the smaller
    of the two per frame; the worker costs its start plus catching up on the frames
    already made (``catch_up`` seconds of physics; by default ``simulating``).
    """
    if frames <= 0 or remaining <= 0:
        return False
    saved = remaining * (min(simulating, rest) / frames - HANDOFF)
    return saved > 1.5 * (WORKER_START + (simulating if catch_up is None else catch_up))


def clip_frames(
    clip: Clip, scene: Scene, source_dir: Root | None, parallel: bool | None
) -> Generator[ClipFrame, None, None]:
    """The clip's frames: in a worker (``parallel=True``), in this process (``False``), or
    (None) in this process, and every ``PROBE_FRAMES`` frames a look at whether the
    physics of the last ones is costly enough for a worker to pay, and a switch if it is.
    Physics often grows costly as a scene goes on (balls raining into a pile), so one look
    at the start is not enough. The bytes are the same either way; only the speed differs."""
    picture = clip.picture
    if not AVAILABLE or clip.blur is not None:
        parallel = False  # motion blur samples the physics between frames while drawing
    if parallel:
        yield from frames_in_worker(scene, picture.width, picture.height, source_dir)
        return
    serial = clip.frames()
    total = simulating = rest = 0.0
    started = time.perf_counter()
    for item in serial:
        made = time.perf_counter()
        simulating += made - started
        yield item
        started = time.perf_counter()
        rest += started - made
        done = item.frame.index + 1
        if parallel is not None or done % PROBE_FRAMES:
            continue
        total += simulating
        if worth_a_worker(simulating, rest, PROBE_FRAMES, clip.frame_count - done, total):
            serial.close()
            yield from frames_in_worker(scene, picture.width, picture.height, source_dir, done)
            return
        simulating = rest = 0.0


def _main() -> None:
    conn = Connection(int(sys.argv[1]), readable=False)
    # what frames_in_worker sends: produce's arguments before conn
    args: tuple[Scene, int, int, Path | None, int] = pickle.load(sys.stdin.buffer)
    produce(*args, conn)


if __name__ == "__main__":
    _main()
