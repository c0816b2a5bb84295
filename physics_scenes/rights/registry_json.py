"""A blocklist entry, and reading one from shared JSON with every field checked.

A registry imports files made by other people: nothing in one is trusted. Each field is
checked for its type and shape (hex digests, hash lengths, base64 codes) and a bad one
is reported with the file, the JSON position or the field path (``entries[3].owner``),
before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from .fingerprint import ImagePrint, SoundPrint

Kind = Literal["image", "sound", "name"]
Print = ImagePrint | SoundPrint

MAX_IMPORT_BYTES = 64 * 1024 * 1024
"""A shared file larger than this is refused unread."""

_SHA = re.compile(r"[0-9a-f]{64}")
_HASH = re.compile(r"[0-9a-f]{16}")
_CROP = re.compile(r"[0-9a-f]{16}:[0-9a-f]{16}")
_ID = re.compile(r"(image|sound|name)-[0-9a-f]{12}")


class RegistryError(ValueError):
    """A registry, an entry or a shared file that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One blocked asset or name."""

    id: str
    kind: Kind
    owner: str
    reason: str
    added: str
    """UTC, ISO 8601 to the second."""
    label: str
    """The name blocked (``kind == "name"``), or the file's name when it was added."""
    sha256: str | None = None
    print: Print | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as exported (``print`` as a plain object)."""
        data = asdict(self)
        data["print"] = None if self.print is None else asdict(self.print)
        if isinstance(self.print, ImagePrint):
            data["print"]["crops"] = list(self.print.crops)
        return data


def read_entries(path: Path, form: str, version: int) -> list[Entry]:
    """The entries of an exported file; ``RegistryError`` (located) for any fault."""
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise RegistryError(f"{path}: over {MAX_IMPORT_BYTES // 2**20} MiB; not imported")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise RegistryError(f"{path}: not UTF-8 text (is it a JSON export?)") from None
    except OSError as error:
        raise RegistryError(f"{path}: cannot read: {error.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise RegistryError(f"{path}:{error.lineno}:{error.colno}: not JSON: {error.msg}") from None
    where = str(path)
    if not isinstance(document, dict) or document.get("format") != form:
        raise RegistryError(f"{where}: not a blocklist export (expected format {form!r})")
    if not isinstance(document.get("version"), int) or document["version"] > version:
        raise RegistryError(
            f"{where}: version: expected an integer up to {version}, got "
            f"{document.get('version')!r}"
        )
    entries = document.get("entries")
    if not isinstance(entries, list):
        raise RegistryError(f"{where}: entries: expected a list")
    return [entry_from_json(item, f"{where}: entries[{i}]") for i, item in enumerate(entries)]


def entry_from_json(data: Any, where: str) -> Entry:
    """An ``Entry`` from its exported form, each field checked (``where`` prefixes errors)."""

    def fail(field: str, expected: str) -> RegistryError:
        got = data.get(field) if isinstance(data, dict) else data
        shown = repr(got) if len(repr(got)) < 60 else repr(got)[:57] + "..."
        return RegistryError(f"{where}.{field}: expected {expected}, got {shown}")

    if not isinstance(data, dict):
        raise RegistryError(f"{where}: expected an object")
    kind = data.get("kind")
    if kind not in ("image", "sound", "name"):
        raise fail("kind", "'image', 'sound' or 'name'")
    for field in ("owner", "reason", "label", "added"):
        value = data.get(field)
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            raise fail(field, "a non-empty text of at most 500 characters")
    if not isinstance(data.get("id"), str) or not _ID.fullmatch(data["id"]):
        raise fail("id", f"'{kind}-' and 12 hex digits")
    if not data["id"].startswith(kind + "-"):
        raise fail("id", f"an id starting with '{kind}-'")
    if kind == "name":
        return Entry(data["id"], kind, data["owner"], data["reason"], data["added"],
                     data["label"])  # fmt: skip
    sha = data.get("sha256")
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise fail("sha256", "64 lowercase hex digits")
    found = _print_from_json(kind, data.get("print"), sha, f"{where}.print")
    return Entry(data["id"], kind, data["owner"], data["reason"], data["added"],
                 data["label"], sha, found)  # fmt: skip


def _print_from_json(kind: str, data: Any, sha: str, where: str) -> Print:
    if not isinstance(data, dict):
        raise RegistryError(f"{where}: expected an object")
    if data.get("sha256") != sha:
        raise RegistryError(f"{where}.sha256: expected the entry's own sha256")
    if kind == "image":
        for field in ("phash", "dhash"):
            if not isinstance(data.get(field), str) or not _HASH.fullmatch(data[field]):
                raise RegistryError(f"{where}.{field}: expected 16 lowercase hex digits")
        for field in ("width", "height"):
            if not isinstance(data.get(field), int) or data[field] < 1:
                raise RegistryError(f"{where}.{field}: expected a positive integer")
        crops = data.get("crops", [])
        if not isinstance(crops, list) or not all(
            isinstance(c, str) and _CROP.fullmatch(c) for c in crops
        ):
            raise RegistryError(f"{where}.crops: expected a list of 'phash:dhash' pairs")
        value = data.get("value", "")
        if not isinstance(value, str) or (value and not _CROP.fullmatch(value)):
            raise RegistryError(f"{where}.value: expected a 'phash:dhash' pair")
        return ImagePrint(sha, data["phash"], data["dhash"], data["width"], data["height"],
                          tuple(crops), value)  # fmt: skip
    codes, seconds = data.get("codes"), data.get("seconds")
    try:
        raw = base64.b64decode(codes, validate=True) if isinstance(codes, str) else None
    except binascii.Error:
        raw = None
    if raw is None or not isinstance(codes, str) or not raw or len(raw) % 4:
        raise RegistryError(f"{where}.codes: expected base64 of 32-bit codes")
    if not isinstance(seconds, int | float) or seconds <= 0:
        raise RegistryError(f"{where}.seconds: expected a positive number")
    return SoundPrint(sha, codes, float(seconds))
