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

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .source import Image

FloatArray = npt.NDArray[np.float64]

WORK_WIDTH = 640
"""Frames wider than this are halved (or more) before corners are followed."""
QUICK_WIDTH = 320
"""The same for the quick look during the first pass (is there a camera motion?)."""
SPREAD_WIDTH = 320
"""Frames kept to judge the maps are shrunk to at most this width."""
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
    spread_still: float = 0.0
    """Grey levels: how far frames spread over the clip differ from their per-pixel
    median as they are (a still camera's frames agree but for the moving objects)."""
    spread_moved: float = 0.0
    """The same with each frame mapped onto the first by its map (a moving camera's
    frames agree only then)."""
    looked: int = 0
    """Frames after the first whose map was measured or tried (``lost`` of them failed)."""

    @property
    def unobservable(self) -> bool:
        """Whether most frames looked at held too little still scenery to measure a
        map by (a flat or screen-fixed backdrop): a camera that moved could not have
        been told from a still one."""
        return self.lost > 0.5 * max(self.looked, 1)

    @property
    def moves(self) -> bool:
        """Whether the maps explain the frames far better than a still camera does:
        consensus among moving objects' corners (a crowd thrown alike) can fit a pan
        that the scenery then contradicts."""
        return self.spread_moved < 0.6 * self.spread_still


def _full(matrix: FloatArray) -> FloatArray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _corners(gray: Image) -> npt.NDArray[np.float32] | None:
    found = cv2.goodFeaturesToTrack(gray, 200, 0.01, 8, blockSize=7)
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
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    if shrink < 1.0:
        gray = cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    return np.asarray(gray, np.uint8)


def _spread(samples: list[tuple[int, Image]], maps: list[FloatArray] | None) -> float:
    """The mean absolute difference of ``samples`` from their per-pixel median, each
    first mapped onto the first frame by ``maps`` (work pixels) when given; over the
    pixels at least three of them saw."""
    height, width = samples[0][1].shape
    stack = np.full((len(samples), height, width), np.nan, np.float32)
    for k, (index, gray) in enumerate(samples):
        if maps is None:
            stack[k] = gray
            continue
        matrix = maps[index][:2]
        stack[k] = cv2.warpAffine(
            gray.astype(np.float32), matrix, (width, height), borderValue=np.nan
        )
    seen = np.isfinite(stack).sum(axis=0) >= min(3, len(samples))
    if not seen.any():
        return float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # columns some samples missed
        median = np.nanmedian(stack[:, seen], axis=0)
        return float(np.nanmean(np.abs(stack[:, seen] - median)))


class Follower:
    """Feed it every frame in order (``add``); ``result`` gives each frame's map to the
    first frame's pixels (x right, y down). ``count``, the clip's frame count, spreads
    the frames kept to judge the maps over the clip."""

    RETRY = 8
    """Frames between looks for corners when the picture has none to follow."""

    def __init__(
        self, width: int, count: int = 0, work_width: int = WORK_WIDTH, every: int = 1
    ) -> None:
        self.shrink = 1.0
        while width * self.shrink > work_width:
            self.shrink /= 2
        self.every = every  # follow every n-th frame only (the rest keep the last map)
        self.maps_width = width
        self.to_work = np.diag([self.shrink, self.shrink, 1.0])
        self.from_work = np.diag([1 / self.shrink, 1 / self.shrink, 1.0])
        self.maps: list[FloatArray] = []
        self.agreed: list[int] = []
        self.lost = 0
        self.key: Image | None = None
        self.key_points: npt.NDArray[np.float32] | None = None
        self.key_map = np.eye(3)  # key frame (work pixels) → first frame (work pixels)
        self.guess = np.eye(3)  # key → current, work pixels
        self.step = max(1, count // 15)
        self.samples: list[tuple[int, Image]] = []
        self.wait = 0
        self.failures = 0
        self.key_agreed = 0

    def _rekey(self, gray: Image, now: FloatArray) -> None:
        self.key, self.key_points, self.key_map, self.guess = gray, _corners(gray), now, np.eye(3)
        self.wait = self.RETRY if self.key_points is None else 0
        self.key_agreed = 0

    def add(self, image: Image) -> None:
        """The next frame."""
        index = len(self.maps)
        now = self.key_map @ np.linalg.inv(self.guess)
        sampled = index % self.step == 0 and len(self.samples) < 15
        if index % self.every != 0 and not sampled:
            self.maps.append((self.from_work @ now @ self.to_work)[:2])
            return
        gray = _gray(image, self.shrink)
        if sampled:
            self.samples.append((index, _gray(gray, SPREAD_WIDTH / gray.shape[1])))
        if index % self.every != 0:
            self.maps.append((self.from_work @ now @ self.to_work)[:2])
            return
        if self.key is None or self.key_points is None:
            self.lost += index > 0
            self.maps.append((self.from_work @ now @ self.to_work)[:2])
            if self.wait > 0:
                self.wait -= 1
            else:
                self._rekey(gray, now)
            return
        key_points = self.key_points
        start = cv2.transform(key_points, self.guess[:2]).astype(np.float32)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            self.key,
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
            self.lost += 1
            self.failures += 1
            self.maps.append((self.from_work @ now @ self.to_work)[:2])
            if self.failures >= 2:  # a fresh key did not help: look again later
                self.key, self.key_points, self.key_map = None, None, now
                self.guess, self.wait = np.eye(3), self.RETRY
            else:
                self._rekey(gray, now)
            return
        self.failures = 0
        self.guess = _full(fit)
        self.agreed.append(count)
        now = self.key_map @ np.linalg.inv(self.guess)
        self.maps.append((self.from_work @ now @ self.to_work)[:2])
        zoom = float(np.sqrt(abs(np.linalg.det(self.guess[:2, :2]))))
        shift = float(np.hypot(*self.guess[:2, 2]))
        self.key_agreed = self.key_agreed or count  # the first fit's, on this key
        if abs(np.log(zoom)) > 0.08 or shift > gray.shape[1] / 4 or count < self.key_agreed / 2:
            self._rekey(gray, now)

    def result(self) -> Motion:
        """The maps so far, with how well they explain the kept frames."""
        size = self.samples[0][1].shape[1] / self.maps_width if self.samples else 1.0
        half = np.diag([size, size, 1.0])  # the samples' pixels
        work = [half @ _full(m) @ np.linalg.inv(half) for m in self.maps]
        samples = self.samples
        return Motion(
            tuple(self.maps),
            self.lost,
            int(np.median(self.agreed)) if self.agreed else 0,
            _spread(samples, None) if samples else 0.0,
            _spread(samples, work) if samples else 0.0,
            (len(self.maps) - 1) // self.every,
        )


def follow(images: Iterator[Image], width: int, count: int = 0) -> Motion:
    """Each frame's map to the first frame's pixels (x right, y down); see ``Follower``."""
    follower = Follower(width, count)
    for image in images:
        follower.add(image)
    return follower.result()


def cameras(motion: Motion, scale: float | None) -> list[FloatArray]:
    """Camera matrices (world → frame pixels, world y up) for ``camera.from_cameras``: the
    world is the first frame's pixels, in metres when ``scale`` (metres per pixel) is
    known."""
    unit = 1.0 / (scale or 1.0)
    world = np.array([[unit, 0.0, 0.0], [0.0, -unit, 0.0], [0.0, 0.0, 1.0]])
    return [(np.linalg.inv(_full(m)) @ world)[:2] for m in motion.maps]
