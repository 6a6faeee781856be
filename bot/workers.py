"""The two background workers: inbox → engine → outbox, and outbox → platform.

The inbox worker leases the head event of each conversation (so one conversation's
messages are handled strictly in order, different conversations side by side), runs the
pure engine, and commits the new state, the transcript and the replies in one
transaction; as soon as it knows it will answer, the customer sees their message marked
as read. The sender leases the first unsent reply of each conversation, sends it (a bot
reply only while no person took over), and records the outcome:
sent, retried later with exponential backoff and jitter (timeouts, 5xx, rate limits,
honouring Retry-After), or failed for good with the platform's error code.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from adapters.base import ChannelAdapter, PermanentSendError, RetryableSendError
from bot.engine import Engine, off_loop_if_long
from bot.metrics import Metrics
from bot.models import Reply
from bot.policy import ConversationState
from bot.store import (
    NATIVE_AGENTS,
    ClaimedEvent,
    Delivery,
    NewEscalation,
    Store,
    StoreError,
    TurnRecord,
)
from responses.limits import LOCAL, ChannelLimits

log = logging.getLogger(__name__)

BURST_WINDOW = 0.1  # seconds over which the webhook arrival rate is measured


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    lease: float = 60.0
    # Events claimed per step (one per conversation) and committed together: short steps
    # keep every reply prompt, and under a burst the rest after each stays in proportion.
    batch: int = 16
    concurrency: int = 64  # replies in flight at once (each to its own conversation)
    poll: float = 0.5  # seconds between looks at the store when nothing woke us
    send_attempts: int = 8
    backoff: float = 2.0
    backoff_max: float = 600.0
    event_attempts: int = 5  # an event whose processing keeps raising is set aside
    flood_limit: int = 12  # messages of one customer answered per window…
    flood_window_ms: int = 60_000  # …of this length
    drain: float = 10.0
    # A send that timed out may have reached the platform: its retry waits at least this
    # long, time for the platform's echo to confirm it (Messenger) and cancel the retry.
    unconfirmed_wait: float = 10.0
    # While webhooks arrive faster than `burst_rate`, the workers (inbox and sender) take
    # together about `burst_share` of the time: each rests after a step long enough for
    # that, or until the burst ends, and acknowledgements get the rest of the CPU.
    burst_share: float = 0.05
    burst_rate: float = 1000.0  # webhooks per second that count as a burst
    burst_batch: int = 16  # replies the sender takes per step during a burst (see `batch`)


class Pipeline:
    """Runs the inbox worker and the sender until `stop`; `wake_*` cut the polling short."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        adapters: Mapping[str, ChannelAdapter],
        options: WorkerOptions | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.engine = engine
        self.adapters = adapters
        self.options = options or WorkerOptions()
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self._inbox_wake = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: set[asyncio.Task[bool]] = set()  # replies on their way to a platform
        self._seen: dict[int, asyncio.Task[None]] = {}  # conversation id → its "seen" mark
        self._full = False  # the sender's last claim took all it could: more may be due
        self._drain_until = 0.0
        self._arrivals = 0  # webhooks in the current window
        self._window_start = time.monotonic()
        self._last_rate = 0.0  # webhooks per second in the previous window
        self._jitter = random.Random()  # noqa: S311 - retry jitter, not secrets

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(self.process_inbox, self._inbox_wake), name="inbox"),
            asyncio.create_task(
                self._loop(self.deliver_outbox, self._outbox_wake, lambda: bool(self._sending)),
                name="sender",
            ),
        ]

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    async def stop(self) -> None:
        """Finish what is in hand (within the drain time), then stop; the rest stays stored."""
        self._drain_until = time.monotonic() + self.options.drain
        self._stopping.set()
        self.wake()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=self.options.drain)
        # Sends still running after the drain time are abandoned: their leases make them
        # resend (or be confirmed by the platform's echo) after the restart.
        seen = list(self._seen.values())
        for task in (*pending, *self._sending, *seen):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._sending, *seen, return_exceptions=True)
        self._tasks = []

    def wake(self) -> None:
        self._inbox_wake.set()
        self._outbox_wake.set()

    def wake_inbox(self) -> None:
        """A webhook stored new events."""
        now = time.monotonic()
        if now - self._window_start > BURST_WINDOW:
            self._last_rate = self._arrivals / max(now - self._window_start, BURST_WINDOW)
            self._window_start, self._arrivals = now, 0
        self._arrivals += 1
        self._inbox_wake.set()

    def under_burst(self) -> bool:
        """Are webhooks arriving faster than `burst_rate` per second right now?"""
        now = time.monotonic()
        if now - self._window_start > 2 * BURST_WINDOW:
            return False  # nothing arrived lately
        current = self._arrivals / max(now - self._window_start, BURST_WINDOW)
        return max(current, self._last_rate) > self.options.burst_rate

    def wake_outbox(self) -> None:
        self._outbox_wake.set()

    async def _loop(
        self,
        step: Callable[[], Awaitable[bool]],
        wake: asyncio.Event,
        in_hand: Callable[[], bool] = lambda: False,
    ) -> None:
        """Run `step` while it finds work, then wait for a wake-up (or `poll` seconds).

        When stopping, the loop ends once nothing is left in hand or the drain time is up.
        """
        while True:
            wake.clear()  # before the step: a wake-up during it is not lost
            started = time.monotonic()
            try:
                busy = await step()
            except StoreError as exc:
                log.warning("store unavailable, retrying: %s", exc)
                busy = False
                await asyncio.sleep(self.options.poll)
            except Exception:
                log.exception("worker step failed")
                busy = False
                await asyncio.sleep(self.options.poll)
            done = time.monotonic() > self._drain_until or not (busy or in_hand())
            if self._stopping.is_set() and done:
                return
            if busy:
                await self._rest(time.monotonic() - started)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.options.poll)

    async def _rest(self, step: float) -> None:
        """While webhooks pour in, rest after a step of `step` seconds long enough for the
        workers to take together `burst_share` of the time, and no longer than the burst.

        Acknowledging comes first (the platform waits for it); the backlog waits durably
        in the store and is answered as soon as the burst passes.
        """
        workers = len(self._tasks) or 1
        until = time.monotonic() + step * (workers / self.options.burst_share - 1)
        while self.under_burst() and not self._stopping.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, BURST_WINDOW))

    # -- inbox ----------------------------------------------------------------------------

    async def process_inbox(self) -> bool:
        """Handle one batch of events; True when there was work."""
        events = await self.store.claim_events(self.owner, self.options.batch, self.options.lease)
        if not events:
            return False
        turns: list[TurnRecord] = []
        for event in events:
            await asyncio.sleep(0)  # between two turns, let webhooks be acknowledged
            try:
                work = functools.partial(self.turn, event)
                turns.append(await off_loop_if_long(event.message, work))
            except Exception as exc:
                give_up = event.attempts >= self.options.event_attempts
                log.exception("event %s not processed (attempt %s)", event.id, event.attempts)
                await self.store.fail_event(self.owner, event.id, repr(exc), give_up)
        self._mark_seen(turns)
        # The first replies leave as soon as their turns are committed (no claim), unless
        # webhooks pour in (acknowledgements first) or the sender is full.
        busy = self.under_burst() or len(self._sending) >= self.options.concurrency
        lease = 0.0 if busy else self.options.lease
        try:
            deliveries = (await self.store.finish_turns(self.owner, turns, lease)).deliveries
        except StoreError:
            raise
        except Exception:
            # One event the database refuses must not hold its batch back for ever:
            # commit them one by one, and set aside the one that keeps failing.
            log.exception("a batch of %s events could not be committed together", len(turns))
            turns, deliveries = await self._finish_one_by_one(turns, lease)
        for delivery in deliveries:
            self._send(delivery, self._seen.get(delivery.conversation_id))
        if sum(1 for turn in turns if turn.replies) > len(deliveries):
            self.wake_outbox()  # replies left for the sender to claim
        for turn in turns:
            self.metrics.events.labels(turn.event.message.channel, turn.event.kind).inc()
            if turn.action is not None:
                self.metrics.decisions.labels(turn.intent or "none", turn.action).inc()
            if turn.escalation is not None:
                self.metrics.escalations.labels("opened").inc()
            log.info(
                "%s event handled",
                turn.event.kind,
                extra={
                    "conversation": turn.event.conversation.id,
                    "channel": turn.event.message.channel,
                    "intent": turn.intent,
                    "action": turn.action,
                },
            )
        await self._announce(turns)
        return True

    def _mark_seen(self, turns: list[TurnRecord]) -> None:
        """Mark as read the messages about to be answered, while their turns are committed:
        the "seen" mark is then on its way before the first reply, not a request ahead of
        it. Best effort; `deliver` waits for one still on its way."""
        for turn in turns:
            conversation = turn.event.conversation
            adapter = self.adapters.get(conversation.channel)
            if not turn.replies or adapter is None or not adapter.read_receipts:
                continue
            task = asyncio.create_task(
                adapter.mark_seen(conversation.customer_id), name=f"seen {conversation.id}"
            )
            self._seen[conversation.id] = task
            task.add_done_callback(functools.partial(self._seen_done, conversation.id))

    def _seen_done(self, conversation_id: int, task: asyncio.Task[None]) -> None:
        if self._seen.get(conversation_id) is task:
            del self._seen[conversation_id]

    async def _finish_one_by_one(
        self, turns: list[TurnRecord], lease: float
    ) -> tuple[list[TurnRecord], list[Delivery]]:
        done, deliveries = [], []
        for turn in turns:
            try:
                finished = await self.store.finish_turns(self.owner, [turn], lease)
            except StoreError:
                raise
            except Exception as exc:
                event = turn.event
                give_up = event.attempts >= self.options.event_attempts
                log.exception("event %s not committed (attempt %s)", event.id, event.attempts)
                await self.store.fail_event(self.owner, event.id, repr(exc), give_up)
            else:
                done.append(turn)
                deliveries += finished.deliveries
        return done, deliveries

    async def _announce(self, turns: list[TurnRecord]) -> None:
        """Tell the desk about new escalations and customer messages to people."""
        for turn in turns:
            conversation = turn.event.conversation
            adapter = self.adapters.get(conversation.channel)
            if turn.escalation is not None and conversation.customer_name is None and adapter:
                # Agents greet customers by name; the platform may tell it (best effort).
                name = await adapter.display_name(conversation.customer_id)
                if name:
                    await self.store.set_customer_name(conversation.id, name)
        changes = []
        for turn in turns:
            if turn.state.escalated:  # a new escalation, or a message to a person who has it
                before = turn.event.conversation
                changes.append((before.id, "message" if before.state.escalated else "escalation"))
        if changes:
            await self.store.announce(changes)

    def turn(self, event: ClaimedEvent) -> TurnRecord:
        """What one event does to its conversation: pure, no I/O."""
        state = event.conversation.state
        if event.kind == "note":
            return TurnRecord(event, state)
        if event.kind == "mention":
            # A public post: never discuss an account in public; one short reply inviting
            # to a private conversation, kept in the transcript. The engine does not run.
            post = event.message.post_id
            if post is None:
                return TurnRecord(event, state)
            text = self.engine.renderer.text("mention")
            return TurnRecord(event, state, replies=[Reply(text=text, reply_to_post=post)])
        if event.kind == "takeover":
            agent = NATIVE_AGENTS.get(event.message.channel, event.message.channel)
            return TurnRecord(
                event,
                state.model_copy(update={"escalated": True}),
                escalation=NewEscalation("answered_natively", state.last_intent, None, agent),
                takeover=True,
            )
        at = event.message.timestamp_ms or int(time.time() * 1000)
        recent = (*(t for t in state.recent_ms if at - t < self.options.flood_window_ms), at)
        state = state.model_copy(update={"recent_ms": recent[-(self.options.flood_limit + 1) :]})
        if len(recent) > self.options.flood_limit and not state.escalated:
            return self._flooded(event, state)
        state = state.model_copy(update={"flood_noticed": False})
        adapter = self.adapters.get(event.message.channel)
        limits: ChannelLimits = adapter.limits if adapter is not None else LOCAL
        outcome = self.engine.respond(state, event.message, limits)
        decision = outcome.decision
        escalation = None
        if decision.action == "escalate":
            escalation = NewEscalation(
                decision.escalation_reason or "asked_for_human", decision.intent, decision.score
            )
        return TurnRecord(
            event,
            outcome.state,
            replies=outcome.replies,
            intent=outcome.match.intent,
            score=outcome.match.score,
            escalation=escalation,
            action=decision.action,
        )

    def _flooded(self, event: ClaimedEvent, state: ConversationState) -> TurnRecord:
        """Too many messages too fast: one polite notice, then silence until it calms down.

        The messages are kept in the transcript; answering each would flood the customer
        back and hold the workers for everyone else.
        """
        if state.flood_noticed:
            return TurnRecord(event, state, action="flood")
        notice = Reply(text=self.engine.renderer.text("flood"))
        return TurnRecord(
            event,
            state.model_copy(update={"flood_noticed": True}),
            replies=[notice],
            action="flood",
        )

    # -- outbox ---------------------------------------------------------------------------

    async def deliver_outbox(self) -> bool:
        """Start sending due replies while fewer than `concurrency` are in flight.

        Each reply leaves as soon as a place is free rather than with a whole batch, so a
        slow send holds back only its own conversation (whose next reply waits for it).
        True when every free place was filled (more may be due).
        """
        free = self.options.concurrency - len(self._sending)
        burst = self.under_burst()
        if burst:
            free = min(free, self.options.burst_batch)
        if free <= 0:
            self._full = True
            return False  # a send that ends wakes the sender
        seen = dict(self._seen)  # "seen" marks on their way while the claim is made
        deliveries = await self.store.claim_deliveries(
            self.owner, free, self.options.lease, time.time()
        )
        started = [
            self._send(d, seen.get(d.conversation_id) if d.outgoing.first_of_turn else None)
            for d in deliveries
        ]
        if started and burst:
            # Webhooks are pouring in: this batch goes out before the next is taken, so
            # the rest that follows it (see `_loop`) leaves the time to acknowledgements.
            await asyncio.wait(started)
            return True
        self._full = len(deliveries) == free
        return self._full

    def _send(self, delivery: Delivery, seen: asyncio.Task[None] | None) -> asyncio.Task[bool]:
        task = asyncio.create_task(self.deliver(delivery, seen), name=f"reply {delivery.id}")
        self._sending.add(task)
        task.add_done_callback(self._sent)
        return task

    def _sent(self, task: asyncio.Task[bool]) -> None:
        self._sending.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            # The store failed to record the outcome: the lease runs out and the reply is
            # taken again (a Messenger echo confirms it if it did arrive).
            log.warning("%s: outcome not recorded: %r", task.get_name(), exc)
        # A place is free: look for replies due, unless this one's conversation was
        # followed up already (its next reply came leased with the record, or it has none)
        # and the last claim left nothing behind.
        if task.cancelled() or exc is not None or task.result() or self._full:
            self._outbox_wake.set()

    async def deliver(self, delivery: Delivery, seen: asyncio.Task[None] | None = None) -> bool:
        """Send one leased reply; `seen` is its message's "seen" mark if that was on its
        way when the reply was leased: the reply follows it. False when the conversation's
        next reply needs no claim (it is on its way, or there is none)."""
        adapter = self.adapters.get(delivery.channel)
        if adapter is None:
            await self.store.undeliverable(
                self.owner, delivery.id, f"the {delivery.channel} channel is not configured"
            )
            return True
        # While the "seen" mark was on its way, a person may have taken the conversation
        # over: the bot's reply is then not sent. Without one, right after the claim, there
        # is nothing new to see (and one store round trip less).
        if seen is not None:
            await asyncio.wait([seen])
            if not await self.store.still_ours(self.owner, delivery.id):
                return True
        try:
            platform_id = await adapter.send(delivery.outgoing)
        except PermanentSendError as exc:
            log.warning(
                "reply %s to %s not delivered (%s): %s",
                delivery.id,
                delivery.channel,
                exc.code,
                exc,
            )
            await self.store.undeliverable(self.owner, delivery.id, f"{exc.code}: {exc}")
            self._count_failure(delivery, exc.code, "failed")
        except RetryableSendError as exc:
            wait = exc.retry_after
            if exc.code == "timeout":
                wait = max(wait or 0.0, self.options.unconfirmed_wait)
            await self._retry(delivery, f"{exc.code}: {exc}", wait)
            self._count_failure(delivery, exc.code, "retried")
        except Exception as exc:
            log.exception("reply %s: unexpected send failure", delivery.id)
            await self._retry(delivery, repr(exc), None)
            self._count_failure(delivery, "exception", "retried")
        else:
            # The conversation's next reply comes back leased with the record and leaves at
            # once, without a claim; not while webhooks pour in (the sender paces itself).
            lease = 0.0 if self.under_burst() else self.options.lease
            following = await self.store.delivered(self.owner, delivery.id, platform_id, lease)
            self.metrics.sent.labels(delivery.channel, delivery.author).inc()
            if delivery.created_at:
                latency = max(0.0, time.time() - delivery.created_at)
                self.metrics.delivery_latency.labels(delivery.channel).observe(latency)
            if following is not None:  # the next turn's first reply waits for its "seen"
                first = following.outgoing.first_of_turn
                self._send(following, self._seen.get(following.conversation_id) if first else None)
            return not lease
        return True

    def _count_failure(self, delivery: Delivery, code: str | None, outcome: str) -> None:
        self.metrics.send_failures.labels(delivery.channel, code or "unknown", outcome).inc()

    async def _retry(self, delivery: Delivery, error: str, retry_after: float | None) -> None:
        if delivery.attempts >= self.options.send_attempts:
            log.warning(
                "reply %s failed after %s attempts: %s", delivery.id, delivery.attempts, error
            )
            await self.store.undeliverable(
                self.owner, delivery.id, f"gave up after {delivery.attempts} attempts: {error}"
            )
            return
        delay = self.backoff(delivery.attempts)
        if retry_after is not None:
            delay = max(delay, retry_after)
        log.info("reply %s: retry in %.1f s (%s)", delivery.id, delay, error)
        await self.store.retry_later(self.owner, delivery.id, time.time() + delay, error)

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter over its upper half."""
        ceiling = min(self.options.backoff_max, self.options.backoff * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + self._jitter.random() * ceiling / 2
