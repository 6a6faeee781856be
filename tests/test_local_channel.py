"""The local channel (`/chat`) is a channel like the others: its requests for a person reach
the desk, and what agents write reaches the page's live stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.desk.auth import hash_token
from bot.engine import Engine
from bot.http import ADAPTERS, STORE
from tests.conftest import fresh_settings

Client = TestClient[web.Request, web.Application]
AGENT = {"Authorization": "Bearer token-of-ana"}


async def chat(client: Client, conversation: str, text: str) -> dict[str, Any]:
    response = await client.post("/chat/messages", json={"conversation": conversation, "text": text})
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def next_reply(stream: aiohttp.ClientResponse) -> dict[str, Any]:
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 10)).decode().strip()
        if line.startswith("data:"):
            data: dict[str, Any] = json.loads(line.removeprefix("data:"))
            return data


async def test_a_chat_escalation_reaches_the_desk_and_the_agents_reply_the_page(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    settings: Settings,
    engine: Engine,
) -> None:
    client = await aiohttp_client(create_app(settings, engine))
    await client.app[STORE].add_agent("Ana", hash_token("token-of-ana"))
    first = await chat(client, "web-42", "j'ai oublié mon mot de passe")
    assert first["intent"] == "forgot_password"
    assert first["replies"][-1]["text"] == "Est-ce que cela a résolu votre problème ?"
    assert all(isinstance(reply["id"], int) for reply in first["replies"])
    stream = await client.get("/chat/events?conversation=web-42")
    assert stream.status == 200
    asked = await chat(client, "web-42", "je veux parler à un humain")
    assert asked["escalated"] is True
    # The bot's replies come by the stream too, with the ids the answer gave.
    ids = [reply["id"] for reply in asked["replies"]]
    seen: list[int] = []
    while not set(ids) <= set(seen):
        seen.append((await next_reply(stream))["id"])
    assert [i for i in seen if i in ids] == ids  # in order, each once

    listing = await (await client.get("/api/escalations?status=open", headers=AGENT)).json()
    [item] = listing["escalations"]
    assert (item["channel"], item["customer"]["id"]) == ("local", "web-42")
    assert item["window"]["kind"] == "none"
    response = await client.post(f"/api/escalations/{item['id']}/messages", headers=AGENT,
                                 json={"text": "Bonjour, ici Ana <b>du support</b>."})  # fmt: skip
    assert response.status == 201
    sent = await next_reply(stream)
    assert (sent["human"], sent["reply"]["text"]) == (True, "Bonjour, ici Ana <b>du support</b>.")
    assert (await chat(client, "web-42", "merci !"))["replies"] == []  # the bot stays silent
    await client.post(f"/api/escalations/{item['id']}/resolve", headers=AGENT)
    back = await next_reply(stream)
    assert back["human"] is False and "reprend la conversation" in back["reply"]["text"]
    other = await client.get("/chat/events?conversation=web-other")
    await chat(client, "web-other", "bonjour")
    assert (await next_reply(other))["conversation"] == "web-other"  # only its own
    stream.close()
    other.close()


async def test_bad_chat_streams_are_refused_and_the_chat_can_be_turned_off(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
) -> None:
    client = await aiohttp_client(create_app(settings, engine))
    for bad in ("", "?conversation=", "?conversation=a%20b", "?conversation=" + "x" * 101):
        assert (await client.get(f"/chat/events{bad}")).status == 400
    elsewhere = tmp_path / "off"
    elsewhere.mkdir()
    off = await aiohttp_client(create_app(fresh_settings(elsewhere, BOT_CHAT_ENABLED=False), engine))
    assert (await off.get("/chat/events?conversation=web-1")).status == 404
    assert "local" not in off.app[ADAPTERS]
    assert "local" in client.app[ADAPTERS]
