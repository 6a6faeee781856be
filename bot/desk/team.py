"""The desk's further routes (DESIGN.md): internal notes, release and transfer, a customer's
history, ready-made replies, and the agents an admin manages.

Same authentication and error rules as `api.py`; the routes an admin alone may use answer
403 to other agents.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.desk.api import (
    AGENT,
    IDENTITY,
    M,
    _id,
    admins_only,
    agents_only,
    parsed,
    publish,
    summary,
)
from bot.desk.auth import hash_token, new_token
from bot.http import ENGINE, STORE
from bot.store import Conflict, NotFound
from intents.catalogue import PROBLEMS

MAX_NOTE: Final = 2000
MAX_REPLY: Final = 2000
AGENT_NAME: Final = re.compile(r"^[\w .'-]{1,60}$")
CHANNELS: Final = ("messenger", "twitter", "local")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoteIn(_Strict):
    text: str = Field(min_length=1, max_length=MAX_NOTE)


class TransferIn(_Strict):
    agent: str = Field(min_length=1, max_length=60)


class ReplyIn(_Strict):
    title: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=MAX_REPLY)


class AgentIn(_Strict):
    name: str
    role: Literal["agent", "admin"] = "agent"

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        name = " ".join(value.split())
        if not AGENT_NAME.match(name):
            raise ValueError("1 to 60 letters, digits, spaces, . ' or -")
        return name


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/escalations/{id}/notes", agents_only(add_note))
    app.router.add_post("/api/escalations/{id}/release", agents_only(release))
    app.router.add_post("/api/escalations/{id}/transfer", agents_only(transfer))
    app.router.add_get("/api/customers/{channel}/{customer}", agents_only(customer))
    app.router.add_get("/api/replies", agents_only(list_replies))
    app.router.add_post("/api/replies", admins_only(add_reply))
    app.router.add_put("/api/replies/{id}", admins_only(change_reply))
    app.router.add_delete("/api/replies/{id}", admins_only(delete_reply))
    app.router.add_get("/api/agents", admins_only(list_agents))
    app.router.add_post("/api/agents", admins_only(add_agent))
    app.router.add_delete("/api/agents/{name}", admins_only(remove_agent))


async def _body(request: web.Request, model: type[M]) -> M:
    """The request's JSON as `model`; BadInput (400) otherwise."""
    return parsed(await request.read(), model)


# -- one escalation ---------------------------------------------------------------------


async def add_note(request: web.Request) -> web.Response:
    """An internal note: kept with the escalation, shown to agents, never sent."""
    body = await _body(request, NoteIn)
    store = request.app[STORE]
    escalation_id = _id(request)
    note = await store.add_note(escalation_id, request[AGENT], body.text)
    view = await store.escalation(escalation_id)
    await store.index([view.conversation.id])
    await publish(request, "note", view)
    return web.json_response(
        {"agent": note.agent, "text": note.text, "created_at": note.created_at}, status=201
    )


async def release(request: web.Request) -> web.Response:
    """Back to the queue: only its holder or an admin; 409 when nobody holds it."""
    view = await request.app[STORE].release(_id(request), request[IDENTITY])
    await publish(request, "released", view)
    return web.json_response(summary(request, view))


async def transfer(request: web.Request) -> web.Response:
    """To another agent (404 if unknown): only its holder, or an admin; stays claimed."""
    body = await _body(request, TransferIn)
    view = await request.app[STORE].transfer(_id(request), request[IDENTITY], body.agent)
    await publish(request, "transferred", view)
    return web.json_response(summary(request, view))


async def customer(request: web.Request) -> web.Response:
    """The customer's name and every conversation a person had with them, newest first."""
    channel, customer_id = request.match_info["channel"], request.match_info["customer"]
    if channel not in CHANNELS:
        raise NotFound(f"no channel {channel[:40]}")
    conversation, views = await request.app[STORE].customer(channel, customer_id)
    return web.json_response(
        {
            "customer": {"id": conversation.customer_id, "name": conversation.customer_name},
            "escalations": [summary(request, view) for view in views],
        }
    )


# -- ready-made replies -------------------------------------------------------------------


def article_replies(request: web.Request) -> list[dict[str, Any]]:
    """The article's answers, from the bot's own templates, with their links written out:
    an agent sends text."""
    engine = request.app[ENGINE]
    found = []
    for intent in PROBLEMS:
        entry = engine.catalogue[intent]
        text = engine.renderer.text(f"answer_{intent}", {"days": None})
        for link in entry.links:
            text += f"\n{link.title} : {link.url}"
        found.append(
            {"id": f"article:{intent}", "title": entry.full_name, "text": text,
             "source": "article"}
        )  # fmt: skip
    return found


async def list_replies(request: web.Request) -> web.Response:
    team = [
        {"id": r.id, "title": r.title, "text": r.text, "source": "team", "author": r.author}
        for r in await request.app[STORE].team_replies()
    ]
    return web.json_response({"replies": article_replies(request) + team})


def _reply_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"no ready-made reply of the team {raw[:40]} (the article's stay)")
    return int(raw)


async def add_reply(request: web.Request) -> web.Response:
    body = await _body(request, ReplyIn)
    new = await request.app[STORE].add_team_reply(body.title, body.text, request[AGENT])
    await request.app[STORE].notify("replies", {})
    return web.json_response(
        {"id": new, "title": body.title, "text": body.text, "source": "team"}, status=201
    )


async def change_reply(request: web.Request) -> web.Response:
    reply_id = _reply_id(request)
    body = await _body(request, ReplyIn)
    await request.app[STORE].update_team_reply(reply_id, body.title, body.text, request[AGENT])
    await request.app[STORE].notify("replies", {})
    return web.json_response({"id": reply_id, "title": body.title, "text": body.text,
                              "source": "team"})  # fmt: skip


async def delete_reply(request: web.Request) -> web.Response:
    await request.app[STORE].delete_team_reply(_reply_id(request))
    await request.app[STORE].notify("replies", {})
    return web.Response(status=204)


# -- agents -------------------------------------------------------------------------------


async def list_agents(request: web.Request) -> web.Response:
    agents = await request.app[STORE].agents()
    return web.json_response(
        {"agents": [{"name": a.name, "role": a.role, "created_at": a.created_at} for a in agents]}
    )


async def add_agent(request: web.Request) -> web.Response:
    """A new agent; their token is in this answer only."""
    body = await _body(request, AgentIn)
    token = new_token()
    await request.app[STORE].add_agent(body.name, hash_token(token), body.role)
    return web.json_response({"name": body.name, "role": body.role, "token": token}, status=201)


async def remove_agent(request: web.Request) -> web.Response:
    """Their token and sessions stop at once, and so do their live streams."""
    name = request.match_info["name"]
    if name == request[AGENT]:
        raise Conflict("an admin cannot remove themselves")
    await request.app[STORE].remove_agent(name)
    await request.app[STORE].notify("agent_removed", {"agent": name})
    return web.Response(status=204)
