"""Score + settings → the finished stereo track: voices, noise layers, bed, master.

Sync: a sound that happens at simulation time t starts at sample
round(time_map(t)·48000), ``time_map`` being the video's clock (identity unless
the timeline is remapped), and the track is exactly ``duration`` long.
"""

from __future__ import annotations

import contextlib
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AudioInputError
from ..frame import Layout
from ..scene.audio import AudioSpec
from .beds import Beds, BedWindow, bed_windows
from .dsp import (
    BLOCK,
    RATE,
    Audio,
    Audio32,
    Shape,
    WavWriter,
    band_shape,
    integrated_loudness,
    noise_blocks,
    pink_shape,
    read_wav,
)
from .finish import finished, room_tone
from .mix import (
    Bed,
    Levels,
    Made,
    Piece,
    Source,
    Voice,
    allocate,
    master,
    mix_windows,
    voice_pieces,
)
from .score import Hit, Score
from .sounds import (
    BodySound,
    Step,
    body_sounds,
    footsteps,
    impact_level,
    same_sound,
    scrape_hz,
)
from .spill import SpilledTrack
from .synth import (
    SPLASH_LENGTH,
    ImpactSynth,
    Modes,
    attack_samples,
    footstep_length,
    impact_rows,
    play_sample,
)
from .timbre import PRESET_TIMBRES
from .water import water_sources

TimeMap = Callable[[float], float]
_Group = tuple[Modes, float, list[int], list[Audio], list[int], list[int]]
"""Alike voices made together: modes, attack (ms), their indices, weights, bursts, sizes."""
MIX_WINDOW = 8 * BLOCK
"""Samples mixed at once (10.9 s, 4 MB): a voice still ringing at a window's end is carried
over, so longer windows carry fewer (a domino cascade rings 60 voices at once)."""
SCRAPE_LEVEL = 0.02
"""RMS of the scraping noise of a 10 kg body sliding at 1 m/s, against a unit impact's peak
(about -30 dB): scraping sits under the impacts, as it does in life."""


def identity(t: float) -> float:
    return t


DENSE_WINDOW = 0.05
DENSE_COUNT = 12
"""More hits than this within ±50 ms is a clatter (an avalanche, a pile settling)."""


def _spread(hits: list[Hit], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds to move each hit earlier (zero for hits that stand alone), and which
    hits are in a clatter.

    The physics only knows the step in which a contact began, so every hit lands on
    the step grid (240 per second by default). In a clatter of hundreds of alike
    hits that grid is heard as a buzz at the step rate and its harmonics, so there
    each hit moves to a seeded random moment within its own step, where it really
    happened. Isolated hits keep their exact sample.
    """
    spread = np.zeros(len(hits))
    if not hits:
        return spread, spread.astype(bool)
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
    return np.where(dense, jitter * steps, 0.0), dense


CLATTER_LEVELS = 16
CLATTER_PITCH, CLATTER_DECAY = 0.10, (0.5, 1.0)
"""In a clatter a body rings while held by the others it touches: their contacts load
and damp it, by an amount that changes from hit to hit. So each hit there moves the
body's pitch within ±``CLATTER_PITCH`` and scales its ring time within ``CLATTER_DECAY``,
one of ``CLATTER_LEVELS`` seeded steps (few, so their modes are cached). Without it a
pile of 1000 alike balls sang one steady line (1.9 kHz, 14 dB over its neighbourhood)."""


def clatter_shift(level: int) -> tuple[float, float]:
    """The (pitch, decay) factors of clatter step ``level`` (0 … ``CLATTER_LEVELS`` - 1)."""
    rise = level / (CLATTER_LEVELS - 1)
    low, high = CLATTER_DECAY
    pitch = 1 + CLATTER_PITCH * (2 * rise - 1)
    return pitch, high - (high - low) * ((level * 7) % CLATTER_LEVELS) / (CLATTER_LEVELS - 1)


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
    beds: Beds | None = None,
) -> tuple[Audio32, Levels]:
    """The finished stereo track (``round(duration·48000)`` × 2 floats), in memory, and levels.

    ``beds``: the decoded music and voice files the scene names (``output.sound.load_beds``).
    """
    mix = Mix(score, spec, seed, duration, time_map, base_dir, materials, beds)
    out = np.asarray(mix.premaster(_in_memory), dtype=np.float32)
    return out, master(out, spec.loudness, spec.true_peak, spec.gain_db, bed=_bed(spec, seed))


def _in_memory(windows: Iterator[Audio32]) -> Audio32:
    blocks = list(windows)
    return np.concatenate(blocks) if blocks else np.zeros((0, 2), dtype=np.float32)


EncodedPeak = Callable[[Path], float]
"""The true peak (dBTP) of a finished WAV once encoded as it will be delivered (AAC)."""
ENCODED_TRIES = 4


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
    encoded_peak: EncodedPeak | None = None,
    beds: Beds | None = None,
    mark: Callable[[Path], None] | None = None,
) -> Levels:
    """``render_track`` written to a 24-bit WAV at ``path``, the same samples, in flat memory.

    The mix is made a window at a time into a nameless temporary file beside
    ``path`` and mastered from there, so memory does not grow with the length.
    With ``encoded_peak``, the WAV is measured as it will be delivered: an encoder
    (AAC) overshoots the peaks it is given, so while the encoded true peak is above
    the ceiling the track is mastered again with the limiter's ceiling lowered by the
    excess (the loudness target still met: the limiter takes the difference).
    ``mark`` (the in-signal mark, ``output.provenance``) is added to each written master
    before it is measured encoded, so the delivered file, mark included, meets the ceiling.
    """
    mix = Mix(score, spec, seed, duration, time_map, base_dir, materials, beds)
    with contextlib.ExitStack() as stack:

        def spill(windows: Iterator[Audio32]) -> SpilledTrack:
            track = stack.enter_context(SpilledTrack(path.parent))
            for window in windows:
                track.append(window)
            return track

        mixed = mix.premaster(spill)
        assert len(mixed) == mix.length
        ceiling = spec.true_peak
        bed = _bed(spec, seed, spill)
        measured = integrated_loudness(mixed)  # once: every try masters the same mix
        for _ in range(ENCODED_TRIES):
            with WavWriter(path) as wav:  # only once the mix is made: its errors leave no file
                levels = master(
                    mixed,  # a SpilledTrack: read like an array, a slice at a time
                    spec.loudness,
                    ceiling,
                    spec.gain_db,
                    emit=lambda _start, block: wav.write(block),
                    bed=bed,
                    measured=measured,
                )
            if mark is not None:
                mark(path)
            if encoded_peak is None:
                return levels
            encoded = encoded_peak(path)
            levels = replace(levels, encoded_true_peak=encoded)
            worst = max(encoded, levels.true_peak)  # (the final high-pass may add a little)
            if not math.isfinite(worst) or worst <= spec.true_peak:
                break
            ceiling -= worst - spec.true_peak + 0.1
        return levels
    raise AssertionError("unreachable")  # pragma: no cover


Store = Callable[[Iterator[Audio32]], Any]
"""Keeps a whole track given window by window; returns it readable as ``track[a:b]``."""


@dataclass(frozen=True)
class Mix:
    """Everything that makes the track before the master stage."""

    score: Score
    spec: AudioSpec
    seed: int
    duration: float
    time_map: TimeMap
    base_dir: Path
    materials: dict[str, tuple[float, float]] | None
    beds: Beds | None

    @property
    def length(self) -> int:
        return round(self.duration * RATE)

    def windows(self, solo: str | None = None) -> Iterator[Audio32]:
        """The physics sounds (only the ``solo`` stem's, if given), before the edges."""
        return mixed_windows(
            self.score, self.spec, self.seed, self.duration, self.time_map, self.base_dir,
            self.materials, solo,
        )[1]  # fmt: skip

    def parts(self, store: Store) -> Iterator[BedWindow] | None:
        """The physics, voice and ducked music by window; None if the scene has no beds."""
        spec = self.spec
        if spec.music is None and not spec.voice and not self.beds:
            return None
        if self.beds is None:
            raise AudioInputError(
                "the scene names music or voice files: pass them decoded "
                "(beds=output.sound.load_beds(spec, folder, seconds))"
            )
        return bed_windows(store(self.windows()), spec, self.beds, MIX_WINDOW)

    def premaster(self, store: Store) -> Any:
        """The whole track before the master stage (beds in, high-pass, fades), stored."""
        parts = self.parts(store)
        if parts is None:
            return store(finished(self.windows(), self.length))
        summed = (p.action + p.voice + p.music for p in parts)
        return store(finished(summed, self.length))


def _bed(spec: AudioSpec, seed: int, keep: Store = _in_memory) -> Bed | None:
    """The room tone the master adds ``spec.room_tone`` LU under the track's loudness.

    It is made once and kept (``keep``: in memory, or in a nameless file), then read
    back block by block: the master asks for the same tone at every trial gain and at
    every try at the encoded peak (about fifteen times a clip), and making it anew was
    a third of the master's work. The same blocks, bit for bit.
    """
    below = spec.room_tone
    if below is None:
        return None
    kept: dict[tuple[int, float], Any] = {}

    def bed(length: int, loudness: float) -> Iterator[Audio32]:
        if (length, loudness) not in kept:
            kept.clear()
            kept[length, loudness] = keep(room_tone(seed, length, loudness - below))
        tone = kept[length, loudness]
        return (np.asarray(tone[at : at + BLOCK]) for at in range(0, length, BLOCK))

    return bed


SPLASH = -2
"""The recipe row of a splash (no body sounds in it)."""
SPLASH_QUIET = 5.0
SPLASH_HEAVY = 500.0
"""N·s (liquid mass x speed lost, per metre of depth): below the first a splash is
silent; at the second it is a full, low splash (a 0.2 m stone into a pool: about 600)."""


def splash_level(impulse: float) -> float:
    """Loudness (linear gain) of a splash from the momentum the liquid lost."""
    if impulse <= SPLASH_QUIET:
        return 0.0
    return 0.6 * min(1.0, math.sqrt((impulse - SPLASH_QUIET) / SPLASH_HEAVY))


def mixed_windows(
    score: Score,
    spec: AudioSpec,
    seed: int,
    duration: float,
    time_map: TimeMap,
    base_dir: Path,
    materials: dict[str, tuple[float, float]] | None,
    solo: str | None = None,
) -> tuple[int, Iterator[Audio32]]:
    """The track's length in samples, and its mix before mastering, window by window;
    with ``solo`` ('impacts', 'footsteps', 'scrapes' or 'ambient'), only that part."""
    layout = score.layout
    length = round(duration * RATE)
    sounds = body_sounds(layout, spec, base_dir, materials, seed)
    masses = layout.masses().tolist()  # Python floats: read once a hit
    synth = ImpactSynth(seed)
    voices: list[Voice] = []
    recipes: dict[int, int] = {}
    splashing: dict[int, Hit] = {}
    impacts = 10 ** (spec.impacts_db / 20)
    audible: list[tuple[Hit, float]] = []
    for hit in score.hits:
        if hit.kind == "foot":
            continue
        if hit.kind == "splash":
            level = splash_level(hit.impulse) * impacts
        else:
            mass_a = masses[hit.a] if hit.a >= 0 else 1.0
            mass_b = masses[hit.b] if hit.b >= 0 else math.inf
            level = impact_level(hit.impulse, mass_a, mass_b, spec.min_speed)
        if level > 0:
            audible.append((hit, level))
    spread, dense = _spread([hit for hit, _ in audible], seed)
    held: dict[int, tuple[float, float]] = {}
    steps = np.random.default_rng([seed, 0x434C]).integers(CLATTER_LEVELS, size=(len(audible), 2))
    levels = steps.tolist()
    shifts = [clatter_shift(level) for level in range(CLATTER_LEVELS)]
    alike: dict[tuple[int, int], bool] = {}
    lengths: dict[tuple[int, float], tuple[int, float]] = {}
    """(timbre, decay) → (samples, ring): a pile's hits ask again and again."""
    for index, ((hit, level), early, crowded) in enumerate(
        zip(audible, spread, dense, strict=True)
    ):
        start = round(time_map(hit.time - early) * RATE)
        if start >= length or start < 0:
            continue
        pan = _pan(hit.x, layout)
        if hit.kind == "splash":
            order = 2 * hit.order
            splashing[order] = hit
            voices.append(Voice(start, SPLASH_LENGTH, level, pan, 0.3, order))
            continue
        rows = [hit.a, hit.b]
        share = 1.0
        if hit.a >= 0 and hit.b >= 0 and (hit.a, hit.b) not in alike:
            alike[hit.a, hit.b] = same_sound(sounds[hit.a], sounds[hit.b])
        if hit.a >= 0 and hit.b >= 0 and alike[hit.a, hit.b]:
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
                decay = 1.0
                if crowded:
                    held[2 * hit.order + part] = shifts[levels[index][part]]
                    decay = held[2 * hit.order + part][1]
                known = lengths.get((id(sound.timbre), decay))  # (its timbre lives as long)
                if known is None:
                    known = lengths[id(sound.timbre), decay] = (
                        synth.length(sound.timbre, decay),
                        max(sound.timbre.decays) * decay,
                    )
                size, ring = known
            gain = level * sound.gain * sound.timbre.gain * impacts * share
            order = 2 * hit.order + part
            recipes[order] = row
            voices.append(Voice(start, size, gain, pan, ring, order))
    walking: dict[int, Step] = {}
    for step in footsteps(score.hits, layout):
        start = round(time_map(step.hit.time) * RATE)
        if 0 <= start < length:
            order = 2 * step.hit.order
            walking[order] = step
            gain = step.level * 10 ** (spec.footsteps_db / 20)
            size = footstep_length(step.mass)
            voices.append(Voice(start, size, gain, _pan(step.hit.x, layout), size / RATE, order))

    rng = np.random.default_rng([seed, 0x48])  # drawn from in mixing order: deterministic
    ground = BodySound(PRESET_TIMBRES["ground"], PRESET_TIMBRES["ground"].f_ref * 0.06, 1.0)

    def single(voice: Voice) -> Audio | None:
        """A splash, a footstep or a recorded sample; None for a synthesized impact."""
        if voice.order in splashing:
            weight = min(1.0, splashing[voice.order].impulse / SPLASH_HEAVY)
            wave = synth.splash(weight, rng)[0]
            return wave if solo in (None, "impacts") else wave * 0.0
        if voice.order in walking:
            step = walking[voice.order]
            floor = sounds[step.hit.b] if step.hit.b >= 0 else ground
            sole = sounds[step.hit.a].timbre.scrape_hz if step.hit.a >= 0 else 1000.0
            wave = synth.footstep(floor.timbre, floor.f0, sole, step.mass, step.speed, rng)
            return wave if solo in (None, "footsteps") else wave * 0.0
        sound = sounds[recipes[voice.order]]
        if sound.sample is not None:
            wave = play_sample(sound.sample, sound.sample_ratio)
            return wave if solo in (None, "impacts") else wave * 0.0
        return None

    modes_of: dict[tuple[int, float, float, float], Modes] = {}

    def make(batch: list[tuple[Voice, int]]) -> Made:
        """The batch's waves: the random draws one voice after another, in order (so the
        same numbers as ever), then the impacts of alike voices synthesized together."""
        made: Made = []
        groups: dict[tuple[int, int, int], _Group] = {}
        for index, (voice, n) in enumerate(batch):
            wave = single(voice)
            if wave is not None:
                made.append((wave[None, :], [index]))
                continue
            row = recipes[voice.order]
            sound = sounds[row]
            pitch, decay = held.get(voice.order, (1.0, 1.0))
            found = (id(sound.timbre), sound.f0, pitch, decay)  # its timbre lives as long
            modes = modes_of.get(found)
            if modes is None:
                modes = modes_of[found] = synth.modes(sound.timbre, sound.f0 * pitch, decay)
            weights = rng.uniform(0.6, 1.4, len(modes.parts) + 1)
            pick = int(rng.integers(len(modes.noises)))
            size = min(modes.full, n)
            # alike voices of about the same length (within 25 %) are made together; a
            # voice cut within its attack has a ramp of its own length: made on its own
            top = size >> max(0, size.bit_length() - 3)
            alone = size < attack_samples(sound.timbre.attack_ms)
            key = (id(modes), size.bit_length(), top) if not alone else (index, 0, -1)
            if key not in groups:
                groups[key] = (modes, sound.timbre.attack_ms, [], [], [], [])
            group = groups[key]
            group[2].append(index)
            group[3].append(weights)
            group[4].append(pick)
            group[5].append(size)
        for modes, attack_ms, rows, drawn, picks, sizes in groups.values():
            block = impact_rows(modes, attack_ms, np.array(drawn), picks, sizes)
            # a stem of its own still makes every voice, so the noise drawn stays the same
            made.append((block if solo in (None, "impacts") else block * 0.0, rows))
        return made

    sources: list[Source] = [(0, voice_pieces(allocate(voices, spec.voices), length, make))]
    if score.water is not None and solo in (None, "impacts"):  # pour, bubbles, slosh
        sources += water_sources(score.water, seed, length, time_map, impacts)
    if solo in (None, "scrapes"):
        sources += _contact_noise(length, score, spec, seed, time_map, materials or {})
    if spec.ambient is not None and solo in (None, "ambient"):
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
        centre = math.sqrt(scrape_hz(key[0], spec, materials) * scrape_hz(key[1], spec, materials))
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
