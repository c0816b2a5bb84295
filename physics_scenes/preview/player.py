"""The clip as ``render`` writes it, for the window: camera, video clock, looks and sound.

The frames come from the exporter's own ``job.clip.Clip`` (its sampler, camera rig and
timeline), in order, and are kept, so scrubbing and stepping back show exactly the
frames computed; the pictures are painted by the same Clip's renderer, trails and
finisher (``Clip.picture_of``), and the sound is the export's track, made by the
export's audio sink (``job.pipeline.audio_sink_for``) once the last frame is known
(loudness normalisation needs the whole track). No pygame here: the window shows what
this gives.

>>> import pathlib
>>> from physics_scenes.scene.loader import load_scene
>>> player = LocalPlayer(load_scene(pathlib.Path("scenes/bouncing_balls.yaml")), 64, 36)
>>> (player.frame_count, player.frame(10).frame.index, len(player.pixels(10).data))
(360, 10, 9216)
"""

from __future__ import annotations

import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..frame import Frame
from ..job.clip import Clip, ClipFrame
from ..job.pipeline import audio_sink_for
from ..output.sink import StreamInfo
from ..picture.view import Pixels, Trail
from ..scene.model import Scene

Track = npt.NDArray[np.float32]
"""The sound track: (samples, 2) float32 at 48 kHz, the WAV's 24-bit samples exactly."""


def read_track(path: Path) -> Track:
    """A 24-bit stereo WAV (as the audio sink writes it) as float32, exactly: every 24-bit
    value divided by 2**23 is a float32 without rounding."""
    with wave.open(str(path), "rb") as file:
        if (file.getnchannels(), file.getsampwidth()) != (2, 3):
            raise ValueError(f"{path}: expected 24-bit stereo")
        raw = file.readframes(file.getnframes())
    bytes3 = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
    padded = np.zeros((len(bytes3), 4), dtype=np.uint8)
    padded[:, 1:] = bytes3
    ints = padded.view("<i4").reshape(-1, 2) >> 8
    return (ints.astype(np.float32) / np.float32(2**23)).astype(np.float32)


def even_sized(pixels: Pixels) -> Pixels:
    """``pixels`` cropped to an even width and height (H.264's 4:2:0 needs them)."""
    if pixels.width % 2 == 0 and pixels.height % 2 == 0:
        return pixels
    raw = np.frombuffer(pixels.data, np.uint8).reshape(pixels.height, pixels.width, 4)
    cropped = np.ascontiguousarray(raw[: pixels.height // 2 * 2, : pixels.width // 2 * 2])
    return Pixels(cropped.shape[1], cropped.shape[0], cropped.tobytes(), pixels.pix_fmt)


class TrackMaker:
    """Feeds a clip's frames to the export's audio sink and gives its WAV's samples."""

    def __init__(self, scene: Scene, clip: Clip, source_dir: Path | None) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="physics-scenes-preview-")
        self.enabled = scene.audio.enabled
        self._sink = audio_sink_for(scene, Path(self._folder.name) / "track.wav", clip,
                                    source_dir)  # fmt: skip
        picture = clip.picture
        self._sink.open(StreamInfo(clip.layout, picture.width, picture.height, clip.fps,
                                   clip.frame_count, scene.timing.dt))  # fmt: skip

    def add(self, frame: Frame) -> None:
        if self.enabled:
            self._sink.write(frame, None)

    def finish(self) -> Track | None:
        """The finished track (None when the scene has its sound turned off)."""
        try:
            if not self.enabled:
                return None
            self._sink.finish()
            self._sink.commit()
            return read_track(self._sink.path)
        finally:
            self._sink.discard()
            self._folder.cleanup()


class Player:
    """A clip's frames by index (video frames), painted as the export paints them.

    Subclasses say where frames come from: this process (``LocalPlayer``) or a worker
    (``preview.worker.RemotePlayer``); both keep every frame they were given.
    """

    def __init__(self, scene: Scene, width: int, height: int, source_dir: Path | None) -> None:
        self.scene = scene
        self.clip = Clip(scene, width, height, source_dir)
        self.layout = self.clip.layout
        self.frames: dict[int, ClipFrame] = {}
        self.track: Track | None = None
        self.track_done = not scene.audio.enabled
        """Whether ``track`` is final (None then means: no sound)."""
        self.error: str | None = None
        self.steps = 0

    @property
    def fps(self) -> int:
        return self.clip.fps

    @property
    def frame_count(self) -> int:
        return self.clip.frame_count

    @property
    def size(self) -> tuple[int, int]:
        return self.clip.picture.width, self.clip.picture.height

    @property
    def frontier(self) -> int:
        """The latest frame computed so far (frames come in order, from 0)."""
        return max(0, len(self.frames) - 1)

    fork_at = None
    """Never forked: the clip is what ``render`` writes (the hand is in the inspection view)."""

    def clamp(self, index: int) -> int:
        return max(0, min(self.frame_count - 1, index))

    def ready(self, index: int) -> bool:
        return True

    def poll(self) -> None:
        """Take any frames computed elsewhere (called every tick)."""

    def want(self, index: int) -> None:
        """Nothing to ask for: a player computes the whole clip as fast as it can."""

    def frame(self, index: int) -> ClipFrame:
        raise NotImplementedError

    def trails(self, index: int) -> list[Trail]:
        """The trails of frame ``index``, from the frames before it (any order of visits)."""
        reach = self.clip.trail_frames
        if not reach:
            return []
        return self.clip.trails([self.frame(i) for i in range(max(0, index - reach), index + 1)])

    def pixels(self, index: int) -> Pixels:
        """Frame ``index`` exactly as ``render`` writes it."""
        return self.clip.picture_of(self.frame(index), self.trails(index))

    def close(self) -> None:
        """Stop any work for this player."""


class LocalPlayer(Player):
    """The clip computed in this process, on demand (tests; ``--no-worker``)."""

    def __init__(
        self, scene: Scene, width: int, height: int, source_dir: Path | None = None
    ) -> None:
        super().__init__(scene, width, height, source_dir)
        self._maker: TrackMaker | None = TrackMaker(scene, self.clip, source_dir)
        self._source: Iterator[ClipFrame] = self.clip.frames()

    def frame(self, index: int) -> ClipFrame:
        index = self.clamp(index)
        while index not in self.frames:
            item = next(self._source)
            self.frames[item.frame.index] = item
            self.steps = round(item.frame.time / self.scene.timing.dt)
            if self._maker is not None:
                self._maker.add(item.frame)
        return self.frames[index]

    def finish_track(self) -> Track | None:
        """Compute the rest of the clip and make its sound (the window does this when
        playback reaches the end; tests call it)."""
        self.frame(self.frame_count - 1)
        if self._maker is not None:
            self.track, self._maker = self._maker.finish(), None
            self.track_done = True
        return self.track

    def close(self) -> None:
        if self._maker is not None:
            self._maker._sink.discard()
            self._maker._folder.cleanup()
            self._maker = None
