"""The portal's data directory and the owner token.

Everything the portal writes lives in one folder (``--data``, else the folder of the
blocklist registry: ``$XDG_DATA_HOME/physics-scenes``, else
``~/.local/share/physics-scenes``): ``registry.sqlite3`` (the blocklist and the render
log, unless ``--registry`` names another), ``uploads/`` (files being checked, deleted
after their report) and ``owner-token.sha256`` (the SHA-256 of the owner token, mode
0600; the token itself is printed once by ``portal --init`` and kept nowhere). The token is 32
random bytes, so a plain SHA-256 is enough to store it: there is nothing to guess.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> token = init_token(folder)
>>> check_token(folder, token), check_token(folder, token + "x")
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

TOKEN_FILE = "owner-token.sha256"
UPLOADS = "uploads"
REGISTRY = "registry.sqlite3"


def data_dir(given: Path | None = None) -> Path:
    """The data directory (see the module's docstring)."""
    if given is not None:
        return given
    from ..rights.registry_path import data_dir as shared_data_dir

    return shared_data_dir()


def registry_path(folder: Path, given: Path | None = None) -> Path:
    """The blocklist registry the portal shows: ``--registry``, else the data folder's."""
    return given if given is not None else folder / REGISTRY


def digest(token: str) -> str:
    """What is stored and compared of a token or a session: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def init_token(folder: Path) -> str:
    """Make a new owner token (replacing any previous one) and return it, once."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    temporary = folder / f".{TOKEN_FILE}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(digest(token) + "\n")
    temporary.replace(folder / TOKEN_FILE)
    return token


def has_token(folder: Path) -> bool:
    return (folder / TOKEN_FILE).is_file()


def stored_digest(folder: Path) -> str | None:
    """The SHA-256 of the current owner token, or None before ``portal --init``."""
    if not has_token(folder):
        return None
    return (folder / TOKEN_FILE).read_text(encoding="ascii").strip()


def check_token(folder: Path, token: str | None) -> bool:
    """Whether ``token`` is the owner token (compared in constant time)."""
    stored = stored_digest(folder)
    if not token or stored is None:
        return False
    return hmac.compare_digest(stored, digest(token.strip()))
