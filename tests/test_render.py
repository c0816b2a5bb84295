"""Pixels: what the renderer draws is where the state says, in the right colours."""

from __future__ import annotations

import math

import numpy as np

from physics_scenes import parse_scene, simulate
from physics_scenes.frame import Frame
from physics_scenes.picture.renderer import Renderer
from physics_scenes.picture.view import SIZE_PRESETS, View

SCENE = """
world: {size: [8, 4.5], background: "#101010"}
timing: {duration: 1, fps: 30}
bodies:
  - {kind: floor, y: 0.3, color: "#406080"}
  - {kind: ball, name: red, radius: 0.3, position: [1, 3], velocity: [2, 0], color: "#ff0000"}
  - {kind: ball, name: green, radius: 0.25, position: [4, 2], velocity: [-1, 3], color: "#00ff00"}
  - {kind: ball, name: blue, radius: 0.4, position: [6.5, 3.5], angular_velocity: 400,
     color: [0, 0, 255]}
  - {kind: box, name: crate, size: [0.8, 0.6], position: [3, 1], angle: 30, color: "#c8964b"}
"""


def first_frames(count: int):
    layout, frames = simulate(parse_scene(SCENE))
    return layout, [f for _, f in zip(range(count), frames, strict=False)]


def test_each_ball_has_its_colour_at_the_pixel_its_state_says() -> None:
    layout, frames = first_frames(25)
    renderer = Renderer(layout, 640, 360)
    view = renderer.default_view()
    checked = 0
    for frame in frames[::6]:
        rgb = renderer.render(frame).rgb()
        for name in ("red", "green", "blue", "crate"):
            row = layout.index(name)
            x, y = view.to_pixels(frame.position[row])
            assert tuple(rgb[int(y), int(x)]) == layout.bodies[row].color, (frame.index, name)
            checked += 1
        # just outside the red ball (1.3 radii away, to its left) is background
        row = layout.index("red")
        x, y = view.to_pixels(frame.position[row] - np.array([0.3 * 1.3, 0]))
        assert tuple(rgb[int(y), int(x)]) == (16, 16, 16)
    assert checked == 20


def test_view_fits_the_region_inside_any_aspect() -> None:
    for width, height in SIZE_PRESETS.values():
        view = View.fit((0, 0), (8, 4.5), width, height)
        corners = view.to_pixels([[0, 0], [8, 4.5]])
        assert corners[0, 0] >= -1e-9 and corners[1, 0] <= width + 1e-9
        assert corners[1, 1] >= -1e-9 and corners[0, 1] <= height + 1e-9
        # the region touches two opposite edges: it is as large as it can be
        assert math.isclose(corners[1, 0] - corners[0, 0], width) or math.isclose(
            corners[0, 1] - corners[1, 1], height
        )


def with_angle(frame: Frame, row: int, angle: float) -> Frame:
    angles = frame.angle.copy()
    angles[row] = angle
    return Frame(
        frame.index,
        frame.time,
        frame.position.copy(),
        angles,
        frame.velocity.copy(),
        frame.angular_velocity.copy(),
    )


def test_spin_mark_turns_with_the_ball() -> None:
    layout, frames = first_frames(1)
    renderer = Renderer(layout, 640, 360)
    view = renderer.default_view()
    row = layout.index("blue")
    cx, cy = view.to_pixels(frames[0].position[row])
    r = 0.4 * view.scale
    mark_right = (int(cy), int(cx + 0.65 * r))
    mark_up = (int(cy - 0.65 * r), int(cx))
    at_zero = renderer.render(with_angle(frames[0], row, 0.0)).rgb()
    at_ninety = renderer.render(with_angle(frames[0], row, math.pi / 2)).rgb()
    assert tuple(at_zero[mark_right]) != (0, 0, 255) and tuple(at_zero[mark_up]) == (0, 0, 255)
    assert tuple(at_ninety[mark_up]) != (0, 0, 255) and tuple(at_ninety[mark_right]) == (0, 0, 255)


def test_rendering_is_pure_no_state_leaks_between_frames() -> None:
    layout, frames = first_frames(20)
    renderer = Renderer(layout, 320, 180)
    first = renderer.render(frames[0]).data
    renderer.render(frames[19])
    zoomed = View((4, 2), 80, 320, 180)
    renderer.render(frames[10], zoomed)
    assert renderer.render(frames[0]).data == first
    assert Renderer(layout, 320, 180).render(frames[0]).data == first
    assert renderer.render(frames[10], zoomed).data != renderer.render(frames[10]).data


def test_raw_pixels_decode_to_rgb_in_the_right_channel_order() -> None:
    layout, frames = first_frames(1)
    pixels = Renderer(layout, 320, 180).render(frames[0])
    assert pixels.pix_fmt in ("bgr0", "rgb0")
    assert len(pixels.data) == 320 * 180 * 4
    rgb = pixels.rgb()
    assert rgb.shape == (180, 320, 3) and rgb.dtype == np.uint8
    reds = np.all(rgb == (255, 0, 0), axis=-1).sum()
    blues = np.all(rgb == (0, 0, 255), axis=-1).sum()
    assert reds > 100 and blues > 100


def test_shared_static_layers_give_the_same_pixels_and_are_drawn_once() -> None:
    """Renderers of one layout share the static layer (``StaticLayers``): the walls are
    drawn by the first, copied by the next, and each picture is what an unshared
    renderer draws; another wall colour or another size is another layer."""
    from physics_scenes.picture.renderer import StaticLayers

    layout, frames = first_frames(3)
    layers = StaticLayers()
    first = Renderer(layout, 160, 90, layers=layers)
    second = Renderer(layout, 160, 90, layers=layers)
    alone = Renderer(layout, 160, 90)
    for frame in frames:
        expected = alone.render(frame).rgb()
        assert (first.render(frame).rgb() == expected).all()
        assert (second.render(frame).rgb() == expected).all()
    assert first._static_layer is not None and second._static_layer is not None
    assert first._static_layer[1] is second._static_layer[1]  # drawn once, then shared
    moved = View((3.0, 2.0), 30.0, 160, 90)  # a camera that moves: its own layer
    expected = Renderer(layout, 160, 90).render(frames[1], moved).rgb()
    assert (second.render(frames[1], moved).rgb() == expected).all()
    assert second._static_layer[1] is not first._static_layer[1]
    assert (first.render(frames[2]).rgb() == alone.render(frames[2]).rgb()).all()
    blue = parse_scene(SCENE.replace("#406080", "#0000ff"))
    other_layout, other_frames = simulate(blue)
    other = Renderer(other_layout, 160, 90, layers=layers)
    frame = next(other_frames)
    rgb = other.render(frame).rgb()
    assert (rgb == Renderer(other_layout, 160, 90).render(frame).rgb()).all()
    x, y = other.default_view().to_pixels(np.array([4.0, 0.1]))  # in the floor
    assert tuple(rgb[int(y), int(x)]) == (0, 0, 255)  # the new floor, not the shared one
    bigger = Renderer(layout, 320, 180, layers=layers)
    assert bigger.render(frames[0]).rgb().shape == (180, 320, 3)
    assert bigger._static_layer is not None
    assert bigger._static_layer[1] is not first._static_layer[1]
