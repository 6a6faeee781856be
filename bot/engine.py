"""The engine: match, decide, render. Pure: it takes a state and returns the next one.

Where the state lives is the caller's business (the store, or memory for `chat`), so
the same engine serves the terminal, the `/chat` page and the channel workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.models import Decision, IncomingMessage, Reply
from bot.policy import ConversationState, Policy
from intents.catalogue import Catalogue, load_catalogue
from intents.matcher import Match, Matcher
from intents.reader import Reader, Reading
from responses.limits import LOCAL, ChannelLimits
from responses.renderer import Renderer

T = TypeVar("T")

# Messages longer than this (characters) are understood in a thread, off the event loop.
LONG_MESSAGE = 2_000


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one event led to; `reading` is None when the message was not read (an event
    that is not a customer's message, or one the flood guard set aside)."""

    reading: Reading | None
    decision: Decision
    state: ConversationState
    replies: list[Reply]

    @property
    def match(self) -> Match:
        """What the matcher made of the message (the workers record its intent and score)."""
        assert self.reading is not None, "a message that was not read"
        return self.reading.match


class Engine:
    """Understands one customer message in its conversation and writes the bot's replies."""

    def __init__(
        self,
        catalogue: Catalogue,
        matcher: Matcher,
        renderer: Renderer,
        *,
        hours: str | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.matcher = matcher
        self.renderer = renderer
        self.reader = reader or Reader(catalogue, matcher)
        self._policy = Policy(catalogue, hours, self.reader.title_words)

    @classmethod
    def default(cls, hours: str | None = None) -> Engine:
        """The engine over the packaged catalogue and templates."""
        catalogue = load_catalogue()
        # The reader's own matcher, which reads every message for safety with its model.
        reader = Reader(catalogue)
        return cls(catalogue, reader.matcher, Renderer(), hours=hours, reader=reader)

    def with_hours(self, hours: str | None) -> Engine:
        """The same engine (sharing its matcher), telling customers these business hours."""
        return Engine(self.catalogue, self.matcher, self.renderer, hours=hours, reader=self.reader)

    def handle(
        self,
        state: ConversationState,
        kind: str,
        message: IncomingMessage,
        at_ms: int,
        limits: ChannelLimits = LOCAL,
    ) -> Outcome:
        """One event of a conversation, whatever its channel: the policy's rules for events
        and floods first (`at_ms`: when the message came), then the message read and
        answered."""
        ruled, state = self._policy.on_event(state, kind, message, at_ms)
        if ruled is None:
            return self.respond(state, message, limits)
        replies = self.renderer.render(ruled.decision.says, limits)
        if kind == "mention" and message.post_id is not None:
            replies = [r.model_copy(update={"reply_to_post": message.post_id}) for r in replies]
        elif kind == "mention":
            replies = []
        return Outcome(None, ruled.decision, ruled.state, replies)

    def respond(
        self, state: ConversationState, message: IncomingMessage, limits: ChannelLimits = LOCAL
    ) -> Outcome:
        """A customer's message, read and answered."""
        reading = self.reader.read(message.text)
        turn = self._policy.decide(state, message, reading)
        replies = self.renderer.render(turn.decision.says, limits)
        return Outcome(reading, turn.decision, turn.state, replies)


async def off_loop_if_long(message: IncomingMessage, work: Callable[[], T]) -> T:
    """Run `work` (understanding `message`) here, or in a thread when the message is long,
    so that one long paste never holds the event loop."""
    if len(message.text) > LONG_MESSAGE:
        return await asyncio.to_thread(work)
    return work()
