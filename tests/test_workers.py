"""The workers under a burst: acknowledgements first, the backlog answered once it passes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.store import Store, open_store
from bot.workers import BURST_WINDOW, Pipeline, WorkerOptions


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    await opened.open()
    yield opened
    await opened.close()


async def arrive(pipeline: Pipeline, per_second: float, seconds: float) -> None:
    """Webhooks stored at this rate, as the webhook handler reports them."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pipeline.wake_inbox()
        await asyncio.sleep(1 / per_second)


async def test_under_a_burst_a_worker_rests_until_the_burst_ends_and_no_longer(
    store: Store, engine: Engine
) -> None:
    pipeline = Pipeline(store, engine, {}, WorkerOptions(burst_rate=100, burst_share=0.05))
    burst = asyncio.create_task(arrive(pipeline, per_second=1000, seconds=1.2))
    await asyncio.sleep(2 * BURST_WINDOW)  # the rate is measured over a window
    assert pipeline.under_burst()

    # A step of 1 s earns 19 s of rest at a 5 % share; the burst lasts 1 s more.
    started = time.monotonic()
    await pipeline._rest(1.0)
    rested = time.monotonic() - started
    await burst

    assert 0.9 < rested < 1.0 + 3 * BURST_WINDOW, rested
    assert not pipeline.under_burst()


async def test_without_a_burst_a_worker_does_not_rest(store: Store, engine: Engine) -> None:
    pipeline = Pipeline(store, engine, {}, WorkerOptions(burst_rate=100))
    await arrive(pipeline, per_second=20, seconds=0.3)  # a busy day, not a burst

    started = time.monotonic()
    await pipeline._rest(1.0)

    assert time.monotonic() - started < 0.05
