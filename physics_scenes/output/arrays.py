"""Arrays to a ``.npz`` file whose bytes depend on the arrays only.

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
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

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
