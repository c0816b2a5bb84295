"""The words the text-to-scene grammar understands, as constant tables.

Everything the grammar knows is here, so the README's vocabulary and the parser cannot
drift apart (the README lists these tables). Plurals are the singular plus 's'/'es',
handled by ``singular``.
"""

from __future__ import annotations

from types import MappingProxyType

from ..colors import NAMED
from ..materials import PRESETS

NUMBERS = MappingProxyType(
    {
        "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "pair": 2, "couple": 2, "three": 3,
        "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
        "eleven": 11, "twelve": 12, "dozen": 12, "fifteen": 15, "twenty": 20, "few": 3,
        "several": 5, "many": 12, "lots": 20,
    }
)  # fmt: skip
"""Count words; digits are counts too."""

COLORS = tuple(NAMED)
MATERIALS = (*(m for m in PRESETS if m != "ground"), "steel", "iron", "wooden", "rubbery")
MATERIAL_ALIASES = MappingProxyType(
    {"steel": "metal", "iron": "metal", "wooden": "wood", "rubbery": "rubber", "metallic": "metal"}
)
SIZES = MappingProxyType(
    {"tiny": 0.5, "small": 0.75, "little": 0.75, "medium": 1.0, "big": 1.5, "large": 1.5,
     "huge": 2.2, "giant": 2.2}
)  # fmt: skip
"""Size word → scale of the object's default size."""

OBJECTS = MappingProxyType(
    {
        "ball": "ball", "marble": "ball", "sphere": "ball", "bowling": "ball",
        "box": "box", "crate": "box", "cube": "box", "block": "box", "brick": "box",
        "domino": "domino", "ramp": "ramp", "slope": "ramp", "stairs": "stairs",
        "staircase": "stairs", "steps": "stairs", "stair": "stairs", "wall": "wall",
        "floor": "floor", "ground": "floor", "pendulum": "pendulum", "chain": "chain",
        "rope": "chain", "cradle": "cradle", "walker": "walker", "man": "walker",
        "woman": "walker", "person": "walker", "guy": "walker", "girl": "walker",
        "boy": "walker", "robot": "walker",
        "pool": "pool", "water": "pool", "tank": "pool", "pond": "pool", "fluid": "pool",
        "river": "pool", "tap": "tap", "faucet": "tap", "hose": "tap",
    }
)  # fmt: skip
"""Nouns → the kind of thing made."""


ARRANGEMENTS = MappingProxyType(
    {"row": "row", "line": "row", "stack": "stack", "tower": "stack", "pile": "pile",
     "heap": "pile", "pyramid": "pyramid"}
)  # fmt: skip

MOTIONS = MappingProxyType(
    {
        "fall": "fall", "falls": "fall", "falling": "fall", "drop": "fall", "drops": "fall",
        "dropped": "fall", "dropping": "fall", "released": "fall", "release": "fall",
        "roll": "roll", "rolls": "roll", "rolling": "roll", "rolled": "roll",
        "bounce": "bounce", "bounces": "bounce", "bouncing": "bounce",
        "throw": "throw", "throws": "throw", "thrown": "throw", "throwing": "throw",
        "launch": "throw", "launched": "throw", "shot": "throw",
        "walk": "walk", "walks": "walk", "walking": "walk", "strolls": "walk",
        "swing": "swing", "swings": "swing", "swinging": "swing",
        "pour": "pour", "pours": "pour", "pouring": "pour", "drips": "pour", "drip": "pour",
        "flows": "pour", "runs": "pour", "fills": "pour",
        "push": "push", "pushed": "push", "pushes": "push", "kick": "push", "kicked": "push",
        "kicks": "push", "nudged": "push", "hit": "hit", "hits": "hit", "strikes": "hit",
        "knocks": "hit", "touches": "hit", "reaches": "hit", "lands": "hit", "topple": "hit",
        "topples": "hit", "stop": "end", "stops": "end", "ends": "end", "end": "end",
        "disappears": "remove", "vanishes": "remove", "removed": "remove",
    }
)  # fmt: skip

STYLE_WORDS = MappingProxyType(
    {
        ("slow", "motion"): "slow motion", ("slowmo",): "slow motion",
        ("slow-motion",): "slow motion", ("close-up", "cinematic"): "close-up cinematic",
        ("close", "up", "cinematic"): "close-up cinematic", ("close-up",): "close-up cinematic",
        ("close", "up"): "close-up cinematic", ("closeup",): "close-up cinematic",
        ("cinematic",): "cinematic", ("drone", "view"): "drone view",
        ("drone", "shot"): "drone view", ("drone",): "drone view",
        ("from", "above"): "drone view",
    }
)  # fmt: skip
"""Camera and time phrases → the scene's named styles."""

SECONDS = ("seconds", "second", "s", "sec", "secs")
GLUE = frozenset(
    (
        "the", "of", "and", "with", "on", "onto", "in", "into", "to", "at", "from", "down",
        "up", "its", "their", "it", "is", "are", "a", "an", "by", "off", "over", "across",
        "along", "past", "into", "each", "other", "some", "then", "there", "this", "that",
        "them", "they", "which", "as", "while", "first", "last", "next", "left", "right",
        "towards", "toward", "for", "video", "clip", "scene", "shows",
    )
)  # fmt: skip
"""Words that carry no content of their own here (they are not reported as skipped)."""

SPLITTERS = ("then", "after", "afterwards", "finally", "when", "while")


def singular(word: str) -> str:
    """'balls' → 'ball', 'boxes' → 'box', 'dominoes' → 'domino', 'stairs' stays."""
    if word in OBJECTS:
        return word
    for ending, cut in (("es", 2), ("s", 1)):
        if word.endswith(ending) and word[:-cut] in OBJECTS:
            return word[:-cut]
    if word == "men":
        return "man"
    if word in ("women", "people"):
        return "woman" if word == "women" else "person"
    return word
