"""One clip: the scene's clock, camera and look applied to the simulation, frame by frame.

Ties together ``timeline`` (which simulation time each frame shows), the
``Sampler`` (states at that time; the World still steps at its fixed dt),
``camera`` (a View per frame) and the renderer plus ``looks`` (blur, trails,
vignette, bars). A scene without ``camera``/``time``/``look``/``style`` gives
exactly the frames and pixels of the plain simulate → render path.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputFileError, RenderError
from ..frame import Frame
from ..physics.simulate import Sampler
from ..physics.world import World
from ..picture.camera import CameraRig, Picture, ShotRecord, extents
from ..picture.captions import FONT_FILE, Captions
from ..picture.looks import Finisher, average, gradient, shutter_offsets
from ..picture.renderer import Renderer, load_image_rgb
from ..picture.view import Pixels, Trail, View
from ..scene import camera as cm
from ..scene import files, limits
from ..scene.captions import CueMaker, caption_table, title_cues
from ..scene.loader import format_path
from ..scene.model import Scene
from .timeline import timeline_for


@dataclass(frozen=True, slots=True)
class ClipFrame:
    """One output frame: its physics Frame (at ``frame.time``, simulation seconds) and camera."""

    frame: Frame
    view: View
    video_time: float
    shot: ShotRecord
    shutter: tuple[Frame, ...] = ()
    """With motion blur: the states across the open shutter that the picture averages."""

    def record(self) -> dict[str, object]:
        """The per-frame clock and camera fields of the states output."""
        view = self.view
        return {
            "video_time": self.video_time,
            "sim_time": self.frame.time,
            "camera": {
                "center": list(view.center),
                "scale": view.scale,
                "rotation": view.rotation,
                "matrix": view.matrix(),
                "shot": self.shot.index,
                "mode": self.shot.mode,
            },
        }


MAX_BLUR_PIXELS = 7680 * 4320 * 16
"""Pixels drawn per frame with motion blur (width × height × samples): 8K UHD with 16
samples. Each sample is a full render: 64 samples at 7680x7680 drew 3.8 G pixels a frame."""


def check_inputs(scene: Scene, root: Path) -> dict[str, Path]:
    """Before anything is rendered: the limits the command line can break (seed, frames
    after slow motion) and every file the scene names, again (files change after
    ``validate``; a missing sample must not surface after the video is made). Returns
    each named file's checked path."""
    problems = limits.check_overrides(scene)
    if problems:
        raise RenderError("; ".join(f"{format_path(loc)}: {m}" for loc, m in problems))
    checked = {}
    for loc, ref, kind in files.references(scene.audio, scene.look):
        try:
            checked[ref] = files.check(root, ref, kind)
        except files.FileRefError as error:
            raise InputFileError(f"{format_path(loc)}: {error}") from None
    return checked


class Clip:
    """Iterate ``frames()`` and call ``pixels()`` on each (in order) to make the video."""

    def __init__(
        self, scene: Scene, width: int, height: int, source_dir: Path | None = None
    ) -> None:
        checked = check_inputs(scene, source_dir if source_dir is not None else Path("."))
        world = World(scene)
        layout = self.layout = world.layout
        first_dynamic = next((b.name for b in layout.bodies if b.body_type == "dynamic"), None)
        camera, time, look = cm.resolve(
            scene.camera, scene.time, scene.look, scene.style, first_dynamic
        )
        self.look = look
        timing = scene.timing
        self.fps = timing.fps
        self.timeline = timeline_for(time, timing.frame_count / timing.fps)
        self.frame_count = self.timeline.frame_count(self.fps)
        self.blur = look.motion_blur if look is not None else None
        if self.blur is not None and width * height * self.blur.samples > MAX_BLUR_PIXELS:
            raise RenderError(
                f"motion blur with {self.blur.samples} samples at {width}x{height} draws "
                f"{width * height * self.blur.samples / 1e9:.2g} G pixels a frame; the limit "
                f"is {MAX_BLUR_PIXELS / 1e9:.2g} G: use fewer samples or a smaller size"
            )
        lookback = 0
        if self.blur is not None:
            top_rate = max(max(p.r0, p.r1) for p in self.timeline.pieces)
            exposure = top_rate * self.blur.shutter / 360 / self.fps
            lookback = math.ceil(exposure / world.dt) + 2
        self.sampler = Sampler(world, lookback)
        self.picture = Picture.of(width, height, cm.aspect_ratio(look))
        self.rig = CameraRig(camera, layout, self.picture, self.fps, scene.seed)
        marks = look is None or look.spin_marks is not False
        background = self._background(look, checked)
        fluid = look.fluid if look is not None else "surface"
        self.renderer = Renderer(layout, width, height, background, spin_marks=marks, fluid=fluid)
        self.finisher = Finisher(self.picture, look.vignette if look is not None else 0.0)
        auto = look.auto_captions if look is not None else None
        still = frozenset(b.name for b in layout.bodies if b.body_type == "static")
        self._cues = CueMaker(caption_table(scene.script), self.timeline.video_time, auto, still)
        self._cuts = {a.label(i): a.camera for i, a in enumerate(scene.script) if a.camera}
        title = title_cues(look.title if look is not None else None)
        reach = extents(layout)
        self._labels = []
        for tag in look.labels if look is not None else ():
            rows = [r for r, n in enumerate(layout.names)
                    if n == tag.body or n.startswith(tag.body + "/")]  # fmt: skip
            if not all(layout.names[r].rsplit("/", 1)[-1].isdigit() for r in rows):
                rows = rows[:1]  # a composite gets one tag (over its first part), a grid one each
            self._labels += [(r, tag.text or tag.body, tag.size, tag.color, float(reach[r]))
                             for r in rows]  # fmt: skip
        self._synthetic = look.label if look is not None else None
        wanted = title or self._cues or self._labels or self._synthetic
        self.captions = Captions(self.picture, title) if wanted else None
        self._trails: list[tuple[int, tuple[int, int, int], float]] = []
        self._recent: deque[ClipFrame] = deque()
        if look is not None and look.trails is not None:
            names = list(layout.names)
            if look.trails.bodies:
                rows = sorted({names.index(n) for ref in look.trails.bodies
                               for n in cm.resolve_names(names, ref)})  # fmt: skip
            else:
                rows = [i for i, b in enumerate(layout.bodies)
                        if b.body_type == "dynamic" and b.kind == "ball"]  # fmt: skip
            reach = extents(layout)
            self._trails = [(r, layout.bodies[r].color, float(reach[r])) for r in rows]

    def _background(self, look: cm.Look | None, checked: dict[str, Path]) -> np.ndarray | None:
        back = look.background if look is not None else None
        w, h = self.picture.width, self.picture.height
        if back is None:
            return None
        if isinstance(back, cm.Gradient):
            return gradient(w, h, back.top, back.bottom)
        if isinstance(back, cm.ImageBackground):
            return load_image_rgb(str(checked[back.image]), w, h)  # checked in check_inputs
        return gradient(w, h, back, back)

    def frames(self) -> Generator[ClipFrame, None, None]:
        for index in range(self.frame_count):
            video_time = index / self.fps
            sim_time = self.timeline.sim_time(video_time)
            frame = self.sampler.frame_at(index, sim_time)
            for event in frame.events:
                if event.kind == "action" and event.a in self._cuts:
                    self.rig.cut_to(self._cuts[event.a], index)
            view, shot = self.rig.view(frame, video_time, self.timeline.rate(sim_time))
            yield ClipFrame(frame, view, video_time, shot, self._shutter(frame))
            world = self.sampler.world
            if world.end_step is not None and world.end_step * world.dt <= sim_time:
                return  # a script's ``end``: this frame shows it

    def _shutter(self, frame: Frame) -> tuple[Frame, ...]:
        """Motion blur's states across the open shutter (sampled before the next frame, so
        the sampler's lookback covers them), or none without blur."""
        if self.blur is None:
            return ()
        rate = self.timeline.rate(frame.time)
        exposure = rate * self.blur.shutter / 360 / self.fps
        shots = []
        for offset in shutter_offsets(self.blur.samples):
            t = max(0.0, frame.time + offset * exposure)
            state = self.sampler.state_at(t)
            shots.append(Frame(frame.index, t, state.position, state.angle, state.velocity,
                               state.angular_velocity, (), state.fluid_position,
                               state.fluid_velocity, state.fluid_kind))  # fmt: skip
        return tuple(shots)

    @property
    def trail_frames(self) -> int:
        """How many frames before the current one a trail can reach back (0: no trails)."""
        if not self._trails or self.look is None or self.look.trails is None:
            return 0
        return math.ceil(self.look.trails.length * self.fps) + 1

    def trails(self, recent: Sequence[ClipFrame]) -> list[Trail]:
        """The trails of the last of ``recent`` (consecutive frames, oldest first, at least
        ``trail_frames`` + 1 of them where there are so many): a pure function of the frames,
        so the preview can draw any frame's trails in any order."""
        if not self.trail_frames or self.look is None or self.look.trails is None:
            return []
        rows = [r for r, _, _ in self._trails]
        now = recent[-1].video_time
        kept = [f for f in recent if now - f.video_time <= self.look.trails.length]
        points = np.stack([f.frame.position[rows] for f in kept], axis=1)  # (bodies, k, 2)
        return [Trail(points[i], color, reach) for i, (_, color, reach) in enumerate(self._trails)]

    def pixels(self, clip_frame: ClipFrame) -> Pixels:
        """The output picture of each frame of ``frames()``, called in order."""
        if self.trail_frames:
            self._recent.append(clip_frame)
            while len(self._recent) > self.trail_frames + 1:
                self._recent.popleft()
        return self.picture_of(clip_frame, self.trails(self._recent))

    @property
    def fonts(self) -> tuple[Path, ...]:
        """The font files drawn into the picture (declared in the content credentials)."""
        return (FONT_FILE,) if self.captions is not None else ()

    @property
    def direct(self) -> bool:
        """Whether the picture is the renderer's drawing untouched (no blur, no vignette,
        no bars): then ``renderer.draw(frame, view, trails=..., into=surface)`` draws the
        same pixels straight into a window."""
        return self.blur is None and not self.finisher.active

    def picture_of(self, clip_frame: ClipFrame, trails: Sequence[Trail]) -> Pixels:
        """The finished picture of ``clip_frame`` with these ``trails``."""
        frame, view = clip_frame.frame, clip_frame.view
        if self.blur is None:
            pixels = self.renderer.render(frame, view, trails=trails)
        else:
            shots = (self.renderer.render(sub, view, trails=trails) for sub in clip_frame.shutter)
            pixels = average(shots, self.blur.samples)
        pixels = self.finisher.apply(pixels)
        if self.captions is not None:
            self.captions.add(self._cues.cues(frame.events))
            pixels = self.captions.draw(pixels, clip_frame.video_time)
            for row, text, size, color, reach in self._labels:
                x, y = frame.position[row]
                px, py = view.to_pixels(np.array([x, y + reach], dtype=np.float64))
                pixels = self.captions.label(pixels, text, px, py, size, color)
            if self._synthetic is not None:
                tag = self._synthetic
                pixels = self.captions.corner(pixels, tag.text, tag.corner, tag.opacity, tag.size)
        return pixels
