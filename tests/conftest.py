"""Shared test set-up: headless pygame, and small helpers to build scenes from text."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENES = ROOT / "scenes"


@pytest.fixture
def write_scene(tmp_path: Path):
    """Write YAML text to a file in tmp_path and return its path."""

    def write(text: str, name: str = "scene.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@dataclass(frozen=True)
class DecodedVideo:
    frames: np.ndarray  # (n, height, width, 3) uint8 RGB
    fps: float
    codec: str
    pix_fmt: str

    @property
    def size(self) -> tuple[int, int]:
        return self.frames.shape[2], self.frames.shape[1]


def decode_video(path: Path) -> DecodedVideo:
    """Decode a video with the ffmpeg that imageio-ffmpeg ships, and read its stream header.

    (imageio_ffmpeg.read_frames leaves its pipes open, which the warnings-as-errors
    setting turns into failures; this runs ffmpeg to completion instead.)
    """
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    stream = re.search(
        r"Video: (\w+).*?, (\w+)(?:\(.*?\))?, (\d+)x(\d+).*?, ([\d.]+) (?:fps|tbr)", probe.stderr
    )
    assert stream, probe.stderr
    codec, pix_fmt, width, height, fps = stream.groups()
    raw = subprocess.run(
        [exe, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, int(height), int(width), 3)
    return DecodedVideo(frames, float(fps), codec, pix_fmt)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="record the current run hashes as the golden ones for this platform",
    )
