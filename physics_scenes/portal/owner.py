"""The owners' pages: log in with the token from ``portal --init``, then block assets and
names and see which clips rendered here used assets near theirs.

A browser logs in once (``POST /owner/login``): the portal answers with a session cookie
(random, HttpOnly, SameSite=Strict, kept only in this process's memory, so a restart
logs everyone out, and bound to the token it was made with, so ``portal --init`` does
too). The JSON API takes the token itself in ``Authorization: Bearer``. Without either,
owner pages answer with the login form and the API with 401.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .store import check_token, digest, has_token, registry_path, stored_digest
from .uploads import Upload, UploadRefused

if TYPE_CHECKING:
    from ..rights.registry import Entry, Registry
    from .app import Portal

COOKIE = "ps_owner"


class Owners:
    """Sessions of this process and the owner routes."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.sessions: dict[str, str] = {}  # SHA-256 of a session id → its token's SHA-256

    def logged_in(self, request: Request) -> bool:
        if request.url.path.startswith("/api"):
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            return scheme.lower() == "bearer" and check_token(self.portal.config.data, token)
        session = request.cookies.get(COOKIE)
        if session is None or digest(session) not in self.sessions:
            return False
        return self.sessions[digest(session)] == stored_digest(self.portal.config.data)

    def login_page(self, status: int = 200, message: str = "") -> Response:
        ready = has_token(self.portal.config.data)
        return self.portal.page("login.html", status, message=message, ready=ready)

    def unauthorised(self) -> Response:
        return JSONResponse(
            {"error": "owner token required: send 'Authorization: Bearer TOKEN' (the token "
             "printed by 'physics-scenes portal --init')", "status": 401}, 401,
        )  # fmt: skip

    async def login(self, request: Request) -> Response:
        try:
            fields = await _small_form(request)
        except UploadRefused as error:
            return self.portal.refused(request, error, "/owner")
        if not check_token(self.portal.config.data, fields.get("token")):
            return self.login_page(403, "That is not this portal's owner token.")
        session = secrets.token_urlsafe(32)
        self.sessions[digest(session)] = stored_digest(self.portal.config.data) or ""
        response = RedirectResponse("/owner", 303)
        response.set_cookie(COOKIE, session, httponly=True, samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        session = request.cookies.get(COOKIE)
        if session is not None:
            self.sessions.pop(digest(session), None)
        response = RedirectResponse("/owner", 303)
        response.delete_cookie(COOKIE)
        return response

    async def home(self, request: Request) -> Response:
        if not self.logged_in(request):
            return self.login_page()
        flash = request.query_params.get("done", "")
        overview = await self.portal.in_thread(self.overview)
        return self.portal.page("owner.html", flash=flash, **overview)

    async def home_api(self, request: Request) -> Response:
        if not self.logged_in(request):
            return self.unauthorised()
        return JSONResponse(await self.portal.in_thread(self.overview))

    def overview(self) -> dict[str, Any]:
        """Every entry, each asset with the renders here that used something near it."""
        with self.registry() as registry:
            entries = []
            for entry in registry.entries():
                uses = [asdict(use) for use in registry.uses_near(entry.id)]
                entries.append({**_public(entry), "uses_near": uses})
        return {
            "registry": str(self.registry_path),
            "assets": [e for e in entries if e["kind"] != "name"],
            "names": [e for e in entries if e["kind"] == "name"],
        }

    @property
    def registry_path(self) -> Path:
        return registry_path(self.portal.config.data, self.portal.config.registry)

    def registry(self) -> Registry:
        from ..rights.registry import Registry

        return Registry(self.registry_path)

    async def add_asset(self, request: Request) -> Response:
        """Block an uploaded image or sound (form fields ``file``, ``owner``, ``reason``)."""
        if not self.logged_in(request):
            return self._denied(request)
        try:
            upload = await self.portal.upload(request)
        except UploadRefused as error:
            return self.portal.refused(request, error, "/owner")
        try:
            fields = upload.fields
            entry = await self.portal.in_thread(
                self._add_file, upload, fields.get("owner", ""), fields.get("reason", "")
            )
        except UploadRefused as error:
            return self.portal.refused(request, error, "/owner")
        finally:
            upload.path.unlink(missing_ok=True)
        return self._added(request, entry)

    def _add_file(self, upload: Upload, owner: str, reason: str) -> dict[str, Any]:
        """The registry's own ``add_file``, on the upload under its own (cleaned) name."""
        from ..rights.registry import RegistryError

        folder = upload.path.parent / secrets.token_hex(8)
        folder.mkdir(mode=0o700)
        named = folder / _safe_name(upload.name)
        upload.path.replace(named)
        try:
            with self.registry() as registry:
                return _public(registry.add_file(named, owner, reason))
        except RegistryError as error:
            message = str(error).replace(str(named), repr(upload.name))
            raise UploadRefused(422, f"cannot block this file: {message}") from None
        finally:
            named.unlink(missing_ok=True)
            folder.rmdir()

    async def add_name(self, request: Request) -> Response:
        """Block a name or mark (fields ``name``, ``owner``, ``reason``; a form, or JSON
        for the API)."""
        if not self.logged_in(request):
            return self._denied(request)
        try:
            fields = await _small_form(request)
            entry = await self.portal.in_thread(self._add_name, fields)
        except UploadRefused as error:
            return self.portal.refused(request, error, "/owner")
        return self._added(request, entry)

    def _add_name(self, fields: dict[str, str]) -> dict[str, Any]:
        from ..rights.registry import RegistryError

        try:
            with self.registry() as registry:
                entry = registry.add_name(
                    fields.get("name", ""), fields.get("owner", ""), fields.get("reason", "")
                )
        except RegistryError as error:
            raise UploadRefused(422, f"cannot block this name: {error}") from None
        return _public(entry)

    async def remove(self, request: Request) -> Response:
        """Remove an entry: ``POST /owner/remove`` (field ``id``) or
        ``DELETE /api/owner/entries/{id}``."""
        if not self.logged_in(request):
            return self._denied(request)
        try:
            if "id" in request.path_params:
                entry_id = str(request.path_params["id"])
            else:
                entry_id = (await _small_form(request)).get("id", "")
            entry = await self.portal.in_thread(self._remove, entry_id)
        except UploadRefused as error:
            return self.portal.refused(request, error, "/owner")
        if request.url.path.startswith("/api"):
            return JSONResponse(entry)
        done = f"Removed {entry['kind']} {entry['label']!r} ({entry['id']})"
        return RedirectResponse(f"/owner?{urlencode({'done': done})}", 303)

    def _remove(self, entry_id: str) -> dict[str, Any]:
        from ..rights.registry import RegistryError

        try:
            with self.registry() as registry:
                return _public(registry.remove(entry_id))
        except RegistryError as error:
            raise UploadRefused(404, str(error)) from None

    def _denied(self, request: Request) -> Response:
        if request.url.path.startswith("/api"):
            return self.unauthorised()
        return self.login_page(401, "Log in with the owner token first.")

    def _added(self, request: Request, entry: dict[str, Any]) -> Response:
        if request.url.path.startswith("/api"):
            return JSONResponse(entry, 201)
        done = f"Blocked {entry['kind']} {entry['label']!r} ({entry['id']})"
        return RedirectResponse(f"/owner?{urlencode({'done': done})}", 303)

    def routes(self) -> list[Route]:
        return [
            Route("/owner", self.home),
            Route("/owner/login", self.login, methods=["POST"]),
            Route("/owner/logout", self.logout, methods=["POST"]),
            Route("/owner/assets", self.add_asset, methods=["POST"]),
            Route("/owner/names", self.add_name, methods=["POST"]),
            Route("/api/owner", self.home_api),
            Route("/api/owner/assets", self.add_asset, methods=["POST"]),
            Route("/api/owner/names", self.add_name, methods=["POST"]),
            Route("/owner/remove", self.remove, methods=["POST"]),
            Route("/api/owner/entries/{id}", self.remove, methods=["DELETE"]),
        ]


def _public(entry: Entry) -> dict[str, Any]:
    """An entry as shown: everything but the print's bits."""
    return {"id": entry.id, "kind": entry.kind, "label": entry.label, "owner": entry.owner,
            "reason": entry.reason, "added": entry.added, "sha256": entry.sha256}  # fmt: skip


def _safe_name(name: str) -> str:
    """A file name to show: letters, digits, ``._-`` and spaces, at most 100 characters."""
    cleaned = re.sub(r"[^\w.\- ]", "_", Path(name).name).strip(" .")[:100]
    return cleaned or "upload"


SMALL_FORM = 8192


async def _small_form(request: Request) -> dict[str, str]:
    """A url-encoded form (or, for the API, a JSON object) of a few text fields: at most
    ``SMALL_FORM`` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > SMALL_FORM:
            raise UploadRefused(413, f"a form of text fields is at most {SMALL_FORM:,} bytes")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError as error:
            raise UploadRefused(400, f"the body is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise UploadRefused(400, "the body must be a JSON object of text fields")
        wrong = sorted(key for key, value in data.items() if not isinstance(value, str))
        if wrong:
            raise UploadRefused(400, f"field {wrong[0]!r} must be text (a JSON string)")
        return dict(data)
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:
        raise UploadRefused(400, "a login form has at most 10 fields") from None
    return {key: values[0] for key, values in fields.items()}


def owner_routes(portal: Portal) -> list[Route]:
    return Owners(portal).routes()
