"""The local engine: a pool of processes on this machine (the default).

One process per worker, kept for the whole batch, forked by multiprocessing's
``forkserver``: a clean server process (no state and no threads copied from the
command, such as the progress bar's) that imports the render machinery once
(``PRELOAD``), so each worker starts with it loaded instead of importing it again
(``spawn`` did: seconds per worker on a busy machine, which a short batch never won
back). At most two tasks per worker are in flight, so memory stays flat however many
items there are. With one worker the tasks run in the command's own process, in order.

>>> list(ProcessPool(1).map(abs, [-1, 2, -3]))
[1, 2, 3]
"""

from __future__ import annotations

import multiprocessing
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing.context import BaseContext
from typing import TypeVar

from ...output.atomic import process_alive

T = TypeVar("T")
R = TypeVar("R")
IN_FLIGHT = 2
"""Tasks queued per worker: enough to keep it busy, few enough to keep memory flat."""


PRELOAD = (
    "physics_scenes.job.dataset",
    "physics_scenes.picture.renderer",
    "h5py",
    "physics_scenes.job.engines.warm",
)
"""Modules the fork server imports once for every worker (the renderer brings pygame;
h5py writes HDF5 items, and is skipped where not installed: the server ignores an
ImportError; ``warm`` does what a worker's first item would otherwise do once)."""


def _start_worker(command: int, variables: dict[str, str | None]) -> None:
    """In each worker: the command's ``PYTHONPATH`` and ``PYTHONSAFEPATH`` again (the
    server was given others, ``start_server``), and ``_watch_parent``."""
    for name, value in variables.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _watch_parent(command)


def _watch_parent(command: int) -> None:
    """In each worker: exit when the command is gone (killed with -9 too), instead of
    waiting forever for tasks (a half-done item is cleaned by the next run). The worker's
    parent is the fork server, which lives as long as any worker does, so the worker
    watches the command itself: a pidfd (Linux) is readable once it has exited, even
    before it is reaped; elsewhere it is asked twice a second."""

    def watch() -> None:
        try:
            handle = os.pidfd_open(command)
        except (AttributeError, OSError):  # not Linux, or already gone
            while process_alive(command):
                time.sleep(0.5)
        else:
            select.select([handle], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="watch-command", daemon=True).start()


def _context() -> BaseContext:
    """``forkserver`` with ``PRELOAD``, started (``start_server``); ``spawn`` on Windows."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    start_server()
    return multiprocessing.get_context("forkserver")


_PATH_VARIABLES = ("PYTHONPATH", "PYTHONSAFEPATH")


def start_server() -> None:
    """Start the fork server now, if it is not running, rather than at the first task: it
    imports ``PRELOAD`` (~0.6 s of CPU) on one core while the command imports and reads
    the rest on the other (``batch`` calls it first). Nothing happens where there is no
    fork server.

    The server gets this process's ``sys.path`` (as ``PYTHONPATH``, without the folder it
    is started in: ``PYTHONSAFEPATH``): Python 3.11's server ignores the path it is
    handed and puts its working folder first, so a command run from a folder holding
    another copy of ``physics_scenes`` (a source tree) had its workers import that copy."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(PRELOAD))
    saved = {name: os.environ.get(name) for name in _PATH_VARIABLES}
    os.environ["PYTHONPATH"] = os.pathsep.join(path or os.getcwd() for path in sys.path)
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ProcessPool:
    """Runs tasks in ``workers`` processes; results come back as they finish."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be 1 or more, got {workers}")
        self.workers = workers

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        if self.workers == 1:
            for task in tasks:
                yield fn(task)
            return
        variables = {name: os.environ.get(name) for name in _PATH_VARIABLES}
        pool = ProcessPoolExecutor(
            self.workers, mp_context=_context(), initializer=_start_worker,
            initargs=(os.getpid(), variables),
        )  # fmt: skip
        try:
            pending: set[Future[R]] = set()
            queue = iter(tasks)
            for task in queue:
                pending.add(pool.submit(fn, task))
                if len(pending) >= IN_FLIGHT * self.workers:
                    break
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
                for task in queue:
                    pending.add(pool.submit(fn, task))
                    if len(pending) >= IN_FLIGHT * self.workers:
                        break
        finally:
            # on an error or interrupt: drop what has not started, let the rest finish
            # (an item in progress is then complete, or discarded by its own worker)
            pool.shutdown(wait=True, cancel_futures=True)
