"""Same scene and seed → bit-identical frames, pixels, events and files, in any process."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from pathlib import Path

import pymunk
import pytest

from physics_scenes import load_scene, parse_scene, simulate
from physics_scenes.job.clip import Clip
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.export import RunDigest
from physics_scenes.picture.renderer import Renderer

from helpers import ROOT, SCENES

GOLDEN = Path(__file__).parent / "golden" / "run_hashes.json"
GOLDEN_FRAMES = 120


def run_hash(scene_path: Path, frames: int = GOLDEN_FRAMES) -> str:
    _layout, stream = simulate(load_scene(scene_path), frames)
    digest = RunDigest()
    for frame in stream:
        digest.add(frame)
    return digest.hexdigest()


def frame_record(scene_text: str, frames: int) -> list[tuple[str, tuple, str]]:
    layout, stream = simulate(parse_scene(scene_text), frames)
    renderer = Renderer(layout, 320, 180)
    return [
        (f.state_hash(), f.events, hashlib.sha256(renderer.render(f).data).hexdigest())
        for f in stream
    ]


SCENE = (SCENES / "ramp_tumble.yaml").read_text(encoding="utf-8")


def test_two_runs_give_identical_states_events_and_pixels() -> None:
    first, second = frame_record(SCENE, 90), frame_record(SCENE, 90)
    assert first == second
    assert sum(len(events) for _, events, _ in first) > 0, "the scene must have collisions"
    assert len({state for state, _, _ in first}) == 90, "states must change frame to frame"


def test_another_process_computes_the_same_run_hash() -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests');"
        "from test_determinism import run_hash; from pathlib import Path;"
        "print(run_hash(Path('scenes/dominoes.yaml')))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == run_hash(SCENES / "dominoes.yaml")


def test_the_seed_decides_the_random_grid_jitter() -> None:
    text = (
        "seed: {seed}\ntiming: {{frames: 30}}\nbodies:\n  - {{kind: floor}}\n"
        "  - {{kind: ball, radius: 0.1, position: [2, 2], grid: {{columns: 10, rows: 3,"
        " spacing: [0.3, 0.3], jitter: 0.05}}}}\n"
    )
    hashes = {seed: [s for s, _, _ in frame_record(text.format(seed=seed), 30)] for seed in (1, 2)}
    assert hashes[1] == [s for s, _, _ in frame_record(text.format(seed=1), 30)]
    assert hashes[1][0] != hashes[2][0]


def test_rendered_files_are_byte_identical_across_processes(tmp_path: Path) -> None:
    scene_path = SCENES / "bouncing_balls.yaml"
    here = tmp_path / "here" / "clip.mp4"
    there = tmp_path / "there" / "clip.mp4"
    run(RenderJob(load_scene(scene_path), here, "mp4", 320, 180, source=scene_path))
    subprocess.run(
        [sys.executable, "-m", "physics_scenes.cli", "render", str(scene_path), "-o", str(there),
         "--size", "320x180", "--quiet"],
        check=True, cwd=ROOT,
    )  # fmt: skip
    for name in ("clip.mp4", "clip.states.jsonl", "clip.metadata.json"):
        assert (here.parent / name).read_bytes() == (there.parent / name).read_bytes(), name


def golden_tag() -> str:
    """pymunk does not promise equal bits across CPU architectures or versions."""
    return f"{platform.system()}-{platform.machine()}-pymunk{pymunk.version}"


def clip_hash(scene_path: Path, frames: int = GOLDEN_FRAMES) -> str:
    """Frames as the clip shows them (remapped clock) plus each frame's camera record."""
    clip = Clip(load_scene(scene_path), 640, 360)
    digest = hashlib.sha256()
    for clip_frame in clip.frames():
        if clip_frame.frame.index >= frames:
            break
        digest.update(clip_frame.frame.state_hash().encode())
        digest.update(json.dumps(clip_frame.record(), sort_keys=True).encode())
    return digest.hexdigest()


CAMERA_EXAMPLES = ["slow_motion_impact", "follow_the_ball"]


EXAMPLES = sorted(path.stem for path in SCENES.glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLES + [f"clip:{name}" for name in CAMERA_EXAMPLES])
def test_golden_run_hashes(name: str, request: pytest.FixtureRequest) -> None:
    """The first 120 frames of each example hash as recorded (refresh: --update-golden)."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if name.startswith("clip:"):
        actual = clip_hash(SCENES / f"{name.removeprefix('clip:')}.yaml")
    else:
        actual = run_hash(SCENES / f"{name}.yaml")
    tag = golden_tag()
    if request.config.getoption("--update-golden"):
        golden.setdefault(tag, {})[name] = actual
        GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    if name not in golden.get(tag, {}):
        pytest.skip(f"no golden hash for {tag}; record with pytest --update-golden")
    assert actual == golden[tag][name], "simulation changed: if intended, run --update-golden"
