"""Per-client token buckets: how often one client may call a route that costs us or leaks.

A client is refused once its bucket is empty and told when to come back. Buckets are kept
for a bounded number of clients (the least recently seen are forgotten), so a flood of
addresses cannot grow memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class Throttle:
    """`burst` calls at once, then one every `1 / rate` seconds, per client key."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a throttle needs a positive rate and a burst of at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def wait(self, key: str) -> int:
        """Take one call for `key`: 0 when allowed, else the whole seconds to wait."""
        now = self._clock()
        tokens, then = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if tokens >= 1.0:
            self._remember(key, tokens - 1.0, now)
            return 0
        self._remember(key, tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self._rate))

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
