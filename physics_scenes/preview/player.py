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
>>> player.close()
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import tempfile
import threading
import wave
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..frame import Frame
from ..job.clip import Clip, ClipFrame
from ..job.worker import pack_clip, unpack_clip
from ..output.sink import StreamInfo
from ..picture.view import Pixels, Trail
from ..scene.files import Root
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

    def __init__(self, scene: Scene, clip: Clip, source_dir: Root | None) -> None:
        # the sound's modules (scipy) only where a track is made: they take seconds to load
        from ..job.pipeline import audio_sink_for

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
            self.cleanup()

    def cleanup(self) -> None:
        """Delete the temporary folder and what is in it."""
        self._sink.discard()
        self._folder.cleanup()


class Player:
    """A clip's frames by index (video frames), painted as the export paints them.

    Subclasses say where frames come from: this process (``LocalPlayer``) or a worker
    process (``RemotePlayer``); both keep every frame they were given.
    """

    def __init__(self, scene: Scene, width: int, height: int, source_dir: Root | None) -> None:
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
        self, scene: Scene, width: int, height: int, source_dir: Root | None = None
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
            self._maker.cleanup()
            self._maker = None


SOUND_MODULE = "physics_scenes.job.pipeline"


def _play(scene: Scene, width: int, height: int, source_dir: Root | None, conn: Connection) -> None:
    """The clip worker: every frame of the export's Clip in order, then its sound track
    (it runs to the end at once: the track needs every frame).

    The sound's modules load in a thread meanwhile (seconds on a busy machine): the first
    frames do not wait for them, and are kept for the track until they are there."""
    loader = threading.Thread(target=importlib.import_module, args=(SOUND_MODULE,), daemon=True)
    loader.start()
    makers: list[TrackMaker] = []

    def stop(*_: object) -> None:  # the window closing while the track is mixed
        for made in makers:
            made.cleanup()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        clip = Clip(scene, width, height, source_dir)
        maker: TrackMaker | None = None
        waiting: list[Frame] = []
        for item in clip.frames():
            conn.send(("frame", pack_clip(item), round(item.frame.time / scene.timing.dt)))
            waiting.append(item.frame)
            if maker is None and not loader.is_alive():
                maker = TrackMaker(scene, clip, source_dir)
                makers.append(maker)
            if maker is not None:
                for frame in waiting:
                    maker.add(frame)
                waiting.clear()
        loader.join()
        if maker is None:
            maker = TrackMaker(scene, clip, source_dir)
            makers.append(maker)
        for frame in waiting:
            maker.add(frame)
        conn.send(("track", maker.finish(), 0))
    except (BrokenPipeError, EOFError, OSError):
        return  # the window went away
    except Exception as error:  # a blow-up, a bad file: the window shows it
        with contextlib.suppress(BrokenPipeError, OSError):
            conn.send(("failed", f"{type(error).__name__}: {error}", 0))
    finally:
        conn.close()


class RemotePlayer(Player):
    """The clip computed in a worker process as fast as it goes; the window keeps every
    frame it is sent (about 50 kB a frame with 1000 bodies) and the track at the end."""

    def __init__(
        self, scene: Scene, width: int, height: int, source_dir: Root | None = None
    ) -> None:
        super().__init__(scene, width, height, source_dir)
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_play, args=(scene, width, height, source_dir, theirs), daemon=True
        )
        self._process.start()
        theirs.close()
        self._done = False

    def poll(self) -> None:
        """Take what the worker has sent (each tick: a full pipe would stop the worker)."""
        self._drain()

    def _drain(self, block: bool = False) -> None:
        """Every message waiting; with ``block``, wait for one first."""
        while not self._done and (block or self._conn.poll(0)):
            block = False
            try:
                kind, payload, steps = self._conn.recv()
            except (EOFError, OSError):
                self._done = True
                self.error = self.error or "the clip's process stopped"
                return
            if kind == "frame":
                item = unpack_clip(payload)
                self.frames[item.frame.index] = item
                self.steps = steps
            elif kind == "track":
                self.track, self.track_done, self._done = payload, True, True
            else:
                self.error, self._done = payload, True

    def ready(self, index: int) -> bool:
        self._drain()
        return self.clamp(index) in self.frames or self._done

    def frame(self, index: int) -> ClipFrame:
        index = self.clamp(index)
        self._drain()
        while index not in self.frames:
            if self._done:  # failed before this frame: show the last one made
                if not self.frames:
                    raise RuntimeError(self.error or "the clip's process stopped")
                return self.frames[self.frontier]
            self._drain(block=True)
        return self.frames[index]

    def close(self) -> None:
        """Stop the worker: a closed pipe ends it between frames; while it mixes the
        track, SIGTERM (it deletes its temporary files), and SIGKILL as a last resort."""
        self._conn.close()
        self._process.join(timeout=0.5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
