"""The Ray engine: each item a Ray task, on a cluster (``address``) or a local Ray.

Ray (``pip install 'physics-scenes[ray]'``) schedules, retries a task whose worker
died and scales to many machines; it adds nothing on one small machine (measured: no
faster than the process pool on 2 cores, and a local Ray holds about 1 GB). Tasks write
their item folders themselves, so the output folder must be the same path on every
node (shared storage: NFS, a mounted bucket); only the small records come back.

A local Ray started here keeps everything in ``temp_dir`` and nothing in the home
folder: its token authentication gets a random token through the environment (Ray
would otherwise write one to ``~/.ray``), and its workers import this very copy of
physics_scenes (``PYTHONPATH``). It is shut down when the engine closes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ...errors import RenderError

T = TypeVar("T")
R = TypeVar("R")
IN_FLIGHT = 2
"""Tasks queued per CPU of the cluster."""
_AUTH = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")


def _call(fn: Callable[[T], R], task: T) -> R:
    return fn(task)


class RayEngine(AbstractContextManager["RayEngine"]):
    """``with RayEngine(...) as engine: engine.map(fn, tasks)``."""

    def __init__(
        self, workers: int | None = None, address: str | None = None, temp_dir: Path | None = None
    ) -> None:
        self.workers = workers
        self.address = address
        self.temp_dir = temp_dir
        self._started = False
        self._saved: dict[str, str | None] = {}
        self._remote: Any = None

    def __enter__(self) -> RayEngine:
        if self.address is None:  # before Ray is imported: it reads its settings then
            self._saved = {name: os.environ.get(name) for name in _AUTH}
            if all(value is None for value in self._saved.values()):
                os.environ["RAY_AUTH_MODE"] = "token"
                os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        try:
            import ray
        except ImportError:
            self._restore()
            raise RenderError("--engine ray needs Ray: pip install 'physics-scenes[ray]'") from None
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address is None:
                package_root = str(Path(__file__).resolve().parents[3])
                paths = [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
                options["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}
                options["num_cpus"] = self.workers or os.cpu_count() or 1
                if self.temp_dir is not None:
                    self.temp_dir.mkdir(parents=True, exist_ok=True)
                    options["_temp_dir"] = str(self.temp_dir)
            else:
                options["address"] = self.address
            try:
                ray.init(**options)
            except Exception as error:  # Ray's own errors are many and long
                self._restore()
                first = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise RenderError(f"Ray did not start or answer: {first}") from error
            self._started = True
        self._remote = ray.remote(num_cpus=1, max_retries=3)(_call)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        self._restore()

    def _restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved = {}

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        import ray

        assert self._remote is not None, "use the engine inside a with block"
        cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
        limit = IN_FLIGHT * max(1, int(cpus))
        pending: list[Any] = []
        queue = iter(tasks)
        try:
            while True:
                for task in queue:
                    pending.append(self._remote.remote(fn, task))
                    if len(pending) >= limit:
                        break
                if not pending:
                    return
                ready, pending = ray.wait(pending, num_returns=1)
                yield ray.get(ready[0])
        finally:
            for ref in pending:  # an error or interrupt: unstarted tasks are dropped
                ray.cancel(ref)
