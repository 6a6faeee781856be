"""Clocks for the service that tests move: real time plus what they add, or a clock that
stands still until they set it."""

from __future__ import annotations

import time


class Clock:
    """Seconds since the epoch, `advance`d by the test (time still flows meanwhile)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class StoppedClock:
    """Seconds since the epoch, exactly `now`: the test sets it, time does not flow."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
