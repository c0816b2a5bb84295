"""The portal's web app (Starlette): the ``verify`` report as a page, and as JSON.

Every page has a JSON twin under ``/api``: ``POST /verify`` (a form with a ``file``
field) renders the report that ``POST /api/verify`` (the same form, or the file's raw
bytes as the body) returns as JSON. The report is ``output.provenance.verify``'s own,
computed on the uploaded file; this module only receives, renders and deletes. Pages are
server-rendered HTML (Jinja2, autoescaped: names and claims from a file are text, never
markup) with no script, so they work without a build step.

>>> app = make_app(PortalConfig(Path("/tmp/ps-portal-doc")))
>>> sorted(r.path for r in app.routes)[:3]
['/', '/api', '/api/owner']
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .store import UPLOADS
from .uploads import ACCEPTED, Upload, UploadRefused, receive

T = TypeVar("T")

DEFAULT_LIMIT = 200 * 1000 * 1000
"""Uploads above this many bytes are refused (``--max-upload``)."""

HEADLINES = {
    0: ("verified", "Verified: provenance found and consistent"),
    3: ("nothing", "No provenance found"),
    4: ("tampered", "TAMPERED or contradictory: do not trust this file's claims"),
}


@dataclass(frozen=True)
class PortalConfig:
    """Where the portal keeps its files and how large an upload may be."""

    data: Path
    max_upload: int = DEFAULT_LIMIT
    registry: Path | None = None
    """The blocklist registry; None: ``registry.sqlite3`` in ``data``."""
    uploads: int = 4
    """How many uploads may be received at once (more get 503)."""


class Portal:
    """The app's routes over one configuration (no module-level state)."""

    def __init__(self, config: PortalConfig) -> None:
        self.config = config
        self.templates = Environment(
            loader=FileSystemLoader(Path(__file__).parent / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self.limiter = anyio.CapacityLimiter(1)  # one decode at a time: they are CPU-bound
        self.receiving = 0  # uploads being received now (one event loop: no lock needed)

    # --- rendering ------------------------------------------------------------------

    def page(self, name: str, code: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("limit_text", f"{self.config.max_upload / 1e6:g} MB")
        values.setdefault("accepted", ACCEPTED)
        return HTMLResponse(self.templates.get_template(name).render(**values), code)

    def refused(self, request: Request, error: UploadRefused, back: str = "/") -> Response:
        body = {"error": error.message, "status": error.status}
        if error.status == 413:
            body["limit_bytes"] = self.config.max_upload
        if request.url.path.startswith("/api"):
            return JSONResponse(body, error.status)
        titles = {413: "Upload too large", 415: "Not a media file", 422: "Cannot read this file",
                  404: "Not found", 503: "Busy"}  # fmt: skip
        title = titles.get(error.status, "Cannot check this upload")
        return self.page("error.html", error.status, status=error.status, title=title,
                         message=error.message, back=back)  # fmt: skip

    # --- uploads --------------------------------------------------------------------

    async def upload(self, request: Request) -> Upload:
        """Receive one upload; at most ``config.uploads`` at a time (the disk they may take
        is bounded by that times the limit), else 503."""
        if self.receiving >= self.config.uploads:
            raise UploadRefused(503, "the portal is busy with other uploads: try again soon")
        name = Path(request.query_params.get("name", "upload")).name or "upload"
        self.receiving += 1
        try:
            return await receive(
                request.stream(), request.headers.get("content-type", ""),
                request.headers.get("content-length"), self.config.data / UPLOADS,
                self.config.max_upload, name,
            )  # fmt: skip
        finally:
            self.receiving -= 1

    async def in_thread(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking work (decoding, the registry) in a worker thread, one at a time."""
        return await anyio.to_thread.run_sync(work, *args, limiter=self.limiter)

    async def checked(self, request: Request) -> dict[str, Any]:
        """Receive the upload, make its report, delete it."""
        upload = await self.upload(request)
        try:
            return await self.in_thread(_report, upload)
        finally:
            upload.path.unlink(missing_ok=True)

    # --- routes ---------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        return self.page("index.html", base_url=str(request.base_url))

    async def api_index(self, request: Request) -> Response:
        return JSONResponse({
            "limit_bytes": self.config.max_upload, "accepted": ACCEPTED,
            "endpoints": {
                "POST /api/verify": "the verify report of an uploaded file (form field "
                                    "'file', or the raw bytes with ?name=FILE)",
                "GET /api/owner": "blocked assets and names, clips near them (owner token)",
                "POST /api/owner/assets": "block an image or sound (owner token)",
                "POST /api/owner/names": "block a name or mark (owner token)",
                "DELETE /api/owner/entries/{id}": "remove a blocklist entry (owner token)",
            },
        })  # fmt: skip

    async def verify_page(self, request: Request) -> Response:
        try:
            result = await self.checked(request)
        except UploadRefused as error:
            return self.refused(request, error)
        css, headline = HEADLINES.get(result["report"]["status"], HEADLINES[4])
        report = result["report"]
        return self.page(
            "report.html", upload=result["upload"], report=report, css=css, headline=headline,
            claims=_rows(report["manifest"].get("claims")),
        )  # fmt: skip

    async def verify_api(self, request: Request) -> Response:
        try:
            result = await self.checked(request)
        except UploadRefused as error:
            return self.refused(request, error)
        status = result["report"]["status"]
        result["headline"] = HEADLINES.get(status, HEADLINES[4])[1]
        return JSONResponse(result)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index),
            Route("/api", self.api_index),
            Route("/verify", self.verify_page, methods=["POST"]),
            Route("/api/verify", self.verify_api, methods=["POST"]),
        ]


def _report(upload: Upload) -> dict[str, Any]:
    """``verify``'s report on the upload (in a worker thread), without server paths."""
    from ..output.provenance.verify import inspect
    from ..scene.files import sha256 as sha256_file  # (no c2pa to load for a hash)

    try:
        report = inspect(upload.path).as_json()
    except Exception as error:  # a decoder's failure on a file that only looked like media
        report = _manifest_only(upload, f"{type(error).__name__}: {str(error)[:300]}")
    report["file"] = upload.name
    return {
        "upload": {"name": upload.name, "kind": upload.kind, "size": upload.size,
                   "sha256": sha256_file(upload.path)},
        "report": report,
    }  # fmt: skip


def _manifest_only(upload: Upload, why: str) -> dict[str, Any]:
    """When the media cannot be decoded (an edit broke it), its manifest still speaks:
    ``verify``'s own judgement on the manifest alone; with no manifest either, 422."""
    from ..output.provenance.credentials import read
    from ..output.provenance.keys import trust_anchors
    from ..output.provenance.verify import Report, _judge

    manifest = read(upload.path, trust_anchors())
    unreadable = manifest.signer is None and manifest.claims is None
    if manifest.state == "none" or (unreadable and not _holds_c2pa(upload.path)):
        raise UploadRefused(
            422, f"{upload.name!r} looks like a {upload.kind} but could not be decoded: {why}"
        )
    report = Report(str(upload.path), manifest, None, None)
    _judge(report)
    report.findings.append(f"the media could not be decoded ({why}): no watermark was read")
    return report.as_json()


def _holds_c2pa(path: Path) -> bool:
    """Whether the file holds a C2PA block at all (a damaged manifest, not plain garbage)."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if b"c2pa" in tail + chunk:
                return True
            tail = chunk[-3:]
    return False


def _rows(claims: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The manifest's claims as table rows (values that are not text as JSON)."""
    return [(k, v if isinstance(v, str) else _text(v)) for k, v in sorted((claims or {}).items())]


def _text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


def make_app(config: PortalConfig) -> Starlette:
    """The ASGI app for uvicorn (or any ASGI server). Files left in ``uploads/`` by a
    portal that was killed mid-upload are deleted first."""
    for leftover in (config.data / UPLOADS).glob("*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    portal = Portal(config)
    from .owner import owner_routes

    return Starlette(routes=[*portal.routes(), *owner_routes(portal)])
