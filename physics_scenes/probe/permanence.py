"""Object permanence: an object that vanishes, appears or teleports away from the
picture's edge (a body hidden in a crowd or behind scenery of its colour is not gone)."""

from __future__ import annotations

import itertools

import numpy as np

from .detect import Color
from .source import Image
from .track import MEASURED, MERGED, PREDICTED, Track
from .violation import Violation


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


def permanence(
    tracks: list[Track],
    last_frame: int,
    width: int,
    height: int,
    name: dict[int, str],
    patience: int,
    everything: list[Track] | None = None,
    back: Image | None = None,
) -> list[Violation]:
    """Vanishing (for good or for a few frames), appearing and teleporting objects.
    ``everything`` holds the still tracks too: an object that appears beside one (the
    ghost a resting body leaves when it starts to move) has not come from nowhere; nor
    has one that starts where the background ``back`` holds a body of its colour (a
    body at rest, knocked into motion)."""
    found: list[Violation] = []
    ends: list[tuple[Track, int, bool]] = []
    starts: list[tuple[Track, int]] = []
    entries: list[tuple[Track, int]] = []  # came into view at the edge
    gaps: list[tuple[Track, int, Violation]] = []  # vanished for a few frames, found again
    for t in tracks:
        d = diameter(t)

        def inner(x: float, y: float, d: float = d) -> bool:
            return d < x < width - d and d < y < height - d

        first, last = t.frames[0], t.frames[-1]
        # (at the edge of the picture, or of what a moving camera saw: came into view)
        if first > 0 and inner(t.x[0], t.y[0]) and not any(t.touches_edge[:2]):
            starts.append((t, first))
        elif first > 0:
            entries.append((t, first))
        tail_merged = t.kind[-1] == MERGED
        stopped = _speed_at_end(t) <= 0.3
        # a track lost in a blob with room for it, or rolling slowly in a pile where the
        # background model holds a body of its colour (sampled while one rested there,
        # it loses them): nothing says the body is gone. On plain backdrop it is.
        piled = (
            bool(t.near)
            and any(t.near[-3:])
            and _speed_at_end(t) < 0.25 * d
            and (back is None or _held(t, back, len(t.kind) - 1))
        )
        hidden = tail_merged or t.lost_covered or piled or stopped
        if tail_merged and _left_alone(t, tracks):
            hidden = False  # the blob it shared is its partner's alone now: no room for it
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
            # (lost at the edge of what the camera saw and found there again: out of view)
            edge = t.touches_edge[i] or t.touches_edge[max(begun - 1, 0)]
            if gap >= 2 and inner(t.x[i], t.y[i]) and not edge and not _stayed(t, begun, i, d):
                frame = t.frames[begun]
                lost = _vanish(frame, t.id, name[t.id], gap)
                found.append(lost)
                gaps.append((t, begun, lost))
            gap = 0
    paired: set[int] = set()
    entered = {s.id for s, _ in entries}
    for t, frame, hidden in ends:
        # (a body gone mid-picture as one of its colour comes in at the edge has jumped
        # there; seen in part, its size may only be smaller)
        candidates = starts + ([] if hidden else [(s, f) for s, f in entries if f == frame])
        for s, start in candidates:
            if s.id in paired or not frame <= start <= frame + patience + 1:
                continue
            ratio = s.size / max(t.size, 1.0)
            if s.id in entered:
                ratio = max(ratio, 0.7)
            shade = float(np.abs(np.subtract(s.color, t.color)).sum())
            if 0.6 < ratio < 1.6 and shade < 90:
                px, py, _ = t.predict(start)
                jump = float(np.hypot(s.x[0] - px, s.y[0] - py))
                if min(jump, _from_last(t, s)) < diameter(t):
                    # found again within its own size of where it was last seen (or
                    # headed; a bad last point sends the prediction astray): the same
                    # body, its track lost for a frame or more, not a jump
                    paired.update({t.id, s.id})
                    if start - frame >= 2 and not hidden:
                        found.append(_vanish(frame, t.id, name[t.id], start - frame))
                    break
                found.append(_teleport(start, t.id, s.id, name[t.id], jump))
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
    for t, begun, lost in gaps:
        # gone for a few frames as one of its colour and size appears: it jumped there
        # (what its track found again after the gap is not what it lost; a speck of
        # noise may hold the track for a frame after the body left)
        frame = t.frames[begun]
        before = _color_before(t, begun)
        for s, start in starts:
            if s.id in paired or abs(start - frame) > 1:
                continue
            shade = float(np.abs(np.subtract(s.color, before)).sum())
            if 0.6 < s.size / max(t.size, 1.0) < 1.6 and shade < 90:
                jump = float(np.hypot(s.x[0] - t.x[begun - 1], s.y[0] - t.y[begun - 1]))
                found.remove(lost)
                found.append(_teleport(start, t.id, s.id, name[t.id], jump))
                paired.add(s.id)
                break
    for s, start in starts:
        if s.id not in paired and not _beside_another(s, everything or tracks):
            if back is not None and _from_rest(s, back):
                continue
            found.append(
                Violation(
                    start,
                    "appear",
                    (s.id,),
                    f"frame {start}: {name[s.id]} appears from nowhere mid-picture",
                )
            )
    return found


def _left_alone(track: Track, tracks: list[Track], frames: int = 2) -> bool:
    """Whether the track that ``track`` last shared a blob with is seen alone and whole
    (one convex blob of its own size) in the ``frames`` frames after ``track`` ends.
    Only for a track that went into the blob from a blob of its own and stayed with
    that one partner (one that drifted from blob to blob had lost its body earlier)."""
    run = len(track.kind) - len(list(itertools.takewhile(lambda k: k == MERGED, track.kind[::-1])))
    tail = track.merges[-(len(track.kind) - run) :] if run < len(track.kind) else []
    if not tail or len({m for _, m, _ in tail}) > 1 or run == 0:
        return False
    if track.kind[run - 1] != MEASURED:
        return False
    mate = next((t for t in tracks if t.id == track.merges[-1][1]), None)
    if mate is None:
        return False
    after = range(track.frames[-1] + 1, track.frames[-1] + 1 + frames)
    rows = [mate.frames.index(f) for f in after if f in mate.frames]
    return len(rows) == frames and all(
        mate.kind[i] == MEASURED and mate.solid[i] and mate.area[i] < 1.25 * mate.size for i in rows
    )


def _color_before(track: Track, i: int) -> Color:
    """The track's colour up to its ``i``-th point (the median of the last 15 seen): a
    track that went on on another body after a gap has taken on that body's colour."""
    seen = sum(1 for k in track.kind[:i] if k != PREDICTED)
    last = track.colors[:seen][-15:] or track.colors[-15:]
    if not last:
        return track.color
    r, g, b = (int(v) for v in np.median(np.array(last, dtype=float), axis=0))
    return (r, g, b)


def _from_last(track: Track, other: Track) -> float:
    """Distance from ``track``'s last measured point to ``other``'s first."""
    i = max((i for i, k in enumerate(track.kind) if k == MEASURED), default=len(track.kind) - 1)
    return float(np.hypot(other.x[0] - track.x[i], other.y[0] - track.y[i]))


def _around(back: Image, x: float, y: float, inner: float, outer: float) -> Image:
    """The pixels (BGR rows) of ``back`` between ``inner`` and ``outer`` pixels from
    (``x``, ``y``)."""
    r = int(np.ceil(outer))
    left, top = max(int(x) - r, 0), max(int(y) - r, 0)
    crop = back[top : int(y) + r + 1, left : int(x) + r + 1]
    xs = np.arange(crop.shape[1]) + (left + 0.5 - x)
    ys = np.arange(crop.shape[0]) + (top + 0.5 - y)
    d2 = xs[None, :] ** 2 + ys[:, None] ** 2
    return np.asarray(crop[(d2 >= inner**2) & (d2 <= outer**2)], np.uint8)


def _shades(pixels: Image, color: Color) -> np.ndarray:
    """Each BGR pixel's summed difference from an RGB colour."""
    shades: np.ndarray = np.abs(pixels.astype(np.int16) - np.array(color[::-1], np.int16))
    return np.asarray(shades.sum(axis=1))


def _held(track: Track, back: Image, i: int) -> bool:
    """Whether the background holds a body of the track's colour within a diameter of
    its point ``i`` (where a body rested while it was sampled)."""
    near = _around(back, track.x[i], track.y[i], 0.0, max(6.0, diameter(track)))
    return bool(len(near)) and int(_shades(near, track.color).min()) < 60


def _from_rest(track: Track, back: Image) -> bool:
    """Whether the background holds a body of the track's colour where it starts (a body
    at rest, knocked into motion)."""
    return _held(track, back, 0)


def ghost(track: Track, back: Image) -> bool:
    """Whether a track is a ghost: where a body of the background left, the picture
    shows the backdrop, so the 'object' has the colour the background mostly has around
    it."""
    i = next((k for k, kind in enumerate(track.kind) if kind == MEASURED), 0)
    d = diameter(track)
    around = _around(back, track.x[i], track.y[i], d, max(3 * d, d + 8))
    if not len(around):
        return False
    b, g, r = (int(v) for v in np.median(around, axis=0))
    return int(_shades(np.array([[b, g, r]], np.uint8), track.color)[0]) < 30


def _stayed(track: Track, begun: int, found: int, d: float) -> bool:
    """Whether a body lost in contact with another (points ``begun`` to ``found``) is
    found again where it was last measured: it did not go anywhere, the predictions did
    (a prediction carried off by a shared blob's centroid misses a body rolling slowly
    in a pile)."""
    last = next((k for k in range(begun - 1, -1, -1) if track.kind[k] == MEASURED), None)
    if last is None or not track.near or not track.near[max(begun - 1, 0)]:
        return False
    moved = np.hypot(track.x[found] - track.x[last], track.y[found] - track.y[last])
    return bool(moved < 0.5 * d)


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


def _teleport(frame: int, lost: int, found: int, name: str, jump: float) -> Violation:
    """Track ``lost`` gone as ``found``, of its colour and size, starts ``jump`` px away."""
    message = f"frame {frame}: {name} jumps {jump:.0f} px to where no motion takes it"
    return Violation(frame, "teleport", (lost, found), message, jump)


def _vanish(frame: int, track: int, name: str, frames: int) -> Violation:
    """Track ``track`` gone mid-picture for ``frames`` frames from ``frame``."""
    message = f"frame {frame}: {name} vanishes for {frames} frames mid-picture"
    return Violation(frame, "vanish", (track,), message)
