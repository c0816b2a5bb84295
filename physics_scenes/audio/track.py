"""Score + settings → the finished stereo track: voices, noise layers, bed, master.

Sync: a sound that happens at simulation time t starts at sample
round(time_map(t)·48000), ``time_map`` being the video's clock (identity unless
the timeline is remapped), and the track is exactly ``duration`` long.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frame import BodyInfo, Layout
from ..scene.audio import AudioSpec, SoundSpec
from .dsp import (
    BLOCK,
    RATE,
    Audio,
    AudioInputError,
    Shape,
    WavWriter,
    band_shape,
    noise_blocks,
    pink_shape,
    read_wav,
)
from .mix import Levels, Piece, Source, Voice, allocate, master, mix_windows, voice_pieces
from .score import Hit, Score
from .spill import SpilledTrack
from .synth import FOOTSTEP_LENGTH, ImpactSynth, play_sample
from .timbre import (
    PRESET_TIMBRES,
    SURFACE_KINDS,
    Timbre,
    body_shape,
    fundamental,
    nearest_timbre,
)

TimeMap = Callable[[float], float]
REF_SPEED = 4.0
"""Impact speed (m/s) that gives a unit-level voice for a 10 kg body."""
SURFACE_GAIN = 0.5
MIX_WINDOW = 8 * BLOCK
"""Samples mixed at once (10.9 s, 4 MB): a voice still ringing at a window's end is carried
over, so longer windows carry fewer (a domino cascade rings 60 voices at once)."""
SCRAPE_LEVEL = 0.02
"""RMS of the scraping noise of a 10 kg body sliding at 1 m/s, against a unit impact's peak
(about -30 dB): scraping sits under the impacts, as it does in life."""


def identity(t: float) -> float:
    return t


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


def _override(spec: AudioSpec, body: BodyInfo) -> SoundSpec | None:
    base = body.name.split("/")[0]
    for key in (body.name, base):
        if key in spec.bodies:
            return spec.bodies[key]
    return spec.materials.get(body.material)


def body_sounds(
    layout: Layout,
    spec: AudioSpec,
    base_dir: Path,
    materials: dict[str, tuple[float, float]] | None = None,
) -> list[BodySound]:
    """Resolve every body's sound: preset by material name, else the nearest preset
    (``materials`` gives custom materials' (density, elasticity)), then the overrides."""
    samples: dict[str, Audio] = {}
    sounds = []
    for body in layout.bodies:
        timbre = PRESET_TIMBRES.get(body.material)
        if timbre is None:
            timbre = custom_timbre(body.material, materials or {})
        over = _override(spec, body)
        sample = None
        ratio = 1.0
        shape = body_shape(body)
        gain = SURFACE_GAIN if body.kind in SURFACE_KINDS else 1.0
        if over is not None:
            if over.like is not None:
                timbre = PRESET_TIMBRES[over.like]
            timbre = timbre.scaled(over.pitch, over.decay)
            gain *= 10 ** (over.gain_db / 20)
            if over.sample is not None:
                if over.sample not in samples:
                    samples[over.sample] = read_wav(base_dir / over.sample)
                sample = samples[over.sample]
                power = 2.0 if shape.beam else 1.0
                ratio = over.pitch * (over.sample_size / max(shape.size, 1e-3)) ** power
        sounds.append(BodySound(timbre, fundamental(timbre, shape), gain, sample, ratio))
    return sounds


DENSE_WINDOW = 0.05
DENSE_COUNT = 12
"""More hits than this within ±50 ms is a clatter (an avalanche, a pile settling)."""


def _spread(hits: list[Hit], seed: int) -> np.ndarray:
    """Seconds to move each hit earlier: zero for hits that stand alone.

    The physics only knows the step in which a contact began, so every hit lands on
    the step grid (240 per second by default). In a clatter of hundreds of alike
    hits that grid is heard as a buzz at the step rate and its harmonics, so there
    each hit moves to a seeded random moment within its own step, where it really
    happened. Isolated hits keep their exact sample.
    """
    spread = np.zeros(len(hits))
    if not hits:
        return spread
    times = np.array([h.time for h in hits])
    order = np.argsort(times, kind="stable")
    ordered = times[order]
    near = np.searchsorted(ordered, ordered + DENSE_WINDOW, "right") - np.searchsorted(
        ordered, ordered - DENSE_WINDOW, "left"
    )
    dense = np.zeros(len(hits), dtype=bool)
    dense[order] = near > DENSE_COUNT
    steps = np.array([h.step_seconds for h in hits])
    jitter = np.random.default_rng([seed, 0x4A]).uniform(0.0, 1.0, len(hits))
    return np.where(dense, jitter * steps, 0.0)


def _same(a: BodySound, b: BodySound) -> bool:
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
    inverse = sum(1.0 / m for m in (mass_a, mass_b) if math.isfinite(m) and m > 0)
    if inverse <= 0 or impulse <= 0:
        return 0.0
    speed = impulse * inverse
    if speed < min_speed:
        return 0.0
    knee = min(1.0, (speed - min_speed) / max(min_speed, 1e-9))
    mass = 1.0 / inverse
    level_db = 18.0 * math.log10(speed / REF_SPEED) + 5.0 * math.log10(mass / 10.0)
    return knee * 10 ** (min(max(level_db, -60.0), 12.0) / 20)


STEP_SPEED = 0.3
"""A footfall that changes the walker's momentum by its mass x 0.3 m/s is unit level."""


def footstep_level(impulse: float, walker_mass: float) -> float:
    """Loudness of a footstep: the impulse over the whole walker's mass, not the foot's
    (the foot is light, the body lands on it); silent below 1 cm/s."""
    speed = impulse / max(walker_mass, 1e-9)
    if speed < 0.01:
        return 0.0
    return 10 ** (min(max(18.0 * math.log10(speed / STEP_SPEED), -40.0), 6.0) / 20)


def _composite_masses(layout: Layout) -> dict[str, float]:
    """Total mass of each composite body ('bob' for 'bob/foot_left', 'bob/torso', ...)."""
    totals: dict[str, float] = {}
    for body in layout.bodies:
        if "/" in body.name and math.isfinite(body.mass):
            base = body.name.split("/")[0]
            totals[base] = totals.get(base, 0.0) + body.mass
    return totals


def _pan(x: float, layout: Layout) -> float:
    origin, width = layout.region_origin[0], layout.region_size[0]
    return 0.8 * (2.0 * (x - origin) / width - 1.0)


def render_track(
    score: Score,
    spec: AudioSpec,
    seed: int,
    duration: float,
    *,
    time_map: TimeMap = identity,
    base_dir: Path = Path("."),
    materials: dict[str, tuple[float, float]] | None = None,
) -> tuple[Audio, Levels]:
    """The finished stereo track (``round(duration·48000)`` × 2 floats), in memory, and levels."""
    length, windows = mixed_windows(score, spec, seed, duration, time_map, base_dir, materials)
    out = np.empty((length, 2), dtype=np.float32)
    at = 0
    for window in windows:
        out[at : at + len(window)] = window
        at += len(window)
    return out, master(out, spec.loudness, spec.true_peak, spec.gain_db)


def write_track(
    path: Path,
    score: Score,
    spec: AudioSpec,
    seed: int,
    duration: float,
    *,
    time_map: TimeMap = identity,
    base_dir: Path = Path("."),
    materials: dict[str, tuple[float, float]] | None = None,
) -> Levels:
    """``render_track`` written to a 24-bit WAV at ``path``, the same samples, in flat memory.

    The mix is made a window at a time into a nameless temporary file beside
    ``path`` and mastered from there, so memory does not grow with the length.
    """
    length, windows = mixed_windows(score, spec, seed, duration, time_map, base_dir, materials)
    with SpilledTrack(path.parent) as mixed:
        for window in windows:
            mixed.append(window)
        assert len(mixed) == length
        with WavWriter(path) as wav:  # only once the mix is made: its errors leave no file
            return master(
                mixed,  # type: ignore[arg-type]  # read like an array, a slice at a time
                spec.loudness,
                spec.true_peak,
                spec.gain_db,
                emit=lambda _start, block: wav.write(block),
            )


def mixed_windows(
    score: Score,
    spec: AudioSpec,
    seed: int,
    duration: float,
    time_map: TimeMap,
    base_dir: Path,
    materials: dict[str, tuple[float, float]] | None,
) -> tuple[int, Iterator[Audio]]:
    """The track's length in samples, and its mix before mastering, window by window."""
    layout = score.layout
    length = round(duration * RATE)
    sounds = body_sounds(layout, spec, base_dir, materials)
    masses = layout.masses()
    synth = ImpactSynth(seed)
    voices: list[Voice] = []
    recipes: dict[int, tuple[Hit, int]] = {}
    impacts = 10 ** (spec.impacts_db / 20)
    steps = 10 ** (spec.footsteps_db / 20)
    walkers = _composite_masses(layout)
    audible: list[tuple[Hit, float]] = []
    for hit in score.hits:
        if hit.kind == "foot":
            whole = walkers.get(layout.bodies[hit.a].name.split("/")[0], 1.0) if hit.a >= 0 else 1.0
            level = footstep_level(hit.impulse, whole)
        else:
            mass_a = masses[hit.a] if hit.a >= 0 else 1.0
            mass_b = masses[hit.b] if hit.b >= 0 else math.inf
            level = impact_level(hit.impulse, mass_a, mass_b, spec.min_speed)
        if level > 0:
            audible.append((hit, level))
    spread = _spread([hit for hit, _ in audible], seed)
    for (hit, level), early in zip(audible, spread, strict=True):
        start = round(time_map(hit.time - early) * RATE)
        if start >= length or start < 0:
            continue
        pan = _pan(hit.x, layout)
        if hit.kind == "foot":
            order = 2 * hit.order
            recipes[order] = (hit, -1)
            voices.append(Voice(start, FOOTSTEP_LENGTH, level * steps, pan, 0.25, order))
            continue
        rows = [hit.a, hit.b]
        share = 1.0
        if hit.a >= 0 and hit.b >= 0 and _same(sounds[hit.a], sounds[hit.b]):
            # Two identical bodies (two balls of a pile) ring alike: one voice at their
            # summed power halves the work of an avalanche.
            rows, share = [hit.a], math.sqrt(2.0)
        for part, row in enumerate(rows):
            if row < 0:
                continue
            sound = sounds[row]
            if sound.sample is not None:
                size = max(1, int(len(sound.sample) / sound.sample_ratio))
                ring = size / RATE
            else:
                size, ring = synth.length(sound.timbre), max(sound.timbre.decays)
            gain = level * sound.gain * sound.timbre.gain * impacts * share
            order = 2 * hit.order + part
            recipes[order] = (hit, row)
            voices.append(Voice(start, size, gain, pan, ring, order))

    rng = np.random.default_rng([seed, 0x48])  # drawn from in mixing order: deterministic

    def make(voice: Voice, n: int) -> Audio:
        hit, row = recipes[voice.order]
        if row < 0:
            ground = sounds[hit.b].timbre if hit.b >= 0 else PRESET_TIMBRES["ground"]
            return synth.footstep(ground, min(1.0, voice.gain), rng)[0]
        sound = sounds[row]
        if sound.sample is not None:
            return play_sample(sound.sample, sound.sample_ratio)
        return synth.impact(sound.timbre, sound.f0, rng, n)[0]

    sources: list[Source] = [(0, voice_pieces(allocate(voices, spec.voices), length, make))]
    sources += _contact_noise(length, score, spec, seed, time_map, materials or {})
    if spec.ambient is not None:
        sources.append((0, _ambient(spec, seed, length, base_dir)))
    return length, mix_windows(sources, length, MIX_WINDOW)


def _contact_noise(
    length: int,
    score: Score,
    spec: AudioSpec,
    seed: int,
    time_map: TimeMap,
    materials: dict[str, tuple[float, float]],
) -> list[Source]:
    """Scraping (bright) and rolling (dark) noise per material pair, following the speeds.

    Noise is made only over the stretches where something slides or rolls, so
    its cost follows the sound, not the length of the video; each stretch is
    made a block at a time, when the mix reaches it.
    """
    if not score.layers or not score.frame_times:
        return []
    times = np.array([time_map(t) for t in score.frame_times]) * RATE
    level = SCRAPE_LEVEL * 10 ** (spec.scrapes_db / 20)
    sources: list[Source] = []
    for key in sorted(score.layers):
        layer = score.layers[key]
        centre = math.sqrt(
            _scrape_hz(key[0], spec, materials) * _scrape_hz(key[1], spec, materials)
        )
        pans = np.array([_pan(x, score.layout) for x in layer.x])
        for part, (energy, hz, octaves) in enumerate(
            ((layer.slide, centre, 1.5), (layer.roll, centre / 4, 1.2))
        ):
            values = np.sqrt(np.array(energy))
            for run, (first, last) in enumerate(_active_runs(values)):
                s0 = max(0, math.floor(times[first]))
                s1 = min(length, math.ceil(times[last]) + 1)
                if s1 <= s0:
                    continue
                tag = zlib.crc32(f"{key[0]}|{key[1]}|{part}|{run}".encode())
                shape = band_shape(hz, octaves)
                noise = _NoiseRun(s0, s1, [seed, 0x53, tag], shape, times, values, level, pans)
                sources.append((s0, noise.pieces()))
    return sources


@dataclass(frozen=True, slots=True)
class _NoiseRun:
    """One stretch of scraping or rolling noise: level and pan follow the frames."""

    s0: int
    s1: int
    seed: list[int]
    shape: Shape
    times: np.ndarray
    values: np.ndarray
    level: float
    pans: np.ndarray

    def pieces(self) -> Iterator[Piece]:
        at = self.s0
        rng = np.random.default_rng(self.seed)
        for noise in noise_blocks(rng, self.s1 - self.s0, self.shape):
            samples = np.arange(at, at + len(noise), dtype=np.float64)
            wave = noise * np.interp(samples, self.times, self.values) * self.level
            angle = (np.interp(samples, self.times, self.pans) + 1) * math.pi / 4
            yield at, wave * np.cos(angle), wave * np.sin(angle)
            at += len(noise)


def _active_runs(values: np.ndarray, gap: int = 30) -> list[tuple[int, int]]:
    """Frame ranges [first, last] (with one silent frame each side) where ``values`` > 0,
    split where it stays zero for ``gap`` frames or more."""
    active = np.flatnonzero(values > 0)
    if active.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(active) > gap)
    starts = [int(active[0]), *(int(active[i + 1]) for i in breaks)]
    ends = [*(int(active[i]) for i in breaks), int(active[-1])]
    top = len(values) - 1
    return [(max(0, a - 1), min(top, b + 1)) for a, b in zip(starts, ends, strict=True)]


def _scrape_hz(material: str, spec: AudioSpec, materials: dict[str, tuple[float, float]]) -> float:
    timbre = PRESET_TIMBRES.get(material) or custom_timbre(material, materials)
    over = spec.materials.get(material)
    if over is not None and over.like is not None:
        timbre = PRESET_TIMBRES[over.like]
    return timbre.scrape_hz


def _ambient(spec: AudioSpec, seed: int, length: int, base_dir: Path) -> Iterator[Piece]:
    """The bed under everything: synthesized room tone, or a WAV file looped.

    A file is read and checked now, not when the mix reaches it: a bad one is
    reported before anything is written.
    """
    assert spec.ambient is not None
    level = 10 ** (spec.ambient.level_db / 20)
    if spec.ambient.file is None:
        return _room_tone(seed, length, level)
    loop = read_wav(base_dir / spec.ambient.file)
    rms = math.sqrt(float(np.mean(loop**2)))
    if rms == 0:
        raise AudioInputError(f"{base_dir / spec.ambient.file}: the file is silent")
    return _looped(loop / rms * level, length)


def _room_tone(seed: int, length: int, level: float) -> Iterator[Piece]:
    left = noise_blocks(np.random.default_rng([seed, 0x414D, 0]), length, pink_shape())
    right = noise_blocks(np.random.default_rng([seed, 0x414D, 1]), length, pink_shape())
    at = 0
    for a, b in zip(left, right, strict=True):
        yield at, a * level, b * level
        at += len(a)


def _looped(bed: Audio, length: int) -> Iterator[Piece]:
    for at in range(0, length, BLOCK):
        block = bed[np.arange(at, min(length, at + BLOCK)) % len(bed)]
        yield at, block, block
