"""The script: each action and trigger checked by its effect on the Frames.

Scenes run at 60 fps with one step a frame (dt = 1/60 s), so frame i is step i and a
firing's step can be compared with the state that caused it, frame by frame.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from physics_scenes.errors import SceneError
from physics_scenes.frame import Frame, Layout
from physics_scenes.physics.simulate import simulate
from physics_scenes.scene.loader import parse_scene

HEAD = """
timing: {duration: DUR, fps: 60, substeps: 1}
world: {gravity: GRAV}
"""


def run(
    body: str, duration: float = 1.0, gravity: str = "[0, -9.81]"
) -> tuple[Layout, list[Frame]]:
    text = HEAD.replace("DUR", str(duration)).replace("GRAV", gravity) + body
    layout, frames = simulate(parse_scene(text))
    return layout, list(frames)


def fired(frames: list[Frame], name: str) -> list[int]:
    """Frame indices (= steps here) at which action ``name`` fired, from the Frames."""
    out = []
    for frame in frames:
        for event in frame.events:
            if event.kind == "action" and event.a == name:
                assert event.step == frame.index  # delivered with the frame of its step
                out.append(event.step)
    return out


FREE_BALL = """
bodies:
  - {kind: ball, name: b, radius: 0.5, position: [0, 0], mass: 2}
"""


def test_at_impulse_changes_velocity_by_j_over_m_at_that_step() -> None:
    layout, frames = run(
        FREE_BALL + "script:\n  - {name: kick, at: 0.5, impulse: {body: b, impulse: [3, 0]}}\n",
        gravity="[0, 0]",
    )
    assert fired(frames, "kick") == [30]
    row = layout.index("b")
    assert frames[29].velocity[row, 0] == 0.0
    assert frames[30].velocity[row, 0] == pytest.approx(1.5, abs=1e-12)  # 3 N·s / 2 kg
    assert frames[30].position[row, 0] == 0.0  # applied between steps: not moved yet
    assert frames[40].position[row, 0] == pytest.approx(1.5 * 10 / 60, abs=1e-12)


def test_force_for_a_duration_gives_f_t_over_m() -> None:
    script = "script:\n  - {at: 0.25, force: {body: b, force: [4, 0], duration: 0.5}}\n"
    layout, frames = run(FREE_BALL + script, gravity="[0, 0]")
    row = layout.index("b")
    v = [f.velocity[row, 0] for f in frames]
    assert v[15] == 0.0 and v[16] > 0.0  # pushes from step 15 on
    assert v[45] == pytest.approx(4 * 0.5 / 2, abs=1e-12)  # 30 steps of 4 N on 2 kg
    assert v[59] == v[45]  # and then stops pushing


def test_set_velocity_spin_and_gravity() -> None:
    script = """script:
  - {at: 0.5, set: {body: b, velocity: [1, 2], angular_velocity: 90}}
  - {at: 0.5, set: {gravity: [0, 0]}}
"""
    layout, frames = run(FREE_BALL + script)
    row = layout.index("b")
    assert frames[29].velocity[row, 1] < -4.0  # falling before
    assert tuple(frames[30].velocity[row]) == (1.0, 2.0)
    assert frames[30].angular_velocity[row] == pytest.approx(math.pi / 2)
    assert tuple(frames[59].velocity[row]) == (1.0, 2.0)  # no gravity any more


def test_set_body_type_releases_a_held_body_on_contact() -> None:
    scene = """
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: ball, name: b, radius: 0.2, position: [0, 1]}
  - {kind: box, name: crate, size: [0.4, 0.4], position: [3, 2], body_type: kinematic}
script:
  - {name: release, when: {contact: [b, ground]}, set: {body: crate, body_type: dynamic}}
"""
    layout, frames = run(scene, duration=1.0)
    row = layout.index("crate")
    [step] = fired(frames, "release")
    begin = [e.step for f in frames for e in f.events if e.kind == "begin"]
    assert step == begin[0]  # the first touch of the ball and the ground
    assert all(f.position[row, 1] == 2.0 for f in frames[: step + 1])  # held until then
    assert frames[-1].position[row, 1] < 2.0 - 0.5 * 9.81 * ((59 - step - 2) / 60) ** 2 + 0.1


def test_a_released_body_lands_with_a_begin_event() -> None:
    # once dynamic, the crate has a mass: its landing is a hit, not a graze of an
    # immovable body (the contact hold weighs a touch by the bodies' inverse masses)
    scene = """
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: box, name: crate, size: [0.4, 0.4], position: [0, 1], body_type: kinematic}
script:
  - {name: release, at: 0.1, set: {body: crate, body_type: dynamic}}
"""
    _layout, frames = run(scene, duration=1.0)
    landed = [e for f in frames for e in f.events if e.kind == "begin" and "crate" in (e.a, e.b)]
    fall = math.sqrt(2 * 0.8 / 9.81)  # its bottom 0.8 m up, released at 0.1 s
    assert landed and abs(landed[0].time - (0.1 + fall)) < 0.03, landed[:1]


def test_remove_takes_a_body_out_and_nothing_hits_it() -> None:
    scene = """
bodies:
  - {kind: box, name: shelf, size: [2, 0.2], position: [0, 0], body_type: kinematic}
  - {kind: ball, name: b, radius: 0.2, position: [0, 1]}
script:
  - {at: 0.2, remove: shelf}
"""
    layout, frames = run(scene)
    shelf, ball = layout.index("shelf"), layout.index("b")
    assert np.isfinite(frames[11].position[shelf]).all()
    assert np.isnan(frames[12].position[shelf]).all() and np.isnan(frames[-1].angle[shelf])
    assert frames[-1].position[ball, 1] < -1.0  # fell through where the shelf was
    assert not [e for f in frames for e in f.events if e.kind == "begin"]


def test_spawn_adds_an_inline_body_at_its_step() -> None:
    scene = (
        FREE_BALL
        + """script:
  - {at: 0.5, spawn: {kind: box, name: late, size: [0.3, 0.3], position: [2, 3], velocity: [1, 0]}}
"""
    )
    layout, frames = run(scene)
    row = layout.index("late")
    assert np.isnan(frames[29].position[row]).all()
    assert tuple(frames[30].position[row]) == (2.0, 3.0)
    assert frames[31].position[row, 0] == pytest.approx(2 + 1 / 60)
    assert frames[59].position[row, 1] < 3.0 - 0.5 * 9.81 * (28 / 60) ** 2


def test_caption_and_end() -> None:
    scene = (
        FREE_BALL
        + """script:
  - {name: say, at: 0.25, caption: "hello"}
  - {name: stop, when: {event: say}, delay: 0.25, end: true}
"""
    )
    _, frames = run(scene, duration=2.0)
    assert fired(frames, "say") == [15]
    assert fired(frames, "stop") == [30]
    assert len(frames) == 31 and frames[-1].index == 30  # the clip ends at the end action


REGION = """
bodies:
  - {kind: ball, name: b, radius: 0.1, position: [0, 3]}
script:
  - {name: in, when: {enter: {body: b, region: [[-1, 0], [1, 1]]}}, caption: in}
  - {name: out, when: {leave: {body: b, region: [[-1, 2.5], [1, 4]]}}, caption: out}
  - {name: fast, when: {speed_above: {body: b, speed: 5}}, caption: fast}
"""


def test_enter_leave_and_speed_fire_on_the_first_frame_they_hold() -> None:
    layout, frames = run(REGION, duration=1.0)
    y = [f.position[layout.index("b"), 1] for f in frames]
    speed = [abs(f.velocity[layout.index("b"), 1]) for f in frames]
    assert fired(frames, "in") == [next(i for i, v in enumerate(y) if v <= 1.0)]
    assert fired(frames, "out") == [next(i for i, v in enumerate(y) if v < 2.5)]
    assert fired(frames, "fast") == [next(i for i, v in enumerate(speed) if v > 5)]


def test_rest_and_angle_above() -> None:
    scene = """
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: box, name: crate, size: [0.4, 0.4], position: [0, 0.3]}
  - {kind: ball, name: spinner, radius: 0.2, position: [3, 5], angular_velocity: 90,
     body_type: kinematic}
script:
  - {name: still, when: {rest: {body: crate, speed_below: 0.01, for: 0.25}}, caption: still}
  - {name: turned, when: {angle_above: {body: spinner, degrees: 45}}, caption: turned}
"""
    layout, frames = run(scene, duration=2.0)
    row = layout.index("crate")
    slow = [math.hypot(*f.velocity[row]) < 0.01 for f in frames]
    [step] = fired(frames, "still")
    assert all(slow[step - 14 : step + 1]) and not all(slow[step - 15 : step + 1])
    angle = [abs(f.angle[layout.index("spinner")]) for f in frames]
    assert fired(frames, "turned") == [next(i for i, a in enumerate(angle) if a > math.pi / 4)]


def test_after_event_any_all_every_times() -> None:
    scene = (
        FREE_BALL
        + """script:
  - {name: a, at: 0.1, caption: a}
  - {name: b, at: 0.4, caption: b}
  - {name: later, after: a, delay: 0.05, caption: later}
  - {name: either, when: {any: [{event: a}, {event: b}]}, caption: either}
  - {name: both, when: {all: [{event: a}, {event: b}]}, caption: both}
  - {name: tick, at: 0.5, every: 0.1, times: 3, caption: tick}
  - {name: forever, when: {event: b}, every: 0.25, caption: again}
"""
    )
    _, frames = run(scene, duration=1.0)
    assert fired(frames, "a") == [6] and fired(frames, "b") == [24]
    assert fired(frames, "later") == [9]
    assert fired(frames, "either") == [6]
    assert fired(frames, "both") == [24]
    assert fired(frames, "tick") == [30, 36, 42]
    assert fired(frames, "forever") == [24, 39, 54]


def test_a_script_run_is_deterministic() -> None:
    scene = """
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: ball, name: b, radius: 0.2, position: [0, 1], grid: {columns: 5, spacing: [0.5, 0]}}
script:
  - when: {contact: [b, ground]}
    every: 0.1
    times: 5
    spawn: {kind: ball, name: s, radius: 0.1, position: [0, 2]}
  - {at: 0.3, impulse: {body: b, impulse: [0.5, 1]}}
"""
    hashes = [[f.state_hash() for f in run(scene, duration=0.5)[1]] for _ in range(2)]
    assert hashes[0] == hashes[1]


@pytest.mark.parametrize(
    ("script", "path", "message"),
    [
        (
            "- {at: 0.1, impulse: {body: bb, impulse: [1, 0]}}",
            "script[0].impulse.body",
            "no body is called 'bb' (did you mean 'b'?)",
        ),
        ("- {after: nope, caption: x}", "script[0].after", "no action is called 'nope'"),
        ("- {at: 9, caption: x}", "script[0].at", "after the end of the simulation"),
        (
            "- {name: x, after: y, caption: x}\n  - {name: y, when: {event: x}, caption: y}",
            "script[0]",
            "cycle: x → y → x",
        ),
        (
            "- {at: 1, set: {body: ground, velocity: [1, 0]}}",
            "script[0].set.body",
            "'ground' is static",
        ),
        ("- {at: 1}", "script[0]", "give exactly one action"),
        (
            "- {at: 1, set: {body: b, material: rubbr}}",
            "script[0].set.material",
            "unknown material",
        ),
        ("- {at: 1, when: {event: a}, caption: x}", "script[0]", "exactly one of at, when, after"),
        ("- {when: {touch: [b, ground]}, caption: x}", "script[0].when", "a trigger is one of"),
        (
            "- {at: 1, spawn: {kind: ball, name: b, radius: 1}}",
            "script[0].spawn.name",
            "'b' is already used",
        ),
        (
            "- {at: 1, camera: {mode: follow, target: bal}}",
            "script[0].camera.target",
            "unknown body 'bal'",
        ),
        (
            "- {at: 0, every: 0.001, times: 1000000, spawn: {kind: ball, name: r, radius: 0.1}}",
            "script[0].times",
            "the limit is 20,000",
        ),
        (
            "- {at: 1, remove: ground}",
            "script[0].remove",
            "'ground' is static",
        ),
        (
            "- {at: 1, spawn: {kind: floor, name: f2, y: 1}}",
            "script[0].spawn.kind",
            "must move",
        ),
    ],
)
def test_script_errors_are_located(script: str, path: str, message: str) -> None:
    text = (
        "bodies:\n  - {kind: floor, name: ground}\n  - {kind: ball, name: b, radius: 0.2}\n"
        "script:\n  " + script + "\n"
    )
    with pytest.raises(SceneError) as info:
        parse_scene(text, "s.yaml")
    issue = info.value.issues[0]
    assert issue.path == path and message in issue.message, (issue.path, issue.message)
    assert issue.line >= 4


@pytest.mark.slow
def test_the_rube_goldberg_example_runs_its_stages_in_order(tmp_path: Path) -> None:
    """scenes/rube_goldberg.yaml: each stage's trigger fires after the one before, the
    launch throws the ball up, the clip ends 2.5 s after it, and the captions are in the
    sidecar and in the decoded picture."""
    from physics_scenes.job.pipeline import RenderJob
    from physics_scenes.job.pipeline import run as render
    from physics_scenes.scene.loader import load_scene

    from helpers import SCENES, decode_video

    source = SCENES / "rube_goldberg.yaml"
    target = tmp_path / "rube.mp4"
    render(RenderJob(load_scene(source), target, "mp4", 320, 180, "draft", source=source))
    lines = [json.loads(x) for x in (tmp_path / "rube.states.jsonl").read_text().splitlines()]
    header, frames = lines[0], [r for r in lines if r["type"] == "frame"]
    when = {e["a"]: e["time"] for r in frames for e in r["events"] if e["kind"] == "action"}
    order = ["release", "topple", "drop", "launch"]
    assert [when[k] for k in order] == sorted(when[k] for k in order)
    assert when["finish"] == pytest.approx(when["launch"] + 2.5)
    assert frames[-1]["time"] == pytest.approx(when["finish"], abs=1 / 30)
    shots = [r["camera"]["shot"] for r in frames]
    first_of = {shot: shots.index(shot) for shot in set(shots)}
    assert sorted(first_of) == [0, 1, 2] and shots == sorted(shots)  # wide, dominoes, wide
    assert first_of[1] == math.ceil(when["topple"] * 30 - 1e-9)  # cut on the trigger's frame
    assert first_of[2] == math.ceil((when["drop"] + 0.3) * 30 - 1e-9)
    row = [b["name"] for b in header["bodies"]].index("projectile")
    assert max(r["position"][row][1] for r in frames) > 2.5  # launched (rests at 1.14 m)
    vtt = (tmp_path / "rube.vtt").read_text()
    at = [vtt.index(t) for t in ("A small machine", "1. The", "2. The", "3. The", "4. Launch")]
    assert at == sorted(at)
    video = decode_video(target)
    assert len(video.frames) == len(frames)
    launch = math.ceil(when["launch"] * 30)
    band = slice(180 - 40, 180 - 5)  # the bottom caption band
    assert video.frames[30, band].max() < 150  # ground only: the title is in the middle
    assert video.frames[launch + 10, band].max() > 230  # "4. Launch!" in white


@pytest.mark.slow
def test_a_scripted_run_is_bit_identical_in_another_process() -> None:
    """The example's every action, spawn and release: the same state hashes in a fresh
    interpreter (hash seed and memory addresses differ) as here."""
    import subprocess
    import sys

    from physics_scenes.scene.loader import load_scene

    from helpers import ROOT, SCENES

    code = (
        "import sys; from physics_scenes.scene.loader import load_scene;"
        "from physics_scenes.physics.simulate import simulate;"
        "_, frames = simulate(load_scene(sys.argv[1]));"
        "print(' '.join(f.state_hash() for f in frames))"
    )
    path = str(SCENES / "rube_goldberg.yaml")
    env = {"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "123", "SDL_VIDEODRIVER": "dummy"}
    there = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    _, frames = simulate(load_scene(path))
    assert there == [f.state_hash() for f in frames]


def test_a_forked_world_runs_its_triggers_on_its_own_bodies() -> None:
    """The preview forks Worlds; a fork's Director must read the fork's bodies."""
    import pymunk

    from physics_scenes.physics.world import World

    text = HEAD.replace("DUR", "1").replace("GRAV", "[0, -9.81]") + FREE_BALL
    text += "script:\n  - {name: fast, when: {speed_above: {body: b, speed: 2}}, caption: x}\n"
    world = World(parse_scene(text))
    fork = world.fork()
    fork.bodies["b"].body_type = pymunk.Body.KINEMATIC  # held still in the fork only
    for _ in range(60):
        world.step()
    for _ in range(60):
        fork.step()
    assert [e.a for e in world.drain_events() if e.kind == "action"] == ["fast"]
    assert [e.a for e in fork.drain_events() if e.kind == "action"] == []


def test_joint_break_and_motor_rate_and_off() -> None:
    scene = """
bodies:
  - {kind: ball, name: bob, radius: 0.1, position: [1, 0]}
  - {kind: ball, name: wheel, radius: 0.3, position: [5, 0]}
joints:
  - {kind: pin, name: rod, a: bob, b: world, anchor_b: [0, 1]}
  - {kind: pivot, a: wheel, b: world, point: [5, 0]}
  - {kind: motor, name: drive, a: wheel, b: world, rate: 90}
script:
  - {at: 0.5, joint: {break: rod}}
  - {at: 0.5, motor: {joint: drive, rate: 180}}
  - {at: 0.8, motor: {joint: drive, running: false}}
  - {at: 0.8, set: {body: wheel, angular_velocity: 0}}
"""
    layout, frames = run(scene)
    bob, wheel = layout.index("bob"), layout.index("wheel")
    held = [math.dist(f.position[bob], (0, 1)) for f in frames[:30]]
    assert max(held) - min(held) < 0.01  # on its rod (the solver lets it give a few mm)
    vy = [f.velocity[bob, 1] for f in frames]
    assert vy[59] - vy[40] == pytest.approx(-9.81 * 19 / 60, rel=1e-6)  # free fall after
    spin = [f.angular_velocity[wheel] for f in frames]
    assert abs(spin[29]) == pytest.approx(math.pi / 2, rel=1e-3)  # driven at 90 °/s
    assert abs(spin[40]) == pytest.approx(math.pi, rel=1e-3)  # then 180 °/s
    assert abs(spin[59]) < 1e-6  # switched off: stopped stays stopped


def test_joint_and_motor_names_are_checked() -> None:
    text = (
        "bodies:\n  - {kind: ball, name: b, radius: 0.2}\n"
        "joints:\n  - {kind: pivot, name: hinge, a: b, b: world}\n"
        "script:\n  - {at: 0, joint: {break: hinj}}\n  - {at: 0, motor: {joint: hinge, rate: 1}}\n"
    )
    with pytest.raises(SceneError) as info:
        parse_scene(text, "s.yaml")
    found = {(i.path, i.message) for i in info.value.issues}
    assert ("script[0].joint.break", "no joint is called 'hinj' (did you mean 'hinge'?)") in found
    assert ("script[1].motor.joint", "'hinge' is a pivot joint, not a motor") in found


def test_validate_json_gives_located_issues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from physics_scenes.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "bodies:\n  - {kind: ball, name: b, radius: 0.2}\n"
        "script:\n  - {at: 1, impulse: {body: c, impulse: [1, 0]}}\n",
        encoding="utf-8",
    )
    good = tmp_path / "good.yaml"
    good.write_text("bodies:\n  - {kind: ball, radius: 0.2}\n", encoding="utf-8")
    assert main(["validate", "--json", str(bad), str(good)]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first == {
        "file": str(bad),
        "ok": False,
        "issues": [{"line": 4, "column": 29, "path": "script[0].impulse.body",
                    "message": "no body is called 'c'"}],
        "omitted": 0,
    }  # fmt: skip
    assert second == {"file": str(good), "ok": True, "issues": [], "omitted": 0}


def test_camera_action_cuts_on_the_frame_of_its_trigger() -> None:
    from physics_scenes.job.clip import Clip

    text = """
timing: {duration: 1.5, fps: 30}
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: ball, name: ball, radius: 0.2, position: [8, 2]}
script:
  - {name: cut, when: {contact: [ball, ground]}, camera: {mode: close_up, target: ball, fill: 0.5,
     smoothing: 0}}
"""
    clip = Clip(parse_scene(text), 160, 90)
    items = list(clip.frames())
    [hit] = [k for k, it in enumerate(items) for e in it.frame.events if e.kind == "action"]
    modes = [(it.shot.index, it.shot.mode) for it in items]
    assert set(modes[:hit]) == {(0, "default")}
    assert set(modes[hit:]) == {(1, "close_up")}
    after = items[hit]
    assert after.view.scale == pytest.approx(90 * 0.5 / 0.4)  # the ball fills half the height
    assert after.record()["camera"]["mode"] == "close_up"  # and the states file says so


@pytest.mark.slow
def test_the_example_renders_the_same_bytes_with_the_physics_in_a_worker(tmp_path: Path) -> None:
    """Actions, camera cuts, captions and labels: the same MP4 and sidecars whether the
    clip is simulated in this process or in the worker process."""
    import hashlib

    from physics_scenes.job.pipeline import RenderJob
    from physics_scenes.job.pipeline import run as render
    from physics_scenes.scene.loader import load_scene

    from helpers import SCENES

    source = SCENES / "rube_goldberg.yaml"
    made = []
    for parallel in (False, True):
        target = tmp_path / f"{parallel}" / "rube.mp4"
        job = RenderJob(load_scene(source), target, "mp4", 160, 90, "draft", source=source,
                        parallel=parallel)  # fmt: skip
        result = render(job)
        made.append((result.run_hash, hashlib.sha256(target.read_bytes()).digest(),
                     target.with_suffix(".vtt").read_text()))  # fmt: skip
    assert made[0] == made[1]


def test_a_repeated_spawn_adds_one_copy_a_firing() -> None:
    scene = (
        FREE_BALL.replace("[0, 0]", "[5, 0]")
        + """script:
  - {name: rain, at: 0.1, every: 0.2, times: 4,
     spawn: {kind: ball, name: drop, radius: 0.1, position: [0, 3]}}
"""
    )
    layout, frames = run(scene)
    assert fired(frames, "rain") == [6, 18, 30, 42]
    for k, step in enumerate([6, 18, 30, 42]):
        row = layout.index(f"drop/{k}")
        assert np.isnan(frames[step - 1].position[row]).all()
        assert tuple(frames[step].position[row]) == (0.0, 3.0)  # where the entry says
        assert frames[59].position[row, 1] < 3.0  # and falls from there


def test_a_repeated_spawn_needs_a_count() -> None:
    text = (
        "bodies:\n  - {kind: ball, name: b, radius: 0.2}\nscript:\n"
        "  - {at: 0, every: 1, spawn: {kind: ball, name: c, radius: 0.1}}\n"
    )
    with pytest.raises(SceneError) as info:
        parse_scene(text, "s.yaml")
    assert "a repeated spawn needs times" in info.value.issues[0].message


def test_info_summarises_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    from physics_scenes.cli import main

    from helpers import SCENES

    assert main(["info", str(SCENES / "rube_goldberg.yaml")]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("script:"))
    assert line == "script:    10 actions (5 caption, 2 set, 2 camera, 1 end), 9 on triggers"


def test_walker_speed_and_limp() -> None:
    text = """
timing: {duration: 6, fps: 30, substeps: 8}
world: {size: [16, 9], origin: [-8, -1]}
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: walker, name: w, position: [0, 0], speed: 0.5}
script:
  - {at: 2.5, walker: {body: w, speed: 1.2}}
  - {at: 5, walker: {body: w, limp: true}}
"""
    layout, stream = simulate(parse_scene(text))
    frames = list(stream)
    torso = layout.index("w/torso")
    x = [f.position[torso, 0] for f in frames]
    y = [f.position[torso, 1] for f in frames]
    slow, fast = (x[75] - x[45]) / 1.0, (x[150] - x[120]) / 1.0
    assert 0.3 < slow < 0.7 and 0.9 < fast < 1.5  # m/s, before and after the change
    assert min(y[:150]) > 0.7  # upright while walking (the torso at about 0.9 m)
    assert min(y[155:]) < 0.5  # limp: it crumples within a third of a second


def test_walker_action_names_a_walker() -> None:
    text = (
        "bodies:\n  - {kind: ball, name: b, radius: 0.2}\n"
        "script:\n  - {at: 0, walker: {body: b, speed: 1}}\n"
    )
    with pytest.raises(SceneError) as info:
        parse_scene(text, "s.yaml")
    assert info.value.issues[0].message == "no walker is called 'b'"


def test_spawn_from_a_template() -> None:
    scene = (
        FREE_BALL
        + """templates:
  crate: {kind: box, size: [0.4, 0.4], material: metal, position: [9, 9]}
script:
  - {at: 0.2, spawn: {template: crate, name: first, position: [1, 3]}}
  - {at: 0.5, every: 0.1, times: 2, spawn: {template: crate, name: more}}
"""
    )
    layout, frames = run(scene)
    first = layout.bodies[layout.index("first")]
    assert first.material == "metal" and first.kind == "box"
    assert tuple(frames[12].position[layout.index("first")]) == (1.0, 3.0)  # moved
    assert np.isnan(frames[11].position[layout.index("first")]).all()
    assert tuple(frames[30].position[layout.index("more/0")]) == (9.0, 9.0)  # the template's
    assert tuple(frames[36].position[layout.index("more/1")]) == (9.0, 9.0)


def test_an_unknown_template_is_located() -> None:
    text = (
        "bodies:\n  - {kind: ball, name: b, radius: 0.2}\n"
        "templates:\n  crate: {kind: box, size: [1, 1]}\n"
        "script:\n  - {at: 0, spawn: {template: crat, name: c}}\n"
    )
    with pytest.raises(SceneError) as info:
        parse_scene(text, "s.yaml")
    issue = info.value.issues[0]
    assert issue.path == "script[0].spawn.template" and issue.line == 6
    assert issue.message == "no template is called 'crat' (templates: crate)"


def test_energies_leave_out_bodies_not_in_the_world() -> None:
    from physics_scenes.physics.measure import kinetic_energy, potential_energy

    scene = (
        FREE_BALL
        + """script:
  - {at: 0.5, spawn: {kind: ball, name: late, radius: 0.1, position: [0, 2], mass: 1}}
"""
    )
    layout, frames = run(scene)
    b, frame = layout.index("b"), frames[10]
    alone = 0.5 * 2 * float(np.sum(frame.velocity[b] ** 2))  # the 2 kg ball, not spinning
    assert kinetic_energy(layout, frame) == pytest.approx(alone)  # the absent one left out
    assert potential_energy(layout, frame) == pytest.approx(2 * 9.81 * frame.position[b, 1])
    assert math.isfinite(kinetic_energy(layout, frames[40]))


def test_set_material_changes_the_bounce() -> None:
    """Rebound height goes with elasticity squared: rubber (0.8) bounces 4x higher than
    wood (0.4) off the ground (1.0; pymunk multiplies the two)."""
    base = """
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: ball, name: b, radius: 0.1, position: [0, 1.1], material: wood}
"""
    apex = []
    for script in ("", "script:\n  - {at: 0.1, set: {body: b, material: rubber}}\n"):
        layout, frames = run(base + script, duration=1.5)
        y = [f.position[layout.index("b"), 1] for f in frames]
        bounce = int(np.argmin(y[:40]))  # the first contact, before 0.67 s
        apex.append(max(y[bounce:]) - 0.1)
    assert apex[1] / apex[0] == pytest.approx(4.0, rel=0.25)
