"""Cameo consent: real Ed25519 records made by `consent grant`, real edited and forged
bytes, a real revocation made by `consent revoke`, and faces located by colour in
rendered frames. Nothing is mocked: the hashes are the picture's own, the signatures
are checked by `cryptography`, the render is the renderer's."""

from __future__ import annotations

import base64
import datetime
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_fingerprint import write_wav

from physics_scenes.cli import main
from physics_scenes.errors import SceneError
from physics_scenes.job.clip import Clip
from physics_scenes.job.pipeline import RenderJob, consent_scopes, run
from physics_scenes.rights import consent as cs
from physics_scenes.rights import consent_check as cc
from physics_scenes.rights import fingerprint
from physics_scenes.scene import files
from physics_scenes.scene.files import Roots
from physics_scenes.scene.loader import load_scene

from helpers import SCENES

FACE_SCENE = """\
name: NAME
world: {size: [1.6, 0.9], origin: [-0.8, 1.05]}
timing: {duration: 0.1, fps: 30}
bodies:
  - {kind: floor, name: ground, y: 0}
  - kind: walker
    name: me
    position: [0, 0]
    active: false
    color: "#4f8fd6"
    face: FACE
"""
EYE = np.array([30, 90, 230])
"""The drawn face's eye colour: nothing else in the scene is this blue."""


def draw_face(size: int = 96) -> np.ndarray:
    """A generic cartoon face, RGBA (the picture of scenes/self_cameo_face.png): skin lit
    from the upper left on a green backdrop, hair swept to one side, blue eyes, a red
    smile. Lit and lopsided on purpose: a flat, symmetric drawing has a fragile pHash (a
    JPEG copy of one moved it 15 bits), a photograph does not."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    c = size / 2
    light = 1.0 - 0.35 * (x / size) - 0.15 * (y / size)
    img = np.zeros((size, size, 4), np.uint8)
    img[...] = (90, 140, 110, 255)
    skin = np.hypot(x - c, y - c) < 0.92 * c
    img[skin, :3] = (np.array([236, 188, 140])[None, :] * light[skin][:, None]).clip(0, 255)
    img[skin & (y < c * (0.55 + 0.25 * (x / size))), :3] = (70, 40, 20)
    for ex in (0.62, 1.38):
        img[np.hypot(x - c * ex, y - c * 0.85) < c * 0.13] = (30, 90, 230, 255)
    mouth = (np.abs(np.hypot(x - c * 1.05, y - c) - c * 0.5) < c * 0.07) & (y > c * 1.3)
    img[mouth] = (210, 30, 40, 255)
    return img


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the face picture, and config and data folders of its own."""
    monkeypatch.setenv("PHYSICS_SCENES_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PHYSICS_SCENES_DATA_DIR", str(tmp_path / "data"))
    Image.fromarray(draw_face()).save(tmp_path / "me.png")
    return tmp_path


def grant(home: Path, *extra: str, asset: str = "me.png", out: str = "me.consent.json") -> int:
    return main(["consent", "grant", str(home / asset), "--name", "Ada", "--uses", "face",
                 "--scenes", "cameo*", "--expires", "2099-12-31", "-o", str(home / out),
                 *extra])  # fmt: skip


def scene_file(home: Path, face: str, name: str = "cameo.yaml") -> Path:
    path = home / name
    text = FACE_SCENE.replace("FACE", face).replace("NAME", f"{Path(name).stem} scene")
    path.write_text(text, encoding="utf-8")
    return path


def render(path: Path, out: Path) -> None:
    run(RenderJob(load_scene(path), out / "clip.mp4", "mp4", 64, 36, "draft", source=path,
                  audio="none"))  # fmt: skip


def refused(path: Path, home: Path) -> str:
    """The render's error report; asserts that nothing at all was written."""
    out = home / "out"
    with pytest.raises(SceneError) as caught:
        render(path, out)
    assert not out.exists() or not any(out.iterdir())
    return caught.value.report()


def test_committed_face_is_the_drawn_one_and_its_consent_verifies() -> None:
    committed = np.asarray(Image.open(SCENES / "self_cameo_face.png").convert("RGBA"))
    assert np.array_equal(committed, draw_face())
    record = cc.read_record(SCENES / "self_cameo.consent.json")
    assert cs.verify_signature(record)
    assert record.asset.sha256 == files.sha256(SCENES / "self_cameo_face.png")
    assert record.terms.others_may_use and record.terms.scenes == ("self_cameo",)


def test_grant_signs_a_record_that_verifies_and_an_edit_breaks_it(home: Path) -> None:
    assert grant(home) == 0
    path = home / "me.consent.json"
    record = cc.read_record(path)
    key = cc.local_key()
    assert key is not None and record.public_key == cs.public_raw(key)  # the local key, made
    assert cs.verify_signature(record)
    printed = fingerprint.image_print(home / "me.png")
    assert (record.asset.prints["phash"], record.asset.prints["dhash"]) == (
        printed.phash,
        printed.dhash,
    )
    document = json.loads(path.read_text())
    document["consent"]["uses"] = ["face", "voice"]  # widened by hand
    edited = cs.parse(json.dumps(document).encode())
    assert not cs.verify_signature(edited)
    document["consent"]["uses"] = ["face"]
    raw = bytearray(base64.b64decode(document["signature"]))
    raw[5] ^= 1
    document["signature"] = base64.b64encode(bytes(raw)).decode()
    assert not cs.verify_signature(cs.parse(json.dumps(document).encode()))


def test_a_self_cameo_renders_and_its_face_shows_on_the_head(home: Path) -> None:
    assert grant(home) == 0
    path = scene_file(home, "{image: me.png, consent: me.consent.json}")
    scopes = cc.check_scene(load_scene(path), home, path, datetime.datetime.now(datetime.UTC))
    assert [s["uses"] for s in scopes] == [["face"]] and scopes[0]["scenes"] == ["cameo*"]
    assert "Ada" not in json.dumps(scopes)  # the manifest gets the scope, not the person
    clip = Clip(load_scene(path), 320, 180, home)
    first = next(iter(clip.frames()))
    rgb = clip.pixels(first).rgb().astype(int)
    eyes = np.all(np.abs(rgb - EYE) < 40, axis=2)
    ys, xs = np.nonzero(eyes)
    assert len(xs) > 20, "no eye-blue pixels: the face is not drawn"
    row = clip.layout.names.index("me/torso")
    head = next(g for g in reversed(clip.layout.bodies[row].shapes) if hasattr(g, "radius")
                and not hasattr(g, "a"))  # fmt: skip
    angle = float(first.frame.angle[row])
    x, y = first.frame.position[row]
    ox, oy = head.offset
    centre = first.view.to_pixels(
        (x + ox * np.cos(angle) - oy * np.sin(angle), y + ox * np.sin(angle) + oy * np.cos(angle))
    )
    radius = head.radius * first.view.scale
    distance = np.hypot(xs + 0.5 - centre[0], ys + 0.5 - centre[1])
    assert distance.max() < radius  # every eye pixel lies on the head's disc
    assert ys.mean() + 0.5 < centre[1]  # above its centre: the face is upright on a standing body
    plain = Clip(load_scene(scene_file(home, "null", "plain.yaml")), 320, 180, home)
    frame = next(iter(plain.frames()))
    assert not np.any(np.all(np.abs(plain.pixels(frame).rgb().astype(int) - EYE) < 40, axis=2))


def test_no_consent_is_a_located_error_at_validate(home: Path) -> None:
    with pytest.raises(SceneError) as caught:
        load_scene(scene_file(home, "{image: me.png}"))
    text = caught.value.report()
    assert "bodies[1].face" in text and "needs 'consent:" in text
    assert load_scene(scene_file(home, "{image: me.png, personal: false}")).bodies[1]


def test_a_revoked_consent_stops_the_render_before_anything_is_written(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert grant(home) == 0
    path = scene_file(home, "{image: me.png, consent: me.consent.json}")
    assert main(["consent", "revoke", str(home / "me.consent.json")]) == 0
    beside = home / "me.revoked.json"
    stored = home / "data" / "consent" / "revoked"
    assert beside.is_file() and len(list(stored.iterdir())) == 1
    message = refused(path, home)
    assert "bodies[1].face.consent" in message and "was revoked at" in message
    lines = path.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if "face:" in line)
    column = lines[row].index("me.consent.json") + 1
    assert message.startswith(f"{path}:{row + 1}:{column}: bodies[1].face.consent: ")
    beside.unlink()  # the copy in the data folder still revokes it on this machine
    assert "was revoked" in refused(path, home)
    assert main(["consent", "show", str(home / "me.consent.json")]) == 1
    assert main(["preview", str(path)]) == 1  # refused before any window opens
    assert "was revoked" in capsys.readouterr().err


def test_revocations_the_blocklist_and_the_portal_share_one_data_folder(home: Path) -> None:
    """``$PHYSICS_SCENES_DATA_DIR`` (set by ``home``) holds the consent revocations and,
    without ``--registry``, the blocklist that renders check (the portal's default)."""
    from physics_scenes.portal.store import data_dir as portal_data
    from physics_scenes.rights.registry_path import data_dir, registry_in_use

    assert data_dir() == home / "data" == portal_data()
    assert main(["blocklist", "add-name", "Zorblax", "--owner", "Z", "--reason", "tm"]) == 0
    assert registry_in_use(None) == home / "data" / "registry.sqlite3"
    assert grant(home) == 0 and main(["consent", "revoke", str(home / "me.consent.json")]) == 0
    assert len(list((home / "data" / "consent" / "revoked").iterdir())) == 1


def test_someone_elses_face_is_refused_and_a_resized_copy_is_not(home: Path) -> None:
    assert grant(home) == 0
    noise = np.random.default_rng(3).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(noise).save(home / "other.png")
    path = scene_file(home, "{image: other.png, consent: me.consent.json}")
    message = refused(path, home)
    assert "another picture ('me.png')" in message and "SHA-256 differs" in message
    Image.fromarray(draw_face()).convert("RGB").resize((80, 80)).save(home / "copy.jpg",
                                                                       quality=85)  # fmt: skip
    copy = scene_file(home, "{image: copy.jpg, consent: me.consent.json}")
    scopes = cc.check_scene(load_scene(copy), home, copy, datetime.datetime.now(datetime.UTC))
    assert len(scopes) == 1  # the same picture resized and re-encoded: a near print


def test_edited_expired_and_out_of_scope_consents_are_refused(home: Path) -> None:
    assert grant(home) == 0
    record_path = home / "me.consent.json"
    path = scene_file(home, "{image: me.png, consent: me.consent.json}")
    document = json.loads(record_path.read_text())
    document["consent"]["expires"] = "2199-12-31T23:59:59Z"
    (home / "edited.consent.json").write_text(json.dumps(document))
    edited = scene_file(home, "{image: me.png, consent: edited.consent.json}", "cameo2.yaml")
    assert "signature does not match its contents" in refused(edited, home)
    other = scene_file(home, "{image: me.png, consent: me.consent.json}", "holiday.yaml")
    assert "covers scenes cameo*, not holiday / holiday scene" in refused(other, home)
    record = cc.read_record(record_path)
    key = cc.local_key()
    assert key is not None
    request = cs.Request("voice", record.asset.sha256, None, ("cameo",), cs.public_raw(key))
    with pytest.raises(cs.ConsentProblem, match="allows face, not voice"):
        cs.check(record, request, datetime.datetime.now(datetime.UTC), ())
    later = record.terms.expires + datetime.timedelta(seconds=1)
    with pytest.raises(cs.ConsentProblem, match="expired at 2099-12-31T23:59:59Z"):
        cs.check(record, request, later, ())
    # a private consent (others_may_use: false) on a machine without its key
    (home / "config" / cc.LOCAL_KEY).unlink()
    assert "for its signer's own use only" in refused(path, home)


def test_a_consent_made_with_the_persons_own_key(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = home / "ada.pem"
    assert grant(home, "--new-key", str(key), "--others") == 0
    assert key.stat().st_mode & 0o777 == 0o600
    record = cc.read_record(home / "me.consent.json")
    assert record.public_key == cs.public_raw(cc.load_key(key)) and record.terms.others_may_use
    assert main(["consent", "revoke", str(home / "me.consent.json")]) == 1  # not the local key
    assert not (home / "me.revoked.json").exists()
    assert main(["consent", "revoke", str(home / "me.consent.json"), "--key", str(key)]) == 0
    assert grant(home, "--expires", "2001-01-01", out="old.consent.json") == 1
    assert not (home / "old.consent.json").exists()
    assert "--expires 2001-01-01 is in the past" in capsys.readouterr().err


@pytest.mark.slow
def test_the_example_self_cameo_is_signed_with_its_consent_and_verify_shows_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scenes/self_cameo.yaml rendered whole and signed; the manifest's consent assertion
    carries the committed record's id and scope (not the person), and `verify` says so."""
    from physics_scenes.output.provenance.credentials import read
    from physics_scenes.output.provenance.keys import init_identity, local_identity

    init_identity("cameo test")
    identity = local_identity()
    scene_path = SCENES / "self_cameo.yaml"
    out = home / "signed" / "self_cameo.mp4"
    run(RenderJob(load_scene(scene_path), out, "mp4", 160, 90, "draft", source=scene_path,
                  audio="none", sign=identity))  # fmt: skip
    record = cc.read_record(SCENES / "self_cameo.consent.json")
    reading = read(out)
    assert reading.state in ("untrusted", "trusted", "valid")
    assert [dict(c) for c in reading.consents] == [{"use": "face", **record.scope()}]
    assert "Example" not in json.dumps(reading.consents)
    assert "self_cameo.consent.json" not in reading.ingredients  # nor the face itself:
    assert reading.ingredients == () and "self_cameo_face" not in json.dumps(reading.claims)
    assert main(["verify", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"used with consent {record.consent_id} (face in self_cameo; expires 2036" in printed


def write_tone(path: Path, hertz: float, seconds: float = 0.4) -> None:
    t = np.arange(int(48_000 * seconds)) / 48_000
    write_wav(path, 0.3 * np.sin(2 * np.pi * hertz * t), 48_000)


def write_line(path: Path, seed: int, gain: float = 1.0, rate: int = 48_000) -> None:
    """A voice-like line: 2 s of notes (150-400 Hz, 0.15 s each) with five harmonics and a
    3 Hz swell; another seed is another line."""
    notes = np.random.default_rng(seed).uniform(150, 400, 14)
    t = np.arange(2 * rate) / rate
    phase = 2 * np.pi * np.cumsum(notes[(t / 0.15).astype(int)]) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.6 + 0.4 * np.sin(6 * np.pi * t))
    write_wav(path, 0.2 * gain * voice, rate)


def band_power(track: np.ndarray, rate: int, seconds: tuple[float, float], hertz: float):
    """Power near ``hertz`` in each channel between two times (a Hann-windowed FFT)."""
    part = track[int(seconds[0] * rate) : int(seconds[1] * rate)].astype(np.float64)
    spectrum = np.fft.rfft(part * np.hanning(len(part))[:, None], axis=0)
    freqs = np.fft.rfftfreq(len(part), 1 / rate)
    near = np.abs(freqs - hertz) < 20
    return (np.abs(spectrum[near]) ** 2).sum(axis=0)


@pytest.mark.slow  # 2.5 s: the sound's mastering
def test_a_figures_voice_plays_at_its_start_panned_where_it_stands(home: Path) -> None:
    from scipy.io import wavfile

    write_tone(home / "line.wav", 660.0)
    args = ["--uses", "voice", "--scenes", "voice*", "--expires", "2099-01-01"]
    assert main(["consent", "grant", str(home / "line.wav"), "--name", "Ada", *args,
                 "-o", str(home / "v.consent.json")]) == 0  # fmt: skip
    scene = home / "voice.yaml"
    scene.write_text("""\
world: {size: [4, 2.25], origin: [-2, -0.2]}
timing: {duration: 1.2, fps: 30}
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: walker, name: me, position: [-1.5, 0], active: false,
     voice: {file: line.wav, consent: v.consent.json, start: 0.5}}
""")
    out = home / "out"
    run(RenderJob(load_scene(scene), out / "v.mp4", "mp4", 64, 36, "draft", source=scene,
                  audio="wav"))  # fmt: skip
    rate, track = wavfile.read(out / "v.wav")
    before = band_power(track, rate, (0.05, 0.45), 660.0)
    during = band_power(track, rate, (0.55, 0.85), 660.0)
    assert during.sum() > 1e4 * before.sum()  # silent before its start, then the line
    # the walker stands at x = -1.5 of [-2, 2]: pan -0.6, so left/right = cot²(0.1·π) ≈ 9.5
    assert 7 < during[0] / during[1] < 12
    write_line(home / "line.wav", seed=2)  # another recording under the same name
    shutil.rmtree(out)
    message = refused(scene, home)
    assert "bodies[1].voice.consent" in message and "another recording ('line.wav')" in message


@pytest.mark.slow  # 1 s: five Chromaprint runs through ffmpeg
def test_a_voice_consent_knows_its_recording_by_its_fingerprint(home: Path) -> None:
    write_line(home / "line.wav", seed=1)
    args = ["--uses", "voice", "--scenes", "*", "--expires", "2099-01-01"]
    assert main(["consent", "grant", str(home / "line.wav"), "--name", "Ada", *args,
                 "-o", str(home / "v.consent.json")]) == 0  # fmt: skip
    face = "null\n    voice: {file: FILE, consent: v.consent.json}"
    now = datetime.datetime.now(datetime.UTC)
    write_line(home / "quiet44k.wav", seed=1, gain=0.5, rate=44_100)  # re-encoded: gain, rate
    copy = scene_file(home, face.replace("FILE", "quiet44k.wav"), "copy.yaml")
    assert len(cc.check_scene(load_scene(copy), home, copy, now)) == 1
    write_line(home / "other.wav", seed=2)  # another line, same voice-like sound
    other = scene_file(home, face.replace("FILE", "other.wav"), "other.yaml")
    with pytest.raises(cc.CameoError, match=r"another recording \('line.wav'\).*differ in 3\d%"):
        cc.check_scene(load_scene(other), home, other, now)


def test_assets_folders_confine_what_a_scene_may_read(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Faces and consents from an --assets folder; absolute paths, '..', links out of a
    root and files that are not what they claim are located errors, at validate."""
    shared = home / "shared"
    shared.mkdir()
    (home / "me.png").rename(shared / "me.png")
    assert grant(home, asset="shared/me.png", out="shared/me.consent.json") == 0
    folder = home / "scenes"
    folder.mkdir()
    path = scene_file(folder, "{image: me.png, consent: me.consent.json}")
    assert main(["validate", str(path)]) == 1
    assert "bodies[1].face.image: no file 'me.png' in the scene's folder" in capsys.readouterr().err
    assert main(["validate", str(path), "--assets", str(shared)]) == 0
    for command in ("validate", "render", "preview"):  # a mistyped folder: a usage error
        with pytest.raises(SystemExit) as stopped:
            main([command, str(path), "--assets", str(home / "sharde")])
        assert stopped.value.code == 2
        assert f"--assets: no folder '{home / 'sharde'}'" in capsys.readouterr().err
    scene = load_scene(path, (shared,))
    assert consent_scopes(scene, path, (shared,))[0]["uses"] == ["face"]
    clip = Clip(scene, 64, 36, Roots(folder, (shared,)))  # the face read from the assets
    assert len(clip.renderer._faces) == 1
    (shared / "link.png").symlink_to(home / "elsewhere.png")
    Image.fromarray(draw_face()).save(home / "elsewhere.png")
    (shared / "fake.png").write_text("not a picture")
    for face, expected in [
        (f"{{image: {shared / 'me.png'}, personal: false}}", "is an absolute path"),
        ("{image: ../shared/me.png, personal: false}", "leads out of its folder"),
        ("{image: link.png, personal: false}", "no file 'link.png' in the scene's folder or"),
        ("{image: fake.png, personal: false}", "'fake.png' is not a PNG or JPEG image"),
    ]:
        bad = scene_file(folder, face, "bad.yaml")
        assert main(["validate", str(bad), "--assets", str(shared)]) == 1
        assert expected in capsys.readouterr().err, face


@pytest.mark.slow  # 0.9 s: the blocklist's prints of the face (36 crops)
def test_a_generic_face_is_still_screened_against_the_blocklist(home: Path) -> None:
    """personal: false skips consent, not the owners' blocklist: a blocked character's
    face is refused on any figure, before anything is written."""
    from physics_scenes.rights.registry import Registry

    registry = home / "blocklist.sqlite"
    with Registry(registry) as blocklist:
        blocklist.add_file(home / "me.png", owner="Studio", reason="our character")
    path = scene_file(home, "{image: me.png, personal: false}")
    out = home / "out"
    with pytest.raises(SceneError) as caught:
        run(RenderJob(load_scene(path), out / "c.mp4", "mp4", 64, 36, "draft", source=path,
                      audio="none", registry=registry))  # fmt: skip
    assert "bodies[1].face.image" in caught.value.report() and "Studio" in caught.value.report()
    assert not out.exists()


@pytest.mark.slow  # 1.5 s: a preview window (SDL's dummy driver) and a render
def test_render_and_preview_take_the_face_from_an_assets_folder(home: Path) -> None:
    import pygame

    from physics_scenes.preview.app import BAR, PreviewApp

    shared = home / "shared"
    shared.mkdir()
    (home / "me.png").rename(shared / "me.png")
    assert grant(home, asset="shared/me.png", out="shared/me.consent.json") == 0
    folder = home / "scenes"
    folder.mkdir()
    path = scene_file(folder, "{image: me.png, consent: me.consent.json}")
    assert main(["preview", str(path)]) == 1  # not in the scene's folder: refused
    out = home / "out" / "c.mp4"
    assert main(["render", str(path), "--assets", str(shared), "-o", str(out), "--size",
                 "64x36", "--no-audio", "--quiet"]) == 0  # fmt: skip
    assert out.is_file()
    app = PreviewApp(path, (320, 180 + BAR), clock=lambda: 0.0, worker=False,
                     clip_size=(320, 180), sound=False, assets=(shared,))  # fmt: skip
    try:
        app.overlays = set()
        app.draw()
        rect = app.placement()[1]
        shown = pygame.surfarray.array3d(app.window.subsurface(rect)).swapaxes(0, 1)
        assert np.all(np.abs(shown.astype(int) - EYE) < 40, axis=2).sum() > 20
    finally:
        app.close()


def test_grant_needs_a_name_and_show_names_a_file_that_is_no_record(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["consent", "grant", str(home / "me.png"), "--name", " ", "--uses", "face",
                 "--expires", "2099-12-31", "-o", str(home / "x.consent.json")]) == 1  # fmt: skip
    assert "--name: who the record is for" in capsys.readouterr().err
    assert not (home / "x.consent.json").exists()
    for action in ("show", "revoke"):
        assert main(["consent", action, str(home / "me.png")]) == 1
        assert f"{home / 'me.png'}: not a consent record" in capsys.readouterr().err
