"""Where the blocklist lives by default: light, so that a command can ask without loading
the fingerprints (ImageHash, SciPy) when there is no registry to check against."""

from __future__ import annotations

import os
from pathlib import Path


def default_path() -> Path:
    """``$XDG_DATA_HOME/physics-scenes/registry.sqlite3`` (``~/.local/share`` by default).

    >>> default_path().parts[-2:]
    ('physics-scenes', 'registry.sqlite3')
    """
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "physics-scenes" / "registry.sqlite3"


def registry_in_use(given: Path | None) -> Path | None:
    """The registry a command checks: ``--registry`` if given, else the default one if it
    exists (none is created by rendering), else None (nothing to check)."""
    if given is not None:
        return given
    found = default_path()
    return found if found.is_file() else None
