"""A long track kept on disk instead of in memory, read back a slice at a time.

Mastering reads the whole mix several times (loudness, trial gains, the final
pass); keeping it in an anonymous temporary file beside the output makes the
memory of a render independent of the video's length. The file has no name:
the operating system removes it when it is closed, even after a crash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .dsp import Audio32, Samples


class SpilledTrack:
    """Float32 frames appended in order, readable as ``track[a:b]`` like an array."""

    def __init__(self, directory: Path, channels: int = 2) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed by close()
        self._channels = channels
        self._length = 0

    def append(self, block: Samples) -> None:
        data = np.ascontiguousarray(block, dtype=np.float32)
        assert data.shape[1:] == (self._channels,)
        self._file.write(data.tobytes())
        self._length += len(data)

    @property
    def shape(self) -> tuple[int, int]:
        return self._length, self._channels

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key: slice) -> Audio32:
        start, stop, step = key.indices(self._length)
        if step != 1:
            raise IndexError("a spilled track reads contiguous slices only")
        frame = 4 * self._channels
        self._file.flush()
        size = max(0, stop - start) * frame
        data = os.pread(self._file.fileno(), size, start * frame)
        if len(data) != size:
            raise OSError(f"spilled sound track: read {len(data)} of {size} bytes")
        return np.frombuffer(data, dtype=np.float32).reshape(-1, self._channels)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpilledTrack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
