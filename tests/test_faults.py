"""Faults survived: Send API timeouts, 500s and 429s in a burst, a locked database.

Each test counts, at the fake platform, that every customer message was answered exactly
once, as the engine answers them one by one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.engine import Engine
from bot.http import STORE
from tests.clock import Clock
from tests.conftest import postgres_schema
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph, graph_error
from tests.serving import assert_answered_once, expected_replies, settled
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]
WORDS = ["bonjour", "mdp oublié", "non", "adresse déjà utilisée"]


async def burst(bot: Client, customers: dict[str, list[str]]) -> None:
    for number in range(max(len(w) for w in customers.values())):
        events = [
            fb.text(psid, words[number], mid=f"m_{psid}_{number}")
            for psid, words in customers.items()
            if number < len(words)
        ]
        assert await post(bot, *events) == 200


async def test_timeouts_500s_and_429s_during_a_burst_lose_nothing_and_repeat_nothing(
    bot: Client, graph: FakeGraph, engine: Engine
) -> None:
    customers = {f"u-storm-{i}": WORDS[: 2 + i % 3] for i in range(12)}
    graph.fail_next(500, graph_error(2, "An unexpected error has occurred."))
    graph.hang_next(2.5, processed=False)  # lost on the way: never delivered
    graph.fail_next(429, graph_error(613, "Calls to this API have exceeded the rate limit."), {"Retry-After": "1"})
    graph.fail_next(503, {"error": {"message": "Service Unavailable", "code": 1}})
    await burst(bot, customers)
    # Past the unconfirmed wait (1.5 s here): a resend would have arrived by then.
    await assert_answered_once(graph, expected_replies(engine, customers), within=30, settle=2.0)


async def test_a_timeout_after_delivery_is_confirmed_by_the_echo_not_sent_twice(
    bot: Client, graph: FakeGraph, engine: Engine
) -> None:
    graph.hang_next(3.0, processed=True)  # delivered, but the answer never comes back…
    graph.echo_delay = 1.7  # …and Facebook's echo comes after the bot stopped waiting (1 s)
    await post(bot, fb.text("u-ambiguous", "bonjour"))
    expected = expected_replies(engine, {"u-ambiguous": ["bonjour"]})
    await assert_answered_once(graph, expected, within=15, settle=2.5)


@pytest.mark.parametrize("failure", ["gateway timeout", "connection dropped"])
async def test_a_failure_after_delivery_is_confirmed_by_the_echo_not_sent_twice(
    bot: Client, graph: FakeGraph, engine: Engine, failure: str
) -> None:
    """Delivered, but the answer is a gateway's 504 or the connection drops before it: as
    with a timeout, the bot cannot tell this from a send that never arrived, and waits for
    Facebook's echo, which comes a moment later, before any resend."""
    if failure == "gateway timeout":
        graph.fail_next(504, graph_error(2, "An unexpected error has occurred."), processed=True)
    else:
        graph.drop_next(processed=True)
    graph.echo_delay = 0.5
    await post(bot, fb.text("u-unknown", "bonjour"))
    expected = expected_replies(engine, {"u-unknown": ["bonjour"]})
    await assert_answered_once(graph, expected, within=15, settle=1.0)


async def timed_out(bot: Client, psid: str) -> None:
    """Wait until a reply to `psid` is waiting to be sent again after a Send API timeout."""
    store = bot.app[STORE]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        conversation = await store.conversation("messenger", psid)
        if conversation is not None:
            entries = await store.transcript(conversation.id)
            if any(e.delivery == "pending" and "timed out" in (e.error or "") for e in entries):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no reply to {psid} timed out")


@contextlib.asynccontextmanager
async def on_database(dialect: str, settings: Settings) -> AsyncIterator[Settings]:
    """`settings` on their SQLite file, or on a fresh PostgreSQL schema."""
    if dialect == "sqlite":
        yield settings
        return
    async with postgres_schema() as url:
        yield settings.model_copy(update={"bot_database_url": url})


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_a_timeout_after_delivery_then_a_restart_waits_for_the_echo_not_sent_twice(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    graph: FakeGraph,
    engine: Engine,
    dialect: str,
) -> None:
    """Delivered, the answer lost, and the bot stopped before Facebook's echo reached it:
    started again long after, it waits for the echo (Facebook delivers it once the bot is
    back) instead of sending the reply a second time at once. On PostgreSQL too, when the
    instance that stopped was the only one."""
    settings = messenger_settings.model_copy(update={"bot_unconfirmed_wait": 5.0})
    graph.hang_next(3.0, processed=True)
    graph.echo_hold = asyncio.Event()  # Facebook cannot reach the bot for now
    async with on_database(dialect, settings) as settings:
        first = await aiohttp_client(create_app(settings, engine))
        graph.echo_to = str(first.make_url("/webhooks/messenger"))
        await post(first, fb.text("u-restart", "bonjour"))
        await timed_out(first, "u-restart")
        await first.close()
        later = Clock()
        later.advance(3600)  # started again an hour later: the wait after the timeout ran out
        second = await aiohttp_client(create_app(settings, engine, clock=later))
        graph.echo_to = str(second.make_url("/webhooks/messenger"))
        with contextlib.suppress(TimeoutError):  # a resend at start would reach Facebook now
            await graph.wait_until(lambda: len(graph.messages) > 1, within=0.5)
        graph.echo_hold.set()
        expected = expected_replies(engine, {"u-restart": ["bonjour"]})
        try:
            await assert_answered_once(graph, expected, within=15, settle=0.5)
        finally:
            await second.close()


async def test_an_instance_starting_beside_a_live_one_leaves_its_send_alone(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    graph: FakeGraph,
    engine: Engine,
    postgres_url: str,
) -> None:
    """Two instances on PostgreSQL: one starts while the other's reply is on its way. The
    first records its own send; the reply is not sent again (no echo here to save it)."""
    settings = messenger_settings.model_copy(
        update={
            "bot_database_url": postgres_url,
            "bot_send_timeout": 5.0,  # the reply waits at Facebook while the other starts
            "bot_unconfirmed_wait": 0.5,
        }
    )
    first = await aiohttp_client(create_app(settings, engine))
    seen = graph.hold = asyncio.Event()
    await post(first, fb.text("u-beside", "bonjour"))
    await graph.wait_until(lambda: graph.requests >= 1, within=10)  # the "seen" mark
    reply = graph.hold = asyncio.Event()
    seen.set()
    await graph.wait_until(lambda: graph.requests >= 2, within=10)  # the reply, on its way
    second = await aiohttp_client(create_app(settings, engine))
    reply.set()
    expected = expected_replies(engine, {"u-beside": ["bonjour"]})
    try:
        await assert_answered_once(graph, expected, within=15, settle=1.5)
    finally:
        await second.close()
        await first.close()


async def test_a_hanging_send_holds_back_only_its_own_conversation(
    bot: Client, graph: FakeGraph, engine: Engine
) -> None:
    graph.hang_next(2.5, processed=False)  # u-stuck's first reply: no answer for 1 s (timeout)
    await post(bot, fb.text("u-stuck", "mdp oublié", mid="m_stuck"))
    deadline = time.monotonic() + 5
    while graph.requests < 2:  # "seen", then the reply, which now hangs
        assert time.monotonic() < deadline, "the bot never sent its reply"
        await asyncio.sleep(0.01)
    await post(bot, fb.text("u-free", "mdp oublié", mid="m_free"))
    expected = expected_replies(engine, {"u-stuck": ["mdp oublié"], "u-free": ["mdp oublié"]})
    # Every reply of the other customer goes out while the first send still hangs…
    await graph.wait_for(len(expected["u-free"]), within=0.7, recipient="u-free")
    assert graph.texts("u-stuck") == []
    # …and the stuck customer is answered once, after the retry.
    await assert_answered_once(graph, expected, within=15, settle=2.0)


async def test_database_locked_briefly_slows_webhooks_but_loses_nothing(
    bot: Client, graph: FakeGraph, engine: Engine, messenger_settings: Settings
) -> None:
    path = messenger_settings.sqlite_path
    assert path is not None
    customers = {f"u-lock-{i}": WORDS[:2] for i in range(6)}
    locked = threading.Event()

    def hold_lock() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(1.0)  # a backup, a migration, an operator's query…
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    await asyncio.to_thread(locked.wait)
    started = time.monotonic()
    await burst(bot, customers)  # every webhook still gets its 200, only later
    assert time.monotonic() - started >= 0.5
    await asyncio.to_thread(holder.join)
    await assert_answered_once(graph, expected_replies(engine, customers), within=20, settle=0.3)


async def test_database_locked_too_long_answers_503_and_the_redelivery_is_answered_once(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    graph: FakeGraph,
    engine: Engine,
) -> None:
    settings = messenger_settings.model_copy(update={"bot_db_busy_timeout": 0.3})
    bot = await aiohttp_client(create_app(settings, engine))
    path = settings.sqlite_path
    assert path is not None
    event = fb.text("u-503", "mdp oublié", mid="m_503")
    body = fb.encode(fb.webhook(event))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        refused = await bot.post("/webhooks/messenger", data=body, headers=fb.sign(body))
        assert refused.status == 503  # not acknowledged: Facebook will deliver it again
        assert "error" in await refused.json()
    finally:
        other.execute("COMMIT")
        other.close()
    assert (await bot.get("/readyz")).status == 200  # the workers lived through it
    again = await bot.post("/webhooks/messenger", data=body, headers=fb.sign(body))
    assert again.status == 200
    await graph.wait_for(3, recipient="u-503")
    await settled(bot)
    assert graph.texts("u-503") == expected_replies(engine, {"u-503": ["mdp oublié"]})["u-503"]


async def test_readiness_fails_while_the_database_cannot_be_written(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    engine: Engine,
) -> None:
    """A load balancer must stop sending webhooks to an instance that cannot store them."""
    settings = messenger_settings.model_copy(update={"bot_db_busy_timeout": 0.3})
    bot = await aiohttp_client(create_app(settings, engine))
    assert (await bot.get("/readyz")).status == 200
    path = settings.sqlite_path
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # an operator's long transaction: reads pass, writes wait
    try:
        refused = await bot.get("/readyz")
        assert refused.status == 503
        assert "store" in await refused.json()
    finally:
        other.execute("COMMIT")
        other.close()
    assert (await bot.get("/readyz")).status == 200


async def test_readiness_fails_once_the_database_file_is_gone(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Deleted or replaced under a running bot, the file it still writes to would vanish at
    the next start: the instance says it is not ready."""
    bot = await aiohttp_client(create_app(messenger_settings, engine))
    path = messenger_settings.sqlite_path
    assert path is not None
    assert (await bot.get("/readyz")).status == 200
    path.unlink()
    refused = await bot.get("/readyz")
    assert refused.status == 503
    assert str(path) not in await refused.text()  # the reason is for the operator's log
    assert any("replaced or deleted" in r.getMessage() for r in caplog.records)

