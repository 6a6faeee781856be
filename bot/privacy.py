"""Data protection: Facebook's data deletion callback, its status page, and retention.

`POST /webhooks/messenger/data-deletion` receives Facebook's `signed_request` (checked
with the app secret), deletes everything stored about that user, and answers the JSON
Facebook expects: the address of a status page and a confirmation code.
`GET /data-deletion/{code}` is that page, in French. `python -m bot forget` does the same
by hand, for any channel. With `BOT_RETENTION_DAYS`, a periodic task deletes
conversations nobody touched for that long.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from importlib import resources

import jinja2
from aiohttp import web

from adapters.base import PayloadError
from adapters.messenger import MessengerAdapter
from bot import security_headers
from bot.http import ADAPTERS, CLOCK, SETTINGS, STORE, error
from bot.store import Store

log = logging.getLogger(__name__)

DAY = 86_400.0
PURGE_EVERY = 3_600.0
_PAGE = jinja2.Environment(autoescape=True).from_string(
    resources.files("bot").joinpath("web/deletion.html.j2").read_text("utf-8")
)


def request_code(signed_request: str) -> str:
    """The confirmation code of one signed request: the same for the same request, and
    nothing of the request can be read back from it."""
    return hashlib.sha256(signed_request.encode()).hexdigest()[:20]


def new_code() -> str:
    """An alphanumeric confirmation code, as Facebook asks."""
    return secrets.token_hex(10)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/webhooks/messenger/data-deletion", deletion_callback)
    app.router.add_get("/data-deletion/{code}", deletion_status)


async def deletion_callback(request: web.Request) -> web.Response:
    adapter = request.app[ADAPTERS].get("messenger")
    if not isinstance(adapter, MessengerAdapter):
        return error(404, "the messenger channel is not configured on this server")
    form = await request.post()
    signed = form.get("signed_request")
    if not isinstance(signed, str):
        return error(400, "signed_request is required")
    try:
        user = adapter.deletion_request(signed)
    except PayloadError as exc:
        refused = "signature" in str(exc) or "expired" in str(exc)
        return error(403 if refused else 400, str(exc))
    # One code per request: Facebook's request again (a retry, a replay) is the same deletion.
    code = request_code(signed)
    # Facebook names the user by their app-scoped id; their conversations are stored under
    # the page-scoped id Messenger gives: both are deleted.
    ids = [user, *await adapter.page_scoped_ids(user)]
    deleted = await request.app[STORE].forget("messenger", ids, code)
    log.info("data deletion %s: %s conversation(s) deleted", code, deleted)
    base = request.app[SETTINGS].bot_public_url
    if not base:
        # Facebook shows the person this link on facebook.com: it must be absolute, and a
        # link built from the Host header would point wherever the caller said. The data
        # is deleted as asked; Facebook is told it failed, the operator why.
        log.error("data deletion %s: no status link to give, set BOT_PUBLIC_URL", code)
        return error(
            503,
            "deleted, but this server cannot give a status link: BOT_PUBLIC_URL (the "
            "address people reach it at) is not set",
        )
    return web.json_response(
        {"url": f"{base.rstrip('/')}/data-deletion/{code}", "confirmation_code": code}
    )


async def deletion_status(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    deletion = await request.app[STORE].deletion(code) if code.isalnum() else None
    if deletion is None:
        return _page(_PAGE.render(found=False, code=code), status=404)
    when = datetime.fromtimestamp(deletion.requested_at, UTC).strftime("%d/%m/%Y à %H:%M (UTC)")
    return _page(
        _PAGE.render(found=True, code=code, when=when, conversations=deletion.conversations)
    )


def _page(html: str, status: int = 200) -> web.Response:
    # A person's own status page: never kept by a cache.
    headers = security_headers.for_page(html, cache="no-store")
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=headers
    )


async def retention(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: purge old conversations every hour while BOT_RETENTION_DAYS is set."""
    days = app[SETTINGS].bot_retention_days
    task = asyncio.create_task(_purge_forever(app[STORE], days, app[CLOCK])) if days else None
    yield
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _purge_forever(store: Store, days: float, clock: Callable[[], float]) -> None:
    while True:
        try:
            conversations, events = await store.purge(clock() - days * DAY)
            if conversations or events:
                log.info(
                    "retention: %s conversation(s) and %s old event(s) older than %s days deleted",
                    conversations,
                    events,
                    days,
                )
        except Exception:
            log.exception("retention purge failed; trying again later")
        await asyncio.sleep(PURGE_EVERY)
