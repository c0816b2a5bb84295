"""Cameo consent: real Ed25519 records made by `consent grant`, real edited and forged
bytes, a real revocation made by `consent revoke`, and faces located by colour in
rendered frames. Nothing is mocked: the hashes are the picture's own, the signatures
are checked by `cryptography`, the render is the renderer's."""

from __future__ import annotations

import base64
import datetime
import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from physics_scenes.cli import main
from physics_scenes.errors import InputFileError, SceneError
from physics_scenes.job.clip import Clip
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.rights import consent as cs
from physics_scenes.rights import consent_check as cc
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
    """A generic cartoon face, RGBA: skin disc, dark hair cap, blue eyes, red mouth (the
    picture of scenes/self_cameo_face.png)."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    c = size / 2
    r = np.hypot(x - c, y - c) / c
    img = np.zeros((size, size, 4), np.uint8)
    img[...] = (250, 250, 250, 255)
    skin = r < 0.95
    img[skin] = (236, 188, 140, 255)
    img[skin & (y < c * 0.62)] = (70, 40, 20, 255)
    for ex in (0.62, 1.38):
        img[np.hypot(x - c * ex, y - c * 0.85) < c * 0.13] = (30, 90, 230, 255)
    mouth = (np.abs(np.hypot(x - c, y - c * 0.95) - c * 0.55) < c * 0.07) & (y > c * 1.25)
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
    """The render's error; asserts that nothing at all was written."""
    out = home / "out"
    with pytest.raises(InputFileError) as caught:
        render(path, out)
    assert not out.exists() or not any(out.iterdir())
    return str(caught.value)


def test_committed_face_is_the_drawn_one_and_its_consent_verifies() -> None:
    committed = np.asarray(Image.open(SCENES / "self_cameo_face.png").convert("RGBA"))
    assert np.array_equal(committed, draw_face())
    record = cc.read_record(SCENES / "self_cameo.consent.json")
    assert cs.verify_signature(record)
    assert record.asset.sha256 == cc.sha256_file(SCENES / "self_cameo_face.png")
    assert record.terms.others_may_use and record.terms.scenes == ("self_cameo",)


def test_grant_signs_a_record_that_verifies_and_an_edit_breaks_it(home: Path) -> None:
    assert grant(home) == 0
    path = home / "me.consent.json"
    record = cc.read_record(path)
    key = cc.local_key()
    assert key is not None and record.public_key == cs.public_raw(key)  # the local key, made
    assert cs.verify_signature(record)
    assert (record.asset.phash, record.asset.dhash) == cc.image_hashes(home / "me.png")
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
    beside.unlink()  # the copy in the data folder still revokes it on this machine
    assert "was revoked" in refused(path, home)
    assert main(["consent", "show", str(home / "me.consent.json")]) == 1
    assert main(["preview", str(path)]) == 1  # refused before any window opens
    assert "was revoked" in capsys.readouterr().err


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
    assert len(scopes) == 1  # the same picture re-encoded: within PERCEPTUAL_NEAR


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


def test_a_consent_made_with_the_persons_own_key(home: Path) -> None:
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
    assert "self_cameo.consent.json" not in reading.ingredients
    assert main(["verify", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"used with consent {record.consent_id} (face in self_cameo; expires 2036" in printed


def write_tone(path: Path, hertz: float, seconds: float = 0.4) -> None:
    t = np.arange(int(48_000 * seconds)) / 48_000
    samples = (0.3 * np.sin(2 * np.pi * hertz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(samples.tobytes())


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
    write_tone(home / "line.wav", 440.0)  # another recording under the same name
    shutil.rmtree(out)
    message = refused(scene, home)
    assert "bodies[1].voice.consent" in message and "its SHA-256 differs" in message
