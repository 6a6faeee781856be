"""Helpers for tests of the running service: `serve` processes, settling, webhooks, SSE."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.engine import Engine
from bot.http import STORE
from bot.local import LocalConversations
from bot.store import Store
from tests.fakes import messenger as fb
from tests.fakes.graph import TOKEN, FakeGraph


def messenger_env(database_url: str, graph: FakeGraph, **more: str) -> dict[str, str]:
    """The environment of a `serve` on `database_url` whose Messenger channel talks to the
    fake Graph API `graph`; `more` adds or overrides settings by their names."""
    return {
        "BOT_DATABASE_URL": database_url,
        "MESSENGER_APP_SECRET": fb.APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": fb.VERIFY_TOKEN,
        "MESSENGER_PAGE_ACCESS_TOKEN": TOKEN,
        "MESSENGER_API_URL": graph.url,
        **more,
    }


async def start_serve(
    env: dict[str, str], port: int, cwd: Path, *, within: float = 20.0
) -> asyncio.subprocess.Process:
    """Start `serve` on 127.0.0.1:`port` with `env` added to ours; return once /readyz says so.

    Its logs go to `serve_log(cwd, port)`, a file: a pipe nobody reads would fill up and
    stall the server.
    """
    with serve_log(cwd, port).open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
            env={**os.environ, **env}, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientConnectionError:
                pass
            if process.returncode is not None:
                break
            await asyncio.sleep(0.05)
    if process.returncode is None:
        process.kill()
    await process.wait()
    err = serve_log(cwd, port).read_text(errors="replace")
    raise AssertionError(f"serve did not become ready:\n{err}")


def serve_log(cwd: Path, port: int) -> Path:
    """Where `start_serve` writes the logs of the server on `port`."""
    return cwd / f"serve-{port}.log"


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await process.wait()


async def settled(client: TestClient[web.Request, web.Application], seconds: float = 0.3) -> None:
    """Wait until the app's inbox and outbox are empty, then a little more for stray work."""
    await store_settled(client.app[STORE], seconds)


async def store_settled(store: Store, seconds: float = 0.3, within: float = 10.0) -> None:
    """Wait until `store` holds no event or reply still to handle, then `seconds` more."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        counts = await store.counts()
        if counts.inbox_pending == 0 and counts.outbox_pending == 0:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(seconds)


async def deliver(session: aiohttp.ClientSession, base: str, event: dict[str, Any]) -> None:
    """One signed Messenger webhook carrying `event`, to the server at `base`; must be 200."""
    body = fb.encode(fb.webhook(event))
    async with session.post(f"{base}/webhooks/messenger", data=body, headers=fb.sign(body)) as r:
        assert r.status == 200


async def next_event(stream: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]]:
    """The next server-sent event of the desk's stream, after its greeting."""
    name = ""
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 15)).decode().strip()
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:") and name != "hello":
            return name, json.loads(line.removeprefix("data:"))


def expected_replies(engine: Engine, customers: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the engine answers each customer, reading their messages one by one, in order."""
    local = LocalConversations(engine)
    return {
        psid: [reply.text for text in words for reply in local.send(psid, text).replies]
        for psid, words in customers.items()
    }


async def assert_answered_once(
    graph: FakeGraph, expected: dict[str, list[str]], *, within: float, settle: float
) -> None:
    """Every customer got exactly `expected`: nothing missing, nothing twice, in order.

    `settle` is how long to wait, once all arrived, for a duplicate that would come late.
    """
    for psid, texts in expected.items():
        await graph.wait_for(len(texts), recipient=psid, within=within)
    await asyncio.sleep(settle)
    assert {psid: graph.texts(psid) for psid in expected} == expected


def run_bot(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in `cwd` with only `env` (and PATH): what an operator types."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
