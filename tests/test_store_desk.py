"""The store's contract for the desk, on SQLite and PostgreSQL: sessions, roles, notes,
release and transfer, ready-made replies, search, names, the review and the reports.

The reports are checked against a fixed fixture whose figures were worked out by hand
(see `test_reports_give_the_figures_worked_out_by_hand`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.base import Inbound
from bot.models import Channel, IncomingMessage, Reply
from bot.store import (
    Conflict,
    Identity,
    NewEscalation,
    NotFound,
    Store,
    TurnRecord,
)
from tests.clock import StoppedClock
from tests.conftest import opened_store

DAY = 86_400.0
D1 = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC
D2 = D1 + DAY
D3 = D2 + DAY
ANA = Identity("Ana", "agent")
BOB = Identity("Bob", "agent")
CHEF = Identity("Chef", "admin")


@pytest.fixture(params=["sqlite", "postgres"])
async def setup(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Store, StoppedClock]]:
    clock = StoppedClock(D1)
    async with opened_store(request.param, tmp_path, clock) as opened:
        for name, role in (("Ana", "agent"), ("Bob", "agent"), ("Chef", "admin")):
            await opened.add_agent(name, f"hash-{name}", role)  # type: ignore[arg-type]
        yield opened, clock


_mids = iter(range(1, 10**6))


async def say(
    store: Store,
    clock: StoppedClock,
    at: float,
    customer: str,
    text: str,
    *,
    action: str,
    intent: str = "none",
    topic: str | None = None,
    payload: str | None = None,
    escalation: NewEscalation | None = None,
    channel: Channel = "messenger",
    name: str | None = None,
) -> int:
    """One customer message at `at`, handled as the policy would have: the conversation's
    id."""
    clock.now = at
    message = IncomingMessage(
        channel=channel, platform_id=f"m{next(_mids)}", sender_id=customer, text=text,
        payload=payload, timestamp_ms=int(at * 1000), sender_name=name,
    )  # fmt: skip
    await store.add_inbox([Inbound("message", message)])
    [event] = await store.claim_events("w", 10, lease=60)
    state = event.conversation.state
    update: dict[str, object] = {"last_intent": topic or state.last_intent}
    if escalation is not None:
        update["escalated"] = True
    turn = TurnRecord(
        event, state.model_copy(update=update), replies=[Reply(text="…")], intent=intent,
        score=90.0, escalation=escalation, action=action,
    )  # fmt: skip
    assert (await store.finish_turns("w", [turn])).committed == 1
    return event.conversation.id


async def escalation_of(store: Store, conversation_id: int) -> int:
    [view] = [v for v in await store.escalations(conversation_id) if v.status != "resolved"]
    return view.id


async def reply(store: Store, clock: StoppedClock, at: float, escalation: int, agent: str) -> None:
    clock.now = at
    await store.agent_reply(escalation, agent, Reply(text=f"Bonjour, ici {agent}."))


async def resolve(store: Store, clock: StoppedClock, at: float, escalation: int, agent: str) -> None:
    clock.now = at
    await store.resolve(escalation, agent, Reply(text="L'assistant reprend."))


def hours(day: float, h: float, minutes: float = 0) -> float:
    return day + h * 3600 + minutes * 60


async def fixture(store: Store, clock: StoppedClock) -> None:
    """Two days of support; the figures each report gives are worked out in the test."""
    not_solved = "not_solved"
    # Day 1
    await say(store, clock, hours(D1, 9), "a", "mdp oublié", action="answer",
              intent="forgot_password", topic="forgot_password")  # fmt: skip
    await say(store, clock, hours(D1, 9, 1), "a", "oui", action="resolved")
    await say(store, clock, hours(D1, 10), "b", "je reçois pas le mail", action="answer",
              intent="reset_email_missing", topic="reset_email_missing")  # fmt: skip
    b = await say(store, clock, hours(D1, 10, 2), "b", "non", action="escalate",
                  escalation=NewEscalation(not_solved, "reset_email_missing", 100.0))  # fmt: skip
    b_esc = await escalation_of(store, b)
    await reply(store, clock, hours(D1, 10, 12), b_esc, "Ana")  # 600 s after
    await resolve(store, clock, hours(D1, 10, 30), b_esc, "Ana")
    await say(store, clock, hours(D1, 11), "c", "bla bla", action="fallback", channel="twitter")
    c = await say(store, clock, hours(D1, 11, 1), "c", "je veux un humain", action="escalate",
                  intent="human", channel="twitter",
                  escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip
    await reply(store, clock, hours(D1, 12, 1), await escalation_of(store, c), "Bob")  # 3600 s
    await say(store, clock, hours(D1, 12), "d", "adresse déjà prise", action="answer",
              intent="email_in_use", topic="email_in_use")  # fmt: skip
    # Day 2
    await say(store, clock, hours(D2, 8), "e", "mdp oublié", action="answer",
              intent="forgot_password", topic="forgot_password")  # fmt: skip
    e = await say(store, clock, hours(D2, 8, 5), "e", "non", action="escalate",
                  escalation=NewEscalation(not_solved, "forgot_password", 100.0))  # fmt: skip
    e_esc = await escalation_of(store, e)
    await reply(store, clock, hours(D2, 8, 7), e_esc, "Ana")  # 120 s after
    await resolve(store, clock, hours(D2, 9), e_esc, "Ana")
    await say(store, clock, hours(D2, 9), "a", "merci", action="thanks", intent="thanks")
    await say(store, clock, hours(D2, 10), "f", "humain", action="escalate", intent="human",
              channel="twitter",
              escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip


async def test_reports_give_the_figures_worked_out_by_hand(
    setup: tuple[Store, StoppedClock],
) -> None:
    """By hand, over both days, every channel:
    - conversations: a, b, c, d, e, f = 6 (a wrote on both days: once over the period);
    - solved by the bot: a (said yes) and d (answered, never escalated) = 2; b and e said
      no, c and f asked for a person;
    - escalations: b, e not_solved; c, f asked_for_human = 4; feedback yes 1 (a), no 2;
    - first human reply: e 120 s, b 600 s, c 3600 s (f none): median = rank (3+1)//2 = 2
      → 600; p90 = rank (9*3+9)//10 = 3 → 3600;
    - per problem: forgot_password answered 2 (a, e), 1 "Non" (e); reset_email_missing
      1 and 1; email_in_use 1 and 0;
    - backlog now: f open, c claimed by Bob;
    - agents: Ana handled b and e, resolved both, 2 replies; Bob handled c, holds it, 1.
    Per day: D1 messenger a, b, d (a and d solved, b escalated; yes 1, no 1), D1 twitter c
    (escalated); D2 messenger a, e (none solved, e escalated, no 1), D2 twitter f.
    """
    store, clock = setup
    await fixture(store, clock)
    clock.now = hours(D3, 12)
    report = await store.report(D1, D3, None)
    assert report["conversations"] == 6
    assert report["solved_by_bot"] == 2
    assert report["reasons"] == {"not_solved": 2, "asked_for_human": 2}
    assert report["first_reply"] == {"replied": 3, "median": 600.0, "p90": 3600.0}
    assert report["problems"] == {
        "email_in_use": {"answers": 1, "no": 0},
        "forgot_password": {"answers": 2, "no": 1},
        "reset_email_missing": {"answers": 1, "no": 1},
    }
    assert report["backlog"] == {
        "claimed": {"escalations": 1, "oldest": hours(D1, 11, 1)},
        "open": {"escalations": 1, "oldest": hours(D2, 10)},
    }
    assert report["agents"] == [
        {"agent": "Ana", "handled": 2, "resolved": 2, "holding": 0, "replies": 2},
        {"agent": "Bob", "handled": 1, "resolved": 0, "holding": 1, "replies": 1},
    ]
    assert [(d["date"], d["channel"], d["conversations"], d["solved_by_bot"],
             d["escalations"], d["yes"], d["no"]) for d in report["days"]] == [
        ("2026-03-02", "messenger", 3, 2, 1, 1, 1),
        ("2026-03-02", "twitter", 1, 0, 1, 0, 0),
        ("2026-03-03", "messenger", 2, 0, 1, 0, 1),
        ("2026-03-03", "twitter", 1, 0, 1, 0, 0),
    ]  # fmt: skip

    # X only: c and f, both asked for a person; c's reply came after 3600 s.
    x = await store.report(D1, D3, "twitter")
    assert (x["conversations"], x["solved_by_bot"], x["reasons"]) == (
        2, 0, {"asked_for_human": 2},
    )  # fmt: skip
    assert x["first_reply"] == {"replied": 1, "median": 3600.0, "p90": 3600.0}
    assert list(x["backlog"]) == ["claimed", "open"]

    # The second day only: a (only thanked), e (escalated) and f: nothing solved.
    second = await store.report(D2, D3, None)
    assert (second["conversations"], second["solved_by_bot"]) == (3, 0)
    assert second["reasons"] == {"not_solved": 1, "asked_for_human": 1}
    assert second["first_reply"] == {"replied": 1, "median": 120.0, "p90": 120.0}

    nothing = await store.report(D3, D3 + DAY, None)
    assert (nothing["conversations"], nothing["days"], nothing["reasons"]) == (0, [], {})
    assert nothing["first_reply"] == {"replied": 0, "median": None, "p90": None}


async def test_review_lists_what_the_bot_missed_until_an_agent_labels_it(
    setup: tuple[Store, StoppedClock],
) -> None:
    store, clock = setup
    await fixture(store, clock)
    # Day 3: the bot asked which problem, and the customer chose another than its guess.
    await say(store, clock, hours(D3, 9), "g", "j'arrive pas à rentrer", action="clarify",
              intent="invalid_credentials", topic="invalid_credentials")  # fmt: skip
    await say(store, clock, hours(D3, 9, 1), "g", "", payload="intent:forgot_password",
              action="answer", topic="forgot_password")  # fmt: skip
    missed = await store.missed(D1)
    assert [(m.text, m.reason, m.intent) for m in missed] == [
        ("j'arrive pas à rentrer", "clarified", "forgot_password"),
        ("mdp oublié", "not_solved", "forgot_password"),
        ("bla bla", "none", "none"),
        ("je reçois pas le mail", "not_solved", "reset_email_missing"),
    ]
    clarified = missed[0]
    await store.label(clarified.id, "forgot_password", "Ana")
    await store.label(missed[2].id, "none", "Bob")
    await store.label(missed[2].id, "cannot_create_account", "Ana")  # a second thought
    assert [m.text for m in await store.missed(D1)] == ["mdp oublié", "je reçois pas le mail"]
    labels = await store.labels()
    assert [(la.text, la.intent, la.agent) for la in labels] == [
        ("bla bla", "cannot_create_account", "Ana"),
        ("j'arrive pas à rentrer", "forgot_password", "Ana"),
    ]
    with pytest.raises(NotFound):
        await store.label(10**9, "none", "Ana")
    [bot_line] = [t for t in await store.transcript(1) if t.author == "bot"][:1]
    with pytest.raises(NotFound):  # only a customer's message can be labelled
        await store.label(bot_line.id, "none", "Ana")


async def test_release_and_transfer_follow_who_holds_the_escalation(
    setup: tuple[Store, StoppedClock],
) -> None:
    store, clock = setup
    c = await say(store, clock, D1, "c", "humain", action="escalate", intent="human",
                  escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip
    esc = await escalation_of(store, c)
    with pytest.raises(Conflict, match="held by nobody"):
        await store.release(esc, ANA)
    with pytest.raises(Conflict):  # an agent cannot give away what they do not hold
        await store.transfer(esc, ANA, "Bob")
    await store.claim(esc, "Ana")
    with pytest.raises(Conflict, match="held by Ana"):
        await store.release(esc, BOB)
    with pytest.raises(NotFound):
        await store.transfer(esc, ANA, "Nobody")
    moved = await store.transfer(esc, ANA, "Bob")
    assert (moved.status, moved.agent) == ("claimed", "Bob")
    released = await store.release(esc, CHEF)  # an admin may release anyone's
    assert (released.status, released.agent) == ("open", None)
    given = await store.transfer(esc, CHEF, "Ana")  # and assign one nobody holds
    assert (given.status, given.agent) == ("claimed", "Ana")
    back = await store.release(esc, ANA)
    assert (back.status, back.agent, back.claimed_at) == ("open", None, None)
    with pytest.raises(NotFound):
        await store.release(10**9, CHEF)


async def test_notes_stay_with_the_escalation(setup: tuple[Store, StoppedClock]) -> None:
    store, clock = setup
    c = await say(store, clock, D1, "c", "humain", action="escalate", intent="human",
                  escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip
    esc = await escalation_of(store, c)
    clock.now = D1 + 60
    await store.add_note(esc, "Ana", "Client déjà appelé hier.")
    await store.add_note(esc, "Bob", "<b>vu</b>")
    assert [(n.agent, n.text, n.created_at) for n in await store.notes(esc)] == [
        ("Ana", "Client déjà appelé hier.", D1 + 60),
        ("Bob", "<b>vu</b>", D1 + 60),
    ]
    assert [t.author for t in await store.transcript(c)] == ["customer", "bot"]  # never sent
    with pytest.raises(NotFound):
        await store.add_note(10**9, "Ana", "?")


async def test_sessions_expire_are_renewed_while_used_and_end_with_the_agent(
    setup: tuple[Store, StoppedClock],
) -> None:
    store, clock = setup
    twelve_hours = 12 * 3600.0
    await store.open_session("s-ana", "Ana", twelve_hours)
    await store.open_session("s-chef", "Chef", twelve_hours)
    assert await store.session("s-ana", twelve_hours) == ANA
    assert await store.session("s-chef", twelve_hours) == CHEF
    clock.now += 11 * 3600  # used after 11 hours: renewed for 12 more
    assert await store.session("s-ana", twelve_hours) == ANA
    clock.now += 11 * 3600
    assert await store.session("s-ana", twelve_hours) == ANA
    assert await store.session("s-chef", twelve_hours) is None  # unused for 22 hours
    await store.end_session("s-ana")  # signed out
    assert await store.session("s-ana", twelve_hours) is None
    await store.open_session("s-bob", "Bob", twelve_hours)
    await store.remove_agent("Bob")
    assert await store.session("s-bob", twelve_hours) is None
    assert await store.session("unknown", twelve_hours) is None


async def test_agents_have_roles(setup: tuple[Store, StoppedClock]) -> None:
    store, _ = setup
    assert [(a.name, a.role) for a in await store.agents()] == [
        ("Ana", "agent"), ("Bob", "agent"), ("Chef", "admin"),
    ]  # fmt: skip
    assert await store.identity_for("hash-Chef") == CHEF
    assert await store.agent_for("hash-Ana") == "Ana"
    assert (await store.agent("Chef")).role == "admin"
    with pytest.raises(NotFound):
        await store.agent("Nobody")


async def test_team_replies_are_added_changed_and_removed(
    setup: tuple[Store, StoppedClock],
) -> None:
    store, _ = setup
    first = await store.add_team_reply("Délai", "Nous revenons vers vous sous 24 h.", "Chef")
    await store.add_team_reply("Accueil", "Bonjour, je regarde.", "Chef")
    assert [r.title for r in await store.team_replies()] == ["Accueil", "Délai"]
    await store.update_team_reply(first, "Délai", "Sous 48 h.", "Chef")
    assert [r.text for r in await store.team_replies()] == ["Bonjour, je regarde.", "Sous 48 h."]
    await store.delete_team_reply(first)
    assert [r.title for r in await store.team_replies()] == ["Accueil"]
    with pytest.raises(NotFound):
        await store.delete_team_reply(first)
    with pytest.raises(NotFound):
        await store.update_team_reply(first, "x", "y", "Chef")


async def test_search_finds_french_word_forms_in_transcripts_notes_and_names(
    setup: tuple[Store, StoppedClock],
) -> None:
    store, clock = setup
    reset = await say(store, clock, D1, "u1", "je veux réinitialiser mon mot de passe, un humain",
                      action="escalate", intent="human", name="Élodie Martin",
                      escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip
    other = await say(store, clock, D1 + 10, "u2", "ma licence a expiré, un humain",
                      action="escalate", intent="human",
                      escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip
    await store.add_note(await escalation_of(store, other), "Ana", "Renouvellement à faire")
    await store.index([reset, other])
    found = await store.search("réinitialisation")
    assert [v.conversation.id for v in found] == [reset]
    assert [v.conversation.id for v in await store.search("reinitialiser")] == [reset]
    assert [v.conversation.id for v in await store.search("elodie")] == [reset]
    assert [v.conversation.id for v in await store.search("renouvellement")] == [other]
    assert [v.conversation.id for v in await store.search("licence expirée")] == [other]
    assert await store.search("licence réinitialiser") == []  # every word must be there
    hurried = await say(store, clock, D1 + 20, "u3", "comment reinitialiser mon compte, un humain",
                        action="escalate", intent="human",
                        escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip
    await store.index([hurried])
    assert [v.conversation.id for v in await store.search("réinitialisation compte")] == [hurried]
    assert [v.conversation.id for v in await store.search("humain")] == [hurried, other, reset]
    assert await store.search("humain", status="resolved") == []
    for odd in ('"', "*", "NEAR(", "a OR", "-", "   ", "^x:y"):
        await store.search(odd)  # never a syntax error from the database
    await store.forget("messenger", ["u1"], "code-1")
    assert [v.conversation.id for v in await store.search("réinitialisation")] == [hurried]
    assert await store.search("elodie") == []


async def test_a_customers_name_is_asked_again_after_a_day(
    setup: tuple[Store, StoppedClock],
) -> None:
    store, clock = setup
    c = await say(store, clock, D1, "c", "humain", action="escalate")
    assert await store.names_due([c], DAY) == [(c, "messenger", "c")]
    await store.set_customer_name(c, "Léa Martin")
    assert await store.names_due([c], DAY) == []
    clock.now += DAY + 1
    assert await store.names_due([c], DAY) == [(c, "messenger", "c")]
    await store.set_customer_name(c, None)  # the platform said nothing this time
    assert await store.names_due([c], DAY) == []
    conversation, escalations = await store.customer("messenger", "c")
    assert (conversation.customer_name, escalations) == ("Léa Martin", [])
    with pytest.raises(NotFound):
        await store.customer("messenger", "nobody")


async def test_the_customer_history_lists_every_escalation_newest_first(
    setup: tuple[Store, StoppedClock],
) -> None:
    store, clock = setup
    c = await say(store, clock, D1, "c", "humain", action="escalate",
                  escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip
    await resolve(store, clock, D1 + 60, await escalation_of(store, c), "Ana")
    await say(store, clock, D2, "c", "encore moi, un humain", action="escalate",
              escalation=NewEscalation("asked_for_human", "human", 99.0))  # fmt: skip
    _, escalations = await store.customer("messenger", "c")
    assert [e.status for e in escalations] == ["open", "resolved"]
    resolved = await store.list_escalations("resolved")
    assert [e.status for e in resolved] == ["resolved"]
    await store.claim(escalations[0].id, "Ana")
    assert [e.id for e in await store.list_escalations("claimed", agent="Ana")] == [
        escalations[0].id
    ]
    assert await store.list_escalations("claimed", agent="Bob") == []
