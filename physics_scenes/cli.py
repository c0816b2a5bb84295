"""The ``physics-scenes`` command: parse arguments, report errors, show progress.

No logic of its own: it calls the loader, the pipeline and the schema.
Exit codes: 0 success, 1 bad input or failed output, 2 usage, 128 + the signal's number
when stopped by a signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP). Everything printed has
its control characters escaped: names from files and the command line cannot reach the
terminal as escape sequences.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pydantic import ValidationError

from . import __version__, cli_dataset, cli_story
from .errors import EXIT_INTERRUPTED, STOP_SIGNALS, RenderError, SceneError, interrupted
from .job.timeline import video_frames
from .output.sink import DEFAULT_QUALITY, FORMATS, QUALITY, ExportError, format_for_path
from .picture.view import DEFAULT_SIZE, SIZE_PRESETS, default_size
from .portal import command as portal_command
from .probe import command as probe_command
from .rights import command as blocklist_command
from .rights import consent_command
from .scene.assemble import assemble, expand
from .scene.assembly import Assembly
from .scene.loader import load_scene, read_file
from .scene.model import Scene, Timing, json_schema
from .scene.template import is_template, load_template, sample

if TYPE_CHECKING:
    from .job.pipeline import Progress
    from .output.provenance.credentials import ManifestReading
    from .output.provenance.keys import Identity
    from .probe.compare import Truth

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2

_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""Control characters but the newline, bidirectional overrides, undecodable bytes."""


def printable(text: str) -> str:
    r"""``text`` with its control characters escaped, so that a name holding a terminal
    escape sequence prints as text instead of acting on the terminal.

    >>> print(printable("red\x1b[31m \u202eb\nnext"))
    red\x1b[31m \u202eb
    next
    """
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class UsageError(Exception):
    """A command line that cannot work (exit 2)."""


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}"
        ) from None
    if not (16 <= width <= 7680 and 16 <= height <= 7680):
        raise argparse.ArgumentTypeError("width and height must be between 16 and 7680 pixels")
    return width, height


def _positive(kind: type[int] | type[float]):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="physics-scenes",
        description="Turn scene files into physically exact videos, frames and ground truth.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser(
        "render",
        help="simulate a scene and write video and data",
        description="Simulate a scene and write a video (or GIF or PNG "
        "frames) plus <name>.states.jsonl and <name>.metadata.json (and, with "
        "liquid, <name>.fluid.npz: the particles).",
    )
    render.add_argument("scene", type=Path, help="scene file (YAML)")
    render.add_argument(
        "--assets", type=cli_dataset.asset_folder, action="append", default=[], metavar="DIR",
        help="a folder the scene's pictures, faces, voices, music and consent records may "
        "also be in (after the scene's own folder; repeatable); nothing outside is read",
    )  # fmt: skip
    render.add_argument(
        "-o",
        "--output",
        type=Path,
        help="output path; the extension picks the format (default: out/<scene name>.mp4)",
    )
    render.add_argument(
        "--format",
        choices=list(FORMATS),
        help="; ".join(f"{k}: {v[1]}" for k, v in FORMATS.items()),
    )
    size = render.add_mutually_exclusive_group()
    size.add_argument(
        "--preset",
        choices=list(SIZE_PRESETS),
        help="output size: "
        + ", ".join(f"{k} ({w}x{h})" for k, (w, h) in SIZE_PRESETS.items())
        + f"; default {DEFAULT_SIZE}",
    )
    size.add_argument(
        "--size", type=_size, metavar="WxH", help="output size in pixels, e.g. 1280x720"
    )
    render.add_argument(
        "--fps", type=_positive(int), help="frames per second (overrides the scene)"
    )
    render.add_argument(
        "--duration",
        type=_positive(float),
        metavar="SECONDS",
        help="length in seconds (overrides the scene)",
    )
    render.add_argument("--seed", type=int, help="random seed (overrides the scene)")
    render.add_argument(
        "--quality",
        choices=list(QUALITY),
        default=DEFAULT_QUALITY,
        help="; ".join(f"{k}: {v.description}" for k, v in QUALITY.items()),
    )
    render.add_argument(
        "--no-states",
        action="store_true",
        help="do not write <name>.states.jsonl (nor <name>.fluid.npz) beside the output",
    )
    sound = render.add_mutually_exclusive_group()
    sound.add_argument(
        "--audio",
        choices=["auto", "wav", "stems"],
        default="auto",
        help="auto: an MP4 gets a sound track made from the simulation (default); "
        "wav: also write <name>.wav beside the output (any format); stems: the WAV and "
        "<name>.impacts/.scrapes/.footsteps/.ambient/.music/.voice.wav for a DAW",
    )
    sound.add_argument(
        "--no-audio", action="store_true", help="no sound at all (overrides the scene)"
    )
    render.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing files at the output paths (the outputs of an earlier render "
        "are replaced without it; a folder holding other files never is)",
    )
    render.add_argument(
        "--no-watermark",
        action="store_true",
        help="leave out the invisible marks in the picture and the sound (on by default)",
    )
    render.add_argument(
        "--watermark-key",
        type=Path,
        metavar="FILE",
        help="a secret (any file of 16 bytes or more): only its holder can detect or forge "
        "the marks (default: the public key, which anyone with physics_scenes can read)",
    )
    signing = render.add_mutually_exclusive_group()
    signing.add_argument(
        "--sign-with",
        nargs=2,
        type=Path,
        metavar=("CERT", "KEY"),
        help="sign with this certificate chain and private key (PEM); default: the local "
        "identity in the config folder, made the first time (as `physics-scenes keys init` "
        "makes it): signed, valid but untrusted by others",
    )
    signing.add_argument(
        "--no-sign",
        action="store_true",
        help="write no C2PA content credentials (outputs are signed by default)",
    )
    render.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    blocklist_command.add_registry_option(render)

    validate = commands.add_parser("validate", help="check scene files and report every error")
    validate.add_argument("scenes", type=Path, nargs="+", metavar="scene")
    validate.add_argument(
        "--assets", type=cli_dataset.asset_folder, action="append", default=[], metavar="DIR",
        help="a folder the scenes' files may also be in (as for render)",
    )  # fmt: skip
    validate.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per file: {file, ok, issues: [{line, column, path, "
        "message}], omitted} (for programs and language models that write scenes)",
    )
    blocklist_command.add_registry_option(validate)

    info = commands.add_parser("info", help="summarise what a scene contains")
    info.add_argument("scene", type=Path)

    preview = commands.add_parser(
        "preview",
        help="open a window to watch, scrub and tweak a scene (reloads when the file is saved)",
        description="Plays the clip as render writes it (camera, slow motion, looks, sound), "
        "1:1 where the window is large enough. Keys: Tab clip view / inspection view, space "
        "play/pause, arrows step, Home restart, [ ] speed, and in the inspection view wheel "
        "zoom, right-drag pan, F fit, left-drag a body to throw it; V C N M J I overlays, "
        "S screenshot, R record, H help, Esc quit.",
    )
    preview.add_argument("scene", type=Path)
    preview.add_argument(
        "--assets", type=cli_dataset.asset_folder, action="append", default=[], metavar="DIR",
        help="a folder the scene's files may also be in (as for render)",
    )  # fmt: skip
    preview.add_argument(
        "--size",
        type=_size,
        metavar="WxH",
        help="window size (default: the clip's size plus the bar, within the screen; "
        "the window is resizable)",
    )
    clip_size = preview.add_mutually_exclusive_group()
    clip_size.add_argument(
        "--preset",
        choices=list(SIZE_PRESETS),
        help="the clip's size, as render's --preset (default: what render uses)",
    )
    clip_size.add_argument(
        "--clip-size", type=_size, metavar="WxH", help="the clip's size, as render's --size"
    )
    preview.add_argument(
        "--inspect", action="store_true", help="start in the inspection view (Tab switches)"
    )
    preview.add_argument("--no-sound", action="store_true", help="do not play the sound")
    preview.add_argument(
        "--no-watermark", action="store_true",
        help="screenshots (S) and takes (R) without the invisible picture mark",
    )  # fmt: skip
    preview.add_argument(
        "--no-sign", action="store_true",
        help="screenshots and takes without a signed C2PA manifest (signed by default with "
        "the local identity, made once as for render)",
    )  # fmt: skip
    preview.add_argument("--play", action="store_true", help="start playing at once")
    preview.add_argument(
        "--overlays",
        default="",
        metavar="LIST",
        help="overlays to start with: velocity,contacts,names,mass,joints,hud",
    )
    preview.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="with --quit-after: save the window to this PNG before quitting",
    )
    preview.add_argument(
        "--quit-after",
        type=int,
        metavar="N",
        help="close once frame N is shown (for scripts and tests)",
    )

    verify = commands.add_parser(
        "verify",
        help="say where files came from: C2PA manifest, invisible marks, scene",
        description="For each file: the content credentials (none, trusted, untrusted, "
        "invalid), the marks in picture and sound, whether they agree, and with --scene "
        "whether the file matches that scene. Exit 0: provenance found and consistent; "
        "3: nothing found; 4: tampered or contradictory; 1: bad input.",
    )
    verify.add_argument("files", type=Path, nargs="+", metavar="FILE")
    verify.add_argument("--scene", type=Path, help="re-simulate this scene and compare")
    verify.add_argument("--watermark-key", type=Path, metavar="FILE", help="a keyed mark's key")
    verify.add_argument("--json", action="store_true", help="one JSON report per line")
    verify.add_argument("--seed", type=int, help="with --scene: the seed the render used")
    verify.add_argument("--fps", type=_positive(int), help="with --scene: the render's fps")
    verify.add_argument(
        "--duration", type=_positive(float), metavar="SECONDS", help="with --scene: its length"
    )

    keys = commands.add_parser("keys", help="manage the local C2PA signing identity")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    init = keys_commands.add_parser(
        "init",
        help="make a local root CA and a signer certificate in the config folder (the first "
        "render or story makes them too, with the default name)",
    )
    init.add_argument("--name", default="physics_scenes local signer", help="the signer's name")
    init.add_argument("--force", action="store_true", help="replace an existing identity")

    new = commands.add_parser(
        "new",
        help="write a scene from a sentence (offline, deterministic grammar)",
        description='e.g. physics-scenes new "three rubber balls bounce down the stairs, slow '
        'motion" -o scene.yaml. Words the grammar does not know are reported, never dropped.',
    )
    new.add_argument("prompt", help="what should happen, in English")
    new.add_argument("-o", "--output", type=Path, help="scene file to write (default: stdout)")
    new.add_argument("--explain", action="store_true", help="say how each phrase was used")
    new.add_argument("--overwrite", action="store_true", help="replace an existing file")
    new.add_argument(
        "--llm",
        metavar="URL",
        help="ask an OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080 for llama.cpp's "
        "server, http://127.0.0.1:11434 for Ollama) instead of the built-in grammar",
    )
    new.add_argument("--model", default="local", help="model name sent with --llm")
    blocklist_command.add_registry_option(new)
    new.add_argument(
        "--repairs", type=int, default=3, help="times the errors go back to the model (--llm)"
    )

    schema = commands.add_parser("schema", help="print the scene files' JSON Schema")
    schema.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    cli_dataset.add_commands(commands)
    cli_story.add_commands(commands)
    probe_command.add_parser(commands)
    portal_command.add_parser(commands)
    consent_command.add_parser(commands)
    blocklist_command.add_parser(commands)
    return parser


def _with_overrides(scene: Scene, args: argparse.Namespace) -> Scene:
    updates: dict[str, object] = {}
    if args.fps is not None or args.duration is not None:
        timing = scene.timing
        duration = args.duration
        if duration is None:
            duration = timing.frame_count / timing.fps
        fps = args.fps if args.fps is not None else timing.fps
        try:
            updates["timing"] = Timing(duration=duration, fps=fps, substeps=timing.substeps)
        except ValidationError as error:
            first = error.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else ""
            option = {"fps": "--fps", "duration": "--duration"}.get(field, "--fps/--duration")
            message = (
                first["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
            )
            got = "" if isinstance(first["input"], dict) else f" (got {first['input']})"
            raise UsageError(f"{option}: {message}{got}") from None
    if args.seed is not None:
        if args.seed < 0:
            raise UsageError("--seed must be 0 or more")
        updates["seed"] = args.seed
    return scene.model_copy(update=updates) if updates else scene


def _output_and_format(args: argparse.Namespace) -> tuple[Path, str]:
    output: Path | None = args.output
    if output is None:
        fmt = args.format or "mp4"
        extension = FORMATS[fmt][0]
        stem = args.scene.name.removesuffix(args.scene.suffix)
        return Path("out") / f"{stem}{extension}", fmt
    if "\0" in str(output):
        raise UsageError("-o: a path cannot hold a NUL byte")
    if output.name in ("", ".", "..") or output.is_mount():
        raise UsageError(f"-o {output}: give a file or folder name, not {output}")
    implied = format_for_path(output)
    if args.format and implied and implied != args.format:
        raise UsageError(f"--format {args.format} does not match the extension of {output}")
    fmt = args.format or implied
    if fmt is None:
        known = ", ".join(ext for ext, _ in FORMATS.values() if ext)
        raise UsageError(
            f"cannot tell the format from {output.name!r}: use {known}, a folder "
            "name for PNG frames, or --format"
        )
    return output, fmt


@contextmanager
def _progress_bar(enabled: bool, label: str) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TaskProgressColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    columns = (BarColumn(), MofNCompleteColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with Bar(f"[bold]{label}", *columns, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _markup_escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _watermark_key(args: argparse.Namespace) -> bytes | None:
    path: Path | None = args.watermark_key
    if path is None:
        return None
    if getattr(args, "no_watermark", False):
        raise UsageError("--watermark-key and --no-watermark cannot be used together")
    from .output.provenance.keys import watermark_secret

    try:
        return watermark_secret(path)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _signing_identity(args: argparse.Namespace) -> Identity | None:
    """None with --no-sign, else --sign-with, else the local identity (made the first
    time, saying so in one line)."""
    from .output.provenance.keys import signing_identity

    try:
        signing = signing_identity(args.sign_with, args.no_sign)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if signing.note is not None and (signing.identity is None or not args.quiet):
        _say(signing.note, error=signing.identity is None)
    return signing.identity


def _writes_media(args: argparse.Namespace, fmt: str) -> bool:
    """Whether the render writes a picture or a WAV (what is signed): a states file alone
    needs no signing identity, so none is made for it."""
    return fmt != "states" or (not args.no_audio and args.audio in ("wav", "stems"))


def _cmd_keys(args: argparse.Namespace) -> int:
    from .output.provenance.keys import CHAIN, KEY, init_identity

    try:
        folder = init_identity(args.name, force=args.force)
    except FileExistsError as error:
        _say(f"physics-scenes: {error}", error=True)
        return EXIT_INPUT
    _say(f"made a local signing identity: {folder / CHAIN} and {folder / KEY} (mode 0600)")
    _say("renders are signed with it; readers will call the signature valid but untrusted")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from .job.pipeline import run_hash_for
    from .output.provenance.payload import MarkKey
    from .output.provenance.verify import compare_scene, inspect

    secret = _watermark_key(args)
    key = MarkKey(secret) if secret is not None else MarkKey()
    expected = None
    if args.scene is not None:
        scene = _with_overrides(load_scene(args.scene), args)
        expected = run_hash_for(scene, args.scene)
    status = EXIT_OK
    for path in args.files:
        if not path.exists():
            _say(f"physics-scenes: {path}: no such file", error=True)
            status = max(status, EXIT_INPUT)
            continue
        report = inspect(path, key)
        if expected is not None:
            compare_scene(report, *expected)
        status = max(status, report.status)
        if args.json:
            print(json.dumps(report.as_json(), default=str))
        else:
            _say(f"{path}: " + "; ".join(report.findings))
            _say_claims(report.manifest)
    return status


def _say_claims(manifest: ManifestReading) -> None:
    claims = manifest.claims
    if claims:
        fields = ("scene_sha256", "seed", "run_hash", "content_id")
        _say("  claims: " + ", ".join(f"{k} {claims.get(k)}" for k in fields))
        when = manifest.signed_at or "no trusted time stamp"
        if manifest.created_at is not None:  # the signer's own clock, inside the signature
            when += f"; made at {manifest.created_at} by the signer's clock (not attested)"
        _say(f"  signed at: {when}")


def _cmd_render(args: argparse.Namespace) -> int:
    from .job.pipeline import RenderJob, run  # the renderer, encoder and sound: only here

    scene = _with_overrides(load_scene(args.scene, tuple(args.assets)), args)
    output, fmt = _output_and_format(args)
    width, height = args.size or SIZE_PRESETS[args.preset or default_size(scene)]
    if fmt == "mp4" and (width % 2 or height % 2):
        raise UsageError(f"MP4 (yuv420p) needs an even width and height, got {width}x{height}")
    job = RenderJob(
        scene,
        output,
        fmt,
        width,
        height,
        args.quality,
        states=not args.no_states,
        source=args.scene,
        audio="none" if args.no_audio else args.audio,
        overwrite=args.overwrite,
        watermark=not args.no_watermark,
        watermark_key=_watermark_key(args),
        sign=_signing_identity(args) if _writes_media(args, fmt) else None,
        assets=tuple(args.assets),
        registry=blocklist_command.registry_in_use(args.registry),
    )
    started = time.perf_counter()
    show_bar = not args.quiet and sys.stderr.isatty()
    label = "rendering " + _markup_escape(printable(args.scene.name)) if show_bar else ""
    with _progress_bar(show_bar, label) as bar:

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar(done, total)

        result = run(job, progress, args.stop)
    seconds = time.perf_counter() - started
    if not args.quiet:
        files = ", ".join(str(path) for path in result.files)
        _say(f"wrote {files}")
        _say(
            f"{result.frames} frames ({result.frames / scene.timing.fps:.2f} s at "
            f"{scene.timing.fps} fps, {width}x{height}), {result.events} contact events, "
            f"in {seconds:.1f} s ({result.frames / max(seconds, 1e-9):.0f} frames/s)"
        )
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in args.scenes:
        what = ""
        try:
            try:
                scene = load_scene(path, tuple(args.assets))
            except SceneError:
                if not is_template(read_file(path), str(path)):
                    raise
                scene, what = sample(load_template(path), 0).scene, "template; item 0: "
            _screen(scene, path, args.registry)
        except SceneError as error:
            status = EXIT_INPUT
            if args.json:
                issues = [
                    {"line": i.line, "column": i.column, "path": i.path, "message": i.message}
                    for i in error.issues
                ]
                record = {"file": str(path), "ok": False, "issues": issues,
                          "omitted": error.omitted}  # fmt: skip
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                _say(error.report(), error=True)
            continue
        if args.json:
            record = {"file": str(path), "ok": True, "issues": [], "omitted": 0}
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            try:
                frames = video_frames(scene)
            except RenderError as error:
                _say(f"{path}: {error}", error=True)
                status = EXIT_INPUT
                continue
            bodies = len(expand(scene))
            _say(f"{path}: ok ({what}{bodies} bodies, {frames} frames)")
    return status


def _liquid_lines(scene: Scene) -> list[str]:
    """One line on the scene's liquids (they are not bodies, so the table leaves them out)."""
    from .scene import water

    liquids = [body for body in scene.bodies if isinstance(body, water.LIQUIDS)]
    if not liquids:
        return []
    duration = scene.timing.frame_count / scene.timing.fps
    counts = water.estimate_particles(liquids, duration)
    parts = [
        f"{entry.name or f'{entry.kind}_{scene.bodies.index(entry)}'} "
        f"({'region' if entry.kind == 'water' else 'emitter'} of "
        f"{water.resolve_fluid(entry.fluid).name}, up to {count} particles)"
        for entry, count in zip(liquids, counts, strict=True)
    ]
    spacing = water.spacing_of(liquids)
    return [f"liquids:   {', '.join(parts)}; {spacing:g} m apart"]


def _template_hint(args: argparse.Namespace) -> str | None:
    """What to do instead, when a command that takes a scene was given a template."""
    path = getattr(args, "scene", None)
    if not isinstance(path, Path):
        return None
    try:
        if not is_template(read_file(path), str(path)):
            return None
    except SceneError:
        return None
    return (
        f"physics-scenes: {path} is a scene template: `physics-scenes sample {path} --seed N "
        "-o item.yaml` writes its item N as a scene; `physics-scenes batch` renders a dataset"
    )


def _camera_lines(scene: Scene) -> list[str]:
    """One line on the camera, clock and look, when the scene sets any of them."""
    if scene.camera is None and scene.time is None and scene.look is None and not scene.style:
        return []
    from .job.timeline import scene_timeline

    camera = scene.camera
    mode = camera if isinstance(camera, str) else getattr(camera, "mode", "default")
    video = scene_timeline(scene).video_duration
    styles = f", style: {', '.join(scene.style)}" if scene.style else ""
    return [f"camera:    {mode}; video {video:.3g} s after time remapping{styles}"]


def _script_lines(scene: Scene) -> list[str]:
    """One line on the script: its actions by verb, and how many wait for a trigger."""
    if not scene.script:
        return []
    verbs = Counter(action.verb for action in scene.script)
    waiting = sum(action.when is not None or action.after is not None for action in scene.script)
    listed = ", ".join(f"{n} {verb}" for verb, n in verbs.most_common())
    return [f"script:    {len(scene.script)} actions ({listed}), {waiting} on triggers"]


def _joint_lines(assembly: Assembly) -> list[str]:
    if not assembly.joints:
        return []
    kinds = Counter(joint.kind for joint in assembly.joints)
    walkers = (
        f"; walkers: {', '.join(w.name for w in assembly.walkers)}" if assembly.walkers else ""
    )
    counts = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    return [f"joints:    {len(assembly.joints)} ({counts}){walkers}"]


def _screen(scene: Scene, path: Path, given: Path | None) -> None:
    """``SceneError`` if the scene uses a blocked file or name (when a registry is in use:
    ``--registry``, or the default one if it exists)."""
    registry_path = blocklist_command.registry_in_use(given)
    if registry_path is None:
        return
    from .rights.registry import Registry, RegistryError  # the fingerprints: only here
    from .rights.registry_check import screen

    try:
        with Registry(registry_path) as registry:
            screen(scene, path, registry)
    except RegistryError as error:
        raise UsageError(f"the blocklist: {error}") from None


def _blocked_prompt(prompt: str, given: Path | None) -> None:
    """``UsageError`` if a ``new`` prompt names something on the blocklist."""
    registry_path = blocklist_command.registry_in_use(given)
    if registry_path is None:
        return
    from .rights.registry import Registry, RegistryError
    from .rights.registry_check import prompt_issues

    try:
        with Registry(registry_path) as registry:
            problems = prompt_issues(prompt, registry)
    except RegistryError as error:
        raise UsageError(f"the blocklist: {error}") from None
    if problems:
        raise PromptRefused("; ".join(problems))


class PromptRefused(Exception):
    """A ``new`` prompt with a blocked name in it (exit 1)."""


def _cmd_info(args: argparse.Namespace) -> int:
    scene = load_scene(args.scene)
    assembly = assemble(scene)
    bodies = assembly.bodies
    world, timing = scene.world, scene.timing
    frames = video_frames(scene)
    types = Counter(body.body_type for body in bodies)
    kinds = Counter(body.kind for body in bodies)
    materials = Counter(body.material.name for body in bodies)
    lines = [
        f"scene:     {scene.name or args.scene.stem} ({args.scene})",
        f"world:     {world.size[0]:g} x {world.size[1]:g} m from ({world.origin[0]:g}, "
        f"{world.origin[1]:g}), gravity ({world.gravity[0]:g}, {world.gravity[1]:g}) m/s², "
        f"walls: {'yes' if world.walls else 'no'}",
        f"timing:    {timing.frame_count / timing.fps:g} s of simulation at {timing.fps} fps, "
        f"{timing.substeps} substeps (dt = {timing.dt * 1000:.3g} ms)",
        f"video:     {frames} frames = {frames / timing.fps:g} s"
        + (" (slow motion or time actions)" if frames != timing.frame_count else ""),
        f"seed:      {scene.seed}",
        *_camera_lines(scene),
        f"bodies:    {len(bodies)} ("
        + ", ".join(f"{n} {t}" for t, n in sorted(types.items()))
        + "): "
        + ", ".join(f"{n} {k}" for k, n in kinds.most_common()),
        "materials: " + ", ".join(f"{m} x{n}" for m, n in materials.most_common()),
        *_joint_lines(assembly),
        *_script_lines(scene),
        *_liquid_lines(scene),
        "",
        f"  {'name':<24} {'kind':<8} {'type':<10} {'material':<10} position",
    ]
    shown = 30
    for body in bodies[:shown]:
        x, y = body.position
        lines.append(
            f"  {body.name:<24} {body.kind:<8} {body.body_type:<10} "
            f"{body.material.name:<10} ({x:.3g}, {y:.3g})"
        )
    if len(bodies) > shown:
        lines.append(f"  ... and {len(bodies) - shown} more")
    _say("\n".join(lines))
    return EXIT_OK


def _cmd_preview(args: argparse.Namespace) -> int:
    scene = load_scene(args.scene, tuple(args.assets))  # errors reported like any command's
    clip_size = args.clip_size or SIZE_PRESETS[args.preset or default_size(scene)]
    from .job.pipeline import consent_scopes

    consent_scopes(scene, args.scene, tuple(args.assets))  # no personal face without consent
    # The window loop calls no Python from inside pymunk, so Ctrl-C may interrupt at once.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from .preview.app import NoDisplayError, preview  # pygame's window only for this command

    overlays = tuple(name for name in args.overlays.split(",") if name)
    try:
        code = preview(args.scene, args.size, clip_size=clip_size, inspect=args.inspect,
                       sound=not args.no_sound, play=args.play, overlays=overlays,
                       screenshot=args.screenshot, quit_after=args.quit_after,
                       assets=tuple(args.assets), watermark=not args.no_watermark,
                       sign=not args.no_sign)  # fmt: skip
    except NoDisplayError as error:
        _say(
            f"physics-scenes: cannot open a window: {error}. There is no display here; "
            f"use `physics-scenes render {args.scene}` to make a video instead.",
            error=True,
        )
        return EXIT_INPUT
    if code == EXIT_INTERRUPTED:
        raise KeyboardInterrupt
    return code


def _cmd_new(args: argparse.Namespace) -> int:
    try:
        _blocked_prompt(args.prompt, args.registry)
    except PromptRefused as error:
        _say(f"physics-scenes: refused: {error}", error=True)
        return EXIT_INPUT
    if args.llm:
        return _new_by_llm(args)
    from .scene.compose.build import compose

    result = compose(args.prompt)
    if args.explain:
        for line in result.explain:
            _say(f"  {line}", error=args.output is None)
    if result.skipped:
        _say(f"skipped (not understood): {', '.join(result.skipped)}", error=True)
    return _write_new(args, result.text)


def _new_by_llm(args: argparse.Namespace) -> int:
    from .scene.compose.llm import EndpointError, author

    if args.repairs < 0:
        raise UsageError("--repairs must be 0 or more")
    try:
        result = author(args.llm, args.prompt, json_schema(), model=args.model,
                        repairs=args.repairs)  # fmt: skip
    except EndpointError as error:
        _say(f"physics-scenes: the model endpoint failed: {error}", error=True)
        return EXIT_INPUT
    if args.explain:
        _say(f"  valid after {result.rounds} request(s) to {args.llm}", error=True)
    return _write_new(args, result.text)


def _write_new(args: argparse.Namespace, text: str) -> int:
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    if args.output.exists() and not args.overwrite:
        raise UsageError(f"{args.output} exists (use --overwrite to replace it)")
    temp = args.output.with_name(f".{args.output.name}.new")
    try:
        temp.write_text(text, encoding="utf-8")
        temp.replace(args.output)
    finally:
        temp.unlink(missing_ok=True)
    _say(f"wrote {args.output}")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _cmd_blocklist(args: argparse.Namespace) -> int:
    return blocklist_command.run(args, _say)


def _cmd_probe(args: argparse.Namespace) -> int:
    return probe_command.run(args, _scene_on_screen)


def _scene_on_screen(path: Path, width: int, height: int) -> Truth:
    """For ``probe --against``: the scene's moving bodies through its own camera."""
    import numpy as np

    from .job.clip import Clip
    from .probe.compare import Truth

    clip = Clip(load_scene(path), width, height, path.parent)
    rows = [i for i, b in enumerate(clip.layout.bodies) if b.body_type != "static"]
    pixels, scale = [], []
    for shown in clip.frames():
        pixels.append(shown.view.to_pixels(shown.frame.position[rows]))
        scale.append(shown.view.scale)
    names = tuple(clip.layout.bodies[i].name for i in rows)
    return Truth(names, np.array(pixels).reshape(len(pixels), len(rows), 2), np.array(scale))


class _StopRequests:
    """SIGINT, SIGTERM and SIGHUP stop the command at any moment, without a traceback.

    Outside the render's frame loop the handler raises KeyboardInterrupt at once (also
    while the sound is mastered, the video muxed or the outputs committed). Inside it
    (``deferred``), a signal only sets a flag that the loop checks after every frame: a
    KeyboardInterrupt raised inside one of pymunk's cffi callbacks is swallowed by cffi,
    and the render would run on. A second signal there interrupts at once. Once the
    interrupt is raised, further signals are ignored, so that the clean-up that deletes
    the partial outputs cannot itself be interrupted.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._deferred = False
        self._raised = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if self._raised or (self._deferred and first):
            return
        self._raised = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.signum is not None:
            self._raised = True
            raise KeyboardInterrupt

    def deferred(self) -> AbstractContextManager[None]:
        @contextmanager
        def scope() -> Iterator[None]:
            self._deferred = True
            try:
                yield
            finally:
                self._deferred = False

        return scope()


def _say(text: str, *, error: bool = False) -> None:
    print(printable(text), file=sys.stderr if error else sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {
        "render": _cmd_render,
        "validate": _cmd_validate,
        "info": _cmd_info,
        "schema": _cmd_schema,
        "new": _cmd_new,
        "preview": _cmd_preview,
        **cli_dataset.COMMANDS,
        **cli_story.COMMANDS,
        "probe": _cmd_probe,
        "verify": _cmd_verify,
        "keys": _cmd_keys,
        "portal": portal_command.run,
        "consent": consent_command.run,
        "blocklist": _cmd_blocklist,
    }
    stop = _StopRequests()
    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    args.stop = stop
    try:
        return commands[args.command](args)
    except SceneError as error:
        _say(error.report(), error=True)
        hint = _template_hint(args)
        if hint is not None:
            _say(hint, error=True)
        return EXIT_INPUT
    except (UsageError, cli_dataset.UsageError) as error:
        parser.print_usage(sys.stderr)
        _say(f"physics-scenes: error: {error}", error=True)
        return EXIT_USAGE
    except (ExportError, RenderError) as error:
        _say(f"physics-scenes: {error}", error=True)
        return EXIT_INPUT
    except OSError as error:
        _say(f"physics-scenes: cannot write output: {error}", error=True)
        return EXIT_INPUT
    except KeyboardInterrupt:
        code, message = interrupted(stop.signum)
        _say(message, error=True)
        return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
