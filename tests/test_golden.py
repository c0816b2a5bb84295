"""Goldens: recorded run hashes and pictures that a change cannot pass quietly.

Each golden belongs to a platform tag (results may legitimately differ on another OS,
CPU or library version). For a tag that has goldens, a missing entry fails; for a tag
with none, the test skips. ``pytest --update-golden`` records the current results.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pygame
import pymunk
import pytest

from physics_scenes import load_scene, simulate
from physics_scenes.job.clip import Clip
from physics_scenes.output.states import RunDigest

from helpers import SCENES

GOLDEN_DIR = Path(__file__).parent / "golden"
RUN_HASHES = GOLDEN_DIR / "run_hashes.json"
FRAME_HASHES = GOLDEN_DIR / "frame_hashes.json"
PICTURES = GOLDEN_DIR / "pictures"
FAILURES = GOLDEN_DIR / "failures"  # gitignored: actual and diff pictures of failed checks
GOLDEN_FRAMES = 120
FRAME_HASH_CHARS = 16  # a 64-bit prefix per frame is plenty to find the first change


def updating(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


# --- run hashes ---------------------------------------------------------------------------


def golden_tag() -> str:
    """pymunk does not promise equal bits across CPU architectures or versions."""
    return f"{platform.system()}-{platform.machine()}-pymunk{pymunk.version}"


def scene_run(scene_path: Path, frames: int = GOLDEN_FRAMES) -> tuple[str, list[str]]:
    """The run hash of the first ``frames`` frames, and each frame's state hash (prefix)."""
    _layout, stream = simulate(load_scene(scene_path), frames)
    digest = RunDigest()
    per_frame = [digest.add(frame)[:FRAME_HASH_CHARS] for frame in stream]
    return digest.hexdigest(), per_frame


def clip_run(scene_path: Path, frames: int = GOLDEN_FRAMES) -> tuple[str, list[str]]:
    """Frames as the clip shows them (remapped clock) plus each frame's camera record."""
    clip = Clip(load_scene(scene_path), 640, 360)
    digest = hashlib.sha256()
    per_frame = []
    for clip_frame in clip.frames():
        if clip_frame.frame.index >= frames:
            break
        state = clip_frame.frame.state_hash().encode()
        record = json.dumps(clip_frame.record(), sort_keys=True).encode()
        digest.update(state)
        digest.update(record)
        per_frame.append(hashlib.sha256(state + record).hexdigest()[:FRAME_HASH_CHARS])
    return digest.hexdigest(), per_frame


def first_difference(expected: list[str], actual: list[str]) -> int | None:
    for index, (a, b) in enumerate(zip(expected, actual, strict=False)):
        if a != b:
            return index
    return None if len(expected) == len(actual) else min(len(expected), len(actual))


def write_frame_hashes(golden: dict[str, dict[str, list[str]]]) -> None:
    """Like json.dumps(indent=2, sort_keys=True), but each run's list on one line."""
    lines = ["{"]
    for t, tag in enumerate(sorted(golden)):
        lines.append(f"  {json.dumps(tag)}: {{")
        names = sorted(golden[tag])
        for n, name in enumerate(names):
            comma = "," if n < len(names) - 1 else ""
            lines.append(f"    {json.dumps(name)}: {json.dumps(golden[tag][name])}{comma}")
        lines.append("  }" + ("," if t < len(golden) - 1 else ""))
    lines.append("}")
    FRAME_HASHES.write_text("\n".join(lines) + "\n", encoding="utf-8")


CAMERA_EXAMPLES = ["slow_motion_impact", "follow_the_ball"]
EXAMPLES = sorted(path.stem for path in SCENES.glob("*.yaml"))
WATER_GOLDEN_FRAMES = 4
"""Scenes with liquids: their first 4 frames (12 steps of the particle fluid, about
0.2 s of the default run each; the whole 120 would take 5 s)."""


def has_water(name: str) -> bool:
    return "kind: water" in (SCENES / f"{name}.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", EXAMPLES + [f"clip:{name}" for name in CAMERA_EXAMPLES])
def test_golden_run_hashes(name: str, request: pytest.FixtureRequest) -> None:
    """The first 120 frames of each example hash as recorded (refresh: --update-golden)."""
    if name.startswith("clip:"):
        actual, actual_frames = clip_run(SCENES / f"{name.removeprefix('clip:')}.yaml")
    else:
        count = WATER_GOLDEN_FRAMES if has_water(name) else GOLDEN_FRAMES
        actual, actual_frames = scene_run(SCENES / f"{name}.yaml", count)
    tag = golden_tag()
    runs, frames = load_json(RUN_HASHES), load_json(FRAME_HASHES)
    if updating(request):
        runs.setdefault(tag, {})[name] = actual
        frames.setdefault(tag, {})[name] = actual_frames
        RUN_HASHES.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        write_frame_hashes(frames)
        return
    if tag not in runs:
        pytest.skip(f"no golden run hashes for platform {tag}; record with pytest --update-golden")
    where = f"[{tag!r}][{name!r}]"
    if name not in runs[tag]:
        pytest.fail(
            f"missing golden run hash {RUN_HASHES.name}{where}: "
            "record it with pytest --update-golden",
            pytrace=False,
        )
    expected_frames = frames.get(tag, {}).get(name)
    if expected_frames is None:
        pytest.fail(
            f"missing golden frame hashes {FRAME_HASHES.name}{where}: "
            "record them with pytest --update-golden",
            pytrace=False,
        )
    first = first_difference(expected_frames, actual_frames)
    if actual != runs[tag][name]:
        at = (
            "none of the recorded frames differ"
            if first is None
            else f"first differing frame: {first}"
        )
        pytest.fail(
            f"{name}: simulation changed, run hash {actual[:16]}… != golden "
            f"{runs[tag][name][:16]}… ({at}, of {len(actual_frames)}); "
            "if intended, run pytest --update-golden",
            pytrace=False,
        )
    if first is not None:
        pytest.fail(
            f"{name}: the run hash matches but {FRAME_HASHES.name}{where} does not "
            f"(first differing frame: {first}): the frame golden is stale or edited; "
            "re-record with pytest --update-golden",
            pytrace=False,
        )


# --- pictures -----------------------------------------------------------------------------


def picture_tag() -> str:
    """Pixels depend on pygame-ce and SDL (drawing), and on the physics (pymunk, platform)."""
    sdl = ".".join(str(part) for part in pygame.get_sdl_version())
    return f"{golden_tag()}-pygame-ce{pygame.version.ver}-SDL{sdl}"


# name -> (example scene, video frame); small frames through the full clip (camera, looks)
PICTURE_CASES = {
    "bouncing_balls_f40": ("bouncing_balls", 40),
    "newtons_cradle_f30": ("newtons_cradle", 30),
    "slow_motion_impact_f50": ("slow_motion_impact", 50),
}
PICTURE_SIZE = (320, 180)


def clip_picture(scene: str, video_frame: int) -> np.ndarray:
    clip = Clip(load_scene(SCENES / f"{scene}.yaml"), *PICTURE_SIZE)
    for k, shown in enumerate(clip.frames()):
        if k == video_frame:
            return clip.pixels(shown).rgb()
    raise AssertionError(f"{scene} has fewer than {video_frame + 1} frames")


def diff_picture(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Absolute difference, amplified so that a difference of 1 is still visible."""
    diff = np.abs(expected.astype(np.int16) - actual.astype(np.int16))
    return np.where(diff > 0, np.clip(diff * 8, 64, 255), 0).astype(np.uint8)


@pytest.mark.parametrize("name", sorted(PICTURE_CASES))
def test_golden_pictures(name: str, request: pytest.FixtureRequest) -> None:
    """Three small rendered frames equal the committed PNGs exactly (refresh: --update-golden)."""
    actual = clip_picture(*PICTURE_CASES[name])
    tag = picture_tag()
    folder = PICTURES / tag
    golden_path = folder / f"{name}.png"
    if updating(request):
        folder.mkdir(parents=True, exist_ok=True)
        iio.imwrite(golden_path, actual)
        return
    if not folder.is_dir():
        pytest.skip(f"no golden pictures for {tag}; record with pytest --update-golden")
    if not golden_path.exists():
        pytest.fail(
            f"missing golden picture {golden_path}: record it with pytest --update-golden",
            pytrace=False,
        )
    expected = iio.imread(golden_path)
    out = FAILURES / tag
    if expected.shape == actual.shape and np.array_equal(expected, actual):
        for stale in out.glob(f"{name}.*.png"):
            stale.unlink()  # from an earlier failure
        return
    out.mkdir(parents=True, exist_ok=True)
    actual_path, diff_path = out / f"{name}.actual.png", out / f"{name}.diff.png"
    iio.imwrite(actual_path, actual)
    if expected.shape == actual.shape:
        diff = diff_picture(expected, actual)
        iio.imwrite(diff_path, diff)
        changed = int(np.any(diff, axis=-1).sum())
        detail = f"{changed} pixels differ (max {int(np.abs(expected.astype(int) - actual).max())})"
        detail += f"; diff: {diff_path}"
    else:
        detail = f"size {actual.shape} != golden {expected.shape}"
    pytest.fail(
        f"{name}: picture differs from {golden_path}: {detail}; actual: {actual_path}; "
        "if intended, run pytest --update-golden",
        pytrace=False,
    )


# --- the comparison helpers themselves ----------------------------------------------------


def test_first_difference_names_the_first_changed_frame() -> None:
    recorded = ["a", "b", "c", "d"]
    assert first_difference(recorded, ["a", "b", "c", "d"]) is None
    assert first_difference(recorded, ["a", "b", "x", "y"]) == 2
    assert first_difference(recorded, ["a", "b"]) == 2  # a shorter run differs where it ends


def test_the_diff_picture_shows_a_difference_of_one_and_nothing_else() -> None:
    expected = np.zeros((4, 5, 3), np.uint8)
    actual = expected.copy()
    actual[1, 2] = (1, 0, 255)
    diff = diff_picture(expected, actual)
    assert tuple(diff[1, 2]) == (64, 0, 255)
    assert np.count_nonzero(diff) == 2
