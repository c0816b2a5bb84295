"""Finishing the picture: motion blur, vignette, letterbox bars, gradient backgrounds.

Pure numpy on raw ``Pixels`` (no pygame), so every effect is a deterministic
function of its inputs. The pipeline decides when to call what.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from .camera import Picture
from .view import Pixels

BAR_COLOR = 0


def _raw(pixels: Pixels) -> npt.NDArray[np.uint8]:
    return np.frombuffer(pixels.data, dtype=np.uint8).reshape(pixels.height, pixels.width, 4)


def average(frames: Iterable[Pixels], count: int | None = None) -> Pixels:
    """The mean of several renders (a shutter open over their times), rounded.

    Taken one at a time, so a generator of ``count`` renders keeps one render and one sum
    in memory, not all of them (64 samples at 7680x7680 would be 15 GB); with ``count``
    known and small enough, the sum is 16-bit (the same integers, half the memory).
    """
    items = iter(frames)
    first = next(items)
    small = count is not None and count * 255 + count // 2 <= 0xFFFF
    total: npt.NDArray[np.unsignedinteger[Any]] = _raw(first).astype(
        np.uint16 if small else np.uint32
    )
    n = 1
    for pixels in items:
        total += _raw(pixels)
        n += 1
    assert count is None or n == count, f"expected {count} renders, got {n}"
    total += n // 2
    total //= n
    mean = total.astype(np.uint8)
    return Pixels(first.width, first.height, mean.tobytes(), first.pix_fmt)


def shutter_offsets(samples: int) -> list[float]:
    """Sample times across the open shutter, as fractions of the exposure centred on 0.

    The ends are included (−½ … +½) so a streak spans exactly velocity × exposure.
    """
    return [i / (samples - 1) - 0.5 for i in range(samples)]


def vignette_mask(width: int, height: int, strength: float) -> npt.NDArray[np.uint16]:
    """Per-pixel gain ×256: 1 in the middle, falling smoothly to 1−strength in the corners."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = np.hypot((x + 0.5) / width - 0.5, (y + 0.5) / height - 0.5) / np.hypot(0.5, 0.5)
    gain = 1.0 - strength * np.clip((r - 0.45) / 0.55, 0, 1) ** 2
    mask: npt.NDArray[np.uint16] = np.round(gain * 256).astype(np.uint16)[..., None]
    return mask


class Finisher:
    """Applies the per-frame screen-space effects in a fixed order: vignette, then bars."""

    def __init__(self, picture: Picture, vignette: float) -> None:
        self.picture = picture
        self.mask = vignette_mask(picture.width, picture.height, vignette) if vignette else None
        self.bars = (picture.area_width, picture.area_height) != (picture.width, picture.height)

    @property
    def active(self) -> bool:
        return self.mask is not None or self.bars

    def apply(self, pixels: Pixels) -> Pixels:
        if not self.active:
            return pixels
        raw = _raw(pixels)
        if self.mask is not None:
            out = ((raw.astype(np.uint16) * self.mask) >> 8).astype(np.uint8)
        else:
            out = raw.copy()
        p = self.picture
        top, left = (p.height - p.area_height) // 2, (p.width - p.area_width) // 2
        if top:
            out[:top] = BAR_COLOR
            out[top + p.area_height :] = BAR_COLOR
        if left:
            out[:, :left] = BAR_COLOR
            out[:, left + p.area_width :] = BAR_COLOR
        return Pixels(pixels.width, pixels.height, out.tobytes(), pixels.pix_fmt)


def gradient(
    width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> npt.NDArray[np.uint8]:
    """A vertical gradient as an (height, width, 3) RGB array."""
    f = (np.arange(height, dtype=np.float64) + 0.5) / height
    rows = np.array(top, dtype=np.float64) * (1 - f[:, None]) + np.array(bottom) * f[:, None]
    return np.ascontiguousarray(
        np.broadcast_to(np.round(rows).astype(np.uint8)[:, None, :], (height, width, 3))
    )


def blend(a: Pixels, b: Pixels, share: float) -> Pixels:
    """``a`` dissolving into ``b``: ``share`` (0..1) of ``b``, rounded (a crossfade's frame).

    >>> one, two = Pixels(1, 1, bytes([0, 100, 200, 0])), Pixels(1, 1, bytes([200, 100, 0, 0]))
    >>> list(blend(one, two, 0.25).data)
    [50, 100, 150, 0]
    """
    mixed = _raw(a) * (1.0 - share) + _raw(b) * share
    return Pixels(a.width, a.height, np.rint(mixed).astype(np.uint8).tobytes(), a.pix_fmt)


def darken(a: Pixels, level: float) -> Pixels:
    """``a`` at ``level`` (0 black .. 1 as is): a fade to or from black."""
    dark = np.rint(_raw(a) * level).astype(np.uint8)
    return Pixels(a.width, a.height, dark.tobytes(), a.pix_fmt)


def wipe(a: Pixels, b: Pixels, share: float) -> Pixels:
    """``b`` revealed from the left over ``a``: its first ``share`` of the columns."""
    edge = round(share * a.width)
    out = _raw(a).copy()
    out[:, :edge] = _raw(b)[:, :edge]
    return Pixels(a.width, a.height, out.tobytes(), a.pix_fmt)
