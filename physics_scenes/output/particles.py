"""The liquid's particles per frame as a binary sidecar: ``NAME.fluid.npz``, streamed.

states.jsonl keeps one line per frame for the rigid bodies and only the particle count;
thousands of particles a frame as JSON would dwarf it. The particles go here instead:
an ordinary npz (``numpy.load`` reads it) written a chunk of ``CHUNK_FRAMES`` frames at
a time, so memory does not grow with the clip, and byte-identical run after run (every
member has a fixed date, mode and order: ``arrays.write_member``). Floats are the
Frames' own float64, bit for bit.

Members, in the order written: for each chunk ``k`` (``kkkk`` = four digits)
``position_kkkk`` (rows, 2) float64 metres, ``velocity_kkkk`` (rows, 2) float64 m/s
and ``kind_kkkk`` (rows,) int16 (an index into the liquids), the rows of the chunk's
frames one after the other; then ``count`` (frames,) int64 particles per frame,
``index`` and ``time`` (frames,) the frames' index and simulation time, ``chunk_frames``
(the chunk length), ``spacing`` (metres between particles at rest), ``fluid_name``,
``fluid_density``, ``fluid_particle_mass``, ``fluid_color`` (one row per liquid),
``format`` (``physics_scenes.fluid``) and ``version``.

>>> import tempfile
>>> from ..frame import FluidInfo, Layout, Frame
>>> layout = Layout((), (0.0, 0.0), (1.0, 1.0), (0, 0, 0), (0.0, -9.81),
...                 fluids=(FluidInfo("water", 1000.0, 2.5, (0, 0, 255)),), fluid_spacing=0.05)
>>> def frame(i: int) -> Frame:
...     empty = np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)), np.zeros(0)
...     points = np.full((i, 2), 0.5 * i)
...     return Frame(i, i / 60, *empty, (), points, -points, np.zeros(i, dtype=np.int16))
>>> with tempfile.TemporaryDirectory() as folder:
...     writer = ParticleWriter(Path(folder) / "clip.fluid.npz", layout)
...     for i in range(3):
...         writer.add(frame(i))
...     writer.close()
...     [(f.index, len(f.position), float(f.position.sum())) for f in read_particles(writer.path)]
[(0, 0, 0.0), (1, 1, 1.0), (2, 2, 4.0)]
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..frame import Frame, Layout
from ..picture.view import Pixels
from .arrays import write_member
from .atomic import AtomicPath
from .sink import StreamInfo

FORMAT = "physics_scenes.fluid"
VERSION = 1
CHUNK_FRAMES = 64
"""Frames per chunk: at the 20,000-particle limit a chunk holds 44 MB of arrays."""
ENDING = ".fluid.npz"


class ParticleWriter:
    """Frames' particles into an npz at ``path``, a chunk at a time (see the module)."""

    def __init__(self, path: Path, layout: Layout, chunk_frames: int = CHUNK_FRAMES) -> None:
        self.path = path
        self._layout = layout
        self._size = chunk_frames
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._chunk: list[Frame] = []
        self._chunks = 0
        self._count: list[int] = []
        self._index: list[int] = []
        self._time: list[float] = []

    def add(self, frame: Frame) -> None:
        self._count.append(len(frame.fluid_kind))
        self._index.append(frame.index)
        self._time.append(frame.time)
        self._chunk.append(frame)
        if len(self._chunk) == self._size:
            self._flush()

    def _flush(self) -> None:
        if not self._chunk:
            return
        tag = f"{self._chunks:04d}"
        chunk, self._chunk = self._chunk, []
        for name, field, dtype in (
            ("position", "fluid_position", "<f8"),
            ("velocity", "fluid_velocity", "<f8"),
            ("kind", "fluid_kind", "<i2"),
        ):
            rows = np.concatenate([np.asarray(getattr(f, field), dtype=dtype) for f in chunk])
            if name != "kind":
                rows = rows.reshape(-1, 2)
            write_member(self._zip, f"{name}_{tag}", rows)
        self._chunks += 1

    def close(self) -> None:
        """Write the last chunk and the index; the file is complete."""
        self._flush()
        fluids = self._layout.fluids
        names = [f.name for f in fluids]
        index: dict[str, npt.NDArray[np.generic]] = {
            "count": np.array(self._count, dtype="<i8"),
            "index": np.array(self._index, dtype="<i8"),
            "time": np.array(self._time, dtype="<f8"),
            "chunk_frames": np.array(self._size, dtype="<i8"),
            "spacing": np.array(self._layout.fluid_spacing, dtype="<f8"),
            "fluid_name": np.array(names, dtype=f"<U{max([1, *map(len, names)])}"),
            "fluid_density": np.array([f.density for f in fluids], dtype="<f8"),
            "fluid_particle_mass": np.array([f.particle_mass for f in fluids], dtype="<f8"),
            "fluid_color": np.array([f.color for f in fluids], dtype=np.uint8).reshape(-1, 3),
            "format": np.array(FORMAT),
            "version": np.array(VERSION, dtype="<i8"),
        }
        for name, array in index.items():
            write_member(self._zip, name, array)
        self._zip.close()

    def abandon(self) -> None:
        """Close the file without completing it (its temporary is deleted by the caller)."""
        with contextlib.suppress(Exception):
            self._zip.close()


class ParticleSink:
    """The sidecar as a render output: staged with the render's other files, committed
    with them or not at all (``atomic.OutputSet``)."""

    needs_pixels = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._out: AtomicPath | None = None
        self._writer: ParticleWriter | None = None

    def open(self, info: StreamInfo) -> None:
        self._out = AtomicPath(self.path, group=info.outputs)
        self._writer = ParticleWriter(self._out.temp, info.layout)

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        assert self._writer is not None
        self._writer.add(frame)

    def finish(self) -> None:
        assert self._writer is not None
        self._writer.close()

    def commit(self) -> None:
        assert self._out is not None
        self._out.commit()

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.abandon()
        if self._out is not None:
            self._out.discard()


def particles_path(output: Path) -> Path:
    """``out/clip.mp4`` → ``out/clip.fluid.npz`` (beside ``clip.states.jsonl``)."""
    return output.with_name(output.stem + ENDING)


@dataclass(frozen=True, slots=True)
class ParticleFrame:
    """One frame's particles as read back."""

    index: int
    time: float
    position: npt.NDArray[np.float64]
    velocity: npt.NDArray[np.float64]
    kind: npt.NDArray[np.int16]


def read_particles(path: str | Path) -> Iterator[ParticleFrame]:
    """The frames of a sidecar in order, one chunk in memory at a time."""
    with np.load(path, allow_pickle=False) as data:
        if str(data["format"]) != FORMAT or int(data["version"]) != VERSION:
            raise ValueError(f"{path}: not a {FORMAT} file of version {VERSION}")
        count, index, time = data["count"], data["index"], data["time"]
        size = int(data["chunk_frames"])
        for chunk, first in enumerate(range(0, len(count), size)):
            tag = f"{chunk:04d}"
            position, velocity = data[f"position_{tag}"], data[f"velocity_{tag}"]
            kind = data[f"kind_{tag}"]
            ends = np.cumsum(count[first : first + size])
            starts = ends - count[first : first + size]
            for k, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
                yield ParticleFrame(
                    int(index[first + k]), float(time[first + k]),
                    position[a:b], velocity[a:b], kind[a:b],
                )  # fmt: skip
