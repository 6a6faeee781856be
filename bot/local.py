"""The local channel: the `/chat` page's conversations, and the `chat` command's.

The page is a channel like the others (`answer`): its messages go through the store and
the workers, so a request for a person reaches the desk, and an agent's replies reach the
page live (`adapters/local.py`). The `chat` command, which needs no server, keeps its
conversation in memory (`LocalConversations`), bounded: the least recently active are
forgotten first.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from adapters.base import Inbound
from bot.engine import Engine, Outcome, off_loop_if_long
from bot.models import IncomingMessage
from bot.policy import ConversationState
from bot.redaction import redact
from bot.store import Store
from bot.workers import Pipeline

MAX_CONVERSATIONS = 10_000
ANSWER_WITHIN: Final = 10.0  # seconds the page's request waits for the workers' answer


class LocalConversations:
    """Keeps each local conversation's state and runs the engine on its messages."""

    def __init__(
        self,
        engine: Engine,
        capacity: int = MAX_CONVERSATIONS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._capacity = capacity
        self._states: OrderedDict[str, ConversationState] = OrderedDict()
        self._ids = itertools.count(1)

    def send(self, conversation: str, text: str = "", payload: str | None = None) -> Outcome:
        """Answer one message of `conversation` (the `chat` command)."""
        state, message = self._next(conversation, text, payload)
        return self._keep(conversation, self._handle(state, message))

    async def reply(self, conversation: str, text: str = "", payload: str | None = None) -> Outcome:
        """The same for the `/chat` page: a long message is understood off the event loop."""
        state, message = self._next(conversation, text, payload)
        work = functools.partial(self._handle, state, message)
        return self._keep(conversation, await off_loop_if_long(message, work))

    def _next(
        self, conversation: str, text: str, payload: str | None
    ) -> tuple[ConversationState, IncomingMessage]:
        state = self._states.get(conversation) or ConversationState()
        message = IncomingMessage(
            channel="local",
            platform_id=f"local-{next(self._ids)}",
            sender_id=conversation,
            text=redact(text),
            payload=payload,
            timestamp_ms=int(self._clock() * 1000),
        )
        return state, message

    def _handle(self, state: ConversationState, message: IncomingMessage) -> Outcome:
        # The same rules as the channels', the flood guard included.
        return self._engine.handle(state, "message", message, message.timestamp_ms)

    def _keep(self, conversation: str, outcome: Outcome) -> Outcome:
        self._states.pop(conversation, None)
        self._states[conversation] = outcome.state
        while len(self._states) > self._capacity:
            self._states.popitem(last=False)
        return outcome

    def reset(self, conversation: str) -> None:
        self._states.pop(conversation, None)


async def answer(
    store: Store, pipeline: Pipeline, conversation: str, text: str, payload: str | None
) -> dict[str, Any] | None:
    """One message of the `/chat` page, through the inbox and the workers like any channel's:
    the replies of its turn (each with its outbox id, which the page's live stream gives
    again), what was understood, and whether a person has the conversation. None when no
    worker answered in time."""
    message = IncomingMessage(
        channel="local", platform_id=f"chat-{uuid.uuid4().hex}", sender_id=conversation,
        text=redact(text), payload=payload,
    )  # fmt: skip
    await store.add_inbox([Inbound("message", message)])
    pipeline.wake_inbox()
    deadline = time.monotonic() + ANSWER_WITHIN
    pause = 0.002
    while time.monotonic() < deadline:
        found = await store.answer_to("local", conversation, message.platform_id)
        if found is not None:
            state, line, replies = found
            return {
                "replies": [{**reply.model_dump(mode="json"), "id": i} for i, reply in replies],
                "intent": line["intent"],
                "score": line["score"] or 0.0,
                "escalated": state.state.escalated,
            }
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)
    return None
