"""What the preview saves (S screenshots, R takes) carries what ``render``'s outputs carry.

A take or a screenshot is a picture made by physics_scenes like any other, so it gets
the same in-signal picture mark as the render of the scene (the same content id:
``verify --scene`` names it) and, unless turned off, a signed C2PA manifest made with the
signing identity ``render`` uses (the local one is made the first time, as ``render``
makes it). The mark goes onto the pixels before they are encoded or saved; the manifest
is embedded once the file is complete, through a file beside it.

>>> from physics_scenes.scene.loader import load_scene
>>> keeper = Keepsakes(load_scene("scenes/bouncing_balls.yaml"), watermark=True, sign=False)
>>> len(keeper.content_id or "")
12
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..job.pipeline import package_version, scene_hash
from ..job.timeline import video_frames
from ..output.provenance.keys import Identity, signing_identity
from ..output.provenance.marks import Marks
from ..picture.view import Pixels
from ..scene.model import Scene


class Keepsakes:
    """Marks and signs the preview's saved files for one scene (made again on reload)."""

    def __init__(
        self, scene: Scene, *, watermark: bool = True, sign: bool = True, frames: int | None = None
    ) -> None:
        """``frames``: the clip's length, which names the mark as it names render's (the
        clip view's player knows it; None: worked out, as ``info`` does)."""
        self.scene = scene
        self.scene_sha256 = scene_hash(scene)
        self.marks: Marks | None = None
        if watermark:
            frames = video_frames(scene) if frames is None else frames
            self.marks = Marks.for_run(self.scene_sha256, scene.seed, scene.timing.fps, frames)
        self.sign = sign
        self._identity: Identity | None = None

    @property
    def content_id(self) -> str | None:
        return self.marks.content_id if self.marks is not None else None

    def mark(self, pixels: Pixels) -> Pixels:
        """A frame of a take, marked (unchanged with the mark off)."""
        return self.marks.picture.apply(pixels) if self.marks is not None else pixels

    def mark_rgb(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """A screenshot's (h, w, 3) pixels, marked (unchanged with the mark off)."""
        return self.marks.picture.apply_rgb(rgb) if self.marks is not None else rgb

    def seal(self, path: Path, what: str) -> str | None:
        """Sign the finished ``path`` (``what``: 'take' or 'screenshot'); returns a line
        for the user when something is worth saying (an identity made now, a failure)."""
        if not self.sign:
            return None
        note = None
        if self._identity is None:
            signing = signing_identity(None, no_sign=False)
            if signing.identity is None:
                self.sign = False  # said once; later saves stay unsigned quietly
                return signing.note
            self._identity, note = signing.identity, signing.note
        from ..output.provenance.credentials import sign  # c2pa: only when signing

        claims: dict[str, Any] = {
            "scene_sha256": self.scene_sha256, "seed": self.scene.seed,
            "run_hash": None, "preview": what, "content_id": self.content_id,
            "watermark_keyed": False if self.marks is not None else None,
        }  # fmt: skip
        try:
            sign(path, self._identity, claims, package_version("physics-scenes"))
        except Exception as error:  # the SDK's errors: the file stays, unsigned
            return f"{path.name}: not signed: {error}"
        return note
