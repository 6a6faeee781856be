"""The background workers, started and stopped together: the inbox worker (`inbox.py`),
the sender (`sender.py`) and the desk news (`desknews.py`), paced under a burst of
webhooks (`pacing.py`).

Each worker runs its step while it finds work, then waits for a wake-up (a webhook
stored, a reply queued by an agent, a send that ended) or `poll` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from adapters.base import ChannelAdapter
from bot.desknews import DeskNews
from bot.engine import Engine
from bot.inbox import InboxOptions, InboxWorker
from bot.metrics import Metrics
from bot.pacing import Pacer
from bot.sender import Sender, SenderOptions
from bot.store import Store, StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    inbox: InboxOptions = field(default_factory=InboxOptions)
    sender: SenderOptions = field(default_factory=SenderOptions)
    poll: float = 0.5  # seconds between looks at the store when nothing woke us
    drain: float = 10.0
    # While webhooks arrive faster than `burst_rate`, the workers take together about
    # `burst_share` of the time (see pacing.py).
    burst_share: float = 0.05
    burst_rate: float = 1000.0  # webhooks per second that count as a burst


class Pipeline:
    """Runs the workers until `stop`; `wake_*` cut the polling short."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        adapters: Mapping[str, ChannelAdapter],
        options: WorkerOptions | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or WorkerOptions()
        self._clock = clock
        metrics = metrics or Metrics()
        owner = uuid.uuid4().hex[:12]
        self.pacer = Pacer(self.options.burst_rate, self.options.burst_share, clock)
        self._inbox_wake = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._drain_until = 0.0
        self.news = DeskNews(store, adapters)
        self.sender = Sender(
            store, adapters, owner, self.options.sender, self.pacer, metrics, clock,
            wake=self.wake_outbox,
        )  # fmt: skip
        self.inbox = InboxWorker(
            store, engine, adapters, owner, self.options.inbox, self.sender, self.news,
            metrics, clock,
        )  # fmt: skip

    def start(self) -> None:
        self.news.start()
        self._tasks = [
            asyncio.create_task(self._loop(self.inbox.step, self._inbox_wake), name="inbox"),
            asyncio.create_task(
                self._loop(self.sender.step, self._outbox_wake, lambda: self.sender.busy),
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
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.options.drain)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        await self.sender.stop(max(0.0, self._drain_until - time.monotonic()))
        await self.news.stop()

    def wake(self) -> None:
        self._inbox_wake.set()
        self._outbox_wake.set()

    def wake_inbox(self) -> None:
        """A webhook stored new events."""
        self.pacer.arrived()
        self._inbox_wake.set()

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
            started = self._clock()
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
                await self.pacer.rest(
                    self._clock() - started, len(self._tasks), self._stopping.is_set
                )
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.options.poll)
