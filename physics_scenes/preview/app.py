"""The preview window: watch, step, scrub, zoom, throw bodies, reload on save.

The scene is drawn by the exporter's own ``Renderer`` into its own surface (so a
previewed frame is the exported frame, pixel for pixel); overlays, the timeline bar
and text go on the window on top. All state changes go through ``handle(event)``
and ``tick()``, and time comes from an injectable clock, so tests drive the window
with posted events and no real time passes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pygame

from ..errors import SceneError
from ..frame import Frame
from ..output.sink import ExportError, StreamInfo
from ..output.video import Mp4Sink
from ..physics.measure import kinetic_energy, potential_energy
from ..picture.renderer import Renderer
from ..picture.view import View
from ..scene.loader import load_scene
from ..scene.model import Scene
from . import overlays
from .history import History
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
    ("space", "play / pause"),
    ("→ / ←", "step one frame forward / back"),
    ("Home", "back to the start"),
    ("[ / ]", "half / double speed (0.125x to 8x)"),
    ("click / drag bar", "scrub"),
    ("wheel", "zoom around the cursor"),
    ("right-drag", "pan"),
    ("F", "fit the scene"),
    ("left-drag a body", "throw it (forks the timeline)"),
    *((letter, text) for _name, letter, text in OVERLAYS.values()),
    ("S", "save a PNG screenshot"),
    ("R", "start / stop recording an MP4"),
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
        size: tuple[int, int] = (1280, 720),
        clock: Callable[[], float] = time.perf_counter,
        out_dir: str | Path = ".",
        worker: bool = True,
    ) -> None:
        """``worker``: simulate in a second process (the window's normal mode); without
        it everything runs in this process, which tests use for speed."""
        self.path = Path(path)
        self.worker = worker
        self.clock = clock
        self.out_dir = Path(out_dir)
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
            self.window = pygame.display.set_mode(size, pygame.RESIZABLE)
        except pygame.error as error:
            raise NoDisplayError(str(error)) from None
        pygame.font.init()
        pygame.display.set_caption(f"physics-scenes preview: {self.path.name}")
        self.font = pygame.font.Font(None, 20)
        self.big = pygame.font.Font(None, 26)
        self.timeline = self._timeline(load_scene(self.path))
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
        self._step_rate = (now, self.timeline.steps, 0.0)
        self._resize(self.window.get_size())

    def _timeline(self, scene: Scene) -> History | RemoteHistory:
        return RemoteHistory(scene) if self.worker else History(scene)

    def close(self) -> None:
        self.stop_recording(keep=True)
        if isinstance(self.timeline, RemoteHistory):
            self.timeline.close()

    # -- geometry --------------------------------------------------------------------

    @property
    def scene_size(self) -> tuple[int, int]:
        width, height = self.window.get_size()
        return width, max(2, height - BAR)

    def _resize(self, size: tuple[int, int]) -> None:
        width, height = max(size[0], 320), max(size[1], 240)
        if (width, height) != self.window.get_size():
            self.window = pygame.display.set_mode((width, height), pygame.RESIZABLE)
        self.renderer = Renderer(self.timeline.layout, *self.scene_size)

    def view(self) -> View:
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
            self._zoom_at(getattr(event, "pos", None) or pygame.mouse.get_pos(), 1.2**event.y)
        elif event.type == pygame.MOUSEBUTTONDOWN:
            self._press(event.button, event.pos)
        elif event.type == pygame.MOUSEMOTION and self.drag is not None:
            self._move(event.pos)
        elif event.type == pygame.MOUSEBUTTONUP and self.drag is not None:
            if self.drag.kind == "body":
                self.timeline.release()
            self.drag = None

    def _key(self, key: int) -> None:
        if key in (pygame.K_ESCAPE, pygame.K_q):
            self.running = False
        elif key == pygame.K_SPACE:
            if self.index >= self.timeline.frame_count - 1:
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
        self._show(round(fraction * (self.timeline.frame_count - 1)))

    def _show(self, index: int) -> None:
        self.index = self.timeline.clamp(index)
        self.timeline.frame(self.index)

    # -- time ------------------------------------------------------------------------

    def tick(self) -> None:
        """Advance playback by the time since the last tick, reload if saved, draw."""
        now = self.clock()
        # a stall (a reload, a slow first frame) must not make playback jump ahead
        elapsed, self._last_tick = min(now - self._last_tick, MAX_TICK), now
        if self.playing:
            if isinstance(self.timeline, RemoteHistory):
                self.timeline.want(self.index + AHEAD)
            self._carry += elapsed * self.speed * self.timeline.fps
            frames = int(self._carry + 1e-6)  # 1/60 s ticks must not lose a frame to rounding
            self._carry = max(0.0, self._carry - frames)
            for _ in range(frames):
                if self.index >= self.timeline.frame_count - 1:
                    self.playing = False
                    break
                if not self.timeline.ready(self.index + 1):
                    # physics is behind real time: playback slows, the window stays live
                    self._carry = 0.0
                    break
                if self.drag is not None and self.drag.kind == "body":
                    self.timeline.drag(self.to_world(self.drag.last))
                self._show(self.index + 1)
                self._record()
        if now - self._last_poll >= RELOAD_POLL:
            self._last_poll = now
            self.reload_if_changed()
        self.draw()

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
                        pygame.image.save(self.window, str(self.stop_at[1]))
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
            scene = load_scene(self.path)
        except SceneError as error:
            self.error = error.report()
            return False
        except OSError as error:
            self.error = f"{self.path}: {error.strerror or error}"
            return False
        self.error = None
        self.stop_recording(keep=True)
        if isinstance(self.timeline, RemoteHistory):
            self.timeline.close()
        self.timeline = self._timeline(scene)
        self._resize(self.window.get_size())
        self._show(self.index)  # the same moment in the new scene
        self._say("reloaded")
        return True

    # -- outputs ---------------------------------------------------------------------

    def scene_pixels(self) -> bytes:
        """The current frame exactly as the exporter draws it (no overlays)."""
        frame = self.timeline.frame(self.index)
        return self.renderer.render(frame, self.view()).data

    def screenshot(self) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{self.path.stem}-frame{self.index:05d}.png"
        self.draw()
        pygame.image.save(self.window, str(path))
        self._say(f"saved {path}")
        return path

    def toggle_recording(self) -> None:
        if self.recording is not None:
            self.stop_recording(keep=True)
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        number = 1
        while (path := self.out_dir / f"{self.path.stem}-take{number}.mp4").exists():
            number += 1
        width, height = self.scene_size
        width, height = width - width % 2, height - height % 2  # H.264 wants even sizes
        layout, timing = self.timeline.layout, self.timeline.scene.timing
        sink = Mp4Sink(path)
        sink.open(StreamInfo(layout, width, height, timing.fps, 0, timing.dt))
        self.recording = (sink, path, 0)
        self._record()
        self._say(f"recording {path.name}")

    def _record(self) -> None:
        if self.recording is None:
            return
        sink, path, count = self.recording
        width, height = self.scene_size
        even = (width - width % 2, height - height % 2)
        renderer = self.renderer
        if even != (width, height):
            renderer = Renderer(self.timeline.layout, *even)
        view = self.view()
        view = View(view.center, view.scale, *even)
        frame = self.timeline.frame(self.index)
        sink.write(frame, renderer.render(frame, view))
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
                self._say(f"saved {path}")
                return path
        except ExportError as error:
            self._say(str(error))
        sink.discard()
        return None

    def _say(self, text: str) -> None:
        self.toast = (text, self.clock())

    # -- drawing ---------------------------------------------------------------------

    def draw(self) -> None:
        frame = self.timeline.frame(self.index)
        view = self.view()
        scene = self.window.subsurface((0, 0, *self.scene_size))
        if self.renderer.same_format(scene):
            self.renderer.draw(frame, view, into=scene)  # straight into the window
        else:
            scene.blit(self.renderer.draw(frame, view), (0, 0))
        layout = self.timeline.layout
        for name in OVERLAY_ORDER:
            if name in self.overlays:
                overlays.DRAW[name](self.window, self.font, layout, frame, view)
        if "hud" in self.overlays:
            self._hud(frame)
        self._bar()
        if self.show_help:
            self._help()
        if self.error:
            self._error_box(self.error)
        if self.toast and self.clock() - self.toast[1] < 2.5:
            label = self.big.render(self.toast[0], True, ACCENT)
            self.window.blit(label, (12, self.scene_size[1] - 30))
        if self.recording is not None:
            pygame.draw.circle(self.window, ERROR, (self.window.get_width() - 20, 20), 8)

    def _hud(self, frame: Frame) -> None:
        layout = self.timeline.layout
        now = self.clock()
        since, steps, rate = self._step_rate
        if now - since >= 0.5:
            rate = (self.timeline.steps - steps) / (now - since)
            self._step_rate = (now, self.timeline.steps, rate)
        energy = kinetic_energy(layout, frame) + potential_energy(layout, frame)
        lines = [
            f"t {frame.time:7.3f} s   frame {frame.index}/{self.timeline.frame_count - 1}",
            f"speed {self.speed:g}x   {'playing' if self.playing else 'paused'}"
            + ("   (forked)" if self.timeline.fork_at is not None else ""),
            f"{rate:8.0f} steps/s   {len(layout.bodies)} bodies",
            f"energy {energy:12.2f} J (kinetic + potential)",
            "H: help",
        ]
        overlays.draw_text_block(self.window, self.font, lines, dim_after=4)

    def _bar(self) -> None:
        width, top = self.window.get_width(), self.scene_size[1]
        pygame.draw.rect(self.window, (30, 33, 40), (0, top, width, BAR))
        last = max(self.timeline.frame_count - 1, 1)
        done = self.timeline.frontier / last * width
        pygame.draw.rect(self.window, (58, 64, 78), (0, top + 12, done, BAR - 24))
        if self.timeline.fork_at is not None:
            x = self.timeline.fork_at / last * width
            pygame.draw.line(self.window, ERROR, (x, top + 4), (x, top + BAR - 4), 2)
        x = self.index / last * (width - 1)
        pygame.draw.line(self.window, ACCENT, (x, top + 2), (x, top + BAR - 2), 3)
        label = self.font.render(f"{self.speed:g}x", True, TEXT)
        self.window.blit(label, (width - label.get_width() - 8, top + 10))

    def _help(self) -> None:
        rows = [("keys", ""), *HELP]
        box = pygame.Surface((440, 22 * len(rows) + 16), pygame.SRCALPHA)
        box.fill((10, 12, 16, 225))
        for row, (key, text) in enumerate(rows):
            on = any(
                key == letter and name in self.overlays for name, letter, _ in OVERLAYS.values()
            )
            box.blit(self.font.render(key, True, ACCENT if on else TEXT), (14, 10 + 22 * row))
            box.blit(self.font.render(text, True, DIM), (170, 10 + 22 * row))
        self.window.blit(box, ((self.window.get_width() - box.get_width()) // 2, 40))

    def _error_box(self, text: str) -> None:
        lines = text.splitlines()[:12]
        box = pygame.Surface((self.window.get_width() - 40, 20 * len(lines) + 40), pygame.SRCALPHA)
        box.fill((40, 10, 10, 235))
        box.blit(self.big.render("scene not reloaded (still showing the last good one):", True,
                                 ERROR), (12, 8))  # fmt: skip
        for row, line in enumerate(lines):
            box.blit(self.font.render(line, True, TEXT), (12, 32 + 20 * row))
        self.window.blit(box, (20, 60))


def preview(
    path: str | Path,
    size: tuple[int, int] = (1280, 720),
    *,
    play: bool = False,
    overlays: tuple[str, ...] = (),
    screenshot: str | Path | None = None,
    quit_after: int | None = None,
) -> int:
    """Open the window and run it until closed (the ``preview`` command).

    ``quit_after`` frames (with ``screenshot``, a PNG of the window then) is for
    scripted runs: documentation pictures and the real-window test.
    """
    app = PreviewApp(path, size)
    app.playing = play
    app.overlays |= set(overlays)
    if quit_after is not None:
        app.stop_at = (quit_after, Path(screenshot) if screenshot else None)
    return app.run()
