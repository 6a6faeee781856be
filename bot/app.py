"""The aiohttp application factory."""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config import Settings
from bot.engine import Engine
from bot.local import LocalConversations

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
LOCAL = web.AppKey("local", LocalConversations)

MAX_BODY = 1024 * 1024  # platforms' webhooks stay far below; larger bodies get 413


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(default="", max_length=5000)
    payload: str | None = Field(default=None, max_length=200)


def create_app(settings: Settings, engine: Engine | None = None) -> web.Application:
    """Build the application; nothing starts before it runs."""
    app = web.Application(client_max_size=MAX_BODY)
    engine = engine or Engine.default()
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[LOCAL] = LocalConversations(engine)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/chat", chat_page)
    app.router.add_post("/chat/messages", chat_message)
    return app


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


async def chat_page(request: web.Request) -> web.Response:
    page = resources.files("bot").joinpath("web/chat.html").read_text("utf-8")
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def chat_message(request: web.Request) -> web.Response:
    try:
        body = ChatRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        return error(400, _first_error(exc))
    outcome = request.app[LOCAL].send(body.conversation, body.text, body.payload)
    return web.json_response(
        {
            "replies": [reply.model_dump(mode="json") for reply in outcome.replies],
            "intent": outcome.match.intent,
            "score": outcome.match.score,
            "escalated": outcome.state.escalated,
        }
    )


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _first_error(exc: ValidationError) -> str:
    first: Any = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
