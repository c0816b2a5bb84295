"""A clip's events in words: collisions, captions, question–answer pairs, plausibility.

Made from the Frames' contact events the CLEVRER way (templates over the event log,
answers read off it), so every answer is exact. Written as ``clip.annotations.json``:

- ``collisions``: every contact that began: ``time`` (simulation s), ``frame``, ``a``,
  ``b`` (``a`` the body with the lower row), ``impulse`` (N·s);
- ``captions``: one sentence per pair's first contact, in time order;
- ``questions``: ``{question, answer, kind}``: which body hits a static body first, what a
  body hits first, whether two moving bodies collide, how many collisions between
  moving bodies;
- ``plausibility``: ``energy_start`` (J, kinetic + gravitational), ``energy_gain``
  (the largest rise above it, J; friction and inelastic contacts only take energy away)
  and ``flagged`` (a gain above 2 % of the start energy plus 1 mJ: an outlier to check;
  ``ground_truth.TruthRecorder`` adds momentum in isolated collisions, the deepest
  penetration, ``joint_error`` for clips with pins or pivots, and ``outliers``).

>>> from physics_scenes.frame import Event
>>> notes = Annotations(("floor", "red", "blue"), ("static", "dynamic", "dynamic"))
>>> notes.add(5, [Event(0.31, 75, "begin", "floor", "blue", 2.0)])
>>> notes.add(6, [Event(0.4, 96, "begin", "floor", "red", 1.5)])
>>> notes.captions()
['blue hits the floor at 0.31 s.', 'red hits the floor at 0.40 s.']
>>> notes.questions()[0]
{'question': 'Which object hits the floor first?', 'answer': 'blue', 'kind': 'descriptive'}
>>> for joules in (10.0, 9.0, 10.1, 10.5):  # a rise of 0.5 J on 10 J: more than 2 %
...     notes.add(7, [], joules)
>>> notes.record()["plausibility"]
{'energy_start': 10.0, 'energy_gain': 0.5, 'flagged': True}
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from ..frame import Event

GAIN_SHARE = 0.02
GAIN_FLOOR = 1e-3
MAX_PAIRS = 10
"""Yes/no questions about at most this many pairs of moving bodies."""


class Annotations:
    """Collects a clip's events (``add`` per frame) and energies, then writes them out."""

    def __init__(self, names: tuple[str, ...], types: tuple[str, ...]) -> None:
        self.names = names
        self.moving = {n for n, t in zip(names, types, strict=True) if t != "static"}
        self.collisions: list[dict[str, Any]] = []
        self.energy_start: float | None = None
        self.energy_gain = 0.0

    def add(self, frame: int, events: Iterable[Event], energy: float | None = None) -> None:
        for event in events:
            if event.kind == "begin":
                self.collisions.append({"time": event.time, "frame": frame, "a": event.a,
                                        "b": event.b, "impulse": event.impulse})  # fmt: skip
        if energy is not None:
            if self.energy_start is None:
                self.energy_start = energy
            self.energy_gain = max(self.energy_gain, energy - self.energy_start)

    def _mover_first(self, a: str, b: str) -> tuple[str, str]:
        return (b, a) if a not in self.moving and b in self.moving else (a, b)

    def captions(self) -> list[str]:
        seen: set[frozenset[str]] = set()
        out = []
        for hit in self.collisions:
            pair = frozenset((hit["a"], hit["b"]))
            if pair in seen:
                continue
            seen.add(pair)
            a, b = self._mover_first(hit["a"], hit["b"])
            target = f"the {b}" if b not in self.moving else b
            out.append(f"{a} hits {target} at {hit['time']:.2f} s.")
        return out

    def questions(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        first_on: dict[str, str] = {}
        first_of: dict[str, str] = {}
        touching: set[frozenset[str]] = set()
        for hit in self.collisions:
            a, b = self._mover_first(hit["a"], hit["b"])
            touching.add(frozenset((a, b)))
            if b not in self.moving:
                first_on.setdefault(b, a)
            for this, other in ((a, b), (b, a)):
                if this in self.moving:
                    first_of.setdefault(this, other)
        if len(self.moving) >= 2:
            for target, first in first_on.items():
                question = f"Which object hits the {target} first?"
                out.append({"question": question, "answer": first, "kind": "descriptive"})
        for body, other in first_of.items():
            out.append({"question": f"What does {body} hit first?", "answer": other,
                        "kind": "descriptive"})  # fmt: skip
        movers = [n for n in self.names if n in self.moving]
        for a, b in itertools.islice(itertools.combinations(movers, 2), MAX_PAIRS):
            answer = "yes" if frozenset((a, b)) in touching else "no"
            out.append({"question": f"Does {a} collide with {b}?", "answer": answer,
                        "kind": "descriptive"})  # fmt: skip
        between = sum(1 for hit in self.collisions
                      if hit["a"] in self.moving and hit["b"] in self.moving)  # fmt: skip
        out.append({"question": "How many collisions between moving objects are there?",
                    "answer": str(between), "kind": "counting"})  # fmt: skip
        return out

    def record(self) -> dict[str, Any]:
        start = self.energy_start if self.energy_start is not None else 0.0
        flagged = self.energy_gain > GAIN_SHARE * abs(start) + GAIN_FLOOR
        return {
            "format": "physics_scenes.annotations", "version": 1,
            "collisions": self.collisions, "captions": self.captions(),
            "questions": self.questions(),
            "plausibility": {"energy_start": start, "energy_gain": self.energy_gain,
                             "flagged": flagged},
        }  # fmt: skip
