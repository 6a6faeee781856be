"""The per-client throttle: a burst, then a steady rate, for each client on its own."""

from __future__ import annotations

from bot.throttle import Throttle
from tests.clock import StoppedClock as Clock


def test_a_client_gets_its_burst_then_waits_for_the_rate() -> None:
    clock = Clock()
    throttle = Throttle(rate=0.5, burst=3, clock=clock)
    assert [throttle.wait("a") for _ in range(3)] == [0, 0, 0]
    assert throttle.wait("a") == 2  # one call every 2 s
    clock.now += 2.0
    assert throttle.wait("a") == 0
    assert throttle.wait("b") == 0  # another client is not held by the first


def test_a_flood_of_clients_does_not_grow_without_bound() -> None:
    clock = Clock()
    throttle = Throttle(rate=1.0, burst=1, clock=clock, max_clients=100)
    assert throttle.wait("first") == 0
    assert throttle.wait("first") == 1
    for n in range(1000):
        throttle.wait(f"client-{n}")
    # The first client was forgotten with the oldest: it starts again with a full bucket.
    assert throttle.wait("first") == 0
