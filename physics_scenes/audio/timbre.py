"""What each material sounds like when struck, and how a body's size sets its pitch.

A ``Timbre`` is a small modal model: a few damped sinusoids (frequency ratios
over the fundamental, decay times, relative amplitudes) plus a short noise
transient. Values are chosen so the presets are recognisable: wood knocks
(short, woody inharmonic modes), metal rings (long, bell-like partials of a free
bar), glass chimes (high and clear), stone clacks, rubber thuds (low, damped),
ice clinks, plastic taps. Custom materials borrow the nearest preset by
density and elasticity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..frame import BodyInfo, CircleGeom, PolyGeom, SegmentGeom


@dataclass(frozen=True, slots=True)
class Timbre:
    """A modal impact model of one material.

    ``f_ref`` is the fundamental (Hz) of a compact body 0.1 m across; a compact
    body of size L sounds at ``f_ref·(0.1/L)``, a bar or rod of length L at
    ``f_ref·BEAM_FACTOR·(1/L)²`` (a free bar's modes scale with 1/L²).
    """

    name: str
    f_ref: float
    ratios: tuple[float, ...]
    decays: tuple[float, ...]
    """Time for each mode to fall by 60 dB, seconds."""
    amps: tuple[float, ...]
    noise: float
    """Level of the contact transient (a filtered noise burst) relative to the modes."""
    noise_hz: float
    """Centre frequency of that transient."""
    noise_ms: float
    attack_ms: float
    """Rise time: 0 for a hard click, a few ms for soft materials (a thud)."""
    gain: float
    """How loudly it radiates compared with the other presets."""
    scrape_hz: float
    """Centre of the band of its scraping / rolling noise."""
    density: float = 1000.0
    elasticity: float = 0.5

    def scaled(self, pitch: float = 1.0, decay: float = 1.0, gain: float = 1.0) -> Timbre:
        return replace(
            self,
            f_ref=self.f_ref * pitch,
            decays=tuple(d * decay for d in self.decays),
            gain=self.gain * gain,
        )


BEAM_FACTOR = 0.45
"""A 1 m bar's fundamental relative to ``f_ref``."""
MIN_HZ, MAX_HZ = 40.0, 9000.0

PRESET_TIMBRES: MappingProxyType[str, Timbre] = MappingProxyType(
    {
        t.name: t
        for t in (
            Timbre("rubber", 900.0, (1.0, 1.59, 2.14), (0.06, 0.035, 0.02), (1.0, 0.35, 0.15),
                   0.25, 500.0, 6.0, 2.5, 0.9, 350.0, 1100.0, 0.8),
            Timbre("wood", 2600.0, (1.0, 2.57, 4.21, 6.35), (0.16, 0.08, 0.045, 0.03),
                   (1.0, 0.55, 0.3, 0.18), 0.6, 2500.0, 4.0, 0.0, 1.0, 1200.0, 600.0, 0.4),
            Timbre("metal", 3000.0, (1.0, 2.756, 5.404, 8.933), (2.2, 1.4, 0.8, 0.45),
                   (1.0, 0.6, 0.4, 0.25), 0.25, 5000.0, 2.0, 0.0, 0.8, 3500.0, 7800.0, 0.55),
            Timbre("stone", 2000.0, (1.0, 1.83, 3.12, 4.7), (0.07, 0.04, 0.025, 0.02),
                   (1.0, 0.6, 0.4, 0.3), 1.0, 1800.0, 8.0, 0.0, 1.0, 900.0, 2500.0, 0.2),
            Timbre("ice", 5200.0, (1.0, 2.12, 3.91, 5.6), (0.35, 0.2, 0.12, 0.08),
                   (1.0, 0.45, 0.3, 0.2), 0.5, 6000.0, 3.0, 0.0, 0.8, 5000.0, 917.0, 0.1),
            Timbre("glass", 6500.0, (1.0, 2.32, 4.25, 6.63), (1.1, 0.7, 0.4, 0.25),
                   (1.0, 0.5, 0.35, 0.2), 0.3, 8000.0, 1.5, 0.0, 0.8, 6000.0, 2500.0, 0.65),
            Timbre("plastic", 3800.0, (1.0, 2.3, 3.8, 5.9), (0.09, 0.05, 0.03, 0.02),
                   (1.0, 0.5, 0.3, 0.15), 0.5, 3000.0, 4.0, 0.5, 0.8, 2000.0, 950.0, 0.6),
            Timbre("ground", 900.0, (1.0, 1.47, 2.09), (0.08, 0.05, 0.03),
                   (1.0, 0.5, 0.3), 0.8, 700.0, 10.0, 0.5, 0.5, 600.0, 2500.0, 1.0),
        )
    }
)  # fmt: skip
"""Sound of each material preset of ``materials.PRESETS``, by the same names."""

FLESH = Timbre("flesh", 520.0, (1.0, 1.62, 2.35), (0.05, 0.03, 0.02), (1.0, 0.4, 0.2),
               0.6, 450.0, 9.0, 3.0, 1.0, 700.0, 1000.0, 0.1)  # fmt: skip
"""A body (a person's torso, limbs, head): a low, dull, quickly damped thud."""
SOLE = Timbre("sole", 1300.0, (1.0, 1.71, 2.63), (0.03, 0.02, 0.012), (1.0, 0.4, 0.2),
              0.5, 1500.0, 5.0, 1.0, 0.8, 1800.0, 1000.0, 0.0)  # fmt: skip
"""A shoe: a soft rubber tap and a bright scuff."""

BUILDER_TIMBRES: MappingProxyType[str, Timbre] = MappingProxyType(
    {
        "steel": replace(PRESET_TIMBRES["metal"], name="steel"),
        "sole": SOLE,
        "grip": replace(PRESET_TIMBRES["rubber"], name="grip"),
        "flesh": FLESH,
    }
)
"""Sounds of the materials the composite builders use themselves (a cradle's ``steel``
balls, a walker's ``sole``, whegs' ``grip``) and of a body (``flesh``: the parts of a
walker or ragdoll left in the default material). Never a custom material's fallback."""

BODY_KINDS = frozenset({"torso", "limb", "head"})
"""Parts of a person: in the default material they sound like ``FLESH``, not planks."""


def named_timbre(name: str) -> Timbre:
    """A preset or builder sound by name (what ``audio.materials.X.like`` may name)."""
    return PRESET_TIMBRES.get(name) or BUILDER_TIMBRES[name]


SURFACE_KINDS = frozenset({"floor", "walls", "ramp"})
"""Bodies that are 'the world' rather than objects: they sound at a fixed, low size."""
SURFACE_SIZE = 1.5


def nearest_timbre(density: float, elasticity: float) -> Timbre:
    """The preset closest in (log density, elasticity): a custom material's default sound."""

    def distance(t: Timbre) -> float:
        return (math.log(density / t.density) / 2.0) ** 2 + (elasticity - t.elasticity) ** 2

    choices = [t for name, t in PRESET_TIMBRES.items() if name != "ground"]
    return min(choices, key=distance)


@dataclass(frozen=True, slots=True)
class Shape:
    """How big a body is, acoustically: a length and whether it rings like a bar."""

    size: float
    beam: bool


def body_shape(body: BodyInfo) -> Shape:
    """Characteristic size: a disc's diameter, a bar's length, a polygon's equivalent diameter."""
    if body.kind in SURFACE_KINDS or not body.shapes:
        return Shape(SURFACE_SIZE, False)
    geom = body.shapes[0]
    if isinstance(geom, CircleGeom):
        return Shape(2.0 * geom.radius, False)
    if isinstance(geom, SegmentGeom):
        length = math.dist(geom.a, geom.b) + 2 * geom.radius
        return Shape(length, length >= 4 * 2 * geom.radius)
    if isinstance(geom, PolyGeom):
        xs = [v[0] for v in geom.vertices]
        ys = [v[1] for v in geom.vertices]
        width, height = max(xs) - min(xs), max(ys) - min(ys)
        long, short = max(width, height), max(min(width, height), 1e-6)
        if long / short >= 4:
            return Shape(long, True)
        n = len(geom.vertices)
        area = 0.5 * abs(
            sum(
                geom.vertices[i][0] * geom.vertices[(i + 1) % n][1]
                - geom.vertices[(i + 1) % n][0] * geom.vertices[i][1]
                for i in range(n)
            )
        )
        return Shape(2 * math.sqrt(area / math.pi), False)
    return Shape(SURFACE_SIZE, False)


CAP_KNEE = 5000.0
"""Above this a fundamental is compressed towards ``MAX_HZ`` instead of clipped at it, so
small parts of different sizes still differ in pitch (they all rang at the cap)."""


def fundamental(timbre: Timbre, shape: Shape) -> float:
    """The fundamental frequency (Hz) of ``shape`` made of ``timbre``, kept in hearing:
    at least ``MIN_HZ``; above ``CAP_KNEE`` compressed smoothly (and monotonically)
    towards ``MAX_HZ``."""
    size = max(shape.size, 1e-3)
    f = timbre.f_ref * (BEAM_FACTOR / (size * size) if shape.beam else 0.1 / size)
    if f > CAP_KNEE:
        room = MAX_HZ - CAP_KNEE
        f = CAP_KNEE + room * math.tanh((f - CAP_KNEE) / room)
    return max(f, MIN_HZ)
