"""What the world builder needs, fully resolved: bodies, joints and walker controllers.

Pure data made by ``scene.assemble.assemble`` (and the builders it calls);
``physics/world.py``
turns it into pymunk objects without making any decision of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..frame import BodyType, Geom, JointKind, Vec2
from .colors import RGB
from .materials import Material


@dataclass(frozen=True, slots=True)
class BodySpec:
    """One body ready to build: SI units, radians, resolved material and colour."""

    name: str
    kind: str
    body_type: BodyType
    position: tuple[float, float]
    angle: float
    velocity: tuple[float, float]
    angular_velocity: float
    material: Material
    color: RGB
    shapes: tuple[Geom, ...]
    mass: float | None = None
    group: int = 0
    """Bodies sharing a non-zero group never collide with each other (parts of one composite)."""


@dataclass(frozen=True, slots=True)
class JointSpec:
    """One constraint; ``b is None`` attaches it to the world (``anchor_b`` a world point).

    Angles in radians. Unused parameters stay at their defaults.
    """

    name: str
    kind: JointKind
    a: str
    b: str | None
    anchor_a: Vec2 = (0.0, 0.0)
    anchor_b: Vec2 = (0.0, 0.0)
    length: float | None = None
    low: float = 0.0
    high: float = 0.0
    rest: float | None = None
    stiffness: float = 0.0
    damping: float = 0.0
    rate: float = 0.0
    ratio: float = 1.0
    phase: float = 0.0
    groove: tuple[Vec2, Vec2] = ((0.0, 0.0), (0.0, 0.0))
    max_force: float | None = None
    collide: bool = False
    visible: bool = True


@dataclass(frozen=True, slots=True)
class WalkerSpec:
    """A biped's parts and gait settings; ``physics/world.py`` runs its controller every step."""

    name: str
    height: float
    speed: float
    direction: int
    """+1 walks towards +x, -1 towards -x."""
    active: bool
    fall_angle: float
    parts: dict[str, str] = field(default_factory=dict)
    """Role ('torso', 'thigh_left', ...) → body name."""
    motors: dict[str, str] = field(default_factory=dict)
    """Role ('hip_left', ..., 'balance') → joint name."""


@dataclass(frozen=True, slots=True)
class FluidSpec:
    """One liquid: areal density (kg/m²), XSPH viscosity (0-1), cohesion (0-1), looks."""

    name: str
    density: float
    viscosity: float
    cohesion: float
    color: RGB


@dataclass(frozen=True, slots=True)
class EmitterSpec:
    """A tap: rows of particles at ``rate`` kg/s from ``start`` to ``stop`` (s), leaving
    ``position`` at ``speed`` along ``direction`` (radians) ± ``spread`` (radians)."""

    name: str
    position: tuple[float, float]
    direction: float
    speed: float
    rate: float
    width: float
    start: float
    stop: float
    spread: float
    fluid: int
    """Index into ``FluidSetup.kinds``."""


@dataclass(frozen=True, slots=True)
class FluidSetup:
    """Every liquid of a scene: its kinds, one particle spacing, the particles at t = 0
    (metres, m/s, kind index) and the emitters."""

    kinds: tuple[FluidSpec, ...]
    spacing: float
    position: npt.NDArray[np.float64]
    velocity: npt.NDArray[np.float64]
    kind: npt.NDArray[np.int16]
    emitters: tuple[EmitterSpec, ...]


@dataclass(frozen=True, slots=True)
class Assembly:
    bodies: list[BodySpec]
    joints: list[JointSpec]
    walkers: list[WalkerSpec]
    fluid: FluidSetup | None = None
    """The scene's liquids, if it has any."""
