"""``physics-scenes portal``: make the owner token, or serve the portal with uvicorn.

Binds to 127.0.0.1 unless told otherwise: the portal is for this machine. Serving it on
another address is allowed (``--host 0.0.0.0``) with a warning, since it then takes
uploads from the network (still size-limited, never executed, deleted after checking).
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from .store import data_dir, has_token, init_token

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    portal = commands.add_parser(
        "portal",
        help="serve the local verification portal (verify reports as pages, owner blocklist)",
        description="A local web app: drop a video, image or sound to see its provenance "
        "(manifest, signature, watermark, consent); owners log in with the token from "
        "--init to block assets and names.",
    )
    portal.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    portal.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    portal.add_argument("--data", type=Path, metavar="DIR", help="the portal's data directory")
    portal.add_argument(
        "--registry",
        type=Path,
        metavar="FILE",
        help="the blocklist (default DIR/registry.sqlite3)",
    )
    portal.add_argument(
        "--max-upload", type=float, default=200.0, metavar="MB", help="upload limit (default 200)"
    )
    portal.add_argument(
        "--init", action="store_true", help="make a new owner token, print it once, and exit"
    )


def run(args: argparse.Namespace) -> int:
    folder = data_dir(args.data)
    if args.init:
        replaced = has_token(folder)
        token = init_token(folder)
        print(f"owner token (shown once; only its SHA-256 is kept in {folder}):\n{token}")
        if replaced:
            print("the previous owner token no longer works")
        return 0
    if not 0 < args.max_upload <= 100_000:
        print("physics-scenes: --max-upload must be more than 0 and at most 100000 (MB)",
              file=sys.stderr)  # fmt: skip
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    try:
        listener = socket.create_server((args.host, args.port), family=family)
    except OSError as error:
        reason = error.strerror or error
        print(f"physics-scenes: cannot listen on {args.host}:{args.port}: {reason}",
              file=sys.stderr)  # fmt: skip
        return 1
    import uvicorn

    from .app import PortalConfig, make_app

    if args.host not in LOOPBACK:
        print(f"warning: serving on {args.host}: anyone who can reach it can upload files",
              file=sys.stderr)  # fmt: skip
    app = make_app(PortalConfig(folder, int(args.max_upload * 1e6), args.registry))
    print(f"physics_scenes portal on http://{args.host}:{args.port}/ (data in {folder})")
    with listener:
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listener])
    return 0
