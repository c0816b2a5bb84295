"""One probe run: read, detect, track, estimate, check. No files written here.

>>> from pathlib import Path
>>> probe(Path("missing.mp4"))
Traceback (most recent call last):
...
physics_scenes.probe.source.ProbeError: missing.mp4: no such file or folder
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from . import camera, dynamics, estimate, motion, permanence, shape, spin
from .detect import Detector, background
from .estimate import Impact, Segment
from .source import ClipInfo, Image, ProbeError, frames, open_clip, sample
from .track import MEASURED, Track, Tracker, mark_near
from .violation import Violation, names, score

EXIT_NOTHING_MOVES = 3
"""Exit code when the clip reads but nothing in it moves (1: not a readable clip)."""


@dataclass(frozen=True, slots=True)
class Options:
    """How to measure: the scale (metres per pixel), a frame-rate override, and the
    detector's settings."""

    scale: float | None = None
    fps: float | None = None
    threshold: int = 40
    min_area: int = 12
    patience: int = 5
    keyframes: int = 4
    states: Path | None = None
    """A states file whose per-frame ``camera.matrix`` says where a moving camera looked:
    frames are warped onto one still canvas of the world (and the scale follows)."""
    still: bool = False
    """Take the camera as still: skip measuring its motion from the picture (one pass
    over the clip less)."""


@dataclass(frozen=True, slots=True)
class Result:
    """Everything a probe run found (pixels, seconds; y down)."""

    info: ClipInfo
    options: Options
    frames: int
    tracks: list[Track]
    names: dict[int, str]
    segments: list[Segment]
    gravity: float
    gravity_sigma: float
    bounces: list[Impact]
    collisions: list[estimate.Collision]
    """Hits between two objects with their momentum change (reported, not judged)."""
    violations: list[Violation]
    score: float
    components: dict[str, float]
    background: Image
    keyframes: list[tuple[int, Image]] = field(default_factory=list)
    spins: list[spin.Spin] = field(default_factory=list)
    """Each marked object's angular velocity over each free flight."""
    camera: str = "still"
    """How the camera's motion was undone: ``still`` (none seen), ``states`` (the states
    file's matrices) or ``picture`` (measured from the scenery; see ``motion``)."""
    motion: motion.Motion | None = None
    first_to_canvas: npt.NDArray[np.float64] | None = None
    """With a moving camera: the 2 × 3 map from the first frame's pixels to the canvas's,
    where every position is given."""


def probe(
    path: Path, options: Options = Options(), progress: Callable[[int, int], None] | None = None
) -> Result:
    """Measure the physics of the clip at ``path``."""
    info = open_clip(path, options.fps)
    canvas = _canvas(options.states, info)
    if canvas is not None:
        seen = _Pass(info, options, canvas, None).run(path, progress)
        return seen.result("states", None)
    # a still camera first, with a quick look on the way (smaller frames, every third
    # one) at whether it moves, unless told it is still
    follower = (
        None
        if options.states is not None or options.still
        else motion.Follower(info.width, info.frame_count, motion.QUICK_WIDTH, every=3)
    )
    first = _Pass(info, options, None, follower)
    failed: ProbeError | None = None
    try:
        first.run(path, progress)
    except ProbeError as error:  # nothing moves on the frames as they are: maybe the canvas
        if follower is None or error.code != EXIT_NOTHING_MOVES:
            raise
        failed = error
    found = follower.result() if follower is not None else None
    cameras = motion.cameras(found, options.scale) if found is not None else []
    if found is None or not (
        found.moves and camera.moves(cameras, info.width, info.height, tolerance=0.5)
    ):
        if failed is not None:
            raise failed
        return first.result("still", found)
    # it moves: measured again closely, every frame, and the canvas in the first
    # frame's pixels (so a scale given keeps its meaning)
    found = motion.follow(frames(info), info.width, info.frame_count)
    cameras = motion.cameras(found, options.scale)
    if not found.moves:
        if failed is not None:
            raise failed
        return first.result("still", found)
    unit = 1.0 / (options.scale or 1.0)
    canvas = camera.from_cameras(cameras, info.width, info.height, unit)
    return _Pass(info, options, canvas, None).run(path, progress).result("picture", found)


class _Pass:
    """One pass over the clip: background, detection, tracking and the spin marks, on
    the frames as they are or on a moving camera's canvas."""

    def __init__(
        self,
        info: ClipInfo,
        options: Options,
        canvas: camera.Canvas | None,
        follower: motion.Follower | None,
    ) -> None:
        self.info, self.options, self.canvas, self.follower = info, options, canvas, follower

    def run(self, path: Path, progress: Callable[[int, int], None] | None) -> _Pass:
        """Read every frame; raise ``ProbeError`` for too few frames or nothing moving."""
        info, options, canvas = self.info, self.options, self.canvas
        within = max(30, round(3 * info.fps))
        known: Image | None = None
        if canvas is None:
            back = background(sample(info, 15, within))
            width, height = info.width, info.height
        else:
            # a moving camera sees new scenery all along: samples from the whole clip
            step = max(1, info.frame_count // 15)
            pictures = sample(info, 15, info.frame_count)
            back, known = camera.background(
                [canvas.warp(k * step, p) for k, p in enumerate(pictures)]
            )
            width, height = canvas.width, canvas.height
            if options.states is not None:
                options = dataclasses.replace(options, scale=options.scale or 1.0 / canvas.scale)
            elif options.scale is not None:  # the canvas may be coarser than the first frame
                options = dataclasses.replace(options, scale=1.0 / canvas.scale)
        self.options, self.back = options, back
        detector = Detector(back, options.threshold, options.min_area)
        tracker = Tracker(width, height, options.patience)
        wanted = {int(k) for k in np.linspace(0, max(info.frame_count - 1, 0), options.keyframes)}
        self.keyframes: list[tuple[int, Image]] = []
        count = 0
        rest = max(8, round(0.4 * info.fps))
        self.angles: dict[int, dict[int, float]] = {}
        erosion = 2.0 if width >= 400 else 1.0  # the detector's, around each core
        marks_every = max(1, round(info.fps / 30))  # spin marks about 30 times a second
        for index, image in enumerate(frames(info)):
            if self.follower is not None:
                self.follower.add(image)
            valid = None
            if canvas is not None:
                image, valid = canvas.warp(index, image)
                if known is not None:
                    valid = np.asarray(cv2.bitwise_and(valid, known), np.uint8)
            blobs = detector(image, valid)
            tracker.update(index, blobs, detector.parts, detector.camouflaged)
            if index % marks_every == 0:
                _read_marks(tracker.tracks, index, image, erosion, self.angles)
            for track in tracker.still(rest):
                detector.absorb(image, track.box)
            if index in wanted:
                self.keyframes.append((index, image.copy()))
            count = index + 1
            if progress is not None and index % 30 == 0:
                progress(count, info.frame_count)
        if count < 2:
            raise ProbeError(
                f"{path}: {count} frame{'s' if count != 1 else ''}; motion needs at least two"
            )
        self.count = count
        self.everything = tracker.finish()
        mark_near(self.everything)
        if canvas is not None:
            self.info = dataclasses.replace(info, width=width, height=height)
        self.tracks = [
            t for t in self.everything if permanence.moving(t) and not permanence.ghost(t, back)
        ]
        if not self.tracks:
            raise ProbeError(
                f"{path}: nothing moves in {count} frames (no object differs from the "
                "background long enough to follow)",
                EXIT_NOTHING_MOVES,
            )
        return self

    def result(self, seen: str, found: motion.Motion | None) -> Result:
        """The estimates and checks on this pass's tracks."""
        result = analyse(
            self.info,
            self.options,
            self.count,
            self.tracks,
            self.back,
            self.keyframes,
            self.everything,
            self.angles,
        )
        first = None if self.canvas is None else self.canvas.warps[0]
        return dataclasses.replace(result, camera=seen, motion=found, first_to_canvas=first)


def _read_marks(
    tracks: list[Track],
    index: int,
    image: Image,
    erosion: float,
    angles: dict[int, dict[int, float]],
) -> None:
    """The spin mark's angle of every object measured whole in this frame."""
    for t in tracks:
        if t.ended or not t.frames or t.frames[-1] != index or t.kind[-1] != MEASURED:
            continue
        if not t.solid[-1] or t.touches_edge[-1]:
            continue
        radius = float(np.sqrt(t.area[-1] / np.pi)) + erosion
        angle = spin.marker_angle(image, t.x[-1], t.y[-1], radius, t.color)
        if np.isfinite(angle):
            angles.setdefault(t.id, {})[index] = angle


def _canvas(states: Path | None, info: ClipInfo) -> camera.Canvas | None:
    """The still canvas when ``states`` shows a camera that moves (None otherwise)."""
    if states is None:
        return None
    cameras = camera.read_cameras(states)
    if not camera.moves(cameras, info.width, info.height):
        return None
    return camera.from_cameras(cameras, info.width, info.height)


def analyse(
    info: ClipInfo,
    options: Options,
    count: int,
    tracks: list[Track],
    back: Image,
    keyframes: list[tuple[int, Image]],
    everything: list[Track] | None = None,
    angles: dict[int, dict[int, float]] | None = None,
) -> Result:
    """Estimates and checks on finished tracks (``angles``: the spin marks' angle per
    track and frame)."""
    fps = info.fps
    name = names(tracks)
    segs = [s for t in tracks for s in estimate.segments(t, fps)]
    flights = [s for s in segs if s.flight]
    g, g_sigma = estimate.clip_gravity(flights)
    by_id = {t.id: t for t in tracks}
    hits = [h for t in tracks for h in estimate.impacts(t, fps, g if np.isfinite(g) else 0.0)]
    bounces, bad_bounces = dynamics.restitution(hits, by_id, name)
    marked = _marked_flights(flights, by_id, angles or {})
    spins = [x for t, f, a in marked if (x := spin.flight_spin(t, f, a, fps)) is not None]
    hits_between = estimate.collisions(flights, {t.id: t.size for t in tracks}, fps)
    found = [
        *dynamics.gravity(flights, g, g_sigma, name, options.scale),
        *bad_bounces,
        *permanence.permanence(
            tracks, count - 1, info.width, info.height, name, options.patience, everything, back
        ),
        *shape.size(tracks, name),
        *shape.overlap(tracks, name),
        *shape.merges_and_splits(tracks, count - 1, name),
        *spin.jumps(marked, fps, name),
    ]
    found.sort(key=lambda v: (v.frame, v.kind, v.objects))
    kinds = {v.kind for v in found}
    counts = {
        "gravity": (sum(v.kind == "gravity" for v in found), max(len(flights), 1)),
        "restitution": (len(bad_bounces), len(bounces)),
        "permanence": (
            sum(v.kind in ("vanish", "appear", "teleport", "merge", "split") for v in found),
            len(tracks),
        ),
        "size": (sum(v.kind == "size" for v in found), len(tracks)),
        "overlap": (sum(v.kind == "overlap" for v in found), len(tracks)),
        "spin": (sum(v.kind == "spin" for v in found), len(spins)),
    }
    total, parts = score(counts)
    del kinds
    return Result(
        info,
        options,
        count,
        tracks,
        name,
        segs,
        g,
        g_sigma,
        bounces,
        hits_between,
        found,
        total,
        parts,
        back,
        keyframes,
        spins,
    )


def _marked_flights(
    flights: list[Segment], by_id: dict[int, Track], angles: dict[int, dict[int, float]]
) -> list[tuple[int, list[int], list[float]]]:
    """(track, frames, angles) of the marked frames of each free flight, frames where the
    object touches another left out."""
    out = []
    for s in flights:
        marks = angles.get(s.track, {})
        t = by_id[s.track]
        near = dict(zip(t.frames, t.near, strict=True)) if t.near else {}
        frames = [f for f in range(s.first, s.last + 1) if f in marks and not near.get(f)]
        out.append((s.track, frames, [marks[f] for f in frames]))
    return out


def half_size(image: Image) -> Image:
    """For tests and benchmarks: a frame at half width and height."""
    return np.asarray(
        cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA),
        np.uint8,
    )
