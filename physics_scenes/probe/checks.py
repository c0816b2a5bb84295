"""What no rigid body does: the violations the probe reports, each at a frame.

Gravity that differs between flights or changes within one, a bounce that returns more
speed than it received (restitution above 1: the body gains height), an object that
vanishes, appears or teleports away from the picture's edge, one whose silhouette grows
or shrinks (a rigid body's area is constant in a 2D picture), and two objects whose
union is smaller than their two areas (one passes through the other).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .detect import Color
from .estimate import Impact, Segment
from .track import MEASURED, MERGED, PREDICTED, Track


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing that breaks physics, where and when, said in a sentence."""

    frame: int
    kind: str
    """One of ``KINDS``."""
    objects: tuple[int, ...]
    message: str
    value: float = float("nan")


KINDS = (
    "gravity",
    "restitution",
    "vanish",
    "appear",
    "teleport",
    "size",
    "overlap",
    "merge",
    "split",
)

_NAMES: dict[str, Color] = {
    "red": (220, 40, 40),
    "orange": (235, 120, 40),
    "yellow": (230, 210, 50),
    "green": (60, 180, 70),
    "cyan": (60, 200, 210),
    "blue": (50, 90, 220),
    "purple": (140, 70, 200),
    "pink": (230, 110, 180),
    "white": (235, 235, 235),
    "grey": (128, 128, 128),
    "black": (20, 20, 20),
    "brown": (130, 80, 40),
}


def color_name(color: Color) -> str:
    """The nearest of a few plain colour names.

    >>> color_name((250, 30, 20))
    'red'
    """
    return min(_NAMES, key=lambda name: _distance(_NAMES[name], color))


def _distance(a: Color, b: Color) -> int:
    return sum((p - q) ** 2 for p, q in zip(a, b, strict=True))


def names(tracks: list[Track]) -> dict[int, str]:
    """'the red ball'-style names: colour plus a number when a colour repeats."""
    plain = {t.id: color_name(t.color) for t in tracks}
    counts: dict[str, int] = {}
    result = {}
    for t in tracks:
        word = plain[t.id]
        if list(plain.values()).count(word) > 1:
            counts[word] = counts.get(word, 0) + 1
            word = f"{word} #{counts[word]}"
        result[t.id] = f"the {word} object"
    return result


def diameter(track: Track) -> float:
    return float(np.sqrt(4 * max(track.size, 1.0) / np.pi))


def moving(track: Track) -> bool:
    """Whether a track moves at all (a ghost left where a resting body was does not)."""
    xs = [x for x, k in zip(track.x, track.kind, strict=True) if k == MEASURED]
    ys = [y for y, k in zip(track.y, track.kind, strict=True) if k == MEASURED]
    if len(xs) < 3:
        return False
    return float(np.hypot(np.ptp(xs), np.ptp(ys))) > max(0.5 * diameter(track), 4.0)


def _speed_at_end(track: Track) -> float:
    idx = [i for i, k in enumerate(track.kind) if k == MEASURED][-4:]
    if len(idx) < 2:
        return 0.0
    span = track.frames[idx[-1]] - track.frames[idx[0]]
    dist = np.hypot(track.x[idx[-1]] - track.x[idx[0]], track.y[idx[-1]] - track.y[idx[0]])
    return float(dist / max(span, 1))


def gravity(
    flights: list[Segment], g: float, g_sigma: float, name: dict[int, str], scale: float | None
) -> list[Violation]:
    """Flights whose gravity differs from the clip's by over 15 % and five sigmas, and
    flights in which it changes."""
    if not np.isfinite(g):
        return []
    found = []
    by_track: dict[int, list[Segment]] = {}
    for s in flights:
        by_track.setdefault(s.track, []).append(s)
    for track, items in by_track.items():
        for before, after in itertools.pairwise(items):
            if after.changed and after.last - after.first >= 7 and _differs(after, before.g):
                found.append(
                    Violation(
                        after.first,
                        "gravity",
                        (track,),
                        f"frame {after.first}: gravity on {name[track]} changes in flight from "
                        f"{_accel(before.g, scale)} to {_accel(after.g, scale)}",
                        after.g / g,
                    )
                )
        for s in items:
            if (
                s.last - s.first >= 7
                and _differs(s, g)
                and not any(v.objects == (track,) and v.frame == s.first for v in found)
            ):
                found.append(
                    Violation(
                        s.first,
                        "gravity",
                        (track,),
                        f"frame {s.first}: {name[track]} falls with {_accel(s.g, scale)}, the rest "
                        f"of the clip with {_accel(g, scale)} ({s.g / g:.2f}x)",
                        s.g / g,
                    )
                )
    return found


def _differs(s: Segment, g: float) -> bool:
    """Over 15 % and five sigmas off, with and without the flight's end points."""
    sigma = s.g_sigma if np.isfinite(s.g_sigma) else 0.0
    limit = max(0.15 * abs(g), 5 * sigma)
    inner = s.g_inner if np.isfinite(s.g_inner) else s.g
    return abs(s.g - g) > limit and abs(inner - g) > limit


def _accel(value: float, scale: float | None) -> str:
    if scale:
        return f"{value * scale:.2f} m/s²"
    return f"{value:.0f} px/s²"


def restitution(
    hits: list[Impact], tracks: dict[int, Track], name: dict[int, str], limit: float = 1.05
) -> tuple[list[Impact], list[Violation]]:
    """Bounces off the scenery (no other object near), and those with restitution over
    ``limit``: the body leaves faster than it came."""
    bounces = [h for h in hits if h.restitution >= 0 and not _near_other(h, tracks)]
    found = []
    for h in bounces:
        if h.restitution > limit:
            gain = h.restitution**2 - 1
            found.append(
                Violation(
                    h.frame,
                    "restitution",
                    (h.track,),
                    f"frame {h.frame}: {name[h.track]} gains {gain:.0%} height after a bounce — "
                    f"restitution {h.restitution:.2f}",
                    h.restitution,
                )
            )
    return bounces, found


def _near_other(hit: Impact, tracks: dict[int, Track]) -> bool:
    """Whether another object is within about a radius of touching at the impact (then
    it is a hit between two objects, not a bounce off the scenery)."""
    me = tracks[hit.track]
    for other in tracks.values():
        if other.id == me.id:
            continue
        reach = diameter(me) + diameter(other)
        for frame in (hit.frame - 1, hit.frame, hit.frame + 1):
            if frame in other.frames:
                i = other.frames.index(frame)
                if np.hypot(other.x[i] - hit.x, other.y[i] - hit.y) < reach:
                    return True
    return False


def permanence(
    tracks: list[Track],
    last_frame: int,
    width: int,
    height: int,
    name: dict[int, str],
    patience: int,
    everything: list[Track] | None = None,
) -> list[Violation]:
    """Vanishing (for good or for a few frames), appearing and teleporting objects.
    ``everything`` holds the still tracks too: an object that appears beside one (the
    ghost a resting body leaves when it starts to move) has not come from nowhere."""
    found: list[Violation] = []
    ends: list[tuple[Track, int, bool]] = []
    starts: list[tuple[Track, int]] = []
    for t in tracks:
        d = diameter(t)

        def inner(x: float, y: float, d: float = d) -> bool:
            return d < x < width - d and d < y < height - d

        first, last = t.frames[0], t.frames[-1]
        # (at the edge of the picture, or of what a moving camera saw: came into view)
        if first > 0 and inner(t.x[0], t.y[0]) and not any(t.touches_edge[:2]):
            starts.append((t, first))
        tail_merged = t.kind[-1] == MERGED
        stopped = _speed_at_end(t) <= 0.3
        # a track lost in a blob with room for it, or rolling slowly in a pile (where
        # the background model, sampled while bodies rested, loses them): nothing says
        # the body is gone
        piled = bool(t.near) and any(t.near[-3:]) and _speed_at_end(t) < 0.25 * d
        hidden = tail_merged or t.lost_covered or piled or stopped
        if last < last_frame and inner(t.x[-1], t.y[-1]) and not any(t.touches_edge[-2:]):
            # a hidden end is no vanish, but it may still be half of a teleport
            ends.append((t, last + 1, hidden))
        gap, begun = 0, 0
        for i, kind in enumerate(t.kind):
            if kind == PREDICTED:
                slow = i >= 2 and np.hypot(t.x[i] - t.x[i - 1], t.y[i] - t.y[i - 1]) < 0.25 * d
                piled = bool(t.near) and t.near[i] and slow
                if not t.covered[i] and not piled:  # on a blob: hidden, not gone
                    begun = i if gap == 0 else begun
                    gap += 1
                continue
            if gap >= 2 and inner(t.x[i], t.y[i]):
                frame = t.frames[begun]
                found.append(
                    Violation(
                        frame,
                        "vanish",
                        (t.id,),
                        f"frame {frame}: {name[t.id]} vanishes for {gap} frames mid-picture",
                    )
                )
            gap = 0
    paired: set[int] = set()
    for t, frame, hidden in ends:
        for s, start in starts:
            if s.id in paired or not frame <= start <= frame + patience + 1:
                continue
            ratio = s.size / max(t.size, 1.0)
            shade = float(np.abs(np.subtract(s.color, t.color)).sum())
            if 0.6 < ratio < 1.6 and shade < 90:
                px, py, _ = t.predict(start)
                jump = float(np.hypot(s.x[0] - px, s.y[0] - py))
                found.append(
                    Violation(
                        start,
                        "teleport",
                        (t.id, s.id),
                        f"frame {start}: {name[t.id]} jumps {jump:.0f} px to where no motion "
                        "takes it",
                        jump,
                    )
                )
                paired.update({t.id, s.id})
                break
        else:
            if hidden:
                continue
            found.append(
                Violation(
                    frame,
                    "vanish",
                    (t.id,),
                    f"frame {frame}: {name[t.id]} vanishes mid-picture while moving",
                )
            )
    for s, start in starts:
        if s.id not in paired and not _beside_another(s, everything or tracks):
            found.append(
                Violation(
                    start,
                    "appear",
                    (s.id,),
                    f"frame {start}: {name[s.id]} appears from nowhere mid-picture",
                )
            )
    return found


def _beside_another(track: Track, tracks: list[Track]) -> bool:
    frame = track.frames[0]
    for other in tracks:
        if other.id == track.id or frame - 1 not in other.frames:
            continue
        i = other.frames.index(frame - 1)
        reach = 0.75 * (diameter(track) + diameter(other)) + 4
        if np.hypot(other.x[i] - track.x[0], other.y[i] - track.y[0]) < reach:
            return True
    return False


def size(
    tracks: list[Track], name: dict[int, str], limit: float = 0.15, run: int = 3
) -> list[Violation]:
    """A silhouette whose equivalent diameter changes by over ``limit`` for ``run``
    frames in a row (away from the edge, not merged with another)."""
    found = []
    for t in tracks:
        near = t.near or [False] * len(t.kind)
        good = [
            i
            for i, (k, e, n, s) in enumerate(
                zip(t.kind, t.touches_edge, near, t.solid, strict=True)
            )
            if k == MEASURED and not e and not n and s
        ]
        d = np.sqrt(4 * np.array([t.area[i] for i in good]) / np.pi)
        streak = 0
        for n in range(5, len(d)):
            base = float(np.median(d[max(0, n - streak - 5) : n - streak]))
            if abs(d[n] / base - 1) > limit:
                streak += 1
                if streak == run:
                    first = good[n - run + 1]
                    change = d[n] / base - 1
                    found.append(
                        Violation(
                            t.frames[first],
                            "size",
                            (t.id,),
                            f"frame {t.frames[first]}: {name[t.id]} "
                            f"{'grows' if change > 0 else 'shrinks'} by {abs(change):.0%} "
                            "(a rigid body keeps its size)",
                            1 + change,
                        )
                    )
                    break
            else:
                streak = 0
    return found


def overlap(
    tracks: list[Track], name: dict[int, str], limit: float = 0.8, run: int = 2
) -> list[Violation]:
    """Two objects in one blob whose area is under ``limit`` of their two areas for
    ``run`` frames in a row. Only objects whose size is known from blobs of their own
    count (a track born on two bodies in contact has twice a body's area)."""
    by_id = {t.id: t for t in tracks}
    known = {t.id for t in tracks if t.whole() >= 5}
    found = []
    seen: set[tuple[int, int]] = set()
    for t in tracks:
        below: dict[int, list[int]] = {}
        for frame, other, area in t.merges:
            pair = (min(t.id, other), max(t.id, other))
            if pair in seen or other not in by_id or not {t.id, other} <= known:
                continue
            ratio = area / max(t.size + by_id[other].size, 1.0)
            frames = below.setdefault(other, [])
            if ratio >= limit:
                frames.clear()
                continue
            if frames and frames[-1] != frame - 1:
                frames.clear()
            if not frames and not _approached(t, by_id[other], frame, limit):
                continue
            frames.append(frame)
            if len(frames) >= run:
                frame = frames[0]
                seen.add(pair)
                a, b = name[pair[0]], name[pair[1]]
                found.append(
                    Violation(
                        frame,
                        "overlap",
                        pair,
                        f"frame {frame}: {a} and {b} pass into each other (together they cover "
                        f"{ratio:.0%} of their areas)",
                        ratio,
                    )
                )
    return found


def _approached(a: Track, b: Track, frame: int, limit: float) -> bool:
    """Whether both were seen in the frame before ``frame``, apart or merely touching:
    bodies pass into each other continuously. (Two tracks that meet on one body at once
    are one body followed twice, not an interpenetration.)"""
    before = frame - 1
    if before not in a.frames or before not in b.frames:
        return False
    i, j = a.frames.index(before), b.frames.index(before)
    if a.kind[i] == MEASURED and b.kind[j] == MEASURED:
        return True
    touching = [area for f, o, area in a.merges if f == before and o == b.id]
    return bool(touching) and touching[0] >= limit * (a.size + b.size)


def _area(track: Track, first: int, last: int) -> float:
    """The median area measured whole (alone, one convex blob clear of the edge) in
    frames first..last."""
    rows = zip(track.frames, track.area, track.kind, track.touches_edge, track.solid, strict=True)
    areas = [a for f, a, k, e, s in rows if first <= f <= last and k == MEASURED and not e and s]
    return float(np.median(areas)) if areas else float("nan")


def _merged_rows(track: Track) -> list[int]:
    """The index of each of ``track.merges`` in the track's columns."""
    return [i for i, k in enumerate(track.kind) if k == MERGED]


def merges_and_splits(
    tracks: list[Track], last_frame: int, name: dict[int, str], gain: float = 1.3, run: int = 5
) -> list[Violation]:
    """Two objects that become one (one track ends inside a blob it shares, and its
    partner comes out of it ``gain`` times larger or more), and one that becomes two (a
    new object starts beside one whose area then drops by as much)."""
    by_id = {t.id: t for t in tracks}
    found = []
    seen: set[tuple[int, int]] = set()
    for t in tracks:
        # one convex blob of both their areas for ``run`` frames: one body now
        streak: dict[int, list[int]] = {}
        for (frame, mate, area), i in zip(t.merges, _merged_rows(t), strict=True):
            pair = (min(t.id, mate), max(t.id, mate))
            if pair in seen or mate not in by_id:
                continue
            frames = streak.setdefault(mate, [])
            whole = t.solid[i] and area >= 0.8 * (t.size + by_id[mate].size)
            if not whole or (frames and frames[-1] != frame - 1):
                frames.clear()
            if whole:
                frames.append(frame)
            if len(frames) >= run:
                seen.add(pair)
                found.append(
                    Violation(
                        frames[0],
                        "merge",
                        pair,
                        f"frame {frames[0]}: {name[pair[0]]} and {name[pair[1]]} merge into one "
                        "object (one round blob of both their areas)",
                        area / (t.size + by_id[mate].size),
                    )
                )
    for t in tracks:
        if t.kind[-1] != MERGED or t.frames[-1] >= last_frame - 3 or not t.merges:
            continue
        other = by_id.get(t.merges[-1][1])
        end = t.frames[-1]
        if (
            other is None
            or other.frames[-1] < end + 5
            or (min(t.id, other.id), max(t.id, other.id)) in seen
        ):
            continue
        shared = [f for f, o, _ in t.merges if o == other.id]
        start = shared[-1]
        while start - 1 in shared:
            start -= 1
        before, after = _area(other, start - 10, start - 1), _area(other, end + 1, end + 10)
        if after >= gain * before:
            found.append(
                Violation(
                    start,
                    "merge",
                    (t.id, other.id),
                    f"frame {start}: {name[t.id]} and {name[other.id]} merge into one object "
                    f"({after / before:.2f}x the area of {name[other.id]})",
                    after / before,
                )
            )
    for s in tracks:
        start = s.frames[0]
        if start == 0:
            continue
        for parent in tracks:
            if parent.id == s.id or start - 1 not in parent.frames:
                continue
            i = parent.frames.index(start - 1)
            reach = 0.75 * (diameter(s) + diameter(parent)) + 4
            if np.hypot(parent.x[i] - s.x[0], parent.y[i] - s.y[0]) >= reach:
                continue
            before = _area(parent, start - 10, start - 1)
            after = _area(parent, start, start + 10)
            shade = float(np.abs(np.subtract(s.color, parent.color)).sum())
            halves = abs(before - after - s.size) < 0.5 * s.size
            if after <= before / gain and halves and shade < 90:
                found.append(
                    Violation(
                        start,
                        "split",
                        (parent.id, s.id),
                        f"frame {start}: {name[parent.id]} splits in two; {name[s.id]} comes "
                        f"out of it ({after / before:.2f}x its area is left)",
                        after / before,
                    )
                )
                break
    return found


def score(counts: dict[str, tuple[int, int]]) -> tuple[float, dict[str, float]]:
    """A 0–100 plausibility score: the mean of one component per check, each the share
    of what it checked that passed (1 when nothing could be checked)."""
    parts = {k: (1.0 - bad / total if total else 1.0) for k, (bad, total) in counts.items()}
    parts = {k: max(0.0, v) for k, v in parts.items()}
    return 100.0 * float(np.mean(list(parts.values()))), parts
