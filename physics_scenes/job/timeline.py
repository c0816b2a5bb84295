"""The video clock versus the simulation clock: slow motion and fast forward.

Physics never changes: the World steps at its fixed dt. A ``Timeline`` only
says which simulation time each output frame shows. The playback rate
``r(s)`` (simulation seconds per video second) is piecewise linear in
simulation time ``s``; video time is ``v(s) = ∫ ds / r(s)``, exact and
invertible piece by piece (a ramp integrates to a logarithm).

Pure and numpy-free (it reads only the scene model), so audio, camera, ``info`` and
tests can all use it:

>>> t = Timeline.from_segments([(1.0, 2.0, 0.25, 0.0)], end=3.0)
>>> t.video_time(1.0), t.video_time(2.0), t.video_time(3.0)
(1.0, 5.0, 6.0)
>>> t.sim_time(5.0)
2.0
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass

from ..scene import camera as cm
from ..scene.model import Scene


@dataclass(frozen=True, slots=True)
class Piece:
    """From ``start`` to ``end`` (simulation seconds) the rate goes linearly from r0 to r1."""

    start: float
    end: float
    r0: float
    r1: float
    v_start: float
    """Video time at ``start``."""

    def video_span(self, s: float) -> float:
        """Video seconds from ``start`` to simulation time ``s`` (within the piece)."""
        ds = s - self.start
        if self.r0 == self.r1 or self.end == self.start:
            return ds / self.r0
        k = (self.r1 - self.r0) / (self.end - self.start)
        return math.log((self.r0 + k * ds) / self.r0) / k

    def sim_span(self, dv: float) -> float:
        """Simulation seconds from ``start`` after ``dv`` video seconds (inverse of video_span)."""
        if self.r0 == self.r1 or self.end == self.start:
            return self.r0 * dv
        k = (self.r1 - self.r0) / (self.end - self.start)
        return (self.r0 * math.exp(k * dv) - self.r0) / k

    def rate(self, s: float) -> float:
        if self.end == self.start:
            return self.r0
        f = (s - self.start) / (self.end - self.start)
        return self.r0 + (self.r1 - self.r0) * f


@dataclass(frozen=True, slots=True)
class Timeline:
    """Maps simulation time ↔ video time; rate 1 (identity) outside any segment.

    Half speed (2x slow motion) from 1 s to 2 s of simulation, over a 3 s run:

    >>> t = Timeline.from_segments([(1.0, 2.0, 0.5, 0.0)], end=3.0)
    >>> t.video_time(2.0), t.sim_time(2.0), t.rate(1.5)
    (3.0, 1.5, 0.5)
    >>> t.video_duration, t.frame_count(60)
    (4.0, 240)
    """

    pieces: tuple[Piece, ...]
    sim_end: float
    """Simulation seconds the clip covers."""

    @classmethod
    def identity(cls, sim_end: float) -> Timeline:
        return cls((Piece(0.0, math.inf, 1.0, 1.0, 0.0),), sim_end)

    @classmethod
    def from_segments(
        cls, segments: list[tuple[float, float, float, float]], end: float
    ) -> Timeline:
        """``segments``: (start, end, rate, ramp) in simulation seconds, sorted, not overlapping.

        Within [start, end] the rate is ``rate``; over ``ramp`` seconds before
        ``start`` and after ``end`` it blends linearly from/to the rate outside (1).
        """
        knots: list[tuple[float, float]] = [(0.0, 1.0)]  # (sim time, rate); equal times = a jump
        for start, stop, rate, ramp in segments:
            knots.append((max(start - ramp, knots[-1][0]), 1.0))
            knots.append((start, rate))
            knots.append((stop, rate))
            knots.append((stop + ramp, 1.0))
        return cls._of_knots(knots, end)

    @classmethod
    def from_changes(cls, changes: list[tuple[float, float, float]], end: float) -> Timeline:
        """``changes``: (time, rate, ramp) in simulation seconds, in order: from ``time`` the
        rate eases over ``ramp`` seconds from the one before (1 at first) to ``rate``.

        >>> t = Timeline.from_changes([(1.0, 0.5, 0.0), (2.0, 1.0, 0.0)], end=3.0)
        >>> t.video_time(2.0), t.video_time(3.0)
        (3.0, 4.0)
        """
        knots: list[tuple[float, float]] = [(0.0, 1.0)]
        for time, rate, ramp in changes:
            start = max(time, knots[-1][0])
            knots.append((start, knots[-1][1]))
            knots.append((start + ramp, rate))
        return cls._of_knots(knots, end, knots[-1][1])

    @classmethod
    def _of_knots(
        cls, knots: list[tuple[float, float]], end: float, last_rate: float = 1.0
    ) -> Timeline:
        pieces: list[Piece] = []
        v = 0.0
        for (s0, r0), (s1, r1) in itertools.pairwise(knots):
            if s1 <= s0:
                continue  # a jump in rate: no piece, just a new start rate
            piece = Piece(s0, s1, r0, r1, v)
            v += piece.video_span(s1)
            pieces.append(piece)
        last = knots[-1][0]
        pieces.append(Piece(last, math.inf, last_rate, last_rate, v))
        return cls(tuple(pieces), end)

    @property
    def is_identity(self) -> bool:
        return len(self.pieces) == 1 and self.pieces[0].r0 == self.pieces[0].r1 == 1.0

    def _piece_for_sim(self, s: float) -> Piece:
        starts = [p.start for p in self.pieces]
        return self.pieces[max(0, bisect.bisect_right(starts, s) - 1)]

    def video_time(self, sim_time: float) -> float:
        """Video seconds at which simulation time ``sim_time`` is shown (audio sync uses this)."""
        piece = self._piece_for_sim(sim_time)
        return piece.v_start + piece.video_span(sim_time)

    def sim_time(self, video_time: float) -> float:
        """Simulation seconds shown at video time ``video_time``."""
        starts = [p.v_start for p in self.pieces]
        piece = self.pieces[max(0, bisect.bisect_right(starts, video_time) - 1)]
        return piece.start + piece.sim_span(video_time - piece.v_start)

    def rate(self, sim_time: float) -> float:
        """Simulation seconds per video second at ``sim_time``."""
        return self._piece_for_sim(sim_time).rate(sim_time)

    @property
    def video_duration(self) -> float:
        return self.video_time(self.sim_end)

    def frame_count(self, fps: int) -> int:
        """Output frames: the remapped duration × fps (frame k is at video time k / fps)."""
        return max(1, round(self.video_duration * fps))


def sim_to_video(timeline: Timeline, sim_time: float) -> float:
    """Video time (s) of an event at simulation time ``sim_time``: for audio and subtitles."""
    return timeline.video_time(sim_time)


def timeline_for(time: cm.TimeSpec | None, sim_end: float) -> Timeline:
    if time is None:
        return Timeline.identity(sim_end)
    segments = [(s.start, min(s.end, 1e6), s.rate, s.ramp) for s in time.segments]
    return Timeline.from_segments(segments, sim_end)


def scene_timeline(scene: Scene) -> Timeline:
    """The scene's clock (presets resolved): sim ↔ video time, for audio and subtitles."""
    _, time, _ = cm.resolve(scene.camera, scene.time, scene.look, scene.style, None)
    timing = scene.timing
    return timeline_for(time, timing.frame_count / timing.fps)


def video_frames(scene: Scene) -> int:
    """The frames ``render`` writes: slow motion included, and a script's ``time``
    actions (found by running the physics ahead, so only then is it loaded)."""
    if any(action.time is not None for action in scene.script):
        from .clip import video_frame_count

        return video_frame_count(scene)
    return scene_timeline(scene).frame_count(scene.timing.fps)
