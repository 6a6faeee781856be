"""The sender: replies from the outbox to the platforms, one way out for every reply.

claim → send → delivered, retried later, or failed. A claim leases the first unsent reply
of each conversation, so a conversation's replies leave one after the other, in order,
and different conversations side by side. Right after a turn is committed, or a reply of
a conversation with more to say is sent, the same claim is made at once, without waiting
for the sender's next step. A bot reply leaves only while no person took
the conversation over. Failures are retried with exponential backoff and jitter (timeouts,
5xx, rate limits, honouring Retry-After up to the longest backoff) or given up for good
with the platform's error code.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from adapters.base import ChannelAdapter, PermanentSendError, RetryableSendError
from bot.metrics import Metrics
from bot.pacing import Pacer
from bot.store import Delivery, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SenderOptions:
    lease: float = 60.0
    concurrency: int = 64  # replies in flight at once (each to its own conversation)
    burst_batch: int = 16  # replies taken per step while webhooks pour in
    send_attempts: int = 8
    backoff: float = 2.0
    backoff_max: float = 600.0
    # A send that may have reached the platform (a timeout, a connection lost before the
    # answer, a 5xx): its retry waits at least this long, time for the platform's echo to
    # confirm it (Messenger) and cancel the retry.
    unconfirmed_wait: float = 10.0


class Sender:
    """Sends the replies of the outbox; `step` claims what is due and starts sending it."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChannelAdapter],
        owner: str,
        options: SenderOptions,
        pacer: Pacer,
        metrics: Metrics,
        clock: Callable[[], float],
        wake: Callable[[], None],
    ) -> None:
        self._store = store
        self._adapters = adapters
        self._owner = owner
        self._options = options
        self._pacer = pacer
        self._metrics = metrics
        self._clock = clock
        self._wake = wake  # look for replies due soon
        self._sending: set[asyncio.Task[bool]] = set()
        self._seen: dict[int, asyncio.Task[None]] = {}  # conversation id → its "seen" mark
        self._full = False  # the last claim took all it could: more may be due
        self._jitter = random.Random()  # noqa: S311 - retry jitter, not secrets

    @property
    def busy(self) -> bool:
        """Replies are on their way."""
        return bool(self._sending)

    @property
    def room(self) -> int:
        """How many more replies may leave at once now."""
        free = self._options.concurrency - len(self._sending)
        return min(free, self._options.burst_batch) if self._pacer.under_burst() else free

    def mark_seen(self, conversation_id: int, channel: str, recipient: str) -> None:
        """Mark the customer's message as read while its answer is being committed; best
        effort. The answer's first reply waits for the mark on its way when it is claimed,
        and is not sent if a person took over meanwhile."""
        adapter = self._adapters.get(channel)
        if adapter is None or not adapter.read_receipts:
            return
        task = asyncio.create_task(adapter.mark_seen(recipient), name=f"seen {conversation_id}")
        self._seen[conversation_id] = task
        task.add_done_callback(functools.partial(self._seen_done, conversation_id))

    def _seen_done(self, conversation_id: int, task: asyncio.Task[None]) -> None:
        if self._seen.get(conversation_id) is task:
            del self._seen[conversation_id]

    async def step(self) -> bool:
        """Claim the replies due, as many as there is room for, and start sending them.
        True when every free place was filled (more may be due)."""
        free = self.room
        if free <= 0:
            self._full = True
            return False  # a send that ends wakes the sender
        burst = self._pacer.under_burst()
        started = await self._claim(free)
        if started and burst:
            # Webhooks are pouring in: this batch goes out before the next is taken, so the
            # rest that follows leaves the time to acknowledgements.
            await asyncio.wait(started)
            return True
        self._full = len(started) == free
        return self._full

    def wake(self) -> None:
        """Replies were queued: the sender's next step looks for them."""
        self._wake()

    def claim_size(self, replies: int) -> int:
        """How many replies to claim with turns just committed that queued `replies`
        answers: as many as there is room for, none while webhooks pour in (the sender's
        next step takes them, paced)."""
        if replies <= 0 or self._pacer.under_burst():
            return 0
        return max(0, min(self.room, replies))

    def start(self, deliveries: list[Delivery], wanted: int) -> None:
        """Send the replies claimed with committed turns (`wanted` were asked for)."""
        seen = dict(self._seen)
        for d in deliveries:
            self._start(d, seen.get(d.conversation_id) if d.outgoing.first_of_turn else None)
        if wanted and len(deliveries) == wanted:
            self._wake()  # it took all it could: more may be due

    async def _claim(self, limit: int) -> list[asyncio.Task[bool]]:
        seen = dict(self._seen)  # "seen" marks on their way as the claim is made
        deliveries = await self._store.claim_deliveries(self._owner, limit, self._options.lease)
        return [
            self._start(d, seen.get(d.conversation_id) if d.outgoing.first_of_turn else None)
            for d in deliveries
        ]

    def _start(self, delivery: Delivery, seen: asyncio.Task[None] | None) -> asyncio.Task[bool]:
        task = asyncio.create_task(self.deliver(delivery, seen), name=f"reply {delivery.id}")
        self._sending.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[bool]) -> None:
        self._sending.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            # The store failed to record the outcome: the lease runs out and the reply is
            # taken again (a Messenger echo confirms it if it did arrive).
            log.warning("%s: outcome not recorded: %r", task.get_name(), exc)
        # A place is free: look for replies due, unless this one's conversation was
        # followed up already (or has nothing more) and the last claim left nothing behind.
        if task.cancelled() or exc is not None or task.result() or self._full:
            self._wake()

    async def deliver(self, delivery: Delivery, seen: asyncio.Task[None] | None = None) -> bool:
        """Send one leased reply; `seen` is its message's "seen" mark if that was on its
        way when the reply was claimed: the reply follows it. False when the conversation
        needs no claim from the next step (its next reply is on its way, or it has none)."""
        adapter = self._adapters.get(delivery.channel)
        if adapter is None:
            error = f"the {delivery.channel} channel is not configured"
            await self._store.undeliverable(self._owner, delivery.id, error)
            return True
        # While the "seen" mark was on its way, a person may have taken the conversation
        # over: the bot's reply is then not sent. Without one, right after the claim, there
        # is nothing new to see.
        if seen is not None:
            await asyncio.wait([seen])
            if not await self._store.still_ours(self._owner, delivery.id):
                return True
        try:
            platform_id = await adapter.send(delivery.outgoing)
        except PermanentSendError as exc:
            log.warning(
                "reply %s to %s not delivered (%s): %s", delivery.id, delivery.channel,
                exc.code, exc,
            )  # fmt: skip
            await self._store.undeliverable(self._owner, delivery.id, f"{exc.code}: {exc}")
            self._count_failure(delivery, exc.code, "failed")
            return True
        except RetryableSendError as exc:
            wait = exc.retry_after
            if wait is not None:
                # A platform's Retry-After is honoured, but never parks a reply for longer
                # than the longest backoff (a day's "Retry-After" would hold it for a day).
                wait = min(wait, self._options.backoff_max)
            if exc.unconfirmed:
                wait = max(wait or 0.0, self._options.unconfirmed_wait)
            await self._retry(delivery, f"{exc.code}: {exc}", wait)
            self._count_failure(delivery, exc.code, "retried")
            return True
        except Exception as exc:
            log.exception("reply %s: unexpected send failure", delivery.id)
            await self._retry(delivery, repr(exc), None)
            self._count_failure(delivery, "exception", "retried")
            return True
        # Its conversation's next reply (or another one due) is claimed with the record and
        # leaves at once; not while webhooks pour in (the sender paces itself).
        more = delivery.more and not self._pacer.under_burst()
        lease = self._options.lease if more else 0.0
        following = await self._store.delivered(self._owner, delivery.id, platform_id, lease=lease)
        self._metrics.sent.labels(delivery.channel, delivery.author).inc()
        if delivery.created_at:
            latency = max(0.0, self._clock() - delivery.created_at)
            self._metrics.delivery_latency.labels(delivery.channel).observe(latency)
        if following is not None:  # a next turn's first reply waits for its "seen" mark
            first = following.outgoing.first_of_turn
            self._start(following, self._seen.get(following.conversation_id) if first else None)
            return False
        return delivery.more  # more was due, but not claimed: the next step looks

    def _count_failure(self, delivery: Delivery, code: str | None, outcome: str) -> None:
        self._metrics.send_failures.labels(delivery.channel, code or "unknown", outcome).inc()

    async def _retry(self, delivery: Delivery, error: str, retry_after: float | None) -> None:
        if delivery.attempts >= self._options.send_attempts:
            log.warning(
                "reply %s failed after %s attempts: %s", delivery.id, delivery.attempts, error
            )
            await self._store.undeliverable(
                self._owner, delivery.id, f"gave up after {delivery.attempts} attempts: {error}"
            )
            return
        delay = self.backoff(delivery.attempts)
        if retry_after is not None:
            delay = max(delay, retry_after)
        log.info("reply %s: retry in %.1f s (%s)", delivery.id, delay, error)
        await self._store.retry_later(self._owner, delivery.id, self._clock() + delay, error)

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter over its upper half."""
        options = self._options
        ceiling = min(options.backoff_max, options.backoff * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + self._jitter.random() * ceiling / 2

    async def stop(self, within: float) -> None:
        """Let the sends under way finish (and those they bring) for at most `within`
        seconds, then abandon the rest: their leases make them go again (or be confirmed
        by the platform's echo) after the restart."""
        deadline = asyncio.get_running_loop().time() + within
        while self._sending:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            await asyncio.wait(list(self._sending), timeout=left)
        tasks = [*self._sending, *self._seen.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
