"""Blobs over time → tracks: Hungarian assignment of blobs to predicted positions.

Each track predicts its next position from its last few measured points (constant
acceleration, so free flight is followed exactly); the cost of giving a blob to a track
is the distance to the prediction over a gate, plus colour and size differences. A track
that finds no blob keeps predicting for ``patience`` frames before it ends. When two
tracks' predictions fall inside one blob they are *merged* (touching, or passing through
each other): both keep their predictions, and the blob's area is recorded for the
overlap check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .detect import Blob, Color, Part

Split = Callable[[Blob, Sequence[tuple[float, float]], Sequence[float]], list[Part]]
"""A blob, the centres and areas of the bodies expected in it → each body's share."""
Camouflage = Callable[[float, float, float, Color], bool]
"""x, y, diameter, colour → whether such a body would not show against the background."""

MEASURED, MERGED, PREDICTED = 0, 1, 2
"""How a track's point was obtained in a frame."""

SOLID = 0.9
"""Solidity above which a blob is taken for one body seen whole."""


@dataclass(slots=True)
class Track:
    """One followed object: points per frame (pixels) and how each was obtained."""

    id: int
    frames: list[int] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    area: list[float] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    touches_edge: list[bool] = field(default_factory=list)
    colors: list[Color] = field(default_factory=list)
    solid: list[bool] = field(default_factory=list)
    """Seen on a convex blob: one body whole when measured; when merged, two bodies
    that have become one shape (not two in contact)."""
    covered: list[bool] = field(default_factory=list)
    """For a predicted point: the prediction fell on some blob (hidden, not gone)."""
    near: list[bool] = field(default_factory=list)
    """Another object within touching distance (set by ``mark_near`` at the end)."""
    touching: list[bool] = field(default_factory=list)
    """Another object in contact (the two radii plus the erosion's gap): only then may
    this point's blob hold part of another body (set by ``mark_near``)."""
    lost_covered: bool = False
    """The track ended with its predictions on a blob (it went into a crowd)."""
    merges: list[tuple[int, int, float]] = field(default_factory=list)
    """(frame, other track id, shared blob area) for every merged frame."""
    misses: int = 0
    ended: bool = False
    _recent: list[tuple[float, bool, bool]] = field(default_factory=list)
    """Area, at the edge, solid: of the last 30 measured points."""
    _size: float = 0.0
    _size_at: int = -1
    _color: Color = (128, 128, 128)
    _color_at: int = -1
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    """The last measured blob's box."""

    def still(self, frames: int) -> bool:
        """Whether the last ``frames`` points were measured and did not move (a body at
        rest, or a ghost where one rested while the background was sampled)."""
        if len(self.kind) < frames or any(k != MEASURED for k in self.kind[-frames:]):
            return False
        xs, ys, areas = self.x[-frames:], self.y[-frames:], self.area[-frames:]
        steady = max(areas) <= 1.1 * min(areas)
        return steady and float(np.ptp(xs)) < 0.75 and float(np.ptp(ys)) < 0.75

    def whole(self) -> int:
        """How many points were measured on a blob of this body alone, seen whole (its
        size is known from them, not from a blob it shared)."""
        return sum(
            k == MEASURED and s and not e
            for k, s, e in zip(self.kind, self.solid, self.touches_edge, strict=True)
        )

    def measured(self) -> list[int]:
        return [i for i, k in enumerate(self.kind) if k == MEASURED]

    @property
    def size(self) -> float:
        if self._size_at != len(self.kind):
            self._size = self._typical_area()
            self._size_at = len(self.kind)
        return self._size

    def _typical_area(self) -> float:
        """Typical area: the median over the last 30 measured frames, those seen whole
        and clear of the picture's edge if any. (The last 30 *measured*: a body that
        ends the clip in a pile, shared blobs only, keeps the size it was seen with.)"""
        rows = (
            self._recent
            or [  # (a track built from lists, not by a Tracker)
                (a, e, s)
                for a, k, e, s in zip(
                    self.area, self.kind, self.touches_edge, self.solid, strict=True
                )
                if k == MEASURED
            ][-30:]
        )
        whole = [a for a, e, s in rows if not e and s]
        pool = sorted(whole or [a for a, e, _ in rows if not e] or [a for a, _, _ in rows])
        return pool[len(pool) // 2] if pool else 0.0

    @property
    def color(self) -> Color:
        """The median of the last colours seen."""
        if self._color_at != len(self.colors):
            if not self.colors:
                return (128, 128, 128)
            last = self.colors[-15:]
            r, g, b = (sorted(c[k] for c in last)[len(last) // 2] for k in range(3))
            self._color, self._color_at = (r, g, b), len(self.colors)
        return self._color

    def _last(self, wanted: Callable[[int], bool], since: int) -> list[int]:
        """Indices of the last three points of a wanted kind at frames after ``since``."""
        seen: list[int] = []
        for i in range(len(self.kind) - 1, -1, -1):
            if self.frames[i] <= since:
                break
            if wanted(self.kind[i]):
                seen.append(i)
                if len(seen) == 3:
                    break
        return seen

    def predict(self, frame: int) -> tuple[float, float, float]:
        """Predicted x, y at ``frame`` (the parabola through the last three seen points)
        and the speed in pixels per frame."""
        seen = self._last(lambda k: k != PREDICTED, -1)
        if not seen:
            return self.x[-1], self.y[-1], 0.0
        if len(seen) == 1:
            return self.x[seen[0]], self.y[seen[0]], 0.0
        t = [float(self.frames[i]) for i in reversed(seen)]
        xs = [self.x[i] for i in reversed(seen)]
        ys = [self.y[i] for i in reversed(seen)]
        vx = (xs[-1] - xs[-2]) / (t[-1] - t[-2])
        vy = (ys[-1] - ys[-2]) / (t[-1] - t[-2])
        ax = ay = 0.0
        if len(seen) == 3 and all(self.kind[i] == MEASURED for i in seen):
            # (a share of a blob is too rough a point to take an acceleration from)
            ax = 2 * (vx - (xs[1] - xs[0]) / (t[1] - t[0])) / (t[2] - t[0])
            ay = 2 * (vy - (ys[1] - ys[0]) / (t[1] - t[0])) / (t[2] - t[0])
        # velocity at the last point from the parabola: the chord's slope plus half its span
        dt = frame - t[-1]
        vx_end = vx + 0.5 * ax * (t[-1] - t[-2])
        vy_end = vy + 0.5 * ay * (t[-1] - t[-2])
        x = xs[-1] + vx_end * dt + 0.5 * ax * dt * dt
        y = ys[-1] + vy_end * dt + 0.5 * ay * dt * dt
        return x, y, float(np.hypot(vx_end, vy_end))


def _near_edge(blob: Blob, width: int, height: int) -> bool:
    x0, y0, w, h = blob.box
    return blob.edge or x0 <= 1 or y0 <= 1 or x0 + w >= width - 1 or y0 + h >= height - 1


def _inside(x: float, y: float, blob: Blob, pad: float) -> bool:
    x0, y0, w, h = blob.box
    return x0 - pad <= x <= x0 + w + pad and y0 - pad <= y <= y0 + h + pad


def _mate(track: Track, frame: int) -> int | None:
    """The track ``track`` shared a blob with in the frame before ``frame``, if any."""
    if track.kind and track.kind[-1] == MERGED and track.merges:
        last, other, _ = track.merges[-1]
        if last == frame - 1:
            return other
    return None


class Tracker:
    """Feed it each frame's blobs in order; read ``tracks`` at the end."""

    def __init__(self, width: int, height: int, patience: int = 5) -> None:
        self.width, self.height, self.patience = width, height, patience
        self.tracks: list[Track] = []

    def _live(self) -> list[Track]:
        return [t for t in self.tracks if not t.ended]

    @staticmethod
    def _cost(
        live: list[Track], predictions: list[tuple[float, float, float]], blobs: list[Blob]
    ) -> np.ndarray:
        """Distance to the prediction over the gate, plus colour and size differences;
        1e6 where the blob is out of the gate or far off in size."""
        if not live or not blobs:
            return np.full((len(live), len(blobs)), 1e6)
        guess = np.array(predictions)
        sizes = np.maximum([t.size for t in live], 1.0)
        misses = np.array([t.misses for t in live], dtype=float)
        gate = np.maximum.reduce(
            [np.sqrt(4 * sizes / np.pi), 2.5 * guess[:, 2], np.full(len(live), 8.0)]
        ) * (1 + 0.5 * misses)
        where = np.array([(b.x, b.y) for b in blobs])
        distance = np.hypot(
            where[None, :, 0] - guess[:, None, 0], where[None, :, 1] - guess[:, None, 1]
        )
        ratio = np.array([b.area for b in blobs])[None, :] / sizes[:, None]
        shade = np.abs(
            np.array([b.color for b in blobs], dtype=float)[None, :, :]
            - np.array([t.color for t in live], dtype=float)[:, None, :]
        ).sum(2)
        cost: np.ndarray = (
            distance / gate[:, None] + 0.5 * shade / 255.0 + 0.5 * np.abs(np.log(ratio))
        )
        far = (distance > gate[:, None]) | (ratio <= 0.25) | (ratio >= 4)
        cost[far] = 1e6
        return cost

    @staticmethod
    def _share(
        blob: Blob,
        members: list[int],
        live: list[Track],
        predictions: list[tuple[float, float, float]],
        split: Split,
    ) -> tuple[list[int], list[Part] | None]:
        """The members seen in the last frame, and those whose share of ``blob`` looks
        like them (the colour they had and a fair part of their area). A track that lost
        its body and whose prediction drifted into a neighbour's blob is left out (it
        misses this frame) instead of being merged with it; one that was followed into
        the blob stays, even when the other body is drawn over it.

        With them, the blob's split among them when every member was kept (the split the
        caller needs, already made), else None."""
        shares = split(blob, [predictions[i][:2] for i in members], [live[i].size for i in members])
        keep = [members[0]]
        for i, part in zip(members[1:], shares[1:], strict=True):
            shade = float(np.abs(np.subtract(part.color, live[i].color)).sum())
            if live[i].misses == 0 or (part.area >= 0.25 * live[i].size and shade < 90):
                keep.append(i)
        return keep, shares if len(keep) == len(members) else None

    @staticmethod
    def _room(
        blob: Blob,
        members: list[int],
        live: list[Track],
        predictions: list[tuple[float, float, float]],
        track: Track,
        split: Split | None,
    ) -> bool:
        """Whether ``track``'s body could be inside ``blob`` with its claimants: shared
        between them all, its share has its colour and a fair part of its area."""
        if split is None or not members:
            return False
        centres = [predictions[i][:2] for i in members] + [(track.x[-1], track.y[-1])]
        sizes = [live[i].size for i in members] + [track.size]
        share = split(blob, centres, sizes)[-1]
        shade = float(np.abs(np.subtract(share.color, track.color)).sum())
        return share.area >= 0.25 * track.size and shade < 90

    def update(
        self,
        frame: int,
        blobs: list[Blob],
        split: Split | None = None,
        camouflaged: Camouflage | None = None,
    ) -> None:
        """Assign this frame's blobs; ``split`` shares a blob between several bodies in it."""
        live = self._live()
        predictions = [t.predict(frame) for t in live]
        cost = self._cost(live, predictions, blobs)
        taken: dict[int, int] = {}
        if cost.size:
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
                if cost[i, j] < 1e6:
                    taken[i] = j
        owners: dict[int, list[int]] = {}
        for i, j in taken.items():
            owners.setdefault(j, []).append(i)
        # a track left without a blob whose prediction falls in a larger one shares it;
        # a blob nobody took that holds several such predictions is theirs together
        # (bodies that came together in one frame), not a new object
        # (or, merged with the blob's owner in the last frame, it is followed on in it
        # however deep the two have passed into each other: at the deepest the blob is
        # hardly larger than one of them)
        pending: dict[int, list[int]] = {}
        for i, track in enumerate(live):
            if i in taken:
                continue
            px, py, _ = predictions[i]
            size = np.sqrt(4 * max(track.size, 1.0) / np.pi)
            mate = _mate(track, frame)
            for j, blob in enumerate(blobs):
                held = any(live[k].id == mate for k in owners.get(j, []))
                if (blob.area > 1.2 * track.size or held) and _inside(px, py, blob, 0.25 * size):
                    (owners if j in owners else pending).setdefault(j, []).append(i)
                    break
        owners.update({j: members for j, members in pending.items() if len(members) > 1})
        placed: set[int] = set()
        for j, members in owners.items():
            blob = blobs[j]
            edge = _near_edge(blob, self.width, self.height)
            made: list[Part] | None = None  # the split _share made, if it is the one needed
            if len(members) > 1 and split is not None:
                members, made = self._share(blob, members, live, predictions, split)
            if len(members) == 1:
                solid = blob.solidity >= SOLID
                track = live[members[0]]
                self._add(track, frame, blob.x, blob.y, blob.area, 0, edge, blob.color, solid)
                track.box = blob.box
            else:
                if made is not None:
                    shares = made
                elif split is not None:
                    shares = split(
                        blob, [predictions[i][:2] for i in members], [live[i].size for i in members]
                    )
                else:
                    shares = [Part(*predictions[i][:2], blob.area, live[i].color) for i in members]
                for i, part in zip(members, shares, strict=True):
                    color = part.color if split is not None else None
                    self._add(
                        live[i],
                        frame,
                        part.x,
                        part.y,
                        blob.area,
                        MERGED,
                        edge,
                        color,
                        blob.solidity >= SOLID,
                    )
                    others = [live[k].id for k in members if k != i]
                    live[i].merges.append((frame, others[0], blob.area))
            placed.update(members)
        claimed = [0.0] * len(blobs)
        for j, members in owners.items():
            claimed[j] = sum(live[i].size for i in members if i in placed)
        for i, track in enumerate(live):
            if i in placed:
                continue
            track.misses += 1
            if track.misses > self.patience:
                track.ended = True
                continue
            px, py, _ = predictions[i]
            # hidden, not gone: a blob where it should be or next to where it was last
            # seen (it bounced off something unseen) with room for it: one nobody
            # claims, or larger than its claimants (they hide it)
            pad = 0.5 * np.sqrt(4 * max(track.size, 1.0) / np.pi)
            last = next(
                (k for k in range(len(track.kind) - 1, -1, -1) if track.kind[k] == MEASURED),
                len(track.kind) - 1,
            )
            lx, ly = track.x[last], track.y[last]
            hidden = any(
                (_inside(px, py, blob, pad) or _inside(lx, ly, blob, pad))
                and (
                    blob.area - claimed[j] >= 0.5 * track.size
                    or self._room(blob, owners.get(j, []), live, predictions, track, split)
                )
                for j, blob in enumerate(blobs)
            ) or (camouflaged is not None and camouflaged(px, py, 2 * pad, track.color))
            self._add(track, frame, px, py, track.size, PREDICTED, False, None, False, hidden)
        used = set(owners)
        for j, blob in enumerate(blobs):
            if j not in used:
                track = Track(len(self.tracks))
                edge = _near_edge(blob, self.width, self.height)
                solid = blob.solidity >= SOLID
                self._add(
                    track, frame, blob.x, blob.y, blob.area, MEASURED, edge, blob.color, solid
                )
                track.box = blob.box
                self.tracks.append(track)

    def _add(
        self,
        track: Track,
        frame: int,
        x: float,
        y: float,
        area: float,
        kind: int,
        edge: bool,
        color: Color | None,
        solid: bool = False,
        covered: bool = False,
    ) -> None:
        track.frames.append(frame)
        track.solid.append(solid)
        track.covered.append(covered)
        track.x.append(x)
        track.y.append(y)
        track.area.append(area)
        track.kind.append(kind)
        track.touches_edge.append(edge)
        if kind != PREDICTED:
            track.misses = 0
        if kind == MEASURED:
            track._recent.append((area, edge, solid))
            if len(track._recent) > 30:
                del track._recent[0]
        if color is not None:
            track.colors.append(color)

    def still(self, frames: int) -> list[Track]:
        """Live tracks that have not moved for ``frames`` frames."""
        return [t for t in self._live() if t.still(frames)]

    def finish(self) -> list[Track]:
        """The tracks with trailing predictions (after the object was last seen) removed."""
        for track in self.tracks:
            trailing = []
            while track.kind and track.kind[-1] == PREDICTED:
                trailing.append(track.covered[-1])
                for column in (
                    track.solid,
                    track.covered,
                    track.frames,
                    track.x,
                    track.y,
                    track.area,
                    track.kind,
                    track.touches_edge,
                ):
                    column.pop()
            track.lost_covered = bool(trailing) and all(trailing)
            track.ended = True
        return self.tracks


def mark_near(tracks: list[Track], margin: float = 4.0) -> None:
    """Set each track's ``near`` flags: in that frame another track's point lies within
    the two radii plus a quarter of the smaller diameter and ``margin`` pixels (touching,
    or about to: contact forces act, so the point is no free flight and its blob may
    hold more than one body)."""
    by_frame: dict[int, list[tuple[int, int, float, float, float]]] = {}
    for n, t in enumerate(tracks):
        d = float(np.sqrt(4 * max(t.size, 1.0) / np.pi))
        t.near = [False] * len(t.frames)
        t.touching = [False] * len(t.frames)
        for i, (f, x, y) in enumerate(zip(t.frames, t.x, t.y, strict=True)):
            by_frame.setdefault(f, []).append((n, i, x, y, d))
    for rows in by_frame.values():
        if len(rows) < 2:
            continue
        xy = np.array([(r[2], r[3]) for r in rows])
        sizes = np.array([r[4] for r in rows])
        dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        reach = 0.5 * (sizes[:, None] + sizes[None, :]) + 0.25 * np.minimum(
            sizes[:, None], sizes[None, :]
        )
        close = dist < reach + margin
        np.fill_diagonal(close, False)
        for k in np.flatnonzero(close.any(axis=1)).tolist():
            n, i = rows[k][0], rows[k][1]
            tracks[n].near[i] = True
        # in contact: the eroded cores' radii plus the erosion's gap (``margin``) and a
        # pixel each for the points' noise
        contact = dist < 0.5 * (sizes[:, None] + sizes[None, :]) + margin + 2.0
        np.fill_diagonal(contact, False)
        for k in np.flatnonzero(contact.any(axis=1)).tolist():
            tracks[rows[k][0]].touching[rows[k][1]] = True
