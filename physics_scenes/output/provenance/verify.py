"""``verify``: what a file says about where it came from, manifest and marks together.

A report per file: the C2PA manifest (none / trusted / untrusted / invalid, with the
SDK's reasons, the signer, the claims), the marks in picture and sound (found or not,
the content id, how sure), whether they agree, and a one-line verdict. Exit codes (the
highest over all files): 0 provenance found and consistent; 3 nothing found (no
manifest, no mark); 4 tampered or contradictory (an invalid manifest, a manifest and a
mark that disagree, or a file that does not match ``--scene``); 1 bad input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .credentials import NO_MANIFEST_FORMAT, ManifestReading, read
from .keys import trust_anchors
from .media import frames_of, sound_of
from .payload import MarkKey
from .picture import PictureReading, detect_picture
from .sound import SoundReading, detect_sound

EXIT_CONSISTENT, EXIT_NOTHING, EXIT_TAMPERED = 0, 3, 4


@dataclass
class Report:
    file: str
    manifest: ManifestReading
    picture: PictureReading | None
    sound: SoundReading | None
    scene: dict[str, Any] | None = None
    findings: list[str] = field(default_factory=list)
    status: int = EXIT_CONSISTENT

    @property
    def mark_id(self) -> str | None:
        ids = [r.payload for r in (self.picture, self.sound) if r is not None and r.payload]
        return ids[0] if ids else None

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "status": self.status, "verdict": self.findings,
            "manifest": asdict(self.manifest),
            "watermark": {
                "content_id": self.mark_id,
                "picture": asdict(self.picture) if self.picture is not None else None,
                "sound": asdict(self.sound) if self.sound is not None else None,
            },
            "scene": self.scene,
        }  # fmt: skip


def inspect(path: Path, key: MarkKey | None = None) -> Report:
    """Read ``path``'s manifest and marks (no scene comparison; see ``compare_scene``)."""
    key = key or MarkKey()
    manifest = read(path, trust_anchors())
    frames = list(frames_of(path))
    picture = detect_picture(frames, key) if frames else None
    samples = sound_of(path)
    sound = detect_sound(samples, key) if samples is not None else None
    report = Report(str(path), manifest, picture, sound)
    _judge(report)
    return report


def _judge(report: Report) -> None:
    manifest, found = report.manifest, report.findings
    claimed = (manifest.claims or {}).get("content_id")
    ids = {r.payload for r in (report.picture, report.sound) if r is not None and r.payload}
    if manifest.state == "none":
        why = [r for r in manifest.reasons if r != NO_MANIFEST_FORMAT]
        found.append("no manifest" + (f" ({why[0]})" if why else ""))
    elif manifest.state == "invalid":
        found.append("manifest INVALID (tampered): " + "; ".join(manifest.reasons))
        report.status = EXIT_TAMPERED
    else:
        who = manifest.signer or "unknown signer"
        trust = {
            "trusted": "valid, signer certified by this machine's local root CA",
            "untrusted": "valid, signer not trusted here",
            "valid": "valid",
        }[manifest.state]
        found.append(f"manifest {trust} (signed by {who})")
        for scope in manifest.consents:
            found.append(
                f"used with consent {scope.get('id')} ({', '.join(scope.get('uses', []))} in "
                f"{', '.join(scope.get('scenes', []))}; expires {scope.get('expires')})"
            )
        claims = manifest.claims or {}
        author = claims.get("scene_author")
        if isinstance(author, dict):
            model, where = author.get("model"), author.get("endpoint")
            prompt = author.get("prompt_sha256")
            found.append(f"scene written by a language model: {model} at {where} "
                         f"(prompt sha256 {prompt})")  # fmt: skip
        for name, digest in sorted((claims.get("fonts_sha256") or {}).items()):
            found.append(f"font drawn: {name} (sha256 {digest})")
    if len(ids) > 1:
        found.append(f"picture and sound marks disagree: {sorted(ids)}")
        report.status = EXIT_TAMPERED
    if ids:
        mark = sorted(ids)[0]
        found.append(f"watermark says: physics_scenes clip {mark}")
        if claimed and claimed != mark and manifest.state != "invalid":
            found.append(f"the manifest claims clip {claimed}, the watermark says {mark}")
            report.status = EXIT_TAMPERED
        elif claimed == mark:
            found.append("manifest and watermark agree")
    else:
        found.append("no watermark found")
        if (manifest.claims or {}).get("watermark_keyed"):
            found.append("the manifest says the marks are keyed: give --watermark-key to read them")
        if manifest.state == "none":
            report.status = max(report.status, EXIT_NOTHING)


def compare_scene(report: Report, run_hash: str, content_id: str) -> None:
    """Add what re-simulating the scene gave: does the file still match it?"""
    claimed = (report.manifest.claims or {}).get("run_hash")
    mark = report.mark_id
    checks: dict[str, Any] = {"run_hash": run_hash, "content_id": content_id}
    if claimed is not None:
        checks["manifest_run_hash_matches"] = claimed == run_hash
    if mark is not None:
        checks["watermark_matches"] = mark == content_id
    matches = [v for k, v in checks.items() if k.endswith("matches")]
    report.scene = checks
    if not matches:
        report.findings.append("nothing in the file to compare with the scene")
    elif all(matches):
        how = "re-simulated run hash" if claimed is not None else "watermark's content id"
        report.findings.append(f"matches the scene ({how})")
    else:
        report.findings.append("does NOT match the scene")
        report.status = EXIT_TAMPERED
