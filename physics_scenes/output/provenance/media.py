"""Reading any copy of an output back for the detectors: frames and sound through ffmpeg.

A copy may be re-encoded, resized, cropped, converted to GIF or stripped of its sound;
whatever ffmpeg can decode is read. At most ``MAX_FRAMES`` frames, evenly spread, so
that checking a long video stays quick.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import numpy.typing as npt

from ..ffmpeg import ffmpeg_path

MAX_FRAMES = 240
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
AUDIO_SUFFIXES = (".wav", ".m4a", ".aac", ".mp3", ".flac", ".ogg", ".opus")

RGB = npt.NDArray[np.uint8]


def frames_of(path: Path, limit: int = MAX_FRAMES) -> Iterator[RGB]:
    """RGB frames of a video, GIF, image or folder of PNG frames (at most ``limit``)."""
    if path.is_dir():
        names = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png")
        step = max(1, -(-len(names) // limit))
        for name in names[::step]:
            yield np.asarray(iio.imread(name))[..., :3]
        return
    if path.suffix.lower() in AUDIO_SUFFIXES:
        return
    if path.suffix.lower() in IMAGE_SUFFIXES:
        yield np.asarray(iio.imread(path))[..., :3]
        return
    header = _header(path)
    if header is None:
        return
    width, height, count = header
    step = max(1, -(-count // limit))
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-i", ffmpeg_path(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    size = width * height * 3
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        try:
            index = 0
            while len(raw := proc.stdout.read(size)) == size:
                if index % step == 0:
                    yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
                index += 1
        finally:
            proc.kill()


_STREAM = re.compile(r"Video: .*?, (\d{2,5})x(\d{2,5})")
_DURATION = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")
_FPS = re.compile(r"([\d.]+) (?:fps|tbr)")


def _header(path: Path) -> tuple[int, int, int] | None:
    """(width, height, about how many frames) of the first video stream, or None."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_path(path)]
    text = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL).stderr.decode(
        errors="replace"
    )
    stream = _STREAM.search(text)
    if stream is None:
        return None
    duration, fps = _DURATION.search(text), _FPS.search(text)
    seconds = (
        int(duration[1]) * 3600 + int(duration[2]) * 60 + float(duration[3]) if duration else 0
    )
    count = int(seconds * float(fps[1])) if fps else 0
    return int(stream[1]), int(stream[2]), count or MAX_FRAMES


def sound_of(path: Path) -> npt.NDArray[np.float32] | None:
    """The sound as (samples, 2) floats at 48 kHz, or None when the file has none."""
    if path.is_dir() or path.suffix.lower() in (*IMAGE_SUFFIXES, ".gif"):
        return None
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-i", ffmpeg_path(path), "-vn", "-map", "0:a:0?", "-ac", "2", "-ar", "48000",
        "-f", "f32le", "-",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0 or not result.stdout:
        return None
    return np.frombuffer(result.stdout, np.float32).reshape(-1, 2)
