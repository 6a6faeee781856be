"""Agent authentication: bearer tokens for the API, a session cookie for the desk page.

Tokens are 256 random bits shown once by `agent add` (or to an admin in the desk); the
store keeps only their SHA-256. Signing in to the desk with a token opens a session: the
browser's HttpOnly, SameSite=Strict cookie holds a random session id, the store its hash
and its end. A session lasts BOT_DESK_SESSION_HOURS without use, each use renews it, and
signing out or removing the agent ends it at once. Requests that change something and come
with the cookie must also carry a CSRF token derived from it, which the page reads from
its own HTML and sends back in a header or form field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from aiohttp import web

from bot.http import SETTINGS, STORE
from bot.store import Identity

COOKIE: Final = "desk_session"
CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FIELD: Final = "csrf"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_SECRET: Final = 200  # tokens and session ids are 43 characters; far longer is neither


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session: str) -> str:
    return hmac.new(session.encode(), b"desk-csrf", hashlib.sha256).hexdigest()


def session_lifetime(request: web.Request) -> float:
    return request.app[SETTINGS].bot_desk_session_hours * 3600.0


def over_https(request: web.Request) -> bool:
    """Did the browser reach us over TLS (directly, behind our trusted proxy, or as the
    public address says)? Then the cookie is Secure."""
    settings = request.app[SETTINGS]
    if request.secure or (settings.bot_public_url or "").startswith("https://"):
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    return settings.bot_trust_proxy and forwarded == "https"


async def identify(request: web.Request) -> Identity | None:
    """The calling agent and their role, or None: from `Authorization: Bearer`, or from the
    desk's session cookie (with the CSRF token on unsafe methods)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_SECRET:
            return None
        return await request.app[STORE].identity_for(hash_token(token))
    cookie = request.cookies.get(COOKIE)
    if not cookie or len(cookie) > MAX_SECRET:
        return None
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.content_type == "application/x-www-form-urlencoded":
            given = str((await request.post()).get(CSRF_FIELD, ""))
        if not given or not hmac.compare_digest(given, csrf_token(cookie)):
            return None
    return await request.app[STORE].session(hash_token(cookie), session_lifetime(request))


async def authenticate(request: web.Request) -> str | None:
    """The calling agent's name, or None (see `identify`)."""
    found = await identify(request)
    return None if found is None else found.name
