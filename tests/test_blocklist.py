"""The refusal: a scene whose image (resized, recompressed) or text (a caption, the title,
a prompt) is on the blocklist is refused before anything is written, with a located
error naming the rule, the owner and the asset; the commands' bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from test_fingerprint import picture

from physics_scenes.cli import main
from physics_scenes.rights.names import found_in

SCENE = """name: Sky test
world: {gravity: [0, -9.8]}
timing: {duration: 0.2, fps: 10, substeps: 2}
bodies:
  - {kind: ball, name: dot, position: [0, 1], radius: 0.2, color: white}
camera: {mode: fixed, center: [0, 0], width: 4}
look:
  background: {image: sky.jpg}
script:
  - {at: 0.1, caption: "Brought to you by ZÖRBLAX"}
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # never the user's own
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    picture(1, (320, 180)).save(tmp_path / "logo.png")
    # the scene's background: the logo at 0.75x, recompressed as JPEG at quality 40
    Image.open(tmp_path / "logo.png").convert("RGB").resize((240, 135)).save(
        tmp_path / "sky.jpg", quality=40
    )
    (tmp_path / "scene.yaml").write_text(SCENE)
    return tmp_path


def _block(folder: Path, registry: str) -> None:
    add = ["blocklist", "add", str(folder / "logo.png"), "--owner", "Logo Owner"]
    assert main([*add, "--reason", "our logo", "--registry", registry]) == 0
    assert main(["blocklist", "add-name", "Zorblax", "--owner", "Zorb Inc", "--reason", "tm",
                 "--registry", registry]) == 0  # fmt: skip


def test_validate_refuses_a_resized_recompressed_image_and_a_caption(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = str(folder / "r.sqlite3")
    _block(folder, registry)
    capsys.readouterr()
    assert main(["validate", str(folder / "scene.yaml"), "--registry", registry]) == 1
    errors = capsys.readouterr().err
    assert "scene.yaml:8:23: look.background.image: blocked: 'sky.jpg' matches 'logo.png'" in errors
    assert "near copy (pHash" in errors and "for Logo Owner" in errors
    assert "scene.yaml:10:24: script[0].caption.text: blocked:" in errors
    assert "contains 'Zorblax' (name), on the blocklist for Zorb Inc" in errors


@pytest.mark.slow  # two renders (one refused): about 5 s on a busy machine
def test_render_refuses_before_writing_and_uses_the_default_registry(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = str(folder / "r.sqlite3")
    _block(folder, registry)
    capsys.readouterr()
    target = folder / "out" / "clip.mp4"
    render = ["render", str(folder / "scene.yaml"), "-o", str(target), "--size", "64x36"]
    assert main([*render, "--registry", registry, "-q"]) == 1
    errors = capsys.readouterr().err
    assert "look.background.image: blocked: 'sky.jpg' matches 'logo.png'" in errors
    assert "script[0].caption.text: blocked:" in errors
    assert not (folder / "out").exists() or not any((folder / "out").iterdir())
    # the default registry (XDG_DATA_HOME) is used when there is one
    assert main(["blocklist", "import", _export(folder, registry)]) == 0
    assert main(render) == 1
    assert not target.exists()


def _export(folder: Path, registry: str) -> str:
    shared = folder / "shared.json"
    assert main(["blocklist", "export", str(shared), "--registry", registry]) == 0
    return str(shared)


@pytest.mark.slow  # a render: about 2 s on a busy machine
def test_a_clean_render_is_logged(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = folder / "r.sqlite3"
    add = ["blocklist", "add", str(folder / "logo.png"), "--owner", "O", "--reason", "logo"]
    assert main([*add, "--registry", str(registry)]) == 0
    entry = capsys.readouterr().out.split(":")[0]
    scene = folder / "scene.yaml"
    scene.write_text(SCENE.replace("ZÖRBLAX", "nobody"))
    assert main(["blocklist", "remove", entry, "--registry", str(registry)]) == 0
    target = folder / "out" / "clip.mp4"
    assert main(["render", str(scene), "-o", str(target), "--size", "64x36", "-q",
                 "--registry", str(registry)]) == 0  # fmt: skip
    assert target.is_file()
    db = sqlite3.connect(registry)
    (content_id, name), *_ = db.execute("SELECT content_id, scene FROM renders").fetchall()
    metadata = json.loads((folder / "out" / "clip.metadata.json").read_text())
    assert content_id == metadata["watermark"]["content_id"] and name == "scene.yaml"
    assert db.execute("SELECT field, ref FROM render_assets").fetchall() == [
        ("look.background.image", "sky.jpg")
    ]
    db.close()


def test_blocked_prompt(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = str(folder / "r.sqlite3")
    assert main(["blocklist", "add-name", "Zorblax", "--owner", "Zorb Inc", "--reason", "tm",
                 "--registry", registry]) == 0  # fmt: skip
    out = folder / "new.yaml"
    assert main(["new", "three zörblax balls bounce", "-o", str(out), "--registry", registry]) == 1
    assert "refused: blocked: the prompt contains 'Zorblax'" in capsys.readouterr().err
    assert not out.exists()
    assert main(["new", "three zorblaxian balls bounce", "-o", str(out), "--registry",
                 registry]) == 0  # fmt: skip


def test_names_whole_words_and_common_words() -> None:
    assert found_in("The ACMÉ-rocket", "Acme") and found_in("acme", "ÀCME")
    assert not found_in("acmeology", "Acme") and not found_in("the acm e", "Acme")
    assert found_in("Drink Jaguar Cola now", "Jaguar Cola")
    assert not found_in("an orange ball", "Orange") and found_in("Orange phones", "Orange")


def test_bad_input_exits_1_and_writes_nothing(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from physics_scenes.rights.registry import Registry

    registry = folder / "r.sqlite3"
    with Registry(registry):  # an empty registry: the failed commands leave it empty
        pass
    (folder / "notes.png").write_text("hello")
    (folder / "cut.jpg").write_bytes((folder / "sky.jpg").read_bytes()[:500])
    (folder / "bad.json").write_text('{"format": "physics-scenes-blocklist", "version": 1,\n')
    for args, message in [
        (["add", str(folder / "notes.png"), "--owner", "o", "--reason", "r"], "neither an image"),
        (["add", str(folder / "cut.jpg"), "--owner", "o", "--reason", "r"], "truncated"),
        (["add", str(folder / "gone.png"), "--owner", "o", "--reason", "r"], "no such file"),
        (["import", str(folder / "bad.json")], "bad.json:2:1: not JSON"),
        (["remove", "image-000000000000"], "no blocklist entry"),
    ]:
        assert main(["blocklist", *args, "--registry", str(registry)]) == 1, args
        assert message in capsys.readouterr().err, args
    db = sqlite3.connect(registry)
    assert db.execute("SELECT COUNT(*) FROM entries").fetchone() == (0,)
    db.close()
    fresh = folder / "fresh.sqlite3"  # a first import that fails makes no registry
    assert main(["blocklist", "import", str(folder / "bad.json"), "--registry", str(fresh)]) == 1
    assert "bad.json:2:1: not JSON" in capsys.readouterr().err and not fresh.exists()
    for action in (["list"], ["check", str(folder / "scene.yaml")], ["export", "x.json"]):
        typo = folder / "r.sqlite"  # a mistyped registry is an error, never made empty
        assert main(["blocklist", *action, "--registry", str(typo)]) == 1, action
        assert f"no blocklist at {typo}" in capsys.readouterr().err and not typo.exists()
    (folder / "junk.sqlite3").write_text("not a database" * 50)
    assert main(["blocklist", "list", "--registry", str(folder / "junk.sqlite3")]) == 1
    assert "not a registry database" in capsys.readouterr().err
