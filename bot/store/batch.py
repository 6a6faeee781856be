"""Group commit: writes that arrive while a commit is under way share the next one.

A burst of webhooks then costs one transaction (one fsync) per batch instead of one per
webhook, and each caller still returns only once the transaction holding its own rows
has committed, so an acknowledgement never runs ahead of the disk. While a burst is
still coming in, a commit waits for what the event loop is already taking in (a few of
its turns, microseconds each): fewer, larger commits cost the disk and the processor
less, which is what lets the webhook path keep up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Generic, TypeVar

# At most this many turns of the event loop for a commit to gather what arrives.
GATHER_TURNS: Final = 8

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`await submit(item)` runs `commit([items…])` for every item waiting, in one go."""

    def __init__(
        self, commit: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]], max_batch: int = 512
    ) -> None:
        self._commit = commit
        self._max = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        flusher = self._flusher
        if flusher is None or flusher.done():
            flusher = self._flusher = asyncio.create_task(self._flush())  # runs at next turn
        # The flusher's loop is the running one (asyncio.get_running_loop() would cost a
        # getpid() system call per webhook on Python 3.11).
        waiter: asyncio.Future[Result] = flusher.get_loop().create_future()
        self._waiting.append((item, waiter))
        return await waiter

    async def _flush(self) -> None:
        while self._waiting:
            await self._gather()
            batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
            try:
                results = await self._commit([item for item, _ in batch])
            except Exception as exc:  # every caller of the batch learns why
                for _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for (_, waiter), result in zip(batch, results, strict=True):
                if not waiter.done():  # a caller that gave up: its rows are stored anyway
                    waiter.set_result(result)

    async def _gather(self) -> None:
        """Wait while each turn of the loop brings more items, up to GATHER_TURNS turns or
        a full batch; a lone item waits one turn."""
        seen = 0
        for _ in range(GATHER_TURNS):
            if len(self._waiting) == seen or len(self._waiting) >= self._max:
                return
            seen = len(self._waiting)
            await asyncio.sleep(0)

    async def drain(self) -> None:
        """Wait for the writes already submitted."""
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
