"""Helpers the tests import (``from helpers import ...``); fixtures and hooks stay in conftest."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENES = ROOT / "scenes"


@dataclass(frozen=True)
class DecodedVideo:
    frames: np.ndarray  # (n, height, width, 3) uint8 RGB
    fps: float
    codec: str
    pix_fmt: str

    @property
    def size(self) -> tuple[int, int]:
        return self.frames.shape[2], self.frames.shape[1]


@dataclass(frozen=True)
class VideoHeader:
    codec: str
    pix_fmt: str
    size: tuple[int, int]
    fps: float
    frame_count: int


def _stream(path: Path) -> tuple[str, str, int, int, float]:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    stream = re.search(
        r"Video: (\w+).*?, (\w+)(?:\(.*?\))?, (\d+)x(\d+).*?, ([\d.]+) (?:fps|tbr)", probe.stderr
    )
    assert stream, probe.stderr
    codec, pix_fmt, width, height, fps = stream.groups()
    return codec, pix_fmt, int(width), int(height), float(fps)


def probe_video(path: Path) -> VideoHeader:
    """The stream header of a video and how many frames it really holds (every frame is
    decoded by ffmpeg, but none is sent back: cheaper than ``decode_video`` for counting)."""
    codec, pix_fmt, width, height, fps = _stream(path)
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    done = subprocess.run(
        [exe, "-hide_banner", "-nostats", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    counts = re.findall(r"frame=\s*(\d+)", done.stderr)
    assert counts, done.stderr
    return VideoHeader(codec, pix_fmt, (width, height), fps, int(counts[-1]))


def decode_video(path: Path) -> DecodedVideo:
    """Decode a video with the ffmpeg that imageio-ffmpeg ships, and read its stream header.

    (imageio_ffmpeg.read_frames leaves its pipes open, which the warnings-as-errors
    setting turns into failures; this runs ffmpeg to completion instead.)
    """
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    codec, pix_fmt, width, height, fps = _stream(path)
    raw = subprocess.run(
        [exe, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)
    return DecodedVideo(frames, fps, codec, pix_fmt)


def decoded_sound(path: Path) -> np.ndarray:
    """The sound track of a media file decoded by ffmpeg: (n, 2) float64 at 48 kHz."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    raw = subprocess.run(
        [exe, "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-ac", "2",
         "-ar", "48000", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2).astype(np.float64)


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated loudness LUFS, true peak dBTP) of a file's sound, by ffmpeg's own
    ``ebur128`` filter with ``peak=true``: a meter independent of ours."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    text = subprocess.run(
        [exe, "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = text[text.rfind("Summary:") :]
    loudness = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert loudness is not None and peak is not None, summary
    return float(loudness.group(1)), float(peak.group(1))
