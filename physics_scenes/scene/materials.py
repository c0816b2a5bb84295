"""Named material presets.

Densities are areal (kg/m²) because the world is 2D: a ball of radius r and
density ρ weighs ρ·π·r². Pymunk multiplies the friction and elasticity of the
two touching shapes, so the static ``ground`` preset has friction 1 and
elasticity 1: what hits it keeps its own coefficients (a rubber ball with
elasticity 0.8 rebounds from the floor with restitution 0.8).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Material:
    """Physical properties shared by every shape made of this material."""

    name: str
    density: float
    friction: float
    elasticity: float
    color: tuple[int, int, int]


def _preset(
    name: str, density: float, friction: float, elasticity: float, color: str
) -> tuple[str, Material]:
    rgb = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return name, Material(name, density, friction, elasticity, rgb)  # type: ignore[arg-type]


PRESETS: MappingProxyType[str, Material] = MappingProxyType(
    dict(
        [
            _preset("rubber", 1100.0, 0.9, 0.8, "#e4572e"),
            _preset("wood", 600.0, 0.5, 0.4, "#c8964b"),
            _preset("metal", 7800.0, 0.3, 0.55, "#9aa5b1"),
            _preset("stone", 2500.0, 0.7, 0.2, "#8c8577"),
            _preset("ice", 917.0, 0.03, 0.1, "#a8dcf0"),
            _preset("glass", 2500.0, 0.4, 0.65, "#7fd1c7"),
            _preset("plastic", 950.0, 0.4, 0.6, "#f2c14e"),
            _preset("ground", 2500.0, 1.0, 1.0, "#4a5560"),
        ]
    )
)
"""Presets by name; ``ground`` is the default for static geometry."""

DEFAULT_DYNAMIC = "wood"
DEFAULT_STATIC = "ground"
