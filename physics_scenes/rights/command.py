"""``physics-scenes blocklist``: its arguments and what it prints. Light to import: the
fingerprints (ImageHash, SciPy, ffmpeg) load only when an action needs them.

Exit codes: 0 done (``check``: the scenes use nothing blocked), 1 bad input (a file that
is not an image or a sound, a bad JSON file, an unknown id, a scene that uses a blocked
asset or name), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .registry_path import default_path, registry_in_use

__all__ = ["add_parser", "add_registry_option", "registry_in_use", "run"]

EXIT_OK, EXIT_INPUT = 0, 1


def add_registry_option(parser: argparse.ArgumentParser) -> None:
    """``--registry PATH`` on a command that checks scenes (render, validate, new)."""
    parser.add_argument(
        "--registry",
        type=Path,
        metavar="PATH",
        help="the blocklist to check files and texts against (default: "
        f"{default_path()}, if it exists)",
    )


def add_parser(commands: Any) -> None:
    """The ``blocklist`` subcommand on ``commands`` (argparse's subparsers)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry", type=Path, metavar="PATH",
        help=f"the registry's SQLite file (default: {default_path()})",
    )  # fmt: skip
    blocklist = commands.add_parser(
        "blocklist",
        help="assets and names their owners withhold: add, list, remove, share, check",
        description="The owners' blocklist: images and sounds (by SHA-256 and perceptual "
        "print: resized, recompressed, slightly cropped or recoloured copies still match) "
        "and names (whole words, any case or accents). A scene using one is refused before "
        "rendering. Exit 0 done, 1 bad input or a blocked scene, 2 usage.",
    )
    actions = blocklist.add_subparsers(dest="blocklist_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[common], help="block an image or sound file")
    add.add_argument("file", type=Path)
    name = actions.add_parser("add-name", parents=[common], help="block a name or mark")
    name.add_argument("text")
    for action in (add, name):
        action.add_argument("--owner", required=True, help="who owns it")
        action.add_argument("--reason", required=True, help="why it is blocked")
    listing = actions.add_parser("list", parents=[common], help="list the entries")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    remove = actions.add_parser("remove", parents=[common], help="remove an entry by id")
    remove.add_argument("id")
    export = actions.add_parser("export", parents=[common], help="write the entries as JSON")
    export.add_argument("file", type=Path)
    imported = actions.add_parser("import", parents=[common], help="add entries from JSON")
    imported.add_argument("file", type=Path)
    check = actions.add_parser("check", parents=[common], help="check scenes against it")
    check.add_argument("scenes", type=Path, nargs="+")
    uses = actions.add_parser(
        "uses", parents=[common], help="renders here that used assets near an entry"
    )
    uses.add_argument("id")


def run(args: argparse.Namespace, say: Callable[..., None]) -> int:
    """Run ``blocklist ACTION``; ``say(text, error=False)`` prints (escaped by the CLI).
    A blocked scene raises the loader's ``SceneError``, reported by the CLI."""
    from ..scene.loader import load_scene
    from .registry import Registry, RegistryError
    from .registry_check import screen

    path = args.registry if args.registry is not None else default_path()
    action = args.blocklist_command
    if action not in ("add", "add-name", "import") and not path.exists():
        # reading a registry never makes one: a mistyped --registry would be an empty
        # blocklist, and 'check' would say a scene "uses nothing on the blocklist"
        say(f"physics-scenes: no blocklist at {path} ('blocklist add', 'add-name' or "
            "'import' makes one)", error=True)  # fmt: skip
        return EXIT_INPUT
    existed = path.exists()
    try:
        with Registry(path) as registry:
            if action == "add":
                entry = registry.add_file(args.file, args.owner, args.reason)
                say(f"{entry.id}: {entry.kind} {entry.label!r} blocked for {entry.owner}")
            elif action == "add-name":
                entry = registry.add_name(args.text, args.owner, args.reason)
                say(f"{entry.id}: name {entry.label!r} blocked for {entry.owner}")
            elif action == "list":
                for entry in registry.entries():
                    if args.json:
                        data = {k: v for k, v in entry.to_json().items() if k != "print"}
                        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
                    else:
                        say(f"{entry.id}  {entry.kind:5}  {entry.label!r}  owner {entry.owner}"
                            f"  added {entry.added}  ({entry.reason})")  # fmt: skip
            elif action == "remove":
                entry = registry.remove(args.id)
                say(f"removed {entry.id} ({entry.kind} {entry.label!r})")
            elif action == "export":
                say(f"wrote {registry.export_json(args.file)} entries to {args.file}")
            elif action == "import":
                new, known = registry.import_json(args.file)
                say(f"imported {new} entries from {args.file} ({known} already here)")
            elif action == "uses":
                found = registry.uses_near(args.id)
                for use in found:
                    say(f"{use.content_id}  {use.scene}  {use.field}={use.ref!r}  "
                        f"{use.rendered}  {use.rule}")  # fmt: skip
                say(f"{len(found)} use(s) of assets near {args.id}")
            else:
                for scene_path in args.scenes:
                    screen(load_scene(scene_path), scene_path, registry)
                    say(f"{scene_path}: uses nothing on the blocklist")
    except RegistryError as error:
        if not existed:  # a first add or import that failed leaves no empty registry behind
            path.unlink(missing_ok=True)
        say(f"physics-scenes: {error}", error=True)
        return EXIT_INPUT
    return EXIT_OK
