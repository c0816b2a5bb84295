"""The blocklist registry: a real SQLite file, real images, JSON shared between two
registries, the render log, and bad input that leaves the file as it was."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from test_fingerprint import picture

from physics_scenes.rights.fingerprint import image_print
from physics_scenes.rights.registry import (
    SCHEMA_VERSION,
    Registry,
    RegistryError,
    UsedAsset,
    default_path,
)


@pytest.fixture
def mark(tmp_path: Path) -> Path:
    path = tmp_path / "mark.png"
    picture(1).save(path)
    return path


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "physics-scenes" / "registry.sqlite3"


def test_add_match_remove(tmp_path: Path, mark: Path) -> None:
    path = tmp_path / "sub" / "registry.sqlite3"
    with Registry(path) as registry:
        entry = registry.add_file(mark, owner="Mark Owner", reason="our logo")
        name = registry.add_name("Zorblax", owner="Zorb Inc", reason="trademark")
        assert entry.kind == "image" and entry.id.startswith("image-")
        assert registry.add_file(mark, "Mark Owner", "again").id == entry.id  # kept once
    # a real SQLite file, read back by sqlite3 itself, with its schema version
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert sorted(r[0] for r in db.execute("SELECT kind FROM entries")) == ["image", "name"]
    db.close()
    small = tmp_path / "small.jpg"
    Image.open(mark).convert("RGB").resize((120, 90)).save(small, quality=40)
    with Registry(path) as registry:
        hits = registry.match(image_print(small))
        assert [h.entry.id for h in hits] == [entry.id]
        assert hits[0].rule.startswith("near copy (pHash")
        assert registry.match(image_print(mark))[0].rule == "same file (SHA-256)"
        registry.remove(entry.id)
        assert registry.match(image_print(small)) == []
        assert [e.id for e in registry.entries()] == [name.id]
        with pytest.raises(RegistryError, match="no blocklist entry"):
            registry.remove(entry.id)


def test_export_import_round_trip(tmp_path: Path, mark: Path) -> None:
    shared = tmp_path / "shared.json"
    with Registry(tmp_path / "a.sqlite3") as a:
        made = [a.add_file(mark, "Owner", "logo"), a.add_name("Zorblax", "Zorb", "tm")]
        assert a.export_json(shared) == 2
    with Registry(tmp_path / "b.sqlite3") as b:
        assert b.import_json(shared) == (2, 0)
        assert b.import_json(shared) == (0, 2)
        assert b.entries() == made


def test_bad_import_adds_nothing(tmp_path: Path, mark: Path) -> None:
    shared = tmp_path / "shared.json"
    with Registry(tmp_path / "a.sqlite3") as a:
        a.add_name("Zorblax", "Zorb", "tm")
        a.add_file(mark, "Owner", "logo")
        a.export_json(shared)
    document = json.loads(shared.read_text())
    document["entries"].sort(key=lambda e: e["kind"] != "name")  # the good one first
    document["entries"][1]["print"]["phash"] = "not hex"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    syntax = tmp_path / "syntax.json"
    syntax.write_text('{"format": "physics-scenes-blocklist",\n  "entries": [,]}')
    with Registry(tmp_path / "b.sqlite3") as b:
        with pytest.raises(RegistryError, match=r"entries\[1\]\.print\.phash: expected 16"):
            b.import_json(broken)
        with pytest.raises(RegistryError, match=r"syntax\.json:2:15: not JSON"):
            b.import_json(syntax)
        with pytest.raises(RegistryError, match="no such file"):
            b.import_json(tmp_path / "gone.json")
        assert b.entries() == []  # the good first entry was not written either


def test_bad_files_and_databases(tmp_path: Path, mark: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("hello")
    cut = tmp_path / "cut.png"
    cut.write_bytes(mark.read_bytes()[:300])
    with Registry(tmp_path / "r.sqlite3") as registry:
        with pytest.raises(RegistryError, match="neither an image nor a sound"):
            registry.add_file(text, "Owner", "x")
        with pytest.raises(RegistryError, match="truncated"):
            registry.add_file(cut, "Owner", "x")
        with pytest.raises(RegistryError, match="no such file"):
            registry.add_file(tmp_path / "gone.png", "Owner", "x")
        with pytest.raises(RegistryError, match="owner must not be empty"):
            registry.add_file(mark, "  ", "x")
        assert registry.entries() == []
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RegistryError, match="not a registry database"):
        Registry(junk)
    newer = tmp_path / "newer.sqlite3"
    sqlite3.connect(newer).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}").close()
    with pytest.raises(RegistryError, match="newer physics-scenes"):
        Registry(newer)


def test_uses_near(tmp_path: Path, mark: Path) -> None:
    copy = tmp_path / "copy.jpg"
    Image.open(mark).convert("RGB").resize((200, 150)).save(copy, quality=50)
    other = tmp_path / "other.png"
    picture(7).save(other)
    with Registry(tmp_path / "r.sqlite3") as registry:
        entry = registry.add_file(mark, "Owner", "logo")
        registry.log_render("cid-one", "a.yaml", [
            UsedAsset("look.background.image", "copy.jpg", image_print(copy)),
        ])  # fmt: skip
        registry.log_render("cid-two", "b.yaml", [
            UsedAsset("look.background.image", "other.png", image_print(other)),
        ])  # fmt: skip
        uses = registry.uses_near(entry.id)
    assert [(u.content_id, u.ref) for u in uses] == [("cid-one", "copy.jpg")]
    assert uses[0].rule.startswith("near copy")
