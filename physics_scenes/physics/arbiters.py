"""Chipmunk's arbiters and bodies read, and its step taken, through pymunk's C layer: the
one use of pymunk's private names.

``World`` takes Chipmunk's begin and separate callbacks (thousands a second of simulated
time in a pile of balls) and reads each first contact after the step. pymunk's public
way costs more (measured on ``benchmarks/contact_rich.yaml``): a callback finding its
bodies with ``Arbiter.shapes`` takes 1.5 µs against 0.5 µs here, and reading the first
contacts after the step with ``Body.each_arbiter`` (the public way to an arbiter outside
its callback) made the whole step 4-8 % slower. The names used: ``pymunk._chipmunk``
(``cpArbiterGetBodies``, ``cpArbiterGetCount``, ``cpArbiterTotalImpulse``,
``cpArbiterGetNormal``, ``cpArbiterGetPointA``), ``Arbiter._arbiter`` and ``Body._body``
(cffi pointers). They are pymunk 7's (pyproject: ``pymunk>=7.0,<8``);
``tests/test_contacts.py`` checks these reads against the public API to the bit, so a
pymunk that changes them fails there, not silently.

Why an arbiter kept from a begin callback can be read after the step: Chipmunk stamps an
arbiter at every step its shapes overlap and returns it to its pool only
``collision_persistence`` (3) steps after the last stamp, and its contacts stay in that
step's contact buffer until the next step. Read before the next step, it is alive. What
is not safe is a point of an arbiter with no contacts: Chipmunk calls begin for pairs it
then does not solve (no dynamic body, a sensor, a collision rejected) and leaves them
without contacts, and ``cpArbiterGetPointA`` asserts on the index and aborts the
process. ``first_contacts`` reads points only where the count is positive.

``BodyReader`` is ``pymunk.batch.get_space_bodies`` with its C struct made once and numpy
views of the arrays Chipmunk fills kept while they stay where they are: a dataset clip
reads its bodies once a frame, each time with caches cold from drawing the last frame,
where the wrapper's ``ffi.new`` and buffer objects cost ~10 µs (the read itself ~1 µs).
Names: ``Buffer._float_arr`` and ``_int_arr`` (their ``num`` and ``arr``),
``pmBatchedData``, ``pmSpaceBodyGetIteratorFuncBatched``, ``cpSpaceEachBody`` and
``Space._space``; ``tests/test_contacts.py`` compares every read with the public one.

``Stepper`` calls ``cpSpaceStep`` itself: ``Space.step`` costs 0.5 µs of Python around
Chipmunk's 0.6 µs for a few balls (``_bodies_to_check``, ``_add_later``,
``_remove_later``, ``_post_step_callbacks``, ``_removed_shapes``, ``_locked``), a third
of a dataset clip's simulation once events cost nothing on quiet steps. It leaves the
work to ``Space.step`` whenever any of that bookkeeping has something in it (a test
checks it ends where ``Space.step`` does, with a removal and additions from a callback).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pymunk
import pymunk.batch as batch
from pymunk._chipmunk import ffi, lib  # type: ignore[import-not-found]


class BodyRows:
    """The Layout rows of an arbiter's bodies, in a callback (-1: a body not ours, such as
    the space's own static body). Holds C pointers: make a new one for a copied space."""

    __slots__ = ("_pair", "_rows")

    def __init__(self, bodies: Sequence[pymunk.Body]) -> None:
        self._rows = {body._body: row for row, body in enumerate(bodies)}
        self._pair = ffi.new("cpBody *[2]")

    def of(self, arbiter: pymunk.Arbiter) -> tuple[int, int]:
        """Rows of ``arbiter``'s bodies a and b, in the order its callback sees them."""
        pair = self._pair
        lib.cpArbiterGetBodies(arbiter._arbiter, pair, pair + 1)
        rows = self._rows
        return rows.get(pair[0], -1), rows.get(pair[1], -1)


def first_contacts(
    begun: Sequence[pymunk.Arbiter],
) -> tuple[list[int], list[tuple[float, ...]]]:
    """Arbiters given to begin callbacks in the step just taken, read after it: which of
    them Chipmunk solved (their indices; the others have no contact points) and, one
    tuple each, the total impulse, normal and body a's first contact point (6 floats)."""
    solved: list[int] = []
    values: list[tuple[float, ...]] = []
    for k, arbiter in enumerate(begun):
        arb: Any = arbiter._arbiter
        if lib.cpArbiterGetCount(arb) > 0:
            i, n = lib.cpArbiterTotalImpulse(arb), lib.cpArbiterGetNormal(arb)
            p = lib.cpArbiterGetPointA(arb, 0)
            solved.append(k)
            values.append((i.x, i.y, n.x, n.y, p.x, p.y))
    return solved, values


class Stepper:
    """``space.step(dt)`` for a space that is not threaded, with pymunk's Python bookkeeping
    only when it has some: a body added since the last step (pymunk checks its mass), a
    shape removed (kept alive through the step), objects that callbacks added or removed
    during the step or post-step callbacks (all left to ``Space.step``). Holds a C pointer:
    make a new one for a copied space."""

    __slots__ = ("_pointer", "_space")

    def __init__(self, space: pymunk.Space) -> None:
        if space.threaded:
            raise ValueError("Stepper steps a space that is not threaded")
        self._space = space
        self._pointer = space._space

    def __call__(self, dt: float) -> None:
        space = self._space
        if space._bodies_to_check or space._removed_shapes:
            space.step(dt)
            return
        space._locked = True  # what callbacks add or remove waits for the step's end
        try:
            lib.cpSpaceStep(self._pointer, dt)
        finally:
            space._locked = False
        if space._add_later or space._remove_later or space._post_step_callbacks:
            space.step(0.0)  # Chipmunk does nothing for 0 (cpSpaceStep): pymunk's after-work


class BodyReader:
    """Every body's id and the asked fields, as ``pymunk.batch.get_space_bodies`` reads them
    (ids in Chipmunk's order, floats a body after another). Returns read-only numpy
    views of the arrays Chipmunk fills, valid until the next call: copy what you keep.
    Holds C pointers: make a new one for a copied space."""

    __slots__ = ("_buffer", "_data", "_each", "_pointer", "_views")

    def __init__(self, space: pymunk.Space, fields: batch.BodyFields) -> None:
        if ffi.sizeof("uintptr_t") != 8:
            raise ValueError("BodyReader reads 64-bit ids")
        self._buffer = batch.Buffer()  # owns the two arrays
        data = self._data = ffi.new("pmBatchedData *")
        data.fields = fields.value
        data.floatArray = self._buffer._float_arr
        data.intArray = self._buffer._int_arr
        self._each = ffi.addressof(lib, "pmSpaceBodyGetIteratorFuncBatched")
        self._pointer = space._space
        self._views: tuple[Any, ...] | None = None
        """(float array's address, int array's address, their counts, the two views)."""

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids as uint64, floats as float64) of every body in the space now."""
        floats, ints = self._buffer._float_arr, self._buffer._int_arr
        floats.num = ints.num = 0  # Buffer.clear()
        lib.cpSpaceEachBody(self._pointer, self._each, self._data)
        where = (floats.arr, ints.arr, floats.num, ints.num)
        views = self._views
        if views is None or views[:4] != where:  # grown (moved) or shrunk: new views
            ids = np.frombuffer(ffi.buffer(ints.arr, 8 * ints.num), dtype=np.uint64)
            values = np.frombuffer(ffi.buffer(floats.arr, 8 * floats.num), dtype=np.float64)
            ids.flags.writeable = values.flags.writeable = False
            views = self._views = (*where, ids, values)
        return views[4], views[5]
