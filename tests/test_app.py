"""The HTTP service without any platform account: health, and the /chat page's API."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.engine import Engine

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], engine: Engine, settings: Settings
) -> Client:
    # A fresh database: /chat conversations are stored like any channel's.
    return await aiohttp_client(create_app(settings, engine))


async def test_health_answers_without_any_channel_configured(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_chat_page_is_french_html(client: Client) -> None:
    response = await client.get("/chat")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert '<html lang="fr">' in page and "textContent" in page


async def test_chat_conversation_round_trip(client: Client) -> None:
    first = await client.post("/chat/messages", json={"conversation": "c1", "text": "mdp oublié"})
    body = await first.json()
    assert first.status == 200
    assert body["intent"] == "forgot_password"
    assert body["replies"][-1]["text"] == "Est-ce que cela a résolu votre problème ?"
    no = body["replies"][-1]["quick_replies"][1]
    second = await client.post(
        "/chat/messages", json={"conversation": "c1", "text": no["title"], "payload": no["payload"]}
    )
    assert (await second.json())["escalated"] is True
    other = await client.post("/chat/messages", json={"conversation": "c2", "text": "bonjour"})
    assert (await other.json())["escalated"] is False


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"text": "hello"}', b'{"conversation": "a b", "text": "x"}', b"[]"],
)
async def test_chat_rejects_malformed_requests_with_a_clear_400(
    client: Client, body: bytes
) -> None:
    response = await client.post(
        "/chat/messages", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert "error" in await response.json()


async def test_chat_rejects_huge_bodies_with_413(client: Client) -> None:
    response = await client.post(
        "/chat/messages",
        data=io.BytesIO(b"x" * (1024 * 1024 + 1)),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
