"""Dataset shards: WebDataset tar files and HDF5 files, with bytes that depend on the data only.

**WebDataset** (``data-000000.tar``, ...): POSIX (ustar) tar files, one sample per clip,
its members grouped by the item's name as key (``000042.mp4``, ``000042.states.jsonl``,
``000042.metadata.json``, ``000042.truth.npz``, ``000042.annotations.json``,
``000042.json``: the item's record).
Every member has mtime 0, uid/gid 0, no owner names and mode 0644, in a fixed order, so
two writes give the same bytes (ray.data's writer stamps times and random names).

**HDF5** (``data-000000.h5``, PhyWorld-like): one group per clip, named by the item,
holding ``frames`` (n, H, W, 3) uint8 — the renderer's pictures when the item holds them
as an array (``clip.npz``), else the MP4 decoded back to sRGB (what a reader of the
video sees) beside ``video`` (the MP4's bytes, uint8) — the states as arrays — ``position``
(n, B, 2), ``angle`` (n, B), ``velocity`` (n, B, 2), ``angular_velocity`` (n, B), float64;
``time`` (n,) — and the ground truth ``ids``, ``flow``, ``boxes``, ``visible`` as chunked,
gzip-compressed datasets (one frame a chunk); attributes ``record`` (the item's JSON),
``bodies`` (the states header's body list, JSON), ``events`` (every contact event,
JSON) and ``annotations`` (captions, questions, plausibility: JSON). No object carries a time stamp.

A clip is a ``Clip`` here: its name, its record and its files (name → path).
"""

from __future__ import annotations

import io
import itertools
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import AtomicPath
from .ffmpeg import decode_frames
from .sink import ExportError
from .states import STATE_ARRAYS, ClipStates, StatesRead

TAR_ORDER = ("mp4", "npz", "h5", "states.jsonl", "metadata.json", "truth.npz", "annotations.json")
"""Members of a sample after the record (``json``), by their ending after ``clip.``
(an item holds its pictures as ``mp4`` or as ``npz``, the frames as an array)."""


@dataclass(frozen=True, slots=True)
class ShardClip:
    name: str
    record: dict[str, Any]
    files: dict[str, Path]
    """``mp4`` → the video (or ``npz`` → the frames), ``states.jsonl``, ``metadata.json``,
    ``truth.npz``, ``annotations.json``."""


def write_shards(
    folder: Path, clips: Iterable[ShardClip], fmt: str, size: int = 1000
) -> list[Path]:
    """Write ``clips`` into shards of ``size`` clips in ``folder`` (each shard atomic).

    Streamed: each clip is written into its shard as it comes, so a batch that hands over
    its clips as its items finish (``job.dataset``) has only the last one left to copy
    at the end."""
    write = {"webdataset": _write_tar, "hdf5": _write_hdf5}[fmt]
    ending = {"webdataset": ".tar", "hdf5": ".h5"}[fmt]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    source = iter(clips)
    for number in itertools.count():
        first = next(source, None)
        if first is None:
            break
        batch = itertools.chain([first], itertools.islice(source, size - 1))
        path = folder / f"data-{number:06d}{ending}"
        target = AtomicPath(path)
        try:
            write(target.temp, batch)
            target.commit()
        except BaseException:
            target.discard()
            raise
        paths.append(path)
    for stale in folder.glob(f"data-*{ending}"):  # from an earlier run with more items
        if stale not in paths:
            stale.unlink()
    return paths


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _write_tar(path: Path, clips: Iterable[ShardClip]) -> None:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as archive:
        for clip in clips:
            record = json.dumps(clip.record, sort_keys=True, separators=(",", ":")).encode()
            archive.addfile(_member(f"{clip.name}.json", len(record)), io.BytesIO(record))
            for ending in (ending for ending in TAR_ORDER if ending in clip.files):
                source = clip.files[ending]
                with open(source, "rb") as stream:
                    size = source.stat().st_size
                    archive.addfile(_member(f"{clip.name}.{ending}", size), stream)


def _states(path: Path | ClipStates) -> StatesRead:
    """The states file's bodies, its per-frame arrays, and every event (from the clip's
    Frames when it is at hand: the same values, without parsing the file again)."""
    if isinstance(path, ClipStates):
        return path.read_back()
    with open(path, encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    header = json.loads(lines[0])
    frames = [json.loads(line) for line in lines[1:-1]]
    arrays = {key: np.array([f[key] for f in frames], dtype=np.float64) for key in STATE_ARRAYS}
    events = [event for f in frames for event in f["events"]]
    return header["bodies"], arrays, events


H5_OPTIONS: dict[str, Any] = {"libver": "earliest", "track_order": False}
"""HDF5 files without time stamps or creation-order tables: bytes from the data only."""
TRUTH_ARRAYS = ("ids", "flow", "boxes", "visible")


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise ExportError("--format hdf5 needs h5py: pip install 'physics-scenes[hdf5]'") from None
    return h5py


def _zlib_ng() -> Any:
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        raise ExportError(
            "--format hdf5 needs zlib-ng: pip install 'physics-scenes[hdf5]'"
        ) from None
    return zlib_ng


def shuffled(chunk: np.ndarray) -> np.ndarray:
    """``chunk``'s bytes as HDF5's shuffle filter stores them: every element's first byte,
    then every second byte, ... (``H5Z_filter_shuffle``; the identity for one-byte types).

    >>> shuffled(np.array([1, 2], dtype="<u2")).tolist()
    [1, 2, 0, 0]
    """
    raw = np.ascontiguousarray(chunk).reshape(-1).view(np.uint8)
    size = chunk.dtype.itemsize
    return raw if size == 1 else raw.reshape(-1, size).T.reshape(-1)


def _chunked(group: Any, name: str, array: np.ndarray, level: int | None) -> None:
    """A dataset chunked a frame each (gzip ``level``, byte-shuffled when wider than a
    byte; None: no filter at all).

    The chunks are deflated here by zlib-ng and written as they are (``write_direct_chunk``)
    under HDF5's own gzip (and shuffle) filter, so any HDF5 reader decodes them with plain
    zlib: zlib-ng's level 1 took 4 ms for a clip's 32 frames of 256x256 where HDF5's zlib
    took 20 ms (``benchmarks/README.md``). Its output depends on the bytes and the level
    only (a new stream each chunk), on one architecture and zlib-ng version."""
    if level is None or array.size == 0:
        chunks = (1, *array.shape[1:]) if array.size else None
        group.create_dataset(name, data=array, chunks=chunks, track_times=False)
        return
    shuffle = array.dtype.itemsize > 1
    dataset = group.create_dataset(
        name, shape=array.shape, dtype=array.dtype, chunks=(1, *array.shape[1:]),
        compression="gzip", compression_opts=level, shuffle=shuffle, track_times=False,
    )  # fmt: skip
    compress = _zlib_ng().compress
    rest = (0,) * (array.ndim - 1)
    for index, chunk in enumerate(array):
        data = shuffled(chunk) if shuffle else np.ascontiguousarray(chunk)
        dataset.id.write_direct_chunk((index, *rest), compress(data, level))


ITEM_LEVEL = 1
"""gzip level of a dataset item's ``clip.h5`` (compressed once, in the worker: the
shard copies its chunks as they are)."""


FRAMES_COMPRESSION = ("gzip", "none")
"""How an item's ``frames`` are stored: ``gzip`` (level 1 by zlib-ng, ~430 kB a clip of 32
frames of 256x256, ~5 ms of CPU) or ``none`` (6.3 MB, ~3 ms; PhyWorld's files use no HDF5
filter, holding each clip as MP4 bytes instead). LZF was not cheaper than HDF5's own gzip 1
and 1.8x larger, so it is not offered."""


def write_frames(path: Path, frames: np.ndarray, compression: str = "gzip") -> None:
    """A dataset item's ``clip.h5`` with its ``frames`` (chunked a frame each; gzip level 1
    or uncompressed: ``FRAMES_COMPRESSION``); ``add_clip_arrays`` adds the rest."""
    if compression not in FRAMES_COMPRESSION:
        raise ValueError(
            f"frames compression must be one of {FRAMES_COMPRESSION}, not {compression!r}"
        )
    with _h5py().File(path, "w", **H5_OPTIONS) as h5:
        _chunked(h5, "frames", frames, None if compression == "none" else ITEM_LEVEL)


def add_clip_arrays(
    path: Path, states: Path | ClipStates, annotations: str, truth: dict[str, np.ndarray] | None
) -> None:
    """The states (as arrays), events, annotations and ground truth added to ``clip.h5``:
    what a shard's group holds, but its record (which holds this file's checksum).
    ``states``: the states file, or the clip's Frames that it was written from."""
    with _h5py().File(path, "r+", **H5_OPTIONS) as h5:
        _add_clip(h5, states, annotations, truth, ITEM_LEVEL)


def _add_clip(
    group: Any,
    states: Path | ClipStates,
    annotations: str,
    truth: Mapping[str, np.ndarray] | None,
    level: int,
) -> None:
    """A clip's states (as arrays), events, annotations and ground truth (gzip ``level``)
    into an HDF5 group: a dataset item's ``clip.h5``, or its group in a shard."""
    bodies, arrays, events = _states(states)
    group.attrs["bodies"] = json.dumps(bodies, sort_keys=True)
    group.attrs["events"] = json.dumps(events, sort_keys=True)
    group.attrs["annotations"] = annotations
    for name, array in arrays.items():
        group.create_dataset(name, data=array, track_times=False)
    for name in TRUTH_ARRAYS if truth is not None else ():
        assert truth is not None
        _chunked(group, name, truth[name], level)


class _ItemCopier:
    """Copies dataset items' ``clip.h5`` into a shard's groups with h5py's low-level calls:
    the very HDF5 calls its high-level ``create_group``, ``attrs[...] =`` and ``copy`` make
    (so the same bytes), without their Python layers, which cost twice the copying itself
    (~1.9 against ~1.2 ms a clip, measured on 48 items of thrown_balls). The command builds
    the shards while the workers render: its CPU is taken from theirs."""

    def __init__(self, h5py: Any) -> None:
        self.h5py = h5py
        self.text = h5py.string_dtype()  # attributes: variable-length UTF-8 text
        self.logical = h5py.h5t.py_create(self.text, logical=True)
        self.memory = h5py.h5t.py_create(self.text)
        self.gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        self.gcpl.set_obj_track_times(False)
        self.copy_lcpl = h5py._hl.base.dlcpl  # what Group.copy links with
        self.fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)

    def _lcpl(self, name: str) -> tuple[bytes, Any]:
        """The name's bytes and link properties, as h5py's ``Group._e(name, lcpl=True)``."""
        h5t = self.h5py.h5t
        try:
            encoded, coding = name.encode("ascii"), h5t.CSET_ASCII
        except UnicodeEncodeError:
            encoded, coding = name.encode("utf8"), h5t.CSET_UTF8
        lcpl = self.h5py._hl.base.dlcpl.copy()
        lcpl.set_char_encoding(coding)
        return encoded, lcpl

    def _set_text(self, group: Any, name: bytes, value: Any) -> None:
        """``group.attrs[name] = value`` for text (str, or the bytes a text attribute holds)."""
        h5a = self.h5py.h5a
        data = np.asarray(value, dtype=self.text)
        space = self.h5py.h5s.create_simple(())
        if h5a.exists(group, name):
            h5a.delete(group, name)
        attr = h5a.create(group, name, self.logical, space)
        try:
            attr.write(data, mtype=self.memory)
        finally:
            attr.close()

    def copy(self, shard: Any, clip: ShardClip) -> None:
        """Group ``clip.name`` in ``shard`` (an open h5py File): the record, then the item's
        attributes and objects, in the order h5py lists them (by name)."""
        h5 = self.h5py
        name, lcpl = self._lcpl(clip.name)
        group = h5.h5g.create(shard.id, name, lcpl=lcpl, gcpl=self.gcpl)
        try:
            self._set_text(group, b"record", json.dumps(clip.record, sort_keys=True))
            item = h5.h5f.open(bytes(clip.files["h5"]), h5.h5f.ACC_RDONLY, fapl=self.fapl)
            try:
                names: list[bytes] = []
                h5.h5a.iterate(item, lambda key, *_: names.append(key),
                                index_type=self._attribute_order(item))  # fmt: skip
                for key in names:
                    self._copy_attribute(item, group, key)
                for member in list(item):
                    h5.h5o.copy(item, member, group, member, None, self.copy_lcpl)
            finally:
                item.close()
        finally:
            group.close()

    def _attribute_order(self, item: Any) -> int:
        """By name, or by creation order where the item tracks it (h5py's ``attrs`` order)."""
        h5 = self.h5py
        plist = item.get_create_plist()
        try:
            tracked = plist.get_attr_creation_order() & h5.h5p.CRT_ORDER_TRACKED
        finally:
            plist.close()
        return int(h5.h5.INDEX_CRT_ORDER if tracked else h5.h5.INDEX_NAME)

    def _copy_attribute(self, item: Any, group: Any, key: bytes) -> None:
        h5 = self.h5py
        attr = h5.h5a.open(item, key)
        try:
            dtype, shape = attr.dtype, attr.shape
            info = h5.check_string_dtype(dtype)
            if shape == () and info is not None and info.length is None:  # one text
                value = np.zeros((), dtype=dtype)
                attr.read(value, mtype=h5.h5t.py_create(dtype))
                text: Any = value[()]
            else:
                text = None
        finally:
            attr.close()
        if text is not None:
            self._set_text(group, key, text)
        else:  # anything else: h5py's own reading and writing
            name = key.decode("utf8", "surrogateescape")
            h5.AttributeManager(h5.Group(group))[name] = h5.AttributeManager(h5.Group(item))[name]


def _write_hdf5(path: Path, clips: Iterable[ShardClip]) -> None:
    h5py = _h5py()
    copier = _ItemCopier(h5py)
    with h5py.File(path, "w", **H5_OPTIONS) as h5:
        for clip in clips:
            if "h5" in clip.files:  # the item's own HDF5: its chunks copied, not recompressed
                copier.copy(h5, clip)
                continue
            group = h5.create_group(clip.name)
            group.attrs["record"] = json.dumps(clip.record, sort_keys=True)
            if "npz" in clip.files:  # the pictures themselves, no video
                with np.load(clip.files["npz"]) as arrays:
                    frames = arrays["frames"]
            else:
                video = np.frombuffer(clip.files["mp4"].read_bytes(), dtype=np.uint8)
                group.create_dataset("video", data=video, track_times=False)
                size = json.loads(clip.files["metadata.json"].read_text("utf-8"))["output"]
                frames = decode_frames(clip.files["mp4"], size["width"], size["height"])
            _chunked(group, "frames", frames, 4)
            states, annotations = clip.files["states.jsonl"], clip.files["annotations.json"]
            if "truth.npz" not in clip.files:  # a dataset made with --no-truth
                _add_clip(group, states, annotations.read_text("utf-8"), None, 4)
                continue
            with np.load(clip.files["truth.npz"]) as truth:
                _add_clip(group, states, annotations.read_text("utf-8"), truth, 4)
