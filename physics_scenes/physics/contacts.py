"""Contact hysteresis: when a touch between two bodies begins and ends, for the events.

Bodies at rest against each other part by a hair now and then, or graze a neighbour
they were not touching (the solver's jitter: a step or two, impulses of a thousandth
of a newton-second). Counted as collisions, such flickers would click in the sound and
pollute every dataset. So a contact is held for ``HOLD_TIME`` after the bodies part,
and touching again within it at less than ``REST_SPEED`` continues it; and a first
touch slower than ``GRAZE_SPEED`` is no collision (neither it nor its end is
reported). Pure numpy on body-pair keys (``low_row * bodies + high_row``); ``World``
feeds it after every step.

A pair touching at steps 1, 2 and 4 is one contact, over 3 steps after it last touched:

>>> hold = ContactHold(hold_steps=3)
>>> pair, none = np.array([7]), np.array([], dtype=np.int64)
>>> for step in range(1, 8):
...     now = pair if step in (1, 2, 4) else none
...     first = pair if step in (1, 4) else none
...     slow = np.full(len(first), 0.05)
...     begins, ends = hold.update(now, first, slow, slow, step)
...     print(step, begins.tolist(), ends.tolist())
1 [True] []
2 [] []
3 [] []
4 [False] []
5 [] []
6 [] []
7 [] [7]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Keys = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

HOLD_TIME = 1 / 30
"""Seconds two bodies must stay apart before their contact ends (a ``separate`` event)."""
REST_SPEED = 0.15
"""m/s: bodies touching again within ``HOLD_TIME`` that approach slower than this
(their velocities before the step, along the contact's normal) continue the same
contact; faster is a new hit. A body that leaves the ground for less than
``HOLD_TIME`` comes back at under g × HOLD_TIME / 2 = 0.16 m/s; the sound's
``min_speed`` is 0.15 m/s too."""
GRAZE_SPEED = 0.01
"""m/s: a first touch whose impulse changes the bodies' relative speed by less than this
is a graze, not a collision (a body settling onto another carries its weight,
g × step ≈ 0.04 m/s, and counts)."""


class ContactHold:
    """The body pairs in contact as the events see them, with the last step each touched.

    ``speed`` is an impact's size in m/s: the contact's impulse over the pair's
    effective mass (impulse × (1/m_a + 1/m_b)); ``approach`` how fast the bodies
    closed along the normal before the step (needed only while ``waiting``).
    """

    def __init__(
        self, hold_steps: int, rest_speed: float = REST_SPEED, graze_speed: float = GRAZE_SPEED
    ) -> None:
        self.hold_steps = hold_steps
        self.rest_speed = rest_speed
        self.graze_speed = graze_speed
        self.touching: Keys = np.empty(0, dtype=np.int64)
        """Pairs with a contact point after the last step (raw, no hysteresis)."""
        self._held: Keys = np.empty(0, dtype=np.int64)
        self._last: Keys = np.empty(0, dtype=np.int64)
        self._silent: Keys = np.empty(0, dtype=np.int64)
        """Pairs touching since a graze: neither a begin nor, later, a separate."""

    @property
    def waiting(self) -> bool:
        """Some pairs have parted but are still held (a touch would need ``approach``)."""
        held, touching = self._held, self.touching
        return len(held) > len(touching) or not _member(held, touching).all()

    def update(
        self,
        now: Keys,
        first: Keys,
        speed: npt.NDArray[np.float64],
        approach: npt.NDArray[np.float64],
        step: int,
    ) -> tuple[Mask, Keys]:
        """Take the pairs touching ``now`` (sorted, unique) after ``step`` and the pairs of
        the step's first contacts (one per shape pair that began touching) with their speeds.

        Returns (which first contacts are ``begin`` events, the pairs whose contact ends
        at ``step``: apart for ``hold_steps`` steps).

        Every set is a sorted array of unique keys and membership is a binary search, so a
        step costs a few passes over the touching pairs however many there are, and the
        work on first contacts only as much as there are first contacts (most steps of a
        settled pile have none).
        """
        held, last, silent = self._held, self._last, self._silent
        begins = np.zeros(len(first), dtype=np.bool_)
        if len(first):
            parted = held[~_member(held, self.touching)]
            resting = _member(first, parted)
            ongoing = _member(first, held) & ~resting  # a new side of a touching pair
            again = approach >= self.rest_speed
            begins = ongoing | np.where(resting, again, speed >= self.graze_speed)
            grazes = _unique(first[~begins & ~resting])
            grazes = grazes[~_member(grazes, held)]
        if len(silent):
            silent = silent[_member(silent, now)]
        if len(first):
            silent = _unique(np.concatenate((silent, grazes)))
            silent = silent[~_member(silent, np.sort(first[begins]))]
        in_now = _member(held, now)
        if not in_now.all():
            last = np.where(in_now, step, last)
        else:
            last = np.full(len(held), step, dtype=np.int64)
        new = now[~_member(now, held)]
        if len(new) and len(silent):
            new = new[~_member(new, silent)]
        if len(new):
            held = np.concatenate((held, new))
            last = np.concatenate((last, np.full(len(new), step, dtype=np.int64)))
            order = np.argsort(held, kind="stable")
            held, last = held[order], last[order]
        gone = step - last >= self.hold_steps
        if gone.any():
            self._held, self._last = held[~gone], last[~gone]
        else:
            self._held, self._last = held, last
        self._silent = silent
        self.touching = now
        return begins, held[gone]


def _member(values: Keys, table: Keys) -> Mask:
    """Which of ``values`` are in ``table`` (sorted, unique): ``np.isin`` by binary search."""
    if not len(table) or not len(values):
        return np.zeros(len(values), dtype=np.bool_)
    at = np.searchsorted(table, values)
    at[at == len(table)] = 0
    found: Mask = table[at] == values
    return found


def _unique(values: Keys) -> Keys:
    """``np.unique`` of a few keys by sorting (numpy's hashes first, slower for small sets)."""
    values = np.sort(values)
    if len(values) > 1:
        values = values[np.concatenate(([True], values[1:] != values[:-1]))]
    return values
