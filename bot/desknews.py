"""Desk news: what the agents' desks hear about conversations a person handles.

A new escalation, or a customer writing to a person, is announced to every desk (on
every instance). The rest is done here too, in tasks of their own, beside the inbox worker
and never in its way: the conversation's search index is brought up to date (a busy
conversation is indexed once every few seconds, not once per message: each indexing
rewrites its whole document and commits), and the customer's name is asked of the platform
when it was never asked or was asked more than a day ago (names change, and a page may gain
the permission the User Profile API needs), after which the desks hear that the customer's
name is known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Final

from adapters.base import ChannelAdapter
from bot.store import Store, StoreError, TurnRecord

log = logging.getLogger(__name__)

BACKLOG: Final = 1000  # batches of news waiting at most; beyond, the oldest is dropped
NAME_MAX_AGE: Final = 86_400.0  # a customer's name is asked again after a day
INDEX_EVERY: Final = 2.0  # seconds between two indexings of the conversations that changed
INDEX_BATCH: Final = 32  # conversations indexed in one transaction, at most


class DeskNews:
    """Announces the turns' news, indexes them and looks names up, in a task of its own."""

    def __init__(self, store: Store, adapters: Mapping[str, ChannelAdapter]) -> None:
        self._store = store
        self._adapters = adapters
        self._queue: asyncio.Queue[list[tuple[int, str]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._to_index: set[int] = set()
        self._indexer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="desk news")

    async def stop(self) -> None:
        """Stop both tasks; what was waiting to be indexed is indexed now."""
        tasks = [task for task in (self._task, self._indexer) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = self._indexer = None
        await self._index()

    def tell(self, turns: Sequence[TurnRecord]) -> None:
        """Queue the news of turns just committed; returns at once."""
        changes: list[tuple[int, str]] = []
        for turn in turns:
            if not turn.state.escalated:
                continue  # the bot answers: nothing for the desk
            before = turn.event.conversation
            changes.append((before.id, "message" if before.state.escalated else "escalation"))
        if changes:
            if self._queue.qsize() >= BACKLOG:
                log.warning("desk news backlog full: the oldest news is dropped")
                self._queue.get_nowait()
            self._queue.put_nowait(changes)

    async def _run(self) -> None:
        while True:
            changes = await self._queue.get()
            while not self._queue.empty():  # what came meanwhile goes in the same round
                changes += self._queue.get_nowait()
            try:
                await self._store.announce(changes)
                ids = list(dict.fromkeys(conversation_id for conversation_id, _ in changes))
                self._index_soon(ids)
                await self._look_up(ids)
            except StoreError as exc:
                log.warning("desk news not told: %s", exc)
            except Exception:
                log.exception("desk news failed")

    async def _look_up(self, conversation_ids: Sequence[int]) -> None:
        """Ask the platforms for the names not asked for a day (best effort): agents greet
        customers by them."""
        for conversation_id, channel, customer_id in await self._store.names_due(
            conversation_ids, NAME_MAX_AGE
        ):
            adapter = self._adapters.get(channel)
            name = await adapter.display_name(customer_id) if adapter is not None else None
            await self._store.set_customer_name(conversation_id, name)
            if name:
                self._index_soon([conversation_id])
                await self._store.announce([(conversation_id, "customer")])

    def _index_soon(self, conversation_ids: Sequence[int]) -> None:
        self._to_index.update(conversation_ids)
        if self._indexer is None or self._indexer.done():
            self._indexer = asyncio.create_task(self._index_every(), name="desk search index")

    async def _index_every(self) -> None:
        while self._to_index:
            await asyncio.sleep(INDEX_EVERY)
            await self._index()

    async def _index(self) -> None:
        """Index what changed, a batch per transaction; kept for the next round on failure."""
        while self._to_index:
            batch = sorted(self._to_index)[:INDEX_BATCH]
            self._to_index.difference_update(batch)
            try:
                await self._store.index(batch)
            except StoreError as exc:
                self._to_index.update(batch)
                log.warning("search index not updated: %s", exc)
                return
            except Exception:
                log.exception("search index failed")
                return
