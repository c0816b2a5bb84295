"""The verdict's words: a violation (what breaks physics, where and when, in a
sentence), the objects' plain names, and the plausibility score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .detect import Color
from .track import Track


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing that breaks physics, where and when, said in a sentence."""

    frame: int
    kind: str
    """One of ``KINDS``."""
    objects: tuple[int, ...]
    message: str
    value: float = float("nan")


KINDS = (
    "gravity",
    "restitution",
    "vanish",
    "appear",
    "teleport",
    "size",
    "overlap",
    "merge",
    "split",
    "spin",
)

_NAMES: dict[str, Color] = {
    "red": (220, 40, 40),
    "orange": (235, 120, 40),
    "yellow": (230, 210, 50),
    "green": (60, 180, 70),
    "cyan": (60, 200, 210),
    "blue": (50, 90, 220),
    "purple": (140, 70, 200),
    "pink": (230, 110, 180),
    "white": (235, 235, 235),
    "grey": (128, 128, 128),
    "black": (20, 20, 20),
    "brown": (130, 80, 40),
}


def color_name(color: Color) -> str:
    """The nearest of a few plain colour names.

    >>> color_name((250, 30, 20))
    'red'
    """
    return min(_NAMES, key=lambda name: _distance(_NAMES[name], color))


def _distance(a: Color, b: Color) -> int:
    return sum((p - q) ** 2 for p, q in zip(a, b, strict=True))


def names(tracks: list[Track]) -> dict[int, str]:
    """'the red ball'-style names: colour plus a number when a colour repeats."""
    plain = {t.id: color_name(t.color) for t in tracks}
    counts: dict[str, int] = {}
    result = {}
    for t in tracks:
        word = plain[t.id]
        if list(plain.values()).count(word) > 1:
            counts[word] = counts.get(word, 0) + 1
            word = f"{word} #{counts[word]}"
        result[t.id] = f"the {word} object"
    return result


def score(counts: dict[str, tuple[int, int]]) -> tuple[float, dict[str, float]]:
    """A 0–100 plausibility score: the mean of one component per check, each the share
    of what it checked that passed (1 when nothing could be checked)."""
    parts = {k: (1.0 - bad / total if total else 1.0) for k, (bad, total) in counts.items()}
    parts = {k: max(0.0, v) for k, v in parts.items()}
    return 100.0 * float(np.mean(list(parts.values()))), parts
