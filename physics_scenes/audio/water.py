"""The sound of liquid: a pour's rush and bubbles, a surface's slosh, from the particles.

A ``splash`` event sounds only where liquid is stopped hard by a shape; a tap pouring
into a glass of water, or a U-tube's columns sloshing, hit nothing hard. So the Frames'
particle arrays are read as they go by (``WaterScore``, a few numpy reductions a frame)
for two measures, and three layers are made from them at the end (``water_sources``):

- **The pour.** Liquid that was flying (a particle with fewer than 3 others in its cell
  of 2 × 2 spacings: a stream, a drop, spray) and is stopped (faster than 1 m/s, it
  loses over 0.5 m/s between two frames) gives up kinetic energy: its sum per second,
  in W per metre of depth, is the *impact power*. It sets the level of a rushing band
  of noise around 1.6 kHz (amplitude ∝ √power: the sound's power follows the power
  dissipated).
- **Bubbles.** Each kilogram stopped entrains about ``BUBBLES_PER_KG`` air bubbles,
  drawn per frame (seeded). A bubble of radius r rings at the Minnaert frequency
  f = 3.26 m/s / r, a damped sine whose pitch rises as it nears the surface. Its radius
  is a random fraction (4-25 %, log-uniform) of the drop's: a particle's share of the
  liquid as a disc, 0.564 spacings (0.025 m particles: 0.9-5.8 kHz; 0.05 m: 0.5-2.9 kHz).
- **The slosh.** The kinetic energy of the free surface (particles in the bulk within
  1.5 spacings of their column's top, their speed above 5 cm/s) sets a low band of
  noise around 380 Hz: water lapping and sloshing. A still pool is silent.

The layers are panned by where it happens and sit under ``audio.impacts_db`` with the
splashes. Per frame this stores six floats, so memory follows the clip as the score's.

>>> from ..frame import FluidInfo, Frame, Layout
>>> layout = Layout((), (0.0, 0.0), (2.0, 2.0), (0, 0, 0), (0.0, -9.81),
...                 fluids=(FluidInfo("water", 1000.0, 2.5, (0, 0, 255)),), fluid_spacing=0.05)
>>> water, empty = WaterScore(layout), (np.zeros((0, 2)), np.zeros(0)) * 2
>>> drop = lambda i, v: Frame(i, i / 60, *empty, (), np.array([[1.0, 0.5]]),
...                           np.array([[0.0, v]]), np.zeros(1, dtype=np.int16))
>>> for i, v in enumerate([-3.0, -3.0, 0.0]):
...     water.add(drop(i, v))
>>> [round(p) for p in water.impact_power]       # ½ · 2.5 kg · (3 m/s)² in 1/60 s
[0, 0, 675]
>>> round(minnaert_hz(0.001))                    # a 1 mm bubble
3260
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator

import numpy as np

from ..frame import Frame, Layout
from .dsp import RATE, Audio, band_shape, noise_blocks
from .mix import Piece, Source

MINNAERT = 3.26
"""m/s: f·r of an air bubble's breathing mode in water near the surface (Minnaert 1933)."""
FLYING = 3
"""Fewer particles than this in a particle's 2 × 2-spacing cell (a full one holds 4):
it is flying (a stream, a drop, spray), not in the bulk."""
SURFACE_DEPTH = 1.5
"""Spacings under its column's top within which a bulk particle is at the surface."""
STILL = 0.05
"""m/s under which the surface makes no sound (the solver's jitter at rest)."""
POUR_HZ, POUR_OCTAVES = 1600.0, 2.5
SLOSH_HZ, SLOSH_OCTAVES = 380.0, 1.6
POUR_LEVEL, POUR_POWER = 0.07, 400.0
"""RMS of the pour's noise at ``POUR_POWER`` W/m of impact power, against a unit impact's
peak (tap_fills_glass's 60 kg/s stream, falling a metre, averages 180 W/m, peaks at 900)."""
SLOSH_LEVEL, SLOSH_ENERGY = 0.05, 20.0
"""RMS of the slosh at ``SLOSH_ENERGY`` J/m of surface kinetic energy."""
BUBBLES_PER_KG = 4.0
MAX_BUBBLES = 12
"""Bubbles a frame at most; past it each is louder (the power still follows the mass)."""
BUBBLE_LEVEL = 0.35
BUBBLE_FRACTION = (0.04, 0.25)
"""A bubble's radius as a fraction of its drop's (log-uniform)."""
DAMPING = 0.035
"""A bubble's dimensionless damping δ: it rings for 1/(π·f·δ) seconds (about 9 ms at 1 kHz)."""
IMPACT_SPEED, IMPACT_DV = 1.0, 0.5
"""m/s: a flying particle faster than the first that loses more than the second of its
speed between two frames (at 60 fps, over 3 g of deceleration) has hit something."""
GAP = 0.25
"""Seconds of silence that end a stretch of noise (a new one starts when sound does)."""


def minnaert_hz(radius: float) -> float:
    """The ringing frequency (Hz) of an air bubble of ``radius`` metres in water."""
    return MINNAERT / radius


class WaterScore:
    """Per-frame impact power, stopped mass, surface energy and where, from the particles."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.spacing = layout.fluid_spacing
        self._mass = np.array([f.particle_mass for f in layout.fluids], dtype=np.float64)
        self.times: array[float] = array("d")
        self.impact_power: array[float] = array("d")
        """W per metre of depth: kinetic energy flying liquid lost since the last frame, a
        second's worth."""
        self.impact_mass: array[float] = array("d")
        """kg per metre of depth of flying liquid slowed since the last frame."""
        self.impact_x: array[float] = array("d")
        self.surface_energy: array[float] = array("d")
        """J per metre of depth: kinetic energy of the free surface (over ``STILL``)."""
        self.surface_x: array[float] = array("d")
        self._previous: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None

    def _flying(self, position: np.ndarray) -> np.ndarray:
        cell = np.floor(position / (2 * self.spacing)).astype(np.int64)
        cell -= cell.min(axis=0)
        rows = int(cell[:, 1].max()) + 1
        key = cell[:, 0] * rows + cell[:, 1]
        if (int(cell[:, 0].max()) + 1) * rows <= 16 * len(key) + 4096:  # a compact liquid
            flying: np.ndarray = np.bincount(key)[key] < FLYING
            return flying
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)  # spread out
        flying = counts[inverse.reshape(-1)] < FLYING
        return flying

    def add(self, frame: Frame) -> None:
        x, v, kind = frame.fluid_position, frame.fluid_velocity, frame.fluid_kind
        n = len(kind)
        power = stopped = where = energy = there = 0.0
        if n and self.spacing > 0:
            mass = self._mass[kind]
            flying = self._flying(x)
            speed2 = np.einsum("ij,ij->i", v, v)
            if self._previous is not None:
                power, stopped, where = self._impacts(frame.time, x, speed2, mass)
            energy, there = self._surface(x, v, mass, flying)
            self._previous = (frame.time, x, speed2, flying)
        self.times.append(frame.time)
        self.impact_power.append(power)
        self.impact_mass.append(stopped)
        self.impact_x.append(
            where if stopped > 0 else (self.impact_x[-1] if self.impact_x else 0.0)
        )
        self.surface_energy.append(energy)
        self.surface_x.append(
            there if energy > 0 else (self.surface_x[-1] if self.surface_x else 0.0)
        )

    def _impacts(
        self, time: float, x: np.ndarray, speed2: np.ndarray, mass: np.ndarray
    ) -> tuple[float, float, float]:
        """(power W/m, mass kg/m, mean x) of flying particles slowed since the last frame.
        Particles keep their rows (emitters append, leavers are dropped in order); a row
        that moved farther than its speed allows is another particle, and not counted."""
        assert self._previous is not None
        before, x0, s0, flying0 = self._previous
        dt = time - before
        m = min(len(x0), len(x))
        if dt <= 0 or m == 0:
            return 0.0, 0.0, 0.0
        v0 = np.sqrt(s0[:m])
        moved = np.hypot(*(x[:m] - x0[:m]).T)
        same = moved <= v0 * dt * 1.5 + 2 * self.spacing
        lost = 0.5 * mass[:m] * (s0[:m] - speed2[:m])
        hit = flying0[:m] & same & (v0 - np.sqrt(speed2[:m]) > IMPACT_DV) & (v0 > IMPACT_SPEED)
        if not hit.any():
            return 0.0, 0.0, 0.0
        energy = lost[hit]
        total = float(energy.sum())
        return total / dt, float(mass[:m][hit].sum()), float((x[:m, 0][hit] * energy).sum() / total)

    def _surface(
        self, x: np.ndarray, v: np.ndarray, mass: np.ndarray, flying: np.ndarray
    ) -> tuple[float, float]:
        """(kinetic energy J/m, mean x) of the bulk's particles near their column's top."""
        column = np.floor(x[:, 0] / self.spacing).astype(np.int64)
        column -= column.min()
        top = np.full(int(column.max()) + 1, -np.inf)
        bulk = ~flying
        np.maximum.at(top, column[bulk], x[bulk, 1])
        surface = bulk & (x[:, 1] >= top[column] - SURFACE_DEPTH * self.spacing)
        speed = np.maximum(np.hypot(v[:, 0], v[:, 1]) - STILL, 0.0)
        e = 0.5 * mass * speed**2 * surface
        total = float(e.sum())
        if total <= 0:
            return 0.0, 0.0
        return total, float((x[:, 0] * e).sum() / total)


TimeMap = Callable[[float], float]


def water_sources(
    water: WaterScore, seed: int, length: int, time_map: TimeMap, gain: float
) -> list[Source]:
    """The pour, its bubbles and the slosh as mix sources (pieces in order of start)."""
    return [
        source for part in layers(water, seed, length, time_map, gain).values() for source in part
    ]


def layers(
    water: WaterScore, seed: int, length: int, time_map: TimeMap, gain: float
) -> dict[str, list[Source]]:
    """The sources of each layer by name: ``pour``, ``bubbles``, ``slosh``."""
    if len(water.times) < 2:
        return {"pour": [], "bubbles": [], "slosh": []}
    samples = np.array([time_map(t) for t in water.times]) * RATE
    origin, width = water.layout.region_origin[0], water.layout.region_size[0]

    def pans(xs: array[float]) -> np.ndarray:
        return 0.8 * (2.0 * (np.array(xs) - origin) / width - 1.0)

    pour = POUR_LEVEL * gain * np.sqrt(np.array(water.impact_power) / POUR_POWER)
    slosh = SLOSH_LEVEL * gain * np.sqrt(np.array(water.surface_energy) / SLOSH_ENERGY)
    made: dict[str, list[Source]] = {}
    for name, tag, values, xs, hz, octaves in (
        ("pour", 0x504F, pour, water.impact_x, POUR_HZ, POUR_OCTAVES),
        ("slosh", 0x534C, slosh, water.surface_x, SLOSH_HZ, SLOSH_OCTAVES),
    ):
        pan = pans(xs)
        made[name] = []
        for run, (first, last) in enumerate(_runs(values, water.times)):
            s0 = max(0, math.floor(samples[first]))
            s1 = min(length, math.ceil(samples[last]) + 1)
            if s1 > s0:
                rng = np.random.default_rng([seed, tag, run])
                pieces = _noise(rng, s0, s1, hz, octaves, samples, values, pan)
                made[name].append((s0, pieces))
    bubbles = list(_bubbles(water, seed, samples, length, gain, pans(water.impact_x)))
    made["bubbles"] = [(bubbles[0][0], iter(bubbles))] if bubbles else []
    return {name: made[name] for name in ("pour", "bubbles", "slosh")}


def _runs(values: np.ndarray, times: array[float]) -> list[tuple[int, int]]:
    """Frame ranges [first, last] (one silent frame each side) where ``values`` > 0,
    split at ``GAP`` seconds of silence."""
    active = np.flatnonzero(values > 0)
    if active.size == 0:
        return []
    t = np.array(times)[active]
    breaks = np.flatnonzero(np.diff(t) > GAP)
    starts = [int(active[0]), *(int(active[i + 1]) for i in breaks)]
    ends = [*(int(active[i]) for i in breaks), int(active[-1])]
    top = len(values) - 1
    return [(max(0, a - 1), min(top, b + 1)) for a, b in zip(starts, ends, strict=True)]


def _noise(
    rng: np.random.Generator,
    s0: int,
    s1: int,
    hz: float,
    octaves: float,
    samples: np.ndarray,
    values: np.ndarray,
    pan: np.ndarray,
) -> Iterator[Piece]:
    at = s0
    for noise in noise_blocks(rng, s1 - s0, band_shape(hz, octaves)):
        t = np.arange(at, at + len(noise), dtype=np.float64)
        wave = noise * np.interp(t, samples, values)
        angle = (np.interp(t, samples, pan) + 1) * math.pi / 4
        yield at, wave * np.cos(angle), wave * np.sin(angle)
        at += len(noise)


def _bubbles(
    water: WaterScore,
    seed: int,
    samples: np.ndarray,
    length: int,
    gain: float,
    pan: np.ndarray,
) -> Iterator[Piece]:
    """Each frame's bubbles, in order of start: damped sines at the Minnaert frequency of
    a radius drawn from the drop's, rising in pitch as they ring."""
    drop = water.spacing / math.sqrt(math.pi)
    low, high = (math.log(f) for f in BUBBLE_FRACTION)
    masses = np.array(water.impact_mass)
    power = np.array(water.impact_power)
    for k in range(1, len(masses)):
        if masses[k] <= 0:
            continue
        rng = np.random.default_rng([seed, 0x4255, k])
        expected = masses[k] * BUBBLES_PER_KG
        count = min(MAX_BUBBLES, int(rng.poisson(expected)))
        if count == 0:
            continue
        crowd = math.sqrt(max(1.0, expected / MAX_BUBBLES))  # past the cap: louder, not more
        span = max(1.0, samples[k] - samples[k - 1])
        starts = np.sort(samples[k - 1] + rng.uniform(0.0, span, count)).astype(np.int64)
        # louder for harder impacts: the power per kilogram is the square of the speed
        speed = math.sqrt(2 * power[k] * (samples[k] - samples[k - 1]) / RATE / masses[k])
        level = BUBBLE_LEVEL * gain * min(1.5, math.sqrt(speed / 3.0)) * crowd
        angle = (pan[k] + 1) * math.pi / 4
        for start in starts.tolist():
            radius = drop * math.exp(rng.uniform(low, high))
            wave = bubble(minnaert_hz(radius), rng) * level * rng.uniform(0.5, 1.0)
            n = min(len(wave), length - start)
            if n > 0 and start >= 0:
                yield start, wave[:n] * math.cos(angle), wave[:n] * math.sin(angle)


def bubble(hz: float, rng: np.random.Generator) -> Audio:
    """One bubble's ring at ``hz`` (unit peak): a damped sine whose pitch rises 10-30 %
    over its ring (as it nears the surface), 6 ring times long, with no click at the ends."""
    hz = min(hz, 0.4 * RATE)
    tau = min(0.025, max(0.002, 1 / (math.pi * hz * DAMPING)))
    n = int(6 * tau * RATE)
    t = np.arange(n) / RATE
    rise = rng.uniform(0.1, 0.3) / (6 * tau)  # fraction of f per second
    phase = 2 * np.pi * hz * (t + 0.5 * rise * t * t)
    wave: Audio = np.sin(phase) * np.exp(-t / tau)
    attack = min(n, int(0.0005 * RATE))
    wave[:attack] *= np.linspace(0.0, 1.0, attack)
    fade = min(n, int(0.002 * RATE))
    wave[n - fade :] *= np.linspace(1.0, 0.0, fade)
    return wave
