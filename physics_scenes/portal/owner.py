"""The owners' pages: log in with the token from ``portal --init``, then block assets and
names and see which clips rendered here used assets near theirs.

A browser logs in once (``POST /owner/login``): the portal answers with a session cookie
(random, HttpOnly, SameSite=Strict, kept only in this process's memory, so a restart
logs everyone out). The JSON API takes the token itself in ``Authorization: Bearer``.
Without either, owner pages answer with the login form and the API with 401.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .store import check_token, has_token
from .uploads import UploadRefused

if TYPE_CHECKING:
    from .app import Portal

COOKIE = "ps_owner"


class Owners:
    """Sessions of this process and the owner routes."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.sessions: set[str] = set()  # SHA-256 of each live session id

    def logged_in(self, request: Request) -> bool:
        if request.url.path.startswith("/api"):
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            return scheme.lower() == "bearer" and check_token(self.portal.config.data, token)
        session = request.cookies.get(COOKIE)
        return session is not None and _digest(session) in self.sessions

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
            upload_free = await _small_form(request)
        except UploadRefused as error:
            return self.portal.refused(request, error, "/owner")
        if not check_token(self.portal.config.data, upload_free.get("token")):
            return self.login_page(403, "That is not this portal's owner token.")
        session = secrets.token_urlsafe(32)
        self.sessions.add(_digest(session))
        response = RedirectResponse("/owner", 303)
        response.set_cookie(COOKIE, session, httponly=True, samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        session = request.cookies.get(COOKIE)
        if session is not None:
            self.sessions.discard(_digest(session))
        response = RedirectResponse("/owner", 303)
        response.delete_cookie(COOKIE)
        return response

    async def home(self, request: Request) -> Response:
        if not self.logged_in(request):
            return self.login_page()
        flash = request.query_params.get("done", "")
        return self.portal.page("owner.html", flash=flash, **self.overview())

    async def home_api(self, request: Request) -> Response:
        if not self.logged_in(request):
            return self.unauthorised()
        return JSONResponse(self.overview())

    def overview(self) -> dict[str, Any]:
        return {"assets": [], "names": [], "matches": []}

    def routes(self) -> list[Route]:
        return [
            Route("/owner", self.home),
            Route("/owner/login", self.login, methods=["POST"]),
            Route("/owner/logout", self.logout, methods=["POST"]),
            Route("/api/owner", self.home_api),
        ]


SMALL_FORM = 8192


async def _small_form(request: Request) -> dict[str, str]:
    """A url-encoded form of a few text fields (the login): at most ``SMALL_FORM`` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > SMALL_FORM:
            raise UploadRefused(413, f"a login form is at most {SMALL_FORM:,} bytes")
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:
        raise UploadRefused(400, "a login form has at most 10 fields") from None
    return {key: values[0] for key, values in fields.items()}


def _digest(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()


def owner_routes(portal: Portal) -> list[Route]:
    return Owners(portal).routes()
