"""A dataset's rules on the simulated outcome: ``accept``, ``label``, ``balance``, ``retries``.

The model (validated with the template) and its verdict on a clip's Frames, in one pass
and without the physics engine (it reads only ``Layout`` and ``Frame``)::

    accept:                          # every condition must hold, or the item is drawn again
      - touches: [ball, floor]       # some ball touches the floor (a 'begin' contact)
      - collisions: {min: 2}         # at least 2 contacts begin (between: [a, b] to narrow)
      - in_view: true                # no moving body ever leaves the world's region
      - apart: true                  # no two bodies overlap at the start (checked first,
                                     # before simulating: a placement drawn again is cheap)
    label: {first_touch: {bodies: [red, blue], target: floor}}   # or {variable: material}
    balance: [red, blue]             # item i wants label balance[i mod 2]
    retries: 10                      # draws after the first, then the item is 'rejected'
    counterfactual: {variable: speed, value: 3}   # a twin of each item with $speed = 3

A body name also names a template's repeated copies (``ball`` matches ``ball_0``,
``ball_1``, ...) and a composite's or grid's parts (``rope`` matches ``rope/link_3``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from ..frame import Frame, Layout, extent
from .fields import Model, ReadOnlyList

NONE_LABEL = "none"
"""The label when no body of ``first_touch`` touches its target."""


class CollisionCount(Model):
    min: int = Field(1, ge=0, description="At least this many contacts begin.")
    max: int | None = Field(None, ge=0, description="At most this many.")
    between: tuple[str, str] | None = Field(None, description="Only contacts of these two.")


APART_TOLERANCE = 1e-6
"""Metres: shapes overlapping deeper at the start fail ``apart`` (touching ones pass)."""


class Condition(Model):
    """One of ``touches``, ``collisions``, ``in_view``, ``apart``."""

    touches: tuple[str, str] | None = Field(None, description="These two touch at some moment.")
    collisions: CollisionCount | None = None
    in_view: bool | None = Field(None, description="true: no moving body leaves the region.")
    apart: bool | None = Field(
        None,
        description="true: no two bodies' shapes overlap at the start (parts of one "
        "composite, bodies tied by a joint and two static bodies may).",
    )

    @model_validator(mode="after")
    def _one(self) -> Condition:
        kinds = (self.touches, self.collisions, self.in_view, self.apart)
        if sum(value is not None for value in kinds) != 1:
            raise ValueError("a condition is one of: touches, collisions, in_view, apart")
        return self


class FirstTouchSpec(Model):
    bodies: ReadOnlyList[str] = Field(min_length=1, description="The candidates.")
    target: str = Field(description="What they race to touch.")


class Label(Model):
    """One of ``first_touch`` (which body touches the target first), ``variable``."""

    first_touch: FirstTouchSpec | None = None
    variable: str | None = Field(None, description="A named variable; its value is the label.")

    @model_validator(mode="after")
    def _one(self) -> Label:
        if (self.first_touch is None) == (self.variable is None):
            raise ValueError("a label is one of: first_touch, variable")
        return self


class Counterfactual(Model):
    """Render each accepted item again with one variable set: a twin, linked in the record."""

    variable: str = Field(description="A named variable.")
    value: float | int | str | bool | ReadOnlyList[float] = Field(description="Its value.")


class Rules(Model):
    """What a template says about its dataset (its other keys are the scene's)."""

    variables: Any = None
    accept: ReadOnlyList[Condition] = ()
    label: Label | None = None
    balance: ReadOnlyList[str] | None = Field(None, min_length=1)
    retries: int = Field(10, ge=0, le=10_000)
    counterfactual: Counterfactual | None = None

    @property
    def simulates(self) -> bool:
        """Whether a verdict needs the clip simulated."""
        after_start = any(condition.apart is None for condition in self.accept)
        return after_start or (self.label is not None and self.label.first_touch is not None)

    @property
    def apart(self) -> bool:
        """Whether an ``apart`` condition needs the start's deepest overlap (``judge``)."""
        return any(condition.apart for condition in self.accept)

    def names(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every body name the rules use, with its field path."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        for i, condition in enumerate(self.accept):
            if condition.touches is not None:
                found += [(("accept", i, "touches", k), n) for k, n in enumerate(condition.touches)]
            elif condition.collisions is not None and condition.collisions.between:
                pair = condition.collisions.between
                found += [
                    (("accept", i, "collisions", "between", k), n) for k, n in enumerate(pair)
                ]
        if self.label is not None and self.label.first_touch is not None:
            spec = self.label.first_touch
            found += [(("label", "first_touch", "bodies", k), n) for k, n in enumerate(spec.bodies)]
            found.append((("label", "first_touch", "target"), spec.target))
        return found


def matches(name: str, body: str) -> bool:
    """Whether ``name`` in a rule means ``body``.

    >>> [matches("ball", b) for b in ("ball", "ball_2", "ball/3", "balloon", "ball_x")]
    [True, True, True, False, False]
    """
    return body == name or re.fullmatch(re.escape(name) + r"(_\d+)?(/.*)?", body) is not None


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    failed: tuple[str, ...]
    """The conditions that did not hold, described (``touches ball floor``)."""
    label: str | None


def describe(condition: Condition) -> str:
    """A condition in a few words, as the rejection counts name it."""
    if condition.touches is not None:
        return "touches " + " ".join(condition.touches)
    if condition.collisions is not None:
        between = condition.collisions.between
        return "collisions" + (f" between {' '.join(between)}" if between else "")
    return "in_view" if condition.in_view is not None else "apart"


def judge(
    rules: Rules,
    layout: Layout,
    frames: Iterable[Frame],
    values: Mapping[str, Any],
    overlap: float = 0.0,
) -> Verdict:
    """The rules' verdict on a clip (its Frames are read once, in order); ``overlap``:
    the deepest overlap of two bodies at the start, in m (``physics.measure.Penetration``,
    which this package may not import), for ``apart``."""
    conditions = rules.accept
    touched = [False] * len(conditions)
    contacts = [0] * len(conditions)
    moving = layout.dynamic_mask()
    reach = np.array([extent(body.shapes) for body in layout.bodies])
    low = np.asarray(layout.region_origin)
    high = low + np.asarray(layout.region_size)
    in_view = True
    first: str | None = None
    race = rules.label.first_touch if rules.label is not None else None
    for frame in frames:
        if in_view and moving.any():
            position, size = frame.position[moving], reach[moving, None]
            in_view = bool(np.all(position - size >= low) and np.all(position + size <= high))
        for event in frame.events:
            if event.kind != "begin":
                continue
            for k, condition in enumerate(conditions):
                if condition.touches is not None:
                    touched[k] = touched[k] or _pair(*condition.touches, event.a, event.b)
                elif condition.collisions is not None:
                    between = condition.collisions.between
                    if between is None or _pair(*between, event.a, event.b):
                        contacts[k] += 1
            if race is not None and first is None:
                first = _winner(race, event.a, event.b)
    failed: list[str] = []
    for k, condition in enumerate(conditions):
        count = condition.collisions
        if condition.touches is not None:
            ok = touched[k]
        elif count is not None:
            ok = contacts[k] >= count.min and (count.max is None or contacts[k] <= count.max)
        elif condition.apart is not None:
            ok = overlap <= APART_TOLERANCE or not condition.apart
        else:
            ok = in_view or not condition.in_view
        if not ok:
            failed.append(describe(condition))
    label: str | None = None
    if rules.label is not None and rules.label.variable is not None:
        label = str(values.get(rules.label.variable))
    elif race is not None:
        label = first or NONE_LABEL
    return Verdict(not failed, tuple(failed), label)


def _pair(a: str, b: str, x: str, y: str) -> bool:
    return (matches(a, x) and matches(b, y)) or (matches(a, y) and matches(b, x))


def _winner(race: FirstTouchSpec, x: str, y: str) -> str | None:
    """The candidate (as named in the rule) that this contact makes touch the target."""
    for this, other in ((x, y), (y, x)):
        if matches(race.target, other):
            for candidate in race.bodies:
                if matches(candidate, this):
                    return candidate
    return None
