"""Live events for the desk: what happened, fanned out to every connected agent.

Each process has its hub; the store relays every instance's events to all of them
(LISTEN/NOTIFY on PostgreSQL). A slow listener never holds anyone up: its
queue is bounded, and when it overflows that listener is disconnected (its page
reconnects and refetches).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

QUEUE_SIZE: Final = 256
CLOSED: Final[tuple[str, dict[str, Any]]] = ("closed", {})


class EventHub:
    """Publish `(name, data)`; each subscriber gets every event published after it joined."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[tuple[str, dict[str, Any]]]] = set()

    def publish(self, name: str, data: dict[str, Any]) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait((name, data))
            except asyncio.QueueFull:
                self._queues.discard(queue)
                queue.get_nowait()
                queue.put_nowait(CLOSED)

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[tuple[str, dict[str, Any]]]]:
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def close(self) -> None:
        """Tell every listener the server is going away."""
        for queue in list(self._queues):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(CLOSED)
        self._queues.clear()

    @property
    def listeners(self) -> int:
        return len(self._queues)
