"""Desk news: what the agents' desks hear about conversations a person handles.

A new escalation, or a customer writing to a person, is announced to every desk (on
every instance). A new escalation's customer is greeted by name when the platform tells
it: that lookup is a platform call, made here, beside the inbox worker and never in its
way, after which the desks hear that the customer's name is known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from adapters.base import ChannelAdapter
from bot.store import Store, StoreError, TurnRecord

log = logging.getLogger(__name__)

BACKLOG: Final = 1000  # news waiting at most; beyond, the oldest name lookups are skipped


@dataclass(frozen=True, slots=True)
class _Lookup:
    conversation_id: int
    channel: str
    customer_id: str


class DeskNews:
    """Announces the turns' news and looks up new escalations' names, in a task of its own."""

    def __init__(self, store: Store, adapters: Mapping[str, ChannelAdapter]) -> None:
        self._store = store
        self._adapters = adapters
        self._queue: asyncio.Queue[list[tuple[int, str]] | _Lookup] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="desk news")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def tell(self, turns: Sequence[TurnRecord]) -> None:
        """Queue the news of turns just committed; returns at once."""
        changes: list[tuple[int, str]] = []
        lookups: list[_Lookup] = []
        for turn in turns:
            if not turn.state.escalated:
                continue  # the bot answers: nothing for the desk
            before = turn.event.conversation
            changes.append((before.id, "message" if before.state.escalated else "escalation"))
            if turn.escalation is not None and before.customer_name is None:
                lookups.append(_Lookup(before.id, before.channel, before.customer_id))
        if changes:
            self._put(changes)
        for lookup in lookups:
            self._put(lookup)

    def _put(self, item: list[tuple[int, str]] | _Lookup) -> None:
        if self._queue.qsize() >= BACKLOG:
            log.warning("desk news backlog full: a name lookup is skipped")
            dropped = self._queue.get_nowait()
            if not isinstance(dropped, _Lookup):
                self._queue.put_nowait(dropped)  # announcements are kept, lookups are not
                return
        self._queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, _Lookup):
                    await self._look_up(item)
                else:
                    await self._store.announce(item)
            except StoreError as exc:
                log.warning("desk news not told: %s", exc)
            except Exception:
                log.exception("desk news failed")

    async def _look_up(self, lookup: _Lookup) -> None:
        """The platform may tell the customer's name (best effort): agents greet them by it."""
        adapter = self._adapters.get(lookup.channel)
        if adapter is None:
            return
        name = await adapter.display_name(lookup.customer_id)
        if name:
            await self._store.set_customer_name(lookup.conversation_id, name)
            await self._store.announce([(lookup.conversation_id, "customer")])
