"""C2PA content credentials and ``verify``: signed, tampered, stripped, unrelated files.

The fast tests sign small PNGs with a fresh identity; the slow ones go through the
command line on a rendered clip and real ffmpeg re-encodes.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

from physics_scenes.cli import main
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.provenance.credentials import (
    ALGORITHMIC_MEDIA,
    ManifestReading,
    read,
    sign,
)
from physics_scenes.output.provenance.keys import (
    CHAIN,
    CONFIG_ENV,
    KEY,
    ROOT,
    Identity,
    ensure_identity,
    init_identity,
    local_identity,
    make_identity,
)
from physics_scenes.output.provenance.picture import PictureReading
from physics_scenes.output.provenance.verify import (
    EXIT_CONSISTENT,
    EXIT_NOTHING,
    EXIT_TAMPERED,
    Report,
    _judge,
    compare_scene,
)
from physics_scenes.output.sink import ExportError
from physics_scenes.scene.loader import load_scene
from physics_scenes.scene.model import Timing

from helpers import SCENES


@pytest.fixture(scope="module")
def identity() -> tuple[Identity, bytes]:
    root, chain, key = make_identity("test signer")
    return Identity(chain, key, "test"), root


def _png(path: Path) -> Path:
    iio.imwrite(path, np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8))
    return path


def test_a_signed_png_reads_back_untrusted_trusted_or_invalid(identity, tmp_path: Path) -> None:
    ident, root = identity
    path = _png(tmp_path / "f.png")
    unsigned = hashlib.sha256(path.read_bytes()).hexdigest()
    assert read(path).state == "none"
    sign(path, ident, {"run_hash": "abc", "seed": 3}, "9.9")
    untrusted = read(path)
    assert untrusted.state == "untrusted", untrusted
    assert untrusted.signer == "test signer"
    assert untrusted.claims == {"run_hash": "abc", "seed": 3, "unsigned_sha256": unsigned}
    assert untrusted.source_type == ALGORITHMIC_MEDIA
    assert untrusted.created_at is not None  # the signer's clock, inside the signature
    made = datetime.datetime.fromisoformat(untrusted.created_at)
    assert abs(datetime.datetime.now(datetime.UTC) - made) < datetime.timedelta(minutes=5)
    assert read(path, root).state == "trusted"
    data = bytearray(path.read_bytes())
    data[60] ^= 1  # inside the IHDR/pixel chunks before the manifest
    path.write_bytes(bytes(data))
    tampered = read(path, root)
    assert tampered.state == "invalid" and tampered.reasons


def test_a_file_the_sdk_cannot_parse_is_tampered_only_if_it_held_a_manifest(
    identity, tmp_path: Path
) -> None:
    """Random bytes named .mp4 are not a tampered credential (nothing was ever signed):
    verify says nothing was found; a signed PNG whose header was wiped still holds its
    manifest store, so it is tampered."""
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18xxxx" + bytes(range(256)) * 20)
    reading = read(junk)
    assert reading.state == "none" and reading.reasons[0].startswith("not a readable mp4 file")
    report = Report(str(junk), reading, None, None)
    _judge(report)
    assert report.status == EXIT_NOTHING and report.findings[0].startswith("no manifest (not a")
    path = _png(tmp_path / "f.png")
    sign(path, identity[0], {"run_hash": "abc"}, "9.9")
    data = bytearray(path.read_bytes())
    data[:8] = bytes(8)  # the PNG signature
    path.write_bytes(bytes(data))
    assert read(path).state == "invalid"


def test_keys_init_writes_a_private_key_only_its_owner_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "cfg"))
    assert local_identity() is None
    folder = init_identity("me")
    assert stat.S_IMODE(os.stat(folder / KEY).st_mode) == 0o600
    ident = local_identity()
    assert ident is not None and ident.signer_name() == "me"
    with pytest.raises(FileExistsError):
        init_identity("me")


def test_renders_started_together_make_one_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "cfg"))
    with ThreadPoolExecutor(8) as pool:  # without the lock, they overwrite each other's
        made = list(pool.map(lambda _: ensure_identity(), range(8)))
    assert (
        len({ident.key for ident in made}) == 1
        and made[0].key == (tmp_path / "cfg" / KEY).read_bytes()
    )
    assert sorted(p.name for p in (tmp_path / "cfg").iterdir()) == sorted(
        [".keys.lock", CHAIN, KEY, ROOT]
    )


# --- through the command line ---------------------------------------------------------

TINY = (
    "timing: {frames: 6, fps: 20}\n"
    "bodies: [{kind: floor}, {kind: ball, radius: 0.5, position: [3, 4]}]\n"
)


def _tiny_render(folder: Path, name: str, *options: str) -> tuple[int, str]:
    scene = folder / "tiny.yaml"
    scene.write_text(TINY)
    code = main(["render", str(scene), "-o", str(folder / name), "--size", "64x36", "--no-audio",
                 "--no-states", *options])  # fmt: skip
    return code, name


def test_a_first_render_makes_the_local_identity_once_and_signs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signed by default: with no identity and no --sign-with / --no-sign, render makes the
    local one (as keys init does), says so in one line, and signs; the next render signs
    with the same one and says nothing of it; --no-sign writes no manifest."""
    config = tmp_path / "home" / "cfg"
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert _tiny_render(tmp_path, "a.mp4")[0] == 0
    said = capsys.readouterr().out.splitlines()
    made = [line for line in said if "local signing identity" in line]
    assert made == [f"made a local signing identity in {config} (once; {KEY} is 0600): outputs "
                    "are signed, valid but untrusted elsewhere; for a trusted signer use "
                    "--sign-with CERT KEY (README: Provenance)"]  # fmt: skip
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(config / KEY).st_mode) == 0o600
    assert {stat.S_IMODE(os.stat(config / n).st_mode) for n in (CHAIN, ROOT)} == {0o644}
    first = {n: (config / n).read_bytes() for n in (KEY, CHAIN, ROOT)}
    signed = read(tmp_path / "a.mp4")  # no trust anchor given: the local CA is nobody's
    assert signed.state == "untrusted" and signed.signer == "physics_scenes local signer"
    code, report = _verify(capsys, str(tmp_path / "a.mp4"))  # verify trusts this machine's CA
    assert code == 0 and report["manifest"]["state"] == "trusted", report
    assert report["verdict"][0].startswith("manifest valid, signer certified by this machine's")

    assert _tiny_render(tmp_path, "b.gif")[0] == 0
    assert "identity" not in capsys.readouterr().out
    assert {n: (config / n).read_bytes() for n in (KEY, CHAIN, ROOT)} == first  # the same one
    assert read(tmp_path / "b.gif", first[ROOT]).state == "trusted"

    assert _tiny_render(tmp_path, "c", "--no-sign")[0] == 0  # PNG frames
    assert [read(f).state for f in sorted((tmp_path / "c").glob("*.png"))] == ["none"] * 6
    assert "signed" not in capsys.readouterr().out


def test_no_sign_makes_no_identity_and_an_unmakeable_one_leaves_the_output_unsigned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "cfg"))
    assert _tiny_render(tmp_path, "a.gif", "--no-sign")[0] == 0
    states = ["render", str(tmp_path / "tiny.yaml"), "-o", str(tmp_path / "d.jsonl"), "-q"]
    assert main(states) == 0  # nothing to sign: no identity made for it
    assert not (tmp_path / "cfg").exists()
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "file" / "cfg"))
    capsys.readouterr()
    assert _tiny_render(tmp_path, "b.gif", "-q")[0] == 0  # the render is not refused
    err = capsys.readouterr().err
    assert err.startswith("not signed: no local signing identity could be made (")
    assert "Not a directory" in err and "--sign-with CERT KEY, or --no-sign" in err
    assert read(tmp_path / "b.gif").state == "none"
    half = tmp_path / "half"  # a key without its certificate is not overwritten
    half.mkdir()
    (half / KEY).write_text("someone's key")
    monkeypatch.setenv(CONFIG_ENV, str(half))
    assert _tiny_render(tmp_path, "c.gif", "-q")[0] == 0
    assert f"{KEY} is there without {CHAIN}" in capsys.readouterr().err
    assert (half / KEY).read_text() == "someone's key"


FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def signed_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signed")
    os.environ[CONFIG_ENV] = str(folder / "cfg")
    try:
        assert main(["keys", "init"]) == 0
        assert main(["render", str(SCENES / "bouncing_balls.yaml"), "-o", str(folder / "c.mp4"),
                     "--size", "256x144", "--duration", "4", "--fps", "30", "-q"]) == 0  # fmt: skip
    finally:
        os.environ[CONFIG_ENV] = str(folder / "empty")
    return folder / "c.mp4"


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["verify", *args, "--json"])
    return code, json.loads(capsys.readouterr().out.splitlines()[-1])


@pytest.mark.slow
def test_verify_tells_signed_tampered_stripped_and_unrelated_apart(
    signed_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _verify(capsys, str(signed_clip), "--scene", str(SCENES / "bouncing_balls.yaml"),
                           "--duration", "4", "--fps", "30")  # fmt: skip
    assert code == 0, report
    assert report["manifest"]["state"] == "untrusted"  # the test's identity is not trusted here
    cid = report["manifest"]["claims"]["content_id"]
    assert report["watermark"]["picture"]["payload"] == cid
    assert report["watermark"]["sound"]["payload"] == cid
    assert report["scene"]["manifest_run_hash_matches"] and report["scene"]["watermark_matches"]
    header = subprocess.run([FFMPEG, "-hide_banner", "-i", str(signed_clip)],
                            capture_output=True, text=True).stderr  # fmt: skip
    assert "title           : bouncing balls" in header
    assert "comment         : synthetic: rendered by physics_scenes" in header
    assert "encoder         : physics_scenes" in header  # the creation tool (©too)
    assert f"content id {cid}" in header

    tampered = tmp_path / "t.mp4"
    data = bytearray(signed_clip.read_bytes())
    data[len(data) // 2] ^= 4
    tampered.write_bytes(bytes(data))
    code, report = _verify(capsys, str(tampered))
    assert code == 4 and report["manifest"]["state"] == "invalid"

    stripped = tmp_path / "s.mp4"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(signed_clip), "-vf",
                    "crop=220:124:13:7", "-c:v", "libx264", "-crf", "26", "-c:a", "aac", "-b:a",
                    "96k", "-map_metadata", "-1", str(stripped)], check=True)  # fmt: skip
    code, report = _verify(capsys, str(stripped))
    assert code == 0 and report["manifest"]["state"] == "none"
    assert report["watermark"]["content_id"] == cid
    assert "watermark says: physics_scenes clip " + cid in report["verdict"]

    other = tmp_path / "o.mp4"  # an unrelated file: neither marked nor signed
    plain = ["--size", "256x144", "--duration", "1", "--no-watermark", "--no-sign"]
    assert main(["render", str(SCENES / "bouncing_balls.yaml"), "-o", str(other), *plain]) == 0
    code, report = _verify(capsys, str(other))
    assert code == 3 and report["watermark"]["content_id"] is None

    code, report = _verify(capsys, str(stripped), "--scene", str(SCENES / "bouncing_balls.yaml"),
                           "--duration", "4", "--fps", "30", "--seed", "2")  # fmt: skip
    assert code == 4 and report["scene"]["watermark_matches"] is False


@pytest.mark.slow
def test_signing_is_the_last_step_over_the_deterministic_unsigned_bytes(
    identity, tmp_path: Path
) -> None:
    ident, _ = identity
    scene = load_scene(SCENES / "bouncing_balls.yaml")
    scene = scene.model_copy(update={"timing": Timing(duration=0.5, fps=30, substeps=4)})
    plain, signed = tmp_path / "plain.gif", tmp_path / "signed.gif"
    run(RenderJob(scene, plain, "gif", 128, 72, states=False))
    run(RenderJob(scene, signed, "gif", 128, 72, states=False, sign=ident))
    claims = read(signed).claims
    assert claims is not None
    assert claims["unsigned_sha256"] == hashlib.sha256(plain.read_bytes()).hexdigest()
    assert signed.read_bytes() != plain.read_bytes()


@pytest.mark.slow
def test_a_signing_failure_leaves_nothing_at_the_target(identity, tmp_path: Path) -> None:
    ident, _ = identity
    _, _, other_key = make_identity("someone else")
    broken = Identity(ident.chain, other_key, "a certificate with another's key")
    scene = load_scene(SCENES / "bouncing_balls.yaml")
    scene = scene.model_copy(update={"timing": Timing(duration=0.3, fps=30, substeps=4)})
    with pytest.raises(ExportError, match="signing failed"):
        run(RenderJob(scene, tmp_path / "x.gif", "gif", 128, 72, sign=broken))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_files_a_scene_uses_are_its_ingredients(identity, write_scene, tmp_path: Path) -> None:
    ident, _ = identity
    t = np.arange(4800) / 48_000
    clack = (np.sin(2 * np.pi * 880 * t) * np.exp(-t * 30) * 20_000).astype("<i2")
    with wave.open(str(tmp_path / "clack.wav"), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(48_000)
        out.writeframes(clack.tobytes())
    path = write_scene(
        "seed: 3\ntiming: {duration: 0.5, fps: 30}\n"
        "audio: {materials: {rubber: {sample: clack.wav}}}\n"
        "bodies: [{kind: floor}, {kind: ball, radius: 0.3, position: [2, 0.8], material: rubber}]\n"
    )
    run(RenderJob(load_scene(path), tmp_path / "o.wav.gif", "gif", 64, 36, audio="wav",
                  source=path, sign=ident))  # fmt: skip
    for name in ("o.wav.gif", "o.wav.wav"):
        manifest = read(tmp_path / name)
        assert manifest.state == "untrusted" and manifest.ingredients == ("clack.wav",)
        sha = hashlib.sha256((tmp_path / "clack.wav").read_bytes()).hexdigest()
        assert manifest.claims is not None
        assert manifest.claims["ingredients_sha256"] == {"clack.wav": sha}


def _report(state: str, claimed: str | None, marked: str | None) -> Report:
    manifest = ManifestReading(state, claims={"content_id": claimed} if claimed else None)
    picture = PictureReading(marked, 12.0 if marked else 3.0, 128, 2.0, 10)
    report = Report("f.mp4", manifest, picture, None)
    _judge(report)
    return report


def test_verify_judges_agreement_tampering_and_absence() -> None:
    assert _report("untrusted", "aa" * 6, "aa" * 6).status == EXIT_CONSISTENT
    assert "manifest and watermark agree" in _report("trusted", "aa" * 6, "aa" * 6).findings
    assert _report("untrusted", "aa" * 6, "bb" * 6).status == EXIT_TAMPERED  # they disagree
    assert _report("invalid", "aa" * 6, "aa" * 6).status == EXIT_TAMPERED
    stripped = _report("none", None, "aa" * 6)
    assert stripped.status == EXIT_CONSISTENT
    assert stripped.findings == ["no manifest", "watermark says: physics_scenes clip aaaaaaaaaaaa"]
    assert _report("none", None, None).status == EXIT_NOTHING


def test_a_scene_matched_by_the_watermark_alone_does_not_claim_a_run_hash() -> None:
    stripped = _report("none", None, "aa" * 6)  # no manifest: the file holds no run hash
    compare_scene(stripped, "ff" * 32, "aa" * 6)
    assert stripped.findings[-1] == "matches the scene (watermark's content id)"
    claims = {"content_id": "aa" * 6, "run_hash": "ff" * 32}
    signed = Report("f.mp4", ManifestReading("untrusted", claims=claims), None, None)
    compare_scene(signed, "ff" * 32, "aa" * 6)
    assert signed.findings[-1] == "matches the scene (re-simulated run hash)"


def test_a_scene_a_model_wrote_and_the_caption_font_are_declared(
    identity, write_scene, tmp_path: Path
) -> None:
    """A scene from ``new --llm`` (its ``authored_by``) is an ingredient made with
    trainedAlgorithmicData, and the font drawn into the picture one with its hash; verify
    says both."""
    from physics_scenes.output.provenance.verify import inspect
    from physics_scenes.picture.captions import FONT_FILE

    ident, _ = identity
    prompt = hashlib.sha256(b"a ball").hexdigest()
    path = write_scene(
        "timing: {duration: 0.2, fps: 10}\nlook: {label: true}\n"
        f"authored_by: {{model: tiny-llm, endpoint: 'http://127.0.0.1:9',"
        f" prompt_sha256: {prompt}}}\n"
        "bodies: [{kind: floor}, {kind: ball, radius: 0.3, position: [2, 0.8]}]\n"
    )
    run(RenderJob(load_scene(path), tmp_path / "o.gif", "gif", 64, 36, source=path, sign=ident))
    manifest = read(tmp_path / "o.gif")
    assert manifest.state == "untrusted"
    assert set(manifest.ingredients) == {path.name, "freesansbold.ttf"}
    assert manifest.claims is not None
    author = manifest.claims["scene_author"]
    assert (author["model"], author["prompt_sha256"]) == ("tiny-llm", prompt)
    assert author["digitalSourceType"].endswith("/trainedAlgorithmicData")
    font_sha = hashlib.sha256(FONT_FILE.read_bytes()).hexdigest()
    assert manifest.claims["fonts_sha256"] == {"freesansbold.ttf": font_sha}
    findings = inspect(tmp_path / "o.gif").findings
    assert any("language model: tiny-llm" in f and prompt in f for f in findings)
    assert f"font drawn: freesansbold.ttf (sha256 {font_sha})" in findings
    plain = write_scene("timing: {duration: 0.2, fps: 10}\nbodies: [{kind: floor}]\n", "p.yaml")
    run(RenderJob(load_scene(plain), tmp_path / "p.gif", "gif", 64, 36, source=plain, sign=ident))
    claims = read(tmp_path / "p.gif").claims or {}
    assert claims["scene_author"] is None and claims["fonts_sha256"] == {}
