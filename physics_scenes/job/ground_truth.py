"""A clip's per-pixel ground truth, beside its video: ``<name>.truth.npz``.

Arrays (``numpy.load``), for a clip of n frames at W×H with B bodies (rows of the
states file's ``bodies``):

- ``ids`` (n, H, W) uint16: the body under each pixel's centre, row + 1 (0: background);
- ``flow`` (n−1, H, W, 2) float32: forward optical flow from frame i to i+1, in pixels
  (x right, y down), from the bodies' rigid motion and both frames' cameras;
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

from ..frame import Frame
from ..output.arrays import write_npz
from ..physics.measure import joint_errors, kinetic_energy, potential_energy
from ..picture import truth
from ..scene.model import Scene
from .annotate import Annotations
from .clip import Clip, ClipFrame

RIGID = ("pin", "pivot")
"""The joints whose error ``measure.joint_errors`` measures."""
JOINT_TOLERANCE = 0.01
"""Metres: a pin or pivot off by more (a body's width at the scenes' scale) is flagged."""


class TruthRecorder:
    """Collects a clip's ids, flow, boxes, visibility and annotations frame by frame.

    ``start(clip)`` once, then ``add`` each ClipFrame in order (what ``pipeline.run``
    does with its observers); then ``write(path)`` and ``notes()``. With
    ``pixels=False`` only the annotations are made."""

    def __init__(self, width: int, height: int, pixels: bool = True) -> None:
        self.width, self.height, self.pixels = width, height, pixels
        self._notes: Annotations | None = None

    def start(self, clip: Clip) -> None:
        layout = self.layout = clip.layout
        self._notes = Annotations(layout.names, tuple(body.body_type for body in layout.bodies))
        self.count = count = len(layout.bodies)
        n = clip.frame_count if self.pixels else 0
        h, w = self.height, self.width
        self.ids = np.zeros((n, h, w), dtype=np.uint16)
        self.flow = np.zeros((max(n - 1, 0), h, w, 2), dtype=np.float32)
        self.boxes = np.zeros((n, count, 4), dtype=np.int32)
        self.visible = np.zeros((n, count), dtype=np.float32)
        self._previous: tuple[ClipFrame, truth.Covered] | None = None
        self._masks: truth.Masks = {}
        self._rigid = any(joint.kind in RIGID for joint in layout.joints)
        self._poses: list[Frame] = []

    def add(self, shown: ClipFrame) -> None:
        assert self._notes is not None, "start(clip) first"
        layout, frame = self.layout, shown.frame
        if self._rigid:
            self._poses.append(frame)
        energy = kinetic_energy(layout, frame) + potential_energy(layout, frame)
        self._notes.add(frame.index, frame.events, energy)
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

    def arrays(self) -> dict[str, np.ndarray]:
        """``ids``, ``flow``, ``boxes``, ``visible``, in that order."""
        return {"ids": self.ids, "flow": self.flow, "boxes": self.boxes, "visible": self.visible}

    def write(self, path: Path | IO[bytes]) -> None:
        """The arrays as a deterministic npz (``output.arrays``)."""
        write_npz(path, self.arrays())

    def notes(self) -> dict[str, Any]:
        """The clip's annotations (``job.annotate``); with pins or pivots, ``plausibility``
        also has ``joint_error`` (each one's worst error in m, ``measure.joint_errors``),
        flagged above ``JOINT_TOLERANCE``."""
        assert self._notes is not None, "start(clip) first"
        record = self._notes.record()
        if self._rigid:
            errors = joint_errors(self.layout, self._poses)
            plausible = record["plausibility"]
            plausible["joint_error"] = errors
            plausible["flagged"] |= any(e > JOINT_TOLERANCE for e in errors.values())
        return record


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
