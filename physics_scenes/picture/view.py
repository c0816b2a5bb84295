"""Where the picture looks and what it holds: View maths and raw Pixels, in numpy only.

Separate from the pygame renderer so that the camera, the looks and the sinks can do
their sums without loading pygame.

>>> view = View(center=(0.0, 0.0), scale=100.0, width=200, height=100)
>>> view.to_pixels([[0.0, 0.0], [1.0, 0.5]]).tolist()
[[100.0, 50.0], [200.0, 0.0]]
>>> view.to_world([[200.0, 0.0]]).tolist()
[[1.0, 0.5]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..frame import Layout
from ..scene.colors import shade

if TYPE_CHECKING:
    from ..scene.model import Scene


@dataclass(frozen=True, slots=True)
class Trail:
    """A motion trail: past positions (k, 2) in metres, oldest first, drawn under the bodies."""

    points: npt.NDArray[np.float64]
    color: tuple[int, int, int]
    width: float
    """Full width in metres at the newest end."""


SIZE_PRESETS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "360p": (640, 360),
        "480p": (854, 480),
        "720p": (1280, 720),
        "1080p": (1920, 1080),
        "square": (1080, 1080),
        "vertical": (1080, 1920),
    }
)
"""Output sizes by name; 'vertical' is 9:16 for phones."""
DEFAULT_SIZE = "720p"


def default_size(scene: Scene) -> str:
    """The size preset when none is given: vertical for a 9:16 look, else the default."""
    aspect = scene.look.aspect if scene.look is not None else None
    return "vertical" if aspect == "9:16" else DEFAULT_SIZE


@dataclass(frozen=True, slots=True)
class View:
    """Which part of the world the picture shows: centre (m), scale (px/m), size (px), roll.

    ``rotation`` (radians, counter-clockwise) turns the camera: the world appears
    turned by ``-rotation`` on screen.
    """

    center: tuple[float, float]
    scale: float
    width: int
    height: int
    rotation: float = 0.0

    @classmethod
    def fit(
        cls, origin: tuple[float, float], size: tuple[float, float], width: int, height: int
    ) -> View:
        """The whole region ``origin``..``origin+size`` centred, as large as fits."""
        scale = min(width / size[0], height / size[1])
        center = (origin[0] + size[0] / 2, origin[1] + size[1] / 2)
        return cls(center, scale, width, height)

    @classmethod
    def of_layout(cls, layout: Layout, width: int, height: int) -> View:
        return cls.fit(layout.region_origin, layout.region_size, width, height)

    def to_pixels(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """World metres (…, 2) → pixel coordinates (x right, y down), as floats."""
        p = np.asarray(points, dtype=np.float64)
        out = np.empty_like(p)
        dx = p[..., 0] - self.center[0]
        dy = p[..., 1] - self.center[1]
        if self.rotation:
            cos, sin = math.cos(self.rotation), math.sin(self.rotation)
            dx, dy = dx * cos + dy * sin, -dx * sin + dy * cos
        out[..., 0] = dx * self.scale + self.width / 2
        out[..., 1] = self.height / 2 - dy * self.scale
        return out

    def pixel_list(self, points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
        """``to_pixels`` of a few points in Python floats: the same sums on the same
        numbers (so the same results), without a dozen numpy calls for a handful of balls."""
        cx, cy = float(self.center[0]), float(self.center[1])
        scale, half_w, half_h = float(self.scale), self.width / 2, self.height / 2
        if self.rotation:
            cos, sin = math.cos(self.rotation), math.sin(self.rotation)
            out = []
            for x, y in points:
                dx, dy = x - cx, y - cy
                dx, dy = dx * cos + dy * sin, -dx * sin + dy * cos
                out.append((dx * scale + half_w, half_h - dy * scale))
            return out
        return [((x - cx) * scale + half_w, half_h - (y - cy) * scale) for x, y in points]

    def to_world(self, pixels: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Pixel coordinates (…, 2) → world metres (the inverse of ``to_pixels``)."""
        p = np.asarray(pixels, dtype=np.float64)
        dx = (p[..., 0] - self.width / 2) / self.scale
        dy = (self.height / 2 - p[..., 1]) / self.scale
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        out = np.empty_like(p)
        out[..., 0] = self.center[0] + dx * cos - dy * sin
        out[..., 1] = self.center[1] + dx * sin + dy * cos
        return out

    def matrix(self) -> list[list[float]]:
        """The 2×3 affine map world → pixel: ``[px, py] = M @ [x, y, 1]``."""
        cos, sin, s = math.cos(self.rotation), math.sin(self.rotation), self.scale
        cx, cy = self.center
        return [
            [s * cos, s * sin, self.width / 2 - s * (cx * cos + cy * sin)],
            [s * sin, -s * cos, self.height / 2 + s * (cy * cos - cx * sin)],
        ]


@dataclass(frozen=True, slots=True)
class Pixels:
    """One rendered picture as raw rows of 4-byte pixels in ``pix_fmt`` order (ffmpeg's names)."""

    width: int
    height: int
    data: bytes
    pix_fmt: str = "bgr0"

    def rgb(self) -> npt.NDArray[np.uint8]:
        """An (height, width, 3) RGB array (a copy)."""
        raw = np.frombuffer(self.data, dtype=np.uint8).reshape(self.height, self.width, 4)
        order = {"bgr0": [2, 1, 0], "rgb0": [0, 1, 2]}[self.pix_fmt]
        return np.ascontiguousarray(raw[..., order])


JOINT_COLOR = (214, 218, 226)
"""Rods, strings, springs and world pins."""
RIM_SHADE = 0.55
"""A body's outline is its colour times this."""


def flat_colors(layout: Layout) -> list[tuple[int, int, int]]:
    """The colours the renderer paints in flat areas, most area first: background, then
    each body's fill and rim, the joints and the black of letterbox bars; no repeats."""
    found = [tuple(layout.background)]
    for body in layout.bodies:
        found += [tuple(body.color), shade(body.color, RIM_SHADE)]
    found += [JOINT_COLOR, (0, 0, 0)]
    return list(dict.fromkeys(found))  # type: ignore[arg-type]
