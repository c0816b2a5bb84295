"""Every sink, read back: MP4 and GIF decoded, PNGs compared, states parsed; atomic on failure."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from physics_scenes import parse_scene, simulate
from physics_scenes.job.pipeline import RenderJob, run, scene_hash
from physics_scenes.picture.renderer import Renderer

from helpers import decode_video

SCENE = parse_scene("""
seed: 5
world: {size: [8, 4.5], walls: true}
timing: {frames: 24, fps: 24}
bodies:
  - {kind: ball, name: red, radius: 0.4, position: [2, 3], velocity: [4, 0], color: red}
  - {kind: box, name: crate, size: [1, 0.6], position: [5, 1], angle: 20, color: "#c8964b"}
  - {kind: ball, name: blue, radius: 0.3, position: [6, 3.5], velocity: [0, -8], color: blue}
""")
W, H = 320, 180


def render(tmp_path: Path, name: str, fmt: str, scene=SCENE, **options) -> Path:
    """Without the in-signal mark, so pictures compare with the renderer's (the mark's own
    ±1 change is checked in test_watermark.py)."""
    options.setdefault("watermark", False)
    target = tmp_path / name
    run(RenderJob(scene, target, fmt, W, H, **options))
    return target


def reference_rgb(scene=SCENE) -> list[np.ndarray]:
    layout, frames = simulate(scene)
    renderer = Renderer(layout, W, H)
    return [renderer.render(frame).rgb() for frame in frames]


def test_mp4_has_the_frames_size_rate_and_picture_of_the_scene(tmp_path: Path) -> None:
    video = decode_video(render(tmp_path, "clip.mp4", "mp4"))
    assert (len(video.frames), video.size, video.fps) == (24, (W, H), 24.0)
    assert (video.codec, video.pix_fmt) == ("h264", "yuv420p")
    expected = reference_rgb()
    # lossy yuv420p: the mean error stays small, far below the change between frames
    error = np.abs(video.frames.astype(int) - np.array(expected, dtype=int)).mean()
    motion = np.abs(np.array(expected[0], dtype=int) - np.array(expected[12], dtype=int)).mean()
    assert error < 2.0 and motion > 5 * error, (error, motion)


def test_gif_decodes_at_25_fps_with_even_delays(tmp_path: Path) -> None:
    scene = SCENE.model_copy(update={"timing": SCENE.timing.model_copy(update={"fps": 60})})
    gif = render(tmp_path, "clip.gif", "gif", scene=scene)
    frames = iio.imread(gif, index=None)
    assert frames.shape[1:3] == (H, W)
    assert len(frames) == 10  # 24 frames at 60 fps = 0.4 s, shown at 25 fps
    durations = [iio.immeta(gif, index=i)["duration"] for i in range(len(frames))]
    assert durations == [40] * 10  # 4/100 s each, not 30 fps' alternating 30 and 40 ms


def test_png_folder_holds_every_frame_losslessly(tmp_path: Path) -> None:
    folder = render(tmp_path, "frames", "png")
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(24)]
    for file, expected in zip(files, reference_rgb(), strict=True):
        assert np.array_equal(iio.imread(file)[..., :3], expected), file.name


def test_states_file_round_trips_the_frames_exactly(tmp_path: Path) -> None:
    render(tmp_path, "clip.mp4", "mp4")
    text = (tmp_path / "clip.states.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    header, records, footer = lines[0], lines[1:-1], lines[-1]
    assert header["format"] == "physics_scenes.states" and header["frame_count"] == 24
    assert [b["name"] for b in header["bodies"]] == ["walls", "red", "crate", "blue"]
    assert header["bodies"][0]["mass"] is None and header["bodies"][1]["mass"] > 0
    _layout, frames = simulate(SCENE)
    events = 0
    for record, frame in zip(records, frames, strict=True):
        assert record["type"] == "frame" and record["index"] == frame.index
        assert record["state_hash"] == frame.state_hash()
        for key in ("position", "angle", "velocity", "angular_velocity"):
            assert np.array_equal(np.array(record[key]), getattr(frame, key)), key
        assert record["events"] == [event.to_dict() for event in frame.events]
        events += len(record["events"])
    assert events > 0 and footer == {
        "type": "footer", "frames": 24, "events": events, "run_hash": footer["run_hash"]
    }  # fmt: skip
    metadata = json.loads((tmp_path / "clip.metadata.json").read_text())
    assert metadata["run_hash"] == footer["run_hash"]
    assert metadata["seed"] == 5 and metadata["scene"]["sha256"] == scene_hash(SCENE)
    assert metadata["frames"] == 24 and metadata["events"] == events
    assert {"pymunk", "ffmpeg", "physics_scenes"} <= set(metadata["versions"])
    assert metadata["output"]["files"] == ["clip.mp4", "clip.states.jsonl", "clip.metadata.json"]


def test_states_only_output_writes_no_pictures(tmp_path: Path) -> None:
    render(tmp_path, "data.jsonl", "states")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "data.metadata.json"]


def interrupt_at(frame_index: int):
    def progress(done: int, total: int) -> None:
        if done == frame_index:
            raise KeyboardInterrupt

    return progress


@pytest.mark.parametrize("name, fmt", [("clip.mp4", "mp4"), ("clip.gif", "gif"), ("frames", "png")])
def test_a_failed_render_leaves_nothing_and_keeps_old_files(
    tmp_path: Path, name: str, fmt: str
) -> None:
    old = tmp_path / name
    if fmt == "png":
        old.mkdir()
        (old / "frame_000000.png").write_text("old")
    else:
        old.write_bytes(b"old")
    (tmp_path / "clip.states.jsonl").write_text("old states")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(KeyboardInterrupt):
        run(RenderJob(SCENE, old, fmt, W, H, overwrite=True), interrupt_at(10))
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporaries either
    if fmt == "png":
        assert [p.read_text() for p in old.iterdir()] == ["old"]
    else:
        assert old.read_bytes() == b"old"
    assert (tmp_path / "clip.states.jsonl").read_text() == "old states"


def test_a_new_render_replaces_the_png_folder_of_an_earlier_one(tmp_path: Path) -> None:
    long = SCENE.model_copy(update={"timing": SCENE.timing.model_copy(update={"frames": 30})})
    folder = render(tmp_path, "frames", "png", scene=long)
    assert len(list(folder.iterdir())) == 30
    render(tmp_path, "frames", "png")  # no overwrite needed: it is the earlier render's
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:06d}.png" for i in range(24)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "frames", "frames.metadata.json", "frames.states.jsonl"
    ]  # fmt: skip
