"""The render job: simulate → render → every sink, committed together or not at all.

Every output is written into one staging folder and the set is committed with a journal
(``output.atomic``): an error, an interrupt or a kill at any moment leaves the complete
old outputs or the complete new ones, and no temporary file behind (a killed run's are
cleaned by the next run of the same target).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import platform
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import Issue, SceneError, ScriptSoundError
from ..frame import Frame
from ..output.arrays import FramesSink
from ..output.atomic import InPlace, Outputs, OutputSet, name_too_long
from ..output.ffmpeg import FFmpegSink, encoder_versions
from ..output.metadata import MetadataSink
from ..output.particles import ParticleSink, particles_path
from ..output.png import PngSequenceSink
from ..output.provenance.keys import Identity
from ..output.provenance.marks import Marks
from ..output.sink import DEFAULT_QUALITY, ExportError, Sink, StreamInfo
from ..output.states import RunDigest, StatesSink
from ..output.subtitles import WRITERS, SubtitleSink
from ..output.video import AudioSource, GifSink, Mp4Sink
from ..physics.world import World, engine_versions
from ..picture.renderer import StaticLayers
from ..scene.captions import CueMaker, title_cues
from ..scene.files import Root, Roots, roots_of
from ..scene.files import sha256 as files_sha256
from ..scene.loader import Positions, format_path, read_document, read_file
from ..scene.model import Scene
from .clip import Clip, ClipFrame, check_inputs
from .worker import clip_frames

if TYPE_CHECKING:  # loaded only when a job makes sound: it brings scipy.signal, ~0.5 s
    from ..output.sound import AudioSink
    from ..rights.registry_check import Screened

Progress = Callable[[int, int], None]
"""Called as progress(frames_done, frame_count) after each frame."""


class Observer(Protocol):
    """Sees every frame a render makes, as it is made (``ground_truth.TruthRecorder``): what
    it derives comes from the render's own Frames, not from a second simulation."""

    def start(self, clip: Clip) -> None:
        """Before the first frame, with the clip being rendered."""

    def add(self, shown: ClipFrame) -> None:
        """Each frame, in order."""


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
    """'auto': an MP4 gets a sound track; 'wav': also write <name>.wav; 'stems': also the
    stems <name>.impacts.wav, .scrapes, .footsteps, .ambient, .music, .voice; 'none': no sound."""
    parallel: bool | None = None
    """Simulate in a second process, overlapping drawing and encoding (same bytes either
    way). None: when measured to help (see ``job.worker.clip_frames``)."""
    overwrite: bool = False
    """Replace existing targets. Without it only the outputs of an earlier render (listed
    in its metadata.json) are replaced; a folder holding other files never is."""
    watermark: bool = True
    """The in-signal marks in every frame and in the sound (``output.provenance``)."""
    watermark_key: bytes | None = None
    """A secret for keyed marks (``--watermark-key``); None: the public key."""
    sign: Identity | None = None
    """Sign the MP4, GIF, PNG frames and WAV with C2PA content credentials (the last step,
    after the unsigned bytes are complete); None: unsigned."""
    registry: Path | None = None
    """The blocklist (``rights.registry``) to check the scene's files and texts against
    before anything is written, and to log the render in; None: no check. It decides
    whether there are outputs, never their bytes."""
    staged: bool = True
    """Write the outputs in a staging folder and install them together (see
    ``output.atomic``); False: straight at their names, in a folder that the caller
    stages and commits whole (a dataset item's), which must not hold them yet."""
    frames_compression: str = "gzip"
    """``frames`` into ``.h5``: ``gzip`` (level 1) or ``none`` (``output.shards.write_frames``)."""
    assets: tuple[Path, ...] = ()
    """``--assets`` folders: where the scene's pictures, faces, voices, music and consent
    records may also be (after its own folder; samples only from its own folder)."""

    def roots(self) -> Roots:
        """The scene's folder and the ``--assets`` folders."""
        return Roots(self.source.parent if self.source is not None else Path("."), self.assets)


@dataclass(frozen=True, slots=True)
class RenderResult:
    files: tuple[Path, ...]
    frames: int
    events: int
    run_hash: str


AUDIO_MODES = ("auto", "wav", "stems", "none")


def sibling(output: Path, ending: str) -> Path:
    """A file beside ``output`` with its stem: ``sibling(Path("out/clip.mp4"), ".wav")``
    is ``out/clip.wav``."""
    return output.with_name(output.stem + ending)


def audio_path(output: Path) -> Path:
    """``out/clip.mp4`` → ``out/clip.wav``."""
    return sibling(output, ".wav")


def _audio_sink(job: RenderJob, clip: Clip, marks: Marks | None) -> AudioSink | None:
    """The job's audio sink, or None when nothing would use the sound.

    Sounds follow the video's clock: events carry simulation time, and the clip's
    timeline says when that moment is shown (slow motion stretches the gaps).
    """
    if job.audio not in AUDIO_MODES:
        raise ValueError(f"audio must be one of {AUDIO_MODES}, got {job.audio!r}")
    spec = job.scene.audio
    wanted = job.audio in ("wav", "stems") or (job.audio == "auto" and job.fmt == "mp4")
    if not wanted or job.audio == "none" or not spec.enabled:
        return None
    return audio_sink_for(job.scene, audio_path(job.output), clip, job.roots(),
                          keep=job.audio in ("wav", "stems"), stems=job.audio == "stems",
                          encoded=job.fmt == "mp4",
                          mark=marks.mark_wav if marks is not None else None)  # fmt: skip


def audio_sink_for(
    scene: Scene,
    path: Path,
    clip: Clip,
    source_dir: Root | None,
    *,
    keep: bool = True,
    stems: bool = False,
    encoded: bool = False,
    mark: Callable[[Path], None] | None = None,
) -> AudioSink:
    """The sound of ``clip`` as ``render`` makes it, into the WAV ``path`` (the preview
    plays the same track): the scene's settings, materials and the clip's clock."""
    from ..output.sound import AudioSink, FigureVoice

    materials = {name: (m.density, m.elasticity) for name, m in scene.materials.items()}
    figures = tuple(
        FigureVoice(f"bodies[{index}].voice.file", f"{name}/{part}", voice.file, voice.start,
                    voice.gain_db)
        for index, name, part, voice in figure_voices(scene)
    )  # fmt: skip
    roots = roots_of(source_dir if source_dir is not None else Path("."))
    return AudioSink(
        path, scene.audio, scene.seed,
        keep=keep, base_dir=roots.scene, assets=roots.assets,
        materials=materials, time_map=clip.timeline.video_time, stems=stems, encoded=encoded,
        mark=mark, figures=figures, script=clip.sounds,
    )  # fmt: skip


def figure_voices(scene: Scene) -> list[tuple[int, str, str, Any]]:
    """(index in ``bodies``, figure name, the part it speaks from, its ``voice:``) of each
    walker or ragdoll with a recorded voice: the one lookup a ``say`` line can use."""
    found = []
    for index, body in enumerate(scene.bodies):
        voice = getattr(body, "voice", None)
        if voice is not None:
            part = "head" if body.kind == "ragdoll" else "torso"
            found.append((index, body.name or f"{body.kind}_{index}", part, voice))
    return found


def _subtitle_sinks(job: RenderJob, clip: Clip) -> list[SubtitleSink]:
    """``out/clip.vtt`` and ``out/clip.srt`` when the scene has captions or a title."""
    table = clip.caption_table
    look = clip.look
    title = title_cues(look.title if look is not None else None)
    auto = look.auto_captions if look is not None else None
    if job.fmt == "states" or not (table or title or auto):
        return []
    time_map = clip.timeline.video_time
    still = frozenset(b.name for b in clip.layout.bodies if b.body_type == "static")
    return [
        SubtitleSink(sibling(job.output, end), CueMaker(table, time_map, auto, still), title)
        for end in WRITERS
    ]


def sidecar_paths(output: Path) -> tuple[Path, Path]:
    """``out/clip.mp4`` → ``out/clip.states.jsonl``, ``out/clip.metadata.json``."""
    return sibling(output, ".states.jsonl"), sibling(output, ".metadata.json")


def scene_hash(scene: Scene) -> str:
    """SHA-256 of the validated scene in canonical JSON: equal for equivalent files. Fields
    added since the format's first release are left out while unset (``look.label``,
    ``authored_by``), so a scene keeps its hash, content id and marked frames."""
    data = scene.model_dump(mode="json")
    if data.get("authored_by") is None:
        data.pop("authored_by", None)
    if isinstance(data.get("look"), dict) and data["look"].get("label") is None:
        data["look"].pop("label", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@functools.cache
def package_version(package: str) -> str:
    """An installed package's version, read once a process: each read parses the
    package's METADATA file (about 7 ms), which a batch of short clips paid six times
    a clip."""
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


def describe_run(
    job: RenderJob, files: list[Path], clip: Clip | None, digest: str
) -> dict[str, Any]:
    """The metadata.json fields known before the first frame (``digest``: the scene's
    ``scene_hash``)."""
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
        "scene": {"name": scene.name, "source": source, "sha256": digest},
        "seed": scene.seed,
        "timing": {"fps": timing.fps, "substeps": timing.substeps, "dt": timing.dt,
                   "frame_count": frame_count,
                   "duration": frame_count / timing.fps,
                   "sim_duration": timing.frame_count / timing.fps},
        "output": {"format": job.fmt, "width": job.width, "height": job.height,
                   "quality": job.quality, "files": [path.name for path in files],
                   "picture_area": picture_area(clip, job)},
        "versions": {
            "physics_scenes": package_version("physics-scenes"),
            **engine_versions(),
            "pygame-ce": package_version("pygame-ce"), "numpy": package_version("numpy"),
            "pydantic": package_version("pydantic"),
            "imageio-ffmpeg": package_version("imageio-ffmpeg"),
            **encoder_versions(),
            "python": platform.python_version(),
        },
        "platform": {"system": platform.system(), "machine": platform.machine()},
    }  # fmt: skip


def player_tags(job: RenderJob, marks: Marks | None, digest: str) -> tuple[tuple[str, str], ...]:
    """What a player shows: the title, a comment saying the video is synthetic, the tool
    (MP4: title, comment and the tool as ``encoding_tool``, the ``©too`` atom that
    ffmpeg's bit-exact mode keeps, unlike its ``encoder`` tag; PNG frames get all three as
    text chunks, the WAV as RIFF INFO)."""
    version = package_version("physics-scenes")
    title = job.scene.name or (job.source.stem if job.source is not None else job.output.stem)
    comment = (
        f"synthetic: rendered by physics_scenes {version} from scene "
        f"{digest[:16]} (seed {job.scene.seed})"
        + (f", content id {marks.content_id}" if marks is not None else "")
    )
    return (("title", title), ("comment", comment), ("software", f"physics_scenes {version}"))


def _label(sink: Sink, tags: tuple[tuple[str, str], ...]) -> None:
    """Container tags (MP4) or PNG text chunks on the main output."""
    if isinstance(sink, FFmpegSink):
        sink.tags = (*tags[:2], ("encoding_tool", tags[2][1]))
    elif isinstance(sink, PngSequenceSink):
        sink.text = (("Title", tags[0][1]), ("Comment", tags[1][1]), ("Software", tags[2][1]))


def _marks(job: RenderJob, clip: Clip, digest: str) -> Marks | None:
    """The job's in-signal marks (``Marks.for_run``; ``digest``: the scene's
    ``scene_hash``), None with the mark off."""
    if not job.watermark:
        return None
    scene = job.scene
    return Marks.for_run(digest, scene.seed, scene.timing.fps, clip.frame_count,
                         job.watermark_key)  # fmt: skip


TRAINED_DATA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicData"
"""The scene file's source type when a language model wrote it (``new --llm``)."""


def _sign(
    job: RenderJob,
    outputs: Outputs,
    files: list[Path],
    run_hash: str,
    marks: Marks | None,
    check: Callable[[], None],
    consents: Sequence[Mapping[str, Any]] = (),
    fonts: Sequence[Path] = (),
) -> None:
    """Embed signed C2PA manifests in the finished outputs, still in the staging folder:
    a failure or an interrupt here discards the whole set like any other."""
    from ..output.provenance.credentials import sign, signable  # c2pa: only when signing

    assert job.sign is not None
    targets: list[Path] = []
    for path in files:
        staged = outputs.staged(path)
        if staged.is_dir():
            targets += sorted(staged.glob("frame_*.png"))
        elif signable(staged):
            targets.append(staged)
    from ..rights.consent_check import wearings

    personal = {w.asset for w in wearings(job.scene) if w.personal}
    used = check_inputs(job.scene, job.roots())
    # a person's face or voice is not an ingredient: the consent assertion names its hash
    ingredients = sorted({path for ref, path in used.items() if ref not in personal})
    author = job.scene.authored_by
    written = [job.source] if author is not None and job.source is not None else []
    claims = {
        "scene_sha256": scene_hash(job.scene), "seed": job.scene.seed, "run_hash": run_hash,
        "content_id": marks.content_id if marks is not None else None,
        "watermark_keyed": marks.key.keyed if marks is not None else None,
        "source_file": job.source.name if job.source is not None else None,
        "ingredients_sha256": {p.name: files_sha256(p) for p in ingredients},
        "fonts_sha256": {p.name: files_sha256(p) for p in fonts},
        "scene_author": None if author is None else {
            **author.model_dump(), "digitalSourceType": TRAINED_DATA},
    }  # fmt: skip
    for target in targets:
        check()
        try:
            sign(target, job.sign, claims, package_version("physics-scenes"),
                 [*ingredients, *fonts, *written], consents)  # fmt: skip
        except Exception as error:  # the SDK's errors: a bad certificate, an odd file
            raise ExportError(f"{target.name}: signing failed: {error}") from error


def consent_scopes(
    scene: Scene, source: Path | None, assets: tuple[Path, ...] = ()
) -> list[dict[str, Any]]:
    """Before anything is opened: every personal face and voice of ``scene`` must be
    allowed by its consent record now (``rights.consent_check``); returns the consents'
    ids and scopes for the manifest. A located ``SceneError`` (file:line:col, the field and
    the reason) when one may not be used."""
    from ..rights.consent_check import CameoError, check_scene, wearings

    if not wearings(scene):
        return []
    root = Roots(source.parent if source is not None else Path("."), assets)
    try:
        return check_scene(scene, root, source, datetime.datetime.now(datetime.UTC))
    except CameoError as error:
        raise located_error(error.loc, error.message, source) from None


def located_error(loc: tuple[str | int, ...], message: str, source: Path | None) -> SceneError:
    """``message`` about field ``loc`` at its line and column in ``source`` (1:1 without
    one, or when the file no longer parses: the field path still says where)."""
    file, text, positions = "<scene>", None, Positions()
    if source is not None:
        file = str(source)
        with contextlib.suppress(SceneError):
            text, _, positions = read_document(read_file(source), file)
    return SceneError([Issue(file, *positions.locate(loc), format_path(loc), message)], text)


def run_hash_for(scene: Scene, source: Path | None = None) -> tuple[str, str]:
    """(run hash, content id) of ``scene`` as a render would have them, re-simulated
    without drawing (``verify --scene``): the run hash digests the Frames only."""
    clip = Clip(scene, 64, 36, source.parent if source is not None else None)
    digest = RunDigest()
    for clip_frame in clip_frames(
        clip, scene, source.parent if source is not None else None, False
    ):
        digest.add(clip_frame.frame)
    job = RenderJob(scene, Path("x.mp4"), "mp4", 64, 36)
    marks = _marks(job, clip, scene_hash(scene))
    assert marks is not None
    return digest.hexdigest(), marks.content_id


def _nothing() -> None:
    pass


def sink_for(
    path: Path,
    fmt: str,
    *,
    annotate: Callable[[Frame], dict[str, Any]] | None = None,
    audio: AudioSource | None = None,
    subtitles: SubtitleSink | None = None,
    compression: str = "gzip",
) -> Sink:
    """The main output's sink for a format name (see ``output.sink.FORMATS``; also
    ``frames``, the pictures as an npz array, which datasets use: ``output.arrays``)."""
    if fmt == "mp4":
        return Mp4Sink(path, audio, subtitles)
    if fmt == "gif":
        return GifSink(path)
    if fmt == "png":
        return PngSequenceSink(path)
    if fmt == "states":
        return StatesSink(path, annotate)
    if fmt == "frames":
        return FramesSink(path, compression)
    raise ValueError(f"unknown format {fmt!r}")


def run(
    job: RenderJob,
    progress: Progress | None = None,
    interrupts: Interrupts | None = None,
    observers: Sequence[Observer] = (),
    layers: StaticLayers | None = None,
    world: World | None = None,
) -> RenderResult:
    """Render ``job``; on any error or interrupt, delete every partial output and re-raise.

    A scene that uses a blocked file or name (``job.registry``) is refused here, with a
    located ``SceneError``, before any output is opened. ``observers`` see each frame
    too (after the sinks); ``layers``: static layers shared with other renders (a dataset
    worker's clips of one template); ``world``: the scene's World, new (``Clip``)."""
    screened = _screen(job)
    timing = job.scene.timing
    source_dir = job.roots()
    consents = consent_scopes(job.scene, job.source, job.assets)
    try:
        clip = Clip(job.scene, job.width, job.height, source_dir, layers, world)
    except ScriptSoundError as error:  # a line or cue that cannot be made: where it is
        raise located_error(error.loc, error.message, job.source) from None
    current: list[ClipFrame] = []

    def annotate(frame: Frame) -> dict[str, Any]:
        return current[0].record()

    states_path, metadata_path = sidecar_paths(job.output)
    digest = scene_hash(job.scene)  # once: it dumps and hashes the whole scene
    marks = _marks(job, clip, digest)
    tags = player_tags(job, marks, digest)
    audio = _audio_sink(job, clip, marks)
    if audio is not None:
        title, comment, software = (value for _, value in tags)
        audio.info = (("INAM", title), ("ICMT", comment), ("ISFT", software))
    subtitles = _subtitle_sinks(job, clip)
    srt = next((sink for sink in subtitles if sink.path.suffix == ".srt"), None)
    main = sink_for(job.output, job.fmt, annotate=annotate, audio=audio, subtitles=srt,
                    compression=job.frames_compression)  # fmt: skip
    sinks: list[Sink] = [main]
    _label(sinks[0], tags)
    if job.states and job.fmt != "states":
        sinks.append(StatesSink(states_path, annotate))
    if job.states and clip.layout.fluids:  # the particles, beside the states
        sinks.append(ParticleSink(particles_path(job.output)))
    sinks += subtitles
    files = [sink.path for sink in sinks]
    if audio is not None:
        if audio.keep:
            files.append(audio.path)
        files += audio.stem_paths.values()
        sinks.insert(0, audio)  # finishes first: the MP4 muxes its WAV
    if srt is not None:
        sinks.remove(srt)
        sinks.insert(0, srt)  # the MP4 muxes it as a mov_text track
    files.append(metadata_path)
    for path in [*files, *([audio.path] if audio is not None else [])]:
        if name_too_long(path):
            raise ExportError(f"{path}: the file name is too long for its folder")
    late = {"audio": audio.metadata} if audio is not None else {}
    fields = describe_run(job, files, clip, digest)
    if marks is not None:
        fields["watermark"] = marks.describe()
    if job.sign is not None:
        fields["content_credentials"] = {"signed": True, "signer": job.sign.signer_name()}
    meta = MetadataSink(metadata_path, fields, late)
    sinks.append(meta)
    check = interrupts.check if interrupts is not None else _nothing
    deferred = interrupts.deferred if interrupts is not None else contextlib.nullcontext
    outputs: Outputs | None = None
    source: Generator[ClipFrame, None, None] | None = None
    try:
        outputs = (
            OutputSet(
                job.output.parent, job.output.stem, overwrite=job.overwrite, record=metadata_path
            )
            if job.staged
            else InPlace(job.output.parent)
        )
        info = StreamInfo(clip.layout, job.width, job.height, timing.fps, clip.frame_count,
                          timing.dt, job.quality, outputs)  # fmt: skip
        for sink in sinks:
            sink.open(info)
        needs_pixels = any(sink.needs_pixels for sink in sinks)
        picture_mark = marks.picture if marks is not None else None
        if (
            picture_mark is not None
            and isinstance(main, FramesSink)
            and not any(sink.needs_pixels for sink in sinks if sink is not main)
        ):  # marked in the array, not as a marked copy of each picture (same bytes)
            main.mark = picture_mark.apply_in_place
            picture_mark = None
        for observer in observers:
            observer.start(clip)
        with deferred():
            source = clip_frames(clip, job.scene, source_dir, job.parallel)
            for clip_frame in source:
                current[:] = [clip_frame]
                frame = clip_frame.frame
                pixels = clip.pixels(clip_frame) if needs_pixels else None
                if pixels is not None and picture_mark is not None:
                    pixels = picture_mark.apply(pixels)
                for sink in sinks:
                    sink.write(frame, pixels)
                for observer in observers:
                    observer.add(clip_frame)
                if progress is not None:
                    progress(frame.index + 1, clip.frame_count)
                check()
        for sink in sinks:
            check()
            sink.finish()
        if job.sign is not None:
            fonts = clip.fonts if needs_pixels else ()
            _sign(job, outputs, files, meta.digest.hexdigest(), marks, check, consents, fonts)
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
    if screened is not None:
        _log_use(job, screened, marks.content_id if marks is not None else None)
    return RenderResult(
        tuple(files), meta.digest.frames, meta.digest.events, meta.digest.hexdigest()
    )


def _screen(job: RenderJob) -> Screened | None:
    """The scene against the blocklist (``SceneError`` if it uses a blocked asset or
    name); the prints of its files, to log after the render. None without a registry."""
    if job.registry is None:
        return None
    from ..rights.registry import Registry, RegistryError
    from ..rights.registry_check import screen

    try:
        with Registry(job.registry) as registry:
            roots = job.roots() if job.source is not None else None
            return screen(job.scene, job.source, registry, roots)
    except RegistryError as error:
        raise ExportError(f"the blocklist: {error}") from None


def _log_use(job: RenderJob, screened: Screened, content_id: str | None) -> None:
    """Record the committed render's assets (and its content id) in the registry."""
    from ..rights.registry import Registry, RegistryError

    assert job.registry is not None
    name = job.source.name if job.source is not None else "<scene>"
    try:
        with Registry(job.registry) as registry:
            registry.log_render(content_id or "(no watermark)", name, screened.assets)
    except RegistryError as error:  # the outputs are complete: say so, do not undo them
        raise ExportError(f"rendered, but not logged in the blocklist: {error}") from None
