"""The dataset commands of ``physics-scenes``: ``sample`` and ``batch``.

Kept beside ``cli.py`` (which adds them to its parser and reports their errors like any
other command's); the dataset machinery is imported only inside the commands.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .rights.command import add_registry_option, registry_in_use
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


def asset_folder(text: str) -> Path:
    """``--assets DIR``: an existing folder (a mistyped one would only show up later as
    "no file 'x.png' in the scene's folder or the --assets folders")."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no folder {text!r}")
    return path


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 10**9:
        raise argparse.ArgumentTypeError("expected a number from 1 to 1,000,000,000")
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

    batch = commands.add_parser(
        "batch",
        help="render items 0..N-1 of a template into a dataset folder (resumable)",
        description="Render a template's items into OUT/items/<index>/ (clip.mp4, states, "
        "metadata, item.json) and OUT/manifest.jsonl. Killed or stopped at any moment, the "
        "same command finishes the dataset with the same bytes. Items carry the invisible "
        "marks but are not signed (a signature differs on every run); manifest.jsonl holds "
        "every file's SHA-256.",
    )
    batch.add_argument("template", type=Path, help="template file (YAML)")
    batch.add_argument("--count", type=_count, required=True, metavar="N", help="items")
    batch.add_argument("--out", type=Path, required=True, metavar="DIR", help="dataset folder")
    batch.add_argument(
        "--workers",
        type=_count,
        metavar="K",
        help="processes (local engine) or CPUs of a local Ray (default: the machine's cores)",
    )
    batch.add_argument("--engine", choices=["local", "ray"], default="local",
                       help="local: a process pool (default); ray: Ray tasks")  # fmt: skip
    batch.add_argument(
        "--address", metavar="ADDR", help="with --engine ray: a running cluster ('auto', host:port)"
    )
    batch.add_argument(
        "--ray-temp-dir",
        type=Path,
        metavar="DIR",
        help="with --engine ray and no --address: the local Ray's session folder",
    )
    batch.add_argument("--global-seed", type=_seed, default=0, metavar="G",
                       help="the dataset's seed (default 0)")  # fmt: skip
    batch.add_argument("--size", default="256x256", metavar="WxH", help="default 256x256")
    batch.add_argument("--quality", choices=["draft", "standard", "high"], default="standard")
    batch.add_argument("--audio", action="store_true", help="give each clip its sound track")
    batch.add_argument("--no-truth", action="store_true",
                       help="no clip.truth.npz (instance ids, optical flow, boxes)")  # fmt: skip
    batch.add_argument("--fsync", action="store_true",
                       help="flush each item to the disk before and after its commit "
                       "(items survive a power cut; costs a few disk syncs an item)")  # fmt: skip
    batch.add_argument("--compression", choices=["gzip", "none"], default="gzip",
                       help="with --format hdf5: the frames in clip.h5 gzip'd (level 1, "
                       "default) or uncompressed (15x the bytes, ~2 ms less CPU a "
                       "clip)")  # fmt: skip
    batch.add_argument("--flow16", action="store_true",
                       help="optical flow as float16 (half the bytes; each value within "
                       "1/2048 of itself) instead of float32")  # fmt: skip
    batch.add_argument(
        "--format",
        choices=["folder", "webdataset", "hdf5"],
        default="folder",
        help="folder: a folder per clip (always written); webdataset: also tar shards; "
        "hdf5: also HDF5 shards",
    )
    batch.add_argument(
        "--video", choices=["mp4", "frames"], default=None,
        help="each clip's pictures: mp4 (H.264) or frames (the pictures as drawn, as an array: "
        "clip.npz, or clip.h5 with --format hdf5; no encoder); default frames for --format "
        "hdf5, else mp4",
    )  # fmt: skip
    batch.add_argument("--shard-size", type=_count, default=1000, metavar="N",
                       help="clips per shard (default 1000)")  # fmt: skip
    batch.add_argument(
        "--assets", type=asset_folder, action="append", default=[], metavar="DIR",
        help="a folder the template's pictures, faces, voices and music may also be in "
        "(repeatable)",
    )  # fmt: skip
    add_registry_option(batch)
    batch.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def cmd_sample(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    item = sample(template, args.index, args.global_seed)
    note = ""
    rules = template.rules
    if (rules.apart or rules.balance) and not rules.simulates:  # decided without physics
        from .job.dataset import chosen_draw

        chosen = chosen_draw(template, args.index, args.global_seed)
        if chosen is None:
            note = "# every draw breaks the template's rules: batch records it as rejected\n"
        elif chosen.attempt:
            item = chosen
            note = f"# draw {chosen.attempt}: the draws before it break the template's rules\n"
    values = ", ".join(f"{name} = {value!r}" for name, value in item.values.items())
    header = (
        f"# item {item.index} of {args.template.name} (template sha256 {template.sha256[:16]}, "
        f"global seed {args.global_seed}); its seed is {item.seed}\n"
        + note
        + (f"# variables: {values}\n" if values else "")
    )
    text = header + dump_yaml(dict(item.data))
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size: expected WIDTHxHEIGHT such as 256x256, got {text!r}") from None
    if not (16 <= width <= 7680 and 16 <= height <= 7680) or width % 2 or height % 2:
        raise UsageError("--size: width and height must be even, from 16 to 7680 pixels")
    return width, height


class UsageError(Exception):
    """A command line that cannot work (``cli`` reports it with exit 2)."""


def cmd_batch(args: argparse.Namespace) -> int:
    width, height = _size(args.size)
    if args.engine != "ray" and (args.address or args.ray_temp_dir):
        raise UsageError("--address and --ray-temp-dir go with --engine ray")
    from .job.engines.pool import ProcessPool, start_server

    workers = args.workers or os.cpu_count() or 1
    if args.engine == "local" and workers > 1:
        start_server()  # its imports on one core while this process does its own
    from .job.dataset import DatasetJob, run_dataset

    template = load_template(args.template)  # located errors before anything is written
    job = DatasetJob.of(
        template, args.out, args.count, global_seed=args.global_seed, width=width,
        height=height, quality=args.quality, audio=args.audio, fmt=args.format,
        video=args.video,
        truth=not args.no_truth, flow16=args.flow16, fsync=args.fsync,
        compression=args.compression,
        shard_size=args.shard_size,
        assets=tuple(args.assets),
        registry=registry_in_use(args.registry),
    )  # fmt: skip
    started = time.perf_counter()
    show = not args.quiet and sys.stderr.isatty()
    with contextlib.ExitStack() as stack:
        if args.engine == "ray":
            from .job.engines.ray_tasks import RayEngine

            engine: Any = stack.enter_context(
                RayEngine(args.workers, args.address, args.ray_temp_dir)
            )
        else:
            engine = ProcessPool(workers)
        update = stack.enter_context(_progress(show, f"batch {args.template.name}"))

        def progress(done: int, total: int) -> None:
            args.stop.check()  # a stop swallowed inside the physics is honoured between items
            update(done, total)

        result = run_dataset(job, engine, progress)
    seconds = time.perf_counter() - started
    if not args.quiet:
        print(
            f"{args.out}: {args.count} items ({result.rendered} rendered, {result.skipped} "
            f"already there) in {seconds:.1f} s; manifest {result.manifest}"
        )
    return 0


@contextlib.contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar with the items done and the time left (ETA), on a terminal, drawn
    twice a second: rich's default ten redraws a second cost the command ~27 ms of CPU a
    second (~0.9 ms a clip at 30 clips/s, as much as all its other work), taken from the
    workers; twice a second ~5 ms."""
    if not enabled:
        yield lambda done, total: None
        return
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(f"[bold]{escape(label)}", *columns, transient=True, refresh_per_second=2) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


COMMANDS = {"sample": cmd_sample, "batch": cmd_batch}
"""Command name → handler, merged into ``cli.main``'s table."""
