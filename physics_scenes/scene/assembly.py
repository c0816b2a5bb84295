"""What the world builder needs, fully resolved: bodies, joints and walker controllers.

Pure data made by ``scene.assemble.assemble`` (and the builders it calls);
``physics/world.py``
turns it into pymunk objects without making any decision of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
class Assembly:
    bodies: list[BodySpec]
    joints: list[JointSpec]
    walkers: list[WalkerSpec]
