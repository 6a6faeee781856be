"""The PostgreSQL connector, for several bot instances on one database (asyncpg).

A pool of connections; a transaction only where several statements must hold together
(the store's queries are single statements, atomic on their own, wherever it can). Desk
events travel with LISTEN/NOTIFY on a connection of their own, so an agent connected to
any instance sees what happened on all of them; when that connection drops (a restart, a
failover) it is made again.

Each `serve` holds an advisory lock, shared, on one more connection of its own for as long
as it runs (taken again when that connection drops): PostgreSQL lets it go the moment the
process is gone, even killed. An instance starting tries the lock exclusively first: when
it gets it, no other instance runs, and what the stopped ones left in doubt may wait again
(`Store.open`); instances starting together wait for that before they take their share.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeAlias

import asyncpg

from bot.store.connector import Listener, Writes
from bot.store.queries import Dialect, Query
from bot.store.records import Duplicate, Row, StoreError

log = logging.getLogger(__name__)

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record]"
Pooled: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
EVENTS_CHANNEL = "bot_desk_events"  # + the schema: deployments sharing a database stay apart
_PRESENCE = "7412002, current_schema()::regnamespace::oid::int"  # the schema's, likewise
_ALONE = f"SELECT pg_try_advisory_lock({_PRESENCE})"
_PRESENT = f"SELECT pg_advisory_lock_shared({_PRESENCE})"
_ARRIVED = f"SELECT pg_advisory_unlock({_PRESENCE})"
_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PostgresConnector:
    """`Connector` on PostgreSQL; see the module docstring."""

    dialect: Dialect = "postgresql"
    exclusive = False  # other instances may hold leases

    def __init__(
        self, url: str, *, serving: bool = True, min_size: int = 2, max_size: int = 10
    ) -> None:
        self.url = url
        # `serve`, which runs the workers; the administration commands (`agent add`…) never
        # count as an instance.
        self.serving = serving
        self._min = min_size
        self._max = max_size
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._listen: Connection | None = None
        self._listeners: list[Listener] = []
        self._channel = EVENTS_CHANNEL
        self._relisten: asyncio.Task[None] | None = None
        self._presence: Connection | None = None
        self._represent: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self._min,
                max_size=self._max,
                command_timeout=30,
                reset=_keep_session,
            )
            async with self._pool.acquire() as db:
                self._channel = f"{EVENTS_CHANNEL}_{await db.fetchval('SELECT current_schema()')}"
        except _ERRORS as exc:
            raise StoreError(f"PostgreSQL unreachable: {exc}") from exc

    async def close(self) -> None:
        self._closing = True
        for task in (self._relisten, self._represent):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._listen is not None:
            await self._listen.close()
            self._listen = None
        if self._presence is not None:
            await self._presence.close()
            self._presence = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # -- instances ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def arrival(self) -> AsyncIterator[bool]:
        if not self.serving:
            yield False
            return
        self._presence = await _connect(self.url)
        try:
            alone = bool(await self._presence.fetchval(_ALONE))
        except _ERRORS as exc:
            raise _store_error(exc) from exc
        yield alone
        await _be_present(self._presence, arrived=alone)
        self._presence.add_termination_listener(self._presence_lost)

    def _presence_lost(self, lost: object) -> None:
        # The lock went with the connection: without it this instance would look gone to
        # one starting, which would then hold back this one's retries.
        if self._dropped(lost):
            self._presence = None
            self._represent = asyncio.get_running_loop().create_task(
                self._again(
                    lambda: self._presence is not None,
                    self._be_present_again,
                    "presence",
                    "present to the other instances again",
                )
            )

    async def _be_present_again(self) -> None:
        presence = await _connect(self.url)
        try:
            await _be_present(presence, arrived=False)
        except BaseException:
            presence.terminate()
            raise
        presence.add_termination_listener(self._presence_lost)
        self._presence = presence

    def _dropped(self, lost: object) -> bool:
        """Whether a connection of its own that `lost` was must be made again (not while
        closing); its socket is released either way."""
        if isinstance(lost, asyncpg.Connection):
            lost.terminate()
        return not self._closing

    async def _again(
        self, made: Callable[[], bool], make: Callable[[], Awaitable[None]], what: str, back: str
    ) -> None:
        """`make` a connection of its own again until it is `made`, waiting longer after
        each failure (a restart, a failover)."""
        delay = 0.5
        while not self._closing and not made():
            try:
                await make()
                log.info(back)
            except StoreError as exc:
                log.warning("%s: %s; retrying in %.0f s", what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    # -- sessions -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, atomic: bool = True, durable: bool = True
    ) -> AsyncIterator[PostgresSession]:
        # Every commit waits for the disk here (synchronous_commit): `durable` is SQLite's.
        async with self._connection() as db:
            if not atomic:
                yield PostgresSession(db)
                return
            try:
                async with db.transaction():
                    yield PostgresSession(db)
            except _ERRORS as exc:
                raise _store_error(exc) from exc

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[PostgresSession]:
        async with self._connection() as db:
            yield PostgresSession(db)

    async def append(self, writes: Writes) -> None:
        async with self.transaction(atomic=sum(1 for _, rows in writes if rows) > 1) as session:
            for query, rows in writes:
                if rows:
                    await session.bulk(query, rows)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Pooled]:
        if self._pool is None:
            raise StoreError("the store is not open")
        try:
            db = await self._pool.acquire()
        except _ERRORS as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc
        try:
            yield db
        finally:
            await self._pool.release(db)

    async def check(self) -> None:
        """Nothing to check beyond what a statement finds."""

    async def erase(self) -> None:
        """Deleted rows are reclaimed by autovacuum (keep it on), not readable through SQL."""

    # -- desk events ----------------------------------------------------------------------

    async def notify(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        if not events:
            return
        payloads = [json.dumps({"name": name, "data": data}) for name, data in events]
        async with self.reading() as session:
            await session.run(
                "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", self._channel, payloads
            )

    async def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)
        if self._listen is None:
            await self._connect_listener()

    async def _connect_listener(self) -> None:
        try:
            self._listen = await asyncpg.connect(self.url)
            await self._listen.add_listener(self._channel, self._relay)
        except _ERRORS as exc:
            raise StoreError(f"PostgreSQL unreachable: {exc}") from exc
        self._listen.add_termination_listener(self._listener_lost)

    def _relay(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        event = json.loads(str(payload))
        for each in self._listeners:
            each(event["name"], event["data"])

    def _listener_lost(self, lost: object) -> None:
        # The database restarted or the connection dropped: listen again, or the desks
        # connected here would stop hearing about other instances.
        if self._dropped(lost):
            self._listen = None
            self._relisten = asyncio.get_running_loop().create_task(
                self._again(
                    lambda: self._listen is not None,
                    self._connect_listener,
                    "desk events",
                    "listening for desk events again",
                )
            )


class PostgresSession:
    """`Session` on one pooled connection."""

    def __init__(self, db: Pooled) -> None:
        self._db = db

    async def execute(self, query: Query, *args: Any) -> int:
        return _changed(await self.run(query.statements[0], *args))

    async def fetch(self, query: Query, *args: Any) -> Sequence[Row]:
        try:
            return await self._db.fetch(query.statements[0], *args)
        except _ERRORS as exc:
            raise _store_error(exc) from exc

    async def fetchrow(self, query: Query, *args: Any) -> Row | None:
        try:
            row: Row | None = await self._db.fetchrow(query.statements[0], *args)
        except _ERRORS as exc:
            raise _store_error(exc) from exc
        return row

    async def fetchval(self, query: Query, *args: Any) -> Any:
        try:
            return await self._db.fetchval(query.statements[0], *args)
        except _ERRORS as exc:
            raise _store_error(exc) from exc

    async def bulk(self, query: Query, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        # The statement takes each column as an array (unnest): one round trip.
        columns = [list(column) for column in zip(*rows, strict=True)]
        return _changed(await self.run(query.statements[0], *columns))

    async def script(self, text: str) -> None:
        await self.run(text)  # without parameters: several statements may go at once

    async def run(self, statement: str, *args: Any) -> str:
        try:
            return await self._db.execute(statement, *args)
        except _ERRORS as exc:
            raise _store_error(exc) from exc


async def _connect(url: str) -> Connection:
    """A connection of its own, outside the pool."""
    try:
        return await asyncpg.connect(url)
    except _ERRORS as exc:
        raise StoreError(f"PostgreSQL unreachable: {exc}") from exc


async def _be_present(db: Connection, *, arrived: bool) -> None:
    """Take this instance's share of the presence lock (once another's arrival is over);
    `arrived`: let go of the whole lock, which `arrival` took."""
    try:
        await db.execute(_PRESENT)
        if arrived:
            await db.execute(_ARRIVED)
    except _ERRORS as exc:
        raise _store_error(exc) from exc


def _changed(status: str) -> int:
    """The number of rows a command's status ("UPDATE 3", "INSERT 0 1") says it changed."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _store_error(exc: BaseException) -> StoreError:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Duplicate(f"PostgreSQL: {exc}")
    return StoreError(f"PostgreSQL: {exc}")


async def _keep_session(conn: Connection) -> None:
    """What the pool runs on a connection given back, instead of asyncpg's default reset
    (`pg_advisory_unlock_all()`, `CLOSE ALL`, `UNLISTEN *`, `RESET ALL`: a round trip and
    four statements, several times per customer message). The store leaves no session
    state to undo: its advisory lock is the transaction's, it opens no cursor outside a
    transaction, listens on a connection of its own and changes no setting. asyncpg still
    rolls back a transaction left open before calling this."""
