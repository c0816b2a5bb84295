"""Ground truth as JSON Lines: a header, one line per frame (state, events, hash), a footer."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from ..frame import Frame, Layout
from ..picture.view import Pixels
from .atomic import AtomicPath
from .sink import StreamInfo


def _json_line(record: dict[str, Any]) -> bytes:
    """One compact JSON line. orjson: 7x faster than ``json`` on a 1000-body frame (the
    states file was the costliest stage), numpy arrays without ``tolist``, floats still
    written shortest-exact (they read back bit-identical); a non-finite number is null."""
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE)


def layout_record(layout: Layout) -> list[dict[str, Any]]:
    """The Layout as JSON-ready dicts (static masses are null: infinite)."""
    bodies = []
    for body in layout.bodies:
        dynamic = body.body_type == "dynamic"
        bodies.append({
            "name": body.name,
            "kind": body.kind,
            "body_type": body.body_type,
            "material": body.material,
            "color": list(body.color),
            "mass": body.mass if dynamic else None,
            "moment": body.moment if dynamic else None,
            "center_of_gravity": list(body.center_of_gravity),
            "shapes": [_geom_record(geom) for geom in body.shapes],
        })  # fmt: skip
    return bodies


def _fluids_record(layout: Layout) -> dict[str, Any]:
    """The liquids (only in scenes that have any, so other headers stay as they were);
    the particles themselves are not written, their count is, per frame."""
    if not layout.fluids:
        return {}
    return {
        "fluid_spacing": layout.fluid_spacing,
        "fluids": [
            {"name": f.name, "density": f.density, "particle_mass": f.particle_mass,
             "color": list(f.color)}
            for f in layout.fluids
        ],
    }  # fmt: skip


def _geom_record(geom: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"type": geom.type}
    for key in geom.__slots__:
        if key != "type":
            value = getattr(geom, key)
            record[key] = [list(v) for v in value] if key == "vertices" else value
    return record


STATE_ARRAYS = ("time", "position", "angle", "velocity", "angular_velocity")
"""The per-frame arrays a states file is read back into (``output.shards``)."""
StatesRead = tuple[list[Any], dict[str, np.ndarray], list[Any]]
"""A states file read back: its bodies (the header's), per-frame arrays, every event."""
_NULL = np.array([None], dtype=np.float64)[0]
"""What a non-finite number (written as null) reads back as: numpy's NaN."""


def _round_trip(value: Any) -> Any:
    """``value`` as written to the states file and parsed again (tuples become lists, a
    non-finite number None, numpy scalars Python's)."""
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))


@dataclass(frozen=True, slots=True)
class ClipStates:
    """A clip's Frames, standing for its states file: ``read_back()`` gives what reading
    the file back gives (``output.shards``), bit for bit, without parsing it again: the
    arrays stacked (a non-finite number as the NaN its null reads as), the bodies and
    events through JSON (small)."""

    layout: Layout
    frames: Sequence[Frame]

    def read_back(self) -> StatesRead:
        frames, rows = self.frames, len(self.layout.bodies)
        kinds = {getattr(f, key).dtype for f in frames for key in STATE_ARRAYS[1:]}
        exact = kinds <= {np.dtype(np.float64)}
        if not frames or not rows or not exact:  # as the file reads (shapes of empty lists)
            text = [_round_trip({key: getattr(f, key) for key in STATE_ARRAYS}) for f in frames]
            arrays = {k: np.array([f[k] for f in text], dtype=np.float64) for k in STATE_ARRAYS}
        else:
            arrays = {"time": np.array([f.time for f in frames], dtype=np.float64)}
            for key in STATE_ARRAYS[1:]:
                arrays[key] = np.array([getattr(f, key) for f in frames], dtype=np.float64)
        for array in arrays.values():
            array[~np.isfinite(array)] = _NULL
        events = _round_trip([event.to_dict() for f in frames for event in f.events])
        return _round_trip(layout_record(self.layout)), arrays, events


class RunDigest:
    """Folds every frame's state hash into one run hash, in frame order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.frames = 0
        self.events = 0
        self.last_state_hash = ""

    def add(self, frame: Frame) -> str:
        state_hash = frame.state_hash()
        self._hash.update(state_hash.encode())
        self.frames += 1
        self.events += len(frame.events)
        self.last_state_hash = state_hash
        return state_hash

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class StatesSink:
    """JSON Lines: a header, one line per frame (state, events, hash), a footer.

    Floats are written with Python's shortest round-trip repr, so reading the
    file back gives bit-identical arrays. Layout of each line:
    ``{"type": "header", "format": "physics_scenes.states", "version": 1, "fps",
    "dt", "frame_count", "units", "bodies": [...]}``, then per frame
    ``{"type": "frame", "index", "time", "state_hash", "position": [[x, y], ...],
    "angle": [...], "velocity": [[vx, vy], ...], "angular_velocity": [...],
    "events": [...]}`` plus, from the pipeline's ``annotate``, ``"video_time"``,
    ``"sim_time"`` and ``"camera": {"center", "scale", "rotation", "matrix", "shot",
    "mode"}`` (``matrix`` maps world metres to pixels: ``[px, py] = M @ [x, y, 1]``),
    then ``{"type": "footer", "frames", "events", "run_hash"}``.
    """

    needs_pixels = False

    def __init__(
        self, path: str | Path, annotate: Callable[[Frame], dict[str, Any]] | None = None
    ) -> None:
        self.path = Path(path)
        self.annotate = annotate
        self._out: AtomicPath | None = None
        self._file: IO[bytes] | None = None
        self._fluids = False
        self.digest = RunDigest()

    def open(self, info: StreamInfo) -> None:
        self._fluids = bool(info.layout.fluids)
        self._out = AtomicPath(self.path, group=info.outputs)
        self._file = open(self._out.temp, "wb")  # noqa: SIM115
        self._file.write(_json_line({
            "type": "header",
            "format": "physics_scenes.states",
            "version": 1,
            "fps": info.fps,
            "dt": info.dt,
            "frame_count": info.frame_count,
            "units": {"position": "m", "angle": "rad", "velocity": "m/s",
                      "angular_velocity": "rad/s", "impulse": "N*s", "time": "s"},
            "bodies": layout_record(info.layout),
            **_fluids_record(info.layout),
        }))  # fmt: skip

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        assert self._file is not None
        self._file.write(_json_line({
            "type": "frame",
            "index": frame.index,
            "time": frame.time,
            "state_hash": self.digest.add(frame),
            "position": frame.position,
            "angle": frame.angle,
            "velocity": frame.velocity,
            "angular_velocity": frame.angular_velocity,
            "events": [event.to_dict() for event in frame.events],
            **({"fluid_particles": len(frame.fluid_kind)} if self._fluids else {}),
            **(self.annotate(frame) if self.annotate is not None else {}),
        }))  # fmt: skip

    def finish(self) -> None:
        assert self._file is not None
        self._file.write(_json_line({
            "type": "footer",
            "frames": self.digest.frames,
            "events": self.digest.events,
            "run_hash": self.digest.hexdigest(),
        }))  # fmt: skip
        self._file.close()

    def commit(self) -> None:
        assert self._out is not None
        self._out.commit()

    def discard(self) -> None:
        if self._file is not None and not self._file.closed:
            with contextlib.suppress(OSError):  # a full disk fails the last flush again
                self._file.close()
        if self._out is not None:
            self._out.discard()
