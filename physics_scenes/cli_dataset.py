"""The dataset commands of ``physics-scenes``: ``sample`` and ``batch``.

Kept beside ``cli.py`` (which adds them to its parser and reports their errors like any
other command's); the dataset machinery is imported only inside the commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .scene.loader import dump_yaml
from .scene.template import MAX_SEED, load_template, sample


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError("expected a number from 0 to 2**63 - 1")
    return value


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sample`` and ``batch`` to the command's subparsers."""
    sample_cmd = commands.add_parser(
        "sample",
        help="print one item of a scene template as a concrete scene file",
        description="Draw item N of a template (its distributions, variables and repeats) "
        "and print the concrete scene as YAML, ready for `render`.",
    )
    sample_cmd.add_argument("template", type=Path, help="template file (YAML)")
    sample_cmd.add_argument(
        "--seed",
        "--index",
        dest="index",
        type=_seed,
        default=0,
        metavar="N",
        help="which item (0, 1, 2, ...; default 0)",
    )
    sample_cmd.add_argument(
        "--global-seed",
        type=_seed,
        default=0,
        metavar="G",
        help="the dataset's seed (default 0): item N's seed comes from the template's hash, "
        "G and N only",
    )
    sample_cmd.add_argument("-o", "--output", type=Path, help="write to this file")


def cmd_sample(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    item = sample(template, args.index, args.global_seed)
    values = ", ".join(f"{name} = {value!r}" for name, value in item.values.items())
    header = (
        f"# item {item.index} of {args.template.name} (template sha256 {template.sha256[:16]}, "
        f"global seed {args.global_seed}); its seed is {item.seed}\n"
        + (f"# variables: {values}\n" if values else "")
    )
    text = header + dump_yaml(dict(item.data))
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


COMMANDS = {"sample": cmd_sample}
"""Command name → handler, merged into ``cli.main``'s table."""
