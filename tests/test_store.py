"""The store's contract, on a real SQLite file and on PostgreSQL: what the pipeline relies on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.base import Inbound
from bot.models import IncomingMessage, Reply
from bot.store import NewEscalation, Store, StoreError, TurnRecord, open_store
from bot.store.store import migrations
from tests.clock import Clock
from tests.conftest import opened_store, postgres_schema

LATEST = max(version for version, _, _ in migrations("sqlite"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[Store]:
    """The same contract on both databases."""
    async with opened_store(request.param, tmp_path, clock) as opened:
        yield opened


def event(customer: str, mid: str, text: str = "mdp oublié") -> Inbound:
    return Inbound(
        "message",
        IncomingMessage(
            channel="messenger", platform_id=mid, sender_id=customer, text=text, timestamp_ms=1
        ),
    )


async def process_all(store: Store) -> list[str]:
    """What the workers are handed, until nothing is left: the events' ids in that order."""
    handed = []
    while claimed := await store.claim_events("worker", 64, lease=60):
        handed += [e.message.platform_id for e in claimed]
        await store.finish_turns("worker", [TurnRecord(e, e.conversation.state) for e in claimed])
    return handed


async def test_redelivered_event_is_processed_once(store: Store) -> None:
    await store.add_inbox([event("a", "m1"), event("a", "m2")])
    await store.add_inbox([event("a", "m1")])
    assert await process_all(store) == ["m1", "m2"]
    await store.add_inbox([event("a", "m2")])  # even once processed
    assert await process_all(store) == []


async def test_concurrent_webhooks_are_each_stored_once(store: Store) -> None:
    batches = [[event(f"c{i % 7}", f"m{i}")] for i in range(200)]
    batches += [[event("c0", "m0")], [event("c1", "m1")]]  # redeliveries among them
    await asyncio.gather(*(store.add_inbox(batch) for batch in batches))
    assert sorted(await process_all(store)) == sorted(f"m{i}" for i in range(200))


async def test_poller_cursor_is_saved_with_the_events_it_read(store: Store) -> None:
    assert await store.cursor("twitter:dm") is None
    await store.add_inbox([event("a", "m1")], cursor=("twitter:dm", "1001"))
    await store.add_inbox([], cursor=("twitter:dm", "1002"))
    assert await store.cursor("twitter:dm") == "1002"
    assert await process_all(store) == ["m1"]


async def test_one_conversation_is_handed_out_one_event_at_a_time_in_order(store: Store) -> None:
    await store.add_inbox([event("a", "a1"), event("b", "b1"), event("a", "a2")])
    first = await store.claim_events("w1", 10, lease=60)
    assert [e.message.platform_id for e in first] == ["a1", "b1"]
    # While a1 is held, a2 waits, even for another worker.
    assert await store.claim_events("w2", 10, lease=60) == []
    turns = [TurnRecord(e, e.conversation.state) for e in first]
    assert (await store.finish_turns("w1", turns)).committed == 2
    second = await store.claim_events("w2", 10, lease=60)
    assert [e.message.platform_id for e in second] == ["a2"]


async def test_a_name_the_platform_gives_stays_on_the_customers_conversation(
    store: Store,
) -> None:
    """X gives the sender's name with a direct message: the desk shows it, and a later
    message that comes without one does not erase it."""

    def dm(mid: str, name: str | None) -> Inbound:
        message = IncomingMessage(
            channel="twitter", platform_id=mid, sender_id="42", text="bonjour",
            timestamp_ms=1, sender_name=name,
        )  # fmt: skip
        return Inbound("message", message)

    await store.add_inbox([dm("d1", "Léa Martin")])
    (first,) = await store.claim_events("w", 10, lease=60)
    assert first.conversation.customer_name == "Léa Martin"
    await store.finish_turns("w", [TurnRecord(first, first.conversation.state)])
    await store.add_inbox([dm("d2", None)])
    (second,) = await store.claim_events("w", 10, lease=60)
    assert second.conversation.id == first.conversation.id
    assert second.conversation.customer_name == "Léa Martin"
    found = await store.conversation("twitter", "42")
    assert found is not None and found.customer_name == "Léa Martin"


async def test_a_backlog_larger_than_one_claim_is_processed_in_order_and_once(
    store: Store,
) -> None:
    # A burst: 7 customers, 100 messages each, some delivered twice.
    events = [event(f"c{i % 7}", f"m{i}") for i in range(700)]
    await asyncio.gather(*(store.add_inbox(events[i : i + 50]) for i in range(0, 700, 50)))
    await store.add_inbox(events[:30])  # redeliveries
    seen: dict[str, list[int]] = {}
    for mid in await process_all(store):
        number = int(mid[1:])
        seen.setdefault(f"c{number % 7}", []).append(number)
    assert {customer: len(numbers) for customer, numbers in seen.items()} == {
        f"c{i}": 100 for i in range(7)
    }
    assert all(numbers == sorted(numbers) for numbers in seen.values())


async def test_expired_lease_is_taken_over_and_the_old_holder_cannot_finish(
    store: Store, clock: Clock
) -> None:
    await store.add_inbox([event("a", "a1")])
    [held] = await store.claim_events("slow", 10, lease=30)
    assert await store.claim_events("fast", 10, lease=60) == []
    clock.advance(31)
    [taken] = await store.claim_events("fast", 10, lease=60)
    assert taken.id == held.id and taken.attempts == 2
    assert (await store.finish_turns("slow", [TurnRecord(held, held.conversation.state)])).committed == 0
    assert (await store.finish_turns("fast", [TurnRecord(taken, taken.conversation.state)])).committed == 1


async def test_turn_from_an_outdated_state_is_not_committed_but_processed_again(
    store: Store,
) -> None:
    await store.add_inbox([event("a", "a1", "je veux un humain")])
    [claimed] = await store.claim_events("w", 10, lease=60)
    escalate = TurnRecord(
        claimed,
        claimed.conversation.state.model_copy(update={"escalated": True}),
        escalation=NewEscalation("asked_for_human", "human", 97.0),
    )
    await store.finish_turns("w", [escalate])
    [view] = await store.list_escalations("open")
    await store.add_inbox([event("a", "a2", "allô ?")])
    [second] = await store.claim_events("w", 10, lease=60)
    assert second.conversation.state.escalated
    # An agent resolves while the worker is busy with a2, computed as "escalated: silent".
    await store.resolve(view.id, "Ana", Reply(text="L'assistant reprend."))
    silent = TurnRecord(second, second.conversation.state)
    assert (await store.finish_turns("w", [silent])).committed == 0
    [again] = await store.claim_events("w", 10, lease=60)
    assert again.id == second.id and not again.conversation.state.escalated


async def test_turn_commits_transcript_replies_and_escalation_together(store: Store) -> None:
    await store.add_inbox([event("a", "a1", "je veux un humain")])
    [claimed] = await store.claim_events("w", 10, lease=60)
    state = claimed.conversation.state.model_copy(update={"escalated": True})
    turn = TurnRecord(
        claimed,
        state,
        replies=[Reply(text="Je transmets votre demande.")],
        intent="human",
        score=97.0,
        escalation=NewEscalation("asked_for_human", "human", 97.0),
    )
    assert (await store.finish_turns("w", [turn])).committed == 1
    conversation = await store.conversation("messenger", "a")
    assert conversation is not None and conversation.state.escalated
    transcript = await store.transcript(conversation.id)
    assert [(t.author, t.text) for t in transcript] == [
        ("customer", "je veux un humain"),
        ("bot", "Je transmets votre demande."),
    ]
    [escalation] = await store.escalations(conversation.id)
    assert (escalation.status, escalation.reason, escalation.intent) == ("open", "asked_for_human", "human")
    [delivery] = await store.claim_deliveries("s", 10, lease=60)
    assert delivery.outgoing.recipient == "a" and delivery.outgoing.first_of_turn


async def test_turns_committed_together_keep_each_conversations_order(store: Store) -> None:
    await store.add_inbox([event(c, f"{c}1", f"message de {c}") for c in ("a", "b", "c")])
    claimed = await store.claim_events("w", 10, lease=60)
    turns = [
        TurnRecord(
            e,
            e.conversation.state,
            replies=[Reply(text=f"{e.message.sender_id}: un"), Reply(text=f"{e.message.sender_id}: deux")],
        )
        for e in claimed
    ]
    assert (await store.finish_turns("w", turns)).committed == 3
    for customer in ("a", "b", "c"):
        conversation = await store.conversation("messenger", customer)
        assert conversation is not None
        transcript = [(t.author, t.text) for t in await store.transcript(conversation.id)]
        assert transcript == [
            ("customer", f"message de {customer}"),
            ("bot", f"{customer}: un"),
            ("bot", f"{customer}: deux"),
        ]
    sent = []
    while deliveries := await store.claim_deliveries("s", 10, lease=60):
        for d in deliveries:
            sent.append((d.outgoing.recipient, d.outgoing.reply.text, d.outgoing.first_of_turn))
            await store.delivered("s", d.id, None)
    for customer in ("a", "b", "c"):
        assert [(text, first) for who, text, first in sent if who == customer] == [
            (f"{customer}: un", True),
            (f"{customer}: deux", False),
        ]


async def test_replies_of_a_conversation_go_out_one_after_the_other(
    store: Store, clock: Clock
) -> None:
    await store.add_inbox([event("a", "a1")])
    [claimed] = await store.claim_events("w", 10, lease=60)
    replies = [Reply(text="un"), Reply(text="deux")]
    await store.finish_turns("w", [TurnRecord(claimed, claimed.conversation.state, replies)])
    [first] = await store.claim_deliveries("s", 10, lease=60)
    assert first.outgoing.reply.text == "un" and first.more
    assert await store.claim_deliveries("s", 10, lease=60) == []
    await store.retry_later("s", first.id, clock() + 3600, "HTTP 500")
    # Still first in line: "deux" never overtakes "un".
    assert await store.claim_deliveries("s", 10, lease=60) == []
    clock.advance(3601)
    [again] = await store.claim_deliveries("s", 10, lease=60)
    assert again.id == first.id and again.attempts == 2
    await store.delivered("s", again.id, "m_1")
    [second] = await store.claim_deliveries("s", 10, lease=60)
    assert second.outgoing.reply.text == "deux" and not second.more


async def test_a_claimed_reply_says_whether_more_of_its_conversation_waits(store: Store) -> None:
    """The sender sends the next one at once when there is one, and claims nothing more
    after the last one."""
    await store.add_inbox([event("a", "a1"), event("b", "b1")])
    claimed = {e.message.sender_id: e for e in await store.claim_events("w", 10, lease=60)}
    turns = [
        TurnRecord(claimed["a"], claimed["a"].conversation.state, [Reply(text="a: un"), Reply(text="a: deux")]),
        TurnRecord(claimed["b"], claimed["b"].conversation.state, [Reply(text="b: un")]),
    ]
    assert (await store.finish_turns("w", turns)).committed == 2
    first = {d.outgoing.recipient: d for d in await store.claim_deliveries("w", 10, lease=60)}
    assert (first["a"].outgoing.reply.text, first["a"].more) == ("a: un", True)
    assert (first["b"].outgoing.reply.text, first["b"].more) == ("b: un", False)
    handed = first["a"]
    assert handed.outgoing.first_of_turn and handed.attempts == 1 and handed.channel == "messenger"
    assert handed.outgoing.reference == str(handed.id) and not handed.outgoing.human
    assert await store.still_ours("w", handed.id)
    assert await store.claim_deliveries("s", 10, lease=60) == []  # nobody else takes them
    await store.delivered("w", handed.id, "m_1")
    [second] = await store.claim_deliveries("w", 10, lease=60)
    assert second.outgoing.reply.text == "a: deux" and not second.outgoing.first_of_turn
    assert not second.more


async def test_a_recorded_reply_needs_the_lease_of_who_sent_it(store: Store) -> None:
    await store.add_inbox([event("a", "a1")])
    [claimed] = await store.claim_events("w", 10, lease=60)
    await store.finish_turns("w", [TurnRecord(claimed, claimed.conversation.state, [Reply(text="un")])])
    [first] = await store.claim_deliveries("w", 10, lease=60)
    await store.delivered("someone else", first.id, "m_1")  # a lease lost meanwhile
    conversation = await store.conversation("messenger", "a")
    assert conversation is not None
    assert [r.status for r in await store.outbox(conversation.id)] == ["sending"]
    await store.delivered("w", first.id, "m_1")
    [row] = await store.outbox(conversation.id)
    assert (row.status, row.platform_message_id) == ("sent", "m_1")


async def test_a_first_reply_is_not_sent_ahead_of_an_earlier_one_waiting(store: Store) -> None:
    await store.add_inbox([event("a", "a1")])
    [claimed] = await store.claim_events("w", 10, lease=60)
    await store.finish_turns("w", [TurnRecord(claimed, claimed.conversation.state, [Reply(text="un")])])
    await store.add_inbox([event("a", "a2")])
    [claimed] = await store.claim_events("w", 10, lease=60)
    turn = TurnRecord(claimed, claimed.conversation.state, [Reply(text="deux")])
    assert (await store.finish_turns("w", [turn])).committed == 1
    [first] = await store.claim_deliveries("s", 10, lease=60)
    assert first.outgoing.reply.text == "un" and first.more
    await store.delivered("s", first.id, None)
    [second] = await store.claim_deliveries("s", 10, lease=60)
    assert second.outgoing.reply.text == "deux" and second.outgoing.first_of_turn


async def test_takeover_drops_the_bots_unsent_replies(store: Store) -> None:
    await store.add_inbox([event("a", "a1")])
    [claimed] = await store.claim_events("w", 10, lease=60)
    replies = [Reply(text="un"), Reply(text="deux")]
    await store.finish_turns("w", [TurnRecord(claimed, claimed.conversation.state, replies)])
    [sending] = await store.claim_deliveries("s", 10, lease=60)
    takeover = Inbound(
        "takeover",
        IncomingMessage(channel="messenger", platform_id="echo1", sender_id="a", text="Je prends."),
    )
    await store.add_inbox([takeover])
    [claimed] = await store.claim_events("w", 10, lease=60)
    turn = TurnRecord(
        claimed,
        claimed.conversation.state.model_copy(update={"escalated": True}),
        escalation=NewEscalation("answered_natively", None, None, agent="Page Inbox"),
        takeover=True,
    )
    await store.finish_turns("w", [turn])
    assert not await store.still_ours("s", sending.id)
    conversation = await store.conversation("messenger", "a")
    assert conversation is not None
    assert [r.status for r in await store.outbox(conversation.id)] == ["dropped", "dropped"]
    [escalation] = await store.escalations(conversation.id)
    assert (escalation.status, escalation.agent) == ("claimed", "Page Inbox")


# -- a start after every instance stopped -------------------------------------------------


def same_database(store: Store, clock: Clock, *, exclusive: bool = True) -> Store:
    """Another process's store on the database `store` uses (not yet opened)."""
    connector: Any = store.connector
    url = f"sqlite:///{connector.path}" if store.dialect == "sqlite" else connector.url
    return open_store(url, clock=clock, exclusive=exclusive)


async def reply_to(store: Store, customer: str) -> None:
    """A reply queued for `customer`."""
    await store.add_inbox([event(customer, f"{customer}-1")])
    [claimed] = await store.claim_events("w", 10, lease=60)
    turn = TurnRecord(claimed, claimed.conversation.state, [Reply(text=f"{customer}: un")])
    await store.finish_turns("w", [turn])


async def test_replies_in_doubt_wait_for_their_echo_after_every_instance_stopped(
    store: Store, clock: Clock
) -> None:
    """The only instance stopped (or died) with one reply whose send timed out and one on
    its way: whenever the next one starts, both wait the unconfirmed wait from then, time
    for the echo Facebook kept while nothing could receive it."""
    for customer in ("timed-out", "in-flight"):
        await reply_to(store, customer)
    sending = {d.outgoing.recipient: d for d in await store.claim_deliveries("s", 10, lease=60)}
    await store.retry_later("s", sending["timed-out"].id, clock() + 10, "timed out")
    await store.close()
    clock.advance(3600)  # every lease and every wait ran out while nothing ran
    again = same_database(store, clock)
    await again.open(unconfirmed_wait=30)
    try:
        assert await again.claim_deliveries("s2", 10, lease=60) == []
        clock.advance(31)
        claimed = await again.claim_deliveries("s2", 10, lease=60)
        assert sorted(d.outgoing.recipient for d in claimed) == ["in-flight", "timed-out"]
    finally:
        await again.close()


async def test_a_reply_on_its_way_when_the_only_instance_died_waits_after_a_quick_restart(
    store: Store, clock: Clock
) -> None:
    """Restarted while the dead sender's lease still runs: the reply is not sent again when
    the lease ends, but the unconfirmed wait after the start."""
    await reply_to(store, "a")
    await store.claim_deliveries("s", 10, lease=60)
    await store.close()
    clock.advance(5)
    again = same_database(store, clock)
    await again.open(unconfirmed_wait=120)
    try:
        clock.advance(60)  # the lease ran out
        assert await again.claim_deliveries("s2", 10, lease=60) == []
        clock.advance(61)
        [claimed] = await again.claim_deliveries("s2", 10, lease=60)
        assert claimed.outgoing.recipient == "a"
    finally:
        await again.close()


async def test_an_instance_starting_beside_a_live_one_leaves_its_sends_and_retries_alone(
    postgres_url: str, clock: Clock
) -> None:
    """A second instance on PostgreSQL (a deploy, a scale-up): the first's reply on its way
    is still the first's to record, and its retry goes when it is due."""
    first = open_store(postgres_url, clock=clock)
    await first.open(unconfirmed_wait=30)
    second = open_store(postgres_url, clock=clock)
    try:
        for customer in ("on-its-way", "retried"):
            await reply_to(first, customer)
        sending = {d.outgoing.recipient: d for d in await first.claim_deliveries("s", 10, lease=60)}
        await first.retry_later("s", sending["retried"].id, clock() + 1, "HTTP 500")
        clock.advance(59)  # the first's lease is about to end
        await second.open(unconfirmed_wait=30)
        await first.delivered("s", sending["on-its-way"].id, "m_1")
        conversation = await first.conversation("messenger", "on-its-way")
        assert conversation is not None
        [row] = await first.outbox(conversation.id)
        assert (row.status, row.platform_message_id) == ("sent", "m_1")
        [retried] = await second.claim_deliveries("s2", 10, lease=60)
        assert retried.outgoing.recipient == "retried"
    finally:
        await second.close()
        await first.close()


async def test_a_start_on_postgresql_never_takes_a_lease_that_still_runs(
    postgres_url: str, clock: Clock
) -> None:
    """Even when the instance starting sees no other (the others' connections to the
    database were cut, or they predate this release), a lease still running stays its
    holder's: its send is recorded, not made again."""
    holder = open_store(postgres_url, clock=clock, exclusive=False)
    await holder.open()
    try:
        await reply_to(holder, "a")
        [sending] = await holder.claim_deliveries("s", 10, lease=60)
        starting = open_store(postgres_url, clock=clock)
        await starting.open(unconfirmed_wait=30)
        await starting.close()
        await holder.delivered("s", sending.id, "m_1")
        conversation = await holder.conversation("messenger", "a")
        assert conversation is not None
        [row] = await holder.outbox(conversation.id)
        assert (row.status, row.platform_message_id) == ("sent", "m_1")
    finally:
        await holder.close()


async def test_instances_starting_together_after_every_one_stopped_all_start(
    postgres_url: str, clock: Clock
) -> None:
    """A deploy starts them at once: each one starts, and the reply in doubt still waits."""
    stopped = open_store(postgres_url, clock=clock)
    await stopped.open()
    await reply_to(stopped, "a")
    await stopped.claim_deliveries("s", 10, lease=60)
    await stopped.close()
    clock.advance(3600)
    starting = [open_store(postgres_url, clock=clock) for _ in range(3)]
    await asyncio.gather(*(each.open(unconfirmed_wait=30) for each in starting))
    try:
        assert await starting[0].claim_deliveries("s2", 10, lease=60) == []
        clock.advance(31)
        [claimed] = await starting[1].claim_deliveries("s2", 10, lease=60)
        assert claimed.outgoing.recipient == "a"
    finally:
        for each in starting:
            await each.close()


async def test_an_instance_whose_connection_dropped_is_still_seen_by_one_starting(
    postgres_url: str, clock: Clock
) -> None:
    """The database dropped the connection that shows the first instance is there (a
    restart, a failover): it is made again, and an instance starting later does not hold
    back the first's retries."""
    import asyncpg

    first = open_store(postgres_url, clock=clock)
    await first.open()
    second = open_store(postgres_url, clock=clock)
    admin = await asyncpg.connect(postgres_url)
    presence = (
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 7412002"
        " AND objid = current_schema()::regnamespace::oid AND granted"
    )
    try:
        [holder] = await admin.fetch(presence)
        await admin.execute("SELECT pg_terminate_backend($1)", holder["pid"])
        for _ in range(100):
            if [row["pid"] for row in await admin.fetch(presence)] not in ([], [holder["pid"]]):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the first instance never took its presence again")
        await reply_to(first, "a")
        [sending] = await first.claim_deliveries("s", 10, lease=60)
        await first.retry_later("s", sending.id, clock() + 1, "HTTP 500")
        await second.open(unconfirmed_wait=30)
        clock.advance(2)
        [retried] = await second.claim_deliveries("s2", 10, lease=60)
        assert retried.outgoing.recipient == "a"
    finally:
        await admin.close()
        await second.close()
        await first.close()


async def test_purge_deletes_old_conversations_but_not_those_a_person_holds(
    store: Store, clock: Clock
) -> None:
    for customer in ("old", "escalated", "recent"):
        await store.add_inbox([event(customer, f"{customer}-1")])
    claimed = {e.message.sender_id: e for e in await store.claim_events("w", 10, lease=60)}
    turns = [TurnRecord(claimed["old"], claimed["old"].conversation.state)]
    turns.append(
        TurnRecord(
            claimed["escalated"],
            claimed["escalated"].conversation.state.model_copy(update={"escalated": True}),
            escalation=NewEscalation("asked_for_human", "human", 90.0),
        )
    )
    await store.finish_turns("w", turns)
    clock.advance(1)
    cutoff = clock()
    clock.advance(1)
    await store.finish_turns("w", [TurnRecord(claimed["recent"], claimed["recent"].conversation.state)])
    conversations, events = await store.purge(cutoff)
    assert await store.conversation("messenger", "old") is None
    assert await store.conversation("messenger", "escalated") is not None
    assert await store.conversation("messenger", "recent") is not None
    assert conversations >= 1 and events >= 1


async def test_purge_of_a_large_history_deletes_all_of_it(store: Store, clock: Clock) -> None:
    customers = [f"p{i}" for i in range(1_200)]  # more than one purge chunk
    await store.add_inbox([event(c, f"{c}-1") for c in customers])
    assert len(await process_all(store)) == 1_200
    clock.advance(1)
    conversations, events = await store.purge(clock())
    assert (conversations, events) == (1_200, 1_200)
    assert await store.conversation("messenger", "p0") is None
    assert await store.conversation("messenger", "p1199") is None


async def test_desk_events_reach_listeners_even_after_the_connection_drops(
    store: Store,
) -> None:
    heard: list[tuple[str, dict[str, object]]] = []
    got = asyncio.Event()

    def listener(name: str, data: dict[str, object]) -> None:
        heard.append((name, data))
        got.set()

    await store.listen(listener)
    await store.notify("escalation", {"escalation_id": 1})
    await asyncio.wait_for(got.wait(), 5)
    if store.dialect == "postgresql":
        # The database drops the listening connection (a restart, a failover…).
        import asyncpg

        connector: Any = store.connector
        admin = await asyncpg.connect(connector.url)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %bot_desk_events_' || current_schema() || '%'"
            )
        finally:
            await admin.close()
        assert ended == 1
        got.clear()
        for _ in range(50):
            await store.notify("claimed", {"escalation_id": 1})
            try:
                await asyncio.wait_for(got.wait(), 0.2)
                break
            except TimeoutError:
                continue
    assert heard[0] == ("escalation", {"escalation_id": 1})
    assert store.dialect == "sqlite" or heard[-1][0] == "claimed"


async def test_reopening_keeps_data_and_applies_migrations_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/again.sqlite3"
    for number in range(1, 3):
        store = open_store(url)
        await store.open()
        await store.add_inbox([event("a", "a1")])  # the second time, a redelivery
        assert await store.schema_version() == LATEST
        if number == 2:
            assert await process_all(store) == ["a1"]
        await store.close()
        applied = sqlite3.connect(tmp_path / "again.sqlite3").execute(
            "SELECT COUNT(*) FROM schema_migrations"
        )
        assert applied.fetchone() == (LATEST,), f"after opening {number} time(s)"


async def test_second_process_on_the_same_file_is_refused(tmp_path: Path) -> None:
    first = open_store(f"sqlite:///{tmp_path}/store.sqlite3")
    await first.open()
    other = open_store(f"sqlite:///{tmp_path}/store.sqlite3")
    with pytest.raises(StoreError, match="in use by another bot process"):
        await other.open()
    await first.close()


async def test_unknown_database_scheme_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="sqlite:///PATH or postgresql"):
        open_store("mysql://localhost/bot")


class Turns:
    count = 0


@contextlib.asynccontextmanager
async def loop_turns() -> AsyncIterator[Turns]:
    """Counts how often the event loop gets to run a task (every 10 ms) in the block."""
    turns = Turns()

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.01)
            turns.count += 1

    ticker = asyncio.create_task(tick())
    try:
        yield turns
    finally:
        ticker.cancel()


async def test_sqlite_waits_for_a_lock_held_elsewhere_without_stopping_the_server(
    tmp_path: Path,
) -> None:
    """An operator's query holds the database: the bot's writes wait for it, and meanwhile
    the event loop goes on (webhooks are still read, the desk still answers)."""
    store = open_store(f"sqlite:///{tmp_path}/store.sqlite3")
    await store.open()
    try:
        await store.add_inbox([event("a", "a1")])
        [claimed] = await store.claim_events("worker", 10, 60)
        other = sqlite3.connect(tmp_path / "store.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        async with loop_turns() as turns:
            write = asyncio.create_task(store.set_customer_name(claimed.conversation.id, "Léa"))
            await asyncio.sleep(0.5)
            assert not write.done()  # waiting for the lock…
            assert turns.count >= 20  # …while the loop runs on
            # Reading is never blocked by a writer.
            assert await store.conversation("messenger", "a") is not None
            other.execute("COMMIT")
            await asyncio.wait_for(write, 2)
        found = await store.conversation("messenger", "a")
        assert found is not None and found.customer_name == "Léa"
        other.close()
    finally:
        await store.close()


async def test_sqlite_write_waits_for_the_disk_without_stopping_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow disk: a write of the event loop returns only once its log is on the disk,
    and meanwhile the loop goes on (webhooks are still read, the desk still answers)."""
    store = open_store(f"sqlite:///{tmp_path}/store.sqlite3")
    await store.open()
    synced = []
    real_fdatasync = os.fdatasync

    def slow_fdatasync(fd: int) -> None:
        time.sleep(0.3)  # the disk takes its time
        real_fdatasync(fd)
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "fdatasync", slow_fdatasync)
    try:
        async with loop_turns() as turns:
            started = time.monotonic()
            await store.add_agent("léa", "hash")
            took = time.monotonic() - started

        assert synced == [f"{tmp_path}/store.sqlite3-wal"]  # the log, once
        assert took >= 0.3  # the write waited for it…
        assert turns.count >= 15  # …while the loop ran on
        assert [a.name for a in await store.agents()] == ["léa"]
    finally:
        await store.close()


# -- the queries and the schema ---------------------------------------------------------------


async def test_every_named_query_compiles_on_both_databases(store: Store) -> None:
    """A query with a typo, a missing column or a wrong type fails here, not in production."""
    import sqlite3 as sqlite

    from bot.store.queries import QUERIES, Query

    queries = QUERIES[store.dialect]
    names = [name for name in queries.__dataclass_fields__ if name != "dialect"]
    assert len(names) > 40
    connector: Any = store.connector
    if store.dialect == "sqlite":
        from bot.store.sqlite import utc_day

        db = sqlite.connect(connector.path)
        db.create_function("utc_day", 1, utc_day)  # as the connector's connections have it
        try:
            for name in names:
                query: Query = getattr(queries, name)
                for statement, arity in zip(query.statements, query.arity, strict=True):
                    if statement.startswith("CREATE TEMP"):
                        db.execute(statement)  # what the statements after it use
                    else:
                        db.execute(f"EXPLAIN {statement}", [None] * arity)
        finally:
            db.close()
    else:
        import asyncpg

        pg = await asyncpg.connect(connector.url)
        try:
            for name in names:
                query = getattr(queries, name)
                assert len(query.statements) == 1, name  # one statement, atomic on its own
                await pg.prepare(query.statements[0])
        finally:
            await pg.close()


LEGACY = Path(__file__).parent / "data" / "legacy"


async def legacy_database(dialect: str, stack: contextlib.AsyncExitStack, tmp_path: Path) -> str:
    """The URL of a database made by the store before both databases shared one migration
    sequence (tests/data/legacy), loaded as it was."""
    if dialect == "sqlite":
        path = tmp_path / "legacy.sqlite3"
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.executescript((LEGACY / "sqlite-0008.sql").read_text("utf-8"))
        return f"sqlite:///{path}"
    import asyncpg

    url = await stack.enter_async_context(postgres_schema())
    schema = url.rsplit("search_path=", 1)[1]
    admin = await asyncpg.connect(url)
    try:
        dump = (LEGACY / "postgres-0005.sql").read_text("utf-8")
        await admin.execute(dump.replace("legacy_schema", schema))
    finally:
        await admin.close()
    return url


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_a_database_of_the_earlier_store_is_upgraded_in_place_and_nothing_is_lost(
    dialect: str, tmp_path: Path
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        url = await legacy_database(dialect, stack, tmp_path)
        store = open_store(url)
        await store.open()
        stack.push_async_callback(store.close)
        assert await store.schema_version() == LATEST

        lea = await store.conversation("messenger", "psid-1")
        assert lea is not None and lea.customer_name == "Léa Martin"
        assert lea.state.awaiting_feedback and lea.state.last_intent == "forgot_password"
        assert [(t.author, t.text) for t in await store.transcript(lea.id)] == [
            ("customer", "j'ai oublié mon mot de passe"),
            ("bot", "Vous pouvez réinitialiser votre mot de passe."),
            ("bot", "Est-ce que cela a résolu votre problème ?"),
        ]
        assert [r.status for r in await store.outbox(lea.id)] == ["sent", "pending"]
        [view] = await store.list_escalations("claimed")
        assert (view.agent, view.reason, view.conversation.customer_id) == (
            "ana", "asked_for_human", "psid-2",
        )
        assert [a.name for a in await store.agents()] == ["ana", "bruno"]
        assert await store.agent_for("a" * 64) == "ana"
        assert await store.cursor("twitter:dm") == "1001"
        assert await store.deletion("0123456789abcdef0123") is not None
        # What was waiting goes on: the replies still due, and the event not yet handled.
        due = await store.claim_deliveries("s", 10, lease=60)
        assert sorted(d.outgoing.reply.text for d in due) == [
            "Bonjour, je suis Ana.",
            "Est-ce que cela a résolu votre problème ?",
            "Est-ce que cela a résolu votre problème ?",
        ]
        assert await process_all(store) == ["m3"]
        await store.add_agent("chloé", "c" * 64)  # new rows get new ids
        assert [a.name for a in await store.agents()] == ["ana", "bruno", "chloé"]
