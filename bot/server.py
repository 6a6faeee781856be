"""Serving the app on a socket: what `serve` adds to aiohttp for a public network.

- A cap on open connections (`BOT_MAX_CONNECTIONS`, lowered to what the process's file
  limit allows). At the cap, the oldest idle connection (keep-alive, or a request head
  that never ends) is closed to make room; when every connection is busy, the newcomer
  gets a short `503` JSON answer and is closed. Thousands of idle connections from one
  host no longer use up file descriptors, and `/healthz` keeps answering.
- A deadline for a request's body (`BOT_BODY_TIMEOUT`): a body that trickles in gets
  `408` and the connection is closed, instead of holding it for minutes. Idle
  connections are closed after `KEEPALIVE` seconds.
- Log lines an attacker cannot multiply: a malformed HTTP request is one INFO line, not
  an ERROR traceback; failed `accept()` calls (out of file descriptors) and refused
  connections are summed up in one line every `LOG_EVERY` seconds.
- SIGTERM: stop listening, close the desk's event streams (the app's `on_shutdown`),
  give requests in flight at most `HTTP_GRACE` seconds, then let the workers drain for
  `BOT_DRAIN_SECONDS`: the process exits within that time plus a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from bot.config import Settings
from bot.http import error

log = logging.getLogger(__name__)

KEEPALIVE: Final = 75.0  # longer than proxies' idle upstream connections (nginx, ALB: 60 s)
HTTP_GRACE: Final = 3.0  # at SIGTERM, for requests in flight (a webhook takes milliseconds)
LINGER: Final = 2.0  # reading what is left of a body we refused, so the answer arrives
FD_RESERVE: Final = 200  # descriptors kept for the database, outgoing calls, logs
LOG_EVERY: Final = 10.0
REFUSAL_WAIT: Final = 2.0  # a refused client has this long to send its request head
MIN_IDLE: Final = 1.0  # seconds a new connection has to send its request before eviction
MAX_REFUSING: Final = 64  # refusals answered at once; beyond, connections are just closed

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class Summary:
    """Log the first `burst` events of a kind as they come, then one line at the end of
    each `every` seconds saying how many more there were."""

    def __init__(self, logger: logging.Logger, every: float = LOG_EVERY, burst: int = 5) -> None:
        self._log = logger
        self._every = every
        self._burst = burst
        self._window = -every
        self._shown = 0
        self._hidden = 0
        self._level = logging.INFO
        self._last = ""
        self._flush: asyncio.TimerHandle | None = None

    def event(self, level: int, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._window >= self._every:
            self.flush()
            self._window, self._shown = now, 0
        if self._shown < self._burst:
            self._shown += 1
            self._log.log(level, message, *args)
            return
        self._hidden += 1
        self._level, self._last = level, message % args if args else message
        if self._flush is None:
            with contextlib.suppress(RuntimeError):  # no loop (a thread): said with the next
                loop = asyncio.get_running_loop()
                left = self._window + self._every - now
                self._flush = loop.call_at(loop.time() + left, self.flush)

    def flush(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._hidden:
            self._log.log(
                self._level, "%s more like this in %.0f s; the last: %s", self._hidden,
                self._every, self._last,
            )  # fmt: skip
            self._hidden = 0


class MalformedRequests(logging.Filter):
    """aiohttp logs a request it cannot parse as an ERROR with a traceback: one INFO line."""

    def __init__(self) -> None:
        super().__init__()
        self._summary = Summary(log)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        reason = " ".join(str(exc.message).split())[:200]
        self._summary.event(logging.INFO, "malformed HTTP request from %s: %s", remote, reason)
        return False


class Connections:
    """The protocol factory of the listening socket: every connection passes here."""

    def __init__(self, limit: int, body_timeout: float) -> None:
        self.server: web.Server | None = None  # set once the runner made it
        self.limit = limit
        self._body_timeout = body_timeout
        # Open connections, oldest first, with the time each was made. Counted here, not
        # from the server: asyncio makes a whole batch of accepted connections' protocols
        # before any of them reports being connected.
        self._live: dict[RequestHandler, float] = {}
        self._refusing = 0
        self._refused = Summary(log)

    def __call__(self) -> asyncio.BaseProtocol:
        assert self.server is not None
        if len(self._live) >= self.limit and not self._evict_idle():
            if self._refusing >= MAX_REFUSING:
                self._refused.event(logging.WARNING, "connection limit (%s) reached", self.limit)
                return _Closed()
            self._refused.event(logging.WARNING, "connection limit (%s) reached: 503", self.limit)
            self._refusing += 1  # here, not once connected: see `_live`
            return _Refusal(self)
        handler = self.server()
        self._live[handler] = time.monotonic()
        return _Counted(handler, self)

    def _evict_idle(self) -> bool:
        """Close the oldest connection that has no request in progress and had time to
        send one (a burst of new connections does not push itself out)."""
        before = time.monotonic() - MIN_IDLE
        for handler, born in self._live.items():  # oldest first
            if born > before:
                return False
            # aiohttp's own mark of a request being handled (read with a default: should
            # it go, no connection is taken for idle, and the cap answers 503 instead).
            if not getattr(handler, "_request_in_progress", True):
                del self._live[handler]
                handler.force_close()
                return True
        return False

    def _lost(self, handler: RequestHandler) -> None:
        self._live.pop(handler, None)

    def guard(self, handle: Handler) -> Handler:
        """`handle` (the app's), reading the request's body first, within the deadline,
        unless it already arrived whole (nearly always: then it costs one check). Set as
        the server's request handler rather than as a middleware: aiohttp's middleware
        chain costs a few per cent of a webhook's instructions."""

        async def guarded(request: web.BaseRequest) -> web.StreamResponse:
            if not request.content.is_eof():
                refused = await self._read_body(request)
                if refused is not None:
                    return refused
            return await handle(request)

        return guarded

    async def _read_body(self, request: web.BaseRequest) -> web.Response | None:
        try:
            async with asyncio.timeout(self._body_timeout):
                await request.read()  # kept by aiohttp: the handler reads it again for free
        except TimeoutError:
            log.info(
                "request body from %s not received within %s s: closed",
                request.remote,
                self._body_timeout,
            )
            response = error(408, "the request body did not arrive in time")
            response.force_close()
            return response
        except web.HTTPRequestEntityTooLarge:
            return error(413, "the body is larger than 1 MiB")
        except ConnectionError:
            # The client went away mid-body: nobody reads this answer, nothing to log.
            response = error(400, "the connection was lost while reading the body")
            response.force_close()
            return response
        return None


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one connection, and our count of it."""

    __slots__ = ("_handler", "_owner")

    def __init__(self, handler: RequestHandler, owner: Connections) -> None:
        self._handler = handler
        self._owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._handler.data_received(data)

    def eof_received(self) -> None:
        self._handler.eof_received()

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._lost(self._handler)
        self._handler.connection_lost(exc)


class _Refusal(asyncio.Protocol):
    """A connection over the cap: answered 503 once its request head arrives, then closed."""

    BODY: Final = b'{"error": "the server has too many connections; try again shortly"}'
    ANSWER: Final = (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"Retry-After: 1\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    )

    def __init__(self, owner: Connections) -> None:
        self._owner = owner
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._answered = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._timer = asyncio.get_running_loop().call_later(REFUSAL_WAIT, transport.abort)

    def data_received(self, data: bytes) -> None:
        if not self._answered and self._transport is not None:
            self._answered = True
            self._transport.write(self.ANSWER)
            # Half-close: the client reads the answer; what it still sends is discarded
            # until it closes, or the timer ends it.
            if self._transport.can_write_eof():
                self._transport.write_eof()
            else:
                self._transport.close()

    def eof_received(self) -> bool:
        return False  # close

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._refusing -= 1
        if self._timer is not None:
            self._timer.cancel()


class _Closed(asyncio.Protocol):
    """Over the cap while many refusals are pending: closed at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


def connection_limit(wanted: int) -> int:
    """The cap that the process's file limit allows: raise the soft limit toward the hard
    one if needed, else lower the cap, keeping `FD_RESERVE` descriptors for the rest."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        limit = max(16, soft - FD_RESERVE)
        log.info("at most %s connections: the process may open %s files", limit, soft)
        return limit
    return wanted


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio logs a traceback for each failed accept() (out of descriptors): sum them up."""
    summary = Summary(log)

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if message.startswith("socket.accept()"):
            summary.event(logging.WARNING, "accept() failed: %s", context.get("exception"))
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


def run(app: web.Application, settings: Settings, host: str, port: int) -> None:
    """Serve `app` until SIGTERM or SIGINT, then shut down in bounded time."""
    asyncio.run(_run(app, settings, host, port))


async def _run(app: web.Application, settings: Settings, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    quiet_accept_errors(loop)
    logging.getLogger("aiohttp.server").addFilter(MalformedRequests())
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    grace = min(HTTP_GRACE, settings.bot_drain_seconds) or 0.01  # 0 would mean for ever
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=KEEPALIVE,
        lingering_time=LINGER,
        shutdown_timeout=grace,
    )
    connections = Connections(
        connection_limit(settings.bot_max_connections), settings.bot_body_timeout
    )
    await runner.setup()
    listener: asyncio.Server | None = None
    try:
        assert runner.server is not None
        connections.server = runner.server
        runner.server.request_handler = connections.guard(runner.server.request_handler)
        listener = await loop.create_server(
            connections, host, port, backlog=1024, reuse_address=True
        )
        await stop.wait()
        log.info("stopping: no new connections, event streams closed, draining")
    finally:
        if listener is not None:
            listener.close()
        await runner.cleanup()
