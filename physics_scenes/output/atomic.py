"""Write to a temporary name beside the target, rename into place only on success.

A crash, an error or Ctrl-C therefore never leaves a half-written file (or
folder) at the path the user asked for.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class AtomicPath:
    """A temporary sibling of ``target``; ``commit()`` renames it, ``discard()`` deletes it.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = Path(folder) / "notes.txt"
    ...     out = AtomicPath(target)
    ...     _ = out.temp.write_text("all or nothing")
    ...     print(target.exists(), end=" ")
    ...     out.commit()
    ...     print(target.read_text(), sorted(p.name for p in Path(folder).iterdir()))
    False all or nothing ['notes.txt']
    """

    def __init__(self, target: str | Path, *, directory: bool = False) -> None:
        self.target = Path(target)
        self.directory = directory
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.temp = self.target.with_name(f".{self.target.name}.partial-{os.getpid()}")
        self._remove(self.temp)
        if directory:
            self.temp.mkdir()

    @staticmethod
    def _remove(path: Path) -> None:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()

    def commit(self) -> None:
        if self.directory and self.target.is_dir():
            # os.replace cannot swap a non-empty folder in: move the old one aside first.
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            self._remove(old)
            self.target.rename(old)
            self.temp.rename(self.target)
            shutil.rmtree(old)
        else:
            os.replace(self.temp, self.target)

    def discard(self) -> None:
        self._remove(self.temp)
