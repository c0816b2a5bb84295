"""Video sinks: H.264 MP4 (with the sound muxed in) and animated GIF."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Protocol

from ..picture.view import flat_colors
from .ffmpeg import FFmpegSink, mux_audio, mux_subtitles
from .sink import QUALITY, X264_THREADS, StreamInfo, gif_delay


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
            mux_audio(self._out.temp, self.audio.wav, self.tags)
        if self.subtitles is not None and self.subtitles.written is not None:
            assert self._out is not None
            mux_subtitles(self._out.temp, self.subtitles.written, tags=self.tags)

    def _codec_args(self, info: StreamInfo) -> list[str]:
        quality = QUALITY[info.quality]
        return [
            "-an", "-vf", BT709, "-c:v", "libx264", "-preset", quality.preset,
            "-crf", str(quality.crf), "-pix_fmt", "yuv420p",
            "-threads", str(X264_THREADS),
            "-flags:v", "+bitexact", "-movflags", "+faststart", "-f", "mp4",
        ]  # fmt: skip


BT709 = (
    "scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd+full_chroma_int+bitexact,"
    "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"
)
"""RGB → Y'CbCr with the BT.709 matrix in limited (TV) range, what HD players assume, and
tagged so in the stream (H.264 VUI) and the MP4 (colr atom): primaries, transfer, matrix,
range. The pictures are drawn in sRGB, whose primaries are BT.709's. Without it ffmpeg
converts with BT.601 and leaves the stream untagged, and a player that assumes BT.709
shows the rubber ball's [228, 87, 46] as [241, 98, 42]. (``-color_primaries`` and the
like on the command line are overridden by the filtered frames' own, unknown, values.)"""


class GifSink(FFmpegSink):
    """An animated GIF with even frame delays and one palette made for the clip.

    ffmpeg's palettegen picks up to 240 colours from every frame; the scene's flat
    colours (background, fills, rims, joints: ``picture.view.flat_colors``) take 16
    more entries exactly, so they stay exact. Error diffusion (sierra2_4a) spreads
    the rounding of edges and gradients without touching a colour the palette holds,
    so flat areas stay flat; ``diff_mode=rectangle`` re-dithers only what changed, so
    still parts do not crawl. Frames are taken at ``gif_delay`` hundredths of a second.
    """

    def _codec_args(self, info: StreamInfo) -> list[str]:
        colors = flat_colors(info.layout)[:RESERVED]
        colors += [colors[0]] * (RESERVED - len(colors))  # repeats change nothing
        raw = base64.b64encode(bytes(v for color in colors for v in color)).decode()
        graph = (
            f"[0:v]fps=100/{gif_delay(info.fps)},split[a][b];"
            f"[a]palettegen=max_colors={256 - RESERVED}:reserve_transparent=0:stats_mode=full,"
            f"format=bgra,crop=16:{16 - RESERVED // 16}:0:0[made];[1:v]format=bgra[flat];"
            "[made][flat]vstack[palette];"
            "[b][palette]paletteuse=dither=sierra2_4a:diff_mode=rectangle"
        )
        return [
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"16x{RESERVED // 16}",
            "-i", f"data:application/octet-stream;base64,{raw}",
            "-an", "-filter_complex", graph, "-loop", "0", "-f", "gif",
        ]  # fmt: skip


RESERVED = 16
"""Palette entries kept for the scene's flat colours (a row of the 16x16 palette)."""
