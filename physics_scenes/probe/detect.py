"""Moving objects in one frame: difference from a background model, then contours.

The background starts as the per-pixel median of frames spread over the clip's first
three seconds: anything that moves is somewhere else in most of them, so the median shows
what stays (the floor, the walls, bodies at rest). A body that then stays still for a
while is taken into it (``absorb``), and so is the ghost a resting body leaves when it
starts to move. A pixel is foreground when any channel differs from the background by more
than ``threshold``; an erosion by 2 px (1 px in pictures under 400 px wide) removes noise
and separates bodies that merely touch (areas are of these eroded cores: constant for a
rigid body all the same). Blobs are the outer contours of the mask (OpenCV's contour
following is some fifty times faster than labelling every pixel), with their area and
centroid from the contour's moments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .source import Image

Color = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Part:
    """The share of a blob that belongs to one of the bodies in it."""

    x: float
    y: float
    area: float
    color: Color


@dataclass(frozen=True, slots=True)
class Blob:
    """One connected region of foreground: centroid and box in pixels (x right, y down;
    pixel (i, j) covers [i, i+1) × [j, j+1), so a centroid is a continuous position),
    area in pixels, median colour as RGB."""

    x: float
    y: float
    area: float
    box: tuple[int, int, int, int]
    """x, y, width, height."""
    color: Color
    edge: bool = False
    """Touches the edge of what the camera saw (on a moving camera's canvas)."""
    solidity: float = 1.0
    """Area over the convex hull's: near 1 for one rigid body seen whole, lower for
    bodies in contact sharing a blob."""
    contour: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The outer contour (OpenCV's points), for splitting a blob several bodies share."""

    @property
    def diameter(self) -> float:
        """The diameter of a disc of the same area (a rigid body's is constant in 2D)."""
        return float(np.sqrt(4.0 * self.area / np.pi))


def background(samples: Sequence[Image]) -> Image:
    """The per-pixel median of ``samples`` (an odd count; the upper middle otherwise)."""
    stack = np.stack(samples, axis=-1)  # the samples of one pixel side by side: fast
    middle = len(samples) // 2
    median: Image = np.partition(stack, middle, axis=-1)[..., middle]
    return median


class Detector:
    """Finds blobs in frames against one background image."""

    def __init__(self, back: Image, threshold: int = 40, min_area: int = 12) -> None:
        self.back = back.copy()
        self.threshold = threshold
        self.min_area = min_area
        # 2 px of erosion, 1 px in pictures under 400 px wide (whose bodies are small)
        side = 5 if back.shape[1] >= 400 else 3
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        self._last_image = back
        self._last_mask = np.zeros(back.shape[:2], np.uint8)

    def parts(
        self, blob: Blob, centres: Sequence[tuple[float, float]], areas: Sequence[float]
    ) -> list[Part]:
        """Split ``blob`` (from the last frame seen) between bodies expected at ``centres``
        with ``areas``: each pixel goes to the body of the smallest power distance
        (squared distance minus squared radius: the line between two touching discs),
        and each centre moves to its share's centroid, three times. Bodies in contact
        in a pile thus keep measured positions instead of one blob for all."""
        x0, y0, w, h = blob.box
        inside = np.zeros((h, w), np.uint8)
        if blob.contour is not None:
            cv2.drawContours(inside, [blob.contour], -1, 255, cv2.FILLED, offset=(-x0, -y0))
        else:
            inside[:] = 255
        inside &= self._last_mask[y0 : y0 + h, x0 : x0 + w]
        ys, xs = np.nonzero(inside)
        if not len(xs):
            return [Part(cx, cy, 0.0, blob.color) for cx, cy in centres]
        px, py = xs + x0 + 0.5, ys + y0 + 0.5
        c = np.array(centres, dtype=float)
        r2 = np.maximum(np.asarray(areas, dtype=float), 1.0) / np.pi
        owner = np.zeros(len(xs), int)
        for _ in range(3):
            cost = (px[None] - c[:, :1]) ** 2 + (py[None] - c[:, 1:]) ** 2 - r2[:, None]
            owner = np.argmin(cost, axis=0)
            for i in range(len(c)):
                mine = owner == i
                if mine.any():
                    c[i] = (px[mine].mean(), py[mine].mean())
        pixels = self._last_image[ys + y0, xs + x0]
        out = []
        for i in range(len(c)):
            mine = owner == i
            if mine.any():
                b, g, r = np.median(pixels[mine], axis=0)
                color = (round(float(r)), round(float(g)), round(float(b)))
            else:
                color = blob.color
            out.append(Part(float(c[i, 0]), float(c[i, 1]), float(mine.sum()), color))
        return out

    def camouflaged(self, x: float, y: float, diameter: float, color: Color) -> bool:
        """Whether a body of ``color`` at (x, y) would not show: over a third of the
        background around there has its colour (a body that rested there while the
        background was sampled left itself in it)."""
        r = max(2, round(0.5 * diameter))
        height, width = self.back.shape[:2]
        x0, y0 = max(0, round(x) - r), max(0, round(y) - r)
        patch = self.back[y0 : min(height, round(y) + r), x0 : min(width, round(x) + r)]
        if not patch.size:
            return False
        bgr = np.array(color[::-1], dtype=np.int16)
        close = np.abs(patch.astype(np.int16) - bgr).sum(axis=2) < 90
        return bool(close.mean() > 1 / 3)

    def mask(self, image: Image) -> Image:
        """Foreground as 0/255."""
        diff = cv2.absdiff(image, self.back)
        channel = cv2.max(cv2.max(diff[:, :, 0], diff[:, :, 1]), diff[:, :, 2])
        _, mask = cv2.threshold(channel, self.threshold, 255, cv2.THRESH_BINARY)
        return np.asarray(cv2.erode(mask, self._kernel), np.uint8)

    def _ghost(self, color: tuple[float, float, float], box: tuple[int, int, int, int]) -> bool:
        """Whether a blob shows what the background shows around it: the frame has the
        scenery where the background model still holds a body that has left."""
        x0, y0, w, h = box
        height, width = self.back.shape[:2]
        x0, y0 = max(0, x0 - 4), max(0, y0 - 4)
        x1, y1 = min(width - 1, x0 + w + 8), min(height - 1, y0 + h + 8)
        ring = np.concatenate(
            [self.back[y0, x0:x1], self.back[y1, x0:x1], self.back[y0:y1, x0], self.back[y0:y1, x1]]
        )
        around = np.median(ring, axis=0)
        return float(np.abs(around - np.array(color)).sum()) < 1.5 * self.threshold

    def absorb(self, image: Image, box: tuple[int, int, int, int]) -> None:
        """Take what ``image`` shows inside ``box`` (grown by the erosion) into the
        background: a body that has come to rest becomes scenery, and a ghost (a body
        that rested there while the background was sampled, now gone) disappears."""
        x0, y0, w, h = box
        x0, y0 = max(0, x0 - 4), max(0, y0 - 4)
        x1, y1 = x0 + w + 8, y0 + h + 8
        region = self.mask(image)[y0:y1, x0:x1]
        grown = cv2.dilate(region, self._kernel, iterations=2) > 0
        self.back[y0:y1, x0:x1][grown] = image[y0:y1, x0:x1][grown]

    def __call__(self, image: Image, valid: Image | None = None) -> list[Blob]:
        """The blobs of ``image``; ``valid`` (255) is the part of a moving camera's canvas
        the frame shows (blobs touching its edge are marked)."""
        mask = self.mask(image)
        border = None
        if valid is not None:
            inner = np.asarray(cv2.erode(valid, self._kernel, iterations=2), np.uint8)
            mask = np.asarray(cv2.bitwise_and(mask, inner), np.uint8)
            border = cv2.bitwise_not(cv2.erode(inner, self._kernel, iterations=2))
        self._last_image, self._last_mask = image, mask
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        blobs = []
        for contour in contours:
            moments = cv2.moments(contour)
            area = moments["m00"]
            if area < self.min_area:
                continue
            x0, y0, w, h = cv2.boundingRect(contour)
            b, g, r, _ = cv2.mean(
                image[y0 : y0 + h, x0 : x0 + w], mask=mask[y0 : y0 + h, x0 : x0 + w]
            )
            if self._ghost((b, g, r), (x0, y0, w, h)):
                self.absorb(image, (x0, y0, w, h))
                continue
            cx, cy = moments["m10"] / area + 0.5, moments["m01"] / area + 0.5
            color = (round(r), round(g), round(b))
            hull = cv2.contourArea(cv2.convexHull(contour))
            solid = float(area / hull) if hull > 0 else 1.0
            box = (x0, y0, w, h)
            edge = border is not None and bool(border[y0 : y0 + h, x0 : x0 + w].any())
            blobs.append(Blob(float(cx), float(cy), float(area), box, color, edge, solid, contour))
        return blobs
