"""Pacing under a burst: acknowledging webhooks comes first.

While webhooks arrive faster than `rate` per second, the workers (inbox and sender)
take together about `share` of the time: each rests after a step long enough for that,
or until the burst ends. The backlog waits durably in the store and is answered as soon
as the burst passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

WINDOW = 0.1  # seconds over which the webhook arrival rate is measured


class Pacer:
    """Counts webhook arrivals and tells the workers when, and how long, to rest."""

    def __init__(
        self,
        rate: float,
        share: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rate = rate
        self._share = share
        self._clock = clock
        self._sleep = sleep
        self._arrivals = 0  # webhooks in the current window
        self._window_start = clock()
        self._last_rate = 0.0  # webhooks per second in the previous window

    def arrived(self) -> None:
        """A webhook stored new events."""
        now = self._clock()
        if now - self._window_start > WINDOW:
            self._last_rate = self._arrivals / max(now - self._window_start, WINDOW)
            self._window_start, self._arrivals = now, 0
        self._arrivals += 1

    def under_burst(self) -> bool:
        """Are webhooks arriving faster than `rate` per second right now?"""
        now = self._clock()
        if now - self._window_start > 2 * WINDOW:
            return False  # nothing arrived lately
        current = self._arrivals / max(now - self._window_start, WINDOW)
        return max(current, self._last_rate) > self._rate

    async def rest(self, step: float, workers: int, stopping: Callable[[], bool]) -> None:
        """After a step of `step` seconds, rest long enough for `workers` workers to take
        together `share` of the time, and no longer than the burst (or until stopping)."""
        until = self._clock() + step * (max(workers, 1) / self._share - 1)
        while self.under_burst() and not stopping():
            left = until - self._clock()
            if left <= 0:
                return
            await self._sleep(min(left, WINDOW))
