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


PRELOAD = ("physics_scenes.job.dataset", "physics_scenes.picture.renderer", "h5py")
"""Modules the fork server imports once for every worker (the renderer brings pygame;
h5py writes HDF5 items, and is skipped where not installed: the server ignores an
ImportError)."""


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
        context: BaseContext
        if "forkserver" in multiprocessing.get_all_start_methods():
            server = multiprocessing.get_context("forkserver")
            server.set_forkserver_preload(list(PRELOAD))  # read when the server starts
            context = server
        else:  # Windows
            context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
        )
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
