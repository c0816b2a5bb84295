"""The ``story`` command of ``physics-scenes``: a story file (acts joined by transitions)
rendered to one MP4. Kept beside ``cli.py``, which adds it to its parser and reports its
errors like any other command's; the renderer is imported only inside the command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errors import RenderError


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, e.g. 1280x720, got {text!r}") from None
    if not (16 <= width <= 7680 and 16 <= height <= 7680) or width % 2 or height % 2:
        raise argparse.ArgumentTypeError("expected even sizes from 16 to 7680 pixels")
    return width, height


def add_commands(commands: Any) -> None:
    story = commands.add_parser(
        "story",
        help="render a story file: several scenes (acts) in one MP4, with transitions",
        description="A story file lists scene files as acts, each with the transition it "
        "comes in with (cut, crossfade, fade, wipe); the sound runs on across them.",
    )
    story.add_argument("story", type=Path, help="story file (YAML with a story: key)")
    story.add_argument("-o", "--output", type=Path, help="MP4 to write (default out/<name>.mp4)")
    story.add_argument("--size", type=_size, default=(1280, 720), help="WxH (default 1280x720)")
    story.add_argument("--quality", choices=("draft", "standard", "high"), default="standard")
    story.add_argument("--no-audio", action="store_true", help="no sound track")
    story.add_argument("--overwrite", action="store_true", help="replace existing output")
    story.add_argument("-q", "--quiet", action="store_true", help="no summary")
    story.add_argument(
        "--no-watermark", action="store_true",
        help="leave out the invisible marks in the picture and the sound (on by default)",
    )  # fmt: skip
    story.add_argument(
        "--watermark-key", type=Path, metavar="FILE",
        help="a secret (any file of 16 bytes or more): only its holder can detect or forge "
        "the marks (default: the public key)",
    )  # fmt: skip
    story.add_argument(
        "--sign-with", nargs=2, type=Path, metavar=("CERT", "KEY"),
        help="sign with this certificate chain and private key (PEM); default: the local "
        "identity, made the first time (as render makes it)",
    )  # fmt: skip
    story.add_argument("--no-sign", action="store_true",
                       help="write no C2PA content credentials (signed by default)")  # fmt: skip
    story.add_argument(
        "--registry", type=Path, metavar="PATH",
        help="the blocklist to check every act against (default: the user's, if it exists)",
    )  # fmt: skip


def _cmd_story(args: argparse.Namespace) -> int:
    from .job.story import render_story  # the renderer and encoder: only here
    from .rights.registry_path import registry_in_use

    path: Path = args.story
    output: Path = args.output or Path("out") / f"{path.stem}.mp4"
    if output.suffix.lower() != ".mp4":
        raise RenderError(f"-o {output}: a story is written as an MP4 (.mp4)")
    output.parent.mkdir(parents=True, exist_ok=True)
    width, height = args.size
    frames = render_story(path, output, width, height, sound=not args.no_audio,
                          quality=args.quality, overwrite=args.overwrite,
                          registry=registry_in_use(args.registry),
                          watermark=not args.no_watermark, watermark_key=_secret(args),
                          sign=_identity(args))  # fmt: skip
    if not args.quiet:
        print(f"wrote {output}: {frames} frames", file=sys.stderr)
    return 0


def _secret(args: argparse.Namespace) -> bytes | None:
    """``--watermark-key``'s secret (as ``render`` reads it), or None."""
    from .output.provenance.keys import watermark_secret

    if args.watermark_key is None:
        return None
    if args.no_watermark:
        raise RenderError("--watermark-key and --no-watermark cannot be used together")
    try:
        return watermark_secret(args.watermark_key)
    except ValueError as error:
        raise RenderError(str(error)) from None


def _identity(args: argparse.Namespace) -> Any:
    """``--sign-with``, else the local identity, made the first time (as ``render``)."""
    from .output.provenance.keys import signing_identity

    try:
        signing = signing_identity(args.sign_with, args.no_sign)
    except ValueError as error:
        raise RenderError(str(error)) from None
    if signing.note is not None and (signing.identity is None or not args.quiet):
        print(signing.note, file=sys.stderr)
    return signing.identity


COMMANDS = {"story": _cmd_story}
