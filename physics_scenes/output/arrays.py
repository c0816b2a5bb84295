"""Arrays to a ``.npz`` file whose bytes depend on the arrays only; a clip's frames as one.

``numpy.savez_compressed`` stamps each member with the current time, so two writes of
the same arrays differ; here every member has a fixed date, mode and order. The file is
an ordinary npz: ``numpy.load`` reads it.

>>> import io
>>> one, two = io.BytesIO(), io.BytesIO()
>>> write_npz(one, {"ids": np.arange(6, dtype=np.uint16).reshape(2, 3)})
>>> write_npz(two, {"ids": np.arange(6, dtype=np.uint16).reshape(2, 3)})
>>> one.getvalue() == two.getvalue(), np.load(io.BytesIO(one.getvalue()))["ids"][1].tolist()
(True, [3, 4, 5])
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from ..frame import Frame
from ..picture.view import Pixels
from .atomic import AtomicPath
from .sink import StreamInfo

_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_npz(target: Path | IO[bytes], arrays: Mapping[str, npt.NDArray[np.generic]]) -> None:
    """Write ``arrays`` (in their order) as a deflate-compressed npz, deterministically
    (zlib level 1: a third of level 6's time for flow fields, a few per cent larger)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            write_member(archive, name, array)


def write_member(archive: zipfile.ZipFile, name: str, array: npt.NDArray[np.generic]) -> None:
    """Add ``name.npy`` to an open npz ``archive`` with a fixed date and mode (the bytes
    depend on the array only), so an npz can be written a member at a time."""
    info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info._compresslevel = 1  # type: ignore[attr-defined]  # as writestr(compresslevel=1)
    data = array if array.flags.c_contiguous else np.ascontiguousarray(array)  # keeps 0-d
    # streamed into the member (no copy of a whole flow field in memory); zip64 as
    # writestr would decide it from the size, so the bytes are the same
    big = data.nbytes * 1.05 > zipfile.ZIP64_LIMIT
    with archive.open(info, "w", force_zip64=big) as member:
        np.lib.format.write_array(member, data, allow_pickle=False)


class FramesSink:
    """The pictures as ``frames`` (n, H, W, 3) uint8 sRGB in an npz (``write_npz``), or in
    an HDF5 file for a path ending ``.h5`` (``shards.write_frames``: a dataset item, whose
    other arrays are added to it after the render): the pictures as drawn (and marked), no
    video encoding (PhyWorld's format keeps frames as arrays).

    Flat-coloured frames deflate about fifty-fold; the array is held until ``finish``
    (6 MB for 32 frames of 256x256), so this sink is for short clips (datasets)."""

    needs_pixels = True

    def __init__(self, path: str | Path, compression: str = "gzip") -> None:
        self.path = Path(path)
        self.compression = compression
        self.mark: Callable[[npt.NDArray[np.uint8]], None] | None = None
        """Marks each (H, W, 3) picture in place once it is in the array (the render's
        ``PictureMark.apply_in_place`` when this sink alone takes its pictures: the same
        bytes as marking the drawn picture first, without a marked copy of it)."""
        self._out: AtomicPath | None = None
        self._frames: npt.NDArray[np.uint8] | None = None
        self._count = 0

    def open(self, info: StreamInfo) -> None:
        self._out = AtomicPath(self.path, group=info.outputs)
        self._frames = np.empty((info.frame_count, info.height, info.width, 3), dtype=np.uint8)

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        """The picture into the array as RGB by OpenCV's SIMD byte shuffle (~7 µs a
        256x256 frame; numpy's three strided channel copies took ~60), then marked there.
        (OpenCV's saturating ``add`` would mark it faster still, but it runs on a thread
        pool whose spinning threads cost the process more than it saves.)"""
        import cv2  # only where pictures become arrays (datasets)

        assert pixels is not None and self._frames is not None
        into = self._frames[self._count]
        if (pixels.height, pixels.width) != into.shape[:2]:
            raise ValueError(f"a {pixels.width}x{pixels.height} picture in a clip of "
                             f"{into.shape[1]}x{into.shape[0]}")  # fmt: skip
        raw = np.frombuffer(pixels.data, dtype=np.uint8).reshape(pixels.height, pixels.width, 4)
        code = cv2.COLOR_BGRA2RGB if pixels.pix_fmt == "bgr0" else cv2.COLOR_RGBA2RGB
        cv2.cvtColor(raw, code, dst=into)  # the right shape and type: written in place
        if self.mark is not None:
            self.mark(into)
        self._count += 1

    def finish(self) -> None:
        assert self._out is not None and self._frames is not None
        frames = self._frames[: self._count]
        if self.path.suffix == ".h5":
            from .shards import write_frames  # h5py: only for HDF5 datasets

            write_frames(self._out.temp, frames, self.compression)
        else:
            write_npz(self._out.temp, {"frames": frames})
        self._frames = None

    def commit(self) -> None:
        assert self._out is not None
        self._out.commit()

    def discard(self) -> None:
        self._frames = None
        if self._out is not None:
            self._out.discard()
