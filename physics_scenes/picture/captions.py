"""Captions and title cards burned into finished pixels, inside the title-safe area.

Text is drawn with pygame's bundled default font (FreeSans Bold, shipped inside the
pygame-ce wheel, so nothing is downloaded or looked up on the system; its license is in
NOTICE.md), antialiased, then blended onto the picture in numpy with the cue's fade, so
the same text gives the same bytes in any process. A cue is placed in the picture area
(inside any letterbox bars), wrapped to the title-safe width (90 %: 5 % margins), with
an optional translucent box behind it. When two cues share a position, the later one
is shown.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

from ..scene.captions import Cue
from .camera import Picture
from .view import Pixels

FONT_FILE = Path(pygame.__file__).parent / pygame.font.get_default_font()
"""FreeSans Bold as pygame-ce ships it: the one font drawn (a C2PA ingredient when used)."""
Color3 = tuple[int, int, int]
SAFE_MARGIN = 0.05
"""Of the picture area on each side: the title-safe area is the middle 90 %."""
BOX_ALPHA = 0.6
"""Opacity of the dark box behind a caption, at full fade."""
CHANNELS = {"bgr0": (2, 1, 0), "rgb0": (0, 1, 2)}


def fade(cue: Cue, t: float) -> float:
    """The cue's opacity at video time ``t``: ramps of ``style.fade`` seconds at both ends."""
    if not cue.start <= t < cue.end:
        return 0.0
    ramp = cue.style.fade
    if ramp <= 0:
        return 1.0
    return max(0.0, min(1.0, (t - cue.start) / ramp, (cue.end - t) / ramp))


class Captions:
    """Draws the cues active at a video time onto ``Pixels`` (``add`` cues as they start)."""

    def __init__(self, picture: Picture, cues: Iterable[Cue] = ()) -> None:
        self.picture = picture
        self.cues: list[Cue] = list(cues)
        self._fonts: dict[int, pygame.font.Font] = {}
        self._lines: dict[tuple[str, int], list[npt.NDArray[np.float32]]] = {}

    def add(self, cues: Iterable[Cue]) -> None:
        self.cues.extend(cues)

    def draw(self, pixels: Pixels, t: float, cues: Iterable[Cue] | None = None) -> Pixels:
        """``pixels`` with the captions of time ``t`` blended in (the same object if none):
        of ``cues`` if given, else of the ones added."""
        shown: dict[str, tuple[Cue, float]] = {}
        for cue in self.cues if cues is None else cues:
            alpha = fade(cue, t)
            if alpha > 0:
                shown[cue.style.position] = (cue, alpha)  # the later cue wins its place
        if not shown:
            return pixels
        raw = np.frombuffer(pixels.data, dtype=np.uint8).reshape(pixels.height, pixels.width, 4)
        out = raw.astype(np.float32)
        order = CHANNELS[pixels.pix_fmt]
        for position in ("top", "center", "bottom"):
            if position in shown:
                self._blend(out, *shown[position], order)
        result = np.round(out).astype(np.uint8)
        result[..., 3] = raw[..., 3]
        return Pixels(pixels.width, pixels.height, result.tobytes(), pixels.pix_fmt)

    def _font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            if not pygame.font.get_init():
                pygame.font.init()
            self._fonts[size] = pygame.font.Font(None, size)  # the bundled FreeSans Bold
        return self._fonts[size]

    def lines(self, text: str, size: int) -> list[npt.NDArray[np.float32]]:
        """The text wrapped to the safe width, each line as an alpha array (0-1)."""
        key = (text, size)
        if key not in self._lines:
            font = self._font(size)
            width = self.picture.area_width * (1 - 2 * SAFE_MARGIN) - size
            wrapped: list[str] = []
            for paragraph in text.splitlines() or [""]:
                line = ""
                for word in paragraph.split():
                    trial = f"{line} {word}".strip()
                    if line and font.size(trial)[0] > width:
                        wrapped.append(line)
                        line = word
                    else:
                        line = trial
                wrapped.append(line)
            arrays = []
            for line in wrapped:
                surface = font.render(line or " ", True, (255, 255, 255))
                alpha = pygame.surfarray.array_alpha(surface).T.astype(np.float32) / 255.0
                arrays.append(alpha)
            self._lines[key] = arrays
        return self._lines[key]

    def _blend(
        self, out: npt.NDArray[np.float32], cue: Cue, alpha: float, order: tuple[int, ...]
    ) -> None:
        p = self.picture
        style = cue.style
        size = max(6, round(style.size * p.area_height))
        lines = self.lines(style.text, size)
        pad = max(2, round(size * 0.3))
        block_h = sum(a.shape[0] for a in lines)
        block_w = max(a.shape[1] for a in lines)
        top0, left0 = (p.height - p.area_height) // 2, (p.width - p.area_width) // 2
        margin = round(p.area_height * SAFE_MARGIN)
        if style.position == "bottom":
            y = top0 + p.area_height - margin - pad - block_h
        elif style.position == "top":
            y = top0 + margin + pad
        else:
            y = top0 + (p.area_height - block_h) // 2
        if style.box:
            x0 = left0 + (p.area_width - block_w) // 2 - pad
            y0 = y - pad
            box = out[
                max(0, y0) : max(0, y0 + block_h + 2 * pad),
                max(0, x0) : max(0, x0 + block_w + 2 * pad),
            ]
            box[..., :3] *= 1 - BOX_ALPHA * alpha
        color = np.array([style.color[k] for k in range(3)], dtype=np.float32)[list(order)]
        for line in lines:
            h, w = line.shape
            x = left0 + (p.area_width - w) // 2
            cut_y, cut_x = max(0, -y), max(0, -x)  # text larger than the picture: clipped
            region = out[y + cut_y : y + h, x + cut_x : x + w, :3]
            a = line[cut_y : cut_y + region.shape[0], cut_x : cut_x + region.shape[1], None]
            a = a * alpha
            region *= 1 - a
            region += a * color[None, None, :]
            y += h

    def corner(self, pixels: Pixels, text: str, corner: str, opacity: float, size: float) -> Pixels:
        """``text`` in white on a dark box in a corner of the title-safe area (``look.label``),
        never under 11 px high (smaller is not read at 320x180)."""
        p = self.picture
        px = max(11, round(size * p.area_height))
        alpha = self.lines(text, px)[0] * opacity
        h, w = alpha.shape
        pad = max(1, px // 5)
        top0, left0 = (p.height - p.area_height) // 2, (p.width - p.area_width) // 2
        margin_y, margin_x = round(p.area_height * SAFE_MARGIN), round(p.area_width * SAFE_MARGIN)
        top = top0 + margin_y + pad
        if corner.startswith("bottom"):
            top = top0 + p.area_height - margin_y - pad - h
        left = left0 + margin_x + pad
        if corner.endswith("right"):
            left = left0 + p.area_width - margin_x - pad - w
        white = np.full(3, 255.0, dtype=np.float32)
        return _boxed(pixels, alpha, top, left, pad, BOX_ALPHA * opacity, white)

    def label(
        self, pixels: Pixels, text: str, x: float, y: float, size: float, color: Color3
    ) -> Pixels:
        """``text`` centred above the pixel point (x, y), on a small dark box; nothing when
        the point is off the picture (or NaN: a body not in the world)."""
        p = self.picture
        if not (np.isfinite(x) and np.isfinite(y)) or not (0 <= x < p.width and 0 <= y < p.height):
            return pixels
        px = max(6, round(size * p.area_height))
        alpha = self.lines(text, px)[0]
        h, w = alpha.shape
        pad = max(1, px // 5)
        left, top = round(x - w / 2), round(y - h - 2 * pad)
        rgb = np.array(color, dtype=np.float32)[list(CHANNELS[pixels.pix_fmt])]
        return _boxed(pixels, alpha, top, left, pad, BOX_ALPHA, rgb)


def _boxed(
    pixels: Pixels,
    alpha: npt.NDArray[np.float32],
    top: int,
    left: int,
    pad: int,
    shade: float,
    ink: npt.NDArray[np.float32],
) -> Pixels:
    """Text of coverage ``alpha`` at (``left``, ``top``) in ``ink`` (the picture's channel
    order), on a box ``pad`` pixels wider darkened by ``shade``; whatever of it falls off
    the picture is clipped. Only the box is converted to floats (a 720p frame whole cost
    12 ms); the pixels outside it are copied as they are."""
    raw = np.frombuffer(pixels.data, dtype=np.uint8).reshape(pixels.height, pixels.width, 4)
    h, w = alpha.shape
    y0, y1 = max(0, top - pad), min(pixels.height, max(0, top + h + pad))
    x0, x1 = max(0, left - pad), min(pixels.width, max(0, left + w + pad))
    if y1 <= y0 or x1 <= x0:
        return pixels
    out = raw.copy()
    box = out[y0:y1, x0:x1].astype(np.float32)
    box[..., :3] *= 1 - shade
    ty0, ty1 = max(0, top), min(pixels.height, top + h)
    tx0, tx1 = max(0, left), min(pixels.width, left + w)
    if ty1 > ty0 and tx1 > tx0:
        region = box[ty0 - y0 : ty1 - y0, tx0 - x0 : tx1 - x0, :3]
        a = alpha[ty0 - top : ty1 - top, tx0 - left : tx1 - left, None]
        region *= 1 - a
        region += a * ink[None, None, :]
    out[y0:y1, x0:x1] = np.round(box).astype(np.uint8)
    return Pixels(pixels.width, pixels.height, out.tobytes(), pixels.pix_fmt)
