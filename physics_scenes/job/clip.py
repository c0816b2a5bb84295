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
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputFileError, RenderError
from ..frame import Frame
from ..physics.simulate import Sampler
from ..physics.world import World
from ..picture.camera import CameraRig, Picture, ShotRecord, extents
from ..picture.captions import FONT_FILE, Captions
from ..picture.looks import Finisher, average, blend, darken, gradient, shutter_offsets, wipe
from ..picture.renderer import Renderer, StaticLayers, load_face, load_image_rgb
from ..picture.view import Pixels, Trail, View
from ..scene import camera as cm
from ..scene import files, limits
from ..scene.captions import Cue, CueMaker, caption_table, title_cues
from ..scene.loader import format_path
from ..scene.model import Scene
from ..scene.script import Action, added_joints
from .timeline import Timeline, timeline_for

if TYPE_CHECKING:
    from ..output.sound import ScriptSounds


@dataclass(frozen=True, slots=True)
class ClipFrame:
    """One output frame: its physics Frame (at ``frame.time``, simulation seconds) and camera."""

    frame: Frame
    view: View
    video_time: float
    shot: ShotRecord
    shutter: tuple[Frame, ...] = ()
    """With motion blur: the states across the open shutter that the picture averages."""
    hidden: frozenset[str] = frozenset()
    """Joints out of the world at this frame (a script's broken or not yet added ones)."""
    cues: tuple[Cue, ...] = ()
    """The captions and titles on screen at this frame (started, not yet ended): the
    picture of any frame can be made alone, in any order (the preview scrubs)."""
    mirrored: frozenset[int] = frozenset()
    """Rows drawn mirrored in their own frame (the parts of walkers turned round)."""
    outgoing: tuple[View, float, str] | None = None
    """During a camera action's transition: the shot before's view, how far the
    transition is (0..1) and its kind (crossfade, fade, wipe)."""

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


def check_inputs(scene: Scene, root: files.Root) -> dict[str, Path]:
    """Before anything is rendered: the limits the command line can break (seed, frames
    after slow motion) and every file the scene names, again (files change after
    ``validate``; a missing sample must not surface after the video is made). Returns
    each named file's checked path."""
    problems = limits.check_overrides(scene)
    if problems:
        raise RenderError("; ".join(f"{format_path(loc)}: {m}" for loc, m in problems))
    checked = {}
    for loc, ref, kind in files.references(scene.audio, scene.look, scene.bodies, scene.script):
        try:
            path = files.check(root, ref, kind)
        except files.FileRefError as error:
            raise InputFileError(f"{format_path(loc)}: {error}") from None
        if kind != "consent":  # a person's record: its scope reaches the manifest, not it
            checked[ref] = path
    return checked


def face_rows(scene: Scene, names: Sequence[str], checked: dict[str, Path]) -> dict[int, Path]:
    """Layout row → face picture of each figure wearing one: a ragdoll's head, a walker's
    torso (whose last circle is its head). Consent was checked before (``pipeline``)."""
    rows = {}
    for index, body in enumerate(scene.bodies):
        face = getattr(body, "face", None)
        if face is None:
            continue
        part = "head" if body.kind == "ragdoll" else "torso"
        rows[list(names).index(f"{body.name or f'{body.kind}_{index}'}/{part}")] = checked[
            face.image
        ]
    return rows


def _time_changes(
    world: World, script: Sequence[Action], sim_end: float
) -> list[tuple[float, float, float]]:
    """When the script's ``time`` actions fire, as (simulation time, rate, ramp): found by
    running a copy of the world ahead (a trigger's moment is known only by running; the
    clip's frame count must be known before its first frame)."""
    specs = {a.label(i): a for i, a in enumerate(script) if a.time is not None}
    ahead = world.fork()
    last = round(sim_end / ahead.dt)
    changes: list[tuple[float, float, float]] = []
    once = all(a.every is None for a in specs.values())
    while True:
        for event in ahead.drain_events():
            spec = specs[event.a].time if event.kind == "action" and event.a in specs else None
            if spec is not None:
                changes.append((event.time, spec.rate, spec.ramp))
        done = once and len(changes) >= len(specs)
        if done or ahead.step_index >= last or ahead.end_step is not None:
            return changes
        ahead.step()


def video_timeline(scene: Scene, world: World, time: cm.TimeSpec | None) -> Timeline:
    """The clip's clock (simulation ↔ video time): the scene's ``time:`` segments (``time``,
    presets resolved), or its script's ``time`` actions, found by running a copy of
    ``world`` ahead; a scene with both is an error."""
    timing = scene.timing
    timeline = timeline_for(time, timing.frame_count / timing.fps)
    if not any(a.time is not None for a in scene.script):
        return timeline
    if time is not None:
        raise RenderError(
            "script: time actions change the clip's speed; the scene's time: "
            "segments (or its style's) do too: use one or the other"
        )
    changes = _time_changes(world, scene.script, timeline.sim_end)
    return Timeline.from_changes(changes, timeline.sim_end)


def video_frame_count(scene: Scene) -> int:
    """How many frames ``render`` writes for a scene whose script has ``time`` actions
    (its world is built and run ahead), for ``validate`` and ``info``; without them
    ``job.timeline.scene_timeline`` answers without the physics."""
    _, time, _ = cm.resolve(scene.camera, scene.time, scene.look, scene.style, None)
    return video_timeline(scene, World(scene), time).frame_count(scene.timing.fps)


def _script_sounds(scene: Scene, source_dir: files.Root | None) -> ScriptSounds | None:
    """The script's spoken lines and cues, made now (a missing speech engine or file is
    a located error before anything is drawn); None if it has neither."""
    if not any(a.say is not None or a.sound is not None for a in scene.script):
        return None
    from ..output.sound import load_script_sounds  # (loads the sound stack only when used)

    root: files.Root = source_dir if source_dir is not None else Path(".")
    return load_script_sounds(scene.script, root, scene.seed)


class Clip:
    """Iterate ``frames()`` and call ``pixels()`` on each (in order) to make the video."""

    def __init__(
        self,
        scene: Scene,
        width: int,
        height: int,
        source_dir: files.Root | None = None,
        layers: StaticLayers | None = None,
        world: World | None = None,
    ) -> None:
        """``source_dir``: the scene's folder (with the ``--assets`` folders: ``Roots``);
        ``layers``: static layers shared with other clips (``Renderer``); ``world``:
        ``scene``'s World as new (not stepped, no event taken), built here if None."""
        checked = check_inputs(scene, source_dir if source_dir is not None else Path("."))
        if world is None or world.scene is not scene or world.step_index != 0:
            world = World(scene)
        layout = self.layout = world.layout
        first_dynamic = next((b.name for b in layout.bodies if b.body_type == "dynamic"), None)
        camera, time, look = cm.resolve(
            scene.camera, scene.time, scene.look, scene.style, first_dynamic
        )
        self.look = look
        timing = scene.timing
        self.fps = timing.fps
        self.timeline = video_timeline(scene, world, time)
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
        faces = face_rows(scene, layout.names, checked)
        textures = {row: load_face(path) for row, path in faces.items()}
        self.renderer = Renderer(
            layout,
            width,
            height,
            background,
            spin_marks=marks,
            fluid=fluid,
            faces=textures,
            layers=layers,
        )
        self.finisher = Finisher(self.picture, look.vignette if look is not None else 0.0)
        auto = look.auto_captions if look is not None else None
        still = frozenset(b.name for b in layout.bodies if b.body_type == "static")
        self.sounds = _script_sounds(scene, source_dir)
        spoken = self.sounds.seconds() if self.sounds is not None else None
        self.caption_table = caption_table(scene.script, spoken)
        """The captions of the script's actions by name (lines as long as they are spoken)."""
        self._cues = CueMaker(self.caption_table, self.timeline.video_time, auto, still)
        self._cuts = {a.label(i): a.camera for i, a in enumerate(scene.script) if a.camera}
        self._transitions = {
            a.label(i): a.transition
            for i, a in enumerate(scene.script)
            if a.camera and a.transition and a.transition.kind != "cut"
        }
        self._leaving: tuple[Callable[[Frame, float], View], int, int, str] | None = None
        """A transition under way: the shot before, its first frame, its frames, its kind."""
        self._joint_changes = {a.label(i): a.joint for i, a in enumerate(scene.script) if a.joint}
        self._joints_out = added_joints(scene.script)
        self._turns = {
            a.label(i): a.walker.body
            for i, a in enumerate(scene.script)
            if a.walker is not None and a.walker.turn
        }
        self._mirrored: frozenset[int] = frozenset()
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
        self.captions = Captions(self.picture) if wanted else None
        self._shown: tuple[Cue, ...] = tuple(title)
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
        # rate 1 throughout: sim_time(v) = 0.0 + 1.0 * v = v and rate(s) = 1.0, exactly
        piece = self.timeline.pieces[0]
        identity = self.timeline.is_identity and piece.start == piece.v_start == 0.0
        for index in range(self.frame_count):
            video_time = index / self.fps
            sim_time = video_time if identity else self.timeline.sim_time(video_time)
            frame = self.sampler.frame_at(index, sim_time)
            for event in frame.events:
                if event.kind == "action" and event.a in self._cuts:
                    into = self._transitions.get(event.a)
                    if into is not None and into.frames(self.fps) > 0:
                        leaving = self.rig.outgoing()
                        self._leaving = (leaving, index, into.frames(self.fps), into.kind)
                    self.rig.cut_to(self._cuts[event.a], index)
                turned = self._turns.get(event.a) if event.kind == "action" else None
                if turned is not None:
                    parts = {
                        r for r, n in enumerate(self.layout.names) if n.startswith(turned + "/")
                    }
                    self._mirrored = self._mirrored ^ parts
                change = self._joint_changes.get(event.a) if event.kind == "action" else None
                if change is not None:
                    out = self._joints_out
                    self._joints_out = out - {change.add} if change.add else out | {change.name}
            rate = 1.0 if identity else self.timeline.rate(sim_time)
            view, shot = self.rig.view(frame, video_time, rate)
            shutter = self._shutter(frame)
            outgoing = None
            if self._leaving is not None:
                leaving, first, count, kind = self._leaving
                if index - first < count:
                    share = (index - first + 1) / (count + 1)
                    outgoing = (leaving(frame, video_time), share, kind)
                else:
                    self._leaving = None
            if self.captions is not None:
                started = self._cues.cues(frame.events)
                self._shown = tuple(c for c in (*self._shown, *started) if c.end > video_time)
            yield ClipFrame(frame, view, video_time, shot, shutter, self._joints_out,
                            self._shown, self._mirrored, outgoing)  # fmt: skip
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

    def _transition(self, item: ClipFrame, trails: Sequence[Trail], pixels: Pixels) -> Pixels:
        """The picture of a frame within a camera transition: the shot before (drawn
        sharp, finished the same) and this one, dissolved, wiped or through black."""
        assert item.outgoing is not None
        view, share, kind = item.outgoing
        before = self.renderer.render(
            item.frame, view, trails=trails, hidden=item.hidden, mirrored=item.mirrored
        )
        before = self.finisher.apply(before)
        if kind == "crossfade":
            return blend(before, pixels, share)
        if kind == "wipe":
            return wipe(before, pixels, share)
        return darken(before, 1 - 2 * share) if share < 0.5 else darken(pixels, 2 * share - 1)

    @property
    def fonts(self) -> tuple[Path, ...]:
        """The font files drawn into the picture (declared in the content credentials)."""
        return (FONT_FILE,) if self.captions is not None else ()

    @property
    def direct(self) -> bool:
        """Whether the picture is the renderer's drawing untouched (no blur, no vignette,
        no bars, no captions): then ``renderer.draw(frame, view, trails=..., into=surface)``
        draws the same pixels straight into a window."""
        return (self.blur is None and not self.finisher.active and self.captions is None
                and not self._transitions)  # fmt: skip

    def picture_of(self, clip_frame: ClipFrame, trails: Sequence[Trail]) -> Pixels:
        """The finished picture of ``clip_frame`` with these ``trails``."""
        frame, view = clip_frame.frame, clip_frame.view
        hidden, mirrored = clip_frame.hidden, clip_frame.mirrored
        if self.blur is None:
            pixels = self.renderer.render(
                frame, view, trails=trails, hidden=hidden, mirrored=mirrored
            )
        else:
            shots = (self.renderer.render(sub, view, trails=trails, hidden=hidden,
                                          mirrored=mirrored)
                     for sub in clip_frame.shutter)  # fmt: skip
            pixels = average(shots, self.blur.samples)
        pixels = self.finisher.apply(pixels)
        if clip_frame.outgoing is not None:
            pixels = self._transition(clip_frame, trails, pixels)
        if self.captions is not None:
            pixels = self.captions.draw(pixels, clip_frame.video_time, clip_frame.cues)
            for row, text, size, color, reach in self._labels:
                x, y = frame.position[row]
                px, py = view.to_pixels(np.array([x, y + reach], dtype=np.float64))
                pixels = self.captions.label(pixels, text, px, py, size, color)
            if self._synthetic is not None:
                tag = self._synthetic
                pixels = self.captions.corner(pixels, tag.text, tag.corner, tag.opacity, tag.size)
        return pixels
