"""Physics from one track: free-flight arcs, the gravity they imply, and bounces.

Units are pixels and seconds, y down (so gravity is positive); the caller scales to
metres. An *impact* is where the second difference of the position jumps far above
gravity's; the measured points between impacts are *segments*, and a segment that
moves vertically is a free flight, fitted with a least-squares parabola whose curvature
is the gravity (its uncertainty from the fit's covariance). A flight in which gravity
changes part-way is split where two parabolas fit much better than one. At each impact
the paths on either side, extrapolated with the clip's gravity to the moment they
meet, give the velocities in and out, and the restitution is the ratio of their parts
along the velocity change (the surface's normal for a bounce).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .track import MEASURED, Track

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Segment:
    """Measured points of one track between impacts; ``g`` only for a free flight."""

    track: int
    first: int
    last: int
    """Frame numbers, inclusive."""
    flight: bool
    g: float = float("nan")
    """Vertical acceleration in px/s², down positive."""
    g_sigma: float = float("nan")
    ax: float = float("nan")
    coeffs_x: tuple[float, float, float] = (0.0, 0.0, 0.0)
    coeffs_y: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Parabola coefficients (highest power first) in seconds since frame ``first``."""
    changed: bool = False
    """Starts where gravity changed within a flight (not at an impact)."""
    slope: float = float("nan")
    """Degrees below horizontal of a steady acceleration that is not vertical (a body
    sliding or rolling down a slope): then no free flight, and ``g`` and ``ax`` are the
    acceleration's parts."""
    g_inner: float = float("nan")
    """``g`` fitted without the flight's first and last points: a flight whose end
    touches an unseen impact (two hits in consecutive frames, a kick from a body at
    rest in the background) changes it, a real change of gravity does not."""


@dataclass(frozen=True, slots=True)
class Impact:
    """A sudden change of velocity: a bounce (or a hit) between two segments."""

    track: int
    frame: int
    time: float
    """Seconds from the clip's start of the moment the two paths meet."""
    x: float
    y: float
    v_in: tuple[float, float]
    v_out: tuple[float, float]
    restitution: float
    """Outgoing over incoming speed along the change of velocity."""


def _runs(frames: FloatArray) -> list[tuple[int, int]]:
    """Index ranges [start, stop) of consecutive frame numbers."""
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    edges = [0, *breaks.tolist(), len(frames)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def points(track: Track) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Frames, x and y of the measured points clear of the picture's edge and of other
    objects (a body touching another is in no free flight)."""
    near = track.near or [False] * len(track.kind)
    keep = [
        i
        for i, (k, e, n) in enumerate(zip(track.kind, track.touches_edge, near, strict=True))
        if k == MEASURED and not e and not n
    ]
    f = np.array([track.frames[i] for i in keep], dtype=float)
    return f, np.array([track.x[i] for i in keep]), np.array([track.y[i] for i in keep])


def impact_frames(
    f: FloatArray, x: FloatArray, y: FloatArray, floor: float = 2.0
) -> list[list[int]]:
    """Groups of consecutive indices where the velocity jumps (each group one impact).

    A candidate is a second difference far above the run's noise (four robust sigmas)
    and ``floor`` (px a frame); or, since a contact between two frames splits its change
    of velocity over two second differences, two neighbouring ones whose sum is (their
    sum's noise is sqrt(4/6) of one's). It is kept when straight paths fitted on either
    side (gravity removed) differ in velocity by as much, so a lone bad centroid is not
    a bounce.
    """
    groups: list[list[int]] = []
    for a, b in _runs(f):
        if b - a < 3:
            continue
        ax = x[a : b - 2] - 2 * x[a + 1 : b - 1] + x[a + 2 : b]
        ay = y[a : b - 2] - 2 * y[a + 1 : b - 1] + y[a + 2 : b]
        base = float(np.median(ay))
        jump = np.hypot(ax, ay - base)
        sigma = 1.4826 * float(np.median(np.abs(jump - np.median(jump))))
        limit = max(floor, 4.0 * sigma)
        single = set(np.flatnonzero(jump > limit).tolist())
        pair = np.hypot(ax[:-1] + ax[1:], ay[:-1] + ay[1:] - 2 * base)
        for i in np.flatnonzero(pair > max(floor, 4.0 * 0.8165 * sigma)).tolist():
            if not single & {i - 1, i, i + 1, i + 2}:
                single |= {i, i + 1}
        found: list[list[int]] = []
        for i in sorted(single):
            index = a + 1 + i
            if found and index == found[-1][-1] + 1:
                found[-1].append(index)
            else:
                found.append([index])
        for group in found:
            before = np.arange(max(a, group[0] - 6), group[0] + 1)
            after = np.arange(group[-1], min(b, group[-1] + 7))
            if len(before) >= 3 and len(after) >= 3:
                n1, n2 = before - group[0], after - group[0]
                v1 = [np.polyfit(n1, c, 1)[0] for c in (x[before], y[before] - 0.5 * base * n1**2)]
                v2 = [np.polyfit(n2, c, 1)[0] for c in (x[after], y[after] - 0.5 * base * n2**2)]
                if float(np.hypot(v2[0] - v1[0], v2[1] - v1[1])) < max(floor, 4 * sigma):
                    continue
            groups.append(group)
    return groups


def impact_floor(track: Track) -> float:
    """The least change of velocity (px a frame) taken for an impact: a tenth of the
    body's diameter, at most 2 px (the floor set when bodies were 20 px and more across).

    A fixed floor in pixels hides the bounces of small bodies (a ball 9 px across at
    half size hops with 1.8 px a frame of change, which at full size is 3.6): the scale
    of a bounce is the body's, not the picture's. Above the floor the measured noise
    rules (four robust sigmas, ``impact_frames``).
    """
    return min(2.0, 0.1 * float(np.sqrt(4 * max(track.size, 1.0) / np.pi)))


def _fit(t: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    if len(t) > 4:
        coeffs, cov = np.polyfit(t, v, 2, cov=True)
        return coeffs, cov
    coeffs = np.polyfit(t, v, 2)
    return coeffs, np.full((3, 3), np.nan)


def segments(track: Track, fps: float, min_points: int = 6) -> list[Segment]:
    """The track's segments between impacts, with a parabola fitted to each flight."""
    f, x, y = points(track)
    if len(f) == 0:
        return []
    cut = {i for group in impact_frames(f, x, y, impact_floor(track)) for i in group}
    result = []
    for a, b in _runs(f):
        start = a
        for i in range(a, b + 1):
            if i == b or i in cut:
                lo, hi = max(start - 1, a), min(i + 1, b) if i < b else b
                if i > start and hi - lo >= 2:
                    result.extend(_segment(track, f[lo:hi], x[lo:hi], y[lo:hi], fps, min_points))
                start = i + 1
    return result


def _segment(
    track: Track, f: FloatArray, x: FloatArray, y: FloatArray, fps: float, min_points: int
) -> list[Segment]:
    size = float(np.sqrt(4 * max(track.size, 1.0) / np.pi))
    span = float(np.ptp(y))
    first, last = int(f[0]), int(f[-1])
    if len(f) < min_points or span < max(3.0, 0.3 * size):
        return [Segment(track.id, first, last, False)]
    t = (f - f[0]) / fps
    split = _change_point(t, y)
    if split is not None:
        return [
            *_segment(track, f[: split + 1], x[: split + 1], y[: split + 1], fps, min_points),
            *(
                dataclasses.replace(part, changed=part.changed or i == 0)
                for i, part in enumerate(
                    _segment(track, f[split:], x[split:], y[split:], fps, min_points)
                )
            ),
        ]
    cy, cov = _fit(t, y)
    cx, _ = _fit(t, x)
    rms = float(np.sqrt(np.mean((np.polyval(cy, t) - y) ** 2 + (np.polyval(cx, t) - x) ** 2)))
    if rms > max(1.0, 0.05 * size):
        return [Segment(track.id, first, last, False)]  # not one clean parabola
    sigma = 2 * float(np.sqrt(cov[0, 0])) if np.isfinite(cov[0, 0]) else float("nan")
    ay, ax = 2 * float(cy[0]), 2 * float(cx[0])
    if abs(ay) * float(t[-1]) ** 2 / 8 < 1.5:
        # the path bends off its chord by under 1.5 px: a body coasting (rolling along a
        # ramp at steady speed), or too short a hop to tell a curve from a line
        return [Segment(track.id, first, last, False)]
    if abs(ax) > 0.25 * abs(ay) and ay > 0 and len(f) >= 8:
        # speeding up sideways as well as down: on a slope, not in free flight
        angle = float(np.degrees(np.arctan2(ay, abs(ax))))
        return [Segment(track.id, first, last, False, ay, sigma, ax, slope=angle)]
    inner = 2 * float(np.polyfit(t[1:-1], y[1:-1], 2)[0]) if len(t) >= 8 else 2 * float(cy[0])
    return [
        Segment(
            track.id,
            first,
            last,
            True,
            2 * float(cy[0]),
            sigma,
            2 * float(cx[0]),
            (float(cx[0]), float(cx[1]), float(cx[2])),
            (float(cy[0]), float(cy[1]), float(cy[2])),
            g_inner=inner,
        )
    ]


def _sse(t: FloatArray, v: FloatArray) -> tuple[float, float]:
    coeffs = np.polyfit(t, v, 2)
    return float(np.sum((np.polyval(coeffs, t) - v) ** 2)), 2 * float(coeffs[0])


def _change_point(t: FloatArray, y: FloatArray, edge: int = 8) -> int | None:
    """The index where gravity changes within a flight, if two parabolas meeting there
    fit far better than one and their curvatures differ by more than 15 %."""
    n = len(t)
    if n < 2 * edge + 1:
        return None
    whole, _g = _sse(t, y)
    best, where, curvatures = np.inf, -1, (0.0, 0.0)
    for k in range(edge, n - edge):
        left, g1 = _sse(t[: k + 1], y[: k + 1])
        right, g2 = _sse(t[k:], y[k:])
        if left + right < best:
            best, where, curvatures = left + right, k, (g1, g2)
    noise = max(best / (n - 6), (0.05) ** 2)
    f_stat = (whole - best) / 3 / noise
    g1, g2 = curvatures
    left_rms = np.sqrt(_sse(t[: where + 1], y[: where + 1])[0] / (where + 1))
    right_rms = np.sqrt(_sse(t[where:], y[where:])[0] / (n - where))
    if max(left_rms, right_rms) > 1.0:
        return None  # neither side is a clean flight: an impact, not a change of gravity
    if f_stat > 30 and abs(g1 - g2) > 0.15 * max(abs(g1), abs(g2), 1e-9):
        return where
    return None


def impacts(track: Track, fps: float, gravity: float) -> list[Impact]:
    """Every impact of the track with both sides measured, and its restitution, the
    paths extrapolated with ``gravity`` (px/s², down positive)."""
    f, x, y = points(track)
    result = []
    groups = impact_frames(f, x, y, impact_floor(track))
    for n, group in enumerate(groups):
        # up to 8 points a side, never across a neighbouring impact or a gap
        low = max(group[0] - 8, groups[n - 1][-1] if n else 0)
        high = min(group[-1] + 9, groups[n + 1][0] + 1 if n + 1 < len(groups) else len(f))
        before = [i for i in range(low, group[0] + 1) if f[group[0]] - f[i] == group[0] - i]
        after = [i for i in range(group[-1], high) if f[i] - f[group[-1]] == i - group[-1]]
        if len(before) < 3 or len(after) < 3:
            continue
        hit = _meet(
            f[before] / fps, x[before], y[before], f[after] / fps, x[after], y[after], gravity
        )
        if hit is None:
            continue
        when, px, py, v_in, v_out = hit
        change = np.subtract(v_out, v_in)
        normal = change / max(float(np.hypot(*change)), 1e-9)
        incoming = -float(np.dot(v_in, normal))
        if incoming < 2.0 * fps:
            continue  # under 2 px a frame: too slow to measure a ratio of speeds
        e = float(np.dot(v_out, normal)) / incoming
        frame = int(np.ceil(when * fps - 1e-6))  # the first frame after the contact
        result.append(Impact(track.id, frame, when, px, py, v_in, v_out, e))
    return result


Meeting = tuple[float, float, float, tuple[float, float], tuple[float, float]]


def _meet(
    t1: FloatArray,
    x1: FloatArray,
    y1: FloatArray,
    t2: FloatArray,
    x2: FloatArray,
    y2: FloatArray,
    g: float,
) -> Meeting | None:
    """Where and when two paths of known acceleration (0, g) meet, and their velocities."""
    line1 = [np.polyfit(t1, v, 1) for v in (x1, y1 - 0.5 * g * t1**2)]
    line2 = [np.polyfit(t2, v, 1) for v in (x2, y2 - 0.5 * g * t2**2)]
    d0 = np.array([line1[k][1] - line2[k][1] for k in range(2)])
    dv = np.array([line1[k][0] - line2[k][0] for k in range(2)])
    if float(dv @ dv) < 1e-12:
        return None
    when = float(np.clip(-(d0 @ dv) / (dv @ dv), t1[-1], t2[0]))
    v_in = (float(line1[0][0]), float(line1[1][0] + g * when))
    v_out = (float(line2[0][0]), float(line2[1][0] + g * when))
    px = float(np.polyval(line1[0], when))
    py = float(np.polyval(line1[1], when) + 0.5 * g * when**2)
    return when, px, py, v_in, v_out


def clip_gravity(flights: list[Segment]) -> tuple[float, float]:
    """The clip's gravity (px/s²) and its uncertainty: the median of the flights' values
    weighted by their length, the spread of the good ones as the error."""
    usable = [s for s in flights if s.flight and s.last - s.first >= 7 and np.isfinite(s.g)]
    if not usable:
        return float("nan"), float("nan")
    values = np.array([s.g for s in usable])
    weights = np.array([s.last - s.first + 1 for s in usable], dtype=float)
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    g = float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    sigmas = np.array([s.g_sigma for s in usable])
    good = np.abs(values - g) <= np.maximum(0.1 * abs(g), 4 * np.nan_to_num(sigmas, nan=0.0))
    if good.sum() >= 1 and np.all(np.isfinite(sigmas[good])):
        w = weights[good] / np.maximum(sigmas[good], 1e-9) ** 2
        g = float(np.sum(values[good] * w) / np.sum(w))
        sigma = float(np.sqrt(1 / np.sum(w)))
        if good.sum() > 1:
            sigma = max(sigma, float(np.std(values[good], ddof=1) / np.sqrt(good.sum())))
        return g, sigma
    return g, float("nan")


@dataclass(frozen=True, slots=True)
class Collision:
    """Two objects' impacts at the same moment, side by side: a hit between them."""

    first: int
    second: int
    frame: int
    masses: tuple[float, float]
    """Relative masses: their areas (one density, a 2D picture)."""
    momentum_change: float
    """|p_out − p_in| over the momentum the two brought (m1|v1| + m2|v2|)."""


def _velocity(s: Segment, frame: float, fps: float) -> FloatArray:
    """A flight's velocity (px/s) at ``frame``, carried along its parabola."""
    t = (frame - s.first) / fps
    return np.array([2 * s.coeffs_x[0] * t + s.coeffs_x[1], 2 * s.coeffs_y[0] * t + s.coeffs_y[1]])


def _gaps(flights: list[Segment], longest: int) -> dict[int, list[tuple[Segment, Segment]]]:
    """Per track, consecutive flights with at most ``longest`` frames between them."""
    by_track: dict[int, list[Segment]] = {}
    for s in sorted(flights, key=lambda s: (s.track, s.first)):
        by_track.setdefault(s.track, []).append(s)
    return {
        k: [(a, b) for a, b in itertools.pairwise(v) if 0 < b.first - a.last <= longest]
        for k, v in by_track.items()
    }


def _place(s: Segment, frame: float, fps: float) -> FloatArray:
    t = (frame - s.first) / fps
    return np.array([np.polyval(s.coeffs_x, t), np.polyval(s.coeffs_y, t)])


def collisions(
    flights: list[Segment], areas: dict[int, float], fps: float, longest: int = 8
) -> list[Collision]:
    """Hits between two objects: both fly before and after the same short gap (the
    frames they touched, left out of the flights), so each one's velocity in and out is
    its parabolas carried to the gap's middle; the change of their total momentum, with
    masses taken as their areas (only bodies of one material, one density, compare).

    >>> a = Segment(0, 0, 9, True, coeffs_x=(0.0, 20.0, 0.0), coeffs_y=(0.0, 0.0, 0.0))
    >>> b = Segment(0, 12, 20, True, coeffs_x=(0.0, 0.0, 0.0), coeffs_y=(0.0, 0.0, 0.0))
    >>> c = Segment(1, 0, 9, True, coeffs_x=(0.0, 0.0, 0.0), coeffs_y=(0.0, 0.0, 0.0))
    >>> d = Segment(1, 12, 20, True, coeffs_x=(0.0, 20.0, 0.0), coeffs_y=(0.0, 0.0, 0.0))
    >>> collisions([a, b, c, d], {0: 50.0, 1: 50.0}, 30.0)[0].momentum_change
    0.0
    """
    gaps = _gaps(flights, longest)
    found = []
    tracks = sorted(gaps)
    for n, one in enumerate(tracks):
        for other in tracks[n + 1 :]:
            for a_in, a_out in gaps[one]:
                for b_in, b_out in gaps[other]:
                    if abs(a_in.last - b_in.last) > 2 or abs(a_out.first - b_out.first) > 2:
                        continue
                    mid = 0.25 * (a_in.last + a_out.first + b_in.last + b_out.first)
                    m1, m2 = areas[one], areas[other]
                    # where the paths in and out meet: the two must touch there
                    reach = 1.2 * float(np.sqrt(m1 / np.pi) + np.sqrt(m2 / np.pi)) + 4
                    here = [_place(x, mid, fps) for x in (a_in, a_out, b_in, b_out)]
                    apart = float(np.hypot(*(here[0] + here[1] - here[2] - here[3]))) / 2
                    if apart > reach:
                        continue
                    v1, w1 = _velocity(a_in, mid, fps), _velocity(a_out, mid, fps)
                    v2, w2 = _velocity(b_in, mid, fps), _velocity(b_out, mid, fps)
                    brought = m1 * float(np.hypot(*v1)) + m2 * float(np.hypot(*v2))
                    if brought <= 0:
                        continue
                    change = float(np.hypot(*(m1 * w1 + m2 * w2 - m1 * v1 - m2 * v2)) / brought)
                    found.append(Collision(one, other, round(mid), (m1, m2), change))
    return found
