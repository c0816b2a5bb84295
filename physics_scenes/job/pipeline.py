"""The render job: simulate → render → every sink, committed together or not at all.

Every output is written into one staging folder and the set is committed with a journal
(``output.atomic``): an error, an interrupt or a kill at any moment leaves the complete
old outputs or the complete new ones, and no temporary file behind (a killed run's are
cleaned by the next run of the same target).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..frame import Frame
from ..output.atomic import OutputSet, name_too_long
from ..output.ffmpeg import encoder_versions
from ..output.metadata import MetadataSink
from ..output.png import PngSequenceSink
from ..output.sink import DEFAULT_QUALITY, ExportError, Sink, StreamInfo
from ..output.states import StatesSink
from ..output.video import AudioSource, GifSink, Mp4Sink
from ..physics.world import engine_versions
from ..scene.model import Scene
from .clip import Clip, ClipFrame
from .worker import clip_frames

if TYPE_CHECKING:  # loaded only when a job makes sound: it brings scipy.signal, ~0.5 s
    from ..output.sound import AudioSink

Progress = Callable[[int, int], None]
"""Called as progress(frames_done, frame_count) after each frame."""


class Interrupts(Protocol):
    """How the command's signal handling reaches the render (``cli._StopRequests``)."""

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop was requested."""

    def deferred(self) -> AbstractContextManager[None]:
        """Inside: a signal only requests a stop, which ``check()`` raises. pymunk's
        cffi callbacks swallow exceptions, so the frame loop must not be interrupted
        anywhere but between frames; outside it a signal interrupts at once."""


@dataclass(frozen=True, slots=True)
class RenderJob:
    """Everything that decides an output's bytes."""

    scene: Scene
    output: Path
    fmt: str
    width: int
    height: int
    quality: str = DEFAULT_QUALITY
    states: bool = True
    source: Path | None = None
    audio: str = "auto"
    """'auto': an MP4 gets a sound track; 'wav': also write <name>.wav; 'none': no sound."""
    parallel: bool | None = None
    """Simulate in a second process, overlapping drawing and encoding (same bytes either
    way). None: when measured to help (see ``job.worker.clip_frames``)."""
    overwrite: bool = False
    """Replace existing targets. Without it only the outputs of an earlier render (listed
    in its metadata.json) are replaced; a folder holding other files never is."""


@dataclass(frozen=True, slots=True)
class RenderResult:
    files: tuple[Path, ...]
    frames: int
    events: int
    run_hash: str


AUDIO_MODES = ("auto", "wav", "none")


def sibling(output: Path, ending: str) -> Path:
    """A file beside ``output`` with its stem: ``sibling(Path("out/clip.mp4"), ".wav")``
    is ``out/clip.wav``."""
    return output.with_name(output.stem + ending)


def audio_path(output: Path) -> Path:
    """``out/clip.mp4`` → ``out/clip.wav``."""
    return sibling(output, ".wav")


def _audio_sink(job: RenderJob, clip: Clip) -> AudioSink | None:
    """The job's audio sink, or None when nothing would use the sound.

    Sounds follow the video's clock: events carry simulation time, and the clip's
    timeline says when that moment is shown (slow motion stretches the gaps).
    """
    if job.audio not in AUDIO_MODES:
        raise ValueError(f"audio must be one of {AUDIO_MODES}, got {job.audio!r}")
    spec = job.scene.audio
    wanted = job.audio == "wav" or (job.audio == "auto" and job.fmt == "mp4")
    if not wanted or job.audio == "none" or not spec.enabled:
        return None
    source_dir = job.source.parent if job.source is not None else None
    return audio_sink_for(job.scene, audio_path(job.output), clip, source_dir,
                          keep=job.audio == "wav")  # fmt: skip


def audio_sink_for(
    scene: Scene, path: Path, clip: Clip, source_dir: Path | None, *, keep: bool = True
) -> AudioSink:
    """The sound of ``clip`` as ``render`` makes it, into the WAV ``path`` (the preview
    plays the same track): the scene's settings, materials and the clip's clock."""
    from ..output.sound import AudioSink

    materials = {name: (m.density, m.elasticity) for name, m in scene.materials.items()}
    return AudioSink(
        path, scene.audio, scene.seed,
        keep=keep, base_dir=source_dir if source_dir is not None else Path("."),
        materials=materials, time_map=clip.timeline.video_time,
    )  # fmt: skip


def sidecar_paths(output: Path) -> tuple[Path, Path]:
    """``out/clip.mp4`` → ``out/clip.states.jsonl``, ``out/clip.metadata.json``."""
    return sibling(output, ".states.jsonl"), sibling(output, ".metadata.json")


def scene_hash(scene: Scene) -> str:
    """SHA-256 of the validated scene in canonical JSON: equal for equivalent files."""
    canonical = json.dumps(scene.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def picture_area(clip: Clip | None, job: RenderJob) -> list[int]:
    """[x, y, width, height] of the picture inside any letterbox bars, in pixels."""
    if clip is None:
        return [0, 0, job.width, job.height]
    p = clip.picture
    return [(p.width - p.area_width) // 2, (p.height - p.area_height) // 2,
            p.area_width, p.area_height]  # fmt: skip


def describe_run(job: RenderJob, files: list[Path], clip: Clip | None = None) -> dict[str, Any]:
    """The metadata.json fields known before the first frame."""
    scene, timing = job.scene, job.scene.timing
    frame_count = clip.frame_count if clip is not None else timing.frame_count
    source = None
    if job.source is not None:
        source = {
            "file": job.source.name,
            "sha256": hashlib.sha256(job.source.read_bytes()).hexdigest(),
        }
    return {
        "format": "physics_scenes.metadata",
        "version": 1,
        "scene": {"name": scene.name, "source": source, "sha256": scene_hash(scene)},
        "seed": scene.seed,
        "timing": {"fps": timing.fps, "substeps": timing.substeps, "dt": timing.dt,
                   "frame_count": frame_count,
                   "duration": frame_count / timing.fps,
                   "sim_duration": timing.frame_count / timing.fps},
        "output": {"format": job.fmt, "width": job.width, "height": job.height,
                   "quality": job.quality, "files": [path.name for path in files],
                   "picture_area": picture_area(clip, job)},
        "versions": {
            "physics_scenes": _version("physics-scenes"),
            **engine_versions(),
            "pygame-ce": _version("pygame-ce"), "numpy": _version("numpy"),
            "pydantic": _version("pydantic"), "imageio-ffmpeg": _version("imageio-ffmpeg"),
            **encoder_versions(),
            "python": platform.python_version(),
        },
        "platform": {"system": platform.system(), "machine": platform.machine()},
    }  # fmt: skip


def _nothing() -> None:
    pass


def sink_for(
    path: Path,
    fmt: str,
    *,
    annotate: Callable[[Frame], dict[str, Any]] | None = None,
    audio: AudioSource | None = None,
) -> Sink:
    """The main output's sink for a format name (see ``output.sink.FORMATS``)."""
    if fmt == "mp4":
        return Mp4Sink(path, audio)
    if fmt == "gif":
        return GifSink(path)
    if fmt == "png":
        return PngSequenceSink(path)
    if fmt == "states":
        return StatesSink(path, annotate)
    raise ValueError(f"unknown format {fmt!r}")


def run(
    job: RenderJob, progress: Progress | None = None, interrupts: Interrupts | None = None
) -> RenderResult:
    """Render ``job``; on any error or interrupt, delete every partial output and re-raise."""
    timing = job.scene.timing
    source_dir = job.source.parent if job.source is not None else None
    clip = Clip(job.scene, job.width, job.height, source_dir)
    current: list[ClipFrame] = []

    def annotate(frame: Frame) -> dict[str, Any]:
        return current[0].record()

    states_path, metadata_path = sidecar_paths(job.output)
    audio = _audio_sink(job, clip)
    sinks: list[Sink] = [sink_for(job.output, job.fmt, annotate=annotate, audio=audio)]
    if job.states and job.fmt != "states":
        sinks.append(StatesSink(states_path, annotate))
    files = [sink.path for sink in sinks]
    if audio is not None:
        if audio.keep:
            files.append(audio.path)
        sinks.insert(0, audio)  # finishes first: the MP4 muxes its WAV
    files.append(metadata_path)
    for path in [*files, *([audio.path] if audio is not None else [])]:
        if name_too_long(path):
            raise ExportError(f"{path}: the file name is too long for its folder")
    late = {"audio": audio.metadata} if audio is not None else {}
    meta = MetadataSink(metadata_path, describe_run(job, files, clip), late)
    sinks.append(meta)
    check = interrupts.check if interrupts is not None else _nothing
    deferred = interrupts.deferred if interrupts is not None else contextlib.nullcontext
    outputs: OutputSet | None = None
    source: Generator[ClipFrame, None, None] | None = None
    try:
        outputs = OutputSet(
            job.output.parent, job.output.stem, overwrite=job.overwrite, record=metadata_path
        )
        info = StreamInfo(clip.layout, job.width, job.height, timing.fps, clip.frame_count,
                          timing.dt, job.quality, outputs)  # fmt: skip
        for sink in sinks:
            sink.open(info)
        needs_pixels = any(sink.needs_pixels for sink in sinks)
        with deferred():
            source = clip_frames(clip, job.scene, source_dir, job.parallel)
            for clip_frame in source:
                current[:] = [clip_frame]
                frame = clip_frame.frame
                pixels = clip.pixels(clip_frame) if needs_pixels else None
                for sink in sinks:
                    sink.write(frame, pixels)
                if progress is not None:
                    progress(frame.index + 1, clip.frame_count)
                check()
        for sink in sinks:
            check()
            sink.finish()
        for sink in sinks:
            sink.commit()
        check()
        outputs.commit()
    except BaseException:
        if source is not None:
            source.close()  # stops a worker process
        for sink in sinks:
            with contextlib.suppress(Exception):
                sink.discard()  # stops an encoder, closes files
        if outputs is not None:
            outputs.discard()  # every temporary, whichever sink made it
        raise
    return RenderResult(
        tuple(files), meta.digest.frames, meta.digest.events, meta.digest.hexdigest()
    )
