"""What each body sounds like, and how loud a hit or a footstep is.

The material's timbre and the body's size give a pitch, the scene's ``audio:``
overrides change timbre, pitch, decay, level or swap in a recorded sample; the
impulse of a contact gives its loudness. ``track.py`` then places the sounds in time.

A 10 kg body hitting the ground with a 4 m/s change of speed is unit level; one that
changes by less than ``min_speed`` is silent:

>>> impact_level(impulse=40.0, mass_a=10.0, mass_b=float("inf"), min_speed=0.15)
1.0
>>> impact_level(impulse=0.5, mass_a=10.0, mass_b=float("inf"), min_speed=0.15)
0.0
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..frame import BodyInfo, Layout
from ..scene.audio import AudioSpec, SoundSpec
from ..scene.materials import DEFAULT_DYNAMIC
from .dsp import Audio, read_wav
from .score import Hit
from .timbre import (
    BODY_KINDS,
    BUILDER_TIMBRES,
    FLESH,
    PRESET_TIMBRES,
    SURFACE_KINDS,
    Timbre,
    body_shape,
    fundamental,
    named_timbre,
    nearest_timbre,
)

REF_SPEED = 4.0
"""Impact speed (m/s) that gives a unit-level voice for a 10 kg body."""
SURFACE_GAIN = 0.5


@dataclass(frozen=True, slots=True)
class BodySound:
    """How one body sounds: its timbre and pitch, or a sample; plus its level."""

    timbre: Timbre
    f0: float
    gain: float
    sample: Audio | None = None
    sample_ratio: float = 1.0


def custom_timbre(name: str, materials: dict[str, tuple[float, float]]) -> Timbre:
    """A scene material's sound: the preset its name mentions ('domino_wood' → wood),
    else the preset nearest in density and elasticity."""
    for preset, timbre in PRESET_TIMBRES.items():
        if preset != "ground" and preset in name.lower():
            return timbre
    density, elasticity = materials.get(name, (1000.0, 0.5))
    return nearest_timbre(density, elasticity)


def material_timbre(name: str, materials: dict[str, tuple[float, float]]) -> Timbre:
    """A material's sound: its preset, else (unless the scene defines it) a builder's
    own material (``steel``, ``sole``, ``grip``), else ``custom_timbre``."""
    if name in PRESET_TIMBRES:
        return PRESET_TIMBRES[name]
    if name not in materials and name in BUILDER_TIMBRES:
        return BUILDER_TIMBRES[name]
    return custom_timbre(name, materials)


def _override(spec: AudioSpec, body: BodyInfo) -> SoundSpec | None:
    base = body.name.split("/")[0]
    for key in (body.name, base):
        if key in spec.bodies:
            return spec.bodies[key]
    return spec.materials.get(body.material)


VARIANTS = 12
"""Alike bodies get one of this many slight variations (few, so their modes are cached)."""
PITCH_SPREAD, DECAY_SPREAD = 0.04, 0.12
"""Most a variation moves a body's pitch and ring time (±, relative): manufacturing spread."""


def variations(seed: int) -> list[tuple[float, float]]:
    """The (pitch, decay) factors of the ``VARIANTS``: pitches evenly spread over
    ±``PITCH_SPREAD`` in a seeded order, ring times seeded within ±``DECAY_SPREAD``."""
    rng = np.random.default_rng([seed, 0x5641])
    order = rng.permutation(VARIANTS)
    pitch = 1 + PITCH_SPREAD * (2 * (order + 0.5) / VARIANTS - 1)
    decay = 1 + rng.uniform(-DECAY_SPREAD, DECAY_SPREAD, VARIANTS)
    return [(float(p), float(d)) for p, d in zip(pitch, decay, strict=True)]


def variant(seed: int, name: str) -> int:
    """Which variation a body gets: fixed by the seed and its name."""
    return int(np.random.default_rng([seed, zlib.crc32(name.encode())]).integers(VARIANTS))


def body_sounds(
    layout: Layout,
    spec: AudioSpec,
    base_dir: Path,
    materials: dict[str, tuple[float, float]] | None = None,
    seed: int | None = None,
) -> list[BodySound]:
    """Resolve every body's sound: preset by material name, else the nearest preset
    (``materials`` gives custom materials' (density, elasticity)), then the overrides.

    With a ``seed``, each synthesized body that would sound exactly like another is
    one of ``VARIANTS`` slight variations of its pitch and ring time (a few percent),
    so a crowd of alike balls is a texture, not one note; a body unlike the others
    (a xylophone's tuned bar) keeps its exact pitch."""
    samples: dict[str, Audio] = {}
    sounds = []
    spread = variations(seed) if seed is not None else []
    for body in layout.bodies:
        timbre = material_timbre(body.material, materials or {})
        if body.kind in BODY_KINDS and body.material == DEFAULT_DYNAMIC:
            timbre = FLESH  # a walker's or ragdoll's own parts: a body falls, not planks
        over = _override(spec, body)
        sample = None
        ratio = 1.0
        shape = body_shape(body)
        gain = SURFACE_GAIN if body.kind in SURFACE_KINDS else 1.0
        if over is not None:
            if over.like is not None:
                timbre = named_timbre(over.like)
            timbre = timbre.scaled(over.pitch, over.decay)
            gain *= 10 ** (over.gain_db / 20)
            if over.sample is not None:
                if over.sample not in samples:
                    samples[over.sample] = read_wav(base_dir / over.sample)
                sample = samples[over.sample]
                power = 2.0 if shape.beam else 1.0
                ratio = over.pitch * (over.sample_size / max(shape.size, 1e-3)) ** power
        sounds.append(BodySound(timbre, fundamental(timbre, shape), gain, sample, ratio))
    if not spread:
        return sounds
    alike = Counter((s.timbre, s.f0) for s in sounds if s.sample is None)
    for row, (body, sound) in enumerate(zip(layout.bodies, sounds, strict=True)):
        if sound.sample is None and alike[(sound.timbre, sound.f0)] > 1:
            pitch, decay = spread[variant(seed or 0, body.name)]
            sounds[row] = replace(
                sound, timbre=sound.timbre.scaled(decay=decay), f0=sound.f0 * pitch
            )
    return sounds


def same_sound(a: BodySound, b: BodySound) -> bool:
    return (
        a.sample is None and b.sample is None
        and (a.timbre, a.f0, a.gain) == (b.timbre, b.f0, b.gain)
    )  # fmt: skip


def impact_level(impulse: float, mass_a: float, mass_b: float, min_speed: float) -> float:
    """Perceptual loudness (linear gain) of an impact from its impulse.

    The impulse over the pair's effective mass is the change in their
    relative speed; the level grows with that speed (about 0.9 dB per dB) and
    gently with mass, and is zero below ``min_speed`` with a soft knee above,
    so resting contacts and jitter in a pile make no sound.
    """
    inverse = 0.0  # the sum of the finite masses' inverses (written out: once a hit)
    if math.isfinite(mass_a) and mass_a > 0:
        inverse += 1.0 / mass_a
    if math.isfinite(mass_b) and mass_b > 0:
        inverse += 1.0 / mass_b
    if inverse <= 0 or impulse <= 0:
        return 0.0
    speed = impulse * inverse
    if speed < min_speed:
        return 0.0
    knee = min(1.0, (speed - min_speed) / max(min_speed, 1e-9))
    mass = 1.0 / inverse
    level_db = 18.0 * math.log10(speed / REF_SPEED) + 5.0 * math.log10(mass / 10.0)
    return knee * 10 ** (min(max(level_db, -60.0), 12.0) / 20)


STEP_SPEED = 0.06
"""A footfall that changes the walker's momentum by its mass x 0.06 m/s is unit level."""
STEP_FLOOR = 0.015
"""Footfalls changing the walker's speed by less than this (m/s) are silent: a foot
settling on the ground (a walker placed on it touches down at about 1 cm/s), a sole that
only brushes it."""
STEP_KNEE = 0.0075
"""Above ``STEP_FLOOR`` a step fades in over this much more speed (m/s)."""
STEP_MERGE = 0.12
"""A foot touching down again within this many seconds of its step is the same step
(heel, then the flat of the foot): one sound, not a flam."""
PERSON = 70.0
"""Walker mass (kg) the footstep's pitch and length are set for."""


def footstep_level(impulse: float, walker_mass: float) -> float:
    """Loudness of a footstep: the impulse over the whole walker's mass, not the foot's
    (the foot is light, the body lands on it), 1 dB per dB, a little more for a heavier
    walker; silent below ``STEP_FLOOR`` with a soft knee above it.

    >>> round(20 * math.log10(footstep_level(16.1, 70.0) / footstep_level(1.61, 70.0)), 6)
    20.0
    """
    mass = max(walker_mass, 1e-9)
    speed = impulse / mass
    if speed < STEP_FLOOR:
        return 0.0
    knee = min(1.0, (speed - STEP_FLOOR) / STEP_KNEE)
    level_db = 20.0 * math.log10(speed / STEP_SPEED) + 5.0 * math.log10(mass / PERSON)
    return knee * 10 ** (min(max(level_db, -60.0), 12.0) / 20)


@dataclass(frozen=True, slots=True)
class Step:
    """One footstep to sound: its first touch, its level and what sets its pitch and length."""

    hit: Hit
    level: float
    speed: float
    """The walker's change of speed (m/s): a harder step is brighter."""
    mass: float
    """The whole walker's mass (kg): a heavier walker thumps lower and longer."""


def footsteps(hits: list[Hit], layout: Layout) -> list[Step]:
    """The audible footsteps among ``hits`` (kind 'foot', foot in ``a``), re-contacts merged.

    A touch below ``STEP_FLOOR`` is dropped; one within ``STEP_MERGE`` of the same foot's
    last audible step joins it (the step sounds at its first touch, as loud as its
    loudest), so a heel-and-toe landing or a bounce is one footfall, not a flam.
    """
    walkers = composite_masses(layout)
    steps: list[Step] = []
    last: dict[int, int] = {}  # foot row → index in steps of its last audible step
    for hit in sorted((h for h in hits if h.kind == "foot"), key=lambda h: (h.time, h.order)):
        name = layout.bodies[hit.a].name if hit.a >= 0 else ""
        mass = walkers.get(name.split("/")[0], PERSON)
        level = footstep_level(hit.impulse, mass)
        if level <= 0:
            continue
        index = last.get(hit.a)
        if index is not None and hit.time - steps[index].hit.time < STEP_MERGE:
            if level > steps[index].level:
                steps[index] = replace(steps[index], level=level, speed=hit.impulse / mass)
            continue
        last[hit.a] = len(steps)
        steps.append(Step(hit, level, hit.impulse / mass, mass))
    return steps


def composite_masses(layout: Layout) -> dict[str, float]:
    """Total mass of each composite body ('bob' for 'bob/foot_left', 'bob/torso', ...)."""
    totals: dict[str, float] = {}
    for body in layout.bodies:
        if "/" in body.name and math.isfinite(body.mass):
            base = body.name.split("/")[0]
            totals[base] = totals.get(base, 0.0) + body.mass
    return totals


def scrape_hz(material: str, spec: AudioSpec, materials: dict[str, tuple[float, float]]) -> float:
    timbre = material_timbre(material, materials)
    over = spec.materials.get(material)
    if over is not None and over.like is not None:
        timbre = named_timbre(over.like)
    return timbre.scrape_hz
