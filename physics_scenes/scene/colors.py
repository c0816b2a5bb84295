"""Colour parsing shared by the scene model and the renderer (pure, no pygame)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

RGB = tuple[int, int, int]

NAMED: Mapping[str, RGB] = MappingProxyType(
    {
        "black": (0, 0, 0),
        "white": (255, 255, 255),
        "red": (230, 57, 70),
        "green": (82, 183, 136),
        "blue": (69, 123, 230),
        "yellow": (244, 211, 94),
        "orange": (247, 127, 0),
        "purple": (142, 84, 233),
        "pink": (255, 133, 161),
        "cyan": (76, 201, 240),
        "brown": (140, 90, 60),
        "gray": (128, 128, 128),
        "grey": (128, 128, 128),
        "navy": (20, 33, 61),
        "teal": (42, 157, 143),
    }
)


def parse_color(value: object) -> RGB:
    """Turn ``"#rgb"``, ``"#rrggbb"``, a name from ``NAMED`` or ``[r, g, b]`` into RGB.

    Raises ValueError with a message meant for the scene author.

    >>> parse_color("#e44"), parse_color("Teal"), parse_color([228, 87, 46])
    ((238, 68, 68), (42, 157, 143), (228, 87, 46))
    >>> parse_color([300, 0, 0])
    Traceback (most recent call last):
    ValueError: expected three integers from 0 to 255, like [228, 87, 46]
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text in NAMED:
            return NAMED[text]
        if text.startswith("#") and len(text) in (4, 7):
            digits = text[1:]
            if len(digits) == 3:
                digits = "".join(c * 2 for c in digits)
            try:
                return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
            except ValueError:
                pass
        raise ValueError(
            f"expected a colour like '#e04040', '#e44' or a name ({', '.join(sorted(NAMED))})"
        )
    if isinstance(value, list | tuple) and len(value) == 3:
        if all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value):
            return (int(value[0]), int(value[1]), int(value[2]))
        raise ValueError("expected three integers from 0 to 255, like [228, 87, 46]")
    raise ValueError("expected a colour: '#rrggbb', a colour name or [r, g, b]")


def to_hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def shade(color: RGB, factor: float) -> RGB:
    """``color`` with every channel times ``factor``, rounded and kept within 0-255.

    >>> shade((200, 100, 10), 0.5), shade((200, 100, 10), 2.0)
    ((100, 50, 5), (255, 200, 20))
    """
    r, g, b = (max(0, min(255, round(c * factor))) for c in color)
    return (r, g, b)
