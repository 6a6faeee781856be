"""`python -m bot serve` as a real process: killed with -9 mid-burst, stopped with SIGTERM.

The fake Graph API counts what reaches the platform: every customer message must be
answered exactly once, whatever happened to the process in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from bot.engine import Engine
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph
from tests.serving import (
    assert_answered_once,
    deliver,
    expected_replies,
    messenger_env,
    serve_log,
    start_serve,
    stop,
)

Serve = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def serve(graph: FakeGraph, tmp_path: Path) -> AsyncIterator[tuple[Serve, str]]:
    """Start `serve` processes on one SQLite file and one port; all are killed at the end."""
    port = unused_port()
    env = messenger_env(
        f"sqlite:///{tmp_path}/bot.sqlite3",
        graph,
        BOT_SEND_BACKOFF="0.05",
        BOT_DRAIN_SECONDS="5",
        BOT_UNCONFIRMED_WAIT="3",
    )
    processes: list[asyncio.subprocess.Process] = []

    graph.echo_to = f"http://127.0.0.1:{port}/webhooks/messenger"  # Facebook's echoes

    async def start(**more: str) -> asyncio.subprocess.Process:
        processes.append(await start_serve({**env, **more}, port, tmp_path))
        return processes[-1]

    yield start, f"http://127.0.0.1:{port}"
    for process in processes:
        await stop(process)


async def send(base: str, event: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as session:
        await deliver(session, base, event)


CONVERSATIONS = {
    f"u-crash-{i}": ["bonjour", "mdp oublié", "je reçois pas le mail de réinitialisation"][: 1 + i % 3]
    for i in range(12)
}


@pytest.mark.parametrize("sync", ["thread", "full"])
async def test_kill_9_after_acknowledgement_then_restart_answers_each_message_once(
    serve: tuple[Serve, str], graph: FakeGraph, engine: Engine, sync: str
) -> None:
    """In either way SQLite's commits reach the disk (BOT_SQLITE_SYNC), an acknowledged
    webhook survives the process."""
    start, base = serve
    process = await start(BOT_SQLITE_SYNC=sync)
    graph.hold = asyncio.Event()  # the platform hangs: nothing can be sent before the crash
    for number in range(3):
        for psid, words in CONVERSATIONS.items():
            if number < len(words):
                await send(base, fb.text(psid, words[number], mid=f"m_{psid}_{number}"))
    await graph.wait_until(lambda: graph.requests > 0)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    graph.hold.set()
    assert graph.messages == []

    await start(BOT_SQLITE_SYNC=sync)
    expected = expected_replies(engine, CONVERSATIONS)
    await assert_answered_once(graph, expected, within=20, settle=0.5)


async def test_kill_9_twice_while_replies_go_out_then_restart_answers_each_message_once(
    serve: tuple[Serve, str], graph: FakeGraph, engine: Engine
) -> None:
    """Killed while sending, a reply may have reached Facebook unrecorded: its echo, which
    Facebook delivers once the bot is back, confirms it before any resend."""
    start, base = serve
    process = await start()
    graph.delay = 0.005
    customers = {
        f"u-mid-{i}": ["bonjour", "mdp oublié", "non", "adresse déjà utilisée"][: 2 + i % 3]
        for i in range(16)
    }
    expected = expected_replies(engine, customers)
    total = sum(len(texts) for texts in expected.values())
    for number in range(4):
        for psid, words in customers.items():
            if number < len(words):
                await send(base, fb.text(psid, words[number], mid=f"m_{psid}_{number}"))
    for fraction in (0.25, 0.6):

        def reached(share: float = fraction) -> bool:
            return len(graph.messages) >= total * share

        await graph.wait_until(reached, within=20)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        process = await start()
    # Past the unconfirmed wait: a resend would have arrived by then.
    await assert_answered_once(graph, expected, within=30, settle=4)


async def test_on_postgresql_kill_9_of_the_only_instance_mid_send_then_restart_waits_for_the_echo(
    graph: FakeGraph, engine: Engine, postgres_url: str, tmp_path: Path
) -> None:
    """The only instance on PostgreSQL is killed while its reply, delivered already, waits
    for Facebook's answer, and started again at once: when the dead one's lease runs out,
    the reply waits for the echo (Facebook delivers it once the bot is back) instead of
    going a second time."""
    port = unused_port()
    env = messenger_env(
        postgres_url,
        graph,
        BOT_SEND_TIMEOUT="2",
        BOT_LEASE_SECONDS="5",
        BOT_UNCONFIRMED_WAIT="8",
    )
    base = f"http://127.0.0.1:{port}"
    graph.echo_to = f"{base}/webhooks/messenger"
    graph.echo_hold = asyncio.Event()  # Facebook cannot reach the bot for now
    graph.hang_next(30, processed=True)
    processes = [await start_serve(env, port, tmp_path)]
    try:
        await send(base, fb.text("u-killed", "bonjour"))
        await graph.wait_until(lambda: len(graph.messages) == 1, within=10)
        processes[0].send_signal(signal.SIGKILL)
        await processes[0].wait()
        processes.append(await start_serve(env, port, tmp_path))
        # Past the dead one's lease: a resend would reach Facebook now.
        with contextlib.suppress(TimeoutError):
            await graph.wait_until(lambda: len(graph.messages) > 1, within=5)
        graph.echo_hold.set()
        expected = expected_replies(engine, {"u-killed": ["bonjour"]})
        await assert_answered_once(graph, expected, within=15, settle=1)
    finally:
        for process in processes:
            await stop(process)


async def test_sigterm_drains_in_flight_replies_and_exits_cleanly(
    serve: tuple[Serve, str], graph: FakeGraph, tmp_path: Path
) -> None:
    start, base = serve
    process = await start()
    graph.delay = 0.2  # each send takes a while: the replies are still going out at SIGTERM
    await send(base, fb.text("u-term", "mdp oublié"))
    await graph.wait_until(lambda: graph.requests > 0)
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 15) == 0
    err = serve_log(tmp_path, int(base.rsplit(":", 1)[1])).read_text()
    assert len(graph.texts("u-term")) == 3, err
    assert "Traceback" not in err


async def test_second_serve_on_the_same_sqlite_file_stops_with_a_clear_error(
    serve: tuple[Serve, str], tmp_path: Path
) -> None:
    start, _ = serve
    await start()
    env = {**os.environ, "BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3"}
    second = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(unused_port()),
        env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(second.communicate(), 30)
    assert second.returncode == 2
    assert b"in use by another bot process" in err
