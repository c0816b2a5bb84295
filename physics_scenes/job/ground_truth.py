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

The clip is simulated again (the same bits: fixed dt, same seed), so this costs the
physics and the pixel tests, not a second render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..output.arrays import write_npz
from ..physics.measure import kinetic_energy, potential_energy
from ..picture import truth
from ..scene.model import Scene
from .annotate import Annotations
from .clip import Clip


def write_truth(
    scene: Scene, width: int, height: int, path: Path | None, source_dir: Path | None = None
) -> dict[str, Any]:
    """Compute the clip's ids, flow, boxes and visibility and write them to ``path`` (None:
    skip the pixels); return its annotations (``job.annotate``), made in the same pass."""
    clip = Clip(scene, width, height, source_dir)
    layout = clip.layout
    notes = Annotations(layout.names, tuple(body.body_type for body in layout.bodies))
    count = len(layout.bodies)
    n = clip.frame_count if path is not None else 0
    ids = np.zeros((n, height, width), dtype=np.uint16)
    flow = np.zeros((max(n - 1, 0), height, width, 2), dtype=np.float32)
    boxes = np.zeros((n, count, 4), dtype=np.int32)
    visible = np.zeros((n, count), dtype=np.float32)
    previous = None
    for shown in clip.frames():
        frame = shown.frame
        energy = kinetic_energy(layout, frame) + potential_energy(layout, frame)
        notes.add(frame.index, frame.events, energy)
        if path is None:
            continue
        i = frame.index
        ids[i], full = truth.instance_ids(layout, frame, shown.view)
        boxes[i] = truth.boxes(ids[i], count)
        seen = np.bincount(ids[i].ravel(), minlength=count + 1)[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            visible[i] = np.where(full > 0, seen / np.maximum(full, 1), np.nan)
        if previous is not None:
            before, view = previous
            flow[i - 1] = truth.flow(layout, before, view, frame, shown.view, ids[i - 1])
        previous = (frame, shown.view)
    if path is not None:
        write_npz(path, {"ids": ids, "flow": flow, "boxes": boxes, "visible": visible})
    return notes.record()
