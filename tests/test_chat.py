"""The public `/chat` page and its API, as a stranger on the internet meets them.

It can be turned off (BOT_CHAT_ENABLED), answers one client sending too fast with a polite
French message in the chat's own shape, and takes JSON only, so that no other web site
can make its visitors post to it with a plain form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.chat import CHAT_BURST
from bot.config import Settings
from bot.engine import Engine

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


async def chat(aiohttp_client: MakeClient, engine: Engine, **env: Any) -> Client:
    return await aiohttp_client(create_app(Settings(_env_file=None, **env), engine))


async def say(client: Client, text: str, **headers: str) -> ClientResponse:
    return await client.post(
        "/chat/messages", json={"conversation": "c1", "text": text}, headers=headers
    )


async def test_chat_turned_off_answers_404_on_the_page_and_its_api(
    aiohttp_client: MakeClient, engine: Engine
) -> None:
    client = await chat(aiohttp_client, engine, BOT_CHAT_ENABLED="false")
    page = await client.get("/chat")
    assert page.status == 404
    api = await say(client, "mdp oublié")
    assert api.status == 404
    assert "error" in await api.json()
    assert (await client.get("/healthz")).status == 200  # the rest of the service is there


async def test_chat_is_on_by_default(aiohttp_client: MakeClient, engine: Engine) -> None:
    client = await chat(aiohttp_client, engine)
    assert (await client.get("/chat")).status == 200
    assert (await say(client, "bonjour")).status == 200


async def test_a_client_sending_too_fast_is_asked_politely_to_wait(
    aiohttp_client: MakeClient, engine: Engine
) -> None:
    client = await chat(aiohttp_client, engine)
    for _ in range(CHAT_BURST):
        assert (await say(client, "bonjour")).status == 200
    refused = await say(client, "bonjour")
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = await refused.json()
    assert body["error"]
    # The page shows it like any answer of the assistant, in French.
    [reply] = body["replies"]
    assert "patienter" in reply["text"] and reply["quick_replies"] == []
    assert body["escalated"] is False


async def test_behind_the_trusted_proxy_each_visitor_has_their_own_allowance(
    aiohttp_client: MakeClient, engine: Engine
) -> None:
    client = await chat(aiohttp_client, engine, BOT_TRUST_PROXY="true")
    for _ in range(CHAT_BURST):
        assert (await say(client, "bonjour", **{"X-Forwarded-For": "203.0.113.7"})).status == 200
    assert (await say(client, "bonjour", **{"X-Forwarded-For": "203.0.113.7"})).status == 429
    assert (await say(client, "bonjour", **{"X-Forwarded-For": "203.0.113.8"})).status == 200


async def test_a_forged_forwarded_address_does_not_escape_the_limit(
    aiohttp_client: MakeClient, engine: Engine
) -> None:
    client = await chat(aiohttp_client, engine)  # reached directly: the header is not trusted
    for n in range(CHAT_BURST):
        assert (
            await say(client, "bonjour", **{"X-Forwarded-For": f"198.51.100.{n}"})
        ).status == 200
    assert (await say(client, "bonjour", **{"X-Forwarded-For": "198.51.100.99"})).status == 429


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"conversation": "c1", "text": "bonjour"}'),
        ("application/x-www-form-urlencoded", b"conversation=c1&text=bonjour"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n',
        ),
        ("", b'{"conversation": "c1", "text": "bonjour"}'),
    ],
)
async def test_only_json_is_taken_so_no_other_site_can_post_a_form(
    aiohttp_client: MakeClient, engine: Engine, content_type: str, body: bytes
) -> None:
    client = await chat(aiohttp_client, engine)
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/chat/messages", data=body, headers=headers)
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]


async def test_json_with_a_charset_is_json(aiohttp_client: MakeClient, engine: Engine) -> None:
    client = await chat(aiohttp_client, engine)
    response = await client.post(
        "/chat/messages",
        data=b'{"conversation": "c1", "text": "bonjour"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status == 200
