"""The inbox worker: events from the store, understood, answered, committed.

It leases the head event of each conversation (so one conversation's messages are
handled strictly in order, different conversations side by side), works out each turn
(the engine, pure), and commits the new states, the transcript and the replies in one
transaction. As soon as it knows it will answer, the customer's message is marked as
read; once committed, the sender takes the replies at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from adapters.base import ChannelAdapter
from bot.desknews import DeskNews
from bot.engine import Engine, off_loop_if_long
from bot.metrics import Metrics
from bot.sender import Sender
from bot.store import (
    NATIVE_AGENTS,
    ClaimedEvent,
    NewEscalation,
    Store,
    StoreError,
    TurnRecord,
)
from responses.limits import LOCAL, ChannelLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InboxOptions:
    lease: float = 60.0
    # Events claimed per step (one per conversation) and committed together: short steps
    # keep every reply prompt, and under a burst the rest after each stays in proportion.
    batch: int = 16
    event_attempts: int = 5  # an event whose processing keeps raising is set aside


class InboxWorker:
    """Handles the inbox's events; `step` handles one batch."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        adapters: Mapping[str, ChannelAdapter],
        owner: str,
        options: InboxOptions,
        sender: Sender,
        news: DeskNews,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self.engine = engine
        self._adapters = adapters
        self._owner = owner
        self._options = options
        self._sender = sender
        self._news = news
        self._metrics = metrics
        self._clock = clock

    async def step(self) -> bool:
        """Handle one batch of events; True when there was work."""
        options = self._options
        events = await self._store.claim_events(self._owner, options.batch, options.lease)
        if not events:
            return False
        turns: list[TurnRecord] = []
        for event in events:
            await asyncio.sleep(0)  # between two turns, let webhooks be acknowledged
            try:
                work = functools.partial(self.turn, event)
                turns.append(await off_loop_if_long(event.message, work))
            except Exception as exc:
                give_up = event.attempts >= options.event_attempts
                log.exception("event %s not processed (attempt %s)", event.id, event.attempts)
                await self._store.fail_event(self._owner, event.id, repr(exc), give_up)
        for turn in turns:
            if turn.replies:
                conversation = turn.event.conversation
                self._sender.mark_seen(
                    conversation.id, conversation.channel, conversation.customer_id
                )
        # The sender's claim runs with the commit: the answers leave at once, without a
        # claim of their own (unless webhooks pour in or the sender is full).
        wanted = self._sender.claim_size(sum(1 for turn in turns if turn.replies))
        try:
            finished = await self._store.finish_turns(
                self._owner, turns, claim=wanted, lease=self._options.lease
            )
        except StoreError:
            raise
        except Exception:
            # One event the database refuses must not hold its batch back for ever:
            # commit them one by one, and set aside the one that keeps failing.
            log.exception("a batch of %s events could not be committed together", len(turns))
            turns = await self._finish_one_by_one(turns)
            wanted = 0
        else:
            self._sender.start(finished.deliveries, wanted)
        if any(turn.replies for turn in turns) and not wanted:
            self._sender.wake()
        self._count(turns)
        self._news.tell(turns)
        return True

    async def _finish_one_by_one(self, turns: list[TurnRecord]) -> list[TurnRecord]:
        done = []
        for turn in turns:
            try:
                await self._store.finish_turns(self._owner, [turn])
            except StoreError:
                raise
            except Exception as exc:
                event = turn.event
                give_up = event.attempts >= self._options.event_attempts
                log.exception("event %s not committed (attempt %s)", event.id, event.attempts)
                await self._store.fail_event(self._owner, event.id, repr(exc), give_up)
            else:
                done.append(turn)
        return done

    def _count(self, turns: list[TurnRecord]) -> None:
        for turn in turns:
            channel = turn.event.message.channel
            self._metrics.events.labels(channel, turn.event.kind).inc()
            if turn.action is not None:
                self._metrics.decisions.labels(turn.intent or "none", turn.action).inc()
            if turn.escalation is not None:
                self._metrics.escalations.labels("opened").inc()
            log.info(
                "%s event handled",
                turn.event.kind,
                extra={
                    "conversation": turn.event.conversation.id,
                    "channel": channel,
                    "intent": turn.intent,
                    "action": turn.action,
                },
            )

    def turn(self, event: ClaimedEvent) -> TurnRecord:
        """What one event does to its conversation: pure, no I/O (the engine's and the
        policy's rules, the same as /chat's)."""
        message = event.message
        adapter = self._adapters.get(message.channel)
        limits: ChannelLimits = adapter.limits if adapter is not None else LOCAL
        at_ms = message.timestamp_ms or int(self._clock() * 1000)
        outcome = self.engine.handle(event.conversation.state, event.kind, message, at_ms, limits)
        decision = outcome.decision
        escalation = None
        if decision.action == "takeover":
            # Held at once by the person answering from the platform's own app.
            agent = NATIVE_AGENTS.get(message.channel, message.channel)
            escalation = NewEscalation("answered_natively", decision.intent, None, agent)
        elif decision.action == "escalate":
            escalation = NewEscalation(
                decision.escalation_reason or "asked_for_human", decision.intent, decision.score
            )
        reading = outcome.reading
        return TurnRecord(
            event,
            outcome.state,
            replies=outcome.replies,
            intent=None if reading is None else reading.match.intent,
            score=None if reading is None else reading.match.score,
            escalation=escalation,
            takeover=decision.action == "takeover",
            action=None if decision.action in ("note", "takeover") else decision.action,
        )
