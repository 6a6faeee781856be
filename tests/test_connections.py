"""Connections, as an attacker holds them: `python -m bot serve` as a real process, raw
sockets on 127.0.0.1.

A body sent one byte every two seconds is cut; thousands of idle connections neither use
up the process's file descriptors nor stop `/healthz`; when every connection is busy, a
newcomer gets a clear 503; malformed requests and failed accepts are a few log lines, not
a traceback each.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import unused_port

from bot.server import LINGER, MAX_REFUSING
from tests.serving import serve_log, start_serve, stop

BODY_TIMEOUT = 2.0
CAP = 20


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[int, asyncio.subprocess.Process]]:
    port = unused_port()
    env = {
        "BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
        "BOT_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "BOT_MAX_CONNECTIONS": str(CAP),
    }
    process = await start_serve(env, port, tmp_path)
    yield port, process
    await stop(process)


def log_of(tmp_path: Path, port: int) -> str:
    return serve_log(tmp_path, port).read_text(errors="replace")


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


@contextmanager
def sockets(port: int, count: int) -> Iterator[list[socket.socket]]:
    opened = [connect(port) for _ in range(count)]
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def answer(sock: socket.socket, within: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or `within` passes)."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def status_and_json(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def healthz(port: int) -> int:
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n")
        raw = answer(sock, within=3)
    return int(raw.split()[1]) if raw else 0


SLOW_HEAD = (
    b"POST /chat/messages HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n"
)


async def test_a_body_sent_one_byte_every_two_seconds_is_cut_with_408(
    served: tuple[int, asyncio.subprocess.Process], tmp_path: Path
) -> None:
    port, _ = served

    def trickle() -> tuple[float, bytes]:
        with connect(port) as sock:
            sock.sendall(SLOW_HEAD)
            started = time.monotonic()
            sock.settimeout(0.1)
            data = b""
            while time.monotonic() - started < 60:
                try:
                    sock.sendall(b"x")
                except OSError:
                    break
                pause = time.monotonic() + 2
                closed = False
                while time.monotonic() < pause:
                    try:
                        chunk = sock.recv(4096)
                    except TimeoutError:
                        continue
                    except ConnectionResetError:
                        closed = True
                        break
                    if not chunk:
                        closed = True
                        break
                    data += chunk
                if closed:
                    break
            return time.monotonic() - started, data

    took, data = await asyncio.to_thread(trickle)
    assert took < BODY_TIMEOUT + LINGER + 2.5, took
    status, body = status_and_json(data)
    assert status == 408 and "body" in str(body["error"])
    assert "Traceback" not in log_of(tmp_path, port)


async def test_thousands_of_idle_connections_leave_healthz_answering(
    served: tuple[int, asyncio.subprocess.Process], tmp_path: Path
) -> None:
    port, process = served
    descriptors_before = len(os.listdir(f"/proc/{process.pid}/fd"))

    def flood() -> tuple[list[int], int]:
        statuses = []
        with sockets(port, 1000):
            time.sleep(1.2)  # past the grace a new connection has to send its request
            for _ in range(5):
                statuses.append(healthz(port))
            descriptors = len(os.listdir(f"/proc/{process.pid}/fd"))
        return statuses, descriptors

    statuses, descriptors = await asyncio.to_thread(flood)
    assert statuses == [200] * 5
    # The idle connections beyond the cap were closed: the process did not keep 1,000
    # (besides the cap, a few refusals may still be answering).
    assert descriptors <= descriptors_before + CAP + MAX_REFUSING + 50, descriptors
    log = log_of(tmp_path, port)
    assert "Traceback" not in log
    assert len(log.splitlines()) < 30, log  # the refusals are summed up, not one line each


async def test_when_every_connection_is_busy_a_newcomer_gets_a_clear_503(
    served: tuple[int, asyncio.subprocess.Process], tmp_path: Path
) -> None:
    port, _ = served

    def busy() -> bytes:
        with sockets(port, CAP) as slow:
            for sock in slow:
                sock.sendall(SLOW_HEAD + b"{")  # each request's body is on its way
            time.sleep(0.5)
            with connect(port) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
                return answer(sock, within=3)

    raw = await asyncio.to_thread(busy)
    status, body = status_and_json(raw)
    assert status == 503 and "too many connections" in str(body["error"])
    assert b"Retry-After: 1" in raw
    # Once the slow bodies are cut, the server answers again.
    await asyncio.sleep(BODY_TIMEOUT + LINGER)
    assert await asyncio.to_thread(healthz, port) == 200


MALFORMED = [
    b"GET / HTTP/1.1\r\nHost: bot\r\nBad\x01Header: x\r\n\r\n",
    b"GET /healthz HTTP/9.9\r\nHost: bot\r\n\r\n",
    b"POST /chat/messages HTTP/1.1\r\nHost: bot\r\nContent-Length: -1\r\n\r\n",
    b"POST /chat/messages HTTP/1.1\r\nHost: bot\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: bot\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\nGET /healthz HTTP/1.1\r\n\x00\r\n\r\n",
]


async def test_malformed_requests_are_logged_in_one_info_line_not_a_traceback(
    served: tuple[int, asyncio.subprocess.Process], tmp_path: Path
) -> None:
    port, _ = served

    def send_all() -> list[bytes]:
        answers = []
        for _ in range(6):
            for request in MALFORMED:
                with connect(port) as sock:
                    sock.sendall(request)
                    answers.append(answer(sock, within=3))
        return answers

    answers = await asyncio.to_thread(send_all)
    assert all(b" 400 " in a.split(b"\r\n")[-1] or b" 400 " in a for a in answers), answers[:3]
    log = log_of(tmp_path, port)
    assert "Traceback" not in log and "ERROR" not in log, log
    lines = [line for line in log.splitlines() if "malformed HTTP request" in line]
    assert 1 <= len(lines) <= 10 and all(" INFO " in line for line in lines), log
    assert await asyncio.to_thread(healthz, port) == 200


# A server on a process allowed few file descriptors: connections beyond them make
# accept() fail with EMFILE, which asyncio reports through the loop's exception handler.
ACCEPT_PROBE = """
import asyncio, logging, os, resource, sys
from bot import logs
from bot.server import quiet_accept_errors

logs.configure()
async def main():
    loop = asyncio.get_running_loop()
    if sys.argv[1] == "quiet":
        quiet_accept_errors(loop)
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    used = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + 3, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    print(port, flush=True)
    await asyncio.sleep(float(sys.argv[2]))
asyncio.run(main())
"""


def accept_errors_logged(mode: str, seconds: float) -> str:
    probe = subprocess.Popen(
        [sys.executable, "-c", ACCEPT_PROBE, mode, str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert probe.stdout is not None
    port = int(probe.stdout.readline())
    with sockets(port, 60):
        _, err = probe.communicate(timeout=seconds + 30)
    return err


def test_failed_accepts_are_summed_up_in_a_line_not_a_traceback_each() -> None:
    before = accept_errors_logged("default", 3.5)
    assert before.count("Traceback") >= 2  # asyncio's own report: one traceback per failure
    after = accept_errors_logged("quiet", 3.5)
    assert "Traceback" not in after
    lines = [line for line in after.splitlines() if "accept() failed" in line]
    assert 1 <= len(lines) <= 5 and "Too many open files" in lines[0], after
