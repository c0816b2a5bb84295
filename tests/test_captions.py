"""Captions: burned into the picture (inside the safe area, faded, boxed), in the WebVTT
and SRT sidecars at the firing's video time, and as a mov_text track in the MP4."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from physics_scenes.job.clip import Clip
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.picture.camera import Picture
from physics_scenes.picture.captions import SAFE_MARGIN, Captions
from physics_scenes.picture.view import Pixels
from physics_scenes.scene.captions import Caption, Cue
from physics_scenes.scene.loader import parse_scene

from helpers import decode_video

W, H = 320, 180
GREY = 80


def flat(width: int = W, height: int = H) -> Pixels:
    data = np.full((height, width, 4), GREY, dtype=np.uint8)
    return Pixels(width, height, data.tobytes(), "bgr0")


def rgb(pixels: Pixels) -> np.ndarray:
    return pixels.rgb().astype(int)


def test_a_caption_is_white_text_on_a_dark_box_inside_the_safe_area() -> None:
    cue = Cue(1.0, 3.0, Caption(text="hello world", fade=0.5))
    captions = Captions(Picture.of(W, H, None), [cue])
    before, shown = rgb(captions.draw(flat(), 0.9)), rgb(captions.draw(flat(), 2.0))
    assert (before == GREY).all()  # not yet
    changed = np.argwhere((shown != GREY).any(axis=2))
    (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
    assert left >= W * SAFE_MARGIN and right < W * (1 - SAFE_MARGIN)
    assert bottom < H * (1 - SAFE_MARGIN) and top > H / 2  # at the bottom, inside the margin
    assert shown.max() >= 250  # white text
    assert shown.min() <= GREY * 0.45  # the box darkens (60 %)
    assert abs((left + right) / 2 - W / 2) <= 2  # centred


def test_fade_in_and_out_and_no_box() -> None:
    cue = Cue(0.0, 2.0, Caption(text="fade", fade=0.5, box=False, color="#ff0000"))
    captions = Captions(Picture.of(W, H, None), [cue])
    red = [rgb(captions.draw(flat(), t))[..., 0].max() for t in (0.25, 1.0, 1.75, 2.0)]
    assert red[0] == pytest.approx(GREY + (255 - GREY) * 0.5, abs=2)  # half way in
    assert red[1] == 255 and red[2] == red[0] and red[3] == GREY
    assert rgb(captions.draw(flat(), 1.0))[..., 0].min() >= GREY  # no box: nothing darker


def test_long_text_wraps_inside_the_letterboxed_picture() -> None:
    picture = Picture.of(W, H, 2.39)  # bars top and bottom
    text = "a caption long enough that it cannot fit on one line of a small picture"
    captions = Captions(picture, [Cue(0, 1, Caption(text=text, size=0.1))])
    lines = captions.lines(text, round(0.1 * picture.area_height))
    assert len(lines) >= 2
    changed = np.argwhere((rgb(captions.draw(flat(), 0.5)) != GREY).any(axis=2))
    bar = (H - picture.area_height) // 2
    assert changed[:, 0].max() < H - bar  # not on the bar
    assert changed[:, 1].min() >= W * SAFE_MARGIN and changed[:, 1].max() < W * (1 - SAFE_MARGIN)


CAPTIONED = """
timing: {duration: 1, fps: 30}
world: {size: [8, 4.5]}
audio: {enabled: false}
look: {title: {text: "Title", duration: 0.4, fade: 0}}
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: ball, name: b, radius: 0.3, position: [4, 1.5]}
script:
  - {name: hit, when: {contact: [b, ground]}, caption: {text: "hit!", fade: 0, size: 0.12}}
"""


def test_the_clip_burns_the_title_then_the_triggered_caption() -> None:
    scene = parse_scene(CAPTIONED)
    clip = Clip(scene, W, H)
    rows = []
    hit_time = None
    for item in clip.frames():
        if any(e.kind == "action" for e in item.frame.events):
            hit_time = next(e.time for e in item.frame.events if e.kind == "action")
        picture = clip.pixels(item).rgb()
        rows.append((item.video_time, picture[H // 2 - 8 : H // 2 + 8].max(), picture[-40:].max()))
    assert hit_time is not None
    for t, middle, bottom in rows:
        assert (middle >= 250) == (t < 0.4), t  # the title, centred, for 0.4 s
        assert (bottom >= 250) == (hit_time <= t < hit_time + 3.0), t


@pytest.mark.slow
def test_sidecars_and_mov_text_track_match_the_action_events(tmp_path: Path) -> None:
    scene = parse_scene(CAPTIONED.replace("audio: {enabled: false}\n", ""))
    target = tmp_path / "clip.mp4"
    run(RenderJob(scene, target, "mp4", W, H))
    lines = [json.loads(line) for line in (tmp_path / "clip.states.jsonl").read_text().splitlines()]
    fired = [e["time"] for r in lines if r["type"] == "frame" for e in r["events"]
             if e["kind"] == "action"]  # fmt: skip
    assert len(fired) == 1
    start = f"00:00:00.{round(fired[0] * 1000):03d}"
    vtt = (tmp_path / "clip.vtt").read_text()
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:00.000 --> 00:00:00.400\nTitle\n" in vtt
    assert f"{start} --> 00:00:01.000\nhit!\n" in vtt  # cut at the video's end
    srt = (tmp_path / "clip.srt").read_text()
    assert f"2\n{start.replace('.', ',')} --> 00:00:01,000\nhit!\n" in srt
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([exe, "-hide_banner", "-i", str(target)], capture_output=True, text=True)
    assert re.search(r"Subtitle: mov_text", probe.stderr)
    assert "synthetic: rendered by physics_scenes" in probe.stderr  # the tags survive
    track = subprocess.run(
        [exe, "-v", "error", "-i", str(target), "-map", "0:s:0", "-f", "srt", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Title" in track and "hit!" in track
    video = decode_video(target)
    first = math.ceil(fired[0] * 30 - 1e-9)  # the first frame at or after the firing
    assert video.frames[first - 1, -40:].max() < 230  # the ball, no caption yet
    assert video.frames[first, -40:].max() > 245
    assert video.frames[2, H // 2 - 8 : H // 2 + 8].max() > 230  # the title
    assert video.frames[20, H // 2 - 8 : H // 2 + 8].max() < 200


def test_a_label_follows_its_body() -> None:
    text = """
timing: {duration: 1, fps: 30}
world: {size: [8, 4.5], gravity: [0, 0]}
look: {labels: [{body: b, text: hero, size: 0.1}]}
bodies:
  - {kind: ball, name: b, radius: 0.3, position: [2, 2], velocity: [4, 0], color: "#303030"}
"""
    clip = Clip(parse_scene(text), W, H)
    centres = []
    for item in clip.frames():
        if item.frame.index in (0, 20):
            picture = clip.pixels(item).rgb()
            bright = np.argwhere(picture.max(axis=2) > 240)
            (bx, by) = item.view.to_pixels(item.frame.position[0])
            assert bright[:, 0].max() < by  # above the ball
            centres.append((bright[:, 1].mean(), bx))
    (x0, b0), (x1, b1) = centres
    assert abs(x0 - b0) < 3 and abs(x1 - b1) < 3  # centred over it
    assert x1 - x0 == pytest.approx((4 * 20 / 30) * W / 8, abs=3)  # and moved with it


@pytest.mark.parametrize("top", [4.08, 4.16])
def test_a_label_at_the_top_edge_is_clipped_not_a_crash(top: float) -> None:
    """A body so near the top that its label's text is above the picture: at 4.08 m the
    bottom two rows of its dark box show, at 4.16 m none of it. Both raised a ValueError
    (the text's rows were sliced with a negative end, from 4.08 to 4.20 m)."""
    scene = """
timing: {duration: 0.1, fps: 30}
world: {size: [8, 4.5], gravity: [0, 0]}
look: {labels: [{body: b, text: hero, size: 0.1}]}
bodies:
  - {kind: ball, name: b, radius: 0.3, position: [2, TOP], color: "#303030"}
""".replace("TOP", str(top))
    clip = Clip(parse_scene(scene), W, H)
    bare = Clip(parse_scene(scene.replace("look:", "#")), W, H)
    item, same = next(iter(clip.frames())), next(iter(bare.frames()))
    labelled, unlabelled = clip.pixels(item).rgb().astype(int), bare.pixels(same).rgb().astype(int)
    changed = np.argwhere(np.abs(labelled - unlabelled).max(axis=2) > 0)
    if top > 4.1:
        assert len(changed) == 0  # all of it above the picture
        return
    assert sorted(set(changed[:, 0])) == [0, 1]  # the box's bottom rows, at the top
    (bx, _) = item.view.to_pixels(item.frame.position[0])
    assert abs(changed[:, 1].mean() - bx) < 3  # over its body
    rows, cols = changed[:, 0], changed[:, 1]
    assert (labelled[rows, cols] < unlabelled[rows, cols]).all()  # darkened


def test_auto_captions_name_each_first_contact() -> None:
    from physics_scenes.physics.simulate import simulate
    from physics_scenes.scene.captions import CueMaker

    text = """
timing: {duration: 2, fps: 30}
world: {size: [8, 4.5]}
look: {auto_captions: {gap: 0.5}}
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: ball, name: b, radius: 0.2, position: [2, 1], velocity: [3, 0], material: rubber}
  - {kind: box, name: wall, size: [0.2, 2], position: [5, 1], body_type: static}
"""
    scene = parse_scene(text)
    assert scene.look is not None and scene.look.auto_captions is not None
    maker = CueMaker({}, lambda t: t, scene.look.auto_captions, frozenset({"ground", "wall"}))
    _, frames = simulate(scene)
    begins, cues = [], []
    for frame in frames:
        begins += [e for e in frame.events if e.kind == "begin"]
        cues += maker.cues(frame.events)
    pairs = {(e.a, e.b): e.time for e in reversed(begins)}  # first time of each pair
    assert len(begins) > len(pairs)  # the ball bounces: the same pair again, no new cue
    assert sorted(pairs) == [("b", "wall"), ("ground", "b")]
    assert [c.text for c in cues] == [
        f"b hits ground at {pairs['ground', 'b']:.1f} s",  # the static body named second
        f"b hits wall at {pairs['b', 'wall']:.1f} s",
    ]  # one a pair
    assert all(c.end - c.start == 2.0 and c.style.position == "top" for c in cues)
    clip = Clip(scene, W, H)
    lit = [clip.pixels(item).rgb()[: H // 4].max() > 200 for item in clip.frames()]
    first, second = (math.ceil(c.start * 30 - 1e-9) for c in cues)
    assert not any(lit[:first]) and all(lit[first + 8 : second])  # faded in, then on
    assert all(lit[second + 8 :])  # the second replaces it at the top


def test_look_label_says_synthetic_in_its_corner_at_its_opacity() -> None:
    """``look.label``: white text on a dark box in the chosen corner of the safe area, as
    opaque as asked; ``true`` is the default text bottom-right; no label, no change."""
    base = """
timing: {duration: 0.1, fps: 30}
world: {size: [8, 4.5], gravity: [0, 0]}
look: {background: "#406080"LABEL}
bodies:
  - {kind: ball, name: b, radius: 0.3, position: [4, 2.25], color: "#303030"}
"""

    def first(label: str) -> np.ndarray:
        clip = Clip(parse_scene(base.replace("LABEL", label)), W, H)
        return clip.pixels(next(iter(clip.frames()))).rgb().astype(int)

    plain = first("")
    changed = {}
    for corner in ("top-left", "bottom-right"):
        picture = first(f", label: {{corner: {corner}, opacity: 0.9}}")
        ys, xs = np.nonzero(np.abs(picture - plain).max(axis=2) > 0)
        changed[corner] = (ys.min(), ys.max(), xs.min(), xs.max())
        assert ys.min() >= H * SAFE_MARGIN - 1 and ys.max() <= H * (1 - SAFE_MARGIN)
        assert xs.min() >= W * SAFE_MARGIN - 1 and xs.max() <= W * (1 - SAFE_MARGIN)
        text = picture.min(axis=2) > 150  # white text over the darkened blue
        assert text.sum() > 100
        box = picture[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        assert (np.median(box.reshape(-1, 3), axis=0) < plain[0, 0] * 0.6).all()  # a dark box
    assert changed["top-left"][1] < H / 2 and changed["top-left"][3] < W / 2
    assert changed["bottom-right"][0] > H / 2 and changed["bottom-right"][2] > W / 2
    assert (
        first(", label: true").tolist()
        == first(", label: {text: 'Synthetic: physics_scenes', corner: bottom-right}").tolist()
    )
    faint = first(", label: {corner: top-left, opacity: 0.3}")
    assert faint.min(axis=2).max() < 0.3 * 255 + 0.7 * 0x40 + 2  # no pixel whiter than 30 %
