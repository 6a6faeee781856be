"""A clock for the service that tests can move forward: real time, plus what they add."""

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
