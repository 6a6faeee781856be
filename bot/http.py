"""What the HTTP handlers share: the application's typed keys and JSON error answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from adapters.base import ChannelAdapter
from bot.config import Settings
from bot.engine import Engine
from bot.local import LocalConversations
from bot.metrics import Metrics
from bot.store import Store
from bot.workers import Pipeline

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
LOCAL = web.AppKey("local", LocalConversations)
STORE = web.AppKey("store", Store)
SESSION = web.AppKey("session", aiohttp.ClientSession)
ADAPTERS = web.AppKey("adapters", dict[str, ChannelAdapter])
PIPELINE = web.AppKey("pipeline", Pipeline)
METRICS = web.AppKey("metrics", Metrics)
# Seconds since the epoch: the one clock of the store, the workers, the desk and the
# channels, which tests set.
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")


def error(status: int, message: str) -> web.Response:
    """`{"error": message}` with `status`: the one shape of every error we answer."""
    return web.json_response({"error": message}, status=status)


def client_address(request: web.Request) -> str:
    """Who is calling: the peer's address, or the one our proxy saw when it is trusted."""
    if request.app[SETTINGS].bot_trust_proxy:
        # The proxy appends the address it saw: the last entry is the only one not written
        # by the client.
        forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.remote or "unknown"


def first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, as `field: message`."""
    first: Any = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
