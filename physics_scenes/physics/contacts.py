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
        return (
            len(self._held) > len(self.touching)
            or not np.isin(self._held, self.touching, assume_unique=True).all()
        )

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
        """
        held, last = self._held, self._last
        resting = np.isin(first, np.setdiff1d(held, self.touching, assume_unique=True))
        ongoing = np.isin(first, held) & ~resting  # a new side of a touching pair
        again = approach >= self.rest_speed
        begins = ongoing | np.where(resting, again, speed >= self.graze_speed)
        grazes = np.setdiff1d(first[~begins & ~resting], held)
        silent = np.union1d(np.intersect1d(self._silent, now, assume_unique=True), grazes)
        silent = np.setdiff1d(silent, first[begins])
        last = np.where(np.isin(held, now, assume_unique=True), step, last)
        new = np.setdiff1d(np.setdiff1d(now, held, assume_unique=True), silent, assume_unique=True)
        if len(new):
            held = np.concatenate((held, new))
            last = np.concatenate((last, np.full(len(new), step, dtype=np.int64)))
            order = np.argsort(held, kind="stable")
            held, last = held[order], last[order]
        gone = step - last >= self.hold_steps
        self._held, self._last, self._silent = held[~gone], last[~gone], silent
        self.touching = now
        return begins, held[gone]
