"""The preview window's hand: pick a body under the cursor, hold it, throw it.

A kinematic body joined to the held body by a strong pivot (a mouse joint), moved
each frame towards the cursor; its velocity is what throws the body on release.
Apart from ``World`` because only the preview uses it: an exported render never
has a hand in its space.
"""

from __future__ import annotations

import math

import pymunk

from .world import World

GRIP = 60.0
"""The joint's force limit, in multiples of the held body's weight."""


class Hand:
    """A world with a hand in it. Copy both together (``fork``): the hand's joint is a
    handle into this world's space."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._held: tuple[pymunk.Body, pymunk.Constraint] | None = None

    def body_at(self, point: tuple[float, float], reach: float = 0.0) -> str | None:
        """Name of the dynamic body under a world point (within ``reach`` metres), if any."""
        hit = self.world.space.point_query_nearest(point, reach, pymunk.ShapeFilter())
        if hit is None or hit.shape is None:
            return None
        body = hit.shape.body
        if body is None or body.body_type != pymunk.Body.DYNAMIC:
            return None
        return next((name for name, b in self.world.bodies.items() if b is body), None)

    def grab(self, name: str, point: tuple[float, float]) -> None:
        """Hold ``name`` at world ``point`` with a strong spring-like pivot (a mouse joint)."""
        self.release()
        space, body = self.world.space, self.world.bodies[name]
        hand = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        hand.position = point
        joint = pymunk.PivotJoint(hand, body, (0.0, 0.0), body.world_to_local(point))
        joint.max_force = GRIP * body.mass * max(9.81, math.hypot(*space.gravity))
        space.add(hand, joint)
        self._held = (hand, joint)

    def drag(self, point: tuple[float, float], seconds: float) -> None:
        """Move the hand to ``point`` over the next ``seconds`` (its velocity throws the body)."""
        if self._held is None:
            return
        hand = self._held[0]
        hand.velocity = (
            (point[0] - hand.position.x) / seconds,
            (point[1] - hand.position.y) / seconds,
        )

    def release(self) -> None:
        if self._held is not None:
            self.world.space.remove(*self._held)
            self._held = None

    @property
    def holding(self) -> bool:
        return self._held is not None

    def fork(self) -> Hand:
        """An independent copy of the world and of what the hand holds in it."""
        world, held = self.world.fork_with(self._held)
        twin = Hand(world)
        twin._held = held
        return twin
