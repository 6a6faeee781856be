"""`GET|POST /webhooks/{channel}`: verify on the raw bytes, parse, store, acknowledge.

The acknowledgement is sent only once the events are committed to the inbox; the
engine runs afterwards, from the store, so the platform never waits for an answer.
"""

from __future__ import annotations

import functools
import logging

from aiohttp import web

from adapters.base import Inbound, PayloadError
from bot.http import ADAPTERS, METRICS, PIPELINE, STORE, client_address, error
from bot.redaction import redact_events
from bot.store import Store, StoreError
from bot.throttle import Throttle

log = logging.getLogger(__name__)


CHANNELS = ("messenger", "twitter")
# Platforms check a subscription when it is made, then X about once an hour: a few checks
# a minute per client is plenty, and bounds what a caller can have us compute.
HANDSHAKES = web.AppKey("handshakes", Throttle)
HANDSHAKE_RATE = 1 / 12
HANDSHAKE_BURST = 5
# What a refused check's status means, for the refusal counter.
_REFUSALS = {400: "malformed", 403: "forbidden"}


def add_routes(app: web.Application) -> None:
    """`/webhooks/messenger` and `/webhooks/twitter`, each a plain route (found by the
    router without a regular expression, on the path every webhook takes), and any other
    name, which gets a clear 404."""
    app[HANDSHAKES] = Throttle(HANDSHAKE_RATE, HANDSHAKE_BURST)
    for channel in CHANNELS:
        app.router.add_get(f"/webhooks/{channel}", functools.partial(handshake, channel))
        app.router.add_post(f"/webhooks/{channel}", functools.partial(receive, channel))
    app.router.add_get("/webhooks/{channel}", _unknown)
    app.router.add_post("/webhooks/{channel}", _unknown)


async def handshake(channel: str, request: web.Request) -> web.StreamResponse:
    app = request.app
    adapter = app[ADAPTERS].get(channel)
    if adapter is None:
        return _not_configured(channel)
    wait = app[HANDSHAKES].wait(f"{channel} {client_address(request)}")
    if wait:
        app[METRICS].handshake_refusals.labels(channel, "rate_limited").inc()
        response = error(429, "too many subscription checks; try again later")
        response.headers["Retry-After"] = str(wait)
        return response
    response = adapter.handshake(request.query)
    if response.status >= 400:
        reason = _REFUSALS.get(response.status, "refused")
        app[METRICS].handshake_refusals.labels(channel, reason).inc()
        log.warning("%s subscription check refused: %s", channel, reason)
    return response


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
    try:
        events = await sort_out(app[STORE], events)
        if events:
            events = redact_events(events)  # no pasted password or card number is ever stored
            await app[STORE].add_inbox(events)
    except StoreError as exc:
        # Not acknowledged: the platform delivers it again later, nothing is lost.
        log.error("%s webhook not stored: %s", channel, exc)
        return error(503, "temporarily unable to store the event")
    if events:
        app[PIPELINE].wake_inbox()
    return web.Response(text="EVENT_RECEIVED")


async def sort_out(store: Store, events: list[Inbound]) -> list[Inbound]:
    """The events to store: receipts recorded instead (the platform delivered replies we
    sent, whatever we thought), and the account's own messages that the platform does not
    attribute kept only when a person wrote them (a takeover)."""
    if not any(e.kind in ("receipt", "own") for e in events):
        return events  # nearly always: no round trip to the store
    receipts = [(e.receipt.outbox_id, e.receipt.platform_id) for e in events if e.receipt]
    try:
        await store.confirm_deliveries(receipts)
    except StoreError as exc:  # a receipt only saves a possible resend: never fail for it
        log.warning("delivery receipts not recorded: %s", exc)
    kept = []
    for event in events:
        if event.kind == "receipt":
            continue
        if event.kind == "own":
            message = event.message
            if await store.sent_by_us(message.channel, message.sender_id, message.platform_id):
                continue
            event = Inbound("takeover", message)  # a person answered from another app
        kept.append(event)
    return kept


async def _unknown(request: web.Request) -> web.Response:
    return error(404, f"no channel named {request.match_info['channel']}")


def _not_configured(channel: str) -> web.Response:
    return error(404, f"the {channel} channel is not configured on this server")
