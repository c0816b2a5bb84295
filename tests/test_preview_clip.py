"""The preview's clip view: the clip as ``render`` writes it (camera, clock, looks, sound)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pygame
import pytest
from scipy.io import wavfile

from physics_scenes.audio.dsp import RATE
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.preview import speaker
from physics_scenes.preview.app import BAR, PreviewApp
from physics_scenes.scene.loader import load_scene

from helpers import decode_video

SHOT = """\
world: {size: [8, 4.5], background: "#101010"}
timing: {duration: 0.7, fps: 30, substeps: 4}
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: box, name: crate, position: [5, 0.8], size: [0.6, 0.6], material: wood}
  - {kind: ball, name: red, position: [1, 2.5], radius: 0.3, color: "#ff3030",
     material: rubber, velocity: [5, 0]}  # hits the floor at 0.59 s
camera: {mode: follow, target: red, width: 5, smoothing: 0.2}
time:
  segments: [{start: 0.25, end: 0.45, rate: 0.25, ramp: 0.1}]
"""
LOOKS = {
    # vignette, letterbox bars, motion blur and a trail: the picture is finished in numpy
    "finished": "look: {aspect: '2.39:1', vignette: 0.4, motion_blur: {shutter: 180, "
    "samples: 3}, trails: {bodies: [red], length: 0.3}}\n",
    # a trail and a gradient only: the window draws the export's drawing straight in
    "direct": "look: {trails: {bodies: [red], length: 0.3}, "
    "background: {top: '#203040', bottom: '#000000'}}\n",
    # a title card and a script's caption: burned in as the export burns them
    "captions": "look: {title: {text: Drop, duration: 0.6}}\n"
    "script: [{at: 0.1, caption: {text: the red ball, duration: 2, fade: 0}}]\n",
    # the visible "synthetic" label in a corner, drawn as the export draws it
    "label": "look: {label: {text: Synthetic, corner: bottom-right, opacity: 0.9}}\n",
}
WIDTH, HEIGHT = 320, 180


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def window(path: Path, **options: object) -> PreviewApp:
    return PreviewApp(path, (WIDTH, HEIGHT + BAR), clock=FakeClock(), worker=False,
                      clip_size=(WIDTH, HEIGHT), **options)  # type: ignore[arg-type]  # fmt: skip


def on_screen(app: PreviewApp) -> np.ndarray:
    """The clip's picture as the window shows it (RGB), where ``placement`` puts it."""
    rect = app.placement()[1]
    return pygame.surfarray.array3d(app.window.subsurface(rect)).swapaxes(0, 1)


def key(app: PreviewApp, code: int) -> None:
    app.handle(pygame.event.Event(pygame.KEYDOWN, key=code, mod=0, unicode="", scancode=0))


@pytest.mark.parametrize("look", list(LOOKS))
def test_previewed_clip_frame_is_the_exported_png(tmp_path: Path, look: str) -> None:
    # the export without its invisible mark: the window shows the picture, and the mark
    # (one level, see output.provenance) belongs to delivered files only
    path = tmp_path / "shot.yaml"
    path.write_text(SHOT + LOOKS[look], encoding="utf-8")
    run(RenderJob(load_scene(path), tmp_path / "frames", "png", WIDTH, HEIGHT, states=False,
                  source=path, parallel=False, watermark=False))  # fmt: skip
    app = window(path, sound=False)
    try:
        exported_count = len(list((tmp_path / "frames").iterdir()))
        assert app.mode == "clip" and app.player.frame_count == exported_count > 30  # slowed
        assert app.placement()[0] == 1.0  # the window is large enough: 1:1
        app.overlays = set()
        for index in (0, 12, 13, 30):  # into the slow motion: frames stepped to, in order
            while app.index < index:
                key(app, pygame.K_RIGHT)
            app.draw()
            exported = pygame.image.load(str(tmp_path / "frames" / f"frame_{index:06d}.png"))
            expected = pygame.surfarray.array3d(exported).swapaxes(0, 1)
            shown = on_screen(app)
            raw = np.frombuffer(app.scene_pixels(), np.uint8).reshape(HEIGHT, WIDTH, 4)
            assert np.array_equal(shown, expected), index
            if look == "label":  # white letters in the corner, none elsewhere (dark scene)
                white = shown.min(axis=-1) > 200
                assert white[HEIGHT * 3 // 4 :, WIDTH * 3 // 4 :].sum() > 20, index
                assert white[: HEIGHT // 2].sum() == 0, index
            assert np.array_equal(raw[..., [2, 1, 0]], expected), index
        item = app.player.frame(30)
        assert item.frame.time < item.video_time  # the slow motion is on the clip's clock
        key(app, pygame.K_HOME)  # and back: a frame seen again is the same picture
        app.draw()
        first = pygame.image.load(str(tmp_path / "frames" / "frame_000000.png"))
        assert np.array_equal(on_screen(app), pygame.surfarray.array3d(first).swapaxes(0, 1))
    finally:
        app.close()


def test_tab_switches_to_the_inspection_view_at_the_same_moment_and_back(tmp_path: Path) -> None:
    path = tmp_path / "shot.yaml"
    path.write_text(SHOT + LOOKS["direct"], encoding="utf-8")
    app = window(path, sound=False)
    try:
        for _ in range(20):
            key(app, pygame.K_RIGHT)
        clip_item = app.player.frame(20)
        clip_picture = app.scene_pixels()
        scale = app.view().scale
        app.handle(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=2, pos=(100, 100)))
        assert app.zoom is None and app.view().scale == scale  # no free camera here
        assert app.toast is not None and "Tab" in app.toast[0]
        key(app, pygame.K_TAB)
        assert app.mode == "inspect"
        frame = app.timeline.frame(app.index)
        assert abs(frame.time - clip_item.frame.time) <= 0.5 / 30  # the same moment
        fitted = app.view()
        assert fitted.scale == pytest.approx(HEIGHT / 4.5)  # the whole world, not the camera
        assert clip_item.view.scale == pytest.approx(WIDTH / 5)  # the follow camera's width
        assert app.scene_pixels() != clip_picture
        app.handle(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=2, pos=(100, 100)))
        assert app.view().scale == pytest.approx(fitted.scale * 1.44)  # inspection zooms
        key(app, pygame.K_TAB)
        assert app.mode == "clip" and app.index == 20
        assert app.scene_pixels() == clip_picture
    finally:
        app.close()


def test_the_window_shrinks_a_clip_larger_than_it_to_fit(tmp_path: Path) -> None:
    path = tmp_path / "shot.yaml"
    path.write_text(SHOT + LOOKS["finished"], encoding="utf-8")
    app = PreviewApp(path, (WIDTH, HEIGHT + BAR), clock=FakeClock(), worker=False,
                     clip_size=(2 * WIDTH, 2 * HEIGHT), sound=False)  # fmt: skip
    try:
        scale, rect = app.placement()
        assert scale == 0.5 and rect.size == (WIDTH, HEIGHT)
        app.overlays = set()
        app.draw()
        shown = on_screen(app).astype(int)
        full = np.frombuffer(app.scene_pixels(), np.uint8).reshape(2 * HEIGHT, 2 * WIDTH, 4)
        halved = full[..., [2, 1, 0]].astype(int).reshape(HEIGHT, 2, WIDTH, 2, 3).mean((1, 3))
        assert np.abs(shown - halved).mean() < 2  # the same picture, at half size
    finally:
        app.close()


@pytest.mark.parametrize(
    "worker", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["in-process", "worker"]
)
def test_the_preview_plays_the_exported_sound_track_in_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker: bool
) -> None:
    path = tmp_path / "shot.yaml"
    path.write_text(SHOT + LOOKS["direct"], encoding="utf-8")
    run(RenderJob(load_scene(path), tmp_path / "a.jsonl", "states", 160, 90, audio="wav",
                  source=path, watermark=False))  # fmt: skip
    rate, exported = wavfile.read(tmp_path / "a.wav")  # 24-bit, left-justified in int32
    assert rate == RATE and exported.shape == (round(44 / 30 * RATE), 2)  # 44 frames
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")  # a mixer that plays to nobody
    app = PreviewApp(path, (WIDTH, HEIGHT + BAR), clock=FakeClock(), worker=worker,
                     clip_size=(WIDTH, HEIGHT))  # fmt: skip
    try:
        assert app.sound_status() == "no audio device: silent"  # said on the bar
        key(app, pygame.K_SPACE)
        deadline = time.monotonic() + 60
        # until the speaker holds the track: a worker's track can arrive while the frame
        # is drawn, after that tick's sound sync, and is loaded on the next tick
        while app.speaker is not None and app.speaker.track is None \
                and time.monotonic() < deadline:  # fmt: skip
            app.clock.now += 1 / 30  # type: ignore[attr-defined]
            app.tick()  # playing to the end: the whole clip is known, the track is made
            time.sleep(0.01 if worker else 0)
        track = app.player.track
        assert track is not None and app.speaker is not None
        assert np.array_equal(track * 2**23, (exported >> 8).astype(np.float32))
        assert np.abs(track).max() > 0.1  # the bounces are in it
        assert speaker.RATE == RATE  # the mixer's rate is the track's
        half = app.speaker.sound_from(0.5)  # what the mixer is given to start at 0.5 s
        assert half is not None
        assert np.array_equal(pygame.sndarray.array(half), track[RATE // 2 :])
        # playing from frame 15 starts the sound at 0.5 s; a scrub restarts it there
        app.playing = False
        app._show(15)
        key(app, pygame.K_SPACE)
        app.tick()
        assert app.speaker.playing and app.speaker.anchor is not None
        assert app.speaker.anchor[0] == pytest.approx(app.index / 30, abs=1e-9)
        assert app.index == 15
        for _ in range(3):
            app.clock.now += 1 / 30  # type: ignore[attr-defined]
            app.tick()
        assert app.speaker.anchor[0] == pytest.approx(0.5)  # in step: not restarted
        app._show(40)
        app.tick()
        assert app.speaker.anchor[0] == pytest.approx(40 / 30)
        key(app, pygame.K_RIGHTBRACKET)  # 2x: no sound
        app.tick()
        assert not app.speaker.playing and app.sound_status() == "no audio device: silent"
    finally:
        app.close()


@pytest.mark.slow
def test_real_window_under_xvfb_shows_the_exported_frame_and_tab_view(
    xvfb: str, tmp_path: Path
) -> None:
    path = tmp_path / "shot.yaml"
    path.write_text(SHOT + LOOKS["finished"], encoding="utf-8")
    run(RenderJob(load_scene(path), tmp_path / "frames", "png", WIDTH, HEIGHT, states=False,
                  source=path, parallel=False, watermark=False))  # fmt: skip
    env = {**os.environ, "DISPLAY": xvfb, "SDL_VIDEODRIVER": "x11", "SDL_AUDIODRIVER": "dummy"}
    pictures = {}
    for view in ("clip", "inspect"):
        shot = tmp_path / f"{view}.png"
        result = subprocess.run(
            [sys.executable, "-m", "physics_scenes.cli", "preview", str(path),
             "--clip-size", f"{WIDTH}x{HEIGHT}", "--size", f"{WIDTH}x{HEIGHT + BAR}",
             "--quit-after", "0", "--screenshot", str(shot),
             "--no-watermark", "--no-sign",  # compared bit for bit with an unmarked render
             *(["--inspect"] if view == "inspect" else [])],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        picture = pygame.surfarray.array3d(pygame.image.load(str(shot))).swapaxes(0, 1)
        assert picture.shape == (240, WIDTH, 3)  # the smallest window: 1:1, centred
        pictures[view] = picture[12 : 12 + HEIGHT]
    exported = pygame.surfarray.array3d(
        pygame.image.load(str(tmp_path / "frames" / "frame_000000.png"))
    ).swapaxes(0, 1)
    below_hud = slice(120, HEIGHT)  # the HUD's text is on top of the picture's upper part
    assert np.array_equal(pictures["clip"][below_hud], exported[below_hud])
    assert (pictures["clip"][below_hud, :, :] == 0).all(axis=(1, 2)).sum() >= 20  # the bars
    assert not (pictures["inspect"][below_hud] == 0).all(axis=(1, 2)).any()  # no bars there


@pytest.mark.slow
def test_r_in_the_clip_view_records_the_clips_own_pictures(tmp_path: Path) -> None:
    path = tmp_path / "shot.yaml"
    path.write_text(SHOT + LOOKS["finished"], encoding="utf-8")
    app = PreviewApp(path, (WIDTH, HEIGHT + BAR), clock=FakeClock(), worker=False,
                     clip_size=(WIDTH, HEIGHT), sound=False, out_dir=tmp_path / "out")  # fmt: skip
    try:
        key(app, pygame.K_r)
        key(app, pygame.K_SPACE)
        for _ in range(10):
            app.clock.now += 1 / 30  # type: ignore[attr-defined]
            app.tick()
        key(app, pygame.K_r)
        expected = [app.player.pixels(i).rgb().astype(int) for i in range(11)]
    finally:
        app.close()
    video = decode_video(tmp_path / "out" / "shot-take1.mp4")
    assert video.size == (WIDTH, HEIGHT) and len(video.frames) == 11
    for got, want in zip(video.frames, expected, strict=True):
        assert np.abs(got.astype(int) - want).mean() < 3  # the clip's picture, H.264-coded
