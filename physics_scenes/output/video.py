"""Video sinks: H.264 MP4 (with the sound muxed in) and animated GIF."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .ffmpeg import FFmpegSink, mux_audio, mux_subtitles
from .sink import GIF_MAX_FPS, QUALITY, X264_THREADS, StreamInfo


class AudioSource(Protocol):
    """Anything that has a finished WAV file once it has finished (``audio.AudioSink``)."""

    wav: Path | None


class SubtitleSource(Protocol):
    """Anything that has a finished SRT file once it has finished (``subtitles.SubtitleSink``)."""

    written: Path | None


class Mp4Sink(FFmpegSink):
    """H.264 in MP4, yuv420p: plays in browsers, phones and editors.

    With ``audio`` set (and finished before this sink), the sound goes in as AAC; with
    ``subtitles`` (an SRT finished before this sink), a ``mov_text`` subtitle track.
    """

    def __init__(
        self,
        path: str | Path,
        audio: AudioSource | None = None,
        subtitles: SubtitleSource | None = None,
    ) -> None:
        super().__init__(path)
        self.audio = audio
        self.subtitles = subtitles

    def finish(self) -> None:
        super().finish()
        if self.audio is not None and self.audio.wav is not None:
            assert self._out is not None
            mux_audio(self._out.temp, self.audio.wav)
        if self.subtitles is not None and self.subtitles.written is not None:
            assert self._out is not None
            mux_subtitles(self._out.temp, self.subtitles.written)

    def _codec_args(self, info: StreamInfo) -> list[str]:
        quality = QUALITY[info.quality]
        return [
            "-an", "-c:v", "libx264", "-preset", quality.preset, "-crf", str(quality.crf),
            "-pix_fmt", "yuv420p", "-threads", str(X264_THREADS),
            "-flags:v", "+bitexact", "-movflags", "+faststart", "-f", "mp4",
        ]  # fmt: skip


class GifSink(FFmpegSink):
    """An animated GIF with one palette for the whole clip (ffmpeg palettegen/paletteuse)."""

    def _codec_args(self, info: StreamInfo) -> list[str]:
        rate = f"fps={GIF_MAX_FPS}," if info.fps > GIF_MAX_FPS else ""
        graph = f"{rate}split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=bayer"
        return ["-an", "-filter_complex", graph, "-loop", "0", "-f", "gif"]
