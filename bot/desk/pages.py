"""The desk's web page: sign-in form, sign-out, the desk itself and its static files.

The page is a Jinja2 template (autoescaped: a second environment, apart from the answers'
one) and a little plain JavaScript that talks to the JSON agent API with the session
cookie. Customer text never goes through the templates: the script inserts it as text.
"""

from __future__ import annotations

import hmac
from importlib import resources
from typing import Final
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.desk.auth import (
    COOKIE,
    CSRF_FIELD,
    MAX_SECRET,
    csrf_token,
    hash_token,
    identify,
    new_token,
    over_https,
    session_lifetime,
)
from bot.http import ENGINE, STORE
from bot.store import StoreError

TEMPLATES = web.AppKey("desk_templates", jinja2.Environment)

# The only files served under /desk/static/, with their types: nothing else is reachable.
STATIC: Final[dict[str, str]] = {
    "desk.js": "text/javascript",
    "desk.css": "text/css",
}

# Scripts and styles come from our own files only: even a slip in the page could not run
# a customer's markup.
SECURITY_HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts say Origin: null
    "Cache-Control": "no-store",
}

MAX_TOKEN = MAX_SECRET


def add_routes(app: web.Application) -> None:
    """Serve the desk under /desk."""
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.desk", "templates"),
        autoescape=True,  # every desk template is HTML
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    app.router.add_get("/desk", desk)
    app.router.add_post("/desk/login", login)
    app.router.add_post("/desk/logout", logout)
    app.router.add_get("/desk/static/{name}", static)


async def desk(request: web.Request) -> web.Response:
    """The desk when the cookie holds a live session, else the sign-in form."""
    session = request.cookies.get(COOKIE)
    # The page works with the cookie only (a bearer header alone gives no CSRF token).
    who = await identify(request) if session else None
    if who is None or session is None:
        response = _page(request, "login.html.j2", error=None)
        if session:  # an expired or ended session: forget it
            response.del_cookie(COOKIE, path="/")
        return response
    catalogue = request.app[ENGINE].catalogue
    labels = {intent.id: intent.full_name for intent in catalogue.intents}
    response = _page(
        request, "desk.html.j2", agent=who.name, admin=who.admin, csrf=csrf_token(session),
        labels=labels,
    )  # fmt: skip
    _set_cookie(request, response, session)  # the browser keeps it as long as the server
    return response


async def login(request: web.Request) -> web.Response:
    """Check the token of the form; a known one opens a session, held in the cookie."""
    if not _same_origin(request):
        return _page(request, "login.html.j2", status=403, error="Requête refusée.")
    form = await request.post()
    token = str(form.get("token", "")).strip()
    session = new_token()
    agent: str | None = None
    if token and len(token) <= MAX_TOKEN:
        try:
            agent = await request.app[STORE].agent_for(hash_token(token))
            if agent is not None:
                await request.app[STORE].open_session(
                    hash_token(session), agent, session_lifetime(request)
                )
        except StoreError:
            return _page(
                request,
                "login.html.j2",
                status=503,
                error="Le service est momentanément indisponible. Réessayez dans un instant.",
            )
    if agent is None:
        return _page(
            request,
            "login.html.j2",
            status=401,
            error="Jeton inconnu ou révoqué. Vérifiez-le ou demandez-en un nouveau.",
        )
    response = see_desk()
    _set_cookie(request, response, session)
    return response


async def logout(request: web.Request) -> web.Response:
    """End the session (the form must carry the page's CSRF token) and forget the cookie;
    the desk's live stream of that session stops at once."""
    session = request.cookies.get(COOKIE)
    if session:
        form = await request.post()
        given = str(form.get(CSRF_FIELD, ""))
        if not given or not hmac.compare_digest(given, csrf_token(session)):
            return _page(
                request,
                "login.html.j2",
                status=403,
                error="Déconnexion refusée : rechargez la page et réessayez.",
            )
        if len(session) <= MAX_TOKEN:
            await request.app[STORE].end_session(hash_token(session))
            await request.app[STORE].notify("signed_out", {})
    response = see_desk()
    response.del_cookie(COOKIE, path="/")
    return response


def _set_cookie(request: web.Request, response: web.Response, session: str) -> None:
    response.set_cookie(
        COOKIE,
        session,
        path="/",
        max_age=int(session_lifetime(request)),
        httponly=True,
        samesite="Strict",
        secure=over_https(request),
    )


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    content_type = STATIC.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    body = resources.files("bot.desk").joinpath("static", name).read_bytes()
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def _page(
    request: web.Request, template: str, *, status: int = 200, **context: object
) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )


def see_desk() -> web.Response:
    return web.Response(status=303, headers={"Location": "/desk", "Cache-Control": "no-store"})


def _same_origin(request: web.Request) -> bool:
    """False when the browser says the form was posted from another site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.host
