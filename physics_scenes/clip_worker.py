"""A clip's frames computed in a second process, so physics overlaps drawing and encoding.

Measured on 2 cores with 1000 balls: simulating a frame costs about as much as
drawing, converting and writing it, so running them one after the other leaves a
core idle. The worker builds its own ``Clip`` from the same scene (the same code,
so the same frames, bit for bit) and sends each ``ClipFrame`` down a pipe; the
pipe's buffer is the bounded queue: a worker that gets ahead blocks, and memory
stays flat however long the video.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .camera import Shot
from .clip import Clip, ClipFrame
from .frame import pack, unpack
from .render import View
from .scene import Scene

DONE = "done"
FAILED = "failed"


def _context() -> Any:
    """A clean process that inherits no open files. A plain fork would also inherit
    every pipe the caller holds (ffmpeg's stdin among them: ffmpeg then never sees the
    end of its input) and is unsafe in a threaded caller. The fork server (POSIX) is
    started once per program, with this module imported, and forks quickly after that."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


PIPE_BYTES = 1 << 20
"""The queue between the processes: ≈ 10 frames of 1000 bodies. Linux's default 64 KiB
holds less than one, which kept the two processes in lockstep (measured: no overlap)."""


def _deepen(conn: Connection) -> None:
    """Grow the pipe's buffer where the OS allows it (Linux); elsewhere keep the default."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _produce(
    scene: Scene, width: int, height: int, source_dir: Path | None, conn: Connection
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C does
    try:
        clip = Clip(scene, width, height, source_dir)
        for item in clip.frames():
            view = item.view
            conn.send(
                (pack(item.frame), (view.center, view.scale, view.width, view.height,
                 view.rotation), item.video_time, (item.shot.index, item.shot.mode))
            )  # fmt: skip
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


def frames_in_worker(
    scene: Scene, width: int, height: int, source_dir: Path | None = None
) -> Iterator[ClipFrame]:
    """The frames of ``Clip(scene, width, height, source_dir).frames()``, made in a worker."""
    context = _context()
    ours, theirs = context.Pipe(duplex=False)
    _deepen(ours)
    process = context.Process(
        target=_produce, args=(scene, width, height, source_dir, theirs), daemon=True
    )
    process.start()
    theirs.close()
    try:
        while True:
            try:
                message = ours.recv()
            except EOFError:
                raise RuntimeError("the simulation process stopped without finishing") from None
            if message == DONE:
                break
            if message[0] == FAILED:
                raise message[1]
            frame, view, video_time, shot = message
            yield ClipFrame(unpack(frame), View(*view), video_time, Shot(*shot))
    finally:
        ours.close()
        process.join(timeout=0 if process.exitcode is not None else 1)
        if process.is_alive():
            process.terminate()
            process.join()
