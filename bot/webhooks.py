"""`GET|POST /webhooks/{channel}`: verify on the raw bytes, parse, store, acknowledge.

The acknowledgement is sent only once the events are committed to the inbox; the
engine runs afterwards, from the store, so the platform never waits for an answer.
"""

from __future__ import annotations

import logging

from aiohttp import web

from adapters.base import Inbound, PayloadError
from bot.http import ADAPTERS, METRICS, PIPELINE, STORE, error
from bot.store import StoreError

log = logging.getLogger(__name__)


async def handshake(request: web.Request) -> web.StreamResponse:
    adapter = request.app[ADAPTERS].get(request.match_info["channel"])
    if adapter is None:
        return _not_configured(request)
    return adapter.handshake(request.query)


async def receive(request: web.Request) -> web.StreamResponse:
    response = await _receive(request)
    request.app[METRICS].webhook(request.match_info["channel"], response.status)
    return response


async def _receive(request: web.Request) -> web.StreamResponse:
    channel = request.match_info["channel"]
    adapter = request.app[ADAPTERS].get(channel)
    if adapter is None:
        return _not_configured(request)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(413, "the body is larger than 1 MiB")
    if not adapter.verify(request.headers, body):
        missing = adapter.signature_header not in request.headers
        reason = "missing" if missing else "invalid"
        log.warning("%s webhook refused: %s signature", channel, reason)
        request.app[METRICS].signature_failures.labels(channel, reason).inc()
        return error(401 if missing else 403, f"{'missing' if missing else 'invalid'} signature")
    try:
        events = adapter.parse(body)
    except PayloadError as exc:
        return error(400, str(exc))
    receipts = [e for e in events if e.kind == "receipt"]
    events = [e for e in events if e.kind != "receipt"]
    if receipts:
        await _confirm(request, receipts)
    if events:
        try:
            await request.app[STORE].add_inbox(events)
        except StoreError as exc:
            # Not acknowledged: the platform delivers it again later, nothing is lost.
            log.error("%s webhook not stored: %s", channel, exc)
            return error(503, "temporarily unable to store the event")
        request.app[PIPELINE].wake_inbox()
    return web.Response(text="EVENT_RECEIVED")


async def _confirm(request: web.Request, receipts: list[Inbound]) -> None:
    """The platform echoed replies we sent: they are delivered, whatever we thought."""
    pairs = [
        (int(r.message.payload), r.message.platform_id)
        for r in receipts
        if r.message.payload and r.message.payload.isdigit()
    ]
    try:
        await request.app[STORE].confirm_deliveries(pairs)
    except StoreError as exc:  # a receipt only saves a possible resend: never fail for it
        log.warning("delivery receipts not recorded: %s", exc)


def _not_configured(request: web.Request) -> web.Response:
    channel = request.match_info["channel"]
    if channel not in ("messenger", "twitter"):
        return error(404, f"no channel named {channel}")
    return error(404, f"the {channel} channel is not configured on this server")
