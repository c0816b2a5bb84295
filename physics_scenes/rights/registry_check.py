"""A scene against the blocklist: every file it names and every text it shows.

Run before a render opens any output (``job.pipeline.run``) and by ``validate`` and
``blocklist check``: a match is a located ``SceneError`` naming the rule, the owner and
the matched asset. The prints made here are what a successful render logs
(``Registry.log_render``), so owners can find which clips used assets near theirs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import Issue, SceneError
from ..scene.files import FileRefError, Root, references, resolve
from ..scene.loader import Positions, format_path, read_document, read_file
from ..scene.model import Scene
from .fingerprint import FingerprintError, image_print, sound_print
from .names import found_in
from .registry import Hit, Registry, UsedAsset

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Screened:
    """The prints of a scene's files, to log once its render succeeds."""

    assets: tuple[UsedAsset, ...]


def scene_texts(scene: Scene) -> list[tuple[Loc, str]]:
    """(field path, text) of everything a scene writes into the picture or its subtitles:
    its name, the title card, the labels (a label without text shows its body's name)
    and the script's captions."""
    texts: list[tuple[Loc, str]] = []
    if scene.name:
        texts.append((("name",), scene.name))
    look = scene.look
    if look is not None and look.title is not None:
        texts.append((("look", "title", "text"), look.title.text))
    if look is not None:
        for i, label in enumerate(look.labels):
            shown = label.text if label.text is not None else str(label.body)
            texts.append((("look", "labels", i, "text" if label.text else "body"), shown))
    for i, action in enumerate(scene.script):
        if action.caption is not None:
            texts.append((("script", i, "caption", "text"), action.caption.text))
    return texts


def text_hits(text: str, registry: Registry) -> list[Hit]:
    """The name entries found in ``text`` (a caption, a title, a prompt)."""
    return [Hit(entry, "name") for entry in registry.entries("name") if found_in(text, entry.label)]


def screen(
    scene: Scene, source: Path | None, registry: Registry, root: Root | None = None
) -> Screened:
    """``SceneError`` (every match, located) if ``scene`` uses a blocked file or name;
    otherwise the prints of its files. ``root``: where its files are (default: the
    source file's folder)."""
    problems: list[tuple[Loc, str]] = []
    for loc, text in scene_texts(scene):
        for hit in text_hits(text, registry):
            problems.append((loc, _blocked(hit, f"{text!r} contains {hit.entry.label!r}")))
    used: list[UsedAsset] = []
    base = root if root is not None else (source.parent if source is not None else None)
    for loc, ref, kind in references(scene.audio, scene.look, scene.bodies, scene.script):
        if base is None:
            break
        if kind == "consent":  # a person's record, not a picture or a sound
            continue
        try:
            path = resolve(base, ref)
            found = image_print(path) if kind == "image" else sound_print(path)
        except (FileRefError, FingerprintError) as error:
            problems.append((loc, f"cannot check {ref!r} against the blocklist: {error}"))
            continue
        used.append(UsedAsset(format_path(loc), ref, found))
        for hit in registry.match(found):
            problems.append((loc, _blocked(hit, f"{ref!r} matches {hit.entry.label!r}")))
    if problems:
        raise SceneError(_located(problems, source))
    return Screened(tuple(used))


def _blocked(hit: Hit, what: str) -> str:
    entry = hit.entry
    return (
        f"blocked: {what} ({hit.rule}), on the blocklist for {entry.owner} "
        f"(entry {entry.id}: {entry.reason})"
    )


def _located(problems: Sequence[tuple[Loc, str]], source: Path | None) -> list[Issue]:
    """Issues at the field's line and column in the source file (1:1 without one)."""
    positions = Positions()
    file = "<scene>"
    if source is not None:
        file = str(source)
        # the file may have changed since it was loaded: the field path still says where
        with contextlib.suppress(SceneError):
            _, _, positions = read_document(read_file(source), file)
    return [Issue(file, *positions.locate(loc), format_path(loc), text) for loc, text in problems]


def prompt_issues(prompt: str, registry: Registry) -> list[str]:
    """Why a text prompt (``new "PROMPT"``) is refused: one line per blocked name in it."""
    return [
        _blocked(hit, f"the prompt contains {hit.entry.label!r}")
        for hit in text_hits(prompt, registry)
    ]
