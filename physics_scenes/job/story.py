"""A ``story:`` file rendered: its acts (scenes) one after another in one MP4, joined by
transitions, with one continuous sound track.

Each act is its own clip (its clock, camera, captions) and its own sound track, mastered
like a single render; the transitions are made on the finished pictures
(``picture.looks.blend``, ``darken``, ``wipe``) and on the finished tracks (the same
frames' worth of samples crossfaded or faded), so what is seen and heard stays together.
A crossfade or wipe overlaps the two acts (the story is shorter than its acts by that
much); a fade goes through black without overlap. Deterministic like a render.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..audio.dsp import RATE, Audio32, write_wav
from ..errors import Issue, RenderError, SceneError, ScriptSoundError
from ..frame import Frame
from ..output.atomic import AtomicPath, OutputSet
from ..output.ffmpeg import decode_audio
from ..output.provenance.marks import Marks
from ..output.sink import ExportError, StreamInfo
from ..output.subtitles import WRITERS
from ..output.video import Mp4Sink
from ..picture.looks import blend, darken, wipe
from ..picture.view import Pixels
from ..scene import files
from ..scene.captions import Cue
from ..scene.loader import format_path, load_scene, read_document, read_file, validate_part
from ..scene.model import Scene
from ..scene.story import StoryFile, Transition
from .clip import Clip, ClipFrame
from .pipeline import audio_sink_for, consent_scopes, located_error, package_version, scene_hash

if TYPE_CHECKING:
    from ..output.provenance.keys import Identity
    from ..output.sound import AudioSink
    from ..rights.registry import UsedAsset


@dataclass(frozen=True)
class StoryAct:
    """One act: its scene, the folder its files are named from, how it comes in."""

    scene: Scene
    folder: Path
    transition: Transition
    source: Path | None = None
    """The act's scene file (its consents and blocklist errors are located in it)."""


def load_story(path: Path) -> list[StoryAct]:
    """The acts of a story file, each scene validated; located ``SceneError``s (in the
    story file, at ``story.acts[i].scene``, or in an act's scene file)."""
    text, raw, positions = read_document(read_file(path), str(path))
    if isinstance(raw, dict) and "story" not in raw and "bodies" in raw:
        message = (
            "this is a scene file, not a story: render it with `physics-scenes render`; "
            "a story file holds `story: {acts: [{scene: FILE}, ...]}`"
        )
        raise SceneError([Issue(str(path), *positions.locate(("bodies",)), "", message)], text)
    story = validate_part(StoryFile, raw, positions, text, str(path)).story

    def located(i: int, message: str) -> SceneError:
        loc = ("story", "acts", i, "scene")
        issue = Issue(str(path), *positions.locate(loc), format_path(loc), message)
        return SceneError([issue], text)

    acts: list[StoryAct] = []
    for i, entry in enumerate(story.acts):
        try:
            file = files.resolve(path.parent, entry.scene)
        except files.FileRefError as error:
            raise located(i, str(error)) from None
        acts.append(StoryAct(load_scene(file), file.parent, entry.transition, file))
    fps = acts[0].scene.timing.fps
    for i, act in enumerate(acts):
        if act.scene.timing.fps != fps:
            raise located(i, f"{act.scene.timing.fps} fps; the story plays at its first "
                          f"act's {fps} fps (give every act the same)")  # fmt: skip
    return acts


def _overlap(transition: Transition, fps: int) -> int:
    return transition.frames(fps) if transition.kind in ("crossfade", "wipe") else 0


def _fade_halves(transition: Transition, fps: int) -> tuple[int, int]:
    """Frames faded out (the act before) and in (this act) by a fade through black."""
    if transition.kind != "fade":
        return 0, 0
    n = transition.frames(fps)
    return n // 2, n - n // 2


def story_pictures(
    clips: Sequence[Clip],
    transitions: Sequence[Transition],
    seen: Callable[[int, ClipFrame], None] | None = None,
) -> Iterator[Pixels]:
    """The story's pictures in order; ``seen(act, item)`` is called with each act's
    frames as they are made (for its sound and subtitles)."""
    fps = clips[0].fps
    held: deque[Pixels] = deque()
    for k, clip in enumerate(clips):
        into = transitions[k] if k else Transition()
        after = transitions[k + 1] if k + 1 < len(clips) else Transition()
        keep = max(_overlap(after, fps), _fade_halves(after, fps)[0])
        overlap = min(_overlap(into, fps), len(held))
        fade_in = _fade_halves(into, fps)[1] if k else into.frames(fps) // 2
        before = list(held)
        held.clear()
        if into.kind == "fade" or not overlap:
            yield from before  # (already faded out, if a fade)
            before = []
        for i, item in enumerate(clip.frames()):
            if seen is not None:
                seen(k, item)
            pixels = clip.pixels(item)
            if i < overlap:
                share = (i + 1) / (overlap + 1)
                mix = blend if into.kind == "crossfade" else wipe
                pixels = mix(before[i], pixels, share)
            elif i < fade_in:
                pixels = darken(pixels, (i + 1) / (fade_in + 1))
            held.append(pixels)
            while len(held) > keep:
                yield held.popleft()
        if after.kind == "fade":
            out = len(held)
            held = deque(darken(p, (out - j) / (out + 1)) for j, p in enumerate(held))
    yield from held


def story_track(tracks: Sequence[Audio32], transitions: Sequence[Transition], fps: int) -> Audio32:
    """The acts' finished tracks joined as their pictures are: crossfaded over an overlap,
    faded through silence, or cut (each track as long as its act's frames)."""
    out = np.asarray(tracks[0], dtype=np.float32)
    for k in range(1, len(tracks)):
        into, track = transitions[k], np.asarray(tracks[k], dtype=np.float32)
        if into.kind in ("crossfade", "wipe"):
            frames = min(into.frames(fps), len(out) * fps // RATE)
            n = min(round(frames / fps * RATE), len(track))
            ramp = ((np.arange(n) + 1) / (n + 1)).astype(np.float32)[:, None]
            joined = out[len(out) - n :] * (1 - ramp) + track[:n] * ramp
            out = np.concatenate([out[: len(out) - n], joined, track[n:]])
            continue
        if into.kind == "fade":
            half_out, half_in = _fade_halves(into, fps)
            n_out, n_in = round(half_out / fps * RATE), round(half_in / fps * RATE)
            out = out.copy()
            out[len(out) - n_out :] *= np.linspace(1, 0, n_out, dtype=np.float32)[:, None]
            track = track.copy()
            track[:n_in] *= np.linspace(0, 1, n_in, dtype=np.float32)[:, None]
        out = np.concatenate([out, track])
    return out


LONGEST = 86_400.0
"""Seconds of an act's track decoded at most (all of it)."""
_BLANK = Frame(0, 0.0, np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)), np.zeros(0))


@dataclass
class _Wav:
    wav: Path | None = None


@dataclass
class _Srt:
    written: Path | None = None


def story_cues(
    cues: Sequence[Mapping[tuple[float, float, str], Cue]],
    counts: Sequence[int],
    transitions: Sequence[Transition],
    fps: int,
) -> list[Cue]:
    """Each act's captions on the story's clock: moved by where the act starts (its
    frames before, less the overlaps), cut where the act ends (as in its pictures).

    >>> from physics_scenes.scene.captions import Caption
    >>> line = {(0.5, 3.0, "hi"): Cue(0.5, 3.0, Caption(text="hi"))}
    >>> cross = Transition(kind="crossfade", duration=0.5)
    >>> [(c.start, c.end) for c in story_cues([line, line], [40, 40], [Transition(), cross], 20)]
    [(0.5, 2.0), (2.0, 3.5)]
    """
    out, start = [], 0.0
    for k, act in enumerate(cues):
        if k:
            start += (counts[k - 1] - min(_overlap(transitions[k], fps), counts[k - 1])) / fps
        end = start + counts[k] / fps
        out += [Cue(c.start + start, min(c.end + start, end), c.style)
                for c in act.values() if c.start + start < end]  # fmt: skip
    return out


def _check_rights(
    acts: Sequence[StoryAct], registry: Path | None
) -> tuple[list[dict[str, Any]], list[UsedAsset]]:
    """What ``render`` refuses, refused for every act (``SceneError``, ``RenderError``);
    the acts' consents (ids and scopes) for the manifest, and the files the acts use with
    their prints (``acts[k].`` before each field), to log once the story is written."""
    consents = [scope for act in acts for scope in consent_scopes(act.scene, act.source)]
    if registry is None:
        return consents, []
    from ..rights.registry import Registry, RegistryError  # the fingerprints: only here
    from ..rights.registry_check import screen

    used: list[UsedAsset] = []
    try:
        with Registry(registry) as opened:
            for k, act in enumerate(acts):
                assets = screen(act.scene, act.source, opened).assets
                used += [dataclasses.replace(a, field=f"acts[{k}].{a.field}") for a in assets]
    except RegistryError as error:
        raise RenderError(f"the blocklist: {error}") from None
    return consents, used


def _log_story(registry: Path, path: Path, marks: Marks | None, used: Sequence[UsedAsset]) -> None:
    """Record the written story (its content id, its file's name, every act's files) in
    the blocklist's render log, as ``render`` records a render: owners see which clips
    used assets near theirs, whichever command made them."""
    from ..rights.registry import Registry, RegistryError

    content_id = marks.content_id if marks is not None else "(no watermark)"
    try:
        with Registry(registry) as opened:
            opened.log_render(content_id, path.name, used)
    except RegistryError as error:  # the story is complete: say so, do not undo it
        raise ExportError(f"rendered, but not logged in the blocklist: {error}") from None


def _sign_story(
    staged: Path,
    path: Path,
    acts: Sequence[StoryAct],
    marks: Marks | None,
    identity: Identity,
    consents: Sequence[Mapping[str, Any]],
) -> None:
    """A signed C2PA manifest in the staged MP4: the story file and each act's scene
    hash as claims, the acts' scene files as ingredients, their consents."""
    from ..output.provenance.credentials import sign  # c2pa: only when signing

    claims = {
        "story_sha256": hashlib.sha256(read_file(path)).hexdigest(),
        "acts_scene_sha256": [scene_hash(act.scene) for act in acts],
        "content_id": marks.content_id if marks is not None else None,
        "watermark_keyed": marks.key.keyed if marks is not None else None,
        "source_file": path.name,
    }
    sources = sorted({act.source for act in acts if act.source is not None})
    try:
        sign(staged, identity, claims, package_version("physics-scenes"), sources, consents)
    except Exception as error:  # the SDK's errors: a bad certificate, an odd file
        raise ExportError(f"{staged.name}: signing failed: {error}") from error


def story_marks(
    path: Path, acts: Sequence[StoryAct], fps: int, frames: int, secret: bytes | None = None
) -> Marks:
    """The story's in-signal marks: its content id from the story file's text and each
    act's scene (as a render's comes from its scene), so any copy of the MP4 names it;
    ``secret``: keyed marks (``--watermark-key``), else the public key."""
    digest = hashlib.sha256(read_file(path))
    for act in acts:
        digest.update(scene_hash(act.scene).encode())
    return Marks.make(digest.hexdigest(), acts[0].scene.seed, f"{fps}fps {frames} story", secret)


def render_story(
    path: Path,
    output: Path,
    width: int,
    height: int,
    *,
    sound: bool = True,
    quality: str = "standard",
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    registry: Path | None = None,
    watermark: bool = True,
    watermark_key: bytes | None = None,
    sign: Identity | None = None,
) -> int:
    """Render the story file ``path`` to the MP4 ``output``; returns the frames written.
    Its pictures and sound carry the invisible marks (``watermark``) with the story's own
    content id, and its tags say it is synthetic; with ``sign`` it carries a signed C2PA
    manifest too.
    Every act is checked like a render before anything is opened: its personal faces and
    voices against their consents, its files and texts against ``registry`` (the
    blocklist) when one is given; a located ``SceneError`` names the act's field.
    Atomic: on any error nothing is left at ``output``."""
    acts = load_story(path)
    consents, used = _check_rights(acts, registry)
    clips = []
    for act in acts:
        try:
            clips.append(Clip(act.scene, width, height, act.folder))
        except ScriptSoundError as error:  # a line or cue that cannot be made: where it is
            raise located_error(error.loc, error.message, act.source) from None
    transitions = [act.transition for act in acts]
    fps = clips[0].fps
    total = sum(c.frame_count for c in clips) - sum(_overlap(t, fps) for t in transitions[1:])
    outputs = OutputSet(output.parent, output.stem, overwrite=overwrite)
    audio, subtitles = _Wav(), _Srt()
    video = Mp4Sink(output, audio=audio, subtitles=subtitles)
    marks = story_marks(path, acts, fps, total, watermark_key) if watermark else None
    video.tags = (
        ("title", f"{path.stem} (a story)"),
        ("comment", "synthetic: rendered by physics_scenes from the story file "
         f"{path.name}" + (f", content id {marks.content_id}" if marks is not None else "")),
        ("encoding_tool", f"physics_scenes {package_version('physics-scenes')}"),
    )  # fmt: skip
    written = 0
    with contextlib.ExitStack() as stack:
        try:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=output.parent)))
            sinks: list[AudioSink | None] = []
            for k, (act, clip) in enumerate(zip(acts, clips, strict=True)):
                on = sound and act.scene.audio.enabled
                sink = audio_sink_for(act.scene, folder / f"act{k}.wav", clip, act.folder)
                info = StreamInfo(clip.layout, width, height, fps, clip.frame_count,
                                  act.scene.timing.dt, quality, None)  # fmt: skip
                if on:
                    sink.open(info)
                sinks.append(sink if on else None)
            first = clips[0]
            video.open(StreamInfo(first.layout, width, height, fps, total,
                                  acts[0].scene.timing.dt, quality, outputs))  # fmt: skip

            counts = [0] * len(clips)
            cues: list[dict[tuple[float, float, str], Cue]] = [{} for _ in clips]

            def seen(k: int, item: ClipFrame) -> None:
                sink = sinks[k]
                if sink is not None:
                    sink.write(item.frame, None)
                counts[k] += 1
                cues[k].update({(c.start, c.end, c.text): c for c in item.cues})

            for pixels in story_pictures(clips, transitions, seen):
                if marks is not None:
                    pixels = marks.picture.apply(pixels)
                video.write(_BLANK, pixels)  # (the encoder reads the pixels only)
                written += 1
                if progress is not None:
                    progress(written, total)
            tracks = []
            for k, act_sink in enumerate(sinks):
                length = clips[k].frame_count / fps
                if act_sink is None:
                    tracks.append(np.zeros((round(length * RATE), 2), dtype=np.float32))
                    continue
                act_sink.finish()
                assert act_sink.wav is not None
                tracks.append(decode_audio(act_sink.wav, LONGEST))
                act_sink.discard()
            if any(s is not None for s in sinks):
                audio.wav = folder / "story.wav"
                write_wav(audio.wav, story_track(tracks, transitions, fps))
                if marks is not None:
                    marks.mark_wav(audio.wav)
            timed = story_cues(cues, counts, transitions, fps)
            sidecars = []
            for end, write in WRITERS.items() if timed else ():
                sidecar = AtomicPath(output.with_suffix(end), group=outputs)
                sidecar.temp.write_text(write(timed), encoding="utf-8")
                sidecars.append(sidecar)
                if end == ".srt":
                    subtitles.written = sidecar.temp  # the MP4's mov_text track
            video.finish()
            if sign is not None:
                _sign_story(outputs.staged(output), path, acts, marks, sign, consents)
            video.commit()
            for sidecar in sidecars:
                sidecar.commit()
            outputs.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                video.discard()
            outputs.discard()
            raise
    if registry is not None:
        _log_story(registry, path, marks, used)
    return written
