"""Messenger end to end: the real app, its SQLite store and workers, a fake Graph API."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.engine import Engine
from bot.http import STORE
from bot.store import Store
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph, graph_error
from tests.serving import expected_replies, settled

Client = TestClient[web.Request, web.Application]


async def post(bot: Client, *events: dict[str, Any], escaped: bool = True, entries: int = 1) -> int:
    body = fb.encode(fb.webhook(*events, entries=entries), escaped=escaped)
    response = await bot.post("/webhooks/messenger", data=body, headers=fb.sign(body))
    return response.status


def store(bot: Client) -> Store:
    return bot.app[STORE]


# -- subscription check --------------------------------------------------------------------


async def test_subscription_check_echoes_the_challenge(bot: Client) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": fb.VERIFY_TOKEN, "hub.challenge": "1158201444"}
    response = await bot.get("/webhooks/messenger", params=query)
    assert response.status == 200
    assert await response.text() == "1158201444"


async def test_subscription_check_with_a_wrong_token_is_forbidden(bot: Client) -> None:
    for query in (
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": fb.VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ):
        response = await bot.get("/webhooks/messenger", params=query)
        assert response.status == 403


# -- signatures and bad input ---------------------------------------------------------------

FRENCH = "Bonjour ! J’ai oublié mon mot de passe à 100 % 😭 sur https://my.parallels.com/login"


async def test_accented_bodies_are_answered_escaped_or_raw(bot: Client, graph: FakeGraph) -> None:
    assert await post(bot, fb.text("u-escaped", FRENCH), escaped=True) == 200
    assert await post(bot, fb.text("u-raw", FRENCH), escaped=False) == 200
    await graph.wait_for(3, recipient="u-escaped")
    await graph.wait_for(3, recipient="u-raw")
    assert graph.texts("u-escaped") == graph.texts("u-raw")
    assert "réinitialiser" in " ".join(graph.texts("u-raw"))


async def test_a_long_hostile_message_does_not_stall_other_requests(
    bot: Client, graph: FakeGraph
) -> None:
    """Texts that made the old patterns backtrack for seconds: the server keeps answering."""
    stalls: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.005)
            stalls.append(loop.time() - before)

    ticking = asyncio.create_task(ticker())
    hostile = ("a" * 10_000 + "@" + "b" * 10_000, "a." * 15_000, "x@" * 15_000)
    for n, text in enumerate(hostile):
        assert await post(bot, fb.text(f"u-long-{n}", text)) == 200
    for n in range(len(hostile)):
        await graph.wait_for(2, recipient=f"u-long-{n}")
    health = await bot.get("/healthz")
    stop.set()
    await ticking
    assert health.status == 200
    assert max(stalls) < 0.25, f"the event loop stalled {max(stalls):.2f} s"


async def test_a_day_long_retry_after_does_not_park_a_reply_for_a_day(
    bot: Client, graph: FakeGraph
) -> None:
    """A platform's Retry-After is honoured up to BOT_SEND_BACKOFF_MAX (0.2 s here)."""
    graph.fail_next(
        429, graph_error(613, "Calls to this API have exceeded the rate limit."), {"Retry-After": "86400"}
    )
    assert await post(bot, fb.text("u-patient", "mot de passe oublié")) == 200
    await graph.wait_for(3, recipient="u-patient", within=10)


async def test_wrong_or_missing_signature_is_refused_and_nothing_stored(
    bot: Client, graph: FakeGraph
) -> None:
    body = fb.encode(fb.webhook(fb.text("u-forged", "mdp oublié")))
    forged = fb.sign(body, secret="not-the-app-secret")
    wrong = await bot.post("/webhooks/messenger", data=body, headers=forged)
    missing = await bot.post(
        "/webhooks/messenger", data=body, headers={"Content-Type": "application/json"}
    )
    tampered = await bot.post(
        "/webhooks/messenger", data=body.replace(b"mdp", b"MDP"), headers=fb.sign(body)
    )
    assert (wrong.status, missing.status, tampered.status) == (403, 401, 403)
    assert "signature" in (await wrong.json())["error"]
    await settled(bot)
    assert (await store(bot).counts()).by_status == {}
    assert await store(bot).conversation("messenger", "u-forged") is None  # nothing kept
    assert graph.messages == [] and graph.requests == 0


async def test_malformed_json_is_a_400(bot: Client) -> None:
    for body in (b"{not json", b"[]", b'{"object": "page"}', b'{"object": "page", "entry": 3}'):
        response = await bot.post("/webhooks/messenger", data=body, headers=fb.sign(body))
        assert response.status == 400, body
        assert "error" in await response.json()


async def test_body_over_one_mebibyte_is_a_413(bot: Client) -> None:
    body = fb.encode(fb.webhook(fb.text("u-big", "a" * (1024 * 1024 + 10))))
    response = await bot.post("/webhooks/messenger", data=io.BytesIO(body), headers=fb.sign(body))
    assert response.status == 413


async def test_channel_without_secret_is_not_served(
    aiohttp_client: Any, settings: Any, engine: Engine
) -> None:
    from bot.app import create_app

    client = await aiohttp_client(create_app(settings, engine))
    response = await client.post("/webhooks/messenger", data=b"{}")
    assert response.status == 404
    assert "not configured" in (await response.json())["error"]


async def test_unknown_channel_and_unknown_method_get_clear_answers(bot: Client) -> None:
    for method in ("GET", "POST"):
        response = await bot.request(method, "/webhooks/whatsapp", data=b"{}")
        assert response.status == 404
        assert await response.json() == {"error": "no channel named whatsapp"}
    assert (await bot.put("/webhooks/messenger", data=b"{}")).status == 405


# -- what is ignored --------------------------------------------------------------------------


async def test_receipts_reactions_own_echoes_and_unknown_kinds_are_acknowledged_and_ignored(
    bot: Client, graph: FakeGraph
) -> None:
    events = [
        fb.delivery("u-quiet"),
        fb.read("u-quiet"),
        fb.reaction("u-quiet"),
        fb.echo("u-quiet", "Bonjour, je suis l'assistant", app_id=1, metadata="parallels-support-bot"),
        {"sender": {"id": "u-quiet"}, "recipient": {"id": fb.PAGE_ID}, "timestamp": 1, "game_play": {}},
        {"unexpected": True},
    ]
    assert await post(bot, *events) == 200
    other_object = json.dumps({"object": "instagram", "entry": []}).encode()
    response = await bot.post("/webhooks/messenger", data=other_object, headers=fb.sign(other_object))
    assert response.status == 200
    await settled(bot)
    assert graph.requests == 0
    assert await store(bot).conversation("messenger", "u-quiet") is None


async def test_an_echo_with_an_unreadable_reference_costs_nothing_to_the_message_beside_it(
    bot: Client, graph: FakeGraph
) -> None:
    """Our own echo's metadata carries the outbox id: one that is not a plain number (a
    superscript digit, one too large for the database, 5,000 digits) is ignored, and the
    customer's message in the same webhook is answered."""
    for n, reference in enumerate(("²", "99999999999999999999999", "7" * 5000, "-3", " 12")):
        echo = fb.echo(f"u-ref-{n}", "Bonjour", app_id=1, metadata=f"parallels-support-bot:{reference}")
        assert await post(bot, echo, fb.text(f"u-ref-{n}", "mot de passe oublié")) == 200
        await graph.wait_for(3, recipient=f"u-ref-{n}")
    await settled(bot)


async def test_a_malformed_event_does_not_cost_the_others_in_its_webhook(
    bot: Client, graph: FakeGraph
) -> None:
    broken = fb.text("u-broken", "mot de passe oublié")
    broken["message"]["mid"] = 12345  # not a string: this event alone is dropped
    events = [{"unexpected": True}, broken, fb.text("u-fine", "mot de passe oublié")]
    assert await post(bot, *events) == 200
    await graph.wait_for(3, recipient="u-fine")
    await settled(bot)
    assert graph.to("u-broken") == []


# -- answers ------------------------------------------------------------------------------------


async def test_first_answer_discloses_the_assistant_and_marks_the_message_seen_first(
    bot: Client, graph: FakeGraph
) -> None:
    assert await post(bot, fb.text("u-first", "j'ai oublié mon mot de passe")) == 200
    await graph.wait_for(3, recipient="u-first")
    texts = graph.texts("u-first")
    assert texts[0].startswith("Bonjour, je suis l'assistant automatisé de Parallels")
    assert texts[-1] == "Est-ce que cela a résolu votre problème ?"
    question = graph.to("u-first")[-1]
    assert question["messaging_type"] == "RESPONSE"
    assert [q["title"] for q in question["message"]["quick_replies"]] == ["Oui", "Non"]
    assert [a["sender_action"] for a in graph.actions] == ["mark_seen"]


async def test_article_link_goes_in_a_button_template(bot: Client, graph: FakeGraph) -> None:
    await post(bot, fb.text("u-link", "je n'ai plus accès à mon adresse e-mail, la boîte est fermée"))
    await graph.wait_for(3, recipient="u-link")
    templates = [m["message"]["attachment"] for m in graph.to("u-link") if "attachment" in m["message"]]
    assert len(templates) == 1
    buttons = templates[0]["payload"]["buttons"]
    assert buttons == [{"type": "web_url", "url": "http://my.parallels.com", "title": "my.parallels.com"}]


async def test_quick_reply_payload_wins_over_its_text(bot: Client, graph: FakeGraph) -> None:
    await post(bot, fb.text("u-tap", "mdp oublié"))
    await graph.wait_for(3, recipient="u-tap")
    # The title says "Oui" but the tapped payload says no: the payload is believed.
    await post(bot, fb.quick_reply("u-tap", "Oui", "feedback:no"))
    await graph.wait_for(4, recipient="u-tap")
    assert "conseiller" in graph.texts("u-tap")[3]
    escalations = await store(bot).escalations(
        (await store(bot).conversation("messenger", "u-tap")).id  # type: ignore[union-attr]
    )
    assert [(e.status, e.reason) for e in escalations] == [("open", "not_solved")]


async def test_get_started_postback_is_greeted(bot: Client, graph: FakeGraph) -> None:
    await post(bot, fb.postback("u-start", "Démarrer", "get_started"))
    await graph.wait_for(2, recipient="u-start")
    assert "assistant automatisé" in graph.texts("u-start")[0]


async def test_screenshot_alone_asks_for_words(bot: Client, graph: FakeGraph) -> None:
    await post(bot, fb.image("u-img"))
    await graph.wait_for(2, recipient="u-img")
    assert "décrire votre problème" in graph.texts("u-img")[-1]


async def test_batched_entries_are_each_answered(bot: Client, graph: FakeGraph) -> None:
    events = [fb.text(f"u-batch-{i}", "mot de passe oublié") for i in range(5)]
    assert await post(bot, *events, entries=2) == 200
    for i in range(5):
        await graph.wait_for(3, recipient=f"u-batch-{i}")


async def test_redelivered_mid_is_answered_once(bot: Client, graph: FakeGraph) -> None:
    event = fb.text("u-twice", "mdp oublié", mid="m_same")
    assert await post(bot, event) == 200
    assert await post(bot, event) == 200
    await graph.wait_for(3, recipient="u-twice")
    await settled(bot)
    assert await post(bot, event) == 200
    await settled(bot)
    assert len(graph.texts("u-twice")) == 3


async def test_burst_from_one_customer_is_answered_in_order(
    bot: Client, graph: FakeGraph, engine: Engine
) -> None:
    words = [
        "bonjour",
        "mdp oublié",
        "non",
        "je reçois pas le mail de réinitialisation",
        "adresse déjà utilisée",
        "merci",
        "mot de passe trop faible",
        "j'ai un compte pro",
        "c'est quoi mon adresse déjà",
        "oui",
    ] * 2
    start = int(time.time() * 1000) - 10_000 * len(words)
    for i, text in enumerate(words):
        # A customer typing fast, well under the flood guard's pace (timestamps 10 s apart).
        event = fb.text("u-burst", text, mid=f"m_burst_{i}")
        event["timestamp"] = start + 10_000 * i
        assert await post(bot, event) == 200
    # What the engine says when it reads the same messages one by one, in order.
    expected = expected_replies(engine, {"u-burst": words})["u-burst"]
    await graph.wait_for(len(expected), recipient="u-burst")
    await settled(bot)
    assert graph.texts("u-burst") == expected


async def test_a_flooding_customer_gets_one_notice_and_does_not_delay_others(
    bot: Client, graph: FakeGraph
) -> None:
    flood = [fb.text("u-flood", f"allo ?? {i}") for i in range(200)]
    for start in range(0, 200, 50):  # Facebook batches a burst into few webhooks
        assert await post(bot, *flood[start : start + 50]) == 200
    assert await post(bot, fb.text("u-calm", "mot de passe oublié")) == 200
    await graph.wait_for(3, recipient="u-calm")
    await settled(bot)
    texts = graph.texts("u-flood")
    notices = [t for t in texts if "beaucoup de messages en peu de temps" in t]
    assert len(notices) == 1 and texts[-1] == notices[0]
    assert len(texts) < 40  # not 200 answers
    flooder = await store(bot).conversation("messenger", "u-flood")
    calm = await store(bot).conversation("messenger", "u-calm")
    assert flooder is not None and calm is not None
    # Every message is kept for the agents; the calm customer was not queued behind them.
    assert len([t for t in await store(bot).transcript(flooder.id) if t.author == "customer"]) == 200
    calm_done = (await store(bot).transcript(calm.id))[0].created_at
    flood_times = [t.created_at for t in await store(bot).transcript(flooder.id)]
    assert calm_done < max(flood_times)


# -- delivery --------------------------------------------------------------------------------


async def test_send_api_500_then_429_then_200_delivers_once(bot: Client, graph: FakeGraph) -> None:
    graph.fail_next(500, graph_error(2, "An unexpected error has occurred."))
    graph.fail_next(429, graph_error(613, "Calls to this API have exceeded the rate limit."), {"Retry-After": "1"})
    started = time.monotonic()
    await post(bot, fb.text("u-retry", "bonjour"))
    await graph.wait_for(1, recipient="u-retry")
    await settled(bot)
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    assert len(graph.rejected) == 2
    assert len(graph.texts("u-retry")) == len(set(graph.texts("u-retry")))


async def test_permanent_error_is_not_retried(bot: Client, graph: FakeGraph) -> None:
    graph.blocked.add("u-blocked")
    await post(bot, fb.text("u-blocked", "mdp oublié"))
    await settled(bot, seconds=0.6)
    assert graph.texts("u-blocked") == []
    refused = [body for status, body in graph.rejected if body["recipient"]["id"] == "u-blocked"]
    conversation = await store(bot).conversation("messenger", "u-blocked")
    assert conversation is not None
    rows = await store(bot).outbox(conversation.id)
    # Each reply was tried once and marked failed with the platform's code.
    assert len(refused) == len(rows) == 3
    assert {r.status for r in rows} == {"failed"}
    assert all(r.attempts == 1 and r.error and r.error.startswith("551/1545041") for r in rows)


async def test_reply_outside_the_24_hour_window_is_not_sent(bot: Client, graph: FakeGraph) -> None:
    old = fb.text("u-late", "mdp oublié")
    old["timestamp"] = int(time.time() * 1000) - 25 * 3_600_000
    await post(bot, old)
    await settled(bot)
    assert graph.texts("u-late") == []
    conversation = await store(bot).conversation("messenger", "u-late")
    assert conversation is not None
    assert {r.error.split(":")[0] for r in await store(bot).outbox(conversation.id) if r.error} == {
        "window_closed"
    }


# -- people in the Page Inbox -----------------------------------------------------------------


async def test_page_inbox_answer_pauses_the_bot(bot: Client, graph: FakeGraph) -> None:
    await post(bot, fb.text("u-human", "mdp oublié"))
    await graph.wait_for(3, recipient="u-human")
    await post(bot, fb.echo("u-human", "Bonjour, c'est Julie du service client.", app_id=263902037430900))
    await settled(bot)
    await post(bot, fb.text("u-human", "merci Julie, toujours pas de mail"))
    await settled(bot)
    assert len(graph.texts("u-human")) == 3  # the bot said nothing more
    conversation = await store(bot).conversation("messenger", "u-human")
    assert conversation is not None
    escalations = await store(bot).escalations(conversation.id)
    assert [(e.status, e.agent) for e in escalations] == [("claimed", "Page Inbox")]
    transcript = await store(bot).transcript(conversation.id)
    assert [(t.author, t.text) for t in transcript[-2:]] == [
        ("native", "Bonjour, c'est Julie du service client."),
        ("customer", "merci Julie, toujours pas de mail"),
    ]


async def test_no_stale_bot_reply_after_a_person_took_over(bot: Client, graph: FakeGraph) -> None:
    graph.hold = asyncio.Event()  # the platform is slow: the bot's "seen" request hangs
    await post(bot, fb.text("u-slow", "mdp oublié"))
    await graph.wait_until(lambda: graph.requests > 0)
    deadline = time.monotonic() + 5
    await post(bot, fb.echo("u-slow", "Je m'en occupe.", app_id=263902037430900))
    conversation = None
    while time.monotonic() < deadline:
        conversation = await store(bot).conversation("messenger", "u-slow")
        if conversation and conversation.state.escalated:
            break
        await asyncio.sleep(0.02)
    graph.hold.set()
    await settled(bot)
    assert graph.texts("u-slow") == []
    assert conversation is not None
    assert {r.status for r in await store(bot).outbox(conversation.id)} == {"dropped"}


async def test_standby_messages_are_kept_but_not_answered(bot: Client, graph: FakeGraph) -> None:
    body = fb.webhook()
    body["entry"][0]["standby"] = [fb.text("u-standby", "vous êtes là ?")]
    raw = fb.encode(body)
    assert (await bot.post("/webhooks/messenger", data=raw, headers=fb.sign(raw))).status == 200
    await settled(bot)
    assert graph.requests == 0
    conversation = await store(bot).conversation("messenger", "u-standby")
    assert conversation is not None
    assert [t.text for t in await store(bot).transcript(conversation.id)] == ["vous êtes là ?"]


async def test_transcript_keeps_both_directions(bot: Client, graph: FakeGraph) -> None:
    await post(bot, fb.text("u-log", "mdp oublié"))
    await graph.wait_for(3, recipient="u-log")
    await settled(bot)
    conversation = await store(bot).conversation("messenger", "u-log")
    assert conversation is not None
    transcript = await store(bot).transcript(conversation.id)
    assert [t.author for t in transcript] == ["customer", "bot", "bot", "bot"]
    assert transcript[0].intent == "forgot_password"
    assert {t.delivery for t in transcript[1:]} == {"sent"}


async def test_readiness_reports_store_and_workers(bot: Client) -> None:
    response = await bot.get("/readyz")
    assert response.status == 200
    # The /chat page is a channel too (BOT_CHAT_ENABLED, on by default).
    assert (await response.json()) == {"status": "ready", "channels": ["local", "messenger"]}
