"""What the preview draws on top of the rendered scene: vectors, marks, labels, text.

Each overlay is a function of the window surface, a font, the Layout, the Frame and
the View, so the window's class keeps only events and playback.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from types import MappingProxyType

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

from ..frame import Frame, Layout
from ..physics.measure import centers_of_gravity
from ..picture.view import View

TEXT, DIM, ACCENT, ERROR = (235, 238, 245), (150, 156, 170), (255, 196, 61), (255, 110, 100)
VELOCITY, ANCHOR = (120, 220, 255), (120, 255, 160)
SURROUND = (24, 26, 31)
"""Around the clip's picture where the window is larger than it."""
MAX_NAMES = 300
"""Labels drawn at most (a 1000-ball pile would be a grey smear)."""

Overlay = Callable[[pygame.Surface, pygame.font.Font, Layout, Frame, View], None]


def velocities(
    surface: pygame.Surface, font: pygame.font.Font, layout: Layout, frame: Frame, view: View
) -> None:
    """Each dynamic body's velocity as a line: the distance it covers in a quarter second."""
    mask = layout.dynamic_mask()
    starts = view.to_pixels(frame.position[mask])
    ends = view.to_pixels(frame.position[mask] + frame.velocity[mask] * 0.25)
    for (ax, ay), (bx, by) in zip(starts, ends, strict=True):
        if np.isfinite([ax, ay, bx, by]).all() and (ax != bx or ay != by):
            pygame.draw.line(surface, VELOCITY, (ax, ay), (bx, by))


def centres_of_mass(
    surface: pygame.Surface, font: pygame.font.Font, layout: Layout, frame: Frame, view: View
) -> None:
    """A small cross on each dynamic body's centre of mass."""
    for x, y in view.to_pixels(centers_of_gravity(layout, frame))[layout.dynamic_mask()]:
        if np.isfinite(x) and np.isfinite(y):
            pygame.draw.line(surface, ACCENT, (x - 5, y), (x + 5, y))
            pygame.draw.line(surface, ACCENT, (x, y - 5), (x, y + 5))


def joint_anchors(
    surface: pygame.Surface, font: pygame.font.Font, layout: Layout, frame: Frame, view: View
) -> None:
    """A ring on both anchors of every joint that has anchor points, drawn or not."""
    for joint in layout.joints:
        if joint.kind in ("motor", "gear", "rotary_limit", "rotary_spring"):
            continue  # angular: no anchor points
        for row, (ax, ay) in ((joint.a, joint.anchor_a), (joint.b, joint.anchor_b)):
            if row < 0:
                point = (ax, ay)
            else:
                c, s = math.cos(frame.angle[row]), math.sin(frame.angle[row])
                x, y = frame.position[row]
                point = (x + ax * c - ay * s, y + ax * s + ay * c)
            px, py = view.to_pixels(point)
            if np.isfinite(px) and np.isfinite(py):
                pygame.draw.circle(surface, ANCHOR, (px, py), 3, 1)


def contacts(
    surface: pygame.Surface, font: pygame.font.Font, layout: Layout, frame: Frame, view: View
) -> None:
    """Each new contact's point, with its normal as long as the impulse is large (log)."""
    for event in frame.events:
        if event.kind in ("separate", "action"):
            continue
        px, py = view.to_pixels(event.point)
        length = min(60.0, 8.0 * math.log1p(event.impulse * 10))
        nx, ny = event.normal
        pygame.draw.circle(surface, ERROR, (px, py), 4, 1)
        pygame.draw.line(surface, ERROR, (px, py), (px + nx * length, py - ny * length))


def names(
    surface: pygame.Surface, font: pygame.font.Font, layout: Layout, frame: Frame, view: View
) -> None:
    """Body names beside their origins, for the first ``MAX_NAMES`` bodies on screen."""
    pixels = view.to_pixels(frame.position)
    for body, (x, y) in list(zip(layout.bodies, pixels, strict=True))[:MAX_NAMES]:
        if 0 <= x < view.width and 0 <= y < view.height:
            surface.blit(font.render(body.name, True, TEXT), (x + 6, y - 8))


def draw_text_block(
    surface: pygame.Surface, font: pygame.font.Font, lines: Sequence[str], dim_after: int
) -> None:
    """Lines of text at the top left, those from ``dim_after`` on in the dim colour."""
    for row, line in enumerate(lines):
        colour = TEXT if row < dim_after else DIM
        surface.blit(font.render(line, True, colour), (10, 8 + 18 * row))


def help_box(
    surface: pygame.Surface,
    font: pygame.font.Font,
    rows: Sequence[tuple[str, str]],
    lit: set[str],
) -> None:
    """The keys and what they do, centred near the top; keys in ``lit`` (overlays that
    are on) in the accent colour."""
    rows = [("keys", ""), *rows]
    box = pygame.Surface((520, 22 * len(rows) + 16), pygame.SRCALPHA)
    box.fill((10, 12, 16, 225))
    for row, (key, text) in enumerate(rows):
        box.blit(font.render(key, True, ACCENT if key in lit else TEXT), (14, 10 + 22 * row))
        box.blit(font.render(text, True, DIM), (150, 10 + 22 * row))
    surface.blit(box, ((surface.get_width() - box.get_width()) // 2, 40))


def error_box(
    surface: pygame.Surface,
    font: pygame.font.Font,
    big: pygame.font.Font,
    text: str,
    reloaded: str | None,
) -> None:
    """An error in a dark red box: a failed reload (``reloaded``, the last good scene
    keeps running) or the clip stopping (a blow-up: its frames so far stay)."""
    lines = text.splitlines()[:12]
    box = pygame.Surface((surface.get_width() - 40, 20 * len(lines) + 40), pygame.SRCALPHA)
    box.fill((40, 10, 10, 235))
    title = ("scene not reloaded (still showing the last good one):" if reloaded
             else "the clip stopped here:")  # fmt: skip
    box.blit(big.render(title, True, ERROR), (12, 8))
    for row, line in enumerate(lines):
        box.blit(font.render(line, True, TEXT), (12, 32 + 20 * row))
    surface.blit(box, (20, 60))


DRAW: MappingProxyType[str, Overlay] = MappingProxyType(
    {
        "velocity": velocities,
        "mass": centres_of_mass,
        "joints": joint_anchors,
        "contacts": contacts,
        "names": names,
    }
)
"""Overlay name (as in ``--overlays``) → its drawing function."""
