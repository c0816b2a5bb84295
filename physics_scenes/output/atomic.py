"""Outputs written under temporary names and committed together, or not at all.

A render's outputs (the video or the PNG folder, the states, the WAV, the metadata) are
siblings in one folder. No file system renames several names at once, so the set is
committed with a small journal, and a crash at any moment is repaired at the next run:

**Staging.** Everything is written into one staging folder beside the targets,
``.ps-<key>-<pid>-<random>.partial`` (``key``: 12 hex digits of a hash of the targets'
common stem; the name is short, so a legal 255-byte output name still works). Each
output sits in its ``new/`` subfolder under its final name. Until the commit nothing at
the user's paths changes, and ``discard()`` deletes the staging folder and with it every
temporary, whatever failed (a sink that failed while opening, a full disk, an encoder
error, an interrupt).

**Commit**, with SIGINT, SIGTERM and SIGHUP held back (their handlers run afterwards, so
no Python exception can stop it halfway; only SIGKILL or a power cut can):

1. ``manifest`` (the names, in order) is written into the staging folder: from here on
   the journal says what to undo.
2. For each name: the existing entry, if any, is renamed into ``old/``; then the new one
   is renamed from ``new/`` to the final path.
3. The staging folder is renamed to ``….done``: **the commit point**.
4. The ``.done`` folder (the old versions) is deleted.

**Recovery** (``recover``, run whenever an output set for the same stem is made, so at
the start of the next render of the same target): a staging folder whose process is no
longer alive is rolled back if it is ``.partial`` (every name of its manifest that has
left ``new/`` is removed from the target, and its ``old/`` entry moved back), then
deleted; a ``.done`` folder is just deleted. After a crash the targets therefore hold
either the complete old set or the complete new set. Temporaries of older versions
(``.NAME.partial-PID``, ``.NAME.old-PID``) of dead processes are deleted too.

Replacing an existing target is the caller's policy (``check``): ``overwrite`` allows it,
and without it only entries that an earlier render recorded in its ``metadata.json``
(``format: physics_scenes.metadata``) are replaced. A folder target is never replaced
while it holds entries the render would not write (``owns`` decides), nor is a folder
ever replaced by a file: nothing the render did not write is deleted.

``PHYSICS_SCENES_TEST_PAUSE_COMMIT`` (seconds, **for tests only**) sleeps between the
commit's steps so that a test can kill the process in the middle of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile  # noqa: F401  (the doctests use it)
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import STOP_SIGNALS
from .sink import ExportError

PAUSE_ENV = "PHYSICS_SCENES_TEST_PAUSE_COMMIT"
"""Test-only: seconds to sleep between the commit's steps."""
METADATA_FORMAT = "physics_scenes.metadata"
_STAGING = re.compile(r"\.ps-([0-9a-f]{12})-(\d+)-[^.]+(?:\.(partial|done))?")
"""A staging folder: ``.partial`` until its commit point, ``.done`` after it; with no
ending, a folder an earlier version made by ``mkdtemp`` and was killed before naming it."""
_LEGACY = re.compile(r"\.(.+)\.(?:partial|old)-(\d+)(?:\.mux)?")
_RECORD_LIMIT = 4 << 20


class TargetExistsError(ExportError):
    """A target exists and the render may not replace it."""


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the block is over, then go to their handlers.

    The handlers are swapped for one that only notes the signal (a signal mask would not
    do: the kernel hands a process's signal to any thread that does not block it, such
    as a BLAS worker, and Python then runs its handler in the main thread all the same).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    previous = {signum: signal.signal(signum, note) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            _deliver(caught[0], previous[caught[0]])


def _deliver(signum: int, handler: Any) -> None:
    """What a signal held back would have done."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user's counts as alive) and is not
    a zombie: a process killed with SIGKILL stays in the table until its parent, or
    init, reaps it, and a command run again at once must not take its staging for a
    live run's."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and waits to be reaped (Linux's /proc; elsewhere False)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read()
    except OSError:
        return False
    return fields[fields.rindex(b")") + 2 : fields.rindex(b")") + 3] in (b"Z", b"X")


def deepen_pipe(fd: int, size: int) -> None:
    """Grow a pipe's buffer to ``size`` bytes where the OS allows it (Linux); elsewhere
    keep the default (64 KiB on Linux: less than one large frame)."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _identity(path: Path) -> list[int]:
    """Device and inode: a rename keeps them, so a roll-back can tell its own entry from
    one that a later render (or the user) put at the same name since."""
    status = os.lstat(path)
    return [status.st_dev, status.st_ino]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif _exists(path):
        path.unlink()


def _pause() -> None:
    seconds = os.environ.get(PAUSE_ENV)
    if seconds:
        time.sleep(float(seconds))


def _new_staging(parent: Path, key: str, mode: int) -> Path:
    """A new ``.ps-KEY-PID-RANDOM.partial`` folder, made under that name in one ``mkdir``
    (``mkdtemp`` then a rename left a folder that no recovery knew when a kill came
    between the two). ``mode``: before the umask."""
    while True:
        path = parent / f".ps-{key}-{os.getpid()}-{secrets.token_hex(5)}.partial"
        try:
            path.mkdir(mode)
        except FileExistsError:
            continue
        return path


def stem_key(stem: str) -> str:
    """The 12 hex digits that name a stem's staging folders."""
    return hashlib.sha256(stem.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _roll_back(staging: Path) -> None:
    """Undo a commit that did not reach its commit point, then delete the staging folder."""
    parent = staging.parent
    manifest = staging / "manifest"
    if manifest.exists():
        record = json.loads(manifest.read_text("utf-8"))
        names: list[str] = record["names"]
        ids: list[list[int]] = record["ids"]
        for name, identity in reversed(list(zip(names, ids, strict=True))):
            final = parent / name
            installed = not _exists(staging / "new" / name) and _exists(final)
            if installed and _identity(final) == identity:
                _remove(final)  # this run's entry was installed: take it out again
            # (a different entry there is a later render's or the user's: it stays)
            old = staging / "old" / name
            if _exists(old) and not _exists(final):
                old.rename(final)
    shutil.rmtree(staging, ignore_errors=True)


def _entries(parent: Path) -> list[os.DirEntry[str]]:
    try:
        return list(os.scandir(parent))
    except OSError:
        return []


def recover(parent: Path, stem: str | None = None) -> None:
    """Repair what dead runs for ``stem`` (None: for any stem) left in ``parent`` (see the
    module's docstring). A dataset's items folder is repaired whole: a run killed just
    after an item's commit point leaves a ``.done`` folder that no later run of that item
    would meet."""
    key = stem_key(stem) if stem is not None else None
    for entry in _entries(parent):
        match = _STAGING.fullmatch(entry.name)
        if match is None or key not in (None, match[1]) or process_alive(int(match[2])):
            continue
        with held_signals():
            if match[3] != "done":
                _roll_back(Path(entry.path))
            else:
                shutil.rmtree(entry.path, ignore_errors=True)


def _clean_legacy(parent: Path, name: str) -> None:
    """Delete ``.NAME.partial-PID`` and ``.NAME.old-PID`` (earlier versions) of dead PIDs."""
    for entry in _entries(parent):
        match = _LEGACY.fullmatch(entry.name)
        if match is not None and match[1] == name and not process_alive(int(match[2])):
            with contextlib.suppress(OSError):
                _remove(Path(entry.path))


def is_recorded(path: Path, record: Path | None) -> bool:
    """Whether ``record`` (an earlier render's metadata.json) lists ``path`` as its output."""
    if record is None or not record.is_file() or record.stat().st_size > _RECORD_LIMIT:
        return False
    try:
        data: Any = json.loads(record.read_bytes())
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or data.get("format") != METADATA_FORMAT:
        return False
    if path == record:
        return True
    files = data.get("output", {}).get("files") if isinstance(data.get("output"), dict) else None
    return isinstance(files, list) and path.name in files


class OutputSet:
    """Outputs that are committed together: all of them, or none (see the module's docstring).

    >>> with tempfile.TemporaryDirectory() as folder:
    ...     outputs = OutputSet(Path(folder), "clip")
    ...     _ = outputs.member(Path(folder) / "clip.txt").write_text("one")
    ...     _ = outputs.member(Path(folder) / "clip.csv").write_text("two")
    ...     print(sorted(p.name for p in Path(folder).iterdir() if not p.name.startswith(".")))
    ...     outputs.commit()
    ...     print(sorted(p.name for p in Path(folder).iterdir()))
    []
    ['clip.csv', 'clip.txt']
    """

    def __init__(
        self, parent: Path, stem: str, *, overwrite: bool = True, record: Path | None = None
    ) -> None:
        self.parent = Path(parent)
        self.overwrite = overwrite
        self.record = record
        self._members: dict[str, tuple[bool, re.Pattern[str] | None]] = {}
        self.parent.mkdir(parents=True, exist_ok=True)
        recover(self.parent, stem)
        key = stem_key(stem)
        self.staging: Path | None = _new_staging(self.parent, key, 0o700)
        (self.staging / "new").mkdir()

    def member(
        self, target: Path, *, directory: bool = False, owns: re.Pattern[str] | None = None
    ) -> Path:
        """Where ``target`` is written until the commit (a new empty folder if ``directory``).

        ``owns``: for a folder, the names of the entries this output writes; an existing
        folder holding anything else is never replaced.
        """
        assert self.staging is not None, "the set was already committed or discarded"
        target = Path(target)
        if target.parent.resolve() != self.parent.resolve():
            raise ValueError(f"{target} is not in {self.parent}")
        _clean_legacy(self.parent, target.name)
        self._check(target, directory, owns)
        self._members[target.name] = (directory, owns)
        temp = self.staging / "new" / target.name
        if directory:
            temp.mkdir()
        return temp

    def staged(self, target: Path) -> Path:
        """Where member ``target`` is until the commit (signing works on it there)."""
        assert self.staging is not None, "the set was already committed or discarded"
        assert Path(target).name in self._members, f"{target} is not a member"
        return self.staging / "new" / Path(target).name

    def drop(self, target: Path) -> None:
        """Take ``target`` out of the set and delete its temporary."""
        if self.staging is not None and self._members.pop(Path(target).name, None) is not None:
            _remove(self.staging / "new" / Path(target).name)

    def _check(self, target: Path, directory: bool, owns: re.Pattern[str] | None) -> None:
        if not _exists(target):
            return
        mode = os.lstat(target).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            raise TargetExistsError(
                f"{target} is a device, pipe or socket; not replacing it, even with --overwrite"
            )
        if target.is_dir() and not target.is_symlink():
            if not directory:
                raise TargetExistsError(f"{target} is a folder; not replacing it with a file")
            foreign = sorted(
                name
                for name in os.listdir(target)
                if owns is None or not owns.fullmatch(name) or not (target / name).is_file()
            )
            if foreign:
                raise TargetExistsError(
                    f"{target} holds files this render would not write ({foreign[0]!r}"
                    f"{' and more' if len(foreign) > 1 else ''}); not replacing it"
                )
            if not os.listdir(target):
                return
        if self.overwrite or is_recorded(target, self.record):
            return
        raise TargetExistsError(
            f"{target} already exists and is not the output of an earlier render; "
            "not replacing it (use --overwrite to replace it)"
        )

    def commit(self) -> None:
        """Install every member at its target, all or nothing (on an error: rolled back)."""
        staging = self.staging
        assert staging is not None, "the set was already committed or discarded"
        names = list(self._members)
        for name in names:
            self._check(self.parent / name, *self._members[name])
        with held_signals():
            try:
                manifest = staging / "manifest"
                record = {"names": names, "ids": [_identity(staging / "new" / n) for n in names]}
                manifest.with_name("manifest.tmp").write_text(json.dumps(record), "utf-8")
                manifest.with_name("manifest.tmp").rename(manifest)
                for name in names:
                    final = self.parent / name
                    _pause()
                    if _exists(final):  # (old/ made only when needed: one removal less)
                        (staging / "old").mkdir(exist_ok=True)
                        final.rename(staging / "old" / name)
                    _pause()
                    (staging / "new" / name).rename(final)
                _pause()
                done = staging.with_suffix(".done")
                staging.rename(done)  # the commit point
            except BaseException:
                self.discard()
                raise
            self.staging = None
            try:
                _pause()
            finally:
                shutil.rmtree(done, ignore_errors=True)
        # A signal that came during the commit is handled here, with the new set complete.

    def discard(self) -> None:
        """Delete every temporary (and undo a commit that did not reach its commit point)."""
        staging, self.staging = self.staging, None
        if staging is not None:
            with held_signals():
                _roll_back(staging)


class NewFolder:
    """A folder built under a temporary name beside ``target`` and renamed to it in one
    step: ``target`` is then the complete folder, or absent. For a dataset's items, whose
    folder never replaces anything: no manifest, no ``new/`` folder, nothing to delete
    after the commit (``OutputSet`` made two folders, a manifest and three removals more
    an item), and the parent is not looked through each time (an items folder may hold a
    million entries: the caller ``recover``s it once, before it makes any). A dead
    process's temporary folder is a ``.partial`` staging folder that ``recover`` deletes.

    >>> with tempfile.TemporaryDirectory() as folder:
    ...     item = NewFolder(Path(folder) / "000001")
    ...     _ = (item.temp / "clip.txt").write_text("frames")
    ...     item.commit()
    ...     print(sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*")))
    ['000001', '000001/clip.txt']
    """

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        key = stem_key(self.target.name)
        self.temp = _new_staging(self.target.parent, key, 0o777)  # the item's own folder
        self._open = True

    def commit(self) -> None:
        """Rename the folder into place; TargetExistsError (and the temporary deleted)
        if ``target`` exists and is not an empty folder."""
        assert self._open, "the folder was already committed or discarded"
        _pause()
        with held_signals():
            try:
                os.rename(self.temp, self.target)
            except OSError as error:
                if not _exists(self.target):
                    raise
                self.discard()
                raise TargetExistsError(f"{self.target} already exists") from error
            self._open = False

    def discard(self) -> None:
        if self._open:
            self._open = False
            with held_signals():
                shutil.rmtree(self.temp, ignore_errors=True)


class InPlace:
    """Outputs written straight at their targets, with ``OutputSet``'s interface, for a
    caller whose folder is itself staged and committed whole: a dataset item's clip is
    rendered into its item's staging folder, where a second staging folder would cost two
    folders, a manifest and three removals an item (each removal waits ~4 ms on a disk
    mounted with ``discard``) and make nothing more atomic: the item is complete or absent.
    ``discard`` deletes what was written.

    >>> with tempfile.TemporaryDirectory() as folder:
    ...     outputs = InPlace(Path(folder))
    ...     _ = outputs.member(Path(folder) / "clip.txt").write_text("one")
    ...     print(sorted(p.name for p in Path(folder).iterdir()), end=" ")
    ...     outputs.discard()
    ...     print(sorted(p.name for p in Path(folder).iterdir()))
    ['clip.txt'] []
    """

    def __init__(self, parent: Path) -> None:
        self.parent = Path(parent)
        self._members: list[Path] = []

    def member(
        self, target: Path, *, directory: bool = False, owns: re.Pattern[str] | None = None
    ) -> Path:
        """``target`` itself (made empty first if ``directory``); ``owns`` is not needed:
        the folder is new."""
        target = Path(target)
        if target.parent != self.parent:
            raise ValueError(f"{target} is not in {self.parent}")
        if directory:
            target.mkdir()
        self._members.append(target)
        return target

    def staged(self, target: Path) -> Path:
        assert Path(target) in self._members, f"{target} is not a member"
        return Path(target)

    def drop(self, target: Path) -> None:
        if Path(target) in self._members:
            self._members.remove(Path(target))
            _remove(Path(target))

    def commit(self) -> None:
        """Nothing to install: the caller commits the folder."""
        self._members = []

    def discard(self) -> None:
        members, self._members = self._members, []
        for target in members:
            _remove(target)


Outputs = OutputSet | InPlace
"""Where sinks put their files until the commit: a staging folder, or in place."""


class AtomicPath:
    """One output under a temporary name: in ``group``'s staging folder, committed with it.

    Without a group the path is a set of its own (replacing what is at the target, like
    ``os.replace``): ``commit()`` installs it, ``discard()`` deletes the temporary.

    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = Path(folder) / "notes.txt"
    ...     out = AtomicPath(target)
    ...     _ = out.temp.write_text("all or nothing")
    ...     print(target.exists(), end=" ")
    ...     out.commit()
    ...     print(target.read_text(), sorted(p.name for p in Path(folder).iterdir()))
    False all or nothing ['notes.txt']
    """

    def __init__(
        self,
        target: str | Path,
        *,
        directory: bool = False,
        owns: re.Pattern[str] | None = None,
        group: Outputs | None = None,
    ) -> None:
        self.target = Path(target)
        self._own = group is None
        self.group: Outputs = (
            group if group is not None else OutputSet(self.target.parent, self.target.stem)
        )
        try:
            self.temp = self.group.member(self.target, directory=directory, owns=owns)
        except BaseException:
            if self._own:
                self.group.discard()
            raise

    def commit(self) -> None:
        """Install the output now if it is a set of its own; else the group's commit does."""
        if self._own:
            self.group.commit()

    def discard(self) -> None:
        if self._own:
            self.group.discard()
        else:
            self.group.drop(self.target)


def name_too_long(path: Path) -> bool:
    """Whether the last part of ``path`` is longer than its folder allows."""
    try:
        limit = os.pathconf(path.parent if path.parent.exists() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    return len(os.fsencode(path.name)) > limit
