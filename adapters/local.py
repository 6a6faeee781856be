"""The local channel: the `/chat` page, a channel like the others.

Its messages do not come by webhook: the page's own route stores them in the inbox, and the
workers answer them as they answer Messenger's. Replies "sent" here are handed to
`deliver` (the app relays them to the page's live stream, on every instance), whether the
bot or an agent of the desk wrote them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from adapters.base import Inbound, Outgoing, Window
from bot.models import Channel
from responses.limits import LOCAL, ChannelLimits

Deliver = Callable[[str, dict[str, Any]], Awaitable[None]]


class LocalAdapter:
    """`ChannelAdapter` of the `/chat` page."""

    channel: ClassVar[Channel] = "local"
    signature_header: ClassVar[str] = "X-Local-Signature"
    limits: ClassVar[ChannelLimits] = LOCAL
    read_receipts: ClassVar[bool] = False

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def handshake(self, query: Mapping[str, str]) -> web.Response:
        return web.json_response({"error": "the local channel has no webhook"}, status=404)

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        return False  # nothing arrives by webhook here

    def parse(self, body: bytes) -> list[Inbound]:
        return []

    def agent_window(self, last_customer_ms: int | None, now_ms: int) -> Window:
        return Window("none")

    async def display_name(self, user_id: str) -> str | None:
        return None

    async def mark_seen(self, recipient: str) -> None:
        """Never called (`read_receipts` is False)."""

    async def send(self, outgoing: Outgoing) -> str | None:
        """Hand the reply to the page's live stream; its id is the outbox's."""
        await self._deliver(
            outgoing.recipient,
            {
                "id": int(outgoing.reference) if outgoing.reference else None,
                "human": outgoing.human,
                "reply": outgoing.reply.model_dump(mode="json"),
            },
        )
        return f"local-{outgoing.reference}"
