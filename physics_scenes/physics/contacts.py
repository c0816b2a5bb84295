"""Contact hysteresis: when a touch between two bodies begins and ends, for the events.

Bodies at rest against each other part by a hair now and then, or graze a neighbour
they were not touching (the solver's jitter: a step or two, impulses of a thousandth
of a newton-second). Counted as collisions, such flickers would click in the sound and
pollute every dataset. So a contact is held for ``HOLD_TIME`` after the bodies part,
and touching again within it at less than ``REST_SPEED`` continues it; and a first
touch slower than ``GRAZE_SPEED`` is no collision (neither it nor its end is
reported). Body pairs are integer keys (``low_row * bodies + high_row``); ``World``
feeds it, after every step, only what changed: the pairs that began or stopped
touching and the step's first contacts, so a step costs what changed in it (nothing,
in a still pile of a thousand balls).

A pair touching at steps 1, 2 and 4 is one contact, over 3 steps after it last touched:

>>> hold = ContactHold(hold_steps=3)
>>> touching = set()
>>> for step in range(1, 8):
...     now = {7} if step in (1, 2, 4) else set()
...     first = [7] if step in (1, 4) else []
...     slow = [0.05] * len(first)
...     begins, ends = hold.update(now - touching, touching - now, first, slow, slow, step)
...     touching = now
...     print(step, begins, ends)
1 [True] []
2 [] []
3 [] []
4 [False] []
5 [] []
6 [] []
7 [] [7]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

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
    """The body pairs in contact as the events see them.

    ``held``: pairs in contact (touching, or parted less than ``hold_steps`` ago);
    ``parted``: the held pairs not touching now, with the last step each touched;
    ``silent``: pairs touching since a graze (neither a begin nor, later, a separate).
    Every touching pair is held or silent. ``speed`` is an impact's size in m/s: the
    contact's impulse over the pair's effective mass (impulse × (1/m_a + 1/m_b));
    ``approach`` how fast the bodies closed along the normal before the step (read
    only for pairs that have parted: ``waiting``).
    """

    def __init__(
        self, hold_steps: int, rest_speed: float = REST_SPEED, graze_speed: float = GRAZE_SPEED
    ) -> None:
        self.hold_steps = hold_steps
        self.rest_speed = rest_speed
        self.graze_speed = graze_speed
        self.held: set[int] = set()
        self.parted: dict[int, int] = {}
        self.silent: set[int] = set()
        self.due = 0
        """The first step at which a parted pair's hold can run out (0: none parted): before
        it, a step with no change of contact changes nothing here and need not call ``update``."""

    @property
    def waiting(self) -> bool:
        """Some pairs have parted but are still held (a touch would need ``approach``)."""
        return bool(self.parted)

    def update(
        self,
        started: Iterable[int],
        stopped: Iterable[int],
        first: Sequence[int],
        speed: Sequence[float],
        approach: Sequence[float],
        step: int,
    ) -> tuple[list[bool], list[int]]:
        """Take what changed at ``step``: the pairs that began touching (``started``) and
        stopped (``stopped``), and the pairs of the step's first contacts (one per shape
        pair that began touching) with their speeds.

        Returns (which first contacts are ``begin`` events, the pairs whose contact ends
        at ``step``, sorted: apart for ``hold_steps`` steps).
        """
        held, parted, silent = self.held, self.parted, self.silent
        begins: list[bool] = []
        grazes: set[int] = set()
        for pair, hit, closing in zip(first, speed, approach, strict=True):
            if pair in parted:  # touching again within the hold: a new hit only if fast
                begins.append(closing >= self.rest_speed)
            elif pair in held:  # a new side of a touching pair
                begins.append(True)
            else:
                begin = hit >= self.graze_speed
                begins.append(begin)
                if not begin:
                    grazes.add(pair)
        silent.difference_update(stopped)
        if first:
            silent |= grazes
            hits = {pair for pair, begin in zip(first, begins, strict=True) if begin}
            silent -= hits
        else:
            hits = set()
        for pair in stopped:
            if pair in held:
                parted[pair] = step - 1  # touched last at the step before
        for pair in started:
            parted.pop(pair, None)
        for pair in (*started, *hits):
            if pair not in held and pair not in silent:
                held.add(pair)
        gone = [pair for pair, last in parted.items() if step - last >= self.hold_steps]
        for pair in gone:
            del parted[pair]
            held.discard(pair)
        self.due = min(parted.values()) + self.hold_steps if parted else 0
        return begins, sorted(gone)


def member(values: npt.NDArray[np.int64], table: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Which of ``values`` are in ``table`` (sorted, unique): ``np.isin`` by binary search
    (``np.isin`` hashes, then sorts: slower for the few thousand keys of a step)."""
    if not len(table) or not len(values):
        return np.zeros(len(values), dtype=np.bool_)
    at = np.searchsorted(table, values)
    at[at == len(table)] = 0
    found: npt.NDArray[np.bool_] = table[at] == values
    return found
