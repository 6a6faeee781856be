"""Two `serve` processes on one PostgreSQL database, behind an imaginary load balancer.

Every customer message is answered exactly once and in order, whichever instance got its
webhook (the same `mid` even goes to both at once); two agents on different instances
racing for one escalation get one 200 and one 409; an agent connected to one instance
sees what happened on the other.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from bot.desk.auth import hash_token
from bot.engine import Engine
from bot.store import open_store
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph
from tests.serving import (
    assert_answered_once,
    deliver,
    expected_replies,
    messenger_env,
    next_event,
    start_serve,
    stop,
)

WORDS = [
    "bonjour",
    "mdp oublié",
    "non",
    "adresse déjà utilisée",
    "je reçois pas le mail de réinitialisation",
]


@pytest.fixture
async def instances(
    graph: FakeGraph, postgres_url: str, tmp_path: Path
) -> AsyncIterator[list[str]]:
    env = messenger_env(postgres_url, graph, BOT_SEND_BACKOFF="0.05")
    ports = [unused_port(), unused_port()]
    processes = await asyncio.gather(*(start_serve(env, port, tmp_path) for port in ports))
    store = open_store(postgres_url)
    await store.open()
    await store.add_agent("Ana", hash_token("token-ana"))
    await store.add_agent("Bob", hash_token("token-bob"))
    await store.close()
    yield [f"http://127.0.0.1:{port}" for port in ports]
    for process in processes:
        await stop(process)


async def test_burst_over_two_instances_is_answered_once_in_order(
    instances: list[str], graph: FakeGraph, engine: Engine
) -> None:
    customers = {f"u-scale-{i}": WORDS[: 2 + i % 4] for i in range(24)}
    shuffle = random.Random(7)

    async def customer(session: aiohttp.ClientSession, psid: str, words: list[str]) -> None:
        for number, text in enumerate(words):
            event = fb.text(psid, text, mid=f"m_{psid}_{number}")
            if number == 1:  # Facebook retries at the same time as the first delivery lands
                await asyncio.gather(*(deliver(session, base, event) for base in instances))
            else:
                await deliver(session, shuffle.choice(instances), event)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(customer(session, p, w) for p, w in customers.items()))

    expected = expected_replies(engine, customers)
    await assert_answered_once(graph, expected, within=30, settle=1.0)


async def test_two_agents_on_two_instances_claim_once_and_events_cross_over(
    instances: list[str], graph: FakeGraph
) -> None:
    a, b = instances
    async with aiohttp.ClientSession() as session:
        ana = {"Authorization": "Bearer token-ana"}
        bob = {"Authorization": "Bearer token-bob"}
        async with session.get(f"{a}/api/events", headers=ana) as stream:
            assert stream.status == 200
            await deliver(session, b, fb.text("u-cross", "je veux parler à un conseiller"))
            name, data = await next_event(stream)
            assert name == "escalation"
            escalation = data["escalation_id"]

            url = "{}/api/escalations/{}/claim"
            first, second = await asyncio.gather(
                session.post(url.format(a, escalation), headers=ana),
                session.post(url.format(b, escalation), headers=bob),
            )
            assert sorted([first.status, second.status]) == [200, 409]
            first.release()
            second.release()
            name, data = await next_event(stream)
            assert name == "claimed" and data["escalation_id"] == escalation

            # The customer writes again, through the other instance: the desk hears of it
            # with the escalation as it stands, whoever holds it.
            winner = "Ana" if first.status == 200 else "Bob"
            await deliver(session, b, fb.text("u-cross", "vous êtes là ?"))
            assert await next_event(stream) == (
                "message",
                {"escalation_id": escalation, "status": "claimed", "agent": winner},
            )
