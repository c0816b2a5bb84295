"""Looks: spin marks on or off, strings behind what they hold, ropes as one smooth band."""

from __future__ import annotations

import numpy as np

from physics_scenes import Clip, parse_scene, simulate
from physics_scenes.picture.renderer import Renderer

BALL = """
world: {size: [8, 4.5], gravity: [0, 0], background: "#101010"}
timing: {frames: 2, fps: 30}
bodies:
  - {kind: ball, name: b, radius: 0.8, position: [4, 2.25], angle: 30, color: "#e4572e"}
"""


def inner_colours(look: str) -> set[tuple[int, ...]]:
    clip = Clip(parse_scene(BALL + look), 320, 180)
    shown = next(iter(clip.frames()))
    rgb = clip.pixels(shown).rgb()
    (cx, cy), radius = shown.view.to_pixels([4.0, 2.25]), 0.8 * shown.view.scale
    ys, xs = np.mgrid[0:180, 0:320] + 0.5
    inside = np.hypot(xs - cx, ys - cy) < radius * 0.8
    return {tuple(c) for c in rgb[inside].tolist()}


def test_spin_marks_follow_the_look_and_are_off_in_cinematic() -> None:
    assert inner_colours("") != {(228, 87, 46)}  # on by default: a dash inside the ball
    assert inner_colours("look: {spin_marks: true}") != {(228, 87, 46)}
    assert inner_colours("look: {spin_marks: false}") == {(228, 87, 46)}
    # the cinematic style's vignette darkens the corners only; the ball stays flat
    assert inner_colours("style: cinematic") == {(228, 87, 46)}
    assert inner_colours("style: cinematic\nlook: {spin_marks: true}") != {(228, 87, 46)}


def test_cradle_strings_are_drawn_behind_the_balls() -> None:
    scene = parse_scene("""
world: {size: [4, 2.25], background: "#101010"}
timing: {frames: 1, fps: 30}
bodies:
  - {kind: newtons_cradle, name: c, position: [2, 2], balls: 3, radius: 0.2, lift: 1,
     color: "#3070d0"}
""")
    layout, frames = simulate(scene)
    frame = next(iter(frames))
    renderer = Renderer(layout, 640, 360, spin_marks=False)
    view = renderer.default_view()
    rgb = renderer.render(frame, view).rgb()
    ys, xs = np.mgrid[0:360, 0:640] + 0.5
    balls = [i for i, b in enumerate(layout.bodies) if b.kind == "ball"]
    assert len(balls) == 3
    for row in balls:
        (cx, cy), radius = view.to_pixels(frame.position[row]), 0.2 * view.scale
        inside = np.hypot(xs - cx, ys - cy) < radius * 0.8
        # the string ends at the ball's centre; over the ball it would show as a light line
        assert {tuple(c) for c in rgb[inside].tolist()} == {layout.bodies[row].color}


def test_a_rope_is_one_band_through_its_hinges() -> None:
    scene = parse_scene("""
world: {size: [4, 2.25], gravity: [0, 0], background: "#101010"}
timing: {frames: 1, fps: 30}
bodies:
  - {kind: rope, name: r, start: [0.5, 1.0], end: [3.5, 1.0], length: 3.6, links: 12,
     thickness: 0.06, color: "#d9a441"}
""")
    layout, frames = simulate(scene)
    frame = next(iter(frames))
    renderer = Renderer(layout, 640, 360)
    view = renderer.default_view()
    rgb = renderer.render(frame, view).rgb().astype(int)
    links = [i for i, b in enumerate(layout.bodies) if b.kind == "link"]
    hinges = view.to_pixels(frame.position[links])
    rope = np.array([217, 164, 65])
    for x, y in hinges[1:]:  # every hinge in the band, in the rope's colour (the first is
        assert np.abs(rgb[int(y), int(x)] - rope).max() <= 3, (x, y)  # under the world pin)
    # one band as wide as the rope all along: its area is its length times its width
    cover = np.clip((rgb - 16) @ (rope - 16) / ((rope - 16) @ (rope - 16)), 0, 1).sum()
    width = 0.06 * view.scale
    length = 3.6 * view.scale
    expected = length * width + np.pi * width**2 / 4  # with its two round ends
    assert abs(cover - expected) < 0.03 * expected, (cover, expected)


ROLLING = """
world: {size: [16, 9], gravity: [0, 0], background: "#101010"}
timing: {duration: 3, fps: 20}
bodies:
  - {kind: ball, name: runner, radius: 0.4, position: [1.5, 3], velocity: [4.5, 0]}
  - {kind: ball, name: idle, radius: 0.4, position: [14, 6]}
"""


def test_a_vertical_picture_of_a_wide_scene_reframes_and_follows_the_action() -> None:
    clip = Clip(parse_scene(ROLLING), 180, 320)
    row = clip.layout.index("runner")
    inside = []
    for shown in clip.frames():
        view = shown.view
        assert shown.shot.mode == "reframe"
        assert view.scale == 320 / 9  # the region fills the height, not the width (11.25)
        left, right = view.to_world([[0, 160], [180, 160]])[:, 0]
        assert left >= -1e-9 and right <= 16 + 1e-9  # never past the region's sides
        x, _ = view.to_pixels(shown.frame.position[row])
        inside.append(0.4 * view.scale <= x <= 180 - 0.4 * view.scale)
    assert all(inside)  # the rolling ball stays whole in the picture all the way across
    # a 16:9 picture of the same scene keeps the fitted default view
    wide = next(iter(Clip(parse_scene(ROLLING), 320, 180).frames()))
    assert wide.shot.mode == "default" and wide.view.scale == 20.0
