"""Agent authentication: bearer tokens for the API, an HttpOnly cookie for the desk page.

Tokens are 256 random bits shown once by `agent add`; the store keeps only their SHA-256.
The desk's cookie carries the token itself (HttpOnly, SameSite=Strict); requests that
change something and come with the cookie must also carry a CSRF token derived from it,
which the page reads from its own HTML and sends back in a header or form field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from aiohttp import web

from bot.http import STORE

COOKIE: Final = "desk_session"
CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FIELD: Final = "csrf"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"desk-csrf", hashlib.sha256).hexdigest()


async def authenticate(request: web.Request) -> str | None:
    """The agent's name, or None: from `Authorization: Bearer`, or from the desk cookie
    (with the CSRF token on unsafe methods)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return await request.app[STORE].agent_for(hash_token(token.strip()))
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.content_type == "application/x-www-form-urlencoded":
            given = str((await request.post()).get(CSRF_FIELD, ""))
        if not given or not hmac.compare_digest(given, csrf_token(cookie)):
            return None
    return await request.app[STORE].agent_for(hash_token(cookie))
