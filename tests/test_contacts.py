"""Contact events: resting bodies neither flicker nor sound, every real hit is reported."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pymunk
import pytest

from physics_scenes import parse_scene
from physics_scenes.frame import Event
from physics_scenes.physics import world as world_module
from physics_scenes.physics.arbiters import BodyRows, first_contacts
from physics_scenes.physics.contacts import GRAZE_SPEED, HOLD_TIME, ContactHold
from physics_scenes.physics.world import World

PILE = """
seed: 1
world: {size: [3.7, 3], origin: [-0.2, -0.1], walls: true}
timing: {duration: 20}
bodies:
  - {kind: ball, name: p, radius: 0.15, position: [0.2, 0.2], material: glass,
     grid: {columns: 10, rows: 4, spacing: [0.33, 0.33], jitter: 0.03}}
"""


def run(text: str, raw: bool = False) -> tuple[World, list[Event], list[float]]:
    """Every event of the scene and the fastest body's speed every 0.1 s.

    ``raw``: events without hysteresis (as before it), from the same physics."""
    world = World(parse_scene(text))
    if raw:
        world._contacts = ContactHold(1, rest_speed=0.0, graze_speed=0.0)
    events: list[Event] = []
    speeds = []
    every = round(0.1 / world.dt)
    for step in range(1, round(world.scene.timing.duration / world.dt) + 1):
        world.step()
        events.extend(world.drain_events())
        if step % every == 0:
            speeds.append(float(np.abs(world.read_state().velocity).max()))
    return world, events, speeds


def impact_speed(world: World, event: Event) -> float:
    """The hit's size in m/s: impulse over the pair's effective mass."""
    mobility = sum(1 / world.bodies[n].mass for n in (event.a, event.b) if n != "walls")
    return event.impulse * mobility


@pytest.mark.slow
def test_a_settled_pile_is_silent_for_twenty_seconds_and_every_hit_is_reported() -> None:
    world, events, speeds = run(PILE)
    _, raw, raw_speeds = run(PILE, raw=True)
    assert speeds == raw_speeds  # the events never touch the physics
    settled = (np.flatnonzero(np.array(speeds) > 1e-3).max() + 1) * 0.1
    assert settled < 6.0, settled
    # Without hysteresis the settled pile flickers: two balls graze by a hair (an
    # impact of a thousandth of a metre a second) ...
    flicker = [e for e in raw if e.time > settled]
    assert flicker and max(impact_speed(world, e) for e in flicker if e.kind == "begin") < 0.01
    # ... with it, nothing begins or ends once the pile is still.
    assert [e for e in events if e.time > settled] == []
    # Every hit is still a begin, at its step: every first touch faster than a graze
    # of bodies that had been apart for HOLD_TIME (or never touched).
    apart_since: dict[tuple[str, str], int] = {}
    hits = []
    hold = round(HOLD_TIME / world.dt)
    for event in raw:
        pair = (event.a, event.b)
        if event.kind == "separate":
            apart_since[pair] = event.step
        elif (
            event.step - apart_since.pop(pair, -hold) >= hold
            and impact_speed(world, event) >= GRAZE_SPEED
        ):
            hits.append(event)
    begins = [e for e in events if e.kind == "begin"]
    assert len(hits) > 100
    assert set(hits) <= set(begins) <= {e for e in raw if e.kind == "begin"}
    # and contacts still pair up: per body pair, begin ... separate, never two separates
    open_pairs: set[tuple[str, str]] = set()
    for event in events:
        if event.kind == "separate":
            assert (event.a, event.b) in open_pairs, event
            open_pairs.discard((event.a, event.b))
        else:
            open_pairs.add((event.a, event.b))


def test_a_bouncing_ball_reports_each_bounce_and_each_lift_off() -> None:
    """A ball dropped on the floor: one begin per bounce that leaves the floor, then
    a separate while it is in the air; the last tiny bounces merge into rest."""
    world, events, _ = run(
        "timing: {duration: 4}\n"
        "bodies:\n"
        "  - {kind: floor, name: floor, y: 0}\n"
        "  - {kind: ball, name: b, position: [5, 2], radius: 0.2, material: rubber}\n"
    )
    kinds = [e.kind for e in events]
    assert kinds[0] == "begin" and len(kinds) >= 8
    assert all(a != b for a, b in itertools.pairwise(kinds))  # they alternate
    begins = [e for e in events if e.kind == "begin"]
    lifts = [e for e in events if e.kind == "separate"]
    # each lift-off is reported 1/30 s after the ball last touched, before it lands again
    for up, down in zip(lifts, begins[1:], strict=False):
        assert up.time < down.time
    assert min(impact_speed(world, e) for e in begins) > 0.1


CROWD = """
world: {size: [4, 3], walls: true}
timing: {duration: 0.5}
bodies:
  - kind: ball
    radius: 0.05
    position: [0.5, 0.2]
    grid: {columns: 10, rows: 4, spacing: [0.2, 0.2]}
"""


def test_body_ids_map_to_rows_even_when_the_id_table_is_crowded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read in bulk, arbiters name bodies by pymunk id (a memory address); ``_row_of``
    finds most in a hashed table and the rest by binary search. With 2 slots for 45
    bodies nearly every id shares a slot: rows must still be exact, ids that are not ours
    -1, and the events the same as through the roomy table."""
    monkeypatch.setattr(world_module, "BULK_ABOVE", -1.0)  # in bulk from the first step
    monkeypatch.setattr(world_module, "CALLBACKS_BELOW", -2.0)
    world, roomy = World(parse_scene(CROWD)), World(parse_scene(CROWD))
    ids = np.array([body.id for body in world.bodies.values()], dtype=np.uint64)
    strangers = np.array([world.space.static_body.id, 1, int(ids.max()) + 64], dtype=np.uint64)
    for bits in (None, 1):
        world._hash_ids(ids, bits)
        pairs = np.stack((ids, ids[::-1]), axis=1)
        expected = [[row, len(ids) - 1 - row] for row in range(len(ids))]
        assert world._row_of(pairs).tolist() == expected
        assert world._row_of(strangers).tolist() == [-1, -1, -1]
    crowded, events = [], []
    for _ in range(60):
        world.step()
        roomy.step()
        crowded += world.drain_events()
        events += roomy.drain_events()
    assert crowded == events
    assert world._bulk is not None and roomy._bulk is not None
    assert sum(e.kind == "begin" for e in events) >= 40  # every ball lands


SHELF = """
world: {size: [4, 3], walls: true}
timing: {duration: 0.6}
bodies:
  - {kind: box, name: shelf, size: [3, 0.1], position: [2, 0.05]}
  - kind: ball
    radius: 0.05
    position: [0.5, 0.3]
    grid: {columns: 10, rows: 3, spacing: [0.2, 0.12]}
script:
  - {at: 0.3, remove: shelf}
"""


def test_the_callbacks_keep_the_touching_pairs_that_chipmunk_lists() -> None:
    """Events come from Chipmunk's begin and separate callbacks, not from reading every
    arbiter each step: the body pairs they keep must be, at every step, the pairs
    Chipmunk's own arbiter list has in contact: while balls land and jostle, after a
    removal (its contacts end outside a step), and in a copy of the world."""
    world = World(parse_scene(SHELF))
    kept: list[dict[int, int]] = []
    compared = 0
    for step in range(1, 145):
        world.step()
        kept.append(dict(world._touching))
        if not world._changes:  # a removal's ends wait for the next step: compare then
            assert world.touching_in_bulk() == kept[-1], step
            compared += 1
        if step == 100:
            world = world.fork()
            assert world.touching_in_bulk() == kept[-1]
    assert compared == 143  # every step but the removal's
    assert max(map(len, kept)) > 25  # the balls did touch the shelf and each other
    shelf = world.layout.index("shelf")
    count = len(world.layout.bodies)
    assert not any(shelf in divmod(key, count) for key in kept[-1])  # gone with the shelf


def test_reading_contacts_in_bulk_gives_the_same_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """While changes are dense the world reads Chipmunk's whole arbiter list instead of
    taking callbacks (``World._pace``). Forced to switch every step, then to stay in
    bulk, then back to callbacks, the events are the callbacks' own, to the bit."""
    events = {}
    for forced in (False, True):
        world = World(parse_scene(SHELF))
        got, modes = [], []
        for step in range(1, 145):
            if forced and step in (1, 60, 110):  # alternate, stay in bulk, callbacks again
                above, below = {1: (-1.0, 50.0), 60: (-1.0, -2.0), 110: (1e9, 1e9)}[step]
                monkeypatch.setattr(world_module, "BULK_ABOVE", above)
                monkeypatch.setattr(world_module, "CALLBACKS_BELOW", below)
            world.step()
            got += world.drain_events()
            modes.append(world._bulk is not None)
        events[forced] = got
        if forced:
            assert sum(a != b for a, b in itertools.pairwise(modes[:59])) > 50
            assert all(modes[59:109]) and not any(modes[109:])
        else:
            assert not any(modes)  # a few balls: callbacks throughout
    assert len(events[False]) > 40
    assert events[True] == events[False]


UNSOLVED = """
world: {size: [8, 6]}
timing: {duration: 2.4, fps: 30, substeps: 4}
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: box, name: wall, position: [4, 2], size: [1, 2], body_type: static}
  - {kind: box, name: spinner, position: [4.2, 4.2], size: [1.6, 0.5], angular_velocity: 300,
     velocity: [0, -4], body_type: kinematic}
  - {kind: ball, name: held, position: [1.5, 0.79], radius: 0.3, body_type: kinematic}
  - {kind: ball, name: drop, position: [1.5, 2.5], radius: 0.3}
  - {kind: ball, name: rolling, position: [6.5, 0.8], radius: 0.3, velocity: [-1, 0]}
  - {kind: box, name: plank, position: [6.5, 2.0], size: [1.2, 0.2]}
script:
  - {at: 0.3, set: {body: held, body_type: dynamic}}
  - {at: 0.8, set: {body: rolling, body_type: kinematic}}
  - {at: 1.2, set: {body: rolling, body_type: dynamic}}
  - {at: 1.5, remove: plank}
  - {at: 2.0, set: {body: drop, body_type: kinematic}}
"""
"""Pairs Chipmunk does not solve, and pairs that become solved or unsolved while they
touch: a kinematic box sweeping through a static wall and the floor (Chipmunk calls
begin and separate but makes no contact points), a kinematic ball resting on the floor
released, a rolling ball held and released on the floor, a dropped ball held on the
ball below it, a plank removed under a ball."""

_CALLBACKS_RUN = """
import sys
from physics_scenes import parse_scene
from physics_scenes.physics.world import World
world = World(parse_scene(sys.stdin.read()))
checked = 0
for step in range(1, 289):
    world.step()
    if world._bulk is None and not world._changes:
        assert world.touching_in_bulk() == world._touching, step
        checked += 1
    for event in world.drain_events():
        print(repr(tuple(event)))
print("checked", checked)
"""


def test_pairs_chipmunk_does_not_solve_are_no_contacts_and_never_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The contacts branch aborted the interpreter here (``cpArbiterGetPointA`` on an
    arbiter with no contact points: a kinematic body over a static one), so the
    callbacks run in a subprocess. Their events must be those of Chipmunk's own list
    read in bulk (as every step was read before the callbacks), and the pairs they keep
    the pairs that list has in contact, through every change of body type."""
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _CALLBACKS_RUN], input=UNSOLVED, capture_output=True,
        text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    *lines, checked = done.stdout.splitlines()
    assert int(checked.split()[1]) > 250  # in step with Chipmunk nearly throughout
    monkeypatch.setattr(world_module, "BULK_ABOVE", -1.0)  # in bulk from the first step
    monkeypatch.setattr(world_module, "CALLBACKS_BELOW", -2.0)  # ... and to the end
    world = World(parse_scene(UNSOLVED))
    bulk: list[Event] = []
    for _ in range(288):
        world.step()
        bulk += world.drain_events()
        assert world._bulk is not None
    assert lines == [repr(tuple(event)) for event in bulk]
    pairs = {(e.kind, e.a, e.b) for e in bulk}
    assert ("begin", "held", "drop") in pairs  # dropped on the ball released on the floor
    assert ("separate", "floor", "rolling") in pairs  # held still on the floor: unsolved
    assert not any("spinner" in (e.a, e.b) for e in bulk)


def test_arbiters_read_privately_are_what_pymunks_public_api_reads() -> None:
    """``physics/arbiters.py`` reads Chipmunk through pymunk's private C layer, for speed.
    Its rows and first contacts must be, to the bit, what the public API gives
    (``Arbiter.bodies`` in the callback, ``Body.each_arbiter`` after the step): a pymunk
    that changes those private names fails here. A kinematic box sweeping through a
    static one is begun but not solved (no contact points): left out, never read."""
    space = pymunk.Space()
    space.gravity = (0, -9)
    ground = pymunk.Body(body_type=pymunk.Body.STATIC)
    sweeper = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
    sweeper.velocity = (0, -2)
    sweeper.position = (5, 3)
    block = [(4.5, 0.5), (5.5, 0.5), (5.5, 1.5), (4.5, 1.5)]
    shapes = [pymunk.Segment(ground, (0, 0), (10, 0), 0.05), pymunk.Poly(ground, block)]
    shapes.append(pymunk.Poly.create_box(sweeper, (2, 0.3)))
    balls = [pymunk.Body() for _ in range(12)]
    for k, ball in enumerate(balls):
        ball.position = (1 + 0.7 * k, 1 + 0.4 * (k % 3))
        shapes.append(pymunk.Circle(ball, 0.3))
    for shape in shapes:
        shape.density, shape.elasticity, shape.friction = 1.0, 0.4, 0.6
    bodies = [ground, sweeper, *balls]
    space.add(*bodies, *shapes)
    rows = BodyRows(bodies)
    begun: list[tuple[pymunk.Arbiter, tuple[int, int], tuple[int, int], tuple[object, ...]]] = []

    def begin(arbiter: pymunk.Arbiter, space: pymunk.Space, data: object) -> None:
        public = tuple(bodies.index(body) for body in arbiter.bodies)
        begun.append((arbiter, rows.of(arbiter), public, tuple(arbiter.shapes)))  # type: ignore[arg-type]

    space.on_collision(begin=begin)
    read = unsolved = 0
    for _ in range(200):
        begun.clear()
        space.step(1 / 120)
        solved, floats = first_contacts([arbiter for arbiter, *_ in begun])
        for k, (_, private, public, pair) in enumerate(begun):
            assert private == public
            found: list[tuple[float, ...]] = []

            def visit(
                arbiter: pymunk.Arbiter,
                pair: tuple[object, ...] = pair,
                found: list[tuple[float, ...]] = found,
            ) -> None:
                if tuple(arbiter.shapes) == pair:
                    i, n = arbiter.total_impulse, arbiter.normal
                    p = arbiter.contact_point_set.points[0].point_a
                    found.append((i.x, i.y, n.x, n.y, p.x, p.y))

            bodies[public[0]].each_arbiter(visit)  # Chipmunk's solved arbiters only
            assert (k in solved) == bool(found)
            if found:
                assert floats[solved.index(k)] == found[0]
                read += 1
            else:
                unsolved += 1
    assert read > 20 and unsolved >= 2  # the sweeper met the static box and the ground


def test_an_arbiter_is_read_only_in_the_step_that_began_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step that fails between the solver and the reading leaves its begun arbiters
    behind. The next step must not read them (Chipmunk may have pooled them by then),
    and the world must come back in step with Chipmunk's list (a recount in bulk)."""
    world = World(parse_scene(SHELF))
    given: list[list[pymunk.Arbiter]] = []
    real = world_module.first_contacts

    def spy(begun: list[pymunk.Arbiter]) -> tuple[list[int], list[tuple[float, ...]]]:
        given.append(list(begun))
        return real(begun)

    monkeypatch.setattr(world_module, "first_contacts", spy)
    reading = world._collect_events

    def fails_on_first_contacts(before: object) -> None:
        if world._begun:
            raise RuntimeError("interrupted")
        reading(before)  # type: ignore[arg-type]

    monkeypatch.setattr(world, "_collect_events", fails_on_first_contacts)
    with pytest.raises(RuntimeError):
        for _ in range(100):  # until the balls land
            world.step()
    left = {id(arbiter) for arbiter in world._begun}
    monkeypatch.setattr(world, "_collect_events", reading)
    world.step()  # reads this step's arbiters only (in bulk: the recount)
    assert left
    assert not any(id(arbiter) in left for call in given for arbiter in call)
    for _ in range(3):
        world.step()
    assert world._bulk is None and world.touching_in_bulk() == world._touching


def _counted(real: Any, calls: dict[str, int], name: str) -> Any:
    def counted(*args: object) -> Any:
        calls[name] += 1
        return real(*args)

    return counted


def test_events_of_a_few_first_contacts_are_made_as_many_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step's begin events come from plain Python up to ``FEW_FIRSTS`` first contacts
    and from numpy above: forced all one way, all the other, and mixed, the events are
    the same to the bit (speeds for the graze test, approach speeds for a touch again,
    the order, normals turned to point from the lower row)."""
    events = {}
    calls = {"_few_firsts": 0, "_many_firsts": 0}
    for few in (0, 10**6, 3):
        monkeypatch.setattr(world_module, "FEW_FIRSTS", few)
        world = World(parse_scene(SHELF))
        if few == 3:
            for name in calls:
                monkeypatch.setattr(world, name, _counted(getattr(world, name), calls, name))
        got = []
        for _ in range(144):
            world.step()
            got += world.drain_events()
        events[few] = got
    assert len(events[0]) > 40 and events[0] == events[10**6] == events[3]
    assert calls["_few_firsts"] >= 2 and calls["_many_firsts"] >= 2  # both, in one run


def test_the_step_without_pymunks_bookkeeping_is_the_same_step() -> None:
    """``arbiters.Stepper`` calls Chipmunk's step itself and leaves pymunk's Python work
    (checking added bodies, removed shapes, what callbacks add or remove) to
    ``Space.step`` when it has some: a run through it, with a removal and additions from
    a callback, ends in the same state as one through ``Space.step``, to the bit."""
    from physics_scenes.physics.arbiters import Stepper

    def run(stepper: bool) -> list[float]:
        space = pymunk.Space()
        space.gravity = (0, -9.8)
        floor = pymunk.Segment(space.static_body, (-5, 0), (5, 0), 0.1)
        balls = [pymunk.Body() for _ in range(3)]
        shapes = [pymunk.Circle(ball, 0.2) for ball in balls]
        for k, (ball, shape) in enumerate(zip(balls, shapes, strict=True)):
            ball.position = (k * 0.5, 1 + k)
            shape.density, shape.elasticity = 1.0, 0.5
        space.add(floor, *balls, *shapes)
        late = pymunk.Body()
        late.position = (2, 3)
        late_shape = pymunk.Circle(late, 0.3, (0, 0))
        late_shape.density = 1.0

        def begin(arbiter: pymunk.Arbiter, space: pymunk.Space, data: object) -> None:
            if late.space is None:
                space.add(late, late_shape)  # waits for the step's end

        space.on_collision(begin=begin)
        step = Stepper(space) if stepper else space.step
        for n in range(240):
            if n == 120:
                space.remove(balls[0], shapes[0])
            step(1 / 120)
        assert late.space is space
        return [
            value
            for body in (*balls[1:], late)
            for value in (*body.position, body.angle, *body.velocity)
        ]

    assert run(stepper=True) == run(stepper=False)


def test_advancing_many_steps_is_stepping_one_by_one() -> None:
    """``World.advance`` runs quiet steps in a loop of its own: the events and states are
    those of ``step()`` called as often, to the bit, through bounces, touches again
    within the hold, and rest."""
    scene = parse_scene(
        "world: {size: [4, 3], walls: true}\ntiming: {duration: 2}\n"
        "bodies:\n"
        "  - {kind: ball, name: a, radius: 0.3, position: [1, 2], velocity: [3, 1],"
        " material: rubber}\n"
        "  - {kind: ball, name: b, radius: 0.2, position: [3, 1], velocity: [-2, 2]}\n"
    )
    runs = []
    for chunk in (1, 15):
        world = World(scene)
        log: list[object] = []
        while world.step_index < 480:
            if chunk == 1:
                world.step()
            else:
                world.advance(chunk)
            if world.step_index % 15 == 0:
                state = world.read_state()
                log += [world.step_index, state.position.tobytes(), state.velocity.tobytes()]
                log += world.drain_events()
        runs.append(log)
    events = [e for e in runs[0] if isinstance(e, Event)]
    assert len(events) > 10 and {e.kind for e in events} == {"begin", "separate"}
    assert runs[0] == runs[1]


def test_bodies_read_privately_are_what_pymunks_batch_api_reads() -> None:
    """``arbiters.BodyReader`` keeps numpy views of the arrays Chipmunk fills: while bodies
    are added (the arrays grow and move) and removed (they shrink), each read is, to the
    bit, what ``pymunk.batch.get_space_bodies`` reads, and the views cannot be written."""
    import pymunk.batch as batch

    from physics_scenes.physics.arbiters import BodyReader

    fields = world_module._BODY_FIELDS
    space = pymunk.Space()
    space.gravity = (0, -9.8)
    reader = BodyReader(space, fields)
    public = batch.Buffer()
    bodies = []
    for n in range(300):
        body = pymunk.Body()
        body.position, body.velocity = (n * 0.1, n * 0.01), (1.0, -n * 0.5)
        body.angular_velocity = n * 0.3
        shape = pymunk.Circle(body, 0.04)
        shape.density = 1.0
        space.add(body, shape)
        bodies.append((body, shape))
        if n % 7 == 3:
            space.remove(*bodies.pop(len(bodies) // 2))
        space.step(1 / 240)
        ids, floats = reader()
        public.clear()
        batch.get_space_bodies(space, fields, public)
        assert ids.tobytes() == bytes(public.int_buf())
        assert floats.tobytes() == bytes(public.float_buf())
        assert len(ids) == len(bodies) and floats.shape == (6 * len(bodies),)
    with pytest.raises(ValueError, match="read-only"):
        floats[0] = 1.0
