"""The agent API against what an attacker, or an unlucky day, sends its way: ids that are
not ids, a Send API that redirects in a loop with the page token in its address, an
agent revoked while their event stream is open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from adapters.base import describe
from bot.app import create_app
from bot.config import Settings
from bot.engine import Engine
from bot.http import STORE
from tests.fakes import messenger as fb
from tests.fakes.graph import TOKEN, FakeGraph
from tests.serving import next_event, settled
from tests.test_agent_api import ANA, BOB, HUMAN, agents, auth, escalated
from tests.test_hostile import HOSTILE
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]

NOT_IDS = [
    "99999999999999999999999",
    "9" * 5_000,
    "²",
    "¹²",
    "٣",
    "١",
    "1.0",
    "-1",
    "0x1",
    "+1",
    " 1",
]


@pytest.mark.parametrize("raw", NOT_IDS)
async def test_an_id_that_is_not_a_plain_number_is_a_clear_404(
    bot: Client, graph: FakeGraph, raw: str
) -> None:
    await agents(bot)
    escalation = await escalated(bot, graph, "u-ids")
    assert escalation == 1  # "١" and "٣" must not be read as this one (or the third)
    for method, action in (("GET", ""), ("POST", "/claim"), ("POST", "/resolve")):
        response = await bot.request(method, f"/api/escalations/{raw}{action}", headers=auth(ANA))
        assert response.status == 404, (method, action)
        assert "escalation" in (await response.json())["error"]
    response = await bot.post(
        f"/api/escalations/{raw}/messages", json={"text": "bonjour"}, headers=auth(ANA)
    )
    assert response.status == 404
    # Nothing happened to the real escalation 1.
    detail = await (await bot.get("/api/escalations/1", headers=auth(ANA))).json()
    assert detail["status"] == "open" and detail["agent"] is None


async def test_a_send_api_redirect_loop_never_shows_the_page_token(
    aiohttp_client: Any, messenger_settings: Settings, engine: Engine, graph: FakeGraph
) -> None:
    settings = messenger_settings.model_copy(update={"bot_send_attempts": 2})
    bot = await aiohttp_client(create_app(settings, engine))
    await agents(bot)
    graph.redirect_loop = True
    escalation = await escalated(bot, graph, "u-loop")
    url = f"/api/escalations/{escalation}/messages"
    assert (await bot.post(url, json={"text": "Bonjour"}, headers=auth(ANA))).status == 201
    await settled(bot, 0.5)
    detail = await (await bot.get(f"/api/escalations/{escalation}", headers=auth(ANA))).json()
    errors = [entry["error"] for entry in detail["transcript"] if entry["error"]]
    assert errors, detail["transcript"]  # the failures are shown to the agent...
    assert all("redirect" in error.lower() for error in errors), errors
    assert all(TOKEN not in error for error in errors), errors  # ...without the token
    path = settings.sqlite_path
    assert path is not None
    stored = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
    assert TOKEN.encode() not in stored


async def test_a_revoked_agents_event_stream_stops_receiving_events(
    bot: Client, graph: FakeGraph
) -> None:
    await agents(bot)
    ana = await bot.get("/api/events", headers=auth(ANA))
    bob = await bot.get("/api/events", headers=auth(BOB))
    assert ana.status == bob.status == 200
    await bot.app[STORE].remove_agent("Bob")
    assert await post(bot, fb.text("u-revoked", HUMAN)) == 200

    async def rest(stream: Any) -> bytes:
        seen = b""
        while line := await stream.content.readline():
            seen += line
        return seen

    assert (await next_event(ana))[0] == "escalation"  # Ana, still an agent, is told
    bob_saw = await asyncio.wait_for(rest(bob), 10)
    assert b"escalation" not in bob_saw and b"u-revoked" not in bob_saw
    ana.close()
    await settled(bot)


@HOSTILE
@given(
    st.sampled_from(["http", "https", "HTTPS"]),
    st.from_regex(r"[a-z0-9.-]{1,30}(:[0-9]{2,5})?(/[a-z0-9/_.-]{0,30})?", fullmatch=True),
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs", "Cc", "Zs"]), min_size=8, max_size=60
    ),
    st.sampled_from(["access_token", "appsecret_proof", "token"]),
)
def test_a_send_error_never_repeats_a_token_found_in_an_address(
    scheme: str, rest: str, secret: str, name: str
) -> None:
    secret = "".join(c for c in secret if c not in "&#'\"<>?") or "secret-value"
    if len(secret) < 8:
        secret = secret + "-secret-value"
    url = f"{scheme}://{rest}?{name}={secret}&x=1"
    for text in (
        f"Cannot connect to {url}",
        f"url='{url}'",
        f"URL('{url}') failed",
        f"{name}={secret}",
    ):
        assert secret not in describe(RuntimeError(text))
