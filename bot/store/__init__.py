"""The durable store: `Store` over a connector for SQLite or PostgreSQL.

`open_store` picks the connector from `BOT_DATABASE_URL`; `store.py` has the store, written
once; `sql/` its queries; `migrations/` one sequence of schema changes for both databases.
"""

from __future__ import annotations

import time

from bot.store import records
from bot.store.records import *  # noqa: F403 - the records are the store's vocabulary
from bot.store.records import StoreError
from bot.store.sqlite import Sync
from bot.store.store import Clock, Finished, Store

__all__ = [*records.__all__, "Clock", "Finished", "Store", "open_store"]


def open_store(
    url: str,
    *,
    clock: Clock = time.time,
    busy_timeout: float = 5.0,
    exclusive: bool = True,
    sqlite_sync: Sync = "thread",
) -> Store:
    """The store for `BOT_DATABASE_URL` (not yet opened).

    `exclusive` is for `serve`, which runs the workers; the administration commands
    (`agent add`…) open an SQLite file beside a running server, and on PostgreSQL never
    count as an instance of the service.
    """
    if url.startswith("sqlite:///"):
        from bot.store.sqlite import SQLiteConnector

        path = url.removeprefix("sqlite:///")
        connector = SQLiteConnector(
            path, busy_timeout=busy_timeout, exclusive=exclusive, sync=sqlite_sync
        )
        return Store(connector, clock)
    if url.startswith(("postgresql://", "postgres://")):
        from bot.store.postgres import PostgresConnector

        return Store(PostgresConnector(url, serving=exclusive), clock)
    raise StoreError(
        f"no store for {url.split(':', 1)[0]}://; use sqlite:///PATH or postgresql://…"
    )
