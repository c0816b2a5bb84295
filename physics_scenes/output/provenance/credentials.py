"""C2PA content credentials: the signed manifest, written last and read back by ``verify``.

The manifest says what the file is (``c2pa.created``, digitalSourceType
*algorithmicMedia*: a simulation drew it, no model trained on data), what made it (the
generator and its version) and from what (the scene's hash, the seed, the run hash, the
SHA-256 of the unsigned bytes, the content id in the marks, every file the scene used
as an ingredient). The signature is tamper-evident: one changed byte of the media and
the manifest no longer validates. It is also strippable, which the in-signal marks are
not. Signatures carry random salts, so signed files differ from run to run; the unsigned
bytes (whose SHA-256 the manifest records) stay deterministic.
"""

from __future__ import annotations

import datetime
import json
import mmap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa

from ...scene import files
from .keys import Identity

ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"
CLAIM_LABEL = "org.physics_scenes.render"
CONSENT_LABEL = "org.physics_scenes.consent"
"""The consents a render used (id and scope of each, given by ``job`` as plain data:
this package does not read consent records)."""
MIME = {".mp4": "video/mp4", ".gif": "image/gif", ".png": "image/png", ".wav": "audio/wav",
        ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}  # fmt: skip
INGREDIENT_MIME = {**MIME, ".ttf": "font/ttf", ".otf": "font/otf", ".yaml": "application/yaml",
                   ".yml": "application/yaml", ".json": "application/json"}  # fmt: skip
"""Ingredients are declared by name and format (fonts, the scene file when a model wrote it)."""
NO_MANIFEST_FORMAT = "not a format that carries a manifest"
SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}
"""No embedded thumbnail: it would add ~20 KB to every PNG frame."""


def signable(path: Path) -> bool:
    return path.suffix.lower() in (".mp4", ".gif", ".png", ".wav")


def _context(identity: Identity | None = None, anchors: bytes | None = None) -> c2pa.Context:
    settings: dict[str, Any] = dict(SETTINGS)
    if anchors is not None:
        settings["trust"] = {"trust_anchors": anchors.decode()}
    made = c2pa.Settings.from_dict(settings)
    return c2pa.Context(made)


def _signer(identity: Identity) -> c2pa.Signer:
    algorithm = getattr(c2pa.C2paSigningAlg, identity.algorithm())
    info = c2pa.C2paSignerInfo(algorithm, identity.chain, identity.key, None)
    return c2pa.Signer.from_info(info)


def manifest_for(
    path: Path,
    claims: Mapping[str, Any],
    version: str,
    unsigned_sha256: str,
    consents: Sequence[Mapping[str, Any]] = (),
    when: str | None = None,
) -> dict[str, Any]:
    """The manifest definition (JSON) for one output file; ``consents``: the scopes of
    the consent records the render was allowed by (an assertion of their own); ``when``:
    the signing machine's UTC time, stated by the signer (no time-stamp authority attests
    it: nothing goes to the network)."""
    agent = {"name": "physics_scenes", "version": version}
    extra = [{"label": CONSENT_LABEL, "data": {"consents": [dict(c) for c in consents]}}]
    return {
        "claim_generator_info": [agent],
        "title": path.name,
        "format": MIME[path.suffix.lower()],
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": ALGORITHMIC_MEDIA,
                "softwareAgent": agent,
                "description": "rendered from a physics simulation of a scene file",
                **({"when": when} if when is not None else {}),
            }]}},
            {"label": CLAIM_LABEL, "data": {**claims, "unsigned_sha256": unsigned_sha256}},
            *(extra if consents else []),
        ],
    }  # fmt: skip


def sign(
    path: Path,
    identity: Identity,
    claims: Mapping[str, Any],
    version: str,
    ingredients: Sequence[Path] = (),
    consents: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Embed a signed manifest in ``path`` (through a file beside it, then renamed over)."""
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    definition = manifest_for(path, claims, version, files.sha256(path), consents, now)
    signed = path.with_name(path.name + ".signed" + path.suffix)
    try:
        with c2pa.Builder(definition, _context()) as builder:
            for ingredient in ingredients:
                mime = INGREDIENT_MIME.get(ingredient.suffix.lower())
                if mime is None:
                    continue  # other files: listed (with SHA-256) in the claims
                relation = "inputTo" if mime.startswith("application/") else "componentOf"
                with ingredient.open("rb") as stream:
                    builder.add_ingredient(
                        {"title": ingredient.name, "relationship": relation}, mime, stream
                    )
            with _signer(identity) as signer:
                builder.sign_file(path, signed, signer)
        signed.replace(path)
    finally:
        signed.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class ManifestReading:
    """What a reader found. ``state``: 'none' (no manifest), 'trusted' (valid, signed by a
    certificate the reader trusts), 'untrusted' (valid, but the signer is not known to the
    reader: our local identity, unless its root is given), 'valid' or 'invalid' (the
    media or the manifest changed since signing; ``reasons`` say what)."""

    state: str
    reasons: tuple[str, ...] = ()
    signer: str | None = None
    signed_at: str | None = None
    claims: Mapping[str, Any] | None = None
    generator: str | None = None
    source_type: str | None = None
    ingredients: tuple[str, ...] = ()
    consents: tuple[Mapping[str, Any], ...] = ()
    """The consent assertion's entries: id and scope of each consent the render used."""
    created_at: str | None = None
    """When the signer says it made the file (its own clock: signed, not attested)."""


def read(path: Path, anchors: bytes | None = None) -> ManifestReading:
    """Read and validate ``path``'s manifest (``anchors``: root certificates to trust); a
    folder of PNG frames is read by its first frame."""
    if path.is_dir():
        frames = sorted(path.glob("frame_*.png"))
        if not frames:
            return ManifestReading("none", ("a folder without PNG frames",))
        path = frames[0]
    mime = MIME.get(path.suffix.lower())
    if mime is None or not path.is_file():
        return ManifestReading("none", (NO_MANIFEST_FORMAT,))
    try:
        with (
            path.open("rb") as stream,
            c2pa.Reader(mime, stream, context=_context(None, anchors)) as reader,
        ):
            store = json.loads(reader.json())
            state = str(reader.get_validation_state() or "")
    except c2pa.C2paError as error:
        text = str(error)
        if "ManifestNotFound" in text or "JumbfNotFound" in text or "no JUMBF" in text.lower():
            return ManifestReading("none")
        if not _holds_manifest_store(path):  # a damaged or mislabelled file, never signed
            shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in text)
            return ManifestReading("none", (f"not a readable {path.suffix[1:]} file: {shown}",))
        return ManifestReading("invalid", (text,))
    return _reading(store, state)


def _holds_manifest_store(path: Path) -> bool:
    """Whether ``path`` looks like it held a C2PA manifest store where the SDK cannot
    parse it: a JUMBF box (``jumb``) or a ``c2pa`` label among its bytes (either survives
    damage to the other; random bytes hold one by chance about once in 10⁶ per 5 KB)."""
    with path.open("rb") as file:
        if path.stat().st_size == 0:
            return False
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(b"jumb") >= 0 or data.find(b"c2pa") >= 0


def _reading(store: dict[str, Any], state: str) -> ManifestReading:
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    failures = [
        f"{item.get('code')}: {item.get('explanation', '')}".strip()
        for item in store.get("validation_status", []) or []
    ]
    results = store.get("validation_results", {}).get("activeManifest", {})
    seen = {text.split(":")[0] for text in failures}
    failures += [
        f"{i.get('code')}" for i in results.get("failure", []) if i.get("code") not in seen
    ]
    informational = [f"{i.get('code')}" for i in results.get("informational", [])]
    claims: dict[str, Any] | None = None
    source_type = created_at = None
    consents: tuple[Mapping[str, Any], ...] = ()
    for assertion in active.get("assertions", []):
        if assertion.get("label") == CLAIM_LABEL:
            claims = assertion.get("data")
        if assertion.get("label") == CONSENT_LABEL:
            listed = assertion.get("data", {}).get("consents", [])
            consents = tuple(c for c in listed if isinstance(c, dict))
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                if action.get("action") == "c2pa.created":
                    source_type = action.get("digitalSourceType")
                    created_at = action.get("when")
    signature = active.get("signature_info", {})
    generator = ", ".join(
        f"{g.get('name')} {g.get('version', '')}".strip()
        for g in active.get("claim_generator_info", [])
    )
    untrusted = [f for f in failures if f.startswith("signingCredential.untrusted")]
    broken = [f for f in failures if f not in untrusted]
    if broken:
        kind, reasons = "invalid", broken
    elif untrusted:
        kind, reasons = "untrusted", untrusted[:1]
    else:
        kind, reasons = ("trusted" if state.lower() == "trusted" else "valid"), informational
    return ManifestReading(
        kind, tuple(dict.fromkeys(reasons)),
        signature.get("common_name") or signature.get("issuer"),
        signature.get("time"), claims, generator or None, source_type,
        tuple(i.get("title", "") for i in active.get("ingredients", [])), consents, created_at,
    )  # fmt: skip
