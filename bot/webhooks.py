"""`GET|POST /webhooks/{channel}`: verify on the raw bytes, parse, store, acknowledge.

The acknowledgement is sent only once the events are committed to the inbox; the
engine runs afterwards, from the store, so the platform never waits for an answer.
"""

from __future__ import annotations

import functools
import logging

from aiohttp import web

from adapters.base import Inbound, PayloadError
from bot.http import ADAPTERS, METRICS, PIPELINE, STORE, error
from bot.store import StoreError

log = logging.getLogger(__name__)


CHANNELS = ("messenger", "twitter")


def add_routes(app: web.Application) -> None:
    """`/webhooks/messenger` and `/webhooks/twitter`, each a plain route (found by the
    router without a regular expression, on the path every webhook takes), and any other
    name, which gets a clear 404."""
    for channel in CHANNELS:
        app.router.add_get(f"/webhooks/{channel}", functools.partial(handshake, channel))
        app.router.add_post(f"/webhooks/{channel}", functools.partial(receive, channel))
    app.router.add_get("/webhooks/{channel}", _unknown)
    app.router.add_post("/webhooks/{channel}", _unknown)


async def handshake(channel: str, request: web.Request) -> web.StreamResponse:
    adapter = request.app[ADAPTERS].get(channel)
    if adapter is None:
        return _not_configured(channel)
    return adapter.handshake(request.query)


async def receive(channel: str, request: web.Request) -> web.StreamResponse:
    app = request.app
    response = await _receive(channel, app, request)
    app[METRICS].webhook(channel, response.status)
    return response


async def _receive(channel: str, app: web.Application, request: web.Request) -> web.Response:
    adapter = app[ADAPTERS].get(channel)
    if adapter is None:
        return _not_configured(channel)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(413, "the body is larger than 1 MiB")
    if not adapter.verify(request.headers, body):
        missing = adapter.signature_header not in request.headers
        reason = "missing" if missing else "invalid"
        log.warning("%s webhook refused: %s signature", channel, reason)
        app[METRICS].signature_failures.labels(channel, reason).inc()
        return error(401 if missing else 403, f"{'missing' if missing else 'invalid'} signature")
    try:
        events = adapter.parse(body)
    except PayloadError as exc:
        return error(400, str(exc))
    if any(e.kind == "receipt" for e in events):
        await _confirm(app, [e for e in events if e.kind == "receipt"])
        events = [e for e in events if e.kind != "receipt"]
    if events:
        try:
            await app[STORE].add_inbox(events)
        except StoreError as exc:
            # Not acknowledged: the platform delivers it again later, nothing is lost.
            log.error("%s webhook not stored: %s", channel, exc)
            return error(503, "temporarily unable to store the event")
        app[PIPELINE].wake_inbox()
    return web.Response(text="EVENT_RECEIVED")


async def _confirm(app: web.Application, receipts: list[Inbound]) -> None:
    """The platform echoed replies we sent: they are delivered, whatever we thought."""
    pairs = [
        (int(r.message.payload), r.message.platform_id)
        for r in receipts
        if r.message.payload and r.message.payload.isdigit()
    ]
    try:
        await app[STORE].confirm_deliveries(pairs)
    except StoreError as exc:  # a receipt only saves a possible resend: never fail for it
        log.warning("delivery receipts not recorded: %s", exc)


async def _unknown(request: web.Request) -> web.Response:
    return error(404, f"no channel named {request.match_info['channel']}")


def _not_configured(channel: str) -> web.Response:
    return error(404, f"the {channel} channel is not configured on this server")
