"""What the store needs of a database: sessions that run named queries, transactions, a
durable append for acknowledged webhooks, and desk events between instances.

One connector per dialect (`sqlite.py`, `postgres.py`) keeps everything that differs in
how the two are driven: connections, threads, durability, locks, errors. The store above
it is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.store.queries import Dialect, Query
from bot.store.records import Row

Listener = Callable[[str, dict[str, Any]], None]
# What an append writes: each bulk query with its rows, in one durable transaction.
Writes = Sequence[tuple[Query, Sequence[Sequence[Any]]]]


class Session(Protocol):
    """Statements on one connection. Errors come as StoreError (Duplicate for a unique key
    already taken). A list given as a parameter is an array to PostgreSQL, JSON text to
    SQLite."""

    async def execute(self, query: Query, *args: Any) -> int:
        """Run `query`; the number of rows its last statement changed."""
        ...

    async def fetch(self, query: Query, *args: Any) -> Sequence[Row]: ...

    async def fetchrow(self, query: Query, *args: Any) -> Row | None: ...

    async def fetchval(self, query: Query, *args: Any) -> Any: ...

    async def bulk(self, query: Query, rows: Sequence[Sequence[Any]]) -> int:
        """Run a bulk query for every row at once; the number of rows changed."""
        ...

    async def script(self, text: str) -> None:
        """Run a migration: statements separated by ";", without parameters."""
        ...


class Connector(Protocol):
    """A database the store runs on."""

    dialect: Dialect
    # This process alone uses the database: leases left by an earlier process are stale.
    exclusive: bool

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def arrival(self) -> AbstractAsyncContextManager[bool]:
        """Join the instances of the service working on the database, until `close`. The
        block is told whether none was there (a cold start: every other one stopped, and
        what they left in doubt may wait again); no other instance joins before it ends."""
        ...

    def transaction(
        self, *, atomic: bool = True, durable: bool = True
    ) -> AbstractAsyncContextManager[Session]:
        """A session that writes, committed at the end of the block (rolled back on an
        exception). `atomic=False`: each statement is atomic on its own and the block as a
        whole need not be (PostgreSQL then spares BEGIN and COMMIT). `durable=False`: the
        commit need not wait for the disk, for changes whose loss in a power cut changes
        nothing (leases, which every start releases). A block never awaits anything but
        its session's calls."""
        ...

    def reading(self) -> AbstractAsyncContextManager[Session]:
        """A session that only reads."""
        ...

    async def append(self, writes: Writes) -> None:
        """Write acknowledged webhooks (and a poller's cursor) durably, in one transaction
        that runs beside the event loop's own."""
        ...

    async def check(self) -> None:
        """Raise StoreError when what was opened is no longer the database (a file deleted
        or replaced under the running process)."""
        ...

    async def erase(self) -> None:
        """After deletions: make sure the deleted rows are gone from the files too, not
        only unreachable (SQLite keeps them in free pages and in its log otherwise)."""
        ...

    async def notify(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Tell every listener, on every instance using this database, about desk events."""
        ...

    async def listen(self, listener: Listener) -> None:
        """Call `listener(name, data)` for each desk event notified from now on."""
        ...
