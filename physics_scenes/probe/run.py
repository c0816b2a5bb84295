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

from . import camera, checks, estimate
from .checks import Violation
from .detect import Detector, background
from .estimate import Impact, Segment
from .source import ClipInfo, Image, ProbeError, frames, open_clip, sample
from .track import Track, Tracker, mark_near

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


def probe(
    path: Path, options: Options = Options(), progress: Callable[[int, int], None] | None = None
) -> Result:
    """Measure the physics of the clip at ``path``."""
    info = open_clip(path, options.fps)
    canvas = _canvas(options.states, info)
    within = max(30, round(3 * info.fps))
    if canvas is None:
        back = background(sample(info, 15, within))
        width, height = info.width, info.height
    else:
        # a moving camera sees new scenery all along: samples from the whole clip
        step = max(1, info.frame_count // 15)
        pictures = sample(info, 15, info.frame_count)
        back = camera.background([canvas.warp(k * step, p) for k, p in enumerate(pictures)])
        width, height = canvas.width, canvas.height
        options = dataclasses.replace(options, scale=options.scale or 1.0 / canvas.scale)
    detector = Detector(back, options.threshold, options.min_area)
    tracker = Tracker(width, height, options.patience)
    wanted = {int(k) for k in np.linspace(0, max(info.frame_count - 1, 0), options.keyframes)}
    keyframes: list[tuple[int, Image]] = []
    count = 0
    rest = max(8, round(0.4 * info.fps))
    for index, image in enumerate(frames(info)):
        valid = None
        if canvas is not None:
            image, valid = canvas.warp(index, image)
        blobs = detector(image, valid)
        tracker.update(index, blobs, detector.parts, detector.camouflaged)
        for track in tracker.still(rest):
            detector.absorb(image, track.box)
        if index in wanted:
            keyframes.append((index, image.copy()))
        count = index + 1
        if progress is not None and index % 30 == 0:
            progress(count, info.frame_count)
    if count < 2:
        raise ProbeError(
            f"{path}: {count} frame{'s' if count != 1 else ''}; motion needs at least two"
        )
    everything = tracker.finish()
    mark_near(everything)
    if canvas is not None:
        info = dataclasses.replace(info, width=width, height=height)
    tracks = [t for t in everything if checks.moving(t)]
    if not tracks:
        raise ProbeError(
            f"{path}: nothing moves in {count} frames (no object differs from the "
            "background long enough to follow)",
            EXIT_NOTHING_MOVES,
        )
    return analyse(info, options, count, tracks, back, keyframes, everything)


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
) -> Result:
    """Estimates and checks on finished tracks."""
    fps = info.fps
    name = checks.names(tracks)
    segs = [s for t in tracks for s in estimate.segments(t, fps)]
    flights = [s for s in segs if s.flight]
    g, g_sigma = estimate.clip_gravity(flights)
    by_id = {t.id: t for t in tracks}
    hits = [h for t in tracks for h in estimate.impacts(t, fps, g if np.isfinite(g) else 0.0)]
    bounces, bad_bounces = checks.restitution(hits, by_id, name)
    hits_between = estimate.collisions(flights, {t.id: t.size for t in tracks}, fps)
    found = [
        *checks.gravity(flights, g, g_sigma, name, options.scale),
        *bad_bounces,
        *checks.permanence(
            tracks, count - 1, info.width, info.height, name, options.patience, everything
        ),
        *checks.size(tracks, name),
        *checks.overlap(tracks, name),
        *checks.merges_and_splits(tracks, count - 1, name),
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
    }
    total, parts = checks.score(counts)
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
    )


def half_size(image: Image) -> Image:
    """For tests and benchmarks: a frame at half width and height."""
    return np.asarray(
        cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA),
        np.uint8,
    )
