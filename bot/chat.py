"""`/chat`: try the bot in a browser, `POST /chat/messages`, the JSON API of that page, and
`GET /chat/events`, the live stream of what is sent to one conversation (the bot's replies
and an agent's, once the desk has it: the local channel is a channel like the others).

The page is public wherever the server is, so it is guarded like any public form:
- `BOT_CHAT_ENABLED=false` turns both off (404), for a production server that only
  serves the platforms and the desk;
- each client (its address, or the one our proxy saw when BOT_TRUST_PROXY is set) may send
  `CHAT_BURST` messages at once, then one every `1 / CHAT_RATE` seconds; beyond, a 429
  with Retry-After whose body is also an answer of the assistant, in French, so the page
  shows it like any other;
- the API takes `application/json` only (415 otherwise): a browser sends JSON to another
  site only after a CORS preflight, which we never grant, so no other web page can make
  its visitors post here with a plain form or `text/plain`.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any, Final

from aiohttp import web
from aiohttp_sse import sse_response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.local import LocalAdapter
from bot import local, security_headers
from bot.desk.api import EVENTS, KEEPALIVE
from bot.desk.events import CLOSED
from bot.http import PIPELINE, SETTINGS, STORE, client_address, error, first_error
from bot.models import Reply
from bot.throttle import Throttle

# A person types a message every few seconds and taps choices faster: 10 at once, then
# one every 3 seconds (20 a minute) is more than anyone chatting needs.
CHAT_RATE: Final = 1 / 3
CHAT_BURST: Final = 10
THROTTLE = web.AppKey("chat_throttle", Throttle)
PAGE = web.AppKey("chat_page", str)

SLOW_DOWN: Final = (
    "Vous envoyez beaucoup de messages à la suite : merci de patienter quelques secondes "
    "avant de réécrire. Je suis toujours là pour vous aider."
)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(default="", max_length=5000)
    payload: str | None = Field(default=None, max_length=200)


def add_routes(app: web.Application) -> None:
    """`GET /chat` and `POST /chat/messages`, answering 404 while the chat is turned off."""
    app[THROTTLE] = Throttle(CHAT_RATE, CHAT_BURST)
    app[PAGE] = resources.files("bot").joinpath("web/chat.html").read_text("utf-8")
    app.router.add_get("/chat", chat_page)
    app.router.add_post("/chat/messages", chat_message)
    app.router.add_get("/chat/events", chat_events)


CONVERSATION_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
CHAT_EVENT: Final = "chat"


def local_adapter(app: web.Application) -> LocalAdapter:
    """The local channel's adapter: what is sent to a conversation reaches its page's
    stream on whichever instance the page is connected to (the store relays it)."""

    async def deliver(conversation: str, data: dict[str, Any]) -> None:
        await app[STORE].notify(CHAT_EVENT, {"conversation": conversation, **data})

    return LocalAdapter(deliver)


async def chat_page(request: web.Request) -> web.Response:
    if not request.app[SETTINGS].bot_chat_enabled:
        return _off()
    page = request.app[PAGE]
    headers = security_headers.for_page(page)
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=headers)


async def chat_message(request: web.Request) -> web.Response:
    app = request.app
    if not app[SETTINGS].bot_chat_enabled:
        return _off()
    if request.content_type != "application/json":
        return error(415, "the chat takes application/json only")
    wait = app[THROTTLE].wait(client_address(request))
    if wait:
        response = web.json_response(
            {"error": "too many messages; try again later", **_answer([Reply(text=SLOW_DOWN)])},
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        body = ChatRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        return error(400, first_error(exc))
    answer = await local.answer(
        app[STORE], app[PIPELINE], body.conversation, body.text, body.payload
    )
    if answer is None:
        return error(503, "the assistant did not answer in time; try again")
    return web.json_response(answer)


async def chat_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events `reply` for one conversation (`?conversation=` its id, which only
    its page knows): each message sent to it, with its outbox id."""
    if not request.app[SETTINGS].bot_chat_enabled:
        return _off()
    conversation = request.query.get("conversation", "")
    if not CONVERSATION_RE.match(conversation):
        return error(400, "conversation: the page's conversation id")
    with request.app[EVENTS].subscribe() as queue:
        async with sse_response(request, ping_interval=KEEPALIVE) as stream:
            while stream.is_connected():
                name, data = await queue.get()
                if (name, data) == CLOSED:
                    break
                if name == CHAT_EVENT and data.get("conversation") == conversation:
                    await stream.send(json.dumps(data), event="reply")
        return stream


def _answer(
    replies: list[Reply], *, intent: str | None = None, score: float = 0.0, escalated: bool = False
) -> dict[str, Any]:
    """The chat's reply shape: what the page shows."""
    return {
        "replies": [reply.model_dump(mode="json") for reply in replies],
        "intent": intent,
        "score": score,
        "escalated": escalated,
    }


def _off() -> web.Response:
    return error(404, "the chat is not available on this server")
