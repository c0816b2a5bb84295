"""The local engine: a pool of processes on this machine (the default).

One process per worker, started with ``spawn`` (a fresh interpreter: no state copied
from the command, safe beside threads). At most two tasks per worker are in flight, so
memory stays flat however many items there are. With one worker the tasks run in the
command's own process, in order.

>>> list(ProcessPool(1).map(abs, [-1, 2, -3]))
[1, 2, 3]
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
IN_FLIGHT = 2
"""Tasks queued per worker: enough to keep it busy, few enough to keep memory flat."""


def _watch_parent(parent: int) -> None:
    """In each worker: exit when the command that started it is gone (killed with -9),
    instead of waiting forever for tasks (a half-done item is cleaned by the next run)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


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
