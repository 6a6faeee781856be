"""The desk's further routes over HTTP, from real Messenger webhooks: notes, release and
transfer, views and search, a customer's history, ready-made replies, agents, the brief,
names, reports and the review."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.desk.auth import hash_token
from bot.engine import Engine
from bot.http import STORE
from bot.review import export, with_phrasings
from intents.catalogue import Catalogue
from intents.matcher import Matcher
from tests.clock import Clock
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph
from tests.serving import next_event, settled
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]
ANA, BOB, CHEF = "token-of-ana", "token-of-bob", "token-of-chef"
HUMAN = "je veux parler à un humain svp"
XSS = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def desk(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    engine: Engine,
    graph: FakeGraph,
    clock: Clock,
) -> Client:
    """The real app (Messenger on, the fake Graph API) with agents Ana, Bob and admin Chef."""
    client = await aiohttp_client(create_app(messenger_settings, engine, clock=clock))
    graph.echo_to = str(client.make_url("/webhooks/messenger"))
    store = client.app[STORE]
    await store.add_agent("Ana", hash_token(ANA))
    await store.add_agent("Bob", hash_token(BOB))
    await store.add_agent("Chef", hash_token(CHEF), "admin")
    return client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def escalated(desk: Client, psid: str, *words: str) -> int:
    """The customer writes `words` (a request for a person by default); the escalation's id."""
    for text in words or (HUMAN,):
        assert await post(desk, fb.text(psid, text)) == 200
        await settled(desk, 0.05)
    listing = await get(desk, "/api/escalations", ANA)
    [item] = [e for e in listing["escalations"]
              if e["customer"]["id"] == psid and e["status"] != "resolved"]  # fmt: skip
    return int(item["id"])


async def get(desk: Client, path: str, token: str = ANA, status: int = 200) -> Any:
    response = await desk.get(path, headers=auth(token))
    assert response.status == status, await response.text()
    return await response.json()


async def send(
    desk: Client, method: str, path: str, token: str = ANA, body: Any = None, status: int = 200
) -> Any:
    response = await desk.request(method, path, headers=auth(token), json=body)
    assert response.status == status, await response.text()
    return None if status == 204 else await response.json()


async def test_a_note_is_kept_for_agents_and_never_sent(desk: Client, graph: FakeGraph) -> None:
    esc = await escalated(desk, "u-note")
    sent = len(graph.texts("u-note"))
    note = await send(desk, "POST", f"/api/escalations/{esc}/notes", ANA,
                      {"text": f"Déjà appelé hier {XSS}"}, 201)  # fmt: skip
    assert (note["agent"], note["text"]) == ("Ana", f"Déjà appelé hier {XSS}")
    detail = await get(desk, f"/api/escalations/{esc}", BOB)
    assert [(n["agent"], n["text"]) for n in detail["notes"]] == [
        ("Ana", f"Déjà appelé hier {XSS}")
    ]
    assert all("Déjà appelé" not in t["text"] for t in detail["transcript"])
    await settled(desk)
    assert len(graph.texts("u-note")) == sent
    for bad in ({"text": "  "}, {"text": "x" * 2001}, {"texte": "?"}, [1]):
        error = await send(desk, "POST", f"/api/escalations/{esc}/notes", ANA, bad, 400)
        assert error["error"]
    await send(desk, "POST", "/api/escalations/999/notes", ANA, {"text": "?"}, 404)


async def test_release_and_transfer_answer_409_unless_holder_or_admin(desk: Client) -> None:
    esc = await escalated(desk, "u-hand")
    base = f"/api/escalations/{esc}"
    error = await send(desk, "POST", f"{base}/release", ANA, status=409)
    assert "held by nobody" in error["error"]
    await send(desk, "POST", f"{base}/claim", ANA)
    await send(desk, "POST", f"{base}/release", BOB, status=409)
    await send(desk, "POST", f"{base}/transfer", BOB, {"agent": "Bob"}, 409)
    await send(desk, "POST", f"{base}/transfer", ANA, {"agent": "Nobody"}, 404)
    await send(desk, "POST", f"{base}/transfer", ANA, {}, 400)
    moved = await send(desk, "POST", f"{base}/transfer", ANA, {"agent": "Bob"})
    assert (moved["status"], moved["agent"]) == ("claimed", "Bob")
    freed = await send(desk, "POST", f"{base}/release", CHEF)
    assert (freed["status"], freed["agent"]) == ("open", None)
    given = await send(desk, "POST", f"{base}/transfer", CHEF, {"agent": "Ana"})
    assert (given["status"], given["agent"]) == ("claimed", "Ana")
    await send(desk, "POST", "/api/escalations/999/release", CHEF, status=404)


async def test_views_mine_unassigned_and_resolved(desk: Client) -> None:
    mine = await escalated(desk, "u-mine")
    waiting = await escalated(desk, "u-wait")
    done = await escalated(desk, "u-done")
    await send(desk, "POST", f"/api/escalations/{mine}/claim", ANA)
    await send(desk, "POST", f"/api/escalations/{done}/resolve", ANA)

    def ids(listing: Any) -> list[int]:
        return [e["id"] for e in listing["escalations"]]

    assert ids(await get(desk, "/api/escalations?status=claimed&agent=Ana")) == [mine]
    assert ids(await get(desk, "/api/escalations?status=claimed&agent=Bob")) == []
    assert ids(await get(desk, "/api/escalations?status=open")) == [waiting]
    assert ids(await get(desk, "/api/escalations?status=resolved")) == [done]
    for bad in ("limit=0", "limit=9999", "limit=abc", "status=open&agent=Ana", "q=" + "x" * 300):
        await get(desk, f"/api/escalations?{bad}", status=400)


async def test_search_finds_french_forms_in_transcripts_notes_and_names(
    desk: Client, graph: FakeGraph
) -> None:
    graph.names["u-search"] = ("Élodie", "Martin")
    esc = await escalated(desk, "u-search", "je n'arrive pas à réinitialiser mon mdp", HUMAN)
    other = await escalated(desk, "u-other")
    await send(desk, "POST", f"/api/escalations/{other}/notes", ANA, {"text": f"licence {XSS}"}, 201)
    await send(desk, "POST", f"/api/escalations/{esc}/resolve", ANA)

    async def found(words: str, status: str = "") -> list[int]:
        query = f"/api/escalations?q={words}" + (f"&status={status}" if status else "")
        return [e["id"] for e in (await get(desk, query))["escalations"]]

    assert await found("réinitialisation", "resolved") == [esc]
    assert await found("reinitialisation") == [esc]
    assert await found("elodie") == [esc]
    assert await found("licence") == [other]
    assert await found("réinitialisation", "open") == []
    assert await found("%22NEAR(") == []  # search syntax is only words


async def test_what_a_customer_writes_to_a_person_is_found_by_search_within_seconds(
    desk: Client, graph: FakeGraph
) -> None:
    """No agent touches the conversation: the customer's words alone reach the index (the
    desk news indexes a busy conversation once every few seconds, not per message)."""
    esc = await escalated(desk, "u-words")
    for text in ("c'est pour ma licence pro", "elle est bloquée", "toujours rien ?"):
        assert await post(desk, fb.text("u-words", text)) == 200
    for _ in range(100):
        hits = [e["id"] for e in (await get(desk, "/api/escalations?q=licence"))["escalations"]]
        words = [e["id"] for e in (await get(desk, "/api/escalations?q=bloquée"))["escalations"]]
        if hits == words == [esc]:
            break
        await asyncio.sleep(0.1)
    assert hits == words == [esc]


async def test_handing_back_over_a_message_the_agent_has_not_seen_is_refused(
    desk: Client, graph: FakeGraph
) -> None:
    """The desk sends the last transcript entry it showed: a customer message that came
    after it, still unanswered, makes the hand-back a 409 the desk asks about."""
    esc = await escalated(desk, "u-late")
    base = f"/api/escalations/{esc}"
    await send(desk, "POST", f"{base}/messages", ANA, {"text": "Voilà, c'est réglé."}, 201)
    seen = (await get(desk, base))["transcript"][-1]["id"]
    assert await post(desk, fb.text("u-late", "attendez, j'ai encore une question")) == 200
    await settled(desk, 0.05)
    for bad in ({"seen": "x"}, {"seen": -1}, {"seen": 10**30}, {"other": 1}):
        await send(desk, "POST", f"{base}/resolve", ANA, bad, 400)
    refused = await send(desk, "POST", f"{base}/resolve", ANA, {"seen": seen}, 409)
    assert refused["unanswered"] is True
    detail = await get(desk, base)
    assert detail["status"] == "claimed" and detail["brief"]["unanswered"] is True
    latest = detail["transcript"][-1]["id"]
    assert (await send(desk, "POST", f"{base}/resolve", ANA, {"seen": latest}))["status"] == "resolved"


async def test_a_customers_history_lists_every_conversation_newest_first(
    desk: Client, graph: FakeGraph
) -> None:
    graph.names["u-again"] = ("Léa", "Martin")
    first = await escalated(desk, "u-again")
    await send(desk, "POST", f"/api/escalations/{first}/resolve", ANA)
    await settled(desk)
    second = await escalated(desk, "u-again")
    history = await get(desk, "/api/customers/messenger/u-again")
    assert history["customer"] == {"id": "u-again", "name": "Léa Martin"}
    assert [(e["id"], e["status"]) for e in history["escalations"]] == [
        (second, "open"), (first, "resolved"),
    ]  # fmt: skip
    await get(desk, "/api/customers/messenger/nobody", status=404)
    await get(desk, "/api/customers/telegram/u-again", status=404)


async def test_a_customer_without_a_name_gets_a_readable_one_and_it_is_asked_again_a_day_later(
    desk: Client, graph: FakeGraph, clock: Clock
) -> None:
    esc = await escalated(desk, "1234567890124821")
    item = await get(desk, f"/api/escalations/{esc}")
    assert item["customer"] == {"id": "1234567890124821", "name": None}
    assert item["customer_label"] == "Client Messenger ···4821"
    graph.names["1234567890124821"] = ("Noé", "Durand")  # the page got the permission
    await escalated(desk, "1234567890124821", "vous êtes là ?")
    assert (await get(desk, f"/api/escalations/{esc}"))["customer"]["name"] is None
    clock.advance(86_401)
    await escalated(desk, "1234567890124821", "allô ?")
    await asyncio.sleep(0.2)
    item = await get(desk, f"/api/escalations/{esc}")
    assert item["customer"]["name"] == item["customer_label"] == "Noé Durand"


async def test_the_brief_says_what_happened_in_an_agents_words(desk: Client) -> None:
    esc = await escalated(desk, "u-brief", "j'ai oublié mon mot de passe", "non",
                          "c'est pour jean.dupont@orange.fr")  # fmt: skip
    brief = (await get(desk, f"/api/escalations/{esc}"))["brief"]
    assert brief["summary"].startswith("a répondu « Non »")
    assert "Mot de passe oublié" in brief["summary"]
    assert brief["answered_names"] == ["Mot de passe oublié"]
    assert {"label": "Adresse e-mail indiquée", "value": "jean.dupont@orange.fr"} in brief["told"]
    assert brief["unanswered"] is True
    human = await escalated(desk, "u-human")
    brief = (await get(desk, f"/api/escalations/{human}"))["brief"]
    assert (brief["summary"], brief["problem"]) == ("a demandé un conseiller", None)
    assert "score" not in brief["summary"]
    await send(desk, "POST", f"/api/escalations/{human}/messages", ANA, {"text": "Bonjour !"}, 201)
    assert (await get(desk, f"/api/escalations/{human}"))["brief"]["unanswered"] is False


async def test_ready_made_replies_are_the_articles_answers_and_the_teams(
    desk: Client, engine: Engine
) -> None:
    replies = (await get(desk, "/api/replies"))["replies"]
    article = {r["id"]: r for r in replies if r["source"] == "article"}
    assert len(article) == 9
    forgot = article["article:forgot_password"]
    assert forgot["title"] == "Mot de passe oublié"
    assert forgot["text"] == engine.renderer.text("answer_forgot_password", {"days": None})
    assert "http://my.parallels.com" in article["article:lost_email_access"]["text"]

    body = {"title": "Délai", "text": "Nous revenons vers vous sous 24 h."}
    await send(desk, "POST", "/api/replies", ANA, body, 403)
    made = await send(desk, "POST", "/api/replies", CHEF, body, 201)
    team = [r for r in (await get(desk, "/api/replies", BOB))["replies"] if r["source"] == "team"]
    assert [(r["id"], r["title"], r["text"]) for r in team] == [(made["id"], *body.values())]
    await send(desk, "PUT", f"/api/replies/{made['id']}", CHEF, {"title": "Délai", "text": "48 h"})
    await send(desk, "PUT", f"/api/replies/{made['id']}", CHEF, {"title": ""}, 400)
    await send(desk, "PUT", "/api/replies/article:forgot_password", CHEF, body, 404)
    await send(desk, "DELETE", f"/api/replies/{made['id']}", ANA, status=403)
    await send(desk, "DELETE", f"/api/replies/{made['id']}", CHEF, status=204)
    await send(desk, "DELETE", f"/api/replies/{made['id']}", CHEF, status=404)


async def test_an_admin_manages_agents_and_a_removed_agents_stream_stops_at_once(
    desk: Client,
) -> None:
    await get(desk, "/api/agents", ANA, 403)
    listed = await get(desk, "/api/agents", CHEF)
    assert [(a["name"], a["role"]) for a in listed["agents"]] == [
        ("Ana", "agent"), ("Bob", "agent"), ("Chef", "admin"),
    ]  # fmt: skip
    made = await send(desk, "POST", "/api/agents", CHEF, {"name": "Dora", "role": "admin"}, 201)
    assert len(made["token"]) >= 43
    assert (await get(desk, "/api/agents", made["token"]))["agents"]
    await send(desk, "POST", "/api/agents", CHEF, {"name": "Dora"}, 409)
    await send(desk, "POST", "/api/agents", CHEF, {"name": "<b>"}, 400)
    await send(desk, "POST", "/api/agents", CHEF, {"name": "Eve", "role": "boss"}, 400)

    stream = await desk.get("/api/events", headers=auth(BOB))
    assert stream.status == 200
    await send(desk, "DELETE", "/api/agents/Bob", CHEF, status=204)
    ended = await asyncio.wait_for(stream.content.read(), 5)  # the stream ends by itself
    assert b"escalation" not in ended
    await get(desk, "/api/escalations", BOB, 401)
    await send(desk, "DELETE", "/api/agents/Bob", CHEF, status=404)
    await send(desk, "DELETE", "/api/agents/Chef", CHEF, status=409)  # not oneself


async def test_reports_check_their_period_and_export_csv(desk: Client) -> None:
    await escalated(desk, "u-report")
    report = await get(desk, "/api/reports")
    assert set(report) >= {
        "from", "to", "channel", "conversations", "solved_by_bot", "escalations", "feedback",
        "first_human_reply_seconds", "days",
    }  # fmt: skip
    assert report["conversations"] == 1
    assert report["escalations"] == {"total": 1, "rate": 1.0, "by_reason": {"asked_for_human": 1}}
    assert len(report["days"]) == 30 and report["days"][-1]["escalations"] == 1
    for bad in ("from=2026-13-01", "from=hier", "from=2026-03-02&to=2026-03-01",
                "from=2020-01-01&to=2026-01-01", "channel=fax"):  # fmt: skip
        error = await get(desk, f"/api/reports?{bad}", status=400)
        assert error["error"]
    day = report["to"]
    response = await desk.get(f"/api/reports.csv?from={day}&to={day}", headers=auth(ANA))
    assert response.status == 200 and response.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][:6] == ["date", "conversations", "solved_by_bot", "escalations", "yes", "no"]
    assert rows[1][:4] == [day, "1", "0", "1"]
    assert (await desk.get("/api/reports")).status == 401


async def test_an_agent_labels_what_the_bot_missed_and_it_leaves_the_review(
    desk: Client,
) -> None:
    await post(desk, fb.text("u-miss", "mon sésame parallels s'est envolé"))
    await settled(desk)
    groups = (await get(desk, "/api/review"))["groups"]
    [group] = [g for g in groups if g["reason"] == "none"]
    [message] = [m for m in group["messages"] if m["text"] == "mon sésame parallels s'est envolé"]
    assert group["count"] >= 1
    await send(desk, "POST", f"/api/review/{message['id']}", ANA, {"intent": "lost"}, 400)
    await send(desk, "POST", "/api/review/999999", ANA, {"intent": "none"}, 404)
    await send(desk, "POST", "/api/review/abc", ANA, {"intent": "none"}, 404)
    await send(desk, "POST", f"/api/review/{message['id']}", ANA, {"intent": "forgot_password"})
    again = (await get(desk, "/api/review"))["groups"]
    assert all(m["id"] != message["id"] for g in again for m in g["messages"])


async def test_a_labelled_message_is_understood_once_its_phrasing_is_in_the_catalogue(
    desk: Client, catalogue: Catalogue
) -> None:
    text = "mon sésame parallels s'est envolé"
    assert Matcher(catalogue).match(text).intent == "none"
    await post(desk, fb.text("u-learn", text))
    await settled(desk)
    [message] = [m for g in (await get(desk, "/api/review"))["groups"] for m in g["messages"]
                 if m["text"] == text]  # fmt: skip
    await send(desk, "POST", f"/api/review/{message['id']}", ANA, {"intent": "forgot_password"})
    labels = await desk.app[STORE].labels()
    done = export(labels, catalogue)
    if message["id"] % 5 == 0:  # this one went to the sealed evaluation instead
        assert done.sealed == [("forgot_password", text)] and done.phrasings == {}
        done = export([label.__class__(message["id"] + 1, *_rest(label)) for label in labels],
                      catalogue)  # fmt: skip
    assert done.phrasings == {"forgot_password": [text]}
    assert done.sealed == []
    taught = Matcher(with_phrasings(catalogue, done.phrasings))
    assert taught.match(text).intent == "forgot_password"


def _rest(label: Any) -> tuple[Any, ...]:
    return (label.intent, label.agent, label.labelled_at, label.text)


async def test_events_tell_the_desks_about_notes_and_transfers(desk: Client) -> None:
    esc = await escalated(desk, "u-events")
    stream = await desk.get("/api/events", headers=auth(ANA))
    await send(desk, "POST", f"/api/escalations/{esc}/notes", BOB, {"text": "vu"}, 201)
    assert (await next_event(stream))[0] == "note"
    await send(desk, "POST", f"/api/escalations/{esc}/transfer", CHEF, {"agent": "Bob"})
    name, data = await next_event(stream)
    assert (name, data["agent"]) == ("transferred", "Bob")
    stream.close()


def test_review_export_keeps_a_message_out_of_both_sets() -> None:
    from bot.review import SEALED_EVERY, anonymous
    from bot.store import Label
    from intents.catalogue import load_catalogue

    labels = [Label(n, "forgot_password", "Ana", 0.0, f"mot de passe envolé numéro {n}")
              for n in range(1, 11)]  # fmt: skip
    labels.append(Label(11, "forgot_password", "Ana", 0.0, "j'ai oublié mon mot de passe"))
    done = export(labels, load_catalogue())
    phrased = done.phrasings["forgot_password"]
    sealed = [text for _, text in done.sealed]
    assert len(sealed) == 10 // SEALED_EVERY and not set(phrased) & set(sealed)
    assert done.skipped == 1  # already a phrasing of the catalogue
    assert anonymous("écrivez à jean.dupont@orange.fr svp") == "écrivez à adresse@orange.fr svp"
    assert json.dumps(phrased, ensure_ascii=False)
