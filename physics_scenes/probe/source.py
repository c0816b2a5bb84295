"""Frames in, one at a time: video files through OpenCV, or a folder of PNG frames.

Streaming keeps memory flat in the clip's length: nothing holds more than one frame,
except the background model's few samples. Problems are values (``ProbeError``) with a
message a person can act on, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""A BGR frame, OpenCV's order."""

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".gif", ".mkv", ".avi", ".m4v")
IMAGE_EXTENSIONS = (".png",)


class ProbeError(Exception):
    """A clip the probe cannot measure; ``code`` is the command's exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """What is known about a clip before its frames are read."""

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    """From the container (may be an estimate for some formats) or the folder."""


def _png_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)


def open_clip(path: Path, fps: float | None = None) -> ClipInfo:
    """Check that ``path`` is a readable clip of at least two frames.

    >>> open_clip(Path("no/such.mp4"))
    Traceback (most recent call last):
    ...
    physics_scenes.probe.source.ProbeError: no/such.mp4: no such file or folder
    """
    if not path.exists():
        raise ProbeError(f"{path}: no such file or folder")
    if path.is_dir():
        files = _png_files(path)
        if not files:
            raise ProbeError(f"{path}: the folder holds no PNG frames")
        first = cv2.imread(str(files[0]), cv2.IMREAD_COLOR)
        if first is None:
            raise ProbeError(f"{files[0]}: not a readable PNG image")
        count = len(files)
        rate = fps or 30.0
        height, width = first.shape[:2]
    else:
        capture = cv2.VideoCapture(str(path))
        try:
            ok, first = capture.read() if capture.isOpened() else (False, None)
            if not ok or first is None:
                raise ProbeError(
                    f"{path}: not a video OpenCV can read (expected MP4, MOV, WebM, GIF "
                    "or a folder of PNG frames)"
                )
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            rate = fps or float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
            height, width = first.shape[:2]
        finally:
            capture.release()
    if not (rate > 0 and np.isfinite(rate)):
        raise ProbeError(f"{path}: the frame rate {rate} is not usable; give --fps")
    return ClipInfo(path, width, height, rate, max(count, 1))


def frames(info: ClipInfo) -> Iterator[Image]:
    """Every frame of the clip as BGR uint8, streamed."""
    if info.path.is_dir():
        for file in _png_files(info.path):
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                raise ProbeError(f"{file}: not a readable PNG image")
            if image.shape[:2] != (info.height, info.width):
                raise ProbeError(
                    f"{file}: {image.shape[1]}x{image.shape[0]} pixels, but the first frame "
                    f"is {info.width}x{info.height}"
                )
            yield np.asarray(image, dtype=np.uint8)
        return
    capture = cv2.VideoCapture(str(info.path))
    try:
        while True:
            ok, image = capture.read()
            if not ok or image is None:
                return
            yield np.asarray(image, dtype=np.uint8)
    finally:
        capture.release()


def sample(info: ClipInfo, count: int, within: int) -> list[Image]:
    """About ``count`` frames spread evenly over the first ``within`` (for the
    background model): a short extra read, not a second pass over a long clip."""
    step = max(1, min(within, info.frame_count) // count)
    picked: list[Image] = []
    for index, image in enumerate(frames(info)):
        if index >= within or len(picked) >= count:
            break
        if index % step == 0:
            picked.append(image)
    return picked
