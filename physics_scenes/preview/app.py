"""The preview window: watch the clip, step, scrub, inspect, throw bodies, reload on save.

Two views. The clip view (the default) plays the clip as ``render`` writes it: the
exporter's own ``Clip`` gives its frames (camera, video clock, looks, bars; see
``player``), shown 1:1 where the window is large enough and scaled to fit otherwise, with
the export's sound through the mixer (``speaker``). The inspection view (Tab) plays the
plain simulation for zooming, panning and throwing bodies (``history``), drawn by the
same ``Renderer``. Overlays, the timeline bar and text go on the window on top. All
state changes go through ``handle(event)`` and ``tick()``, and time comes from an
injectable clock, so tests drive the window with posted events and no real time passes.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import numpy as np
import pygame

from ..errors import RenderError, SceneError
from ..frame import Frame
from ..job.clip import check_inputs
from ..job.pipeline import consent_scopes
from ..output.sink import ExportError, StreamInfo
from ..output.video import Mp4Sink
from ..physics.measure import kinetic_energy, potential_energy
from ..picture.renderer import Renderer
from ..picture.view import SIZE_PRESETS, View, default_size
from ..scene.files import Roots
from ..scene.loader import load_scene
from . import overlays
from .history import History
from .keepsakes import Keepsakes
from .player import LocalPlayer, Player, RemotePlayer, even_sized
from .speaker import Speaker
from .worker import AHEAD, RemoteHistory

BAR = 36
"""Height of the timeline bar in pixels."""
SPEEDS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
MAX_TICK = 0.1
"""Seconds of playback one tick may cover at most."""
RELOAD_POLL = 0.25
WINDOW_FPS = 120
"""Redraws per second at most, so a light scene does not spin a core drawing frames no
display shows. Not 60: holding the loop to 60 cost 20 frames/s on a busy machine (a
sleeping window wakes late), measured."""
"""Seconds between checks of the scene file's modification time."""
CLIP, INSPECT = "clip", "inspect"
TEXT, DIM, ACCENT, ERROR = overlays.TEXT, overlays.DIM, overlays.ACCENT, overlays.ERROR
OVERLAYS = MappingProxyType(
    {
        pygame.K_v: ("velocity", "V", "velocity vectors"),
        pygame.K_c: ("contacts", "C", "contact points and impulses"),
        pygame.K_n: ("names", "N", "body names"),
        pygame.K_m: ("mass", "M", "centres of mass"),
        pygame.K_j: ("joints", "J", "joint anchors (every joint, drawn or not)"),
        pygame.K_i: ("hud", "I", "time, frame, step rate, bodies, energy"),
    }
)
OVERLAY_ORDER = ("velocity", "mass", "joints", "contacts", "names")
"""Drawn in this order (under the HUD, the bar and any message)."""
HELP = (
    ("Tab", "clip view (as render writes it) / inspection view"),
    ("space", "play / pause"),
    ("Right / Left", "step one frame forward / back"),
    ("Home", "back to the start"),
    ("[ / ]", "half / double speed (0.125x to 8x)"),
    ("click / drag bar", "scrub"),
    ("wheel", "zoom around the cursor (inspection)"),
    ("right-drag", "pan (inspection)"),
    ("F", "fit the scene (inspection)"),
    ("left-drag a body", "throw it, forking the timeline (inspection)"),
    *((letter, text) for _name, letter, text in OVERLAYS.values()),
    ("S", "save a PNG screenshot"),
    ("R", "start / stop recording an MP4 of the view"),
    ("H", "this help"),
    ("Esc / Q", "quit"),
)


HEADLESS_DRIVERS = ("offscreen", "dummy")
"""SDL video drivers that show nothing: only used when asked for by name (tests, scripts)."""


class NoDisplayError(RuntimeError):
    """There is no screen to open a window on."""


@dataclass
class _Drag:
    kind: str  # "scrub", "pan" or "body"
    last: tuple[int, int]


class Pacer:
    """Holds a loop to ``fps`` on average: a slow pass is made up by the next (up to one
    period), where ``pygame.time.Clock.tick`` sleeps a full period after every pass."""

    def __init__(self, fps: float, clock: Callable[[], float] = time.perf_counter) -> None:
        self.period, self.clock = 1.0 / fps, clock
        self.next: float | None = None

    def wait(self) -> None:
        now = self.clock()
        self.next = max((now if self.next is None else self.next) + self.period, now - self.period)
        if self.next > now:
            time.sleep(self.next - now)


class PreviewApp:
    """One preview window on one scene file."""

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        out_dir: str | Path = ".",
        worker: bool = True,
        *,
        clip_size: tuple[int, int] | None = None,
        view: str = CLIP,
        sound: bool = True,
        assets: tuple[Path, ...] = (),
        watermark: bool = True,
        sign: bool = True,
    ) -> None:
        """``size``: the window's (default: the clip's plus the bar, within the screen);
        ``clip_size``: the clip's, as ``render --size`` (default: what ``render`` uses);
        ``view``: ``"clip"`` or ``"inspect"`` to start in; ``worker``: simulate in a second
        process (the window's normal mode); without it everything runs in this process,
        which tests use for speed; ``sound``: play the clip's sound (when a device exists);
        ``assets``: the ``--assets`` folders the scene's files may also be in;
        ``watermark``, ``sign``: screenshots and takes carry the picture mark and a signed
        manifest, as ``render``'s outputs do (``keepsakes``)."""
        self.path = Path(path)
        self.roots = Roots(self.path.parent, assets)
        self.worker = worker
        self.clock = clock
        self.out_dir = Path(out_dir)
        self.scene = load_scene(self.path, assets)
        self.keeping = (watermark, sign)
        self._keepsakes: Keepsakes | None = None
        self.clip_size = clip_size or SIZE_PRESETS[default_size(self.scene)]
        # HiDPI: one window pixel per screen pixel on Windows (not a blurred, scaled-up
        # bitmap), so the scene is drawn sharp and mouse positions are surface pixels.
        # macOS and Wayland give the window in points, which the events use too.
        os.environ.setdefault("SDL_WINDOWS_DPI_AWARENESS", "permonitorv2")
        try:
            pygame.display.init()
            driver = pygame.display.get_driver()
            if driver in HEADLESS_DRIVERS and os.environ.get("SDL_VIDEODRIVER") != driver:
                # SDL falls back to an invisible window when there is no screen
                pygame.display.quit()
                raise NoDisplayError("no display found (DISPLAY and WAYLAND_DISPLAY are not set)")
            if driver == "x11":
                # SDL otherwise presents the window through OpenGL, which without a GPU
                # (Xvfb, VMs, remote desktops) is Mesa's software llvmpipe: 7.7 ms a
                # 1280x720 flip against 0.65 ms for X11's own shared-memory image.
                os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
            self.window = pygame.display.set_mode(size or self._fitting_size(), pygame.RESIZABLE)
        except pygame.error as error:
            raise NoDisplayError(str(error)) from None
        pygame.font.init()
        pygame.display.set_caption(f"physics-scenes preview: {self.path.name}")
        self.font = pygame.font.Font(None, 20)
        self.big = pygame.font.Font(None, 26)
        self._player: Player | None = None
        self._timeline: History | RemoteHistory | None = None
        self._renderer: Renderer | None = None
        self._picture: tuple[int, pygame.Surface] | None = None
        """The clip view's last finished picture (index, surface): redraws reuse it."""
        self.mode = view
        self.speaker = Speaker() if sound else None
        self._held = False
        self.index = 0
        self.playing = False
        self.speed = 1.0
        self.overlays = {"hud"}
        self.show_help = False
        self.error: str | None = None
        self.toast: tuple[str, float] | None = None
        self.zoom: tuple[tuple[float, float], float] | None = None  # (centre, scale), None: fit
        self.drag: _Drag | None = None
        self.running = True
        self.stop_at: tuple[int, Path | None] | None = None
        self.recording: tuple[Mp4Sink, Path, int] | None = None
        self._mtime = self._stat()
        now = clock()
        self._last_tick = self._last_poll = now
        self._carry = 0.0
        self._step_rate = (now, self.source.steps, 0.0)
        self._resize(self.window.get_size())

    def _fitting_size(self) -> tuple[int, int]:
        """The clip's size plus the bar, shrunk (keeping the shape) to fit the screen."""
        width, height = self.clip_size[0], self.clip_size[1] + BAR
        screens = pygame.display.get_desktop_sizes()
        if screens:
            room_w, room_h = screens[0][0] * 0.95, screens[0][1] * 0.9
            shrink = min(1.0, room_w / width, room_h / height)
            width, height = round(width * shrink), round(height * shrink)
        return max(width, 320), max(height, 240)

    @property
    def keepsakes(self) -> Keepsakes:
        """What marks and signs saved files (made at the first save, again on reload)."""
        if self._keepsakes is None:
            watermark, sign = self.keeping
            frames = self._player.frame_count if self._player is not None else None
            self._keepsakes = Keepsakes(self.scene, watermark=watermark, sign=sign, frames=frames)
        return self._keepsakes

    @property
    def player(self) -> Player:
        """The clip view's frames (started when first needed)."""
        if self._player is None:
            make = RemotePlayer if self.worker else LocalPlayer
            self._player = make(self.scene, *self.clip_size, self.roots)
        return self._player

    @property
    def timeline(self) -> History | RemoteHistory:
        """The inspection view's frames (started when first needed)."""
        if self._timeline is None:
            self._timeline = RemoteHistory(self.scene) if self.worker else History(self.scene)
        return self._timeline

    @property
    def source(self) -> Player | History | RemoteHistory:
        """The frames of the view shown."""
        return self.player if self.mode == CLIP else self.timeline

    def _close_sources(self) -> None:
        if self.speaker is not None:
            self.speaker.load(None)
        if self._player is not None:
            self._player.close()
        if isinstance(self._timeline, RemoteHistory):
            self._timeline.close()
        self._player = self._timeline = self._renderer = self._picture = None

    def close(self) -> None:
        self.stop_recording(keep=True)
        self._close_sources()
        if self.speaker is not None:
            self.speaker.close()

    # -- geometry --------------------------------------------------------------------

    @property
    def scene_size(self) -> tuple[int, int]:
        width, height = self.window.get_size()
        return width, max(2, height - BAR)

    def _resize(self, size: tuple[int, int]) -> None:
        width, height = max(size[0], 320), max(size[1], 240)
        if (width, height) != self.window.get_size():
            self.window = pygame.display.set_mode((width, height), pygame.RESIZABLE)
        self._picture = None

    @property
    def renderer(self) -> Renderer:
        """The inspection view's renderer, at the scene area's size."""
        if self._renderer is None or (self._renderer.width, self._renderer.height) != (
            self.scene_size
        ):
            self._renderer = Renderer(self.timeline.layout, *self.scene_size)
        return self._renderer

    def placement(self) -> tuple[float, pygame.Rect]:
        """Clip view: the picture's scale (1: one window pixel per output pixel, the most
        it is ever shown at) and where it sits in the scene area, centred."""
        width, height = self.player.size
        room_w, room_h = self.scene_size
        scale = min(1.0, room_w / width, room_h / height)
        shown = (max(1, round(width * scale)), max(1, round(height * scale)))
        return scale, pygame.Rect(((room_w - shown[0]) // 2, (room_h - shown[1]) // 2), shown)

    def view(self) -> View:
        """What the scene area shows (clip view: the picture's own rectangle)."""
        if self.mode == CLIP:
            scale, rect = self.placement()
            camera = self.player.frame(self.index).view
            return View(camera.center, camera.scale * scale, rect.width, rect.height,
                        camera.rotation)  # fmt: skip
        width, height = self.scene_size
        if self.zoom is None:
            return View.of_layout(self.timeline.layout, width, height)
        return View(self.zoom[0], self.zoom[1], width, height)

    def to_world(self, pixel: tuple[float, float]) -> tuple[float, float]:
        view = self.view()
        return (
            view.center[0] + (pixel[0] - view.width / 2) / view.scale,
            view.center[1] - (pixel[1] - view.height / 2) / view.scale,
        )

    # -- events ----------------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.VIDEORESIZE:
            self._resize(event.size)
        elif event.type == pygame.KEYDOWN:
            self._key(event.key)
        elif event.type == pygame.MOUSEWHEEL:
            if self._inspecting("zoom"):
                self._zoom_at(getattr(event, "pos", None) or pygame.mouse.get_pos(), 1.2**event.y)
        elif event.type == pygame.MOUSEBUTTONDOWN:
            self._press(event.button, event.pos)
        elif event.type == pygame.MOUSEMOTION and self.drag is not None:
            self._move(event.pos)
        elif event.type == pygame.MOUSEBUTTONUP and self.drag is not None:
            if self.drag.kind == "body":
                self.timeline.release()
            self.drag = None

    def _inspecting(self, what: str) -> bool:
        """Whether the inspection view is on; else say where ``what`` is."""
        if self.mode == INSPECT:
            return True
        self._say(f"Tab: the inspection view, to {what}")
        return False

    def switch_view(self) -> None:
        """Clip view ↔ inspection view, at the same moment of the simulation."""
        if self.mode == CLIP:
            sim_time = self.player.frame(self.index).frame.time
            self.mode = INSPECT
            self._show(round(sim_time * self.timeline.fps))
        else:
            sim_time = self.timeline.frame(self.index).time
            self.mode = CLIP
            video_time = self.player.clip.timeline.video_time(sim_time)
            self._show(round(video_time * self.player.fps))
        self.drag = None
        self._carry = 0.0
        self.stop_recording(keep=True)
        self._step_rate = (self.clock(), self.source.steps, 0.0)
        self._say("clip view: as render writes it" if self.mode == CLIP else
                  "inspection view: zoom, pan, throw bodies")  # fmt: skip

    def _key(self, key: int) -> None:
        if key in (pygame.K_ESCAPE, pygame.K_q):
            self.running = False
        elif key == pygame.K_TAB:
            self.switch_view()
        elif key == pygame.K_SPACE:
            if self.index >= self.source.frame_count - 1:
                self.index = 0
            self.playing = not self.playing
        elif key == pygame.K_RIGHT:
            self.playing = False
            self._show(self.index + 1)
        elif key == pygame.K_LEFT:
            self.playing = False
            self._show(self.index - 1)
        elif key == pygame.K_HOME:
            self._show(0)
        elif key in (pygame.K_LEFTBRACKET, pygame.K_RIGHTBRACKET):
            step = 1 if key == pygame.K_RIGHTBRACKET else -1
            position = SPEEDS.index(self.speed) + step
            self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, position))]
        elif key == pygame.K_f:
            if self._inspecting("zoom and fit"):
                self.zoom = None
        elif key == pygame.K_h:
            self.show_help = not self.show_help
        elif key in OVERLAYS:
            self.overlays ^= {OVERLAYS[key][0]}
        elif key == pygame.K_s:
            self.screenshot()
        elif key == pygame.K_r:
            self.toggle_recording()

    def _press(self, button: int, pos: tuple[int, int]) -> None:
        in_bar = pos[1] >= self.scene_size[1]
        if button == 1 and in_bar:
            self.drag = _Drag("scrub", pos)
            self._scrub(pos[0])
        elif button in (1, 3) and not self._inspecting("pan, zoom and throw bodies"):
            return
        elif button == 1:
            point = self.to_world(pos)
            name = self.timeline.body_at(self.index, point, 6 / self.view().scale)
            if name is not None:
                self.timeline.grab(self.index, name, point)
                self.drag = _Drag("body", pos)
                self.playing = True
        elif button == 3:
            self.drag = _Drag("pan", pos)

    def _move(self, pos: tuple[int, int]) -> None:
        assert self.drag is not None
        if self.drag.kind == "scrub":
            self._scrub(pos[0])
        elif self.drag.kind == "pan":
            view = self.view()
            dx, dy = pos[0] - self.drag.last[0], pos[1] - self.drag.last[1]
            self.zoom = ((view.center[0] - dx / view.scale, view.center[1] + dy / view.scale),
                         view.scale)  # fmt: skip
        self.drag.last = pos

    def _zoom_at(self, pixel: tuple[int, int], factor: float) -> None:
        """Zoom keeping the world point under the cursor where it is."""
        view = self.view()
        anchor = self.to_world(pixel)
        scale = min(max(view.scale * factor, 1e-3), 1e6)
        centre = (
            anchor[0] - (pixel[0] - view.width / 2) / scale,
            anchor[1] + (pixel[1] - view.height / 2) / scale,
        )
        self.zoom = (centre, scale)

    def _scrub(self, x: int) -> None:
        width = self.window.get_width()
        fraction = min(max(x / max(width - 1, 1), 0.0), 1.0)
        self._show(round(fraction * (self.source.frame_count - 1)))

    def _show(self, index: int) -> None:
        self.index = self.source.clamp(index)
        self.source.frame(self.index)

    # -- time ------------------------------------------------------------------------

    def tick(self) -> None:
        """Advance playback by the time since the last tick, reload if saved, draw."""
        now = self.clock()
        # a stall (a reload, a slow first frame) must not make playback jump ahead
        elapsed, self._last_tick = min(now - self._last_tick, MAX_TICK), now
        source = self.source
        source.poll()
        self._held = False
        if self.playing:
            if isinstance(source, RemoteHistory):
                source.want(self.index + AHEAD)
            self._carry += elapsed * self.speed * source.fps
            frames = int(self._carry + 1e-6)  # 1/60 s ticks must not lose a frame to rounding
            self._carry = max(0.0, self._carry - frames)
            for _ in range(frames):
                if self.index >= source.frame_count - 1:
                    self.playing = False
                    break
                if not source.ready(self.index + 1):
                    # physics is behind real time: playback slows, the window stays live
                    self._carry, self._held = 0.0, True
                    break
                if self.drag is not None and self.drag.kind == "body":
                    self.timeline.drag(self.to_world(self.drag.last))
                self._show(self.index + 1)
                self._record()
        player = self._player
        done = isinstance(player, LocalPlayer) and player.frontier >= player.frame_count - 1
        if done and isinstance(player, LocalPlayer) and not player.track_done:
            player.finish_track()
        self._sync_sound()
        if now - self._last_poll >= RELOAD_POLL:
            self._last_poll = now
            self.reload_if_changed()
        self.draw()

    def _sync_sound(self) -> None:
        """Keep the clip's sound with the picture (``Speaker.follow``) while the clip view
        plays at 1x and the picture is not waiting for physics; else silence."""
        speaker, player = self.speaker, self._player
        if speaker is None:
            return
        if player is not None and player.track_done and speaker.track is not player.track:
            speaker.load(player.track)
        wanted = (self.mode == CLIP and self.playing and self.speed == 1.0 and not self._held
                  and speaker.track is not None)  # fmt: skip
        shown = (self.index + self._carry) / player.fps if player is not None else 0.0
        speaker.follow(wanted, shown, self.clock())

    def sound_status(self) -> str:
        """What the sound is doing, in a few words (shown on the bar)."""
        player = self._player
        if self.speaker is None:
            return "sound off"
        if self.speaker.note is not None:
            return self.speaker.note
        if self.mode != CLIP:
            return "sound: clip view only"
        if player is None or not player.track_done:
            return "sound: ready once the clip is computed"
        if player.track is None:
            return "no sound (audio off in the scene)"
        return "sound on" if self.speed == 1.0 else "sound at 1x only"

    def run(self) -> int:
        """The event loop, until the window closes; Ctrl-C closes it cleanly too."""
        pacer = Pacer(WINDOW_FPS)
        try:
            while self.running:
                for event in pygame.event.get():
                    self.handle(event)
                self.tick()
                if self.stop_at is not None and self.index >= self.stop_at[0]:
                    if self.stop_at[1] is not None:
                        self.screenshot(self.stop_at[1])
                    self.running = False
                pygame.display.flip()
                pacer.wait()
        except KeyboardInterrupt:
            self.stop_recording(keep=False)
            return 130
        finally:
            self.close()
            pygame.display.quit()
        return 0

    # -- reload ----------------------------------------------------------------------

    def _stat(self) -> float:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    def reload_if_changed(self) -> bool:
        mtime = self._stat()
        if mtime == self._mtime:
            return False
        self._mtime = mtime
        try:
            scene = load_scene(self.path, self.roots.assets)
            check_inputs(scene, self.roots)  # the files it names, as render checks them
            consent_scopes(scene, self.path, self.roots.assets)  # and the consents, now
        except SceneError as error:
            self.error = error.report()
            return False
        except RenderError as error:
            self.error = f"{self.path}: {error}"
            return False
        except OSError as error:
            self.error = f"{self.path}: {error.strerror or error}"
            return False
        self.error = None
        self.stop_recording(keep=True)
        self._close_sources()
        self.scene, self._keepsakes = scene, None
        self._show(self.index)  # the same moment in the new scene
        self._say("reloaded")
        return True

    # -- outputs ---------------------------------------------------------------------

    def scene_pixels(self) -> bytes:
        """The current frame exactly as the exporter draws it (no overlays): the clip's
        picture in the clip view, the scene area's in the inspection view."""
        if self.mode == CLIP:
            return self.player.pixels(self.index).data
        frame = self.timeline.frame(self.index)
        return self.renderer.render(frame, self.view()).data

    def screenshot(self, path: Path | None = None) -> Path:
        """The window as a PNG (default: ``NAME-frameNNNNN.png`` in the output folder),
        marked and signed like ``render``'s pictures."""
        if path is None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self.out_dir / f"{self.path.stem}-frame{self.index:05d}.png"
        self.draw()
        rgb = np.ascontiguousarray(pygame.surfarray.pixels3d(self.window).swapaxes(0, 1))
        marked = self.keepsakes.mark_rgb(rgb)
        picture = pygame.image.frombuffer(marked.tobytes(), self.window.get_size(), "RGB")
        # staged under its own name (the manifest's title is the file's name), then renamed
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".shot-") as folder:
            staged = Path(folder) / path.name
            pygame.image.save(picture, str(staged))
            note = self.keepsakes.seal(staged, "screenshot")
            staged.replace(path)
        self._say(note or f"saved {path}")
        return path

    def toggle_recording(self) -> None:
        if self.recording is not None:
            self.stop_recording(keep=True)
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        number = 1
        while (path := self.out_dir / f"{self.path.stem}-take{number}.mp4").exists():
            number += 1
        width, height = self.player.size if self.mode == CLIP else self.scene_size
        width, height = width - width % 2, height - height % 2  # H.264 wants even sizes
        layout, timing = self.source.layout, self.scene.timing
        sink = Mp4Sink(path)
        sink.open(StreamInfo(layout, width, height, timing.fps, 0, timing.dt))
        self.recording = (sink, path, 0)
        self._record()
        self._say(f"recording {path.name}")

    def _record(self) -> None:
        if self.recording is None:
            return
        sink, path, count = self.recording
        if self.mode == CLIP:  # the clip's pictures at its own size, as render writes them
            pixels = even_sized(self.player.pixels(self.index))
            sink.write(self.player.frame(self.index).frame, self.keepsakes.mark(pixels))
            self.recording = (sink, path, count + 1)
            return
        width, height = self.scene_size
        even = (width - width % 2, height - height % 2)
        renderer = self.renderer
        if even != (width, height):
            renderer = Renderer(self.timeline.layout, *even)
        view = self.view()
        view = View(view.center, view.scale, *even)
        frame = self.timeline.frame(self.index)
        sink.write(frame, self.keepsakes.mark(renderer.render(frame, view)))
        self.recording = (sink, path, count + 1)

    def stop_recording(self, keep: bool) -> Path | None:
        if self.recording is None:
            return None
        sink, path, _count = self.recording
        self.recording = None
        try:
            if keep:
                sink.finish()
                sink.commit()
                note = self.keepsakes.seal(path, "take")
                self._say(note or f"saved {path}")
                return path
        except ExportError as error:
            self._say(str(error))
        sink.discard()
        return None

    def _say(self, text: str) -> None:
        self.toast = (text, self.clock())

    # -- drawing ---------------------------------------------------------------------

    def draw(self) -> None:
        if self.mode == CLIP:
            frame, area, view = self._draw_clip()
        else:
            frame, view = self.timeline.frame(self.index), self.view()
            area = self.window.subsurface((0, 0, *self.scene_size))
            if self.renderer.same_format(area):
                self.renderer.draw(frame, view, into=area)  # straight into the window
            else:
                area.blit(self.renderer.draw(frame, view), (0, 0))
        layout = self.source.layout
        for name in OVERLAY_ORDER:
            if name in self.overlays:
                overlays.DRAW[name](area, self.font, layout, frame, view)
        if "hud" in self.overlays:
            self._hud(frame)
        self._bar()
        if self.show_help:
            lit = {letter for name, letter, _ in OVERLAYS.values() if name in self.overlays}
            overlays.help_box(self.window, self.font, HELP, lit)
        error = self.error or (self._player.error if self._player is not None else None)
        if error:
            overlays.error_box(self.window, self.font, self.big, error, reloaded=self.error)
        if self.toast and self.clock() - self.toast[1] < 2.5:
            label = self.big.render(self.toast[0], True, ACCENT)
            self.window.blit(label, (12, self.scene_size[1] - 30))
        if self.recording is not None:
            pygame.draw.circle(self.window, ERROR, (self.window.get_width() - 20, 20), 8)

    def _draw_clip(self) -> tuple[Frame, pygame.Surface, View]:
        """The clip's picture, 1:1 and centred where it fits, else scaled down to fit."""
        player = self.player
        item = player.frame(self.index)
        scale, rect = self.placement()
        room = self.window.subsurface((0, 0, *self.scene_size))
        if rect.size != room.get_size():
            room.fill(overlays.SURROUND)
        area = self.window.subsurface(rect)
        clip = player.clip
        if scale == 1.0 and clip.direct and clip.renderer.same_format(area):
            # the export's own drawing, straight into the window (no copy)
            clip.renderer.draw(item.frame, item.view, trails=player.trails(self.index),
                               into=area, hidden=item.hidden,
                               mirrored=item.mirrored)  # fmt: skip
        else:
            if self._picture is None or self._picture[0] != self.index:
                pixels = player.pixels(self.index)
                surface = pygame.Surface((pixels.width, pixels.height), 0, 32)
                if clip.renderer.same_format(surface):
                    surface.get_buffer().write(pixels.data)
                else:  # pragma: no cover - a platform with another pixel layout
                    rgb = pixels.rgb()
                    surface = pygame.image.frombuffer(rgb.tobytes(), rgb.shape[1::-1], "RGB")
                if scale != 1.0:
                    surface = pygame.transform.smoothscale(surface, rect.size)
                self._picture = (self.index, surface)
            area.blit(self._picture[1], (0, 0))
        return item.frame, area, self.view()

    def _hud(self, frame: Frame) -> None:
        layout, source = self.source.layout, self.source
        now = self.clock()
        since, steps, rate = self._step_rate
        if now - since >= 0.5:
            rate = (source.steps - steps) / (now - since)
            self._step_rate = (now, source.steps, rate)
        energy = kinetic_energy(layout, frame) + potential_energy(layout, frame)
        last = source.frame_count - 1
        if self.mode == CLIP:
            item = self.player.frame(self.index)
            scale, _rect = self.placement()
            size = "1:1" if scale == 1.0 else f"scaled {scale:.0%} to fit"
            first = [
                f"clip view ({size})   video {item.video_time:7.3f} s   sim {frame.time:7.3f} s",
                f"frame {self.index}/{last}   shot {item.shot.index} ({item.shot.mode})",
            ]
        else:
            first = [
                f"inspection view   t {frame.time:7.3f} s   frame {frame.index}/{last}",
                "(forked)" if source.fork_at is not None else "free camera",
            ]
        lines = [
            *first,
            f"speed {self.speed:g}x   {'playing' if self.playing else 'paused'}",
            f"{rate:8.0f} steps/s   {len(layout.bodies)} bodies",
            f"energy {energy:12.2f} J (kinetic + potential)",
            "Tab: other view   H: help",
        ]
        overlays.draw_text_block(self.window, self.font, lines, dim_after=5)

    def _bar(self) -> None:
        width, top = self.window.get_width(), self.scene_size[1]
        source = self.source
        pygame.draw.rect(self.window, (30, 33, 40), (0, top, width, BAR))
        last = max(source.frame_count - 1, 1)
        done = source.frontier / last * width
        pygame.draw.rect(self.window, (58, 64, 78), (0, top + 12, done, BAR - 24))
        if source.fork_at is not None:
            x = source.fork_at / last * width
            pygame.draw.line(self.window, ERROR, (x, top + 4), (x, top + BAR - 4), 2)
        x = self.index / last * (width - 1)
        pygame.draw.line(self.window, ACCENT, (x, top + 2), (x, top + BAR - 2), 3)
        label = self.font.render(f"{self.speed:g}x", True, TEXT)
        right = width - label.get_width() - 8
        self.window.blit(label, (right, top + 10))
        note = self.font.render(self.sound_status(), True, DIM)
        self.window.blit(note, (right - note.get_width() - 16, top + 10))


def preview(
    path: str | Path,
    size: tuple[int, int] | None = None,
    *,
    clip_size: tuple[int, int] | None = None,
    inspect: bool = False,
    sound: bool = True,
    play: bool = False,
    overlays: tuple[str, ...] = (),
    screenshot: str | Path | None = None,
    quit_after: int | None = None,
    assets: tuple[Path, ...] = (),
    watermark: bool = True,
    sign: bool = True,
) -> int:
    """Open the window and run it until closed (the ``preview`` command).

    ``quit_after`` frames (with ``screenshot``, a PNG of the window then) is for
    scripted runs: documentation pictures and the real-window test.
    """
    app = PreviewApp(path, size, clip_size=clip_size, view=INSPECT if inspect else CLIP,
                     sound=sound, assets=assets, watermark=watermark, sign=sign)  # fmt: skip
    app.playing = play
    app.overlays |= set(overlays)
    if quit_after is not None:
        app.stop_at = (quit_after, Path(screenshot) if screenshot else None)
    return app.run()
