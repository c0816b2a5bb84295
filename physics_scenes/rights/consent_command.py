"""``physics-scenes consent grant | revoke | show``: make, withdraw and read consent records.

Light: the parser needs nothing but argparse; the work imports ``cryptography`` (and
``imagehash`` for pictures) only when a command runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import uuid
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_INPUT = 0, 1


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    consent = commands.add_parser(
        "consent", help="grant, revoke or show a person's consent to use their face or voice"
    )
    actions = consent.add_subparsers(dest="consent_command", required=True, metavar="ACTION")
    grant = actions.add_parser(
        "grant",
        help="sign a consent record for a picture (face) or recording (voice)",
        description="Signed with --key (an Ed25519 PEM), a new key with --new-key, or this "
        "machine's local consent key (made on first use) for a self-cameo.",
    )
    grant.add_argument("asset", type=Path, help="the picture or recording (PNG/JPEG/WAV/...)")
    grant.add_argument("--name", required=True, help="who: a name or pseudonym")
    grant.add_argument("--uses", default="face", help="comma-separated: face, voice")
    grant.add_argument(
        "--scenes", default="*", help="comma-separated scene names or globs (default: all)"
    )
    grant.add_argument("--expires", required=True, help="YYYY-MM-DD (end of day, UTC) or ISO")
    grant.add_argument(
        "--others", action="store_true", help="others may use it (default: the signer only)"
    )
    keys = grant.add_mutually_exclusive_group()
    keys.add_argument("--key", type=Path, help="the person's Ed25519 private key (PEM)")
    keys.add_argument("--new-key", type=Path, help="make the person's key here (0600), use it")
    grant.add_argument("-o", "--output", type=Path, required=True, help="X.consent.json")
    grant.add_argument("--overwrite", action="store_true", help="replace an existing record")
    revoke = actions.add_parser(
        "revoke",
        help="withdraw a consent: a signed revocation beside it and in the data folder",
    )
    revoke.add_argument("record", type=Path, help="the X.consent.json to revoke")
    revoke.add_argument("--key", type=Path, help="the key that signed it (default: local)")
    show = actions.add_parser("show", help="print a record and whether it verifies")
    show.add_argument("record", type=Path)
    show.add_argument("--json", action="store_true", help="machine-readable")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def run(args: argparse.Namespace) -> int:
    """Run the chosen action; problems are printed, never raised."""
    from . import consent as cs

    try:
        if args.consent_command == "grant":
            return _grant(args)
        if args.consent_command == "revoke":
            return _revoke(args)
        return _show(args)
    except cs.ConsentProblem as error:
        print(f"physics-scenes consent: {error}", file=sys.stderr, flush=True)
        return EXIT_INPUT


def _key(args: argparse.Namespace) -> Any:
    from . import consent_check as cc

    if getattr(args, "new_key", None) is not None:
        return cc.new_key(args.new_key)
    if args.key is not None:
        return cc.load_key(args.key)
    return cc.local_key(create=args.consent_command == "grant")


def _grant(args: argparse.Namespace) -> int:
    from . import consent as cs
    from . import consent_check as cc

    uses = tuple(u.strip() for u in args.uses.split(",") if u.strip())
    scenes = tuple(s.strip() for s in args.scenes.split(",") if s.strip())
    if not args.name.strip():
        raise cs.ConsentProblem("--name: who the record is for, a name or pseudonym (not empty)")
    expires = cs.parse_time(args.expires, "--expires")
    now = _now()
    if expires <= now:
        raise cs.ConsentProblem(f"--expires {args.expires} is in the past")
    if args.output.exists() and not args.overwrite:
        raise cs.ConsentProblem(f"{args.output} exists (use --overwrite to replace it)")
    if not args.asset.is_file():
        raise cs.ConsentProblem(f"{args.asset}: no such file")
    try:
        asset = cc.describe_asset(args.asset, args.asset.name)
    except ValueError as error:
        raise cs.ConsentProblem(str(error)) from None
    if "face" in uses and asset.kind != "image":
        raise cs.ConsentProblem(f"{args.asset}: a face must be a PNG or JPEG picture")
    if "voice" in uses and asset.kind != "sound":
        raise cs.ConsentProblem(f"{args.asset}: a voice must be a WAV, FLAC or MP3 recording")
    terms = cs.Terms(args.name, uses, scenes, args.others, expires)
    record = cs.sign_record(_key(args), asset, terms, f"consent-{uuid.uuid4().hex}", now)
    cc.write_file(args.output, cs.encode(record))
    body = record["consent"]
    print(
        f"wrote {args.output}: consent {body['id']} for {args.name}, "
        f"{', '.join(uses)} in {', '.join(scenes)}, until {body['expires']}"
    )
    return EXIT_OK


def _read(path: Path) -> Any:
    """The record at ``path``; a problem with it names the file."""
    from . import consent as cs
    from . import consent_check as cc

    try:
        return cc.read_record(path)
    except cs.ConsentProblem as error:
        named = str(error).startswith(f"{path.name}:")
        raise cs.ConsentProblem(str(error) if named else f"{path}: {error}") from None


def _revoke(args: argparse.Namespace) -> int:
    from . import consent as cs
    from . import consent_check as cc

    record = _read(args.record)
    if not cs.verify_signature(record):
        raise cs.ConsentProblem(f"{args.record}: the signature does not match (edited?)")
    key = _key(args)
    if key is None:
        raise cs.ConsentProblem("no --key and no local consent key on this machine")
    data = cs.encode(cs.revocation(key, record, _now()))
    written = []
    for path in cc.revocation_files(args.record, record.consent_id):
        path.parent.mkdir(parents=True, exist_ok=True)
        cc.write_file(path, data)
        written.append(str(path))
    print(f"revoked consent {record.consent_id}: wrote {' and '.join(written)}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from . import consent as cs
    from . import consent_check as cc

    record = _read(args.record)
    valid = cs.verify_signature(record)
    revoked = None
    for path in cc.revocation_files(args.record, record.consent_id):
        if path.is_file():
            revoked = cs.revoked_by(path.read_bytes(), record) or revoked
    expired = _now() > record.terms.expires
    if args.json:
        print(json.dumps({**record.body, "signature_valid": valid, "revoked": revoked,
                          "expired": expired}, indent=2))  # fmt: skip
    else:
        t = record.terms
        print(f"consent {record.consent_id}\n  person: {t.person}\n  asset: {record.asset.name} "
              f"({record.asset.kind}, sha256 {record.asset.sha256[:16]}…)\n"
              f"  uses: {', '.join(t.uses)}; scenes: {', '.join(t.scenes)}; others may use: "
              f"{'yes' if t.others_may_use else 'no'}\n  expires: {record.body['expires']}"
              f"{' (expired)' if expired else ''}\n  signature: {'valid' if valid else 'INVALID'}"
              f"\n  revoked: {revoked or 'no'}")  # fmt: skip
    return EXIT_OK if valid and not revoked and not expired else EXIT_INPUT
