"""A scene's personal faces and voices, checked against their consent records on disk.

``check_scene`` runs before a render opens any output: for every face or voice a scene
uses that is personal, it reads the consent record, the revocations (beside the record
and in the user's data folder), hashes the asset and asks ``consent.check``. It returns
what the manifest may say (the consents' ids and scopes), or raises ``CameoError`` with
the field path and the reason.

Keys: a person's Ed25519 key is a PEM file (``consent grant --key``/``--new-key``); the
*local consent key*, made on first use for a self-cameo, is ``consent-key.pem`` in the
configuration folder of ``keys init`` (0600). Revocations: ``consent revoke X.consent.json``
writes ``X.revoked.json`` beside the record and a copy in
``<data>/consent/revoked/<id>.json`` (``$PHYSICS_SCENES_DATA_DIR``, else
``$XDG_DATA_HOME/physics-scenes``, else ``~/.local/share/physics-scenes``): a copy of a
record that travels without its revocation is still refused on this machine.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ..output.provenance.keys import config_dir
from ..scene import files
from ..scene.model import Scene
from . import consent as cs
from .registry_path import data_dir

LOCAL_KEY = "consent-key.pem"
Loc = tuple[str | int, ...]


class CameoError(ValueError):
    """A personal asset that may not be used: where in the scene, and why."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc, self.message = loc, message


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` through a temporary name, so a reader never sees half a file."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.unlink(missing_ok=True)
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    temp.replace(path)


def write_file(path: Path, data: bytes) -> None:
    """A record or revocation, written atomically (0644)."""
    _write_private(path, data, 0o644)


def new_key(path: Path) -> ed25519.Ed25519PrivateKey:
    """A new Ed25519 key written to ``path`` (PEM, 0600); refuses to replace one."""
    if path.exists():
        raise cs.ConsentProblem(f"{path} exists; use --key to sign with it")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(path, pem, 0o600)
    return key


def load_key(path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except OSError as error:
        raise cs.ConsentProblem(f"{path}: {error.strerror}") from None
    except (ValueError, TypeError) as error:
        raise cs.ConsentProblem(f"{path}: not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise cs.ConsentProblem(f"{path}: a {type(key).__name__}; consents use Ed25519 keys")
    return key


def local_key(create: bool = False) -> ed25519.Ed25519PrivateKey | None:
    """This machine's consent key (made when ``create`` and missing)."""
    path = config_dir() / LOCAL_KEY
    if path.exists():
        return load_key(path)
    return new_key(path) if create else None


LENGTH_SLACK = 0.1
"""A recording's length may differ from the consented one's by this fraction (a
re-encode pads or trims a little); a longer file holding the recording is another one."""


def _prints(path: Path, kind: cs.AssetKind) -> tuple[str, dict[str, Any]]:
    """The file's SHA-256 and perceptual print as plain data (``rights.fingerprint``,
    which hashes the file as it reads it: one pass for both)."""
    from . import fingerprint as fp  # ImageHash, or ffmpeg's Chromaprint: only when used

    try:
        if kind == "image":
            image = fp.image_print(path)
            return image.sha256, {"phash": image.phash, "dhash": image.dhash,
                                  "width": image.width, "height": image.height,
                                  "crops": list(image.crops)}  # fmt: skip
        sound = fp.sound_print(path)
    except fp.FingerprintError as error:
        raise cs.ConsentProblem(str(error)) from None
    return sound.sha256, {"chromaprint": sound.codes, "seconds": sound.seconds}


def near_to(used: cs.Asset) -> Callable[[cs.Asset], str | None]:
    """How the used file compares with a record's asset: None for the same picture or
    recording (``fingerprint``'s thresholds), else how far apart they are."""

    def near(granted: cs.Asset) -> str | None:
        try:
            if used.kind == "image" and granted.kind == "image":
                return _image_far(used, granted)
            if used.kind == "sound" and granted.kind == "sound":
                return _sound_far(used, granted)
        except (KeyError, TypeError, ValueError):
            return "the record's perceptual print is malformed"
        return f"it is a {granted.kind}, not a {used.kind}"

    return near


def _image_far(used: cs.Asset, granted: cs.Asset) -> str | None:
    from . import fingerprint as fp

    a, b = used.prints, granted.prints
    mine = fp.ImagePrint(used.sha256, a["phash"], a["dhash"], a["width"], a["height"],
                         tuple(a["crops"]))  # fmt: skip
    theirs = fp.ImagePrint(granted.sha256, str(b["phash"]), str(b["dhash"]), int(b["width"]),
                           int(b["height"]), tuple(str(c) for c in b.get("crops", ())))  # fmt: skip
    if fp.image_matches(mine, theirs):
        return None
    p, d = fp.image_distance(mine, theirs)
    limits = f"at most {fp.PHASH_MAX} and {fp.DHASH_MAX}"
    return f"the perceptual hashes are {p} (pHash) and {d} (dHash) of 64 bits away ({limits})"


def _sound_far(used: cs.Asset, granted: cs.Asset) -> str | None:
    from . import fingerprint as fp

    a, b = used.prints, granted.prints
    mine = fp.SoundPrint(used.sha256, a["chromaprint"], float(a["seconds"]))
    theirs = fp.SoundPrint(granted.sha256, str(b["chromaprint"]), float(b["seconds"]))
    ratio = mine.seconds / max(theirs.seconds, 1e-9)
    ber = fp.sound_distance(mine, theirs)
    if ber <= fp.SOUND_BER and abs(ratio - 1) <= LENGTH_SLACK:
        return None
    return (
        f"the fingerprints differ in {ber:.0%} of their bits (the same recording: at most "
        f"{fp.SOUND_BER:.0%}) and it lasts {mine.seconds:.2f} s against {theirs.seconds:.2f} s"
    )


def describe_asset(path: Path, name: str) -> cs.Asset:
    """An asset's SHA-256 and perceptual print; ``ConsentProblem`` if it is neither a
    PNG/JPEG picture nor a WAV/FLAC/MP3 recording within the limits."""
    with open(path, "rb") as stream:
        head = stream.read(8)
    kind: cs.AssetKind = "image" if head.startswith((b"\x89PNG", b"\xff\xd8")) else "sound"
    if kind == "image":
        files.image_size(path, name)
    else:
        files.media_format(path, name)
    sha256, prints = _prints(path, kind)
    return cs.Asset(kind, sha256, name, prints)


def revocation_files(record_path: Path, consent_id: str) -> list[Path]:
    """Where a revocation of the record may be: beside it, and in the data folder."""
    stem = record_path.name.removesuffix(".json").removesuffix(".consent")
    return [record_path.with_name(f"{stem}.revoked.json"),
            data_dir() / "consent" / "revoked" / f"{consent_id}.json"]  # fmt: skip


def read_record(path: Path) -> cs.Record:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise cs.ConsentProblem(f"{path.name}: {error.strerror}") from None
    return cs.parse(data)


@dataclass(frozen=True, slots=True)
class Wearing:
    """One personal asset a scene uses: where, how, the files as written."""

    loc: Loc
    use: cs.Use
    asset: str
    consent: str | None
    personal: bool


def wearings(scene: Scene) -> list[Wearing]:
    """Faces and voices of figures, and narration voices with a consent, in file order."""
    found: list[Wearing] = []
    for index, body in enumerate(scene.bodies):
        face, voice = getattr(body, "face", None), getattr(body, "voice", None)
        if face is not None:
            found.append(Wearing(("bodies", index, "face"), "face", face.image, face.consent,
                                 face.personal))  # fmt: skip
        if voice is not None:
            found.append(Wearing(("bodies", index, "voice"), "voice", voice.file, voice.consent,
                                 voice.personal))  # fmt: skip
    for index, narration in enumerate(scene.audio.voice):
        if narration.consent is not None:
            found.append(Wearing(("audio", "voice", index), "voice", narration.file,
                                 narration.consent, True))  # fmt: skip
    return found


def check_scene(
    scene: Scene, root: files.Root, scene_file: Path | None, now: datetime.datetime
) -> list[dict[str, Any]]:
    """The scopes of the consents that allow every personal asset of ``scene`` (for the
    manifest), or ``CameoError`` at the first that is not allowed."""
    scopes: list[dict[str, Any]] = []
    names = tuple(n for n in (scene_file.stem if scene_file else None, scene.name) if n)
    mine = local_key()
    local = cs.public_raw(mine) if mine is not None else None
    for item in wearings(scene):
        if not item.personal:
            continue
        if item.consent is None:
            raise CameoError(item.loc, f"a personal {item.use} needs a consent record")
        try:
            asset_path = files.check(root, item.asset, "image" if item.use == "face" else "media")
            record_path = files.check(root, item.consent, "consent")
        except files.FileRefError as error:
            raise CameoError(item.loc, str(error)) from None
        try:
            record = read_record(record_path)
            revocations = tuple(
                p.read_bytes() for p in revocation_files(record_path, record.consent_id)
                if p.is_file()
            )  # fmt: skip
            asset = describe_asset(asset_path, item.asset)
            request = cs.Request(item.use, asset.sha256, near_to(asset), names, local)
            cs.check(record, request, now, revocations)
        except cs.ConsentProblem as error:
            raise CameoError((*item.loc, "consent"), f"{item.consent}: {error}") from None
        scopes.append({"use": item.use, **record.scope()})
    return scopes
