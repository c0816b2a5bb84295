"""The story's later actions: ``time`` (slow motion in and out at a moment), ``joint: add``,
walker turns; each checked by its effect on the Frames (or the clip's clock)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from physics_scenes.errors import RenderError, SceneError
from physics_scenes.job.clip import Clip
from physics_scenes.physics.simulate import simulate
from physics_scenes.scene.loader import parse_scene

DROP = """
timing: {duration: 1.5, fps: 20, substeps: 12}
world: {size: [4, 3]}
bodies:
  - {kind: floor, name: floor, y: 0}
  - {kind: ball, name: ball, radius: 0.1, position: [2, 1.0], material: rubber}
script:
  - {name: slow, when: {contact: [ball, floor]}, time: {rate: 0.25}}
  - {name: back, after: slow, delay: 0.2, time: {rate: 1}}
"""


def test_time_enters_slow_motion_on_a_trigger_and_leaves_it() -> None:
    scene = parse_scene(DROP)
    hit = next(e.time for f in simulate(scene)[1] for e in f.events if e.a == "slow")
    assert hit == pytest.approx(np.sqrt(2 * 0.9 / 9.81), abs=0.02)  # the fall of 0.9 m
    clip = Clip(scene, 32, 24)
    times = np.array([f.frame.time for f in clip.frames()])
    # 0.2 s of simulation shown 4x slower: 0.6 s more video, 12 more frames at 20 fps
    assert len(times) == clip.frame_count == round((1.5 + 0.6) * 20)
    steps = np.diff(times)
    before, during = times[1:] <= hit, (times[1:] > hit + 0.05) & (times[1:] < hit + 0.15)
    after = times[1:] > hit + 0.25
    assert np.allclose(steps[before], 1 / 20) and np.allclose(steps[after], 1 / 20)
    assert np.allclose(steps[during], 0.25 / 20)  # a quarter of the simulation per frame
    assert clip.timeline.video_time(hit + 0.2) == pytest.approx(hit + 0.8)


def test_validate_and_info_count_the_frames_render_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Slow motion and ``time`` actions lengthen the video: ``validate`` and ``info`` give
    the clip's own frame count (42 here), not the simulation's (30); a scene with both
    kinds of clock change is refused by ``validate`` as by ``render``."""
    from physics_scenes.cli import main

    scene = tmp_path / "drop.yaml"
    scene.write_text(DROP)
    assert main(["validate", str(scene)]) == 0
    count = Clip(parse_scene(DROP), 32, 24).frame_count
    assert count == 42 and capsys.readouterr().out == f"{scene}: ok (2 bodies, {count} frames)\n"
    assert main(["info", str(scene)]) == 0
    assert f"video:     {count} frames = 2.1 s (slow motion or time actions)" in (
        capsys.readouterr().out
    )
    scene.write_text(DROP + "time: {segments: [{start: 0.1, end: 0.2, rate: 0.5}]}\n")
    assert main(["validate", str(scene)]) == 1
    assert "use one or the other" in capsys.readouterr().err


def test_time_actions_and_time_segments_do_not_mix() -> None:
    scene = parse_scene(DROP + "time: {segments: [{start: 0.1, end: 0.2, rate: 0.5}]}\n")
    with pytest.raises(RenderError, match="use one or the other"):
        Clip(scene, 32, 24)


CATCH = """
timing: {duration: 1.0, fps: 60, substeps: 1}
world: {size: [4, 3], origin: [-2, -1.5]}
bodies:
  - {kind: ball, name: bob, radius: 0.1, position: [0, 0]}
joints:
  - {kind: pin, name: rope, a: bob, b: world, anchor_b: [0, 1]}
script:
  - {at: 0.5, joint: {add: rope}}
"""


def test_joint_add_holds_from_its_step_and_is_drawn_from_then() -> None:
    from physics_scenes.frame import Frame

    layout, stream = simulate(parse_scene(CATCH))
    frames: list[Frame] = list(stream)
    bob = layout.index("bob")
    vy = [f.velocity[bob, 1] for f in frames]
    assert vy[29] == pytest.approx(-9.81 * 29 / 60, rel=1e-6)  # free fall before
    # made when added: the rope measures its length then (the bob 2.19 m under the anchor)
    lengths = [np.hypot(f.position[bob, 0], f.position[bob, 1] - 1) for f in frames[30:]]
    assert lengths[0] > 2.0  # it fell 1.1 m before
    # caught: a soft rope gives 8 cm at 4.9 m/s for a step or two, then holds (free, the
    # bob would have fallen 0.9 m more in these 10 frames)
    assert max(lengths) - lengths[0] < 0.1 and abs(lengths[10] - lengths[0]) < 0.01
    # drawn only once it holds: the rod's pixels between the anchor and the bob
    clip = Clip(parse_scene(CATCH), 80, 60)
    pictures = {f.frame.index: clip.pixels(f).rgb() for f in clip.frames()}
    column = pictures[20][5:14, 40].astype(int)  # just under the anchor at (0, 1): the rod
    assert (column == pictures[20][5:14, 30].astype(int)).all()  # nothing there before
    assert (np.abs(pictures[45][5:14, 40].astype(int) - column).sum(axis=1) > 30).any()


def test_joint_needs_exactly_one_change() -> None:
    from physics_scenes.errors import SceneError

    with pytest.raises(SceneError, match="exactly one of break, add"):
        parse_scene(CATCH.replace("{add: rope}", "{add: rope, break: rope}"))
    with pytest.raises(SceneError, match=r"script\[0\]\.joint\.add: no joint is called 'rop'"):
        parse_scene(CATCH.replace("{add: rope}", "{add: rop}"))


ACT = """
timing: {duration: 0.5, fps: 20}
world: {size: [4, 3]}
look: {background: "COLOR"}
audio: {room_tone: null}
bodies: [{kind: floor, name: floor, y: -5}]
"""


def _story(tmp_path, transition: str, duration: float = 0.2):
    from physics_scenes.job.story import load_story, story_pictures

    (tmp_path / "a.yaml").write_text(ACT.replace("COLOR", "#c83214"))
    (tmp_path / "b.yaml").write_text(ACT.replace("COLOR", "#1432c8"))
    (tmp_path / "s.yaml").write_text(
        "story:\n  acts:\n    - {scene: a.yaml}\n"
        f"    - {{scene: b.yaml, transition: {{kind: {transition}, duration: {duration}}}}}\n"
    )
    acts = load_story(tmp_path / "s.yaml")
    clips = [Clip(act.scene, 32, 24, act.folder) for act in acts]
    return [p.rgb() for p in story_pictures(clips, [a.transition for a in acts])]


RED, BLUE = np.array([200, 50, 20]), np.array([20, 50, 200])


@pytest.mark.parametrize("kind", ["cut", "crossfade", "fade", "wipe"])
def test_story_transitions_in_the_pixels(tmp_path, kind: str) -> None:
    pictures = _story(tmp_path, kind)
    middle = np.array([p[12, 16].astype(int) for p in pictures])
    left, right = (np.array([p[12, c].astype(int) for p in pictures]) for c in (2, 29))
    if kind == "cut":
        assert len(pictures) == 20 and (middle[:10] == RED).all() and (middle[10:] == BLUE).all()
    elif kind == "crossfade":  # 4 frames overlap: 10 + 10 - 4
        assert len(pictures) == 16 and (middle[:6] == RED).all() and (middle[10:] == BLUE).all()
        for i in range(4):
            share = (i + 1) / 5
            assert np.abs(middle[6 + i] - (RED * (1 - share) + BLUE * share)).max() <= 1
    elif kind == "fade":  # through black: 2 frames out, 2 in, no overlap
        assert len(pictures) == 20 and (middle[:8] == RED).all() and (middle[12:] == BLUE).all()
        levels = [m.max() / 200 for m in middle[8:12]]
        assert levels == pytest.approx([2 / 3, 1 / 3, 1 / 3, 2 / 3], abs=0.01)
        assert (middle[9].argmax(), middle[10].argmax()) == (0, 2)  # red fading, blue coming
    else:  # a wipe from the left over 4 frames
        assert len(pictures) == 16
        assert (left[6:] == BLUE).all() and (right[6:9] == RED).all() and (right[10:] == BLUE).all()
        edges = [int((p[12, :, 2] > 100).sum()) for p in pictures[6:10]]
        assert edges == [6, 13, 19, 26]  # round(share * 32) columns of the new act


def test_story_track_crossfades_the_acts_sound() -> None:
    from physics_scenes.audio import RATE
    from physics_scenes.job.story import story_track
    from physics_scenes.scene.story import Transition

    one, two = np.ones((RATE, 2), np.float32), -np.ones((RATE, 2), np.float32)
    cross = story_track([one, two], [Transition(), Transition(kind="crossfade", duration=0.5)], 20)
    assert len(cross) == 2 * RATE - RATE // 2  # half a second overlaps
    assert cross[RATE // 2 - 1, 0] == 1 and cross[RATE, 0] == -1 and cross[RATE - 1, 0] < -0.999
    assert abs(cross[3 * RATE // 4, 0]) < 1e-3  # halfway through: the two cancel here
    fade = story_track([one, two], [Transition(), Transition(kind="fade", duration=0.5)], 20)
    assert len(fade) == 2 * RATE and fade[RATE - 1, 0] == 0 and fade[RATE, 0] == 0
    assert fade[RATE - RATE // 4 - 1, 0] == 1 and fade[RATE + RATE // 4, 0] == -1


def test_a_story_act_must_exist_and_share_the_frame_rate(tmp_path) -> None:
    from physics_scenes.job.story import load_story

    (tmp_path / "a.yaml").write_text(ACT.replace("COLOR", "#c83214"))
    (tmp_path / "b.yaml").write_text(ACT.replace("COLOR", "#1432c8").replace("20}", "25}"))
    (tmp_path / "s.yaml").write_text("story: {acts: [{scene: a.yaml}, {scene: c.yaml}]}\n")
    with pytest.raises(SceneError, match=r"s\.yaml:1:41: story\.acts\[1\]\.scene: no file 'c\.y"):
        load_story(tmp_path / "s.yaml")  # located at the act's scene, like any bad field
    (tmp_path / "s.yaml").write_text("story: {acts: [{scene: a.yaml}, {scene: b.yaml}]}\n")
    with pytest.raises(SceneError, match=r":1:41: story\.acts\[1\]\.scene: 25 fps; the story.* 20"):
        load_story(tmp_path / "s.yaml")
    # a scene file given to `story`: one line that says so, not every field unknown
    with pytest.raises(
        SceneError, match=r"a\.yaml:\d+:\d+: this is a scene file, not a story"
    ) as e:
        load_story(tmp_path / "a.yaml")
    assert len(e.value.issues) == 1


STORIES = Path(__file__).parent.parent / "scenes" / "stories"


@pytest.mark.slow  # the examples: one clip run, one small story render (about 10 s idle)
def test_the_three_shot_and_two_act_examples_render(tmp_path, capsys) -> None:
    from physics_scenes import load_scene
    from physics_scenes.job.story import render_story

    from helpers import decode_video

    clip = Clip(load_scene(STORIES / "three_shots.yaml"), 160, 90, STORIES)
    items = list(clip.frames())
    shots = [item.shot.mode for item in items]
    modes = [m for i, m in enumerate(shots) if i == 0 or shots[i - 1] != m]
    assert modes == ["fixed", "close_up", "fit"], modes  # setup, the hit, the aftermath
    sims = [item.frame.time for item in items]
    assert min(np.diff(sims)) == pytest.approx(0.25 / 30, abs=1e-6)  # the hit slowed 4x
    said = {cue.text for item in items for cue in item.cues}
    assert {"man: What a lovely day for a walk.", "He never saw it coming.", "Impact."} <= said
    story = tmp_path / "s.mp4"
    frames = render_story(STORIES / "two_acts.story.yaml", story, 160, 90, quality="draft")
    pictures = decode_video(story).frames
    first = Clip(load_scene(STORIES / "up_the_hill.yaml"), 16, 16).frame_count
    assert len(pictures) == frames == first + len(items)  # a fade: no overlap
    vtt = story.with_suffix(".vtt").read_text()
    assert "Somewhere up the hill, a stone breaks loose." in vtt and "Impact." in vtt
    darkest = [int(pictures[first + k].max()) for k in (-1, 0)]
    assert max(darkest) < 40 < int(pictures[first + 30].max())  # through black, then act two
    # marked like a render: one content id in the pictures and in the sound, named in tags
    from physics_scenes.cli import main

    assert main(["verify", str(story), "--json"]) == 0
    mark = json.loads(capsys.readouterr().out.splitlines()[0])["watermark"]
    assert mark["picture"]["payload"] == mark["sound"]["payload"] == mark["content_id"]
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    header = subprocess.run([exe, "-hide_banner", "-i", str(story)], capture_output=True,
                            text=True).stderr  # fmt: skip
    assert "comment         : synthetic: rendered by physics_scenes" in header
    assert f"content id {mark['content_id']}" in header


SHOTS = """
timing: {duration: 1.0, fps: 20}
world: {size: [4, 3]}
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: box, name: crate, size: [0.6, 0.6], position: [2, 0.8], color: "#e0a030"}
script:
  - {at: 0.5, camera: {mode: fixed, center: [2, 0.8], zoom: 3}, transition: TRANSITION}
"""


@pytest.mark.parametrize("kind", ["crossfade", "wipe", "fade"])
def test_a_camera_action_can_dissolve_wipe_or_fade_to_its_shot(kind: str) -> None:
    from physics_scenes.picture.looks import blend, darken, wipe

    plain = Clip(parse_scene(SHOTS.replace(", transition: TRANSITION", "")), 40, 30)
    cut = [(f, plain.pixels(f)) for f in plain.frames()]
    text = SHOTS.replace("TRANSITION", f"{{kind: {kind}, duration: 0.2}}")
    clip = Clip(parse_scene(text), 40, 30)
    both = [(f, clip.pixels(f)) for f in clip.frames()]
    assert len(both) == len(cut) == 20
    wide = cut[9][1]  # the last frame of the wide shot (nothing moves: every wide frame)
    for index in range(20):
        item, pixels = both[index]
        close = cut[index][1]
        if not 10 <= index < 14:
            assert item.outgoing is None and pixels.data == close.data, index
            continue
        assert item.outgoing is not None
        share = (index - 9) / 5  # 4 frames of transition from the cut's frame 10
        if kind == "crossfade":
            expected = blend(wide, close, share)
        elif kind == "wipe":
            expected = wipe(wide, close, share)
        else:  # through black
            expected = darken(wide, 1 - 2 * share) if share < 0.5 else darken(close, 2 * share - 1)
        assert pixels.data == expected.data, index
    assert both[12][1].data != both[10][1].data  # it moves on, frame by frame


def test_a_transition_needs_a_camera_action() -> None:
    from physics_scenes.errors import SceneError

    with pytest.raises(SceneError, match="transition goes with a camera action"):
        parse_scene(SHOTS.replace("camera: {mode: fixed, center: [2, 0.8], zoom: 3}", "end: true")
                    .replace("TRANSITION", "{kind: wipe}"))  # fmt: skip


TURN = """
timing: {duration: 6, fps: 30, substeps: 8}
world: {size: [8, 4.5], origin: [-2, -0.5]}
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: walker, name: w, position: [0, 0], speed: 0.8}
script:
  - {name: back, at: 2.5, walker: {body: w, turn: true}}
"""


@pytest.mark.slow  # 6 s of a walker (about 1 s)
def test_a_walker_turns_round_walks_back_upright_and_is_drawn_turned() -> None:
    clip = Clip(parse_scene(TURN), 160, 90)
    items = list(clip.frames())
    torso = clip.layout.index("w/torso")
    x = np.array([i.frame.position[torso, 0] for i in items])
    y = np.array([i.frame.position[torso, 1] for i in items])
    assert 0.5 < (x[75] - x[30]) / 1.5 < 1.1  # walking right at about 0.8 m/s
    assert -1.2 < (x[175] - x[115]) / 2.0 < -0.5  # then left, after turning round
    assert y.min() > 0.7  # upright all the while (the torso's hip at about 0.9 m)
    feet = {clip.layout.index(f"w/foot_{side}") for side in ("left", "right")}
    assert not items[74].mirrored and feet <= items[76].mirrored  # drawn turned from then
    # drawn mirrored, a foot's toe is on the other side of its ankle
    from physics_scenes.picture.renderer import Renderer

    renderer = Renderer(clip.layout, 640, 360)  # (80 pixels a metre: a foot is 20 long)
    frame, view = items[30].frame, renderer.default_view()  # walking right, before the turn
    foot = clip.layout.index("w/foot_right")
    plain = renderer.render(frame, view).rgb().astype(int)
    turned = renderer.render(frame, view, mirrored=frozenset({foot})).rgb().astype(int)
    background = plain[0, 0]
    only_plain = (plain != background).any(axis=2) & (turned == background).all(axis=2)
    only_turned = (turned != background).any(axis=2) & (plain == background).all(axis=2)
    ankle = view.to_pixels(frame.position[foot])[0]
    assert only_plain.sum() > 20 and only_turned.sum() > 20
    assert np.nonzero(only_turned)[1].mean() < ankle < np.nonzero(only_plain)[1].mean()


CAMEO_ACT = """
name: act
timing: {duration: 0.2, fps: 10}
world: {size: [4, 3]}
look: {title: TITLE}
bodies:
  - {kind: floor, y: 0}
  - {kind: ragdoll, position: [2, 1], face: FACE}
"""


def test_a_story_refuses_what_render_refuses_before_writing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An act with a face its consent does not cover, or a blocked name in its title, stops
    the story like a render of that act: a located error, nothing at the target."""
    from PIL import Image

    from physics_scenes.cli import main
    from physics_scenes.errors import SceneError
    from physics_scenes.job.story import render_story
    from physics_scenes.rights.registry import Registry

    monkeypatch.setenv("PHYSICS_SCENES_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PHYSICS_SCENES_DATA_DIR", str(tmp_path / "data"))
    rng = np.random.default_rng(5)
    for name in ("me.png", "other.png"):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(tmp_path / name)
    record = str(tmp_path / "me.consent.json")
    assert main(["consent", "grant", str(tmp_path / "me.png"), "--name", "Ada", "--uses",
                 "face", "--expires", "2099-12-31", "-o", record]) == 0  # fmt: skip
    face = "{image: other.png, consent: me.consent.json}"
    (tmp_path / "a.yaml").write_text(CAMEO_ACT.replace("FACE", face).replace("TITLE", "Hello"))
    (tmp_path / "s.yaml").write_text("story:\n  acts:\n    - {scene: a.yaml}\n")
    out = tmp_path / "out" / "s.mp4"
    out.parent.mkdir()
    with pytest.raises(SceneError) as caught:
        render_story(tmp_path / "s.yaml", out, 32, 24, quality="draft", sound=False)
    assert "a.yaml:8:" in str(caught.value) and "another picture ('me.png')" in str(caught.value)
    assert not any(out.parent.iterdir())
    face = "{image: me.png, consent: me.consent.json}"
    blocked = CAMEO_ACT.replace("FACE", face).replace("TITLE", "Acme Rockets")
    (tmp_path / "a.yaml").write_text(blocked)
    with Registry(tmp_path / "registry.sqlite3") as registry:
        registry.add_name("Acme Rockets", "Acme Corp", "trademark")
    with pytest.raises(SceneError, match=r"look\.title.*on the blocklist for Acme Corp"):
        render_story(tmp_path / "s.yaml", out, 32, 24, quality="draft", sound=False,
                     registry=tmp_path / "registry.sqlite3")  # fmt: skip
    assert not any(out.parent.iterdir())
    if shutil.which("espeak-ng") is not None:  # a voice the engine lacks: located in the act
        speaks = CAMEO_ACT.replace("FACE", face).replace("TITLE", "Hi")
        (tmp_path / "a.yaml").write_text(speaks + "script: [{at: 0, say: {text: hi, voice: xx}}]\n")
        with pytest.raises(SceneError, match=r"a\.yaml:9:\d+: script\[0\]\.say: espeak-ng"):
            render_story(tmp_path / "s.yaml", out, 32, 24, quality="draft", sound=False)
        assert not any(out.parent.iterdir())


def test_a_story_is_marked_and_signed_like_a_render(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """With a local identity (``keys init``) the story's MP4 carries a signed manifest
    whose content id is the one its marks carry; ``--no-sign`` leaves the marks only."""
    from physics_scenes.cli import main

    monkeypatch.setenv("PHYSICS_SCENES_CONFIG_DIR", str(tmp_path / "config"))
    assert main(["keys", "init"]) == 0
    (tmp_path / "a.yaml").write_text(ACT.replace("COLOR", "#c83214"))
    (tmp_path / "b.yaml").write_text(ACT.replace("COLOR", "#1432c8"))
    (tmp_path / "s.yaml").write_text("story: {acts: [{scene: a.yaml}, {scene: b.yaml}]}\n")
    out = tmp_path / "s.mp4"
    story = ["story", str(tmp_path / "s.yaml"), "-o", str(out), "--size", "160x90", "-q"]
    assert main([*story, "--no-audio"]) == 0
    capsys.readouterr()
    assert main(["verify", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[0])
    # (signed by the identity keys init made here, whose local root CA verify trusts)
    assert report["manifest"]["state"] == "trusted", report["manifest"]
    assert report["manifest"]["claims"]["content_id"] == report["watermark"]["content_id"]
    assert report["manifest"]["claims"]["source_file"] == "s.yaml"
    assert main([*story, "--no-audio", "--no-sign", "--overwrite"]) == 0
    capsys.readouterr()
    main(["verify", str(out), "--json"])
    report = json.loads(capsys.readouterr().out.splitlines()[0])
    assert report["manifest"]["state"] == "none" and report["watermark"]["picture"] is not None
    # a keyed story (--watermark-key, as render): only the key's holder reads its mark
    (tmp_path / "my.key").write_bytes(bytes(range(32)))
    keyed = ["--no-audio", "--no-sign", "--overwrite", "--watermark-key", str(tmp_path / "my.key")]
    assert main([*story, *keyed]) == 0
    capsys.readouterr()
    assert main(["verify", str(out), "--json"]) == 3  # nothing found without the key
    assert main(["verify", str(out), "--json", "--watermark-key", str(tmp_path / "my.key")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[1])["watermark"]["content_id"] == report["watermark"]["content_id"]


def test_a_written_story_is_in_the_render_log_with_every_acts_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like a render, a story is logged in the blocklist's render log once it is written
    (its content id, its file, each act's files with their prints): an owner who blocks a
    picture later sees the story that used it."""
    from PIL import Image

    from physics_scenes.job.story import render_story
    from physics_scenes.rights.registry import Registry

    monkeypatch.setenv("PHYSICS_SCENES_CONFIG_DIR", str(tmp_path / "config"))  # unsigned
    y, x = np.mgrid[0:96, 0:128]
    sky = np.stack([x * 2, y * 2, 255 - x - y], axis=-1).clip(0, 255).astype(np.uint8)
    sky[20:50, 30:70] = (250, 220, 40)
    Image.fromarray(sky).save(tmp_path / "sky.png")
    (tmp_path / "a.yaml").write_text(ACT.replace("COLOR", "#c83214"))
    (tmp_path / "b.yaml").write_text(ACT.replace('"COLOR"', "{image: sky.png}"))
    (tmp_path / "s.yaml").write_text("story: {acts: [{scene: a.yaml}, {scene: b.yaml}]}\n")
    registry = tmp_path / "registry.sqlite3"
    Registry(registry).close()  # the owner's blocklist, empty when the story is made
    out = tmp_path / "s.mp4"
    render_story(tmp_path / "s.yaml", out, 32, 24, quality="draft", sound=False,
                 registry=registry)  # fmt: skip
    with Registry(registry) as opened:
        entry = opened.add_file(tmp_path / "sky.png", "Sky Owner", "my sky")
        [use] = opened.uses_near(entry.id)
    assert (use.scene, use.field, use.ref) == ("s.yaml", "acts[1].look.background.image", "sky.png")
    assert f"content id {use.content_id}".encode() in out.read_bytes()  # the MP4's own tag
