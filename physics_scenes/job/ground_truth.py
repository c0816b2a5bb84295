"""A clip's per-pixel ground truth, beside its video: ``<name>.truth.npz``.

Arrays (``numpy.load``), for a clip of n frames at W×H with B bodies (rows of the
states file's ``bodies``):

- ``ids`` (n, H, W) uint16: the body under each pixel's centre, row + 1 (0: background);
- ``flow`` (n−1, H, W, 2) float32 (float16 with ``flow16``: each value rounded to 11
  significant bits, off by at most 1/2048 of itself): forward optical flow from frame i
  to i+1, in pixels (x right, y down), from the bodies' rigid motion and both frames' cameras;
- ``boxes`` (n, B, 4) int32: each body's visible pixels' box [x0, y0, x1, y1]
  (inclusive), −1 when not visible;
- ``visible`` (n, B) float32: visible pixels / the body's whole area in the picture if
  nothing covered it (occlusion); NaN when none of it is in the picture.

A ``TruthRecorder`` watches the Frames of the render itself (``pipeline.run(job,
observers=[recorder])``): the ground truth costs the pixel tests, not a second
simulation. ``write_truth`` runs a clip's physics alone for it (no drawing, no video).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import numpy as np

from ..frame import Frame, Layout
from ..output.arrays import write_npz
from ..output.states import ClipStates
from ..physics.measure import Energies, Penetration, joint_errors
from ..picture import truth
from ..scene.model import Scene
from .annotate import Annotations
from .clip import Clip, ClipFrame

MOMENTUM_TOLERANCE = 0.01
"""An isolated collision whose two bodies' momentum changes by more than this share (of
the sum of their momenta' sizes before), gravity's push removed, is flagged."""
MOMENTUM_FLOOR = 1e-4
"""kg·m/s: changes below this are never flagged (two bodies barely moving)."""
PENETRATION_TOLERANCE = 0.02
"""Metres: shapes overlapping deeper are flagged (touching shapes overlap by about the
world's ``collision_slop``, 2 mm by default)."""
TOUCH = ("begin", "foot")
RIGID = ("pin", "pivot")
"""The joints whose error ``measure.joint_errors`` measures."""
JOINT_TOLERANCE = 0.01
"""Metres: a pin or pivot off by more (a body's width at the scenes' scale) is flagged."""


class TruthRecorder:
    """Collects a clip's ids, flow, boxes, visibility and annotations frame by frame.

    ``start(clip)`` once, then ``add`` each ClipFrame in order (what ``pipeline.run``
    does with its observers); then ``write(path)`` and ``notes()``. With
    ``pixels=False`` only the annotations are made; with ``flow16`` the flow is kept as
    float16 (half the bytes to store and deflate).

    The bodies' states of every frame are kept (not the liquid's particles): ``notes``
    measures the energies and the deepest overlap of the whole clip at once (the same
    bits as frame by frame, under a third of the CPU), and ``states`` hands them to
    ``output.shards`` instead of the states file."""

    def __init__(self, width: int, height: int, pixels: bool = True, flow16: bool = False) -> None:
        self.width, self.height, self.pixels = width, height, pixels
        self.flow_type = np.float16 if flow16 else np.float32
        self._notes: Annotations | None = None

    def start(self, clip: Clip) -> None:
        layout = self.layout = clip.layout
        self._notes = Annotations(layout.names, tuple(body.body_type for body in layout.bodies))
        self.count = count = len(layout.bodies)
        n = clip.frame_count if self.pixels else 0
        h, w = self.height, self.width
        self.ids = np.zeros((n, h, w), dtype=np.uint16)
        self.flow = np.zeros((max(n - 1, 0), h, w, 2), dtype=self.flow_type)
        self.boxes = np.zeros((n, count, 4), dtype=np.int32)
        self.visible = np.zeros((n, count), dtype=np.float32)
        self._previous: tuple[ClipFrame, truth.Covered] | None = None
        self._masks: truth.Masks = {}
        self._rigid = any(joint.kind in RIGID for joint in layout.joints)
        self._frames: list[Frame] = []
        self._momentum = IsolatedCollisions(layout)
        self._measured = False

    def add(self, shown: ClipFrame) -> None:
        assert self._notes is not None, "start(clip) first"
        layout, frame = self.layout, shown.frame
        if len(frame.fluid_kind):  # kept without its particles (memory): none needs them
            frame = Frame(frame.index, frame.time, frame.position, frame.angle, frame.velocity,
                          frame.angular_velocity, frame.events)  # fmt: skip
        self._frames.append(frame)  # energies and penetration: all at once (notes)
        self._notes.add(frame.index, frame.events)
        self._momentum.add(frame)
        if not self.pixels:
            return
        i, count = frame.index, self.count
        ids = self.ids
        ids[i], full = truth.instance_ids(layout, frame, shown.view, self._masks)
        found = truth.covered(ids[i])
        self.boxes[i] = truth.boxes(ids[i], count, found)
        seen = np.bincount(found[2], minlength=count)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.visible[i] = np.where(full > 0, seen / np.maximum(full, 1), np.nan)
        if self._previous is not None:
            before, found_before = self._previous
            self.flow[i - 1] = truth.flow(layout, before.frame, before.view, frame, shown.view,
                                          ids[i - 1], found_before)  # fmt: skip
        self._previous = (shown, found)

    def states(self) -> ClipStates:
        """The Frames seen, standing for the render's states file (``output.shards``
        takes its arrays from them instead of parsing the file)."""
        return ClipStates(self.layout, tuple(self._frames))

    def arrays(self) -> dict[str, np.ndarray]:
        """``ids``, ``flow``, ``boxes``, ``visible``, in that order."""
        return {"ids": self.ids, "flow": self.flow, "boxes": self.boxes, "visible": self.visible}

    def write(self, path: Path | IO[bytes]) -> None:
        """The arrays as a deterministic npz (``output.arrays``)."""
        write_npz(path, self.arrays())

    def notes(self) -> dict[str, Any]:
        """The clip's annotations (``job.annotate``); ``plausibility`` also gets
        ``momentum`` (each isolated collision: ``IsolatedCollisions``), ``momentum_error``,
        ``penetration`` and ``penetration_at`` (the deepest overlap of two bodies' shapes,
        ``measure.penetration``), with pins or pivots ``joint_error`` (each one's worst
        error in m, ``measure.joint_errors``), and ``outliers``: the checks past their
        tolerance (energy, momentum, penetration, joints); ``flagged`` when any is."""
        assert self._notes is not None, "start(clip) first"
        frames = self._frames
        if not self._measured:  # each frame's energy, in order, as add would have given it
            for frame, energy in zip(frames, Energies(self.layout).totals(frames), strict=True):
                self._notes.add(frame.index, (), float(energy))
            self._measured = True
        record = self._notes.record()
        plausible = record["plausibility"]
        outliers = ["energy"] if plausible["flagged"] else []
        checked = self._momentum.checked
        plausible["momentum"] = checked
        plausible["momentum_error"] = max((c["error"] for c in checked), default=0.0)
        if any(c["flagged"] for c in checked):
            outliers.append("momentum")
        depth, at, a, b = Penetration(self.layout).deepest(frames)
        index = frames[at].index if at >= 0 else -1
        names = self.layout.names
        plausible["penetration"] = depth
        plausible["penetration_at"] = (
            {"frame": index, "a": names[a], "b": names[b]} if index >= 0 else None
        )
        if depth > PENETRATION_TOLERANCE:
            outliers.append("penetration")
        if self._rigid:
            errors = joint_errors(self.layout, self._frames)
            plausible["joint_error"] = errors
            if any(e > JOINT_TOLERANCE for e in errors.values()):
                outliers.append("joints")
        plausible["outliers"] = outliers
        plausible["flagged"] = bool(outliers)
        return record


class IsolatedCollisions:
    """Momentum across each isolated collision, frame by frame (``add`` in order).

    A collision (two dynamic bodies' contact beginning in frame k) is isolated when,
    from frame k−1 to frame k+1, neither body touches or begins or ends touching anything
    else, nor is tied by a joint, and no script action fires (no other force but
    gravity on the pair; a scene with liquid is never checked). Then the pair's momentum
    at frame k+1 should be that at k−1 plus gravity's push, (m_a + m_b)·g·Δt: contact
    impulses are equal and opposite. (World damping below 1 would also take some.)"""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.rows = {name: row for row, name in enumerate(layout.names)}
        self.dynamic = layout.dynamic_mask()
        self.masses = layout.masses()
        tied = [(j.a, j.b) for j in layout.joints]
        self.tied = {row for pair in tied for row in pair}
        self.checked: list[dict[str, Any]] = []
        self._touching: set[frozenset[int]] = set()
        self._recent: list[tuple[Frame, set[frozenset[int]], set[frozenset[int]]]] = []
        self._off = bool(layout.fluids)

    def add(self, frame: Frame) -> None:
        touched, acted = set(), False
        for event in frame.events:
            if event.kind == "action":
                acted = True
            if event.kind not in (*TOUCH, "separate"):
                continue
            pair = frozenset((self.rows.get(event.a, -1), self.rows.get(event.b, -1)))
            touched.add(pair)
            if event.kind == "separate":
                self._touching.discard(pair)
            else:
                self._touching.add(pair)
        begun = set() if acted else {
            frozenset((self.rows.get(e.a, -1), self.rows.get(e.b, -1)))
            for e in frame.events if e.kind in TOUCH
        }  # fmt: skip
        self._recent = [*self._recent[-2:], (frame, touched | set(self._touching), begun)]
        if len(self._recent) == 3 and not self._off:
            self._check(*self._recent)

    def _check(self, *window: tuple[Frame, set[frozenset[int]], set[frozenset[int]]]) -> None:
        (before, near_before, _), (middle, near, begun), (after, near_after, _) = window
        acted = any(e.kind == "action" for e in after.events)
        for pair in sorted(begun, key=sorted):
            rows = sorted(pair)
            if len(rows) != 2 or min(rows) < 0 or acted:
                continue
            a, b = rows
            if not (self.dynamic[a] and self.dynamic[b]) or self.tied & {a, b}:
                continue
            others = (near_before | near | near_after) - {pair}
            if any(a in other or b in other for other in others):
                continue
            self._measure(a, b, before, middle, after)

    def _measure(self, a: int, b: int, before: Frame, middle: Frame, after: Frame) -> None:
        m = self.masses[[a, b]]
        p0 = m @ before.velocity[[a, b]]
        p1 = m @ after.velocity[[a, b]]
        push = m.sum() * np.asarray(self.layout.gravity) * (after.time - before.time)
        change = float(np.hypot(*(p1 - p0 - push)))
        scale = float(np.sum(m * np.hypot(*before.velocity[[a, b]].T)))
        error = change / scale if scale > 0 else 0.0
        flagged = change > MOMENTUM_TOLERANCE * scale + MOMENTUM_FLOOR
        names = self.layout.names
        self.checked.append({"frame": middle.index, "a": names[a], "b": names[b],
                             "error": error, "flagged": flagged})  # fmt: skip


def write_truth(
    scene: Scene,
    width: int,
    height: int,
    path: Path | IO[bytes] | None,
    source_dir: Path | None = None,
) -> dict[str, Any]:
    """Simulate ``scene`` (no drawing) for its ids, flow, boxes and visibility, written to
    ``path`` (None: skip the pixels); return its annotations, made in the same pass."""
    clip = Clip(scene, width, height, source_dir)
    recorder = TruthRecorder(width, height, pixels=path is not None)
    recorder.start(clip)
    for shown in clip.frames():
        recorder.add(shown)
    if path is not None:
        recorder.write(path)
    return recorder.notes()
