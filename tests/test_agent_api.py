"""The agent API: escalations from real Messenger webhooks, answered through the fake Graph API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.desk.auth import hash_token
from bot.http import STORE
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph
from tests.serving import next_event, settled
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]
ANA, BOB = "token-of-ana", "token-of-bob"
HUMAN = "je veux parler à un humain svp"


async def agents(bot: Client) -> None:
    await bot.app[STORE].add_agent("Ana", hash_token(ANA))
    await bot.app[STORE].add_agent("Bob", hash_token(BOB))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def escalated(
    bot: Client, graph: FakeGraph, psid: str, text: str = HUMAN, **event: Any
) -> int:
    """A customer asks for a person; returns the escalation's id."""
    message = fb.text(psid, text)
    message.update(event)
    assert await post(bot, message) == 200
    await settled(bot)
    listing = await (await bot.get("/api/escalations?status=open", headers=auth(ANA))).json()
    [item] = [e for e in listing["escalations"] if e["customer"]["id"] == psid]
    return int(item["id"])


async def test_without_a_valid_token_the_api_answers_401(bot: Client) -> None:
    await agents(bot)
    for headers in ({}, auth("nope"), {"Authorization": "Basic QW5hOg=="}):
        response = await bot.get("/api/escalations", headers=headers)
        assert response.status == 401
        assert "token" in (await response.json())["error"]
    await bot.app[STORE].remove_agent("Bob")
    assert (await bot.get("/api/escalations", headers=auth(BOB))).status == 401


async def test_escalation_is_listed_with_its_reason_and_transcript(
    bot: Client, graph: FakeGraph
) -> None:
    await agents(bot)
    graph.names["u-list"] = ("Élodie", "Martin")  # what the User Profile API tells
    await post(bot, fb.text("u-list", "jai oublié mon mdp"))
    await graph.wait_for(3, recipient="u-list")
    asked = "je veux parler à un humain svp, c'est pour le compte pro de jean@orange.fr"
    escalation = await escalated(bot, graph, "u-list", asked)
    listing = await (await bot.get("/api/escalations?status=open", headers=auth(ANA))).json()
    [item] = listing["escalations"]
    assert item["channel"] == "messenger"
    assert item["customer"] == {"id": "u-list", "name": "Élodie Martin"}
    assert (item["status"], item["reason"], item["agent"]) == ("open", "asked_for_human", None)
    assert item["window"]["kind"] == "response"
    detail = await (await bot.get(f"/api/escalations/{escalation}", headers=auth(ANA))).json()
    authors = [t["author"] for t in detail["transcript"]]
    assert authors[0] == "customer" and "bot" in authors
    assert detail["transcript"][-2]["text"] == asked
    assert detail["brief"]["answered"] == ["forgot_password"]
    assert detail["brief"]["facts"] == {"email_domain": "orange.fr", "business_account": "oui"}
    assert detail["brief"]["waiting_seconds"] >= 0
    claimed = await (await bot.get("/api/escalations?status=claimed", headers=auth(ANA))).json()
    assert claimed == {"escalations": []}


async def test_unknown_escalation_is_404_and_bad_status_400(bot: Client) -> None:
    await agents(bot)
    for path in ("/api/escalations/999", "/api/escalations/abc"):
        response = await bot.get(path, headers=auth(ANA))
        assert response.status == 404
    assert (await bot.post("/api/escalations/999/claim", headers=auth(ANA))).status == 404
    assert (await bot.get("/api/escalations?status=lost", headers=auth(ANA))).status == 400


async def test_two_agents_racing_to_claim_one_wins(bot: Client, graph: FakeGraph) -> None:
    await agents(bot)
    escalation = await escalated(bot, graph, "u-race")
    url = f"/api/escalations/{escalation}/claim"
    first, second = await asyncio.gather(
        bot.post(url, headers=auth(ANA)), bot.post(url, headers=auth(BOB))
    )
    assert sorted([first.status, second.status]) == [200, 409]
    loser = first if first.status == 409 else second
    assert "held by" in (await loser.json())["error"]
    winner = await (await bot.get(f"/api/escalations/{escalation}", headers=auth(ANA))).json()
    assert winner["status"] == "claimed" and winner["agent"] in ("Ana", "Bob")


async def test_agent_reply_reaches_the_customer_and_the_bot_stays_silent(
    bot: Client, graph: FakeGraph
) -> None:
    await agents(bot)
    escalation = await escalated(bot, graph, "u-talk")
    before = len(graph.texts("u-talk"))
    await post(bot, fb.text("u-talk", "mot de passe oublié"))  # the bot must not answer it
    await settled(bot)
    assert len(graph.texts("u-talk")) == before
    url = f"/api/escalations/{escalation}/messages"
    for bad in ({"text": "   "}, {"text": "x" * 2001}, {"texte": "bonjour"}):
        response = await bot.post(url, json=bad, headers=auth(ANA))
        assert response.status == 400, bad
    response = await bot.post(url, json={"text": "Bonjour, je suis Ana. Je regarde."}, headers=auth(ANA))
    assert response.status == 201
    await graph.wait_for(before + 1, recipient="u-talk")
    sent = graph.to("u-talk")[-1]
    assert sent["message"]["text"] == "Bonjour, je suis Ana. Je regarde."
    assert sent["messaging_type"] == "RESPONSE"
    assert (await bot.post(url, json={"text": "moi aussi"}, headers=auth(BOB))).status == 409
    detail = await (await bot.get(f"/api/escalations/{escalation}", headers=auth(ANA))).json()
    assert detail["agent"] == "Ana"
    assert [(t["author"], t["agent"]) for t in detail["transcript"][-2:]] == [
        ("customer", None),
        ("agent", "Ana"),
    ]


async def test_after_24_hours_agents_use_human_agent_and_after_7_days_are_refused(
    bot: Client, graph: FakeGraph
) -> None:
    await agents(bot)
    now = int(time.time() * 1000)
    late = await escalated(bot, graph, "u-day", timestamp=now - 30 * 3_600_000)
    gone = await escalated(bot, graph, "u-week", timestamp=now - 8 * 24 * 3_600_000)
    listing = await (await bot.get("/api/escalations", headers=auth(ANA))).json()
    windows = {e["customer"]["id"]: e["window"] for e in listing["escalations"]}
    assert windows["u-day"]["kind"] == "human_agent"
    assert 5 * 24 * 3600 < windows["u-day"]["remaining_seconds"] < 6 * 24 * 3600
    assert windows["u-week"]["kind"] == "closed"
    response = await bot.post(
        f"/api/escalations/{late}/messages", json={"text": "Désolée pour l'attente."}, headers=auth(ANA)
    )
    assert response.status == 201
    await graph.wait_for(1, recipient="u-day")
    sent = graph.to("u-day")[-1]
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    # The bot itself never used the tag: its late escalation notice was not sent.
    assert all(m.get("tag") == "HUMAN_AGENT" for m in graph.to("u-day"))
    refused = await bot.post(
        f"/api/escalations/{gone}/messages", json={"text": "Bonjour ?"}, headers=auth(ANA)
    )
    assert refused.status == 409
    assert "too old" in (await refused.json())["error"]
    await settled(bot)
    assert graph.to("u-week") == []


async def test_resolve_hands_back_to_the_bot(bot: Client, graph: FakeGraph) -> None:
    await agents(bot)
    escalation = await escalated(bot, graph, "u-back")
    await bot.post(f"/api/escalations/{escalation}/claim", headers=auth(ANA))
    assert (await bot.post(f"/api/escalations/{escalation}/resolve", headers=auth(BOB))).status == 409
    response = await bot.post(f"/api/escalations/{escalation}/resolve", headers=auth(ANA))
    assert response.status == 200
    assert (await response.json())["status"] == "resolved"
    await settled(bot)
    assert "assistant automatisé de Parallels reprend" in graph.texts("u-back")[-1]
    count = len(graph.texts("u-back"))
    await post(bot, fb.text("u-back", "mdp oublié"))
    await graph.wait_for(count + 2, recipient="u-back")
    assert graph.texts("u-back")[-1] == "Est-ce que cela a résolu votre problème ?"
    again = await bot.post(f"/api/escalations/{escalation}/resolve", headers=auth(ANA))
    assert again.status == 409


async def test_page_inbox_takeover_shows_in_the_desk_and_can_be_taken(
    bot: Client, graph: FakeGraph
) -> None:
    await agents(bot)
    await post(bot, fb.text("u-inbox", "bonjour"))
    await post(bot, fb.echo("u-inbox", "Ici Marc, je m'en occupe.", app_id=263902037430900))
    await settled(bot)
    listing = await (await bot.get("/api/escalations?status=claimed", headers=auth(ANA))).json()
    [item] = listing["escalations"]
    assert (item["agent"], item["reason"]) == ("Page Inbox", "answered_natively")
    response = await bot.post(f"/api/escalations/{item['id']}/claim", headers=auth(ANA))
    assert response.status == 200 and (await response.json())["agent"] == "Ana"


async def test_events_stream_new_escalations_and_customer_messages(
    bot: Client, graph: FakeGraph
) -> None:
    await agents(bot)
    response = await bot.get("/api/events", headers=auth(ANA))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")

    await post(bot, fb.text("u-live", HUMAN))
    name, data = await next_event(response)
    assert name == "escalation"
    await post(bot, fb.text("u-live", "vous êtes là ?"))
    assert await next_event(response) == ("message", data)
    await bot.post(f"/api/escalations/{data['escalation_id']}/claim", headers=auth(ANA))
    name, claimed = await next_event(response)
    assert (name, claimed["agent"]) == ("claimed", "Ana")
    response.close()


async def test_business_hours_are_told_when_a_customer_is_handed_over(
    aiohttp_client: Any, messenger_settings: Any, engine: Any, graph: FakeGraph
) -> None:
    from bot.app import create_app

    hours = "du lundi au vendredi, de 9 h à 18 h (heure de Paris)"
    settings = messenger_settings.model_copy(update={"bot_business_hours": hours})
    bot = await aiohttp_client(create_app(settings, engine))
    await post(bot, fb.text("u-hours", HUMAN))
    await graph.wait_for(2, recipient="u-hours")
    assert f"Il vous répondra ici même ({hours})." in graph.texts("u-hours")[-1]
    escalations = await bot.app[STORE].list_escalations("open")
    assert [e.conversation.customer_name for e in escalations] == [None]  # no name given
