"""The workers under a burst: acknowledgements first, the backlog answered once it passes."""

from __future__ import annotations

from bot.pacing import WINDOW, Pacer


class Time:
    """A clock that moves only when the pacer sleeps, or when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def arrive(pacer: Pacer, time: Time, per_second: float, seconds: float) -> None:
    """Webhooks stored at this rate, as the webhook handler reports them."""
    for _ in range(int(per_second * seconds)):
        pacer.arrived()
        time.now += 1 / per_second


async def test_under_a_burst_a_worker_rests_in_proportion_to_its_step() -> None:
    time = Time()
    pacer = Pacer(rate=100, share=0.05, clock=time, sleep=time.sleep)
    arrive(pacer, time, per_second=1000, seconds=0.3)
    assert pacer.under_burst()
    # A step of 10 ms earns 190 ms of rest for one worker at a 5 % share; webhooks go on
    # arriving meanwhile (the clock moves only as the pacer sleeps).
    await pacer.rest(0.010, workers=1, stopping=lambda: False)
    assert 0.19 <= time.slept < 0.19 + WINDOW


async def test_a_rest_ends_with_the_burst() -> None:
    time = Time()
    pacer = Pacer(rate=100, share=0.05, clock=time, sleep=time.sleep)
    arrive(pacer, time, per_second=1000, seconds=0.3)
    # A step of 1 s would earn 19 s of rest, but nothing arrives any more.
    await pacer.rest(1.0, workers=1, stopping=lambda: False)
    assert time.slept <= 3 * WINDOW
    assert not pacer.under_burst()


async def test_without_a_burst_a_worker_does_not_rest() -> None:
    time = Time()
    pacer = Pacer(rate=100, share=0.05, clock=time, sleep=time.sleep)
    arrive(pacer, time, per_second=20, seconds=0.5)  # a busy day, not a burst
    assert not pacer.under_burst()
    await pacer.rest(1.0, workers=2, stopping=lambda: False)
    assert time.slept == 0.0


async def test_a_stopping_service_does_not_rest() -> None:
    time = Time()
    pacer = Pacer(rate=100, share=0.05, clock=time, sleep=time.sleep)
    arrive(pacer, time, per_second=1000, seconds=0.3)
    await pacer.rest(1.0, workers=1, stopping=lambda: True)
    assert time.slept == 0.0
