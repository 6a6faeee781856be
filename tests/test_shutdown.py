"""SIGTERM on a real `serve` process: it exits within BOT_DRAIN_SECONDS and a few seconds,
even with a request whose body stalled and with agents' event streams open."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import unused_port

from tests.serving import run_bot, serve_log, start_serve, stop

DRAIN = 2.0


async def test_sigterm_with_a_stalled_request_and_open_event_streams_exits_in_time(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/bot.sqlite3"
    added = run_bot("agent", "add", "Ana", cwd=tmp_path, env={"BOT_DATABASE_URL": url})
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    port = unused_port()
    env = {
        "BOT_DATABASE_URL": url,
        "BOT_DRAIN_SECONDS": str(DRAIN),
        "BOT_BODY_TIMEOUT": "120",  # the stalled body is not cut by its own deadline here
    }
    process = await start_serve(env, port, tmp_path)
    stalled = socket.create_connection(("127.0.0.1", port))
    try:
        async with aiohttp.ClientSession() as session:
            streams = [
                await session.get(
                    f"http://127.0.0.1:{port}/api/events",
                    headers={"Authorization": f"Bearer {token}"},
                )
                for _ in range(3)
            ]
            for stream in streams:
                assert stream.status == 200
                assert (await stream.content.readline()).startswith(b"event: hello")
            stalled.sendall(
                b"POST /chat/messages HTTP/1.1\r\nHost: bot\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            await asyncio.sleep(0.3)

            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            for stream in streams:  # each stream ends, rather than the server waiting on it
                while await asyncio.wait_for(stream.content.readline(), DRAIN + 5):
                    pass
            code = await asyncio.wait_for(process.wait(), DRAIN + 10)
            took = time.monotonic() - started
    finally:
        stalled.close()
        await stop(process)
    assert code == 0
    assert took < DRAIN + 3, took
    log = serve_log(tmp_path, port).read_text()
    assert "Traceback" not in log, log
