"""Scenes that validate also render: limits refused at validate time with a location, a
run-time guard against blow-ups, and the files a scene names kept inside its folder."""

from __future__ import annotations

import os
import pickle
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from physics_scenes.cli import main
from physics_scenes.errors import InputFileError, RenderError, SceneError, SimulationError
from physics_scenes.frame import Layout
from physics_scenes.physics.simulate import Guard, simulate
from physics_scenes.physics.world import BodyState, World
from physics_scenes.scene import files, limits
from physics_scenes.scene.limits import MAX_SPEED
from physics_scenes.scene.loader import load_scene, parse_scene

FLOOR = "  - {kind: floor, name: ground, y: 0.5}\n"


def issues_of(text: str, file: str = "bad.yaml") -> list[tuple[int, str, str]]:
    with pytest.raises(SceneError) as caught:
        parse_scene(text, file)
    return [(i.line, i.path, i.message) for i in caught.value.issues]


def ok(text: str) -> None:
    parse_scene(text, "good.yaml")


# --- limits at validate time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("good", "bad", "path", "words"),
    [
        ("radius: 0.001", "radius: 0.0009", "bodies[1].radius", "at least 1 mm"),
        ("mass: 1.0e-6", "mass: 0.9e-6", "bodies[1].mass", "between 1e-06 and 1e+09 kg"),
        ("mass: 1.0e9", "mass: 1.0e10", "bodies[1].mass", "this one is 1e+10 kg"),
        ("velocity: [9999, 0]", "velocity: [10001, 0]", "bodies[1].velocity", "faster"),
    ],
)
def test_body_limits_are_located_and_sharp(good: str, bad: str, path: str, words: str) -> None:
    def scene(extra: str) -> str:
        radius = "" if "radius" in extra else "radius: 0.2, "
        return "bodies:\n" + FLOOR + "  - {kind: ball, name: b, " + radius + extra + "}\n"

    ok(scene(good))
    ((line, where, message),) = issues_of(scene(bad))
    assert (line, where) == (3, path) and words in message


def test_density_that_makes_a_body_too_heavy_points_at_the_material() -> None:
    text = "bodies:\n  - {kind: ball, radius: 1, material: {density: 1.0e12}}\n"
    ((_, path, message),) = issues_of(text)
    assert path == "bodies[0].material" and "density × area" in message


def test_a_walker_too_heavy_for_the_solver_is_refused_not_crashed() -> None:
    """1e308 kg is out of the model's range; 1e11 kg is in it, but its parts are not."""
    ((_, path, message),) = issues_of(
        "bodies:\n  - {kind: walker, name: w, position: [0, 0], mass: 1.0e11}\n"
    )
    assert path == "bodies[0].mass" and message.startswith("part 'w/")
    ((_, path, message),) = issues_of(
        "bodies:\n  - {kind: walker, name: w, position: [0, 0], mass: 1.0e308}\n"
    )
    assert path == "bodies[0].mass"


def test_joints_need_a_dynamic_body() -> None:
    text = (
        "bodies:\n" + FLOOR + "  - {kind: box, name: post, size: [1, 1], body_type: static}\n"
        "joints:\n  - {kind: pin, a: post, b: world}\n  - {kind: pin, a: post, b: ground}\n"
    )
    issues = issues_of(text)
    assert [(line, path) for line, path, _ in issues] == [(5, "joints[0]"), (6, "joints[1]")]
    assert "needs a moving (dynamic) body" in issues[0][2]


def test_slow_motion_cannot_bypass_the_frame_limit() -> None:
    base = "timing: {{duration: {}}}\ntime: {{segments: [{{start: 0, end: 1.0e6, rate: 0.01}}]}}\n"
    body = "bodies:\n  - {kind: ball, radius: 0.2}\n"
    ok(base.format(166) + body)  # 166 s x 60 fps x 100 = 996,000 frames
    ((line, path, message),) = issues_of(base.format(170) + body)
    assert (line, path) == (2, "time") and "1,020,000 frames" in message
    ((_, path, _),) = issues_of("timing: {duration: 5000}\nstyle: slow motion\n" + body)
    assert path == "style"


def test_the_bound_on_slow_motion_frames_is_the_exact_count_without_ramps() -> None:
    from physics_scenes.job.timeline import scene_timeline

    scene = parse_scene(
        "timing: {duration: 3}\ntime: {segments: [{start: 1, end: 2, rate: 0.25}]}\n"
        "bodies:\n  - {kind: ball, radius: 0.2}\n"
    )
    assert limits.video_frames_bound(scene) == scene_timeline(scene).frame_count(60) == 360


def test_bodies_piled_on_one_spot_are_refused_quickly() -> None:
    pile = "bodies:\n  - {{kind: ball, radius: 0.1, grid: {{columns: {}, spacing: [0.0001, 0]}}}}\n"
    ok(pile.format(200))  # 19,900 pairs
    ((line, path, message),) = issues_of(pile.format(2000))
    assert (line, path) == (2, "bodies[0]") and "overlapping deeply" in message


def test_overlap_count_stops_early_and_ignores_touching_grids() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    centres = np.zeros((n, 2))
    radii = np.full(n, 0.1)
    groups = np.zeros(n, dtype=np.int64)
    count, row = limits.deep_overlaps(centres, radii, groups, 1000)
    assert 1000 < count <= 1000 + (1 << 20) and row >= 0
    grid = np.stack(np.meshgrid(np.arange(200) * 0.2, np.arange(100) * 0.2), -1).reshape(-1, 2)
    grid += rng.uniform(-0.01, 0.01, grid.shape)
    assert limits.deep_overlaps(grid, radii, groups, 10**9) == (0, -1)
    # the same parts of one composite (one group) never collide: not counted
    assert limits.deep_overlaps(centres[:50], radii[:50], groups[:50] + 1, 10**9)[0] == 0


def test_a_lone_surrogate_in_any_name_is_refused_before_the_states_writer_chokes() -> None:
    """The reader stops at the first one (libyaml calls the escape invalid; PyYAML's own
    parser lets it through and the loader names the surrogate), located either way."""
    text = (
        'materials:\n  "m\\ud800": {density: 100}\nbodies:\n'
        '  - {kind: ball, name: b, radius: 0.2, material: "m\\ud800"}\n'
        "  - {kind: ball, name: c, radius: 0.2, position: [1, 0]}\n"
        'joints:\n  - {kind: spring, name: "j\\udc00", a: b, b: c, stiffness: 100}\n'
    )
    ((line, _path, message),) = issues_of(text)
    assert line == 2
    assert "surrogate" in message or "invalid Unicode character escape" in message


def test_every_example_scene_is_within_the_limits() -> None:
    for path in sorted(Path(__file__).parent.parent.glob("scenes/*.yaml")):
        load_scene(path)


# --- the run-time guard -------------------------------------------------------------------


def _layout() -> Layout:
    scene = parse_scene("bodies:\n  - {kind: ball, name: a, radius: 0.5}\n"
                        "  - {kind: ball, name: b, radius: 0.5, position: [3, 0]}\n")  # fmt: skip
    return World(scene).layout


def _state(**change: object) -> BodyState:
    values: dict[str, np.ndarray] = {
        "position": np.array([[0.0, 0.0], [3.0, 0.0]]),
        "angle": np.zeros(2),
        "velocity": np.zeros((2, 2)),
        "angular_velocity": np.zeros(2),
    }
    for name, (row, value) in change.items():  # type: ignore[misc]
        values[name][row] = value
    return BodyState(**values)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"position": (1, [np.nan, 0.0])}, "non-finite"),
        ({"angle": (1, np.inf)}, "non-finite"),
        ({"velocity": (1, [MAX_SPEED, 1.0])}, "moves at 1e+04 m/s"),
        ({"angular_velocity": (1, 2.1 * MAX_SPEED)}, "spins so fast"),
        ({"position": (1, [1.7e5, 0.0])}, "escaped"),
    ],
)
def test_the_guard_names_the_body_the_time_and_what_happened(
    change: dict[str, object], words: str
) -> None:
    guard = Guard(_layout())
    guard.check(_state(), 0.0, 0)  # the start is fine
    guard.check(_state(velocity=(1, [0.99 * MAX_SPEED, 0.0])), 0.1, 24)  # fast, within
    with pytest.raises(SimulationError) as caught:
        guard.check(_state(**change), 1.5, 360)
    error = caught.value
    assert (error.body, error.time, error.step) == ("b", 1.5, 360)
    assert words in str(error) and "t = 1.5 s (step 360)" in str(error)
    assert isinstance(error, RenderError)
    copy = pickle.loads(pickle.dumps(error))  # crosses from the worker process
    assert str(copy) == str(error) and copy.body == "b"


def test_the_guard_decides_for_a_few_bodies_as_for_many(monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to ``FEW_BODIES`` the guard compares each value in plain Python, above it takes
    numpy's reductions: on values at every limit, one double either side of it, NaN and
    infinities, both look for a culprit (``_explain``) in exactly the same cases."""
    from physics_scenes.physics import simulate as simulate_module

    looked: dict[int, list[int]] = {}
    guards = {}
    case = [0]
    for few in (0, 16):
        monkeypatch.setattr(simulate_module, "FEW_BODIES", few)
        guard = guards[few] = Guard(_layout())
        guard.check(_state(), 0.0, 0)
        calls = looked[few] = []
        monkeypatch.setattr(guard, "_explain", lambda *_, calls=calls: calls.append(case[0]))
    assert guards[0]._few is None and guards[16]._few is not None
    time = 1.5
    reach = guards[0].reach + MAX_SPEED * time
    (cx, cy), limit = guards[0].center.tolist(), float(guards[0].spin_limit[1])

    def around(x: float) -> list[float]:
        return [np.nextafter(x, -np.inf), x, np.nextafter(x, np.inf)]

    changes: list[dict[str, object]] = [{}]
    for v in [*around(MAX_SPEED / 2), *around(-MAX_SPEED / 2), np.nan, np.inf]:
        changes += [{"velocity": (1, [v, 0.0])}, {"velocity": (0, [0.0, v])}]
    for x in [*around(cx + reach), *around(cx - reach), np.nan, -np.inf]:
        changes.append({"position": (1, [x, cy])})
    for y in [*around(cy + reach), *around(cy - reach)]:
        changes.append({"position": (0, [cx, y])})
    for w in [*around(limit), *around(-limit), np.nan]:
        changes.append({"angular_velocity": (1, w)})
    changes += [{"angle": (1, a)} for a in (1e308, np.inf, -np.inf, np.nan)]
    for case[0], change in enumerate(changes):
        for guard in guards.values():
            guard.check(_state(**change), time, 360)
    assert looked[0] == looked[16]
    assert 10 < len(looked[0]) < len(changes) - 10  # many pass, many are looked into


def test_the_guard_lets_a_legitimate_fast_or_long_flight_go_on() -> None:
    """Far from the world is fine when a body under the speed limit could have got there:
    a 1 km/s bullet after 16 s, a ball falling for a minute (found by review: both
    validated, then stopped as 'escaped')."""
    guard = Guard(_layout())
    guard.check(_state(), 0.0, 0)
    guard.check(_state(position=(1, [1.6e4 + 1.0e3 * 16.0, 0.0])), 16.0, 3840)
    scene = parse_scene(
        "timing: {duration: 60, fps: 10, substeps: 2}\n"
        "bodies:\n  - {kind: ball, name: stone, radius: 0.2, position: [3, 4]}\n"
    )
    _, frames = simulate(scene)
    last = list(frames)[-1]
    assert last.position[0][1] < -17_000  # fell about 17.6 km, still simulated


def test_a_blow_up_in_the_simulation_raises_with_the_body_and_time() -> None:
    scene = parse_scene(
        "world: {gravity: [0, -1.0e6]}\ntiming: {duration: 1}\n"
        "bodies:\n  - {kind: ball, name: rock, radius: 0.2, position: [3, 4]}\n"
    )
    _, frames = simulate(scene)
    with pytest.raises(SimulationError, match=r"body 'rock' moves at 1\.67e\+04 m/s") as caught:
        list(frames)
    assert caught.value.time == pytest.approx(1 / 60)


BLOW_UP = """world: {gravity: [0, -1.0e6]}
timing: {duration: 0.5, fps: 20}
bodies:
  - {kind: ball, name: rock, radius: 0.2, position: [3, 4]}
"""


@pytest.mark.parametrize("fmt", ["states", "gif"])
def test_a_render_that_blows_up_exits_1_with_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    scene = tmp_path / "blow.yaml"
    scene.write_text(BLOW_UP, encoding="utf-8")
    out = tmp_path / "out"
    target = out / ("blow.jsonl" if fmt == "states" else "blow.gif")
    code = main(["render", str(scene), "-o", str(target), "--size", "64x36", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.count("\n") == 0 and "blew up" in err and "'rock'" in err
    assert not out.exists() or not any(out.iterdir())


def test_a_blow_up_in_the_worker_process_arrives_as_the_same_error(tmp_path: Path) -> None:
    from physics_scenes.job.pipeline import RenderJob, run

    scene = parse_scene(BLOW_UP)
    job = RenderJob(scene, tmp_path / "x.jsonl", "states", 64, 36, parallel=True)
    with pytest.raises(SimulationError, match="'rock'"):
        run(job)
    assert list(tmp_path.iterdir()) == []


# --- the files a scene names --------------------------------------------------------------


def write_wav(path: Path, rate: int = 48_000, frames: int = 480) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x01\x00" * frames)
    return path


def write_png_header(path: Path, width: int, height: int) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", width, height))
    return path


SAMPLE_SCENE = """bodies:
  - {{kind: ball, name: b, radius: 0.2}}
audio:
  bodies:
    b: {{sample: {ref}}}
"""


def sample_issue(folder: Path, ref: str) -> tuple[int, str, str]:
    scene = folder / "scene.yaml"
    scene.write_text(SAMPLE_SCENE.format(ref=ref), encoding="utf-8")
    with pytest.raises(SceneError) as caught:
        load_scene(scene)
    ((issue),) = caught.value.issues
    return issue.line, issue.path, issue.message


def test_a_sample_inside_the_folder_validates(tmp_path: Path) -> None:
    (tmp_path / "sounds").mkdir()
    write_wav(tmp_path / "sounds" / "clack.wav")
    scene = tmp_path / "scene.yaml"
    scene.write_text(SAMPLE_SCENE.format(ref="sounds/clack.wav"), encoding="utf-8")
    load_scene(scene)


def test_paths_out_of_the_folder_are_located_errors(tmp_path: Path) -> None:
    folder = tmp_path / "scenes"
    folder.mkdir()
    secret = write_wav(tmp_path / "secret.wav")
    line, path, message = sample_issue(folder, "../secret.wav")
    assert (line, path) == (5, "audio.bodies.b.sample") and "'..'" in message
    assert "absolute path" in sample_issue(folder, str(secret))[2]
    (folder / "link.wav").symlink_to(secret)
    out_of_root = sample_issue(folder, "link.wav")[2]
    missing = sample_issue(folder, "nothing.wav")[2]
    # the same words whether the file outside exists or not: validate reveals nothing
    assert out_of_root == "no file 'link.wav' in the scene's folder"
    assert missing == "no file 'nothing.wav' in the scene's folder"
    (folder / "dangling.wav").symlink_to(tmp_path / "no-such.wav")
    assert sample_issue(folder, "dangling.wav")[2] == "no file 'dangling.wav' in the scene's folder"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.wav")
    assert "not a regular file" in sample_issue(tmp_path, "pipe.wav")[2]
    (tmp_path / "folder.wav").mkdir()
    assert "not a regular file" in sample_issue(tmp_path, "folder.wav")[2]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_bytes(b"not a wav at all"), "is not a WAV file"),
        (lambda p: write_wav(p, rate=1), "sampled at 1 Hz"),
        (lambda p: p.write_bytes(write_wav(p).read_bytes()[:200]), "is truncated"),
        (lambda p: write_wav(p, frames=0), "holds no samples"),
        (lambda p: write_wav(p, rate=8000, frames=8000 * 601), "lasts 601 s"),
    ],
)
def test_wav_headers_are_checked_before_decoding(tmp_path: Path, make, words: str) -> None:  # type: ignore[no-untyped-def]
    make(tmp_path / "s.wav")
    assert words in sample_issue(tmp_path, "s.wav")[2]


def test_read_wav_refuses_a_bad_header_with_audio_input_error(tmp_path: Path) -> None:
    from physics_scenes.audio.dsp import read_wav
    from physics_scenes.errors import AudioInputError

    with pytest.raises(AudioInputError, match="sampled at 1 Hz"):
        read_wav(write_wav(tmp_path / "slow.wav", rate=1, frames=100))
    good = write_wav(tmp_path / "good.wav", frames=1000)
    assert len(read_wav(good)) == 1000


def test_image_bombs_and_non_images_are_refused_from_their_headers(tmp_path: Path) -> None:
    scene = tmp_path / "scene.yaml"
    scene.write_text(
        "look: {background: {image: back.png}}\nbodies:\n  - {kind: ball, radius: 0.2}\n",
        encoding="utf-8",
    )
    write_png_header(tmp_path / "back.png", 30_000, 30_000)
    with pytest.raises(SceneError) as caught:
        load_scene(scene)
    ((issue,),) = [caught.value.issues]
    assert issue.path == "look.background.image" and "30000x30000 pixels" in issue.message
    (tmp_path / "back.png").write_text("hello", encoding="utf-8")
    with pytest.raises(SceneError, match="is not a PNG or JPEG image"):
        load_scene(scene)
    jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08" + struct.pack(">HH", 20, 40)
    (tmp_path / "back.png").write_bytes(jpeg + b"\x00" * 20)
    assert files.image_size(tmp_path / "back.png") == (40, 20)


def test_a_missing_sample_stops_the_render_before_any_frame(tmp_path: Path) -> None:
    from physics_scenes.job.pipeline import RenderJob, run

    write_wav(tmp_path / "clack.wav")
    scene_path = tmp_path / "scene.yaml"
    scene_path.write_text(SAMPLE_SCENE.format(ref="clack.wav"), encoding="utf-8")
    scene = load_scene(scene_path)
    (tmp_path / "clack.wav").unlink()  # gone after validation
    done: list[int] = []
    job = RenderJob(scene, tmp_path / "out.mp4", "mp4", 64, 36, source=scene_path)
    with pytest.raises(InputFileError, match=r"audio\.bodies\.b\.sample: no file 'clack\.wav'"):
        run(job, lambda n, total: done.append(n))
    assert done == [] and sorted(p.name for p in tmp_path.iterdir()) == ["scene.yaml"]


def test_command_line_overrides_cannot_pass_the_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = tmp_path / "s.yaml"
    scene.write_text(
        "timing: {duration: 1}\nstyle: slow motion\nbodies:\n  - {kind: ball, radius: 0.2}\n",
        encoding="utf-8",
    )
    out = str(tmp_path / "o.jsonl")
    assert main(["render", str(scene), "-o", out, "--seed", str(2**64), "-q"]) == 1
    assert "seed" in capsys.readouterr().err
    assert main(["render", str(scene), "-o", out, "--duration", "5000", "-q"]) == 1
    assert "frames; the limit is 1,000,000" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [scene]


def test_motion_blur_is_limited_by_pixels_times_samples() -> None:
    from physics_scenes.job.clip import MAX_BLUR_PIXELS, Clip

    scene = parse_scene(
        "look: {motion_blur: {samples: 64}}\nbodies:\n  - {kind: ball, radius: 0.2}\n"
    )
    with pytest.raises(RenderError, match="64 samples at 7680x7680"):
        Clip(scene, 7680, 7680)
    assert MAX_BLUR_PIXELS > 1920 * 1080 * 64
    Clip(scene, 1920, 1080)


def test_blur_average_one_render_at_a_time_matches_the_mean() -> None:
    from physics_scenes.picture.looks import average
    from physics_scenes.picture.view import Pixels

    rng = np.random.default_rng(1)
    shots = [rng.integers(0, 256, (3, 5, 4), dtype=np.uint8) for _ in range(7)]
    pixels = [Pixels(5, 3, s.tobytes(), "rgb0") for s in shots]
    expected = ((np.sum(shots, axis=0, dtype=np.uint32) + 3) // 7).astype(np.uint8)
    for got in (average(pixels), average(iter(pixels), 7)):
        assert got.data == expected.tobytes()


def test_a_surrogate_in_an_assembled_scene_is_found_where_it_is() -> None:
    """A scene built in code (no file read) with a lone surrogate in a name: the limits
    find it (past their one-pass check for the usual, clean scene) and say where."""
    scene = parse_scene("bodies:\n  - {kind: ball, name: b, radius: 0.2}\n")
    assert limits.check_limits(scene) == []
    bad = scene.model_copy(update={"name": "x\ud800"})
    ((loc, message),) = limits.check_limits(bad)
    assert loc == ("name",) and "U+D800" in message
