"""The preview window, driven by posted events under SDL's dummy driver (and Xvfb once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pygame
import pytest

from physics_scenes import load_scene, simulate
from physics_scenes.job.pipeline import run_hash_for
from physics_scenes.output.png import PngSequenceSink
from physics_scenes.output.provenance.verify import inspect
from physics_scenes.output.sink import StreamInfo
from physics_scenes.picture.renderer import Renderer
from physics_scenes.preview.app import BAR, Pacer, PreviewApp
from physics_scenes.preview.worker import RemoteHistory

from helpers import SCENES, decode_video

SCENE = """\
world: {size: [8, 4.5], background: "#101010"}
timing: {duration: 4, fps: 60, substeps: 4}
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: ball, name: red, position: [2, 3], radius: 0.4, color: "#ff0000", material: rubber}
  - {kind: ball, name: blue, position: [6, 2], radius: 0.3, color: "#0000ff", velocity: [-1, 0]}
"""


class FakeClock:
    """Time that passes only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=[False, True], ids=["in-process", "worker"])
def app(tmp_path: Path, request: pytest.FixtureRequest):
    path = tmp_path / "scene.yaml"
    path.write_text(SCENE, encoding="utf-8")
    clock = FakeClock()
    window = PreviewApp(
        path, (640, 360 + BAR), clock=clock, out_dir=tmp_path / "out", worker=request.param,
        view="inspect", sound=False,
    )  # fmt: skip
    window.clock_for_tests = clock
    yield window
    window.stop_recording(keep=False)
    window.close()
    pygame.display.quit()


def key(app: PreviewApp, code: int) -> None:
    app.handle(pygame.event.Event(pygame.KEYDOWN, key=code, mod=0, unicode="", scancode=0))


def mouse(app: PreviewApp, kind: int, pos: tuple[int, int], button: int = 1) -> None:
    if kind == pygame.MOUSEMOTION:
        app.handle(pygame.event.Event(kind, pos=pos, rel=(0, 0), buttons=(1, 0, 0)))
    else:
        app.handle(pygame.event.Event(kind, pos=pos, button=button))


def advance(app: PreviewApp, seconds: float) -> None:
    """Let ``seconds`` of wall time pass in small ticks, physics keeping up (a worker
    that lags makes playback wait instead: see the test of that)."""
    for _ in range(round(seconds * 60)):
        app.clock_for_tests.now += 1 / 60
        if app.playing and isinstance(app.timeline, RemoteHistory):
            wanted = app.index + round(8 * app.speed) + 1
            app.timeline.want(wanted)
            deadline = time.monotonic() + 10
            while not app.timeline.ready(wanted) and time.monotonic() < deadline:
                time.sleep(0.001)
        app.tick()


def reference_hashes(path: Path, count: int) -> list[str]:
    _layout, frames = simulate(load_scene(path), count)
    return [frame.state_hash() for frame in frames]


def test_space_plays_at_the_scenes_frame_rate_and_brackets_change_speed(app) -> None:
    key(app, pygame.K_SPACE)
    advance(app, 0.5)
    assert app.index == 30
    key(app, pygame.K_LEFTBRACKET)  # half speed
    advance(app, 0.5)
    assert app.index == 45 and app.speed == 0.5
    for _ in range(10):
        key(app, pygame.K_RIGHTBRACKET)
    assert app.speed == 8.0  # capped
    key(app, pygame.K_SPACE)
    advance(app, 0.5)
    assert app.index == 45  # paused


def test_stepping_back_shows_exactly_the_frame_seen_before(app) -> None:
    reference = reference_hashes(app.path, 30)
    for _ in range(20):
        key(app, pygame.K_RIGHT)
    for _ in range(7):
        key(app, pygame.K_LEFT)
    assert app.index == 13
    assert app.timeline.frame(app.index).state_hash() == reference[13]
    key(app, pygame.K_HOME)
    assert app.index == 0


def test_clicking_and_dragging_the_bar_scrubs(app) -> None:
    total = app.timeline.frame_count
    bar_y = 360 + BAR // 2
    mouse(app, pygame.MOUSEBUTTONDOWN, (320, bar_y))
    assert abs(app.index - (total - 1) / 2) <= 1
    mouse(app, pygame.MOUSEMOTION, (160, bar_y))
    mouse(app, pygame.MOUSEBUTTONUP, (160, bar_y))
    assert abs(app.index - (total - 1) / 4) <= 1
    assert (
        app.timeline.frame(app.index).state_hash() == reference_hashes(app.path, total)[app.index]
    )


def test_wheel_zooms_around_the_cursor_and_right_drag_pans(app) -> None:
    cursor = (500, 100)
    before = app.to_world(cursor)
    scale = app.view().scale
    app.handle(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=2, pos=cursor))
    assert app.view().scale == pytest.approx(scale * 1.44)
    assert app.to_world(cursor) == pytest.approx(before)
    centre = app.view().center
    mouse(app, pygame.MOUSEBUTTONDOWN, (300, 200), button=3)
    mouse(app, pygame.MOUSEMOTION, (350, 200))
    mouse(app, pygame.MOUSEBUTTONUP, (350, 200), button=3)
    assert app.view().center[0] == pytest.approx(centre[0] - 50 / app.view().scale)
    key(app, pygame.K_f)
    assert app.zoom is None


def test_previewed_frame_is_the_exported_frame(app, tmp_path: Path) -> None:
    for _ in range(25):
        key(app, pygame.K_RIGHT)
    shown = app.scene_pixels()
    app.overlays = set()
    app.draw()  # the window itself, overlays off: the same pixels
    on_screen = pygame.surfarray.array3d(app.window).swapaxes(0, 1)[:360]
    layout, frames = simulate(load_scene(app.path), 26)
    frame = list(frames)[25]
    sink = PngSequenceSink(tmp_path / "frames")
    sink.open(StreamInfo(layout, 640, 360, 60, 26, 1 / 240))
    pixels = Renderer(layout, 640, 360).render(frame)
    sink.write(frame, pixels)
    sink.finish()
    sink.commit()
    exported = pygame.image.load(str(tmp_path / "frames" / "frame_000025.png"))
    window_rgb = np.frombuffer(shown, np.uint8).reshape(360, 640, 4)[..., [2, 1, 0]]
    exported_rgb = pygame.surfarray.array3d(exported).swapaxes(0, 1)
    assert np.array_equal(exported_rgb, window_rgb)
    assert np.array_equal(exported_rgb, on_screen)


def test_dragging_a_body_forks_the_timeline_and_scrubbing_back_restores_it(app) -> None:
    reference = reference_hashes(app.path, 120)
    for _ in range(10):
        key(app, pygame.K_RIGHT)
    red = app.timeline.layout.index("red")
    x, y = app.view().to_pixels(app.timeline.frame(10).position[red])
    mouse(app, pygame.MOUSEBUTTONDOWN, (round(x), round(y)))
    assert app.timeline.fork_at == 10 and app.playing
    for step in range(12):
        mouse(app, pygame.MOUSEMOTION, (round(x) + 15 * step, round(y) - 8 * step))
        advance(app, 1 / 60)
    mouse(app, pygame.MOUSEBUTTONUP, (round(x) + 180, round(y) - 96))
    advance(app, 0.5)
    thrown = app.timeline.frame(app.index)
    assert thrown.state_hash() != reference[app.index]
    assert thrown.position[red, 0] > reference_position(app, red, app.index) + 0.5
    key(app, pygame.K_SPACE)
    mouse(app, pygame.MOUSEBUTTONDOWN, (2, 360 + BAR // 2))  # scrub to the start ...
    mouse(app, pygame.MOUSEBUTTONUP, (2, 360 + BAR // 2))
    assert app.timeline.fork_at is None  # ... the original timeline is back
    for index in (5, 60, 119):
        assert app.timeline.frame(index).state_hash() == reference[index]


def reference_position(app: PreviewApp, row: int, index: int) -> float:
    _layout, frames = simulate(load_scene(app.path), index + 1)
    return float(list(frames)[-1].position[row, 0])


def test_saving_the_file_reloads_it_at_the_same_moment(app) -> None:
    for _ in range(30):
        key(app, pygame.K_RIGHT)
    app.path.write_text(SCENE.replace('"#ff0000"', '"#00ff00"'), encoding="utf-8")
    os.utime(app.path, (time.time() + 5, time.time() + 5))
    advance(app, 0.3)
    assert app.error is None and app.index == 30
    assert app.timeline.layout.bodies[app.timeline.layout.index("red")].color == (0, 255, 0)


def test_an_invalid_save_shows_the_error_and_keeps_the_last_good_scene(app) -> None:
    for _ in range(30):
        key(app, pygame.K_RIGHT)
    good = app.timeline
    app.path.write_text(SCENE.replace("radius: 0.4", "radius: -1"), encoding="utf-8")
    os.utime(app.path, (time.time() + 5, time.time() + 5))
    advance(app, 0.3)
    assert app.timeline is good and app.index == 30
    assert app.error is not None
    assert f"{app.path}:5:" in app.error and "bodies[1].radius" in app.error
    box = pygame.surfarray.array3d(app.window)[30:600, 70:100].astype(int)
    assert ((box[..., 0] - box[..., 1] > 20) & (box[..., 0] < 90)).mean() > 0.5  # dark red box


def test_s_saves_a_screenshot_and_r_records_an_mp4(app, tmp_path: Path) -> None:
    key(app, pygame.K_s)
    shot = tmp_path / "out" / "scene-frame00000.png"
    assert pygame.image.load(str(shot)).get_size() == (640, 360 + BAR)
    key(app, pygame.K_r)
    key(app, pygame.K_SPACE)
    advance(app, 0.5)
    key(app, pygame.K_r)
    video = decode_video(tmp_path / "out" / "scene-take1.mp4")
    assert video.size == (640, 360) and len(video.frames) == 31  # the first frame + 30 played
    red = video.frames[0][..., 0].astype(int) - video.frames[0][..., 1]
    assert (red > 150).sum() > 500  # the red ball is in it


def test_j_marks_joint_anchors(tmp_path: Path) -> None:
    path = tmp_path / "pendulum.yaml"
    path.write_text(
        "world: {size: [4, 4], origin: [-2, -2], background: '#000000', gravity: [0, 0]}\n"
        "bodies: [{kind: pendulum, name: p, pivot: [0, 1], length: 1.5, angle: 0}]\n",
        encoding="utf-8",
    )
    window = PreviewApp(path, (400, 400 + BAR), clock=FakeClock(), worker=False, view="inspect",
                        sound=False)  # fmt: skip
    try:
        key(window, pygame.K_i)  # no HUD text in the way
        window.draw()
        before = pygame.surfarray.array3d(window.window).copy()
        key(window, pygame.K_j)
        window.draw()
        after = pygame.surfarray.array3d(window.window)
        changed = np.argwhere((after != before).any(axis=2))
        # 100 px per metre: the pivot (0, 1) is at pixel (200, 100), the bob's anchor at (200, 250)
        assert (np.abs(changed - (200, 100)).max(axis=1) <= 4).any()
        assert (np.abs(changed - (200, 250)).max(axis=1) <= 4).any()
    finally:
        window.close()


def test_h_shows_help_and_overlay_keys_toggle(app) -> None:
    key(app, pygame.K_v)
    key(app, pygame.K_n)
    assert {"velocity", "names", "hud"} <= app.overlays
    key(app, pygame.K_i)
    assert "hud" not in app.overlays
    plain = pygame.surfarray.array3d(app.window).copy()
    key(app, pygame.K_h)
    app.draw()
    assert (pygame.surfarray.array3d(app.window) != plain).any()


def test_closing_the_window_stops_the_loop(app) -> None:
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert app.run() == 0


@pytest.mark.parametrize("driver", [None, "x11"], ids=["sdl-picks", "x11"])
def test_no_display_is_a_clear_message(driver: str | None) -> None:
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    if driver:
        env["SDL_VIDEODRIVER"] = driver  # without one SDL falls back to an invisible window
    result = subprocess.run(
        [sys.executable, "-m", "physics_scenes.cli", "preview", str(SCENES / "dominoes.yaml")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "cannot open a window" in result.stderr and "physics-scenes render" in result.stderr
    assert "Traceback" not in result.stderr


def test_real_window_under_xvfb_takes_a_screenshot(xvfb: str, tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    env = {**os.environ, "DISPLAY": xvfb, "SDL_VIDEODRIVER": "x11"}
    scene = SCENES / "bouncing_balls.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "physics_scenes.cli", "preview", str(scene), "--size", "800x480",
         "--play", "--overlays", "velocity,names", "--quit-after", "20", "--screenshot", str(shot)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    picture = pygame.surfarray.array3d(pygame.image.load(str(shot))).swapaxes(0, 1)
    assert picture.shape == (480, 800, 3)
    rubber = load_scene(scene).bodies[1]
    assert rubber.name == "rubber"
    orange = (np.abs(picture.astype(int) - (228, 87, 46)).sum(axis=2) < 30).sum()
    assert orange > 300  # the rubber ball, drawn in the real window


def test_resizing_the_window_redraws_the_scene_at_the_new_size(app) -> None:
    app.handle(pygame.event.Event(pygame.VIDEORESIZE, size=(800, 500), w=800, h=500))
    assert app.window.get_size() == (800, 500)
    assert app.scene_size == (800, 500 - BAR)
    assert len(app.scene_pixels()) == 800 * (500 - BAR) * 4
    app.draw()


@pytest.mark.slow  # a real window and a real signal (4.5 s); .ci/run runs it
def test_ctrl_c_closes_the_window_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    process = subprocess.Popen(
        [sys.executable, "-m", "physics_scenes.cli", "preview", str(SCENES / "ball_pile.yaml"),
         "--play"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    time.sleep(4)  # started, and playing
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err


def interact(timeline) -> list[str]:  # type: ignore[no-untyped-def]
    """Two grabs (the second inside the first fork), then every frame's hash, in order."""
    red = timeline.layout.index("red")
    for index, dx in ((20, 0.04), (45, -0.03)):
        point = tuple(timeline.frame(index).position[red])
        timeline.grab(index, "red", point)
        for k in range(1, 10):
            timeline.drag((point[0] + dx * k, point[1] + 0.02 * k))
            timeline.frame(index + k)
        timeline.release()
    timeline.frame(90)
    return [timeline.frame(i).state_hash() for i in range(25, 91)]


def test_frames_dropped_from_the_cache_come_back_identical_even_in_a_nested_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from physics_scenes.preview import history

    path = tmp_path / "scene.yaml"
    path.write_text(SCENE, encoding="utf-8")
    kept = interact(history.History(load_scene(path)))
    monkeypatch.setattr(history, "MAX_CACHED_BYTES", 20_000)  # a few frames only
    small = history.History(load_scene(path))
    assert interact(small) == kept
    assert len(small._branch.frames) < 40  # of 91 frames shown: most were dropped and rebuilt
    assert kept != reference_hashes(path, 91)[25:91]  # the hand really changed things


def test_playback_waits_for_physics_that_lags_and_the_window_keeps_drawing(app) -> None:
    simulated = 10  # pretend physics has got this far
    app.timeline.ready = lambda index: index <= simulated
    asked: list[int] = []
    frame = app.timeline.frame
    app.timeline.frame = lambda index: asked.append(index) or frame(index)
    key(app, pygame.K_SPACE)
    for _ in range(30):  # half a second of ticks
        app.clock_for_tests.now += 1 / 60
        app.tick()
    assert app.index == 10 and app.playing  # held at the last simulated frame, still playing
    assert max(asked) == 10  # never blocked on a frame that was not there
    simulated = 40
    advance(app, 0.25)
    assert app.index == 25  # caught up frame by frame, no jump


def test_the_window_pacer_makes_up_for_a_slow_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 9))
        clock.now += seconds

    monkeypatch.setattr(time, "sleep", sleep)
    pacer = Pacer(100.0, clock)  # a pass every 10 ms
    sleeps = []
    for work in (0.0, 0.004, 0.015, 0.004, 0.004, 0.050, 0.004, 0.004):
        clock.now += work
        slept.clear()
        pacer.wait()
        sleeps.append(slept[0] if slept else 0.0)
    # 4 ms of work: sleep 6 ms. After a 15 ms pass the next sleeps only 1 ms (back on the
    # beat). After a 50 ms stall one pass comes early, then the beat resumes: no burst.
    assert sleeps == [0.01, 0.006, 0.0, 0.001, 0.006, 0.0, 0.0, 0.002]


def test_screenshots_and_takes_carry_the_renders_mark_and_a_signed_manifest(
    tmp_path: Path,
) -> None:
    # what the window saves is a picture physics_scenes made, like render's outputs
    path = tmp_path / "scene.yaml"
    path.write_text(SCENE.replace("duration: 4", "duration: 0.5"), encoding="utf-8")
    saved = {}
    for marked in (True, False):
        out = tmp_path / ("marked" if marked else "plain")
        window = PreviewApp(path, (320, 180 + BAR), clock=FakeClock(), out_dir=out,
                            worker=False, view="inspect", sound=False, watermark=marked,
                            sign=marked)  # fmt: skip
        try:
            key(window, pygame.K_s)
            key(window, pygame.K_r)
            for _ in range(5):
                key(window, pygame.K_RIGHT)
            key(window, pygame.K_r)
        finally:
            window.close()
        saved[marked] = (out / "scene-frame00000.png", out / "scene-take1.mp4")
    _run_hash, content_id = run_hash_for(load_scene(path), path)
    for file in saved[True]:
        report = inspect(file)
        assert report.picture is not None and report.picture.payload == content_id, file
        assert report.manifest.state in ("trusted", "untrusted"), report.manifest.reasons
        assert report.manifest.claims is not None
        assert report.manifest.claims["content_id"] == content_id
        assert manifest_title(file) == file.name  # signed under its own name
    for file in saved[False]:
        report = inspect(file)
        assert report.picture is not None and not report.picture.found, file
        assert report.manifest.state == "none"


def manifest_title(path: Path) -> str:
    """The active manifest's title, read with the C2PA SDK itself."""
    import json

    import c2pa

    mime = {".png": "image/png", ".mp4": "video/mp4"}[path.suffix]
    with path.open("rb") as stream, c2pa.Reader(mime, stream) as reader:
        store = json.loads(reader.json())
    return str(store["manifests"][store["active_manifest"]]["title"])
