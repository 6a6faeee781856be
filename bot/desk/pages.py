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

from bot.desk.auth import COOKIE, CSRF_FIELD, authenticate, csrf_token, hash_token
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

MAX_TOKEN = 200  # tokens are 43 characters; anything far longer is not one


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
    """The desk when the cookie names an agent, else the sign-in form."""
    token = request.cookies.get(COOKIE)
    # The page works with the cookie only (a bearer header alone gives no CSRF token).
    agent = await authenticate(request) if token else None
    if agent is None or token is None:
        response = _page(request, "login.html.j2", error=None)
        if token:  # a revoked or stale token: forget it
            response.del_cookie(COOKIE, path="/")
        return response
    catalogue = request.app[ENGINE].catalogue
    labels = {intent.id: intent.label for intent in catalogue.intents}
    return _page(request, "desk.html.j2", agent=agent, csrf=csrf_token(token), labels=labels)


async def login(request: web.Request) -> web.Response:
    """Check the token of the form; a known one becomes the session cookie."""
    if not _same_origin(request):
        return _page(request, "login.html.j2", status=403, error="Requête refusée.")
    form = await request.post()
    token = str(form.get("token", "")).strip()
    agent: str | None = None
    if token and len(token) <= MAX_TOKEN:
        try:
            agent = await request.app[STORE].agent_for(hash_token(token))
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
    response = _see_desk()
    response.set_cookie(
        COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    return response


async def logout(request: web.Request) -> web.Response:
    """Forget the session cookie; the form must carry the page's CSRF token."""
    token = request.cookies.get(COOKIE)
    if token:
        form = await request.post()
        given = str(form.get(CSRF_FIELD, ""))
        if not given or not hmac.compare_digest(given, csrf_token(token)):
            return _page(
                request,
                "login.html.j2",
                status=403,
                error="Déconnexion refusée : rechargez la page et réessayez.",
            )
    response = _see_desk()
    response.del_cookie(COOKIE, path="/")
    return response


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


def _see_desk() -> web.Response:
    return web.Response(status=303, headers={"Location": "/desk", "Cache-Control": "no-store"})


def _same_origin(request: web.Request) -> bool:
    """False when the browser says the form was posted from another site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.host
