"""Every scene in scenes/ renders, and does what its comment says."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from physics_scenes import load_scene
from physics_scenes.audio import RATE, integrated_loudness, read_wav
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.job.timeline import scene_timeline

from helpers import SCENES, decoded_sound, ebur128, probe_video

ALL_EXAMPLES = sorted(SCENES.glob("*.yaml"))
WATER_EXAMPLES = [
    p for p in ALL_EXAMPLES if re.search(r"kind: (water|emitter)\b", p.read_text(encoding="utf-8"))
]
EXAMPLES = [p for p in ALL_EXAMPLES if p not in WATER_EXAMPLES]
"""Scenes with liquids cost 10-30 s each to simulate whole: tests/test_water.py renders
them, short and small; only the slow sound test below renders them whole."""


WIDTH, HEIGHT = 320, 180
"""The examples' test size: small, as drawing is not what these tests check."""

SLOW_EXAMPLES = {"rube_goldberg", "ball_pile", "self_cameo"}
"""Rendered by their own slow tests (test_script.py; the pile's below, 17 s; the cameo's,
signed, in test_cameo.py), not by the default run's fixture."""
RENDERED = [p for p in EXAMPLES if p.stem not in SLOW_EXAMPLES]


def read_states(path: Path) -> tuple[dict, list[dict]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["type"] == "header" and lines[-1]["type"] == "footer"
    return lines[0], lines[1:-1]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict, list[dict]]]:
    """Each example rendered once, whole, at 180p with its states (the sound of every
    example is checked by the slow test below, and of several in test_audio.py)."""
    out = tmp_path_factory.mktemp("examples")
    results = {}
    for scene_path in RENDERED:
        video = out / f"{scene_path.stem}.mp4"
        job = RenderJob(load_scene(scene_path), video, "mp4", WIDTH, HEIGHT, "draft",
                        source=scene_path, audio="none")  # fmt: skip
        run(job)
        header, frames = read_states(out / f"{scene_path.stem}.states.jsonl")
        results[scene_path.stem] = (video, header, frames)
    return results


def test_the_four_examples_exist_and_reference_the_schema() -> None:
    assert {p.stem for p in EXAMPLES} >= {"bouncing_balls", "ramp_tumble", "dominoes", "ball_pile"}
    water = {"ball_into_pool", "dam_break", "domino_splash", "floating_crates", "tap_fills_glass",
             "u_tube"}  # fmt: skip
    assert {p.stem for p in WATER_EXAMPLES} == water, "test_water.py renders these, short"
    for path in ALL_EXAMPLES:
        assert path.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=../schema/scene.schema.json\n"
        ), path.name


@pytest.mark.parametrize("name", [p.stem for p in RENDERED])
def test_example_renders_a_playable_video(rendered, name: str) -> None:
    video, _header, frames = rendered[name]
    scene = load_scene(SCENES / f"{name}.yaml")
    frame_count = scene_timeline(scene).frame_count(scene.timing.fps)
    assert len(frames) == frame_count
    header = probe_video(video)
    assert header.size == (WIDTH, HEIGHT) and header.fps == scene.timing.fps
    assert (header.codec, header.pix_fmt) == ("h264", "yuv420p")
    assert header.frame_count == frame_count
    # the picture changes: something moves in every example
    first, last = frames[0]["position"], frames[-1]["position"]
    assert first != last


def meta_frames(path: Path) -> int:
    """Frames the render wrote (a script's ``end`` stops a clip before its planned count)."""
    return int(json.loads(path.read_text())["frames"])


def body_rows(header: dict, prefix: str = "") -> dict[str, int]:
    return {b["name"]: i for i, b in enumerate(header["bodies"]) if b["name"].startswith(prefix)}


def test_bouncing_balls_rebound_in_order_of_elasticity(rendered) -> None:
    _, header, frames = rendered["bouncing_balls"]
    rows = body_rows(header)
    elasticity = {"rubber": 0.8, "glass": 0.65, "plastic": 0.6, "metal": 0.55, "wood": 0.4,
                  "stone": 0.2, "ice": 0.1}  # fmt: skip
    drop = 8.0 - 0.5 - 0.6  # centre start - radius - floor
    apexes = {}
    for name, e in elasticity.items():
        y = np.array([f["position"][rows[name]][1] for f in frames])
        vy = np.array([f["velocity"][rows[name]][1] for f in frames])
        bounce = int(np.argmax(vy > 0))
        down = bounce + int(np.argmax(vy[bounce:] < 0))
        apexes[name] = (y[bounce : down + 1].max() - 1.1) / drop
        assert abs(apexes[name] - e**2) < 0.03, (name, apexes[name], e**2)
    order = sorted(apexes, key=apexes.get, reverse=True)  # type: ignore[arg-type]
    assert order == list(elasticity)


def test_ramp_objects_all_end_on_the_floor_past_the_ramp(rendered) -> None:
    _, header, frames = rendered["ramp_tumble"]
    last = frames[-1]
    for i, body in enumerate(header["bodies"]):
        if body["body_type"] == "dynamic":
            x, y = last["position"][i]
            assert y < 1.8 and x > 9.0, (body["name"], x, y)
            assert math.hypot(*last["velocity"][i]) < 0.5, body["name"]
    kinds = {b["kind"] for b in header["bodies"] if b["body_type"] == "dynamic"}
    assert kinds == {"ball", "box", "polygon"}


def test_every_domino_falls(rendered) -> None:
    _, header, frames = rendered["dominoes"]
    rows = body_rows(header, "domino/")
    assert len(rows) == 24
    last = frames[-1]
    fallen = [abs(math.degrees(last["angle"][row])) > 60 for row in rows.values()]
    assert all(fallen)
    # they fall in order: each domino starts tipping after the one before it
    tipped = [next(f["index"] for f in frames if abs(f["angle"][row]) > math.radians(10))
              for row in rows.values()]  # fmt: skip
    assert tipped == sorted(tipped)


@pytest.mark.slow  # 1000 balls for 8 s: 17 s of the default run's budget
def test_thousand_balls_settle_inside_the_box(tmp_path: Path) -> None:
    scene_path = SCENES / "ball_pile.yaml"
    video = tmp_path / "ball_pile.mp4"
    run(RenderJob(load_scene(scene_path), video, "mp4", WIDTH, HEIGHT, "draft",
                  source=scene_path, audio="none"))  # fmt: skip
    assert probe_video(video).frame_count > 0
    header, frames = read_states(tmp_path / "ball_pile.states.jsonl")
    rows = list(body_rows(header, "ball/").values())
    assert len(rows) == 1000
    last = frames[-1]
    position = np.array(last["position"])[rows]
    assert np.all((position > [0.1, 0.1]) & (position < [15.9, 8.9]))
    assert np.abs(np.array(last["velocity"])[rows]).max() < 0.05
    distances = np.linalg.norm(position[:, None] - position[None], axis=-1)
    np.fill_diagonal(distances, 1.0)
    assert distances.min() > 0.2 - 0.005, "balls sink into each other (collision slop)"


def test_slow_motion_impact_slows_around_the_hit_and_cuts_wide(rendered) -> None:
    _, header, frames = rendered["slow_motion_impact"]
    names = [b["name"] for b in header["bodies"]]
    hit = next(
        f for f in frames
        if any("wrecking_ball" in (e["a"], e["b"]) and e["a"].startswith("crate")
               for e in f["events"])
    )  # fmt: skip
    assert 0.66 < hit["sim_time"] < 1.5  # the impact happens inside the slow segment
    step = frames[hit["index"] + 1]["sim_time"] - hit["sim_time"]
    assert step == pytest.approx(0.25 / 60)  # four video frames per 1/60 s of physics
    assert frames[1]["sim_time"] == pytest.approx(1 / 60)  # real time before it
    modes = [f["camera"]["mode"] for f in frames]
    assert modes.index("keyframes") == 156 and set(modes[:156]) == {"close_up"}  # cut at 2.6 s
    ball = names.index("wrecking_ball")
    assert frames[100]["position"][ball][0] > 9  # the ball reached the stack
    assert frames[-1]["sim_time"] == pytest.approx(4.0, abs=2 / 60)
    # it ends on the wreck, not on the floor: the floor (top at y = 0.5) is a thin band at
    # the bottom of the 2.39:1 picture (320x134 between bars 23 px high); it was 60 %
    matrix = np.array(frames[-1]["camera"]["matrix"])
    crates = np.array(frames[-1]["position"])[[i for i, n in enumerate(names) if "crate" in n]]
    floor_y = (matrix @ [crates[:, 0].mean(), 0.5, 1.0])[1]
    assert 0 < (23 + 134 - floor_y) / 134 < 0.15
    pixels = (matrix @ np.column_stack([crates, np.ones(len(crates))]).T).T
    shown = (pixels[:, 0] > 0) & (pixels[:, 0] < WIDTH) & (pixels[:, 1] > 23) & (pixels[:, 1] < 157)
    assert shown.sum() >= 6  # the wreck is in the shot


def test_follow_the_ball_runs_down_several_ramps(rendered) -> None:
    _, header, frames = rendered["follow_the_ball"]
    runner = [b["name"] for b in header["bodies"]].index("runner")
    vx = np.array([f["velocity"][runner][0] for f in frames])
    y = np.array([f["position"][runner][1] for f in frames])
    reversals = np.count_nonzero(np.diff(np.sign(vx[np.abs(vx) > 1])) != 0)
    assert reversals >= 3 and y[0] - y[-1] > 15  # three ramps down, 15 m lower
    assert {f["camera"]["mode"] for f in frames} == {"follow"}


@pytest.mark.slow  # every example again, with sound, measured as delivered; .ci/run runs it
def test_every_example_renders_its_sound_within_its_levels(tmp_path: Path) -> None:
    for scene_path in EXAMPLES:
        _sound_within_levels(scene_path, tmp_path)


@pytest.mark.slow  # 10-30 s each (the liquid): one test each, so that xdist shares them out
@pytest.mark.parametrize("scene_path", WATER_EXAMPLES, ids=lambda p: p.stem)
def test_every_water_example_renders_its_sound_within_its_levels(
    tmp_path: Path, scene_path: Path
) -> None:
    """Pouring, bubbles and slosh (``audio.water``) make even the U-tube, which hits
    nothing, a track at the target."""
    _sound_within_levels(scene_path, tmp_path)


def _sound_within_levels(scene_path: Path, tmp_path: Path) -> None:
    video = tmp_path / f"{scene_path.stem}.mp4"
    run(RenderJob(load_scene(scene_path), video, "mp4", 320, 180, "draft",
                  source=scene_path, audio="wav"))  # fmt: skip
    wav = read_wav(tmp_path / f"{scene_path.stem}.wav")  # mono mix-down
    scene = load_scene(scene_path)
    seconds = meta_frames(tmp_path / f"{scene_path.stem}.metadata.json") / scene.timing.fps
    assert len(wav) == round(seconds * RATE), scene_path.stem  # a script may end early
    meta = json.loads((tmp_path / f"{scene_path.stem}.metadata.json").read_text())
    target = -16.0
    assert abs(meta["audio"]["loudness_lufs"] - target) < 0.5, (scene_path.stem, meta["audio"])
    assert meta["audio"]["true_peak_dbtp"] <= -1.0, (scene_path.stem, meta["audio"])
    assert integrated_loudness(wav[:, None]) > -30, scene_path.stem  # not silent
    # what is delivered: the MP4's AAC, decoded, by meters independent of ours
    aac = decoded_sound(video)
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(aac)
    ffmpeg_loudness, peak = ebur128(video)
    assert abs(loudness - target) < 0.5 and abs(ffmpeg_loudness - target) < 0.5, (
        video,
        loudness,
    )
    assert peak <= -1.0, (scene_path.stem, peak)
