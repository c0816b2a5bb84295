"""Where the blocklist lives by default: light, so that a command can ask without loading
the fingerprints (ImageHash, SciPy) when there is no registry to check against."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "PHYSICS_SCENES_DATA_DIR"


def data_dir() -> Path:
    """The user's one data folder: the blocklist, the portal's files and the consent
    revocations: ``$PHYSICS_SCENES_DATA_DIR``, else ``$XDG_DATA_HOME/physics-scenes``,
    else ``~/.local/share/physics-scenes``."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "physics-scenes"


def default_path() -> Path:
    """``registry.sqlite3`` in the data folder (``data_dir``).

    >>> default_path().name
    'registry.sqlite3'
    """
    return data_dir() / "registry.sqlite3"


def registry_in_use(given: Path | None) -> Path | None:
    """The registry a command checks: ``--registry`` if given, else the default one if it
    exists (none is created by rendering), else None (nothing to check)."""
    if given is not None:
        return given
    found = default_path()
    return found if found.is_file() else None
