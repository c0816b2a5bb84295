"""Camera, time and look settings get located errors like the rest of the scene file."""

from __future__ import annotations

import pytest

from physics_scenes import SceneError, parse_scene
from physics_scenes.cli import default_size
from physics_scenes.job.clip import Clip
from physics_scenes.scene.camera import CloseUpCamera, FitCamera, TimeSpec

HEAD = """bodies:
  - {kind: floor}
  - {kind: ball, name: ball, radius: 0.3, position: [2, 3]}
  - {kind: ball, name: pin, radius: 0.1, position: [4, 3], grid: {columns: 3, spacing: [0.3, 0]}}
"""


def errors_of(text: str) -> list[tuple[int, int, str, str]]:
    with pytest.raises(SceneError) as caught:
        parse_scene(text, "bad.yaml")
    return [(i.line, i.column, i.path, i.message) for i in caught.value.issues]


def test_unknown_follow_target_is_located_and_suggests_a_name() -> None:
    issues = errors_of(HEAD + "camera:\n  mode: follow\n  target: bal\n")
    assert issues == [(7, 11, "camera.target", "unknown body 'bal' (did you mean 'ball'?)")]


def test_unknown_names_inside_shots_and_trails() -> None:
    text = HEAD + (
        "camera:\n  mode: shots\n  shots:\n"
        "    - {start: 0, camera: {mode: fit, bodies: [ball, pins]}}\n"
        "    - {start: 1, camera: {mode: close_up, target: nobody}}\n"
        "look: {trails: {bodies: [ghost]}}\n"
    )
    paths = [(line, path) for line, _, path, _ in errors_of(text)]
    assert paths == [
        (8, "camera.shots[0].camera.bodies[1]"),
        (9, "camera.shots[1].camera.target"),
        (10, "look.trails.bodies[0]"),
    ]


def test_a_grid_base_name_means_all_its_copies() -> None:
    scene = parse_scene(HEAD + "camera: {mode: fit, bodies: [pin]}\n")
    assert isinstance(scene.camera, FitCamera) and scene.camera.bodies == ("pin",)


def test_bad_mode_rates_and_overlaps() -> None:
    issues = errors_of(HEAD + "camera: {mode: folow, target: ball}\n")
    assert issues[0][2] == "camera.mode" and "did you mean 'follow'?" in issues[0][3]
    issues = errors_of(HEAD + "time: {segments: [{start: 1, end: 2, rate: 0}]}\n")
    assert issues[0][2] == "time.segments[0].rate"
    text = HEAD + "time:\n  segments:\n    - {start: 1, end: 2, rate: 0.5}\n"
    text += "    - {start: 2.1, end: 3, rate: 0.5, ramp: 0.3}\n"
    issues = errors_of(text)
    assert issues[0][:3] == (6, 3, "time") and "segment 1 (with its ramp) overlaps" in issues[0][3]
    issues = errors_of(HEAD + "camera: {mode: fixed, zoom: 2, width: 4}\n")
    assert issues[0][2] == "camera" and "zoom or width" in issues[0][3]
    issues = errors_of(HEAD + "look: {aspect: '3:2'}\n")
    assert issues[0][:3] == (5, 16, "look.aspect")


def test_style_presets_fill_in_camera_time_and_look() -> None:
    timing = "timing: {duration: 1, fps: 20}\n"
    drone = Clip(parse_scene(HEAD + timing + "style: drone view\n"), 160, 90)
    assert isinstance(drone.rig.specs[0], FitCamera)
    assert next(iter(drone.frames())).shot.mode == "fit"
    close = Clip(parse_scene(HEAD + timing + "style: close-up cinematic\n"), 160, 90)
    assert close.look is not None and close.look.aspect == "2.39:1" and close.blur is not None
    assert isinstance(close.rig.specs[0], CloseUpCamera) and close.rig.specs[0].target == "ball"
    both = Clip(parse_scene(HEAD + timing + "style: [drone view, slow motion]\n"), 160, 90)
    assert both.frame_count == 80
    # explicit settings win over a style
    own = parse_scene(HEAD + timing + "style: slow motion\ntime: {segments: "
                      "[{start: 0, end: 0.5, rate: 0.5}]}\n")  # fmt: skip
    assert isinstance(own.time, TimeSpec) and Clip(own, 160, 90).frame_count == 30


def test_vertical_look_makes_the_default_output_vertical() -> None:
    assert default_size(parse_scene(HEAD + "look: {aspect: '9:16'}\n")) == "vertical"
    assert default_size(parse_scene(HEAD)) == "720p"


def test_missing_background_image_is_a_located_error(tmp_path) -> None:
    from physics_scenes import load_scene

    path = tmp_path / "scene.yaml"
    path.write_text(HEAD + "look:\n  background: {image: nope.png}\n", encoding="utf-8")
    with pytest.raises(SceneError) as caught:
        load_scene(path)
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (6, "look.background.image") and "nope.png" in issue.message
