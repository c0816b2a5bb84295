"""Consent records: a person's signed permission to use their face or voice.

A record is a small JSON document: a ``consent`` object (who, which asset by SHA-256 and
perceptual hash, which uses, which scenes, whether others may use it, expiry, an id and
the Ed25519 public key that signs it) and a ``signature`` over its canonical JSON
(sorted keys, no spaces, UTF-8). ``check`` answers one question before a render: may
this asset be used this way in this scene now? Each refusal is a ``ConsentProblem``
whose message names what is missing.

What a valid signature proves: the record is unchanged since the holder of its key
signed it. It does not prove that the key holder is the person in the picture; that is
why ``others_may_use: false`` records are honoured only on the machine holding their
key (the local consent key, see ``keys``), and why the protections are documented as
limited in the README ("Cameo and consent").

>>> import datetime
>>> from cryptography.hazmat.primitives.asymmetric import ed25519
>>> key = ed25519.Ed25519PrivateKey.generate()
>>> terms = Terms("Ada", ("face",), ("demo*",), False,
...               datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
>>> record = sign_record(key, Asset("image", "ab" * 32, None, "me.png"), terms, "c-1",
...                      datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
>>> parse(encode(record)).consent_id, verify_signature(parse(encode(record)))
('c-1', True)
"""

from __future__ import annotations

import base64
import datetime
import fnmatch
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "physics-scenes-consent/1"
REVOCATION_FORMAT = "physics-scenes-consent-revocation/1"
USES = ("face", "voice")
MAX_RECORD_BYTES = 64 * 1024
"""A consent record is a few hundred bytes; anything this large is not one."""
PERCEPTUAL_NEAR = 16
"""Bits (of 128: pHash and dHash, 64 each) by which two pictures may differ and still be
the same picture resized or re-encoded. Measured on the drawn test face: resized 0, JPEG
at quality 85 15 (its pHash is fragile: a symmetric cartoon has many DCT coefficients
near the median; its dHash did not move); a noise picture 61, the face upside down 36."""

Use = Literal["face", "voice"]
AssetKind = Literal["image", "sound"]


class ConsentProblem(ValueError):
    """Why an asset may not be used; the message names what is missing or wrong."""


@dataclass(frozen=True, slots=True)
class Asset:
    """What a record is about: its kind, SHA-256 (hex), perceptual hashes (hex pHash
    and dHash of 64 bits, images only) and the file name it was granted for."""

    kind: AssetKind
    sha256: str
    phash: str | None
    name: str
    dhash: str | None = None


@dataclass(frozen=True, slots=True)
class Terms:
    """What the person allows."""

    person: str
    uses: tuple[str, ...]
    scenes: tuple[str, ...]
    """Scene names or globs (``fnmatch``), matched against the scene file's stem and its
    ``name:``."""
    others_may_use: bool
    expires: datetime.datetime


@dataclass(frozen=True, slots=True)
class Record:
    """A parsed record: its fields, the signed bytes and the signature."""

    consent_id: str
    asset: Asset
    terms: Terms
    issued: datetime.datetime
    public_key: bytes
    """Raw 32-byte Ed25519 public key."""
    body: Mapping[str, Any]
    signature: bytes

    def scope(self) -> dict[str, Any]:
        """What a manifest may say about it: the id and the scope, not the person."""
        return {
            "id": self.consent_id,
            "uses": list(self.terms.uses),
            "scenes": list(self.terms.scenes),
            "others_may_use": self.terms.others_may_use,
            "expires": _stamp(self.terms.expires),
            "asset_sha256": self.asset.sha256,
            "key_sha256": hashlib.sha256(self.public_key).hexdigest(),
        }


def canonical(value: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str, what: str) -> datetime.datetime:
    """An ISO date or date-time; a date alone means the end of that day (UTC)."""
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            return datetime.datetime.combine(day, datetime.time(23, 59, 59), datetime.UTC)
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConsentProblem(f"{what}: {text!r} is not a date (YYYY-MM-DD) or ISO time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def public_raw(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_record(
    key: ed25519.Ed25519PrivateKey,
    asset: Asset,
    terms: Terms,
    consent_id: str,
    issued: datetime.datetime,
) -> dict[str, Any]:
    """The JSON document of a new record (``encode`` it to write it)."""
    for use in terms.uses:
        if use not in USES:
            raise ConsentProblem(f"unknown use {use!r}; expected {' or '.join(USES)}")
    body = {
        "format": FORMAT,
        "id": consent_id,
        "person": terms.person,
        "asset": {
            "kind": asset.kind,
            "sha256": asset.sha256,
            "phash": asset.phash,
            "dhash": asset.dhash,
            "name": asset.name,
        },
        "uses": list(terms.uses),
        "scenes": list(terms.scenes),
        "others_may_use": terms.others_may_use,
        "issued": _stamp(issued),
        "expires": _stamp(terms.expires),
        "key": base64.b64encode(public_raw(key)).decode(),
    }
    signature = key.sign(canonical(body))
    return {"consent": body, "signature": base64.b64encode(signature).decode()}


def encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"


def _field(body: Mapping[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind):
        raise ConsentProblem(f"not a consent record: field {name!r} missing or malformed")
    return value


def parse(data: bytes) -> Record:
    """A record from its bytes; ``ConsentProblem`` if it is not one (the signature is
    checked by ``verify_signature``)."""
    if len(data) > MAX_RECORD_BYTES:
        raise ConsentProblem(f"not a consent record: {len(data):,} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConsentProblem(f"not a consent record: not JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("consent"), dict):
        raise ConsentProblem("not a consent record: no 'consent' object")
    body = document["consent"]
    if body.get("format") != FORMAT:
        raise ConsentProblem(f"not a consent record: format {body.get('format')!r}")
    raw_asset = _field(body, "asset", dict)
    try:
        public_key = base64.b64decode(_field(body, "key", str), validate=True)
        signature = base64.b64decode(_field(document, "signature", str), validate=True)
    except ValueError:
        raise ConsentProblem("not a consent record: key or signature is not base64") from None
    kind = _field(raw_asset, "kind", str)
    if kind not in ("image", "sound"):
        raise ConsentProblem(f"not a consent record: asset kind {kind!r}")
    phash = raw_asset.get("phash")
    dhash = raw_asset.get("dhash")
    asset = Asset(kind, _field(raw_asset, "sha256", str),
                  phash if isinstance(phash, str) else None, str(raw_asset.get("name", "")),
                  dhash if isinstance(dhash, str) else None)  # fmt: skip
    terms = Terms(
        _field(body, "person", str),
        tuple(str(u) for u in _field(body, "uses", list)),
        tuple(str(s) for s in _field(body, "scenes", list)),
        bool(_field(body, "others_may_use", bool)),
        parse_time(_field(body, "expires", str), "expires"),
    )
    issued = parse_time(_field(body, "issued", str), "issued")
    return Record(_field(body, "id", str), asset, terms, issued, public_key, body, signature)


def verify_signature(record: Record) -> bool:
    """Whether the record's signature verifies with its own key over its own body."""
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(record.public_key)
        key.verify(record.signature, canonical(record.body))
    except (ValueError, InvalidSignature):
        return False
    return True


def revocation(key: ed25519.Ed25519PrivateKey, record: Record, when: datetime.datetime
               ) -> dict[str, Any]:  # fmt: skip
    """A signed revocation of ``record``, by the key that signed it."""
    if public_raw(key) != record.public_key:
        raise ConsentProblem(
            f"consent {record.consent_id}: only the key that signed a consent can revoke it"
        )
    body = {"format": REVOCATION_FORMAT, "revokes": record.consent_id, "revoked": _stamp(when),
            "key": base64.b64encode(record.public_key).decode()}  # fmt: skip
    return {"revocation": body, "signature": base64.b64encode(key.sign(canonical(body))).decode()}


def revoked_by(data: bytes, record: Record) -> str | None:
    """The time a revocation document revokes ``record`` at, or None if it is about
    another record; ``ConsentProblem`` if it names the record but does not verify
    (refused rather than guessed)."""
    try:
        document = json.loads(data.decode("utf-8"))
        body = document["revocation"]
        if body.get("revokes") != record.consent_id:
            return None
        signature = base64.b64decode(document["signature"], validate=True)
        key = ed25519.Ed25519PublicKey.from_public_bytes(record.public_key)
        key.verify(signature, canonical(body))
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None
    except (ValueError, InvalidSignature):
        raise ConsentProblem(
            f"consent {record.consent_id}: a revocation names it but its signature does not "
            f"verify; remove the revocation file or ask the person"
        ) from None
    return str(body.get("revoked", "?"))


@dataclass(frozen=True, slots=True)
class Request:
    """One use of an asset by a scene: what the renderer is about to do."""

    use: Use
    sha256: str
    hashes: tuple[str, str] | None
    """The asset's (pHash, dHash), images only."""
    scene_names: tuple[str, ...]
    """The scene file's stem and its ``name:`` (any may match a scope's glob)."""
    local_key: bytes | None
    """The raw public key of this machine's consent key, if there is one."""


def bits_apart(a: str, b: str) -> int:
    """Bits by which two hex hashes differ."""
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def check(record: Record, request: Request, now: datetime.datetime,
          revocations: tuple[bytes, ...]) -> None:  # fmt: skip
    """Raise ``ConsentProblem`` naming the first reason ``record`` does not allow
    ``request`` at ``now``: forged or edited, revoked, expired, another asset, another
    use, another scene, or another person's private record."""
    cid = record.consent_id
    if not verify_signature(record):
        raise ConsentProblem(
            f"consent {cid}: the signature does not match its contents (edited or forged)"
        )
    for data in revocations:
        when = revoked_by(data, record)
        if when is not None:
            raise ConsentProblem(f"consent {cid} was revoked at {when}")
    if now > record.terms.expires:
        raise ConsentProblem(f"consent {cid} expired at {_stamp(record.terms.expires)}")
    if now < record.issued - datetime.timedelta(minutes=5):
        raise ConsentProblem(f"consent {cid} is issued in the future ({_stamp(record.issued)})")
    _check_asset(record, request)
    if request.use not in record.terms.uses:
        raise ConsentProblem(
            f"consent {cid} allows {', '.join(record.terms.uses) or 'no use'}, not {request.use}"
        )
    names = [n for n in request.scene_names if n]
    if not any(fnmatch.fnmatchcase(n, g) for n in names for g in record.terms.scenes):
        raise ConsentProblem(
            f"consent {cid} covers scenes {', '.join(record.terms.scenes) or '(none)'}, "
            f"not {' / '.join(names) or 'an unnamed scene'}"
        )
    if not record.terms.others_may_use and request.local_key != record.public_key:
        raise ConsentProblem(
            f"consent {cid} is for its signer's own use only (others_may_use: false) and "
            f"this machine's consent key is not the one that signed it"
        )


def _check_asset(record: Record, request: Request) -> None:
    asset = record.asset
    if asset.sha256 == request.sha256:
        return
    if asset.phash is not None and asset.dhash is not None and request.hashes is not None:
        distance = bits_apart(asset.phash, request.hashes[0])
        distance += bits_apart(asset.dhash, request.hashes[1])
        if distance <= PERCEPTUAL_NEAR:
            return
        raise ConsentProblem(
            f"consent {record.consent_id} is for another picture ({asset.name!r}): the "
            f"SHA-256 differs and the perceptual hashes are {distance} of 128 bits away "
            f"(at most {PERCEPTUAL_NEAR} for the same picture)"
        )
    raise ConsentProblem(
        f"consent {record.consent_id} is for another file ({asset.name!r}): its SHA-256 differs"
    )
