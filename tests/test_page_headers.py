"""The public pages that are not the desk (`/chat`, the deletion status page) carry the
same protections as the desk: a Content-Security-Policy that lets only their own inline
script and style run, no framing, no MIME sniffing, no referrer to other sites."""

from __future__ import annotations

import base64
import hashlib
import re

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from bot.desk.pages import SECURITY_HEADERS
from bot.http import STORE
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]


def assert_protected(response: ClientResponse, html: str) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == SECURITY_HEADERS["Referrer-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    policy = dict(
        (part.split()[0], part.split()[1:])
        for part in headers["Content-Security-Policy"].split(";")
        if part.strip()
    )
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    # Exactly the page's own inline blocks may run, by hash: no 'unsafe-inline'.
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S)
        hashes = sorted(
            "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
            for b in blocks
        )
        assert sorted(policy.get(directive, [])) == hashes or (
            not blocks and directive not in policy
        )


async def test_the_chat_page_has_the_desk_protections(bot: Client) -> None:
    response = await bot.get("/chat")
    assert response.status == 200
    assert_protected(response, await response.text())
    assert "connect-src 'self'" in response.headers["Content-Security-Policy"]


async def test_the_deletion_status_page_has_them_too(bot: Client, graph: FakeGraph) -> None:
    await post(bot, fb.text("u-del", "mdp oublié"))
    await graph.wait_for(3, recipient="u-del")
    code = "0123456789abcdef0123"
    await bot.app[STORE].forget("messenger", ["u-del"], code)
    for path in (f"/data-deletion/{code}", "/data-deletion/unknown0"):
        response = await bot.get(path)
        assert response.status in (200, 404)
        assert_protected(response, await response.text())
        assert response.headers["Cache-Control"] == "no-store"
