"""Camera rigs and looks, checked on decoded pixels and on the states output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from physics_scenes import load_scene, parse_scene
from physics_scenes.job.clip import Clip
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.physics.simulate import simulate
from physics_scenes.picture.camera import Picture, cut_frame, extents, smooth_damp
from physics_scenes.picture.renderer import Renderer

from helpers import SCENES


def states(path: Path) -> tuple[dict, list[dict]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return lines[0], lines[1:-1]


def to_pixel(record: dict, point: list[float]) -> np.ndarray:
    return np.array(record["camera"]["matrix"]) @ [point[0], point[1], 1.0]


def test_smooth_damp_is_critically_damped() -> None:
    x, v = np.array([0.0]), np.array([0.0])
    trace = []
    for _ in range(300):
        x, v = smooth_damp(x, np.array([1.0]), v, 0.5, 1 / 60)
        trace.append(x[0])
    assert np.all(np.diff(trace) >= 0) and max(trace) <= 1.0  # no overshoot
    assert trace[59] > 0.9 and trace[-1] == pytest.approx(1.0, abs=1e-4)


def test_follow_keeps_the_ball_central_and_moves_smoothly(tmp_path: Path) -> None:
    out = tmp_path / "follow.jsonl"
    run(RenderJob(load_scene(SCENES / "follow_the_ball.yaml"), out, "states", 640, 360))
    header, frames = states(out)
    row = [b["name"] for b in header["bodies"]].index("runner")
    pixels = np.array([to_pixel(f, f["position"][row]) for f in frames])
    offset = np.abs(pixels - [320, 180]) / [640, 360]
    settled = offset[60:]  # after the first second
    assert np.all(settled <= 0.1), settled.max(axis=0)  # inside the central 20 %
    moved = np.ptp(np.array([f["camera"]["center"] for f in frames]), axis=0)
    assert moved[0] > 20 and moved[1] > 15  # it really travelled with the ball
    # smoothness: the picture's acceleration is small while rolling (no jitter)
    centers = np.array([f["camera"]["center"] for f in frames]) * 640 / 12
    accel = np.linalg.norm(np.diff(centers, 2, axis=0), axis=1)
    assert np.median(accel) < 0.1 and np.percentile(accel, 95) < 1.0


FLYING = """
seed: 4
world: {gravity: [0, -3]}
timing: {duration: 3, fps: 30, substeps: 4}
bodies:
  - {kind: ball, name: a, position: [8, 4.5], radius: 0.3, velocity: [4, 3]}
  - {kind: ball, name: b, position: [6.9, 4.5], radius: 0.5, velocity: [-5, 1], material: metal}
  - {kind: box, name: c, position: [8, 3], size: [0.8, 0.4], velocity: [1, -2],
     angular_velocity: 90}
  - {kind: ball, name: d, position: [9, 6], radius: 0.2, velocity: [0, 6], material: rubber}
"""


@pytest.mark.parametrize(
    "camera",
    [
        "{mode: fit, margin: 0.5, rotation: 12}",
        "drone view",
        "{mode: wide, margin: 0.0, smoothing: 2.0, drift: 3}",
    ],
)
def test_fit_keeps_every_body_inside_every_frame(camera: str) -> None:
    scene = parse_scene(FLYING + f"camera: {camera}\nlook: {{aspect: '2.39:1'}}\n")
    clip = Clip(scene, 640, 360)
    reach = extents(clip.layout)
    picture = clip.picture
    top = (picture.height - picture.area_height) / 2
    spans = []
    for cf in clip.frames():
        centers = cf.view.to_pixels(cf.frame.position)
        r = reach[:, None] * cf.view.scale
        lo, hi = centers - r, centers + r
        assert np.all(lo[:, 0] >= -1e-6) and np.all(hi[:, 0] <= picture.width + 1e-6)
        assert np.all(lo[:, 1] >= top - 1e-6) and np.all(
            hi[:, 1] <= top + picture.area_height + 1e-6
        )
        spans.append(cf.view.scale)
    assert max(spans) / min(spans) > 1.4  # it zoomed out as the bodies flew apart


SHOTS = """
timing: {duration: 2, fps: 30}
bodies:
  - {kind: floor, y: 0.5}
  - {kind: ball, name: ball, position: [4, 5], radius: 0.4, velocity: [3, 0]}
camera:
  mode: shots
  shots:
    - {start: 0, camera: {mode: follow, target: ball, width: 6}}
    - {start: 1.0, camera: {mode: fixed, center: [2, 3], width: 8}}
    - {start: 1.51, camera: {mode: close_up, target: ball, fill: 0.5}}
"""


def test_cuts_land_on_the_exact_frame() -> None:
    clip = Clip(parse_scene(SHOTS), 320, 180)
    records = [(cf.frame.index, cf.shot.index, cf.shot.mode, cf.view) for cf in clip.frames()]
    shots = [s for _, s, _, _ in records]
    assert cut_frame(1.0, 30) == 30 and cut_frame(1.51, 30) == 46
    assert shots.index(1) == 30 and shots.index(2) == 46 and shots == sorted(shots)
    fixed = records[30][3]
    assert fixed.center == (2.0, 3.0) and fixed.scale == 320 / 8  # no smoothing across the cut
    assert records[29][3].scale == 320 / 6
    close = records[46][3]
    assert close.scale == pytest.approx(180 * 0.5 / 0.8)


BLUR = """
world: {gravity: [0, 0], background: "#000000"}
timing: {duration: 0.5, fps: 30, substeps: 4}
bodies:
  - {kind: ball, name: dot, position: [-1.9, 0], radius: 0.03, velocity: [12, 0], color: white}
camera: {mode: fixed, center: [0, 0], width: 4}
"""


def row_profile(rgb: np.ndarray, y: int) -> np.ndarray:
    return rgb[y, :, :].astype(float).mean(axis=1) / 255.0


def fwhm(profile: np.ndarray) -> float:
    """Width at half maximum, with linear interpolation at both edges."""
    half = profile.max() / 2
    above = np.flatnonzero(profile >= half)
    a, b = above[0], above[-1]
    left = a - (profile[a] - half) / (profile[a] - profile[a - 1])
    right = b + (profile[b] - half) / (profile[b] - profile[b + 1])
    return right - left


@pytest.mark.parametrize("shutter", [180.0, 270.0])
def test_motion_blur_streak_matches_velocity_times_shutter(shutter: float) -> None:
    look = f"look: {{motion_blur: {{shutter: {shutter}, samples: 24}}}}\n"
    clip = Clip(parse_scene(BLUR + look), 640, 360)
    sharp = Clip(parse_scene(BLUR), 640, 360)
    scale = 640 / 4
    for cf, plain in zip(clip.frames(), sharp.frames(), strict=True):
        if not 5 <= cf.frame.index < 8:
            continue  # (pixels must be asked for frame by frame, in order)
        rgb = clip.pixels(cf).rgb()
        y = round(cf.view.to_pixels(cf.frame.position[0])[1])
        streak = fwhm(row_profile(rgb, y))
        expected = 12 * (shutter / 360 / 30) * scale
        assert streak == pytest.approx(expected, rel=0.10), (streak, expected)
        dot = fwhm(row_profile(sharp.pixels(plain).rgb(), y))
        assert dot == pytest.approx(0.06 * scale, rel=0.25)  # unblurred: just the disc
        # the streak is centred on the recorded position (the ground truth)
        profile = row_profile(rgb, y)
        centroid = (profile * np.arange(640)).sum() / profile.sum()
        assert centroid == pytest.approx(cf.view.to_pixels(cf.frame.position[0])[0], abs=1.5)


COLOURS = {"r": (230, 57, 70), "g": (82, 183, 136), "b": (69, 123, 230), "y": (244, 211, 94)}
MAPPED = """
seed: 9
world: {background: "#000000"}
timing: {duration: 1.5, fps: 20, substeps: 4}
bodies:
  - {kind: floor, name: floor, y: 0.5, color: "#303030"}
  - {kind: ball, name: r, position: [3, 5], radius: 0.5, color: red, velocity: [2, 0]}
  - {kind: ball, name: g, position: [6, 7], radius: 0.6, color: green, velocity: [-1, 2]}
  - {kind: ball, name: b, position: [10, 4], radius: 0.5, color: blue, velocity: [1, 3]}
  - {kind: ball, name: y, position: [13, 6], radius: 0.7, color: yellow}
camera:
  mode: keyframes
  shake: {impulse: 0.5, amplitude: 0.2}
  keys:
    - {time: 0, center: [8, 4.5], zoom: 1, rotation: 0}
    - {time: 1.0, center: [7, 4], zoom: 1.4, rotation: 25, ease: ease_in_out}
time: {segments: [{start: 0.3, end: 0.8, rate: 0.5}]}
look: {aspect: "2.39:1", vignette: 0.2}
"""


def test_states_camera_maps_every_ball_to_its_colour(tmp_path: Path) -> None:
    out = tmp_path / "frames"
    run(RenderJob(parse_scene(MAPPED), out, "png", 640, 360))
    header, frames = states(tmp_path / "frames.states.jsonl")
    names = [b["name"] for b in header["bodies"]]
    import imageio.v3 as iio

    checked = 0
    for record in frames[::4]:
        assert record["video_time"] == record["index"] / 20
        rgb = iio.imread(out / f"frame_{record['index']:06d}.png")
        for name, colour in COLOURS.items():
            x, y = to_pixel(record, record["position"][names.index(name)])
            if not (2 <= x < 638 and 70 <= y < 290):
                continue  # off the picture or behind the letterbox bars
            got = rgb[int(y), int(x)].astype(int)
            # the vignette darkens by at most 20 % at the corners
            assert np.abs(got - colour).max() <= 0.2 * max(colour) + 3, (name, got, colour)
            checked += 1
    assert checked >= 24
    rotations = {round(f["camera"]["rotation"], 3) for f in frames}
    assert len(rotations) > 5  # the camera turned, so the matrix is not a plain scale


def test_letterbox_bars_are_black_and_sized_for_2_39() -> None:
    assert Picture.of(1280, 720, 2.39) == Picture(1280, 720, 1280, 536)
    assert Picture.of(1280, 720, 9 / 16) == Picture(1280, 720, 404, 720)
    clip = Clip(parse_scene(BLUR + "style: cinematic\n"), 640, 360)
    cf = next(iter(clip.frames()))
    rgb = clip.pixels(cf).rgb()
    bar = (360 - clip.picture.area_height) // 2
    assert bar == 46 and rgb[:bar].max() == 0 and rgb[-bar:].max() == 0
    assert clip.blur is not None and clip.finisher.mask is not None


def test_plain_scene_pixels_are_unchanged_by_the_camera_path() -> None:
    scene = load_scene(SCENES / "ramp_tumble.yaml")
    layout, stream = simulate(scene, 20)
    renderer = Renderer(layout, 320, 180)
    clip = Clip(scene, 320, 180)
    for frame, cf in zip(stream, clip.frames(), strict=False):
        assert cf.frame.state_hash() == frame.state_hash()
        assert clip.pixels(cf).data == renderer.render(frame).data


def test_camera_effects_are_deterministic() -> None:
    def digest() -> list[bytes]:
        clip = Clip(parse_scene(MAPPED + "  \n"), 160, 90)
        return [clip.pixels(cf).data for cf in clip.frames()]

    assert digest() == digest()


def test_gradient_background_and_trails_are_drawn() -> None:
    text = BLUR.replace('background: "#000000"', 'background: "#000000"') + (
        "look: {background: {top: '#ff0000', bottom: '#0000ff'}, trails: {length: 0.2}}\n"
    )
    clip = Clip(parse_scene(text), 320, 180)
    for cf in clip.frames():
        rgb = clip.pixels(cf).rgb()
        if cf.frame.index == 7:
            break
    assert rgb[0, 0, 0] > 200 and rgb[-1, 0, 2] > 200  # red at the top, blue at the bottom
    x, y = cf.view.to_pixels(cf.frame.position[0])
    behind = rgb[round(y), round(x) - 12]  # the trail, a few pixels behind the dot
    background = rgb[round(y) + 20, round(x) - 12]
    assert np.abs(behind.astype(int) - background).max() > 40


def test_close_up_fills_the_requested_fraction() -> None:
    text = SHOTS.split("camera:")[0] + "camera: {mode: close_up, target: ball, fill: 0.4}\n"
    clip = Clip(parse_scene(text), 640, 360)
    for cf in list(clip.frames())[:5]:
        diameter_px = 0.8 * cf.view.scale
        assert diameter_px / 360 == pytest.approx(0.4)
        assert cf.view.center == pytest.approx(tuple(cf.frame.position[1]), abs=0.05)


def test_shake_is_seeded_and_starts_on_a_hard_impact() -> None:
    text = MAPPED.split("camera:")[0] + (
        "camera: {mode: fixed, shake: {impulse: 1, amplitude: 0.3}}\n"
    )

    def centers(seed: int) -> list[tuple[float, float]]:
        clip = Clip(parse_scene(text.replace("seed: 9", f"seed: {seed}")), 160, 90)
        return [(cf.view.center, bool(cf.frame.events)) for cf in clip.frames()]

    first, again, other = centers(9), centers(9), centers(10)
    assert first == again and first != other
    still = next(i for i, (_, hit) in enumerate(first) if hit)
    assert all(c == first[0][0] for c, _ in first[:still])  # no shake before the first impact
    assert math.dist(first[still + 1][0], first[0][0]) > 0.01


def test_image_background_is_read_relative_to_the_scene_file(tmp_path: Path) -> None:
    import imageio.v3 as iio

    picture = np.zeros((20, 40, 3), dtype=np.uint8)
    picture[:, :20] = (200, 30, 30)
    picture[:, 20:] = (30, 30, 200)
    iio.imwrite(tmp_path / "sky.png", picture)
    text = BLUR + "look: {background: {image: sky.png}}\n"
    clip = Clip(parse_scene(text), 160, 90, source_dir=tmp_path)
    rgb = clip.pixels(next(iter(clip.frames()))).rgb()
    assert tuple(rgb[5, 5]) == (200, 30, 30) and tuple(rgb[5, 150]) == (30, 30, 200)


def test_keyframes_ease_between_keys() -> None:
    text = SHOTS.split("camera:")[0] + (
        "camera:\n  mode: keyframes\n  keys:\n"
        "    - {time: 0, center: [0, 0], width: 8, rotation: 0}\n"
        "    - {time: 1, center: [4, 2], width: 4, rotation: 90, ease: linear}\n"
        "    - {time: 1.5, center: [8, 2], ease: ease_in_out}\n"
    )
    views = {cf.frame.index: cf.view for cf in Clip(parse_scene(text), 320, 180).frames()}
    assert views[0].center == (0.0, 0.0) and views[0].scale == 40.0
    quarter = views[15]  # linear, 1/2 of the way from key 0 to key 1 in time
    assert quarter.center == pytest.approx((2.0, 1.0))
    assert quarter.scale == pytest.approx(math.sqrt(40 * 80))  # zoom eases geometrically
    assert quarter.rotation == pytest.approx(math.pi / 4)
    eased = views[35]  # ease_in_out at 1/3 of the way: smoothstep(1/3) = 7/27
    assert eased.center[0] == pytest.approx(4 + 4 * 7 / 27)
    # zoom and rotation carry over from the key before
    assert eased.scale == pytest.approx(80.0) and eased.rotation == pytest.approx(math.pi / 2)
    assert views[59].center == (8.0, 2.0)


def test_a_target_that_blows_up_does_not_break_the_camera() -> None:
    from physics_scenes.frame import Frame
    from physics_scenes.picture.camera import CameraRig
    from physics_scenes.scene.camera import FollowCamera

    clip = Clip(parse_scene(SHOTS), 320, 180)
    rig = CameraRig(FollowCamera(mode="follow", target="ball"), clip.layout,
                    clip.picture, 30, 0)  # fmt: skip
    frames = [cf.frame for _, cf in zip(range(3), clip.frames(), strict=False)]
    good = [rig.view(f, f.index / 30)[0] for f in frames]
    broken = np.array(frames[-1].position)
    broken[1] = (np.nan, np.inf)
    bad = Frame(3, 0.1, broken, np.array(frames[-1].angle), np.full((2, 2), np.nan),
                np.array(frames[-1].angular_velocity))  # fmt: skip
    view, _ = rig.view(bad, 0.1)
    assert view == good[-1] and all(math.isfinite(v) for v in view.center)
