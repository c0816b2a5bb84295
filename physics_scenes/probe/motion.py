"""A moving camera read from the picture: pan and zoom from the scenery's corners.

Without a states file the probe does not know where the camera looked, so it measures it:
corners of the scenery (``cv2.goodFeaturesToTrack``) are followed from a key frame into
every later frame (pyramidal Lucas-Kanade), and a similarity (pan, zoom, roll) is fitted
to them with RANSAC (``cv2.estimateAffinePartial2D``), which leaves the moving objects'
corners out as outliers. Following from a key frame, not from the frame before, keeps
errors from adding up; a new key frame is taken when the zoom or the pan has gone far
from it or its corners get lost. A flat backdrop has no corners: frames where too few
corners agree, or where they hold only a few places (moving objects that happen to move
alike, not scenery), keep the last map, and are counted.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> scenery = (rng.random((40, 60)) * 255).astype(np.uint8)
>>> scenery = cv2.resize(scenery, (600, 400), interpolation=cv2.INTER_NEAREST)
>>> views = [cv2.cvtColor(scenery[50:250, 50 + 3 * k : 350 + 3 * k], cv2.COLOR_GRAY2BGR)
...          for k in range(5)]
>>> found = follow(iter(views), 300)
>>> [round(float(m[0, 2]), 1) for m in found.maps]
[0.0, 3.0, 6.0, 9.0, 12.0]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .source import Image

FloatArray = npt.NDArray[np.float64]

WORK_WIDTH = 640
"""Frames wider than this are halved (or more) before corners are followed."""
MIN_AGREE = 12
"""Corners that must agree on one map for a frame's map to count as measured."""
MIN_CELLS = 10
"""Cells of a 16 × 9 grid over the frame that the agreeing corners must reach: scenery
spreads over the picture, while a few moving objects that happen to move alike (two
balls thrown up at one speed, their spin marks as corners) hold a handful of cells
(at most 7 on our test clips, against 20-27 for a band of scenery)."""
MIN_CONTRAST = 10.0
"""Grey levels: corners fainter than this (compression noise, dithering) are not
scenery."""


@dataclass(frozen=True, slots=True)
class Motion:
    """Per frame: the 2 × 3 map from its pixels to the first frame's."""

    maps: tuple[FloatArray, ...]
    lost: int
    """Frames whose map could not be measured (the last one was kept)."""
    corners: int
    """Median number of agreeing corners over the measured frames."""


def _full(matrix: FloatArray) -> FloatArray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _corners(gray: Image) -> npt.NDArray[np.float32] | None:
    found = cv2.goodFeaturesToTrack(gray, 300, 0.01, 8, blockSize=7)
    if found is None:
        return None
    # a step corner of contrast c gives a smallest eigenvalue of about 3.2e-6 c² here
    eigen = cv2.cornerMinEigenVal(gray, 7)
    xy = found.reshape(-1, 2)
    strength = eigen[xy[:, 1].astype(int), xy[:, 0].astype(int)]
    keep = strength > 3.0e-6 * MIN_CONTRAST**2
    return found[keep] if int(keep.sum()) >= MIN_AGREE else None


def _cells(
    points: npt.NDArray[np.float32], inliers: npt.NDArray[np.uint8] | None, gray: Image
) -> int:
    """How many cells of a 16 × 9 grid over the frame hold agreeing corners."""
    if inliers is None:
        return 0
    xy = points.reshape(-1, 2)[inliers.reshape(-1) == 1]
    column = np.clip(xy[:, 0] * 16 / gray.shape[1], 0, 15).astype(int)
    row = np.clip(xy[:, 1] * 9 / gray.shape[0], 0, 8).astype(int)
    return len(set((row * 16 + column).tolist()))


def _gray(image: Image, shrink: float) -> Image:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if shrink != 1.0:
        gray = cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    return np.asarray(gray, np.uint8)


def follow(images: Iterator[Image], width: int) -> Motion:
    """Each frame's map to the first frame's pixels (x right, y down)."""
    shrink = 1.0
    while width * shrink > WORK_WIDTH:
        shrink /= 2
    to_work = np.diag([shrink, shrink, 1.0])
    from_work = np.diag([1 / shrink, 1 / shrink, 1.0])
    maps: list[FloatArray] = []
    agreed: list[int] = []
    lost = 0
    key: Image | None = None
    key_points: npt.NDArray[np.float32] | None = None
    key_map = np.eye(3)  # key frame (work pixels) → first frame (work pixels)
    guess = np.eye(3)  # key → current, work pixels
    for image in images:
        gray = _gray(image, shrink)
        now = key_map @ np.linalg.inv(guess)
        if key is None or key_points is None:
            key, key_points, guess = gray, _corners(gray), np.eye(3)
            maps.append((from_work @ key_map @ to_work)[:2])
            continue
        start = cv2.transform(key_points, guess[:2]).astype(np.float32)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            key,
            gray,
            key_points,
            start.copy(),
            winSize=(21, 21),
            maxLevel=3,
            flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
        )
        ok = status.reshape(-1) == 1
        fit, inliers = None, None
        if int(ok.sum()) >= MIN_AGREE:
            fit, inliers = cv2.estimateAffinePartial2D(
                key_points[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=1.0
            )
        count = 0 if inliers is None else int(inliers.sum())
        if fit is None or count < MIN_AGREE or _cells(key_points[ok], inliers, gray) < MIN_CELLS:
            lost += 1
            maps.append((from_work @ now @ to_work)[:2])
            key, key_points, key_map, guess = gray, _corners(gray), now, np.eye(3)
            continue
        guess = _full(fit)
        agreed.append(count)
        now = key_map @ np.linalg.inv(guess)
        maps.append((from_work @ now @ to_work)[:2])
        zoom = float(np.sqrt(abs(np.linalg.det(guess[:2, :2]))))
        shift = float(np.hypot(*guess[:2, 2]))
        if abs(np.log(zoom)) > 0.08 or shift > gray.shape[1] / 4 or count < len(key_points) / 2:
            key, key_points, key_map, guess = gray, _corners(gray), now, np.eye(3)
    return Motion(tuple(maps), lost, int(np.median(agreed)) if agreed else 0)


def cameras(motion: Motion, scale: float | None) -> list[FloatArray]:
    """Camera matrices (world → frame pixels, world y up) for ``camera.from_cameras``: the
    world is the first frame's pixels, in metres when ``scale`` (metres per pixel) is
    known."""
    unit = 1.0 / (scale or 1.0)
    world = np.array([[unit, 0.0, 0.0], [0.0, -unit, 0.0], [0.0, 0.0, 1.0]])
    return [(np.linalg.inv(_full(m)) @ world)[:2] for m in motion.maps]
