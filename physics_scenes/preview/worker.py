"""The preview's simulation in a second process, so the window draws while physics runs.

On this 2-core machine a 1000-ball pile costs ≈ 8 ms a frame to simulate and ≈ 14 ms
to draw and show; in one process that caps the window near 38 frames/s, and Python
threads do not help (pymunk holds the GIL: measured slower than serial). So a
``History`` lives in a worker process that simulates ahead of playback and sends
each new Frame back; the window keeps its own copy of the frames it was sent.

``RemoteHistory`` has the ``History`` interface the window uses. Anything that
changes which frames are true (a grab, leaving a fork) runs in the worker and
clears the window's copy, which then refills from the worker's own cache.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from ..frame import Frame, Layout, pack, unpack
from ..physics.world import World
from ..scene.model import Scene
from .history import History, SceneClock

AHEAD = 90
"""Frames the worker simulates past the one shown, while playing."""


def _serve(scene: Scene, conn: Connection) -> None:
    timeline = History(scene)
    want = 0
    while True:
        if not conn.poll(0 if timeline.frontier < want else 0.05):
            if timeline.frontier < want and not timeline.holding:
                frame = timeline.frame(timeline.frontier + 1)
                conn.send(("frame", pack(frame), timeline.steps))
            continue
        try:
            request, *args = conn.recv()
        except (EOFError, OSError):  # the window went away without saying goodbye
            return
        if request == "stop":
            return
        if request == "want":
            want = min(args[0], timeline.frame_count - 1)
            continue
        if request == "frame":
            result: Any = pack(timeline.frame(args[0]))
        elif request == "body_at":
            result = timeline.body_at(*args)
        elif request in ("grab", "drag", "release"):
            getattr(timeline, request)(*args)
            result = None
        else:  # pragma: no cover - the proxy sends nothing else
            raise ValueError(request)
        conn.send(("reply", result, timeline.steps, timeline.fork_at, timeline.frontier))


class RemoteHistory(SceneClock):
    """A ``History`` running in a worker process; the window's view of it."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.layout: Layout = World(scene).layout  # the worker builds its own world
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(scene, theirs), daemon=True)
        self._process.start()
        theirs.close()
        self._frames: dict[int, Frame] = {}
        self.steps = 0
        self.fork_at: int | None = None
        self.frontier = 0
        self.holding = False

    def want(self, index: int) -> None:
        """Ask the worker to simulate ahead up to frame ``index``."""
        self._conn.send(("want", index))

    def poll(self) -> None:
        self._drain()

    def _drain(self) -> None:
        while self._conn.poll(0):
            self._take(self._conn.recv())

    def _take(self, message: tuple[Any, ...]) -> Any:
        kind, payload, self.steps, *rest = message
        if kind == "frame":
            frame = unpack(payload)
            self._frames[frame.index] = frame
            self.frontier = max(self.frontier, frame.index)
            return None
        fork_at, self.frontier = rest
        if fork_at != self.fork_at:  # the true frames changed: refill from the worker
            self._frames.clear()
            self.fork_at = fork_at
        return payload

    def _ask(self, *request: object) -> Any:
        self._conn.send(request)
        while True:
            message = self._conn.recv()
            if message[0] == "reply":
                return self._take(message)
            self._take(message)

    def ready(self, index: int) -> bool:
        """Already simulated (or a held body: the worker then steps on request only)."""
        self._drain()
        return self.holding or self.clamp(index) <= self.frontier

    def frame(self, index: int) -> Frame:
        index = self.clamp(index)
        self._drain()
        if self.fork_at is not None and index < self.fork_at:
            self._frames.clear()
        elif index in self._frames:
            return self._frames[index]
        frame = unpack(self._ask("frame", index))
        self._frames[index] = frame
        return frame

    def body_at(self, index: int, point: tuple[float, float], reach: float) -> str | None:
        return self._ask("body_at", index, point, reach)  # type: ignore[no-any-return]

    def grab(self, index: int, name: str, point: tuple[float, float]) -> None:
        self._ask("grab", index, name, point)
        self._frames = {i: f for i, f in self._frames.items() if i <= index}
        self.holding = True

    def drag(self, point: tuple[float, float]) -> None:
        self._ask("drag", point)

    def release(self) -> None:
        self._ask("release")
        self.holding = False

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(("stop",))
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()
