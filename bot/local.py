"""The local channel: conversations held in memory for `/chat` and the `chat` command.

They let a newcomer or an operator try the real engine without any platform account.
Memory is bounded: the least recently active conversations are forgotten first.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections import OrderedDict
from collections.abc import Callable

from bot.engine import Engine, Outcome, off_loop_if_long
from bot.models import IncomingMessage
from bot.policy import ConversationState
from bot.redaction import redact

MAX_CONVERSATIONS = 10_000


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
