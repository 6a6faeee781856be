"""The desk page over HTTP: sign-in, the session cookie, CSRF on sign-out, static files."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.desk import pages
from bot.desk.auth import COOKIE, CSRF_HEADER, csrf_token, hash_token, new_token
from bot.engine import Engine
from bot.http import STORE
from bot.store import Store
from tests.clock import Clock
from tests.fakes import messenger as fb

Client = TestClient[web.Request, web.Application]

XSS = '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'


def desk_app(settings: Settings, engine: Engine, clock: Clock | None = None) -> web.Application:
    """The real app with the desk's pages."""
    app = create_app(settings, engine, clock=clock or Clock())
    if not any(resource.canonical == "/desk" for resource in app.router.resources()):
        pages.add_routes(app)  # until bot/app.py wires the pages in itself
    return app


@pytest.fixture
async def desk(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    engine: Engine,
) -> Client:
    return await aiohttp_client(desk_app(messenger_settings, engine))


def store(client: Client) -> Store:
    return client.app[STORE]


async def agent(client: Client, name: str = "alice") -> str:
    token = new_token()
    await store(client).add_agent(name, hash_token(token))
    return token


async def sign_in(client: Client, token: str) -> None:
    response = await client.post("/desk/login", data={"token": token}, allow_redirects=False)
    assert response.status == 303, await response.text()


def session_of(client: Client) -> str:
    """The session id the browser holds (its cookie)."""
    [cookie] = [c for c in client.session.cookie_jar if c.key == COOKIE]
    return cookie.value


def set_cookies(response: ClientResponse) -> list[str]:
    """The desk cookie's Set-Cookie headers."""
    return [c for c in response.headers.getall("Set-Cookie", []) if c.startswith(f"{COOKIE}=")]


# -- signing in -----------------------------------------------------------------------------


async def test_the_sign_in_form_is_french_and_sets_no_cookie(desk: Client) -> None:
    response = await desk.get("/desk")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    assert '<html lang="fr">' in html
    assert "Jeton de conseiller" in html and "Se connecter" in html
    assert 'action="/desk/login"' in html
    assert not set_cookies(response)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_wrong_token_gets_401_in_french_and_no_cookie(desk: Client) -> None:
    await agent(desk)
    for token in ("not-a-token", "", "x" * 5000):
        response = await desk.post("/desk/login", data={"token": token}, allow_redirects=False)
        assert response.status == 401
        html = await response.text()
        assert "Jeton inconnu ou révoqué" in html
        assert 'role="alert"' in html
        assert not set_cookies(response)
    assert not desk.session.cookie_jar.filter_cookies(desk.make_url("/desk"))


async def test_the_right_token_sets_an_httponly_strict_cookie(desk: Client) -> None:
    token = await agent(desk)
    response = await desk.post("/desk/login", data={"token": token}, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/desk"
    [cookie] = set_cookies(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # plain http here; https requests get Secure

    assert token not in cookie  # the cookie holds a session, never the agent's token
    assert "max-age=43200" in attributes  # kept across a browser restart, 12 hours unused
    page = await desk.get("/desk")
    html = await page.text()
    assert "Bureau des conseillers" in html and "alice" in html
    session = session_of(desk)
    assert f'<meta name="csrf-token" content="{csrf_token(session)}">' in html
    assert token not in html and session not in html  # the page only knows the CSRF token


async def test_a_login_posted_from_another_site_is_refused(desk: Client) -> None:
    token = await agent(desk)
    response = await desk.post(
        "/desk/login",
        data={"token": token},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert response.status == 403
    assert not set_cookies(response)


async def test_a_revoked_token_falls_back_to_the_sign_in_form(desk: Client) -> None:
    token = await agent(desk)
    await sign_in(desk, token)
    await store(desk).remove_agent("alice")
    response = await desk.get("/desk")
    html = await response.text()
    assert "Se connecter" in html
    [cleared] = set_cookies(response)
    assert 'desk_session=""' in cleared or "max-age=0" in cleared.lower()


async def test_a_bearer_header_alone_gets_the_sign_in_form(desk: Client) -> None:
    token = await agent(desk)
    response = await desk.get("/desk", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert "Se connecter" in await response.text()


# -- signing out ----------------------------------------------------------------------------


async def test_logout_without_the_csrf_token_is_refused(desk: Client) -> None:
    token = await agent(desk)
    await sign_in(desk, token)
    for form in ({}, {"csrf": "forged"}, {"csrf": csrf_token("another-token")}):
        response = await desk.post("/desk/logout", data=form, allow_redirects=False)
        assert response.status == 403
        assert not set_cookies(response)
    still = await (await desk.get("/desk")).text()
    assert "Se déconnecter" in still


async def test_logout_with_the_csrf_token_clears_the_cookie(desk: Client) -> None:
    token = await agent(desk)
    await sign_in(desk, token)
    session = session_of(desk)
    response = await desk.post(
        "/desk/logout", data={"csrf": csrf_token(session)}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/desk"
    assert set_cookies(response)
    page = await (await desk.get("/desk")).text()
    assert "Se connecter" in page
    # The session is over on the server too: a copy of the cookie no longer signs in.
    copied = await desk.get("/api/escalations", cookies={COOKIE: session})
    assert copied.status == 401


# -- the page and the API with the cookie --------------------------------------------------


async def test_the_api_takes_the_cookie_with_the_csrf_header_on_posts(desk: Client) -> None:
    token = await agent(desk)
    await sign_in(desk, token)
    listed = await desk.get("/api/escalations", params={"status": "open"})
    assert listed.status == 200
    assert await listed.json() == {"escalations": []}
    refused = await desk.post("/api/escalations/999/claim")
    assert refused.status == 401
    accepted = await desk.post(
        "/api/escalations/999/claim", headers={CSRF_HEADER: csrf_token(session_of(desk))}
    )
    assert accepted.status == 404  # signed in; there is simply no such escalation


async def test_no_customer_text_and_no_unescaped_name_in_the_page(desk: Client) -> None:
    token = await agent(desk, name='<b id="x">bob</b>')
    await sign_in(desk, token)
    for words in ("je veux parler à un humain", XSS):
        body = fb.encode(fb.webhook(fb.text("psid-xss", words)))
        assert (await desk.post("/webhooks/messenger", data=body, headers=fb.sign(body))).status == 200
    await _until(lambda: _transcript_has(desk, "psid-xss", "window.__xss=2"))
    html = await (await desk.get("/desk")).text()
    assert "window.__xss" not in html and "onerror" not in html
    assert '<b id="x">' not in html
    assert "&lt;b id=&#34;x&#34;&gt;bob&lt;/b&gt;" in html
    # every <script> is ours: the page's script file and an inert JSON block
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == [
        '<script src="/desk/static/desk.js" defer>',
        '<script type="application/json" id="intent-labels">',
    ]


async def _transcript_has(client: Client, psid: str, words: str) -> bool:
    conversation = await store(client).conversation("messenger", psid)
    if conversation is None:
        return False
    return any(words in entry.text for entry in await store(client).transcript(conversation.id))


async def _until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_static_files_have_their_types_and_nothing_else_is_served(desk: Client) -> None:
    script = await desk.get("/desk/static/desk.js")
    assert script.status == 200
    assert script.content_type == "text/javascript"
    assert "textContent" in await script.text()
    style = await desk.get("/desk/static/desk.css")
    assert style.status == 200
    assert style.content_type == "text/css"
    for name in ("pages.py", "..%2Fpages.py", "desk.html.j2", "__init__.py"):
        assert (await desk.get(f"/desk/static/{name}")).status == 404


def test_the_desk_script_never_writes_markup() -> None:
    from importlib import resources

    script = resources.files("bot.desk").joinpath("static", "desk.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


async def test_signing_out_ends_the_live_stream_of_that_session_at_once(desk: Client) -> None:
    token = await agent(desk)
    await sign_in(desk, token)
    session = session_of(desk)
    stream = await desk.get("/api/events")
    assert stream.status == 200
    response = await desk.post(
        "/desk/logout", data={"csrf": csrf_token(session)}, allow_redirects=False
    )
    assert response.status == 303
    ended = await asyncio.wait_for(stream.content.read(), 5)  # the stream ends by itself
    assert b"hello" in ended


async def test_a_session_unused_past_its_hours_signs_out(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    engine: Engine,
) -> None:
    clock = Clock()
    settings = messenger_settings.model_copy(update={"bot_desk_session_hours": 1.0})
    client = await aiohttp_client(desk_app(settings, engine, clock))
    await sign_in(client, await agent(client))
    clock.advance(50 * 60)
    assert (await client.get("/api/escalations")).status == 200  # used: renewed for 1 hour
    clock.advance(50 * 60)
    assert (await client.get("/api/escalations")).status == 200
    clock.advance(61 * 60)
    assert (await client.get("/api/escalations")).status == 401
    assert "Se connecter" in await (await client.get("/desk")).text()
