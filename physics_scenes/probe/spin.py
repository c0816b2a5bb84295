"""Rotation from a spin mark: a ball's turn read from the dash drawn on it.

Many balls carry a mark (ours draw a dark dash from a third of the radius to the rim):
the mark's pixels, those far from the ball's own colour inside the ring between 0.3 and
0.8 of the radius, lie on one side of the centre, and the direction of their centroid
is the ball's angle. Unwrapped over a free flight, the angle is a straight line in time
whose slope is the angular velocity; nothing turns a ball in the air, so a slope that
changes in mid-flight (two lines fit far better than one) is a violation.

>>> image = np.full((40, 40, 3), (20, 20, 20), np.uint8)
>>> _ = cv2.circle(image, (20, 20), 15, (40, 40, 220), -1)
>>> _ = cv2.line(image, (20, 15), (20, 6), (10, 10, 60), 3)   # the dash points up
>>> round(float(np.degrees(marker_angle(image, 20.5, 20.5, 15.0, (220, 40, 40)))))
90
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .detect import Color
from .source import Image
from .violation import Violation

MARK_CONTRAST = 60
"""Summed over the three channels: how far from the ball's colour a mark's pixel is."""


def marker_angle(image: Image, x: float, y: float, radius: float, fill: Color) -> float:
    """The angle (radians, counter-clockwise from +x with y up) of the mark on the ball
    at (``x``, ``y``) of ``radius`` pixels and RGB colour ``fill``; NaN if none shows."""
    if radius < 4:
        return float("nan")
    r = int(np.ceil(0.8 * radius)) + 1  # the ring's box is enough
    left, top = max(int(x) - r, 0), max(int(y) - r, 0)
    crop = image[top : int(y) + r + 1, left : int(x) + r + 1]
    if crop.size == 0:
        return float("nan")
    # separable geometry: offsets of columns and rows, squared distances by broadcasting
    xs = np.arange(crop.shape[1]) + (left + 0.5 - x)
    ys = np.arange(crop.shape[0]) + (top + 0.5 - y)
    d2 = xs[None, :] ** 2 + ys[:, None] ** 2
    ring = (d2 > (0.3 * radius) ** 2) & (d2 < (0.8 * radius) ** 2)
    fill_bgr = np.array([fill[2], fill[1], fill[0], 0], float)  # OpenCV's scalar
    differ = np.asarray(cv2.absdiff(crop, fill_bgr)).sum(axis=2, dtype=np.int32)
    weight = np.where(ring, np.maximum(differ - MARK_CONTRAST, 0), 0)
    total = float(weight.sum())
    if total <= 0 or int(np.count_nonzero(weight)) < 3:
        return float("nan")
    mx = float(weight.sum(axis=0) @ xs) / total
    my = float(weight.sum(axis=1) @ ys) / total
    if np.hypot(mx, my) < 0.3 * radius:  # spread all round: not one mark
        return float("nan")
    return float(np.arctan2(-my, mx))


@dataclass(frozen=True, slots=True)
class Spin:
    """One object's turn over one free flight: angular velocity (rad/s,
    counter-clockwise) with its uncertainty, from ``points`` marked frames."""

    track: int
    first: int
    last: int
    omega: float
    sigma: float
    points: int


def _line(t: np.ndarray, a: np.ndarray) -> tuple[float, float, float]:
    """Slope, its standard error and the residual sum of squares of a straight line."""
    design = np.stack([t, np.ones_like(t)], 1)
    coef, *_ = np.linalg.lstsq(design, a, rcond=None)
    rss = float(((design @ coef - a) ** 2).sum())
    dof = max(len(t) - 2, 1)
    cov = np.linalg.inv(design.T @ design) * rss / dof
    return float(coef[0]), float(np.sqrt(max(cov[0, 0], 0.0))), rss


def unwrap(frames: list[int], angles: list[float]) -> np.ndarray:
    """Angles made continuous over the frames (a turn under half a revolution between
    marked frames)."""
    return np.asarray(np.unwrap(np.asarray(angles, float)), float)


def flight_spin(
    track: int, frames: list[int], angles: list[float], fps: float, min_points: int = 6
) -> Spin | None:
    """The spin over one flight's marked frames (None with fewer than ``min_points``)."""
    if len(frames) < min_points:
        return None
    t = np.asarray(frames, float) / fps
    omega, sigma, _ = _line(t, unwrap(frames, angles))
    return Spin(track, frames[0], frames[-1], omega, sigma, len(frames))


def spin_change(
    frames: list[int], angles: list[float], fps: float, side: int = 4
) -> tuple[int, float, float] | None:
    """Where a flight's spin changes most clearly: (first frame of the new spin, the
    spin before, after), if two lines fit more than 25 times better than one and the
    spins differ by over 1.5 rad/s and 8 of their uncertainties; else None."""
    if len(frames) < 2 * side:
        return None
    t = np.asarray(frames, float) / fps
    a = unwrap(frames, angles)
    _, _, one = _line(t, a)
    best: tuple[float, int, float, float, float] | None = None
    for k in range(side, len(frames) - side + 1):
        w1, s1, r1 = _line(t[:k], a[:k])
        w2, s2, r2 = _line(t[k:], a[k:])
        if best is None or r1 + r2 < best[0]:
            best = (r1 + r2, k, w1, w2, float(np.hypot(s1, s2)))
    assert best is not None
    two, k, w1, w2, sigma = best
    floor = 1e-4 * len(frames)  # the marks' own noise: about 0.01 rad a frame
    if one > 25 * max(two, floor) and abs(w2 - w1) > max(1.5, 8 * sigma):
        return frames[k], w1, w2
    return None


def jumps(
    flights: list[tuple[int, list[int], list[float]]], fps: float, name: dict[int, str]
) -> list[Violation]:
    """A spin that changes in free flight, per (track, marked frames, angles) flight."""
    found = []
    for track, frames, angles in flights:
        change = spin_change(frames, angles, fps)
        if change is None:
            continue
        frame, before, after = change
        found.append(
            Violation(
                frame,
                "spin",
                (track,),
                f"frame {frame}: {name[track]} changes its spin in free flight, from "
                f"{before:.1f} to {after:.1f} rad/s (nothing touched it)",
                after - before,
            )
        )
    return found
