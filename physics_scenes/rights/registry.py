"""The blocklist: images, sounds and names their owners have withheld, in one SQLite file,
and a log of which renders on this installation used which assets.

One database file (``default_path()``: ``$XDG_DATA_HOME/physics-scenes/registry.sqlite3``,
or ``--registry PATH``); every change is one transaction, so a failed import or a killed
process leaves the file as it was. The schema's version is SQLite's ``user_version``; a
file from a newer version is refused rather than misread. Entries are shared as JSON
(``export_json`` / ``import_json``); an entry's id is derived from what it blocks and
who owns it, so the same entry keeps its id in every registry it is imported into.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder, Registry(Path(folder) / "r.sqlite3") as r:
...     entry = r.add_name("Acme Rockets", owner="Acme Corp", reason="trademark")
...     [(e.id, e.kind, e.label) for e in r.entries()]
[('name-8b84a0de0b8e', 'name', 'Acme Rockets')]
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .fingerprint import (
    DHASH_MAX,
    PHASH_MAX,
    FingerprintError,
    ImagePrint,
    SoundPrint,
    image_distance,
    image_matches,
    image_print,
    sound_distance,
    sound_matches,
    sound_print,
    value_distance,
)
from .registry_json import Entry, Kind, Print, RegistryError, read_entries
from .registry_path import default_path

SCHEMA_VERSION = 1
"""Bumped when a table changes; ``Registry`` refuses a file with a higher version."""
FORMAT = "physics-scenes-blocklist"
"""The ``format`` field of an exported JSON file."""

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "Entry",
    "Hit",
    "Registry",
    "RegistryError",
    "Use",
    "UsedAsset",
    "default_path",
]

_SCHEMA = """
CREATE TABLE entries (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL, reason TEXT NOT NULL,
    added TEXT NOT NULL, label TEXT NOT NULL, sha256 TEXT, print TEXT
);
CREATE TABLE renders (
    id INTEGER PRIMARY KEY AUTOINCREMENT, content_id TEXT NOT NULL, scene TEXT NOT NULL,
    rendered TEXT NOT NULL
);
CREATE TABLE render_assets (
    render INTEGER NOT NULL REFERENCES renders(id) ON DELETE CASCADE,
    field TEXT NOT NULL, ref TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL,
    print TEXT NOT NULL
);
CREATE INDEX render_assets_sha ON render_assets(sha256);
"""


@dataclass(frozen=True, slots=True)
class Hit:
    """A blocklist entry an asset or text matches, and how."""

    entry: Entry
    rule: str
    """Which rule matched: ``same file (SHA-256)``, ``near copy (pHash 3, dHash 5 of 64
    bits)``, ``near copy (Chromaprint, 2 % of bits differ)`` or ``name``."""


@dataclass(frozen=True, slots=True)
class UsedAsset:
    """One file a render used, with its print (logged after the render)."""

    field: str
    """The scene's field path, e.g. ``look.background.image``."""
    ref: str
    """The path as the scene wrote it."""
    print: Print


@dataclass(frozen=True, slots=True)
class Use:
    """A render on this installation that used an asset near a blocklist entry."""

    content_id: str
    scene: str
    rendered: str
    field: str
    ref: str
    rule: str


def entry_id(kind: Kind, key: str, owner: str) -> str:
    """``image-…``/``sound-…``/``name-…`` and 12 hex digits of SHA-256(kind, key, owner)."""
    digest = hashlib.sha256(f"{kind}\0{key}\0{owner}".encode()).hexdigest()
    return f"{kind}-{digest[:12]}"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Registry:
    """An open registry file (created with its folders if missing). Use as a context
    manager, or call ``close``. One connection: open one ``Registry`` per thread."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = default_path() if path is None else Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise RegistryError(f"{self.path}: cannot open the registry: {error}") from None
        try:
            self._prepare()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise RegistryError(f"{self.path}: not a registry database ({error})") from None

    def _prepare(self) -> None:
        self._db.execute("PRAGMA foreign_keys = ON")
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            self._db.close()
            raise RegistryError(
                f"{self.path}: made by a newer physics-scenes (schema {version}; "
                f"this one reads {SCHEMA_VERSION})"
            )
        if version == 0:
            with self._transaction():
                tables = self._db.execute("SELECT name FROM sqlite_master").fetchall()
                if tables:
                    raise RegistryError(f"{self.path}: an SQLite file, but not a registry")
                self._db.executescript(
                    "BEGIN;" + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};"
                )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error."""
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- entries ---------------------------------------------------------------------

    def add_file(self, path: Path, owner: str, reason: str) -> Entry:
        """Block an image or a sound file (an image if Pillow reads it, else a sound if
        ffmpeg decodes it). ``RegistryError`` names the file and why it cannot be used."""
        path = Path(path)
        if not path.is_file():
            raise RegistryError(f"{path}: no such file")
        try:
            found: Print = image_print(path)
        except FingerprintError as as_image:
            if "truncated" in str(as_image) or "pixels is over" in str(as_image):
                raise RegistryError(str(as_image)) from None
            try:
                found = sound_print(path)
            except FingerprintError:
                raise RegistryError(
                    f"{path}: neither an image nor a sound this program can read"
                ) from None
        return self.add_print(found, path.name, owner, reason)

    def add_print(self, found: Print, label: str, owner: str, reason: str) -> Entry:
        """Block an asset whose print is already made (the portal's uploads)."""
        kind: Kind = "image" if isinstance(found, ImagePrint) else "sound"
        if isinstance(found, SoundPrint) and not found.codes:
            raise RegistryError(f"{label}: the sound is too short or silent to fingerprint")
        entry = Entry(
            entry_id(kind, found.sha256, _clean(owner, "owner")),
            kind,
            _clean(owner, "owner"),
            _clean(reason, "reason"),
            _now(),
            label,
            found.sha256,
            found,
        )
        return self._insert([entry])[0]

    def add_name(self, text: str, owner: str, reason: str) -> Entry:
        """Block a name or mark in captions, titles, labels and prompts."""
        from .names import normalise

        text = _clean(text, "name")
        if not normalise(text).strip():
            raise RegistryError(f"{text!r}: a name needs letters or digits")
        key = normalise(text)
        owner = _clean(owner, "owner")
        entry = Entry(entry_id("name", key, owner), "name", owner, _clean(reason, "reason"),
                      _now(), text)  # fmt: skip
        return self._insert([entry])[0]

    def _insert(self, entries: Sequence[Entry]) -> list[Entry]:
        """Insert all, or none; an id already there is kept as it is (returned as is)."""
        kept: list[Entry] = []
        with self._transaction() as db:
            for entry in entries:
                old = self.get(entry.id)
                if old is not None:
                    kept.append(old)
                    continue
                db.execute(
                    "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (entry.id, entry.kind, entry.owner, entry.reason, entry.added,
                     entry.label, entry.sha256,
                     None if entry.print is None else json.dumps(entry.to_json()["print"])),
                )  # fmt: skip
                kept.append(entry)
        return kept

    def remove(self, entry_id: str) -> Entry:
        """Remove an entry; ``RegistryError`` if there is none with that id."""
        with self._transaction() as db:
            entry = self.get(entry_id)
            if entry is None:
                raise RegistryError(f"no blocklist entry {entry_id!r}")
            db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        return entry

    def get(self, entry_id: str) -> Entry | None:
        row = self._db.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return None if row is None else _entry(row)

    def entries(self, kind: Kind | None = None) -> list[Entry]:
        """Every entry (of one kind), oldest first."""
        rows = self._db.execute(
            "SELECT * FROM entries WHERE ?1 IS NULL OR kind = ?1 ORDER BY added, id", (kind,)
        ).fetchall()
        return [_entry(row) for row in rows]

    # --- matching --------------------------------------------------------------------

    def match(self, found: Print) -> list[Hit]:
        """The entries an image's or a sound's print matches, exact copies first."""
        hits = [Hit(e, rule) for e in self.entries(_kind(found)) if (rule := _rule(e, found))]
        return sorted(hits, key=lambda hit: (not hit.rule.startswith("same"), hit.entry.id))

    # --- sharing ---------------------------------------------------------------------

    def export_json(self, target: Path) -> int:
        """Write every entry to ``target`` (atomically: a temporary file, then renamed)."""
        entries = [e.to_json() for e in self.entries()]
        document = {"format": FORMAT, "version": SCHEMA_VERSION, "entries": entries}
        target = Path(target)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=1, ensure_ascii=False)
                file.write("\n")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return len(entries)

    def import_json(self, source: Path) -> tuple[int, int]:
        """Add the entries of an exported file: (added, already there). Every entry is
        checked first; a bad file (``RegistryError``, located) adds nothing."""
        entries = read_entries(Path(source), FORMAT, SCHEMA_VERSION)
        before = {e.id for e in self.entries()}
        self._insert(entries)
        new = sum(e.id not in before for e in entries)
        return new, len(entries) - new

    # --- the render log --------------------------------------------------------------

    def log_render(self, content_id: str, scene: str, assets: Sequence[UsedAsset]) -> None:
        """Record that a render (its content id) used these assets."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO renders (content_id, scene, rendered) VALUES (?, ?, ?)",
                (content_id, scene, _now()),
            )
            for asset in assets:
                db.execute(
                    "INSERT INTO render_assets VALUES (?, ?, ?, ?, ?, ?)",
                    (cursor.lastrowid, asset.field, asset.ref, _kind(asset.print),
                     asset.print.sha256, json.dumps(asdict(asset.print))),
                )  # fmt: skip

    def uses_near(self, entry_id: str) -> list[Use]:
        """The logged renders that used an asset matching entry ``entry_id``, newest first
        (names are not logged: a render with a blocked name was refused)."""
        entry = self.get(entry_id)
        if entry is None:
            raise RegistryError(f"no blocklist entry {entry_id!r}")
        if entry.kind == "name":
            return []
        rows = self._db.execute(
            "SELECT r.content_id, r.scene, r.rendered, a.field, a.ref, a.print "
            "FROM render_assets a JOIN renders r ON r.id = a.render "
            "WHERE a.kind = ? ORDER BY r.id DESC, a.rowid",
            (entry.kind,),
        ).fetchall()
        uses = []
        for content_id, scene, rendered, field, ref, text in rows:
            found = _print(entry.kind, json.loads(text))
            rule = _rule(entry, found)
            if rule:
                uses.append(Use(content_id, scene, rendered, field, ref, rule))
        return uses


def _kind(found: Print) -> Kind:
    return "image" if isinstance(found, ImagePrint) else "sound"


def _rule(entry: Entry, found: Print) -> str:
    """How ``found`` matches ``entry`` ('' if it does not)."""
    if entry.sha256 == found.sha256:
        return "same file (SHA-256)"
    if isinstance(entry.print, ImagePrint) and isinstance(found, ImagePrint):
        if not image_matches(entry.print, found):
            return ""
        phash, dhash = image_distance(entry.print, found)
        if phash > PHASH_MAX or dhash > DHASH_MAX:
            phash, dhash = value_distance(entry.print, found)
            return f"near copy, colours changed (pHash {phash}, dHash {dhash} of 64 bits differ)"
        return f"near copy (pHash {phash}, dHash {dhash} of 64 bits differ)"
    if isinstance(entry.print, SoundPrint) and isinstance(found, SoundPrint):
        if not sound_matches(entry.print, found):
            return ""
        share = sound_distance(entry.print, found)
        return f"near copy (Chromaprint: {share:.0%} of bits differ)"
    return ""


def _clean(text: str, what: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        raise RegistryError(f"the {what} must not be empty")
    if len(text) > 500:
        raise RegistryError(f"the {what} is {len(text)} characters; the limit is 500")
    return text


def _print(kind: str, data: dict[str, Any]) -> Print:
    if kind == "image":
        return ImagePrint(**{**data, "crops": tuple(data.get("crops", ()))})
    return SoundPrint(**data)


def _entry(row: tuple[Any, ...]) -> Entry:
    """An entry as stored (checked when it went in)."""
    id_, kind, owner, reason, added, label, sha, text = row
    found = None if text is None else _print(kind, json.loads(text))
    return Entry(id_, kind, owner, reason, added, label, sha, found)
