"""``metadata.json``: what made an output, so that it can be reproduced and audited."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..frame import Frame
from ..picture.view import Pixels
from .atomic import AtomicPath
from .sink import StreamInfo
from .states import RunDigest


@dataclass
class MetadataSink:
    """``metadata.json``: what made this output, so it can be reproduced and audited.

    Holds no wall-clock time or host name, so identical runs give identical files.
    """

    path: Path
    fields: dict[str, Any] = field(default_factory=dict)
    late: Mapping[str, Callable[[], dict[str, Any] | None]] = field(default_factory=dict)
    """Sections known only once the other sinks have finished (the sound's measured
    loudness), each added after ``fields`` when its function returns a dict."""
    needs_pixels = False

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.digest = RunDigest()
        self._out: AtomicPath | None = None

    def open(self, info: StreamInfo) -> None:
        self._out = AtomicPath(self.path, group=info.outputs)

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        self.digest.add(frame)

    def finish(self) -> None:
        assert self._out is not None
        late = {name: section() for name, section in self.late.items()}
        record = {
            **self.fields,
            **{name: section for name, section in late.items() if section is not None},
            "frames": self.digest.frames,
            "events": self.digest.events,
            "run_hash": self.digest.hexdigest(),
            "final_state_hash": self.digest.last_state_hash,
        }
        self._out.temp.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", "utf-8")

    def commit(self) -> None:
        assert self._out is not None
        self._out.commit()

    def discard(self) -> None:
        if self._out is not None:
            self._out.discard()
