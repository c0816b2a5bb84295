"""Human proportions shared by the ragdoll and the walker (scaled from a 1.7 m, 70 kg adult)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Proportions:
    """Lengths in metres and masses in kg for a figure of ``height`` metres."""

    height: float
    mass: float

    @property
    def s(self) -> float:
        return self.height / 1.7

    @property
    def thigh(self) -> float:
        return 0.42 * self.s

    @property
    def shin(self) -> float:
        return 0.42 * self.s

    @property
    def ankle(self) -> float:
        """Height of the ankle above the sole."""
        return 0.07 * self.s

    @property
    def hip(self) -> float:
        """Height of the hip joint above the sole, standing straight."""
        return self.thigh + self.shin + self.ankle

    @property
    def torso(self) -> float:
        """Hip to the base of the neck."""
        return 0.5 * self.s

    @property
    def head_radius(self) -> float:
        return 0.11 * self.s

    def share(self, fraction: float) -> float:
        """A part's mass: a fraction of the total (Winter's anthropometric tables, rounded)."""
        return self.mass * fraction


def default_mass(height: float) -> float:
    """70 kg at 1.7 m, scaling with volume."""
    return 70.0 * (height / 1.7) ** 3
