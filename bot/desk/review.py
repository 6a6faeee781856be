"""The review: what the bot missed, grouped for agents to label, so the catalogue learns.

`GET /api/review` groups the customers' messages of the last `days` (30 by default) the
bot did not understand, asked about and then saw another problem chosen, or answered
before a "Non"; `POST /api/review/{id}` records an agent's label (a problem, or `none`
for out of scope). `python -m bot review export` turns the labels into catalogue
phrasings and sealed-evaluation cases for a human to commit.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from bot.desk.api import AGENT, BadInput, agents_only, parsed
from bot.http import CLOCK, ENGINE, STORE
from bot.store import NotFound
from intents.catalogue import INTENT_IDS, NONE

REVIEW_DAYS: Final = 30
MESSAGES_PER_GROUP: Final = 20
REASON_ORDER: Final = ("none", "clarified", "not_solved")


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: str


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/review", agents_only(review))
    app.router.add_post("/api/review/{id}", agents_only(label))


async def review(request: web.Request) -> web.Response:
    raw = request.query.get("days", str(REVIEW_DAYS))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 366:
        raise BadInput("days: a number from 1 to 366")
    since = request.app[CLOCK]() - int(raw) * 86_400
    missed = await request.app[STORE].missed(since)
    names = {i.id: i.full_name for i in request.app[ENGINE].catalogue.intents}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for item in missed:
        group = groups.setdefault(
            (item.reason, item.intent),
            {"reason": item.reason, "intent": item.intent,
             "name": names.get(item.intent, item.intent), "count": 0, "messages": []},
        )  # fmt: skip
        group["count"] += 1
        if len(group["messages"]) < MESSAGES_PER_GROUP:
            group["messages"].append(
                {"id": item.id, "text": item.text, "created_at": item.created_at}
            )
    ordered = sorted(
        groups.values(), key=lambda g: (-g["count"], REASON_ORDER.index(g["reason"]), g["intent"])
    )
    return web.json_response({"groups": ordered})


async def label(request: web.Request) -> web.Response:
    """An agent's label: an intent id of the catalogue, or `none` (out of scope)."""
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"no customer message {raw[:40]}")
    body = parsed(await request.read(), LabelIn)
    if body.intent not in (*INTENT_IDS, NONE):
        raise BadInput(f"intent: one of the catalogue's ids, or {NONE} for out of scope")
    await request.app[STORE].label(int(raw), body.intent, request[AGENT])
    return web.json_response({"id": int(raw), "intent": body.intent})
