"""The preview's timeline: every frame simulated so far, a live world at the frontier, forks.

Frames are kept, so stepping back or scrubbing shows exactly the frames that were
simulated, bit for bit the frames ``render`` exports. Rewinding by copying pymunk
spaces was measured and rejected: a copy drops pymunk's contact cache, and a
1000-ball pile replayed from a copy differs by up to 1.4 m 200 steps later. When a
world is needed at an earlier frame (to grab a body there) it is re-simulated from
the start, which is exact.

Grabbing a body forks the timeline: the frames after that moment belong to the fork;
going back to before it restores the original timeline and its live world. A fork
keeps the world it started from (untouched) and a log of what the hand did, frame by
frame, so any of its frames can be rebuilt the same way too.
No pygame here, so all of this is tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..frame import Frame, Layout
from ..physics.hand import Hand
from ..physics.simulate import snapshot
from ..physics.world import World
from ..scene.model import Scene

MAX_CACHED_BYTES = 1 << 30
"""Frames kept before the oldest are dropped (they are re-simulated if visited again)."""


Action = tuple[str, tuple[object, ...]]


class SceneClock:
    """Frame arithmetic shared by the local and the remote timeline (needs ``self.scene``)."""

    scene: Scene

    @property
    def fps(self) -> int:
        return self.scene.timing.fps

    @property
    def frame_count(self) -> int:
        return self.scene.timing.frame_count

    def clamp(self, index: int) -> int:
        """The nearest frame that exists."""
        return max(0, min(self.frame_count - 1, index))

    def ready(self, index: int) -> bool:
        """Whether ``frame(index)`` returns without waiting for physics (local: always)."""
        return True

    def poll(self) -> None:
        """Take any frames computed elsewhere (called every tick; local: nothing)."""


@dataclass(slots=True)
class _Branch:
    hand: Hand
    """The branch's live world, with the preview's hand in it."""
    frames: dict[int, Frame]
    frontier: int
    start: int = 0
    base: Hand | None = None
    """For a fork: its world at ``start``, never stepped (copied to replay)."""
    log: dict[int, list[Action]] = field(default_factory=dict)
    """Hand actions by the frame after which they were applied."""
    parent: _Branch | None = None
    """The branch this fork left, which holds the frames before ``start``."""


@dataclass
class History(SceneClock):
    scene: Scene
    steps: int = 0
    """Physics steps taken so far (for the step-rate readout)."""
    fork_at: int | None = None
    _branch: _Branch = field(init=False)
    _original: _Branch | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        world = World(self.scene)
        self._branch = _Branch(Hand(world), {0: snapshot(world, 0, self.fps)}, 0)

    @property
    def layout(self) -> Layout:
        return self._branch.hand.world.layout

    @property
    def frontier(self) -> int:
        """The latest frame simulated on the current branch."""
        return self._branch.frontier

    def frame(self, index: int) -> Frame:
        """Frame ``index`` of the current timeline, simulating forward as needed."""
        index = self.clamp(index)
        if self.fork_at is not None and index < self.fork_at and self._original is not None:
            self._branch, self._original, self.fork_at = self._original, None, None
        branch = self._branch
        if index in branch.frames:
            return branch.frames[index]
        if index < branch.frontier:  # dropped from the cache: rebuild it
            return snapshot(self._rebuild(branch, index, after_hand=False).world, index, self.fps)
        while branch.frontier < index:
            self._advance(branch)
        return branch.frames[index]

    def _advance(self, branch: _Branch) -> None:
        for _ in range(self.scene.timing.substeps):
            branch.hand.world.step()
        self.steps += self.scene.timing.substeps
        branch.frontier += 1
        branch.frames[branch.frontier] = snapshot(branch.hand.world, branch.frontier, self.fps)
        self._trim(branch)

    def _trim(self, branch: _Branch) -> None:
        newest = branch.frames[branch.frontier]
        arrays = (newest.position, newest.angle, newest.velocity, newest.angular_velocity)
        # arrays plus Python objects: ~100 bytes per array, ~250 per Event (measured-ish)
        per_frame = sum(a.nbytes + 100 for a in arrays) + 250 * len(newest.events) + 300
        excess = len(branch.frames) - MAX_CACHED_BYTES // per_frame
        for index in sorted(branch.frames)[: max(0, excess)]:
            if index != 0:
                del branch.frames[index]

    def _rebuild(self, branch: _Branch, index: int, *, after_hand: bool) -> Hand:
        """A world exactly at frame ``index`` of ``branch``: its start, replayed with its log.

        Frames before a fork's start belong to the branch it left, so those are rebuilt
        there. ``after_hand``: also apply what the hand did at ``index`` itself (a frame
        shown at ``index`` was taken before that; a world to grab from comes after).
        """
        while branch.parent is not None and index < branch.start:
            branch = branch.parent
        hand = Hand(World(self.scene)) if branch.base is None else branch.base.fork()
        for frame in range(branch.start, index):
            for action, args in branch.log.get(frame, []):
                getattr(hand, action)(*args)
            for _ in range(self.scene.timing.substeps):
                hand.world.step()
        if after_hand:
            for action, args in branch.log.get(index, []):
                if action != "drag":
                    getattr(hand, action)(*args)
        hand.world.drain_events()
        return hand

    def _act(self, action: str, *args: object) -> None:
        branch = self._branch
        branch.log.setdefault(branch.frontier, []).append((action, args))
        getattr(branch.hand, action)(*args)

    # -- the hand -------------------------------------------------------------------

    def _hand_at(self, index: int) -> Hand:
        branch = self._branch
        if index == branch.frontier:
            return branch.hand
        return self._rebuild(branch, index, after_hand=True)

    def body_at(self, index: int, point: tuple[float, float], reach: float) -> str | None:
        """The dynamic body under ``point`` as frame ``index`` shows it."""
        self.frame(index)
        return self._hand_at(index).body_at(point, reach)

    def grab(self, index: int, name: str, point: tuple[float, float]) -> None:
        """Fork the timeline at frame ``index`` and take hold of ``name`` at ``point``."""
        index = self.clamp(index)
        self.frame(index)  # first leaves a fork that started after index
        branch = self._branch
        base = self._hand_at(index).fork()
        kept = {i: f for i, f in branch.frames.items() if i <= index}
        if self._original is None:
            self._original = branch
        self._branch = _Branch(base.fork(), kept, index, start=index, base=base, parent=branch)
        self.fork_at = index if self.fork_at is None else min(self.fork_at, index)
        self._act("grab", name, point)

    def drag(self, point: tuple[float, float]) -> None:
        self._act("drag", point, 1.0 / self.fps)

    def release(self) -> None:
        if self.holding:
            self._act("release")

    @property
    def holding(self) -> bool:
        return self._branch.hand.holding
