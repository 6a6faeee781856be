"""The agent API of DESIGN.md: JSON under /api, `Authorization: Bearer` (or the desk cookie).

Errors are `{"error": …}`: 400 invalid input, 401 no valid token, 403 an admin's route,
404 unknown id, 409 conflict (another agent holds it, already resolved, the channel's
window closed). The desk's further routes are in `team.py`, `reports.py` and `review.py`.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from aiohttp import web
from aiohttp_sse import sse_response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.base import Window
from bot.desk import brief
from bot.desk.auth import identify
from bot.desk.events import CLOSED, EventHub
from bot.http import ADAPTERS, CLOCK, ENGINE, METRICS, PIPELINE, STORE, error, first_error
from bot.models import Reply
from bot.store import (
    Conflict,
    EscalationView,
    Identity,
    Note,
    NotFound,
    StoreError,
    TranscriptEntry,
)

EVENTS = web.AppKey("events", EventHub)
AGENT = web.RequestKey("agent", str)
IDENTITY = web.RequestKey("identity", Identity)
STATUSES: Final = ("open", "claimed", "resolved")
KEEPALIVE: Final = 15.0
MAX_ID_DIGITS: Final = 18  # below 2**63, what SQLite and PostgreSQL's bigint hold
MAX_LIST: Final = 500
# Events that only tell the streams to check their agent and session again (removed
# agent, ended session): every event makes them check, these are not passed on.
WHO_CHANGED: Final = frozenset({"agent_removed", "signed_out"})
# Not passed on to the desks: those, and what is sent to the /chat page's conversations.
NOT_FOR_DESKS: Final = WHO_CHANGED | {"chat"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


class BadInput(Exception):
    """The request's input is invalid: 400 with this message."""


def parsed(body: bytes, model: type[M]) -> M:
    """The request's JSON as `model`; BadInput naming the first problem."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise BadInput(first_error(exc)) from None


class AgentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


class HandBack(BaseModel):
    """Optional: the last transcript entry the agent saw. A customer message after it,
    still unanswered, makes the hand-back a 409, so that the agent reads it first."""

    model_config = ConfigDict(extra="forbid")

    seen: int | None = Field(default=None, ge=0, le=2**63 - 1)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/escalations", agents_only(list_escalations))
    app.router.add_get("/api/escalations/{id}", agents_only(escalation))
    app.router.add_post("/api/escalations/{id}/claim", agents_only(claim))
    app.router.add_post("/api/escalations/{id}/messages", agents_only(message))
    app.router.add_post("/api/escalations/{id}/resolve", agents_only(resolve))
    app.router.add_get("/api/events", agents_only(events))
    app.on_shutdown.append(_close_streams)
    # The desk's further routes (notes, views, replies, agents, reports, review).
    from bot.desk import reports, review, team

    for module in (team, reports, review):
        module.add_routes(app)


def agents_only(handler: Handler) -> Handler:
    """Authentication first, then NotFound / Conflict turned into 404 / 409.

    A wrapper on the API's handlers rather than a middleware: webhooks, the hot path,
    do not pay for it.
    """

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        who = await identify(request)
        if who is None:
            return error(401, "a valid agent token is required (Authorization: Bearer …)")
        request[AGENT] = who.name
        request[IDENTITY] = who
        try:
            return await handler(request)
        except BadInput as exc:
            return error(400, str(exc))
        except NotFound as exc:
            return error(404, str(exc))
        except Conflict as exc:
            return error(409, str(exc))

    return guarded


def admins_only(handler: Handler) -> Handler:
    """`agents_only`, and 403 for an agent who is not an admin."""

    @functools.wraps(handler)
    async def admin(request: web.Request) -> web.StreamResponse:
        if not request[IDENTITY].admin:
            return error(403, "only an admin may do this")
        return await handler(request)

    return agents_only(admin)


def _id(request: web.Request) -> int:
    """The escalation id of the path: plain ASCII digits that fit a database integer
    ("٣" is not 3, "²" and 23 digits are no id at all), else 404."""
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        raise NotFound(f"no escalation {raw[:40]}")
    return int(raw)


# -- reading ------------------------------------------------------------------------------


async def list_escalations(request: web.Request) -> web.Response:
    """`status`, and for the desk's views and search: `agent` (what one agent holds),
    `q` (words searched in customers, transcripts and notes), `limit`."""
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        return error(400, f"status must be one of {', '.join(STATUSES)}")
    raw_limit = request.query.get("limit", "100")
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_LIST:
        return error(400, f"limit must be a number from 1 to {MAX_LIST}")
    limit = int(raw_limit)
    store = request.app[STORE]
    text = request.query.get("q", "").strip()
    agent = request.query.get("agent")
    if len(text) > 200 or (agent is not None and len(agent) > 100):
        return error(400, "q: at most 200 characters; agent: at most 100")
    if text:
        views = await store.search(text, status, limit)
        if agent is not None:
            views = [v for v in views if v.agent == agent]
    elif agent is not None:
        if status not in (None, "claimed"):
            return error(400, "agent: only what an agent holds now (status=claimed)")
        views = await store.list_escalations("claimed", agent=agent)
    else:
        views = await store.list_escalations(status, limit=limit)
    return web.json_response({"escalations": [summary(request, v) for v in views]})


async def escalation(request: web.Request) -> web.Response:
    store = request.app[STORE]
    view = await store.escalation(_id(request))
    transcript = await store.transcript(view.conversation.id)
    notes = await store.notes(view.id)
    return web.json_response(detail(request, view, transcript, notes))


def summary(request: web.Request, view: EscalationView) -> dict[str, Any]:
    now = request.app[CLOCK]()
    conversation = view.conversation
    window = _window(request, view)
    return {
        "id": view.id,
        "channel": conversation.channel,
        "customer": {"id": conversation.customer_id, "name": conversation.customer_name},
        # The name to show: the customer's, or "Client Messenger ···4821".
        "customer_label": brief.display_name(
            conversation.channel, conversation.customer_id, conversation.customer_name
        ),
        "status": view.status,
        "reason": view.reason,
        "intent": view.intent,
        "score": view.score,
        "agent": view.agent,
        "created_at": view.created_at,
        "claimed_at": view.claimed_at,
        "resolved_at": view.resolved_at,
        "waiting_seconds": int(now - view.created_at) if view.status == "open" else None,
        "window": {"kind": window.kind, "remaining_seconds": window.remaining_seconds},
    }


def detail(
    request: web.Request,
    view: EscalationView,
    transcript: list[TranscriptEntry],
    notes: list[Note] | None = None,
) -> dict[str, Any]:
    state = view.conversation.state
    body = summary(request, view)
    now = request.app[CLOCK]()
    waiting = _waiting(transcript, now) if view.status != "resolved" else None
    body["waiting_seconds"] = waiting
    body["brief"] = {
        "intent": view.intent,
        "score": view.score,
        "answered": list(state.answered),
        "facts": dict(state.facts),
        "waiting_seconds": waiting,
        **brief.brief(view, transcript, request.app[ENGINE].catalogue),
    }
    body["notes"] = [
        {"agent": note.agent, "text": note.text, "created_at": note.created_at}
        for note in notes or []
    ]
    body["transcript"] = [
        {
            "id": entry.id,
            "direction": entry.direction,
            "author": entry.author,
            "agent": entry.agent,
            "text": entry.text,
            "payload": entry.payload,
            "attachments": entry.attachments,
            "intent": entry.intent,
            "created_at": entry.created_at,
            "delivery": entry.delivery,
            "error": entry.error,
        }
        for entry in transcript
    ]
    return body


def _waiting(transcript: list[TranscriptEntry], now: float) -> int | None:
    """Seconds since the customer's first message that no person has answered yet."""
    first_unanswered = None
    for entry in transcript:
        if entry.author in ("agent", "native"):
            first_unanswered = None
        elif entry.author == "customer" and first_unanswered is None:
            first_unanswered = entry.created_at
    return None if first_unanswered is None else int(now - first_unanswered)


def _window(request: web.Request, view: EscalationView) -> Window:
    adapters = request.app[ADAPTERS]
    adapter = adapters.get(view.conversation.channel)
    if adapter is None:
        return Window("none")
    now_ms = int(request.app[CLOCK]() * 1000)
    return adapter.agent_window(view.conversation.last_customer_ms, now_ms)


# -- changing -----------------------------------------------------------------------------


async def claim(request: web.Request) -> web.Response:
    view = await request.app[STORE].claim(_id(request), request[AGENT])
    request.app[METRICS].escalations.labels("claimed").inc()
    await publish(request, "claimed", view)
    return web.json_response(summary(request, view))


async def message(request: web.Request) -> web.Response:
    try:
        body = AgentMessage.model_validate_json(await request.read())
    except ValidationError as exc:
        return error(400, first_error(exc))
    text = body.text.strip()
    if not text:
        return error(400, "text: the message is empty")
    store = request.app[STORE]
    view = await store.escalation(_id(request))
    adapter = request.app[ADAPTERS].get(view.conversation.channel)
    if adapter is not None and len(text) > adapter.limits.text:
        return error(
            400,
            f"text: {len(text)} characters; {view.conversation.channel} takes at most "
            f"{adapter.limits.text}",
        )
    if _window(request, view).kind == "closed":
        raise Conflict(
            f"the customer's last message is too old for {view.conversation.channel}: "
            "the platform would refuse this message"
        )
    view = await store.agent_reply(view.id, request[AGENT], Reply(text=text))
    request.app[PIPELINE].wake_outbox()
    await request.app[STORE].index([view.conversation.id])
    await publish(request, "reply", view)
    return web.json_response(summary(request, view), status=201)


async def resolve(request: web.Request) -> web.Response:
    body = await request.read()
    seen = parsed(body, HandBack).seen if body.strip() else None
    store = request.app[STORE]
    escalation_id = _id(request)
    if seen is not None:
        view = await store.escalation(escalation_id)
        transcript = await store.transcript(view.conversation.id)
        if brief.unanswered(transcript) and transcript[-1].id > seen:
            return web.json_response(
                {"error": "the customer wrote since; still unanswered", "unanswered": True},
                status=409,
            )
    handback = Reply(text=request.app[ENGINE].renderer.text("handback"))
    view = await store.resolve(escalation_id, request[AGENT], handback)
    request.app[PIPELINE].wake_outbox()
    view = await request.app[STORE].escalation(view.id)
    request.app[METRICS].escalations.labels("resolved").inc()
    await request.app[STORE].index([view.conversation.id])
    await publish(request, "resolved", view)
    return web.json_response(summary(request, view))


async def publish(request: web.Request, name: str, view: EscalationView) -> None:
    await request.app[STORE].notify(
        name, {"escalation_id": view.id, "status": view.status, "agent": view.agent}
    )


# -- live events ----------------------------------------------------------------------------


async def _close_streams(app: web.Application) -> None:
    """At shutdown, end the event streams first: a page reconnects to another instance,
    and the server need not wait for streams that never end by themselves."""
    app[EVENTS].close()


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: escalation, message, claimed, reply, resolved.

    The agent's token is checked again before each event, and every `KEEPALIVE` seconds
    without one: once the agent is removed, their stream ends and tells them nothing more.
    """
    hub = request.app[EVENTS]
    with hub.subscribe() as queue:
        async with sse_response(request, ping_interval=KEEPALIVE) as stream:
            await stream.send(json.dumps({"agent": request[AGENT]}), event="hello")
            while stream.is_connected():
                try:
                    name, data = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    name, data = "", {}
                if (name, data) == CLOSED or not await _still_an_agent(request):
                    break
                if name and name not in NOT_FOR_DESKS:
                    await stream.send(json.dumps(data), event=name)
        return stream


async def _still_an_agent(request: web.Request) -> bool:
    try:
        return await identify(request) == request[IDENTITY]
    except StoreError:
        return False  # cannot tell: the page reconnects and is asked again
