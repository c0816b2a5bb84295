"""Compare a probe run with the simulation a clip is meant to show (``--against``), the
PhyWorld way: every tracked object is paired with the body whose projected path it
follows most closely, and its position error is reported frame by frame.

The truth arrives as pixel positions per video frame (the scene's own camera matrix,
applied by the caller), so this module needs no scene model and no physics:

>>> import numpy as np
>>> truth = Truth(("ball",), np.array([[[10.0, 20.0]], [[12.0, 20.0]]]), np.array([20.0, 20.0]))
>>> from physics_scenes.probe.track import Track
>>> track = Track(0, [0, 1], [10.5, 12.0], [20.0, 20.0], [50.0, 50.0], [0, 0], [False] * 2)
>>> report = compare([track], truth)
>>> report["objects"][0]["body"], report["objects"][0]["median_px"]
('ball', 0.25)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from .track import MEASURED, Track

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Truth:
    """Where each moving body of the simulation is on screen, per video frame."""

    names: tuple[str, ...]
    pixels: FloatArray
    """(frames, bodies, 2): x right, y down, as the renderer draws them."""
    scale: FloatArray
    """(frames,): pixels per metre of the camera in each frame."""


def compare(tracks: list[Track], truth: Truth) -> dict[str, Any]:
    """Pair tracks with bodies (Hungarian assignment on the median distance) and give
    each pair's error over time, in pixels and metres."""
    count = truth.pixels.shape[0]
    paths = []
    for t in tracks:
        keep = [i for i, k in enumerate(t.kind) if k == MEASURED and t.frames[i] < count]
        frames = np.array([t.frames[i] for i in keep], dtype=int)
        xy = np.array([[t.x[i], t.y[i]] for i in keep]).reshape(-1, 2)
        paths.append((frames, xy))
    cost = np.full((len(tracks), len(truth.names)), 1e9)
    for i, (frames, xy) in enumerate(paths):
        if len(frames):
            error = np.hypot(*(truth.pixels[frames] - xy[:, None, :]).transpose(2, 0, 1))
            cost[i] = np.median(error, axis=0)
    objects = []
    if cost.size:
        rows, cols = linear_sum_assignment(cost)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            frames, xy = paths[i]
            if cost[i, j] >= 1e9:
                continue
            error = np.hypot(*(truth.pixels[frames, j] - xy).T)
            metres = error / truth.scale[frames]
            objects.append(
                {
                    "track": tracks[i].id,
                    "body": truth.names[j],
                    "median_px": round(float(np.median(error)), 3),
                    "max_px": round(float(np.max(error)), 3),
                    "median_m": round(float(np.median(metres)), 5),
                    "error_px": [
                        [int(f), round(float(e), 3)] for f, e in zip(frames, error, strict=True)
                    ],
                }
            )
    paired = {o["body"] for o in objects}
    return {
        "frames_compared": int(min(count, 1 + max((t.frames[-1] for t in tracks), default=0))),
        "objects": sorted(objects, key=lambda o: str(o["body"])),
        "bodies_not_found": [n for n in truth.names if n not in paired],
    }
