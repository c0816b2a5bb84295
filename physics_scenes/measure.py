"""Physical quantities computed from Frames alone (for tests, HUDs and ground truth)."""

from __future__ import annotations

import numpy as np

from .frame import FloatArray, Frame, Layout


def centers_of_gravity(layout: Layout, frame: Frame) -> FloatArray:
    """World position of every body's centre of gravity, (N, 2)."""
    cog = np.array([body.center_of_gravity for body in layout.bodies], dtype=np.float64)
    cos, sin = np.cos(frame.angle), np.sin(frame.angle)
    return frame.position + np.column_stack(
        (cog[:, 0] * cos - cog[:, 1] * sin, cog[:, 0] * sin + cog[:, 1] * cos)
    )


def kinetic_energy(layout: Layout, frame: Frame) -> float:
    """Σ ½mv² + ½Iω² over dynamic bodies, in joules (pymunk's velocity is the COG's)."""
    mask = layout.dynamic_mask()
    mass, moment = layout.masses()[mask], layout.moments()[mask]
    speed2 = np.sum(frame.velocity[mask] ** 2, axis=1)
    return float(
        0.5 * np.sum(mass * speed2) + 0.5 * np.sum(moment * frame.angular_velocity[mask] ** 2)
    )


def potential_energy(layout: Layout, frame: Frame) -> float:
    """Gravitational energy −Σ m g·r of dynamic bodies, in joules (zero at the origin)."""
    mask = layout.dynamic_mask()
    gravity = np.asarray(layout.gravity, dtype=np.float64)
    heights = centers_of_gravity(layout, frame)[mask] @ gravity
    return float(-np.sum(layout.masses()[mask] * heights))
