"""Checks on shape and solidity: a silhouette that grows or shrinks (a rigid body's
area is constant in a 2D picture), two objects whose union is smaller than their areas
(one passes through the other), and two objects that merge into one or one that splits
in two."""

from __future__ import annotations

import numpy as np

from .permanence import diameter
from .track import MEASURED, MERGED, Track
from .violation import Violation


def size(
    tracks: list[Track], name: dict[int, str], limit: float = 0.15, run: int = 3
) -> list[Violation]:
    """A silhouette whose equivalent diameter changes by over ``limit`` for ``run``
    measured frames in a row (away from the edge, alone in a convex blob and not in
    contact with another: a neighbour merely near cannot be in the blob)."""
    found = []
    for t in tracks:
        near = t.touching or [False] * len(t.kind)
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
            both = t.size + by_id[mate].size
            # sizes are 0 when never measured clear of others: no merge can be told then
            whole = t.solid[i] and min(t.size, by_id[mate].size) > 0 and area >= 0.8 * both
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
                        area / both,
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
