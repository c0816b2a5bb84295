"""Mixing: voice budget, panning, a look-ahead limiter and loudness normalisation.

The budget keeps at most N voices sounding; when a new one would exceed it,
whichever is quietest at that moment (the newcomer included) is dropped, a
sounding voice with a 5 ms fade. The limiter is offline and zero-latency: its
gain at each sample is a smoothed minimum of the gain needed around it, so it
starts to act before a peak and never lets one through. Normalisation brings
the integrated loudness (BS.1770) to the target, re-measured after limiting.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import numpy as np
from scipy import ndimage

from .dsp import (
    BLOCK,
    PEAK_MARGIN,
    RATE,
    Audio,
    Audio32,
    LoudnessMeter,
    Samples,
    TruePeakMeter,
    integrated_loudness,
)
from .finish import Highpass, fades

FADE = int(0.005 * RATE)


class Voice(NamedTuple):
    """One sound placed on the timeline; its waveform is made only if it survives the budget.
    (A named tuple: a pile makes 70 000 of them, and a frozen dataclass costs 5x to build.)"""

    start: int
    """First sample."""
    length: int
    gain: float
    pan: float
    """-1 left … +1 right."""
    ring: float
    """Seconds to fall 60 dB: how fast it gets quieter, for the budget."""
    order: int
    """Stable tie-breaker, and the key its maker uses to build the waveform."""


def allocate(voices: list[Voice], budget: int, floor_db: float = -60.0) -> list[tuple[Voice, int]]:
    """Apply the voice budget; returns (voice, samples kept) for the voices that play.

    Voices more than ``-floor_db`` below the loudest are dropped first: after
    normalisation they would be far below hearing, and it saves making them.
    """
    if not voices:
        return []
    loudest = max(v.gain for v in voices)
    floor = loudest * 10 ** (floor_db / 20)
    voices = [v for v in voices if v.gain >= floor]
    # in order of (start, -gain, order), ties as given: a stable sort on arrays
    key = np.lexsort((
        np.array([v.order for v in voices], dtype=np.int64),
        -np.array([v.gain for v in voices]),
        np.array([v.start for v in voices], dtype=np.int64),
    ))  # fmt: skip
    # Each slot's level in dB at sample t is intercept - slope·t (a straight decay in dB).
    intercept = np.zeros(budget)
    slope = np.zeros(budget)
    slot_kept = [-1] * budget
    # Slots by when they fall silent (end, slot, turn; an entry is stale once its slot is
    # taken again) and, once silent, by number: the lowest free slot is taken first.
    ends = [(-1, slot, 0) for slot in range(budget)]
    turns = [0] * budget
    free: list[int] = []
    kept: list[list[Any]] = []  # [voice, end]: a list, as the end may be cut short later
    for index in key.tolist():
        voice = voices[index]
        t = voice.start
        while ends and ends[0][0] <= t:
            _end, slot, turn = heapq.heappop(ends)
            if turn == turns[slot]:
                heapq.heappush(free, slot)
        gain_db = 20 * math.log10(voice.gain)
        if free:
            slot = heapq.heappop(free)
        else:
            now = intercept - slope * t
            slot = int(now.argmin())
            if now[slot] >= gain_db:
                continue
            victim = kept[slot_kept[slot]]
            victim[1] = min(victim[1], max(t, victim[0].start) + FADE)
        slope[slot] = 60.0 / (max(voice.ring, 1e-3) * RATE)
        intercept[slot] = gain_db + slope[slot] * t
        turns[slot] += 1
        heapq.heappush(ends, (t + voice.length, slot, turns[slot]))
        slot_kept[slot] = len(kept)
        kept.append([voice, t + voice.length])
    return [(v, end - v.start) for v, end in kept if end > v.start]


Piece = tuple[int, Audio, Audio]
"""A stereo sound placed on the track: (first sample, left, right)."""


Made = list[tuple[Audio, list[int]]]
"""The waves of a batch of voices: blocks of rows (unit level, one voice a row, all as
long as the block, which may be longer than the voice keeps), with the index in the
batch of each row's voice."""
BATCH_SAMPLES = 1 << 19
"""Voices made at once, in samples (4 MB a block): enough to batch a pile's alike hits."""


def voice_pieces(
    voices: list[tuple[Voice, int]],
    length: int,
    make: Callable[[list[tuple[Voice, int]]], Made],
    batch: int = BATCH_SAMPLES,
) -> Iterator[Piece]:
    """The voices as stereo pieces (equal-power pan), in order of start.

    ``make(voices)`` builds the waveforms of a batch of (voice, n) (the first n samples
    at unit level); it is called with the voices in this order, a batch at a time,
    only when the mix reaches the batch. Gain, cut and pan are applied a block at a
    time, each sample by the same operations as one voice at a time.
    """
    todo = []
    for voice, keep in sorted(voices, key=lambda kept: kept[0].start):
        n = min(keep, voice.length, length - voice.start)
        if n > 0:
            todo.append((voice, keep, n))
    first = 0
    while first < len(todo):
        last, size = first, 0
        while last < len(todo) and (last == first or size + todo[last][2] <= batch):
            size += todo[last][2]
            last += 1
        chunk = todo[first:last]
        first = last
        pieces: list[Piece | None] = [None] * len(chunk)
        for block, rows in make([(voice, n) for voice, _keep, n in chunk]):
            pieces_of(block, [chunk[row] for row in rows], rows, pieces)
        for piece in pieces:
            assert piece is not None, "make() returned a wave for every voice"
            yield piece


def pieces_of(
    block: Audio, voices: list[tuple[Voice, int, int]], rows: list[int], pieces: list[Piece | None]
) -> None:
    """Fill ``pieces[rows[i]]`` with row i of ``block`` placed: its first n samples times
    its gain, faded out if the budget cut it (``keep`` before its end), panned."""
    gains = np.array([voice.gain for voice, _keep, _n in voices])
    waves = block * gains[:, None]
    for wave, (voice, keep, n) in zip(waves, voices, strict=True):
        if keep < voice.length:
            fade = min(FADE, n)
            wave[n - fade : n] *= _FADE_OUT[FADE - fade :]
    angles = [(min(max(voice.pan, -1.0), 1.0) + 1) * math.pi / 4 for voice, _k, _n in voices]
    left = waves * np.array([math.cos(angle) for angle in angles])[:, None]
    right = waves * np.array([math.sin(angle) for angle in angles])[:, None]
    for i, (voice, _keep, n) in enumerate(voices):
        pieces[rows[i]] = (voice.start, left[i, :n], right[i, :n])


_FADE_OUT = np.linspace(1.0, 0.0, FADE)


Source = tuple[int, Iterator[Piece]]
"""Pieces in order of start, and the first start: the mix starts the iterator only then."""


def mix_windows(sources: list[Source], length: int, window: int = BLOCK) -> Iterator[Audio32]:
    """Sum the sources into a float32 stereo track of ``length`` samples, a window at a time.

    Each source yields pieces in order of start (they may overlap). A piece that
    runs past a window is carried into the next, and every sample receives its
    pieces in the order of the sources and, within a source, of the pieces, so
    the sum is the same, bit for bit, whatever the window. Memory follows the
    sounds ringing at once, not the length of the track.
    """
    ahead: list[Piece | None] = [None] * len(sources)
    started = [False] * len(sources)
    ringing: list[list[Piece]] = [[] for _ in sources]
    for w0 in range(0, length, window):
        w1 = min(length, w0 + window)
        out = np.zeros((w1 - w0, 2), dtype=np.float32)  # 24-bit output: float32 is plenty
        for index, (first, pieces) in enumerate(sources):
            if not started[index]:
                if first >= w1:
                    continue
                started[index], ahead[index] = True, next(pieces, None)
            still: list[Piece] = []
            for carried in ringing[index]:
                rest = _add_before(out, w0, w1, carried)
                if rest is not None:
                    still.append(rest)
            while (piece := ahead[index]) is not None and piece[0] < w1:
                rest = _add_before(out, w0, w1, piece)
                if rest is not None:
                    still.append(rest)
                ahead[index] = next(pieces, None)
            ringing[index] = still
        yield out


def _add_before(out: Audio32, w0: int, w1: int, piece: Piece) -> Piece | None:
    """Add the part of ``piece`` before sample ``w1`` to ``out`` (which starts at ``w0``);
    return the rest, if any."""
    start, left, right = piece
    assert start >= w0, "a source's pieces come in order of start, from its first start"
    n = min(len(left), w1 - start)
    if n > 0:
        out[start - w0 : start - w0 + n, 0] += left[:n]
        out[start - w0 : start - w0 + n, 1] += right[:n]
    if n >= len(left):
        return None
    n = max(n, 0)
    return start + n, left[n:], right[n:]


MAX_LIMITING_DB = 24.0
"""Most gain the loudness search adds beyond plain normalisation, for the limiter to take:
a track shorter than BS.1770's 400 ms block never measures as loud as the target, and
without a bound the search would push it to absurd gains."""
HOLD_MS, RELEASE_MS = 1.5, 12.0
LIMIT_MARGIN = 4 * int((HOLD_MS + RELEASE_MS) * 1e-3 * RATE) + PEAK_MARGIN


def limited_blocks(
    audio: Samples, ceiling: float, gain: float = 1.0
) -> Iterator[tuple[int, int, int, Audio]]:
    """``audio`` times ``gain``, peak-limited to ``ceiling`` (linear), block by block.

    Yields (start, stop, context_start, context): ``context`` is the limited
    signal from ``context_start``, covering [start, stop) plus up to
    ``PEAK_MARGIN`` samples each side (for true-peak oversampling). The needed
    gain is held (running minimum) over ±hold and then averaged over a window
    no wider than the hold, so the result never exceeds the need (no
    overshoot, no delay); a slower hold-and-average gives a smooth release.
    The caller may overwrite ``audio[start:stop]`` after each block: the
    original samples the next block looks back on are kept.
    """
    saved: np.ndarray | None = None
    for start in range(0, len(audio), BLOCK):
        lo = max(0, start - LIMIT_MARGIN)
        hi = min(len(audio), start + BLOCK + LIMIT_MARGIN)
        stop = min(start + BLOCK, len(audio))
        chunk = np.array(audio[lo:hi], dtype=np.float64)
        if saved is not None:
            chunk[: start - lo] = saved[len(saved) - (start - lo) :]
        saved = chunk[stop - lo - LIMIT_MARGIN : stop - lo].copy() if stop < len(audio) else None
        chunk *= gain
        peak = np.abs(chunk).max(axis=1)
        smooth = np.where(peak > ceiling, ceiling / np.maximum(peak, 1e-30), 1.0)
        if smooth.min() < 1.0:
            for ms in (RELEASE_MS, HOLD_MS):
                half = max(1, int(ms * 1e-3 * RATE))
                held = ndimage.minimum_filter1d(smooth, 2 * half + 1, mode="nearest")
                averaged = ndimage.uniform_filter1d(held, half + 1, mode="nearest")
                smooth = np.minimum(averaged, smooth)
        c0 = max(lo, start - PEAK_MARGIN)
        c1 = min(hi, stop + PEAK_MARGIN)
        yield start, stop, c0, chunk[c0 - lo : c1 - lo] * smooth[c0 - lo : c1 - lo, None]


def limit(audio: Audio, ceiling: float, gain: float = 1.0) -> Audio:
    """The limited signal as a new array (see ``limited_blocks``)."""
    out = np.empty_like(audio)
    for start, stop, c0, context in limited_blocks(audio, ceiling, gain):
        out[start:stop] = context[start - c0 : stop - c0]
    return out


def _bedded(
    audio: Samples, ceiling: float, gain: float, beds: Iterator[Audio32] | None
) -> Iterator[tuple[int, int, int, Audio]]:
    """``limited_blocks`` with the bed's blocks added (context kept around each block)."""
    for start, stop, c0, context in limited_blocks(audio, ceiling, gain):
        if beds is not None:
            context = context.copy()
            context[start - c0 : stop - c0] += next(beds)
        yield start, stop, c0, context


class _Ahead:
    """A stream of ``BLOCK``-sample blocks read like an array, for ``limited_blocks``: it
    asks, in order, for a block and ``LIMIT_MARGIN`` samples around it, so only the
    blocks that reach back that far are kept."""

    def __init__(self, blocks: Iterator[tuple[int, Audio32]], shape: tuple[int, int]) -> None:
        self._blocks, self.shape = blocks, shape
        self._held: list[tuple[int, Audio32]] = []

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: slice) -> Audio32:
        lo, hi, _step = key.indices(self.shape[0])
        while not self._held or self._held[-1][0] + len(self._held[-1][1]) < hi:
            self._held.append(next(self._blocks))
        self._held = [(at, b) for at, b in self._held if at + len(b) > lo]
        first = self._held[0][0]
        return np.concatenate([b for _at, b in self._held])[lo - first : hi - first]


def _finished(
    audio: Samples, ceiling: float, gain: float, beds: Iterator[Audio32] | None, final: float
) -> Iterator[tuple[int, Audio32]]:
    """(start, block) of the master: limited, the bed added, times ``final``, and then
    the high-pass and fades again. The limiter's gain riding on strong lows makes
    infrasound of its own (a limited 40 Hz thump has sidebands near 0 Hz): the same
    high-pass removes it, and the fades make the ends exactly zero once more.

    Removing it moves the waveform, though: on a thump limited by 20 dB the high-pass
    puts back a slow swing that stood 2.6 dB over the ceiling (walker_on_hill), and
    lowering the ceiling by that much cost the loudness target. So the high-passed
    track is limited once more, to the same ceiling, and high-passed again: this second
    limiter only shaves those swings, by a dB or two, and the infrasound it makes is
    that much smaller (what is left over the ceiling is a few tenths of a dB)."""
    first, second = Highpass(audio.shape[1]), Highpass(audio.shape[1])
    once = (
        (start, first(context[start - c0 : stop - c0] * final))
        for start, stop, c0, context in _bedded(audio, ceiling, gain, beds)
    )
    ahead = cast(Samples, _Ahead(once, audio.shape))  # read like an array, as a SpilledTrack is
    for start, stop, c0, context in limited_blocks(ahead, ceiling * final):
        block = second(context[start - c0 : stop - c0])
        fade = fades(start, len(block), len(audio))
        yield start, block if fade is None else block * fade[:, None].astype(np.float32)


def _measure(
    audio: Samples, ceiling: float, gain: float, beds: Iterator[Audio32] | None
) -> tuple[float, float]:
    """(loudness LUFS, linear true peak) of the master at ``gain``, without storing it
    (exactly what the final pass will make, but for the final trim)."""
    meter, peaks = LoudnessMeter(audio.shape[1]), TruePeakMeter()
    for _start, block in _finished(audio, ceiling, gain, beds, 1.0):
        meter.add(block)
        peaks.add(block)
    peak_db = peaks.value()
    return meter.value(), 10 ** (peak_db / 20) if math.isfinite(peak_db) else 0.0


@dataclass(frozen=True, slots=True)
class Levels:
    """What the master stage measured: loudness, true peak, the gain it applied."""

    loudness: float
    true_peak: float
    gain_db: float
    encoded_true_peak: float | None = None
    """True peak (dBTP) of the track once encoded for delivery (AAC), when measured."""
    after_limiter_db: float = 0.0
    """The part of ``gain_db`` applied after the limiter (its trim and the master gain)."""
    bed_loudness: float | None = None
    """The loudness (LUFS, before ``after_limiter_db``) the bed was asked to sit under."""


Bed = Callable[[int, float], Iterator[Audio32]]
"""(samples, loudness LUFS) → a quiet bed of that loudness, in ``BLOCK``-sample blocks."""


def master(
    audio: Samples,
    target: float | None,
    peak_db: float,
    gain_db: float = 0.0,
    emit: Callable[[int, Audio32], None] | None = None,
    bed: Bed | None = None,
    measured: float | None = None,
) -> Levels:
    """Normalise to ``target`` LUFS (None: keep the level), limit to ``peak_db`` dBTP.

    ``bed`` (a room tone, far under the track) is added after the limiter, at the
    loudness it asks relative to the target (or, without one, to the track's), whatever
    gain the track needed; the trials include it, as it moves the gated loudness of a
    sparse track (more 400 ms blocks pass the -70 LUFS gate).
    ``audio`` is read block by block, several times: trial gains are measured
    without keeping the result, and only the final one is passed, block by
    block in order, to ``emit(start, block)`` (float32); without ``emit`` it is
    written back into ``audio``. So a long track needs one buffer, or none when
    ``audio`` is read from disk. The levels are measured on the emitted blocks.
    """
    if emit is None:

        def emit(start: int, block: Audio32) -> None:
            audio[start : start + len(block)] = block

    meter, peak_meter = LoudnessMeter(audio.shape[1]), TruePeakMeter()

    def out(start: int, block: Samples) -> None:
        block = np.asarray(block, dtype=np.float32)
        meter.add(block)
        peak_meter.add(block)
        emit(start, block)

    if measured is None:  # ``measured``: the caller knows it already (a master again)
        measured = integrated_loudness(audio)
    if not math.isfinite(measured):  # silence: nothing to normalise
        for start in range(0, len(audio), BLOCK):
            out(start, audio[start : start + BLOCK])
        return Levels(meter.value(), peak_meter.value(), 0.0)
    ceiling = 10 ** ((peak_db - 0.3) / 20)
    floor = 10 ** ((peak_db - 12.0) / 20)
    gain = 0.0 if target is None else target - measured
    under = measured if target is None else target

    def beds() -> Iterator[Audio32] | None:
        return None if bed is None else bed(len(audio), under)

    most = gain + MAX_LIMITING_DB
    trim = 1.0
    previous: tuple[float, float] | None = None

    def trial(gain: float) -> tuple[float, float]:
        """(loudness, trim) at ``gain``: the trim brings a true peak still over the
        ceiling (the oversampled peak between samples) under it.

        What follows the limiter (the infrasound high-pass, the fades) can overshoot
        its ceiling by a constant amount for a clip (a high-passed thump rings past its
        peak); trimming that off afterwards would cost loudness the search cannot win
        back, so the limiter's own ceiling is lowered by the overshoot first (at most
        three times a trial, never below 12 dB under the asked peak)."""
        nonlocal ceiling
        for _ in range(3):
            loudness, peak = _measure(audio, ceiling, 10 ** (gain / 20), beds())
            tp = 20 * math.log10(peak) if peak > 0 else -math.inf
            over = tp - peak_db
            if over <= 0 or ceiling <= floor:
                break
            ceiling = max(floor, ceiling * 10 ** (-(over + 0.05) / 20))
        trim = 10 ** ((peak_db - 0.05 - tp) / 20) if tp > peak_db else 1.0
        return loudness + 20 * math.log10(trim), trim

    # The closest trial so far, with the limiter ceiling it ran at: (miss, gain, trim, ceiling)
    best = (math.inf, gain, trim, ceiling)

    def tried(gain: float) -> tuple[float, float]:
        """``trial(gain)``, kept in ``best`` if it is the closest so far."""
        nonlocal best
        loudness, trim = trial(gain)
        if target is not None and abs(target - loudness) < best[0]:
            best = (abs(target - loudness), gain, trim, ceiling)
        return loudness, trim

    for _ in range(12):
        loudness, trim = tried(gain)
        if target is None:
            break
        error = target - loudness
        if abs(error) < 0.05:
            break
        # Under heavy limiting a dB of gain buys less than a dB of loudness: secant step.
        slope = 1.0
        if previous is not None and gain != previous[0]:
            slope = min(max((loudness - previous[1]) / (gain - previous[0]), 0.05), 1.0)
        previous = (gain, loudness)
        step = min(gain + min(error / slope, 24.0), most)
        if step == gain:  # as loud as limiting can make it without crushing it
            break
        gain = step
    else:  # out of tries: measure where the search stopped
        tried(gain)
    if target is not None and best[0] >= 0.05:
        # Heavy limiting can make loudness fall as the gain rises (the limiter pumps and the
        # trim for inter-sample peaks grows), and the secant steps lose their way: search
        # around the closest trial in halving steps, and keep the closest of all.
        for step in (2.0, 1.0, 0.5, 0.25, 0.125):
            for candidate in (best[1] - step, best[1] + step):
                if candidate <= most:
                    tried(candidate)
            if best[0] < 0.05:
                break
    if target is not None:  # the closest trial, at the ceiling it was measured with
        _miss, gain, trim, ceiling = best
    final = trim * 10 ** (gain_db / 20)
    for start, block in _finished(audio, ceiling, 10 ** (gain / 20), beds(), final):
        out(start, block)
    after = 20 * math.log10(trim) + gain_db
    return Levels(meter.value(), peak_meter.value(), gain + after, None, after, under)
