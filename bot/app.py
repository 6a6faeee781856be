"""The aiohttp application factory: routes, and the resources started with the app.

Resources come up in dependency order (store, HTTP session, channel adapters, workers)
and go down in reverse, each in its own cleanup context.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr

from adapters.base import ChannelAdapter
from adapters.messenger import MessengerAdapter
from adapters.twitter import PollError, TwitterAdapter
from bot import chat, privacy, webhooks
from bot.config import Settings
from bot.desk import api, pages
from bot.desk.events import EventHub
from bot.engine import Engine
from bot.http import (
    ADAPTERS,
    CLOCK,
    ENGINE,
    LOCAL,
    METRICS,
    PIPELINE,
    SESSION,
    SETTINGS,
    STORE,
)
from bot.inbox import InboxOptions
from bot.local import LocalConversations
from bot.metrics import Metrics
from bot.redaction import redact_events
from bot.sender import SenderOptions
from bot.store import StoreError, open_store
from bot.workers import Pipeline, WorkerOptions

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # platforms' webhooks stay far below; larger bodies get 413


def create_app(
    settings: Settings, engine: Engine | None = None, *, clock: Callable[[], float] = time.time
) -> web.Application:
    """Build the application; nothing starts before it runs. `clock` tells the time to the
    store, the workers, the desk and the channels (tests set it)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[CLOCK] = clock
    engine = engine or Engine.default()
    if settings.bot_business_hours:
        engine = engine.with_hours(settings.bot_business_hours)
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[LOCAL] = LocalConversations(engine, clock=clock)
    app[api.EVENTS] = EventHub()
    app[METRICS] = Metrics()
    app.cleanup_ctx.extend([_store, _session, _adapters, _workers])
    app.cleanup_ctx.append(_twitter_poller)
    app.cleanup_ctx.append(privacy.retention)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    chat.add_routes(app)
    webhooks.add_routes(app)
    api.add_routes(app)
    pages.add_routes(app)
    privacy.add_routes(app)
    return app


# -- resources, in dependency order ----------------------------------------------------


async def _store(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = open_store(
        settings.bot_database_url,
        clock=app[CLOCK],
        busy_timeout=settings.bot_db_busy_timeout,
        sqlite_sync=settings.bot_sqlite_sync,
    )
    await store.open(unconfirmed_wait=settings.bot_unconfirmed_wait)
    app[STORE] = store
    yield
    await store.close()


async def _session(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    timeout = aiohttp.ClientTimeout(total=settings.bot_send_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[SESSION] = session
        yield


async def _adapters(app: web.Application) -> AsyncIterator[None]:
    app[ADAPTERS] = adapters(app[SETTINGS], app[SESSION], app[CLOCK])
    if app[SETTINGS].bot_chat_enabled:
        app[ADAPTERS]["local"] = chat.local_adapter(app)
    twitter = app[ADAPTERS].get("twitter")
    if isinstance(twitter, TwitterAdapter):
        await twitter.identify()
    yield


def adapters(
    settings: Settings, session: aiohttp.ClientSession, clock: Callable[[], float] = time.time
) -> dict[str, ChannelAdapter]:
    """The channels whose secrets are configured."""
    found: dict[str, ChannelAdapter] = {}
    if settings.messenger_app_secret is not None:
        found["messenger"] = MessengerAdapter(
            app_secret=settings.messenger_app_secret.get_secret_value(),
            verify_token=_secret(settings.messenger_verify_token),
            page_token=_secret(settings.messenger_page_access_token),
            api_url=settings.messenger_api_url,
            app_id=settings.messenger_app_id,
            session=session,
            timeout=settings.bot_send_timeout,
            clock=clock,
        )
    if settings.twitter_enabled and settings.twitter_consumer_secret is not None:
        found["twitter"] = TwitterAdapter(
            consumer_key=_secret(settings.twitter_consumer_key) or "",
            consumer_secret=settings.twitter_consumer_secret.get_secret_value(),
            access_token=_secret(settings.twitter_access_token),
            access_token_secret=_secret(settings.twitter_access_token_secret),
            api_url=settings.twitter_api_url,
            user_id=settings.twitter_user_id,
            app_id=settings.twitter_app_id,
            dm_api=settings.twitter_dm_api,
            session=session,
            timeout=settings.bot_send_timeout,
        )
    return found


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    options = WorkerOptions(
        inbox=InboxOptions(lease=settings.bot_lease_seconds),
        sender=SenderOptions(
            lease=settings.bot_lease_seconds,
            send_attempts=settings.bot_send_attempts,
            backoff=settings.bot_send_backoff,
            backoff_max=settings.bot_send_backoff_max,
            unconfirmed_wait=settings.bot_unconfirmed_wait,
        ),
        drain=settings.bot_drain_seconds,
    )
    channels = app[ADAPTERS]
    hub = app[api.EVENTS]
    store = app[STORE]
    await store.listen(hub.publish)
    pipeline = Pipeline(
        store, app[ENGINE], channels, options, metrics=app[METRICS], clock=app[CLOCK]
    )
    app[PIPELINE] = pipeline
    pipeline.start()
    yield
    hub.close()
    await pipeline.stop()


TWITTER_CURSOR = "twitter:dm_events"


async def _twitter_poller(app: web.Application) -> AsyncIterator[None]:
    """With TWITTER_MODE=poll, read new X DMs on an interval into the inbox.

    The cursor (the last event id read) is saved with the events, in one transaction, so a
    restart neither reads a DM twice nor skips one.
    """
    settings = app[SETTINGS]
    adapter = app[ADAPTERS].get("twitter")
    if settings.twitter_mode != "poll" or not isinstance(adapter, TwitterAdapter):
        yield
        return
    store, pipeline = app[STORE], app[PIPELINE]

    async def run() -> None:
        while True:
            pause = settings.twitter_poll_seconds
            try:
                cursor = await store.cursor(TWITTER_CURSOR)
                events, new_cursor = await adapter.poll(cursor)
                events = redact_events(await webhooks.sort_out(store, events))
                if events or new_cursor != cursor:
                    await store.add_inbox(events, cursor=(TWITTER_CURSOR, new_cursor))
                if events:
                    pipeline.wake_inbox()
            except PollError as exc:
                log.warning("X DMs not read: %s", exc)
                pause = max(pause, exc.retry_after or 0.0)
            except StoreError as exc:
                log.warning("X DMs not stored, read again next time: %s", exc)
            except Exception:
                log.exception("X DM polling failed")
            await asyncio.sleep(pause)

    task = asyncio.create_task(run(), name="twitter-poll")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# -- handlers ------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready while the store accepts a write and the workers run."""
    try:
        await request.app[STORE].writable()
    except StoreError as exc:
        # The reason goes to the log: its text may name paths and hosts, and a load
        # balancer only needs the status.
        log.warning("not ready: the store cannot be written: %s", exc)
        return web.json_response({"status": "unavailable", "store": "not writable"}, status=503)
    if not request.app[PIPELINE].running:
        return web.json_response({"status": "unavailable", "workers": "stopped"}, status=503)
    channels = request.app[ADAPTERS]
    return web.json_response({"status": "ready", "channels": sorted(channels)})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; the backlog gauges are read from the store now."""
    registry = request.app[METRICS]
    try:
        counts = await request.app[STORE].counts()
    except StoreError:
        counts = None
    if counts is not None:
        registry.inbox_backlog.set(counts.inbox_pending)
        registry.outbox_backlog.set(counts.outbox_pending)
        registry.outbox_failed.set(counts.by_status.get("outbox:failed", 0))
        registry.inbox_failed.set(counts.by_status.get("inbox:failed", 0))
    return web.Response(
        body=generate_latest(registry.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
