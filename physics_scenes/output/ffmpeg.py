"""The one caller of the encoder: raw frames piped to the ffmpeg that imageio-ffmpeg ships.

No numpy copy per frame: the renderer's raw rows go straight into ffmpeg's stdin.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import imageio_ffmpeg
import numpy as np

from ..frame import Frame
from ..picture.view import Pixels
from .atomic import AtomicPath, deepen_pipe, held_signals, stem_key
from .sink import ExportError, StreamInfo


def ffmpeg_path(path: Path) -> str:
    """``path`` as ffmpeg must be given it: ``file:`` and absolute, so that no name is
    taken for a protocol (a folder called ``http:`` or ``file:x``) or an option (``-y``)."""
    return "file:" + os.path.abspath(path)


def _run_alone() -> dict[str, Any]:
    """Popen arguments that keep the terminal's Ctrl-C from reaching the encoder: the
    command decides when to stop it (and then discards its output)."""
    return {"process_group": 0} if os.name == "posix" else {}


def encoder_versions() -> dict[str, str]:
    """The encoder's version, for metadata: the encoded bytes depend on it."""
    return {"ffmpeg": _ffmpeg_version()}


@functools.cache
def _ffmpeg_version() -> str:
    """Asked once a process: each ask runs ``ffmpeg -version`` (55 ms, measured), which a
    batch of short clips would pay per clip."""
    version: str = imageio_ffmpeg.get_ffmpeg_version()
    return version


PIPE_BYTES = 1 << 20
"""The encoder's input pipe: five 256x256 frames. Linux's default 64 KiB holds a third of
one, so the render waited on every frame while the encoder started; with room for a
few it can draw on meanwhile (part of the batch's gain in benchmarks/README.md, not
measured on its own)."""


class FFmpegSink:
    """Pipes raw frames to the ffmpeg that imageio-ffmpeg ships; no numpy copy per frame."""

    needs_pixels = True
    tags: tuple[tuple[str, str], ...] = ()
    """Container tags a player shows (title, comment, encoder), set before ``open``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._out: AtomicPath | None = None

    def _codec_args(self, info: StreamInfo) -> list[str]:
        raise NotImplementedError

    def open(self, info: StreamInfo) -> None:
        if info.width % 2 or info.height % 2:
            raise ExportError(
                f"{self.path}: width and height must be even, got {info.width}x{info.height}"
            )
        self._out = AtomicPath(self.path, group=info.outputs)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in commit/discard)
        self._info = info

    def _start(self, pix_fmt: str) -> subprocess.Popen[bytes]:
        info, out = self._info, self._out
        assert out is not None
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{info.width}x{info.height}",
            "-framerate", str(info.fps), "-i", "-",
            *self._codec_args(info),
            "-fflags", "+bitexact", "-map_metadata", "-1",
            *tag_args(self.tags), ffmpeg_path(out.temp),
        ]  # fmt: skip
        with held_signals():  # no interrupt between starting the encoder and keeping its handle
            proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stderr=self._stderr, **_run_alone()
            )
        assert proc.stdin is not None
        deepen_pipe(proc.stdin.fileno(), PIPE_BYTES)
        return proc

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        assert pixels is not None
        if self._proc is None:
            self._proc = self._start(pixels.pix_fmt)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(pixels.data)
        except BrokenPipeError:
            self._proc.wait()
            raise ExportError(f"{self.path}: the encoder stopped: {self._error_text()}") from None

    def _error_text(self) -> str:
        assert self._stderr is not None
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        return text.splitlines()[-1] if text else "no message"

    def finish(self) -> None:
        if self._proc is None:
            raise ExportError(f"{self.path}: no frames to encode")
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise ExportError(f"{self.path}: the encoder failed: {self._error_text()}")

    def commit(self) -> None:
        assert self._out is not None
        self._out.commit()
        self._close_stderr()

    def discard(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            if self._proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
        if self._out is not None:
            self._out.discard()
        self._close_stderr()

    def _close_stderr(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


AAC_BITRATE = "192k"


def _aac_args() -> list[str]:
    return ["-c:a", "aac", "-b:a", AAC_BITRATE, "-flags:a", "+bitexact"]


def aac_true_peak(wav: Path) -> float:
    """True peak (dBTP) of ``wav`` once encoded as ``mux_audio`` encodes it, and decoded.

    The encoder's ADTS stream is piped straight into a decoder, whose samples are
    measured as they come (``audio.dsp.TruePeakMeter``): nothing is written, memory
    stays flat. The priming the MP4 trims shifts the samples, not their peak.
    """
    from ..audio.dsp import BLOCK, RATE, TruePeakMeter  # here: video alone needs no scipy

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    quiet = [exe, "-hide_banner", "-loglevel", "error", "-nostdin"]
    encode = [
        *quiet,
        "-i",
        ffmpeg_path(wav),
        *_aac_args(),
        "-fflags",
        "+bitexact",
        "-f",
        "adts",
        "-",
    ]
    decode = [*quiet, "-f", "aac", "-i", "-", "-f", "f32le", "-ac", "2", "-ar", str(RATE), "-"]
    meter = TruePeakMeter()
    frame = 8
    with tempfile.TemporaryFile() as errors:
        encoder = subprocess.Popen(
            encode, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=errors,
            **_run_alone(),
        )  # fmt: skip
        assert encoder.stdout is not None
        try:
            decoder = subprocess.Popen(
                decode, stdin=encoder.stdout, stdout=subprocess.PIPE, stderr=errors,
                **_run_alone(),
            )  # fmt: skip
            encoder.stdout.close()
            assert decoder.stdout is not None
            with decoder.stdout:
                # a buffered read returns all it asks for, short only at the end
                while data := decoder.stdout.read(BLOCK * frame):
                    usable = len(data) - len(data) % frame
                    meter.add(np.frombuffer(data[:usable], dtype="<f4").reshape(-1, 2))
            failed = decoder.wait() != 0
        finally:
            if encoder.poll() is None:
                encoder.kill()
            failed_encoder = encoder.wait() != 0
        if failed or failed_encoder:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            raise ExportError(f"{wav}: measuring the encoded sound failed: {lines[-1:] or ''}")
    return meter.value()


def _decoded_sound(
    path: Path, seconds: float, sample_format: str, channels: int, rate: int, frame_bytes: int
) -> bytes:
    """The first ``seconds`` of a sound file's first audio stream as raw samples (whole
    frames of ``frame_bytes``); ``ExportError`` if it does not decode to any sound."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-i", ffmpeg_path(path), "-map", "0:a:0", "-t", f"{max(seconds, 0.001):.6f}",
        "-f", sample_format, "-ac", str(channels), "-ar", str(rate), "-",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, **_run_alone())
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise ExportError(f"{path}: cannot decode the sound: {lines[-1] if lines else ''}")
    out: bytes = result.stdout
    if len(out) < frame_bytes:
        raise ExportError(f"{path}: the file holds no sound")
    return out[: len(out) - len(out) % frame_bytes]


def decode_audio(path: Path, seconds: float) -> np.ndarray:
    """The first ``seconds`` of a WAV, FLAC or MP3 file as (n, 2) float32 at 48 kHz
    (mono doubled, more channels mixed down by ffmpeg); ``ExportError`` if it cannot."""
    data = _decoded_sound(path, seconds, "f32le", 2, SOUND_RATE, 8)
    return np.frombuffer(data, dtype="<f4").reshape(-1, 2)


def decode_frames(path: Path, width: int, height: int) -> np.ndarray:
    """Every frame of one of our MP4s as (n, height, width, 3) uint8 sRGB, converted back
    with the BT.709 limited-range matrix it was encoded with (ffmpeg's bit-exact
    decoder: the same arrays on every run); ``ExportError`` if it cannot."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-i", ffmpeg_path(path), "-map", "0:v:0",
        "-vf", "scale=in_color_matrix=bt709:in_range=tv:out_range=pc"
               ":flags=accurate_rnd+full_chroma_int+bitexact",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, **_run_alone())
    frame = width * height * 3
    if result.returncode != 0 or len(result.stdout) % frame:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise ExportError(f"{path}: cannot decode the video: {lines[-1] if lines else ''}")
    return np.frombuffer(result.stdout, dtype=np.uint8).reshape(-1, height, width, 3)


def tag_args(tags: Sequence[tuple[str, str]]) -> list[str]:
    """ffmpeg's ``-metadata key=value`` for each container tag."""
    return [part for key, value in tags for part in ("-metadata", f"{key}={value}")]


def mux_audio(video: Path, wav: Path, tags: Sequence[tuple[str, str]] = ()) -> None:
    """Replace ``video`` (an MP4 without sound) by the same picture plus ``wav`` as AAC.

    The picture is copied, not re-encoded; bit-exact flags keep the bytes the same run
    after run. The MP4 edit list trims the AAC encoder's priming, so the sound starts
    with the picture. The video's container tags are kept, and ``tags`` (the sink's) set
    again: a remux reads ``encoding_tool`` back as ``encoder``, which bit-exact drops.
    """
    muxed = video.with_name(f".mux-{stem_key(video.name)}")
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-i", ffmpeg_path(video), "-i", ffmpeg_path(wav), "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "copy", *_aac_args(),
        "-fflags", "+bitexact", "-map_metadata", "0", *tag_args(tags),
        "-movflags", "+faststart", "-f", "mp4", ffmpeg_path(muxed),
    ]  # fmt: skip
    _remux(command, muxed, video, "the sound")


def _remux(command: list[str], muxed: Path, video: Path, what: str) -> None:
    """Run an ffmpeg ``command`` that writes ``muxed``, then put it in place of ``video``;
    on failure nothing is replaced and ``muxed`` is removed."""
    try:
        result = subprocess.run(
            command, capture_output=True, stdin=subprocess.DEVNULL, **_run_alone()
        )
        if result.returncode != 0:
            lines = result.stderr.decode(errors="replace").strip().splitlines()
            raise ExportError(f"{video}: adding {what} failed: {lines[-1] if lines else ''}")
        muxed.replace(video)
    finally:
        muxed.unlink(missing_ok=True)


def mux_subtitles(
    video: Path, srt: Path, language: str = "und", tags: Sequence[tuple[str, str]] = ()
) -> None:
    """Add ``srt`` to ``video`` (an MP4) as a ``mov_text`` subtitle track players can switch.

    Picture and sound are copied, not re-encoded; bit-exact flags as in ``mux_audio``, and
    the file's tags (title, the "synthetic" comment) kept.
    """
    muxed = video.with_name(f".subs-{stem_key(video.name)}")
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-i", ffmpeg_path(video), "-f", "srt", "-i", ffmpeg_path(srt), "-map", "0", "-map", "1:s:0",
        "-c", "copy", "-c:s", "mov_text", "-metadata:s:s:0", f"language={language}",
        "-fflags", "+bitexact", "-flags", "+bitexact", "-map_metadata", "0", *tag_args(tags),
        "-movflags", "+faststart", "-f", "mp4", ffmpeg_path(muxed),
    ]  # fmt: skip
    _remux(command, muxed, video, "the subtitles")


SOUND_RATE = 48_000
"""``audio.dsp.RATE``, written here so that loading this module (every video) does not
load the audio stack and its ``scipy.signal`` (0.5-1 s of CPU)."""
PRINT_RATE = 11_025
"""Chromaprint's own working rate: decoding straight to it keeps a long file small."""


def chromaprint(path: Path, seconds: float, at_least: float) -> tuple[np.ndarray, float]:
    """The Chromaprint fingerprint (one uint32 per 0.124 s, the code AcoustID uses) of the
    first ``seconds`` of a sound file, by this ffmpeg's ``chromaprint`` muxer.

    A sound shorter than ``at_least`` seconds is looped to that length first: Chromaprint
    needs a few seconds of signal before it emits a code, and a sample is often a fraction
    of a second. Returns the codes and the seconds decoded (before looping);
    ``ExportError`` if the file does not decode to any sound.
    """
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    pcm = np.frombuffer(_decoded_sound(path, seconds, "s16le", 1, PRINT_RATE, 2), dtype="<i2")
    decoded = len(pcm) / PRINT_RATE
    wanted = int(at_least * PRINT_RATE)
    if len(pcm) < wanted:
        pcm = np.tile(pcm, -(-wanted // len(pcm)))
    encode = [
        exe, "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "s16le", "-ac", "1", "-ar", str(PRINT_RATE), "-i", "-",
        "-f", "chromaprint", "-fp_format", "raw", "-",
    ]  # fmt: skip
    printed = subprocess.run(encode, input=pcm.tobytes(), capture_output=True, **_run_alone())
    if printed.returncode != 0:
        lines = printed.stderr.decode(errors="replace").strip().splitlines()
        raise ExportError(f"{path}: fingerprinting failed: {lines[-1] if lines else ''}")
    data = printed.stdout[: len(printed.stdout) // 4 * 4]
    return np.frombuffer(data, dtype="<u4").copy(), decoded
