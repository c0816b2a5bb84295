"""Moving objects in one frame: difference from a background model, then connected
components.

The background is the per-pixel median of frames spread over the clip: anything that
moves is somewhere else in most of them, so the median shows what stays (the floor, the
walls, bodies at rest for most of the clip). A pixel is foreground when any channel
differs from it by more than ``threshold``; a closing fills thin marks drawn on a body
(the spin line on our balls) so its centroid is the centroid of its whole silhouette, and
an erosion by 2 px then removes noise and separates bodies that merely touch (the areas
are of these eroded cores: constant for a rigid body all the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .source import Image

Color = tuple[int, int, int]


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

    @property
    def diameter(self) -> float:
        """The diameter of a disc of the same area (a rigid body's is constant in 2D)."""
        return float(np.sqrt(4.0 * self.area / np.pi))


def background(samples: Sequence[Image]) -> Image:
    """The per-pixel median of ``samples``."""
    stack = np.stack(samples)
    median: Image = np.median(stack, axis=0).astype(np.uint8)
    return median


class Detector:
    """Finds blobs in frames against one background image."""

    def __init__(self, back: Image, threshold: int = 40, min_area: int = 12) -> None:
        self.back = back.copy()
        self.threshold = threshold
        self.min_area = min_area
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

    def mask(self, image: Image) -> Image:
        """Foreground as 0/255."""
        diff = cv2.absdiff(image, self.back)
        channel = cv2.max(cv2.max(diff[:, :, 0], diff[:, :, 1]), diff[:, :, 2])
        _, mask = cv2.threshold(channel, self.threshold, 255, cv2.THRESH_BINARY)
        return np.asarray(cv2.erode(mask, self._kernel), np.uint8)

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

    def __call__(self, image: Image) -> list[Blob]:
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(
            self.mask(image), connectivity=8, ltype=cv2.CV_32S
        )
        blobs = []
        for label in range(1, count):
            x0, y0, w, h, area = (int(v) for v in stats[label])
            if area < self.min_area:
                continue
            inside = labels[y0 : y0 + h, x0 : x0 + w] == label
            b, g, r = (int(v) for v in np.median(image[y0 : y0 + h, x0 : x0 + w][inside], 0))
            cx, cy = centroids[label]
            blobs.append(
                Blob(float(cx) + 0.5, float(cy) + 0.5, float(area), (x0, y0, w, h), (r, g, b))
            )
        return blobs
