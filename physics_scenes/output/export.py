"""Sinks: where Frames and their pixels go (MP4, GIF, PNG folder, states, metadata).

Every sink streams (memory does not grow with the video's length) and is
atomic (see ``atomic.py``). A sink is opened with a ``StreamInfo``, gets
``write()`` once per frame, then ``finish()`` (everything written, still at
the temporary name), then ``commit()`` or ``discard()``: the pipeline
commits all sinks only after every one of them has finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import imageio.v3 as iio
import imageio_ffmpeg
import orjson

from ..frame import Frame, Layout
from ..picture.view import Pixels
from .atomic import AtomicPath


class ExportError(Exception):
    """An output could not be written (encoder failure, disk full, permissions)."""


@dataclass(frozen=True, slots=True)
class Quality:
    """x264 settings behind a quality name."""

    preset: str
    crf: int
    description: str


QUALITY: dict[str, Quality] = {
    "draft": Quality("ultrafast", 26, "fastest, larger files, visible artefacts on gradients"),
    "standard": Quality("veryfast", 18, "clean picture, quick to encode (default)"),
    "high": Quality("slow", 14, "near-lossless, slow to encode"),
}
DEFAULT_QUALITY = "standard"
X264_THREADS = 4
"""Fixed so the encoded bytes do not depend on the machine's core count."""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What every sink knows before the first frame."""

    layout: Layout
    width: int
    height: int
    fps: int
    frame_count: int
    dt: float
    quality: str = DEFAULT_QUALITY


class Sink(Protocol):
    """One output. ``needs_pixels`` says whether ``write`` needs the rendered picture."""

    needs_pixels: bool
    path: Path

    def open(self, info: StreamInfo) -> None: ...
    def write(self, frame: Frame, pixels: Pixels | None) -> None: ...
    def finish(self) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...


def encoder_versions() -> dict[str, str]:
    """The encoder's version, for metadata: the encoded bytes depend on it."""
    return {"ffmpeg": imageio_ffmpeg.get_ffmpeg_version()}


class _FFmpegSink:
    """Pipes raw frames to the ffmpeg that imageio-ffmpeg ships; no numpy copy per frame."""

    needs_pixels = True

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
        self._out = AtomicPath(self.path)
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
            "-fflags", "+bitexact", "-map_metadata", "-1", str(out.temp),
        ]  # fmt: skip
        return subprocess.Popen(command, stdin=subprocess.PIPE, stderr=self._stderr)

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


class AudioSource(Protocol):
    """Anything that has a finished WAV file once it has finished (``audio.AudioSink``)."""

    wav: Path | None


AAC_BITRATE = "192k"


def mux_audio(video: Path, wav: Path) -> None:
    """Replace ``video`` (an MP4 without sound) by the same picture plus ``wav`` as AAC.

    The picture is copied, not re-encoded; bit-exact flags keep the bytes the same run
    after run. The MP4 edit list trims the AAC encoder's priming, so the sound starts
    with the picture.
    """
    muxed = video.with_name(video.name + ".mux")
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-i", str(video), "-i", str(wav), "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "copy", "-c:a", "aac", "-b:a", AAC_BITRATE, "-flags:a", "+bitexact",
        "-fflags", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart",
        "-f", "mp4", str(muxed),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            lines = result.stderr.decode(errors="replace").strip().splitlines()
            raise ExportError(f"{video}: adding the sound failed: {lines[-1] if lines else ''}")
        muxed.replace(video)
    finally:
        muxed.unlink(missing_ok=True)


class Mp4Sink(_FFmpegSink):
    """H.264 in MP4, yuv420p: plays in browsers, phones and editors.

    With ``audio`` set (and finished before this sink), the sound goes in as AAC.
    """

    audio: AudioSource | None = None

    def finish(self) -> None:
        super().finish()
        if self.audio is not None and self.audio.wav is not None:
            assert self._out is not None
            mux_audio(self._out.temp, self.audio.wav)

    def _codec_args(self, info: StreamInfo) -> list[str]:
        quality = QUALITY[info.quality]
        return [
            "-an", "-c:v", "libx264", "-preset", quality.preset, "-crf", str(quality.crf),
            "-pix_fmt", "yuv420p", "-threads", str(X264_THREADS),
            "-flags:v", "+bitexact", "-movflags", "+faststart", "-f", "mp4",
        ]  # fmt: skip


GIF_MAX_FPS = 30
"""Browsers slow down GIFs with frame delays under 2/100 s, so faster GIFs drop frames."""


class GifSink(_FFmpegSink):
    """An animated GIF with one palette for the whole clip (ffmpeg palettegen/paletteuse)."""

    def _codec_args(self, info: StreamInfo) -> list[str]:
        rate = f"fps={GIF_MAX_FPS}," if info.fps > GIF_MAX_FPS else ""
        graph = f"{rate}split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=bayer"
        return ["-an", "-filter_complex", graph, "-loop", "0", "-f", "gif"]


class PngSequenceSink:
    """A folder of frame_000000.png … (lossless, for datasets and compositing)."""

    needs_pixels = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._out: AtomicPath | None = None

    def open(self, info: StreamInfo) -> None:
        self._out = AtomicPath(self.path, directory=True)
        self._digits = max(6, len(str(info.frame_count - 1)))

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        assert pixels is not None and self._out is not None
        target = self._out.temp / f"frame_{frame.index:0{self._digits}d}.png"
        iio.imwrite(target, pixels.rgb(), extension=".png")

    def finish(self) -> None:
        pass

    def commit(self) -> None:
        assert self._out is not None
        self._out.commit()

    def discard(self) -> None:
        if self._out is not None:
            self._out.discard()


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


def _geom_record(geom: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"type": geom.type}
    for key in geom.__slots__:
        if key != "type":
            value = getattr(geom, key)
            record[key] = [list(v) for v in value] if key == "vertices" else value
    return record


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
        self.digest = RunDigest()

    def open(self, info: StreamInfo) -> None:
        self._out = AtomicPath(self.path)
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
            self._file.close()
        if self._out is not None:
            self._out.discard()


@dataclass
class MetadataSink:
    """``metadata.json``: what made this output, so it can be reproduced and audited.

    Holds no wall-clock time or host name, so identical runs give identical files.
    """

    path: Path
    fields: dict[str, Any] = field(default_factory=dict)
    needs_pixels = False

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.digest = RunDigest()
        self._out: AtomicPath | None = None

    def open(self, info: StreamInfo) -> None:
        self._out = AtomicPath(self.path)

    def write(self, frame: Frame, pixels: Pixels | None) -> None:
        self.digest.add(frame)

    def finish(self) -> None:
        assert self._out is not None
        record = {
            **self.fields,
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


FORMATS: dict[str, tuple[str, str]] = {
    "mp4": (".mp4", "H.264 video (yuv420p) that plays everywhere"),
    "gif": (".gif", f"animated GIF (at most {GIF_MAX_FPS} fps)"),
    "png": ("", "a folder of PNG frames"),
    "states": (".jsonl", "only the states (JSON Lines), no pictures"),
}
"""Output formats: name → (file extension, help). Feeds the CLI's choices and help."""


def sink_for(path: str | Path, fmt: str) -> Sink:
    sinks: dict[str, type[Any]] = {
        "mp4": Mp4Sink, "gif": GifSink, "png": PngSequenceSink, "states": StatesSink,
    }  # fmt: skip
    return sinks[fmt](path)  # type: ignore[no-any-return]


def format_for_path(path: str | Path) -> str | None:
    """The format a target path implies by its extension; None when it has none."""
    suffix = Path(path).suffix.lower()
    for name, (extension, _) in FORMATS.items():
        if extension and suffix == extension:
            return name
    return "png" if suffix == "" else None
