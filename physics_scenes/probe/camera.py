"""A moving camera: every frame warped onto one still canvas of the world first.

A panning or zooming camera moves the whole picture, so a background model of the raw
frames sees everything move and a zoom changes every body's size. Given where the camera
looked in each frame (the ``camera.matrix`` of a states file, world metres → pixels),
each frame is mapped back to the world and drawn at one fixed scale onto a canvas that
covers everything the camera saw. On the canvas the scenery stands still and a body's
size is its own, so detection, tracking and every check run unchanged; the canvas's
scale gives metres per pixel for free. Pixels a frame did not see are marked invalid.

>>> import numpy as np
>>> pan = [np.array([[50.0, 0.0, -50.0 * k], [0.0, -50.0, 300.0]]) for k in range(3)]
>>> canvas = from_cameras(pan, 400, 300)
>>> canvas.width, canvas.height, round(canvas.scale, 6)
(500, 300, 50.0)
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from .source import Image, ProbeError

FloatArray = npt.NDArray[np.float64]

MAX_SIDE = 4096
"""The canvas's longest side in pixels (the scale is lowered to fit)."""
MAX_PIXELS = 4_000_000
"""The canvas's area in pixels (about 2700 × 1500; the scale is lowered to fit), which
bounds the memory of the background model and the time of each warp."""


@dataclass(frozen=True, slots=True)
class Canvas:
    """Where each frame goes on the still canvas."""

    width: int
    height: int
    scale: float
    """Canvas pixels per metre."""
    warps: tuple[FloatArray, ...]
    """Per frame: the 2 × 3 map from the frame's pixels to the canvas's."""
    world: FloatArray
    """World metres → canvas pixels (2 × 3)."""

    def warp(self, index: int, image: Image) -> tuple[Image, Image]:
        """Frame ``index`` on the canvas, and the mask (255) of the canvas it covers."""
        matrix = self.warps[min(index, len(self.warps) - 1)]
        size = (self.width, self.height)
        out = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR)
        seen = np.full(image.shape[:2], 255, np.uint8)
        valid = cv2.warpAffine(seen, matrix, size, flags=cv2.INTER_NEAREST)
        return np.asarray(out, np.uint8), np.asarray(valid, np.uint8)


def read_cameras(path: Path) -> list[FloatArray]:
    """The camera matrix (world metres → pixels, 2 × 3) of every frame of a states file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ProbeError(f"{path}: cannot read the states file ({error})") from None
    matrices = []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ProbeError(f"{path}:{number}:{error.colno}: not JSON ({error.msg})") from None
        if not isinstance(row, dict) or row.get("type") != "frame":
            continue
        try:
            matrix = np.array(row["camera"]["matrix"], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise ProbeError(
                f"{path}:{number}: frame {row.get('index')} has no camera.matrix "
                "(a 2 × 3 list of numbers)"
            ) from None
        if matrix.shape != (2, 3) or not np.isfinite(matrix).all():
            raise ProbeError(f"{path}:{number}: camera.matrix must be 2 × 3 finite numbers")
        matrices.append(matrix)
    if not matrices:
        raise ProbeError(f"{path}: no frames with a camera (is it a states file?)")
    return matrices


def _inverse(matrix: FloatArray) -> FloatArray:
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.asarray(np.linalg.inv(full)[:2], dtype=float)


def moves(matrices: list[FloatArray], width: int, height: int, tolerance: float = 0.25) -> bool:
    """Whether any frame's corners land over ``tolerance`` pixels from the first's."""
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float)
    for m in matrices[1:]:
        # where this frame's corners show in the first frame
        where = corners @ (matrices[0] @ np.vstack([_inverse(m), [0, 0, 1]])).T
        if float(np.abs(where - corners[:, :2]).max()) > tolerance:
            return True
    return False


def from_cameras(
    matrices: list[FloatArray], width: int, height: int, scale: float | None = None
) -> Canvas:
    """The canvas covering every frame's view, at ``scale`` (pixels per world unit;
    default the cameras' median scale), x right, y down like the frames."""
    if scale is None:
        scale = float(np.median([np.sqrt(abs(np.linalg.det(m[:, :2]))) for m in matrices]))
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float)
    world = np.vstack([corners @ _inverse(m).T for m in matrices])
    low, high = world.min(axis=0), world.max(axis=0)
    span = float(max(high - low)) * scale
    if span > MAX_SIDE:
        scale *= MAX_SIDE / span
    area = float(np.prod(high - low)) * scale**2
    if area > MAX_PIXELS:
        scale *= float(np.sqrt(MAX_PIXELS / area))
    to_canvas = np.array([[scale, 0.0, -scale * low[0]], [0.0, -scale, scale * high[1]]])
    warps = tuple(to_canvas @ np.vstack([_inverse(m), [0.0, 0.0, 1.0]]) for m in matrices)
    size = np.ceil((high - low) * scale).astype(int)
    return Canvas(int(size[0]), int(size[1]), scale, warps, to_canvas)


def background(samples: list[tuple[Image, Image]], rows: int = 64) -> tuple[Image, Image]:
    """The per-pixel median of warped samples over the ones that saw each pixel (in
    blocks of ``rows`` rows, so the float copy stays small), and the mask (255) of the
    pixels some sample saw: elsewhere the background is unknown, and nothing there can
    be told from it."""
    height = samples[0][0].shape[0]
    out = np.zeros_like(samples[0][0])
    known = np.zeros(samples[0][0].shape[:2], np.uint8)
    for top in range(0, height, rows):
        block = slice(top, top + rows)
        stack = np.stack([s[block].astype(np.float32) for s, _ in samples], axis=-1)
        saw = np.stack([v[block] > 0 for _, v in samples], axis=-1)
        seen = saw[:, :, None, :]
        stack = np.where(seen, stack, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pixels no sample saw
            median = np.nanmedian(stack, axis=-1)
        out[block] = np.nan_to_num(median, nan=0.0).round().astype(np.uint8)
        known[block] = np.where(np.any(saw, axis=-1), 255, 0)
    return out, known
