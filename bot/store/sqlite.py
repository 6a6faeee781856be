"""The SQLite connector: one file in WAL mode, three connections of one process.

Acknowledged webhooks are appended by a thread of their own, in group commits: the event
loop goes on parsing the next webhooks while the disk syncs. Every other statement (the
workers' short transactions, the desk's reads) runs on the event loop itself: a thread
would have to win the GIL back from the busy loop for each statement, which made a
conversation's turn wait tens of milliseconds under load. Those statements are short and
indexed; writers take turns in the order they ask, and the loop waits for another process
(a command run beside `serve`) asynchronously, never in SQLite's sleeping busy handler.

Durability, `sync`:
- "thread" (the default): the loop's connection commits with synchronous = NORMAL (the
  commit is in the write-ahead log, in the system's cache) and the transaction then waits
  for an fdatasync of the log made in a thread, one for the commits that come together.
  The log is one file written in order: once synced after a commit, that commit and every
  one before it survive a power cut, as with FULL, without the loop waiting for the disk.
- "full": SQLite's own synchronous = FULL on every connection; the loop waits for the disk
  at each commit. Plain and slower; for disks or file systems one would rather not reason
  about.

A third connection, in its own thread, copies the log back into the database now and then
(a checkpoint stalls for milliseconds). One process only: a lock file makes a second
`serve` on the same database stop with a clear error, and so leases left by an earlier
process can be released at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from bot.store.batch import GroupCommit
from bot.store.connector import Listener, Writes
from bot.store.queries import Dialect, Query
from bot.store.records import Duplicate, Row, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")
Sync = Literal["thread", "full"]
CHECKPOINT_EVERY = 128  # commits between two copies of the write-ahead log


class SQLiteConnector:
    """`Connector` on one SQLite file; see the module docstring."""

    dialect: Dialect = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        exclusive: bool = True,
        sync: Sync = "thread",
    ) -> None:
        self.path = Path(path)
        self.exclusive = exclusive
        self._busy_timeout = busy_timeout
        self._sync = sync
        self._writer: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None  # the webhook writer's, in its thread
        self._loop_db: sqlite3.Connection | None = None  # everything else, on the loop
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpoint_db: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._commits = 0
        self._syncer: ThreadPoolExecutor | None = None
        self._log_fd: int | None = None
        self._log_syncs: GroupCommit[None, None] = GroupCommit(self._sync_log)
        # The turn to write, taken by the webhook writer's group commits and by the loop's
        # transactions in the order they ask (asyncio's lock is first come, first served):
        # neither can starve the other, and they never meet in SQLite's busy handler.
        self._turn = asyncio.Lock()
        self._lock: int | None = None
        self._inode: int | None = None  # of the file opened
        self._listeners: list[Listener] = []

    # -- life cycle ---------------------------------------------------------------------

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.exclusive:
                self._take_lock()
        except OSError as exc:
            raise StoreError(f"SQLite: cannot use {self.path}: {exc.strerror or exc}") from None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-sync")
        try:
            self._db = await self._in_writer(lambda: self._connection(self._busy_timeout))
            # No busy timeout: the loop must not sleep in SQLite; `_begin` waits instead.
            self._loop_db = self._connection(0.0)
            if self._sync == "thread":  # `transaction` has the log synced in a thread
                self._loop_db.execute("PRAGMA synchronous = NORMAL")
            self._inode = os.stat(self.path).st_ino
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self._log_syncs.drain()
        if self._syncer is not None:
            self._syncer.shutdown(wait=True)
            self._syncer = None
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        if self._checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._checkpointer, self._close_checkpoint_db
            )
            self._checkpointer.shutdown(wait=True)
            self._checkpointer = None
        if self._loop_db is not None:
            self._loop_db.close()
            self._loop_db = None
        if self._writer is not None:
            if self._db is not None:
                await self._in_writer(self._db.close)
                self._db = None
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    @contextlib.asynccontextmanager
    async def arrival(self) -> AsyncIterator[bool]:
        # The file's lock, taken at `open`, keeps every other `serve` out.
        yield self.exclusive

    def _take_lock(self) -> None:
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                f"{self.path} is in use by another bot process; SQLite serves one process "
                "(use PostgreSQL for several instances)"
            ) from None
        self._lock = fd

    def _connection(self, busy_timeout: float) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            db.row_factory = sqlite3.Row
            db.create_function("utc_day", 1, utc_day, deterministic=True)
            db.execute("PRAGMA journal_mode = WAL")
            # FULL: an acknowledged webhook survives a power cut, not only a crash, and so
            # does every state change after it (a reply recorded as sent is never sent
            # again); in "thread" mode the loop's connection gets the same from its synced
            # log.
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            # Commits never copy the log back themselves: `_checkpoint_soon` has it done.
            db.execute("PRAGMA wal_autocheckpoint = 0")
            # What is deleted is overwritten, not left readable in free pages.
            db.execute("PRAGMA secure_delete = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite: cannot open {self.path}: {exc}") from None
        return db

    # -- sessions -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, atomic: bool = True, durable: bool = True
    ) -> AsyncIterator[SQLiteSession]:
        # Every write is a transaction here (`atomic` is PostgreSQL's saving).
        db = self._loop()
        async with self._turn:
            await self._begin(db)
            try:
                yield SQLiteSession(db)
                _guarded(db.execute, "COMMIT")
            finally:
                if db.in_transaction:  # an exception, or a failed COMMIT
                    db.execute("ROLLBACK")
        if durable and self._sync == "thread":
            await self._log_syncs.submit(None)
        self._checkpoint_soon()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[SQLiteSession]:
        yield SQLiteSession(self._loop())

    async def append(self, writes: Writes) -> None:
        """One group commit of webhooks, written on the writer thread."""

        def run() -> None:
            db = self._db
            if db is None:
                raise StoreError("the store is not open")
            db.execute("BEGIN IMMEDIATE")
            try:
                for query, rows in writes:
                    if rows:
                        db.executemany(query.statements[0], rows)
                db.execute("COMMIT")
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")

        async with self._turn:
            await self._in_writer(run)
        self._checkpoint_soon()

    def _loop(self) -> sqlite3.Connection:
        if self._loop_db is None:
            raise StoreError("the store is not open")
        return self._loop_db

    async def _begin(self, db: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, waiting without blocking the loop while another process (a
        command line run beside `serve`) writes, for at most BOT_DB_BUSY_TIMEOUT."""
        delay, deadline = 0.001, time.monotonic() + self._busy_timeout
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise StoreError(f"SQLite: {exc}") from exc
            if time.monotonic() > deadline:
                raise StoreError("SQLite: the database stayed locked (BOT_DB_BUSY_TIMEOUT)")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def _in_writer(self, fn: Callable[[], T]) -> T:
        if self._writer is None:
            raise StoreError("the store is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._writer, fn)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite: {exc}") from exc

    # -- durability -------------------------------------------------------------------

    async def _sync_log(self, waiting: Sequence[None]) -> list[None]:
        """One fdatasync of the write-ahead log for every commit made before it began."""
        if self._syncer is None:
            raise StoreError("the store is not open")
        try:
            await asyncio.get_running_loop().run_in_executor(self._syncer, self._fsync_log)
        except OSError as exc:
            raise StoreError(f"SQLite: syncing the log failed: {exc}") from exc
        return [None] * len(waiting)

    def _fsync_log(self) -> None:
        path = f"{self.path}-wal"
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            return  # no log: everything was copied into the database, and synced there
        if self._log_fd is None or os.fstat(self._log_fd).st_ino != current:
            if self._log_fd is not None:
                os.close(self._log_fd)
            self._log_fd = None
            self._log_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        os.fdatasync(self._log_fd)

    def _checkpoint_soon(self) -> None:
        """After every CHECKPOINT_EVERY commits, copy the log back into the database, in
        the checkpoint thread: writers and readers go on meanwhile (PASSIVE)."""
        self._commits += 1
        if self._checkpointer is None or self._commits % CHECKPOINT_EVERY:
            return
        if self._checkpoint is None or self._checkpoint.done():
            loop = asyncio.get_running_loop()
            self._checkpoint = loop.run_in_executor(self._checkpointer, self._copy_log)

    def _copy_log(self) -> None:
        try:
            if self._checkpoint_db is None:
                self._checkpoint_db = self._connection(self._busy_timeout)
            self._checkpoint_db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except (sqlite3.Error, StoreError) as exc:  # the next one catches up; nothing lost
            log.warning("SQLite checkpoint skipped: %s", exc)

    def _close_checkpoint_db(self) -> None:
        if self._checkpoint_db is not None:
            self._checkpoint_db.close()
            self._checkpoint_db = None

    async def check(self) -> None:
        try:
            current = os.stat(self.path).st_ino
        except OSError:
            current = None
        if current is None or current != self._inode:
            raise StoreError(f"SQLite: {self.path} was replaced or deleted under this process")

    async def erase(self) -> None:
        """Copy the log into the database (where secure_delete overwrote the rows) and empty
        it, so the deleted rows' old pages leave the log file too."""
        if self._checkpointer is None:
            raise StoreError("the store is not open")
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)

        def truncate() -> None:
            if self._checkpoint_db is None:
                self._checkpoint_db = self._connection(self._busy_timeout)
            busy, _, _ = self._checkpoint_db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.warning("SQLite: the log could not be emptied after a deletion (busy)")

        await asyncio.get_running_loop().run_in_executor(self._checkpointer, truncate)

    # -- desk events ----------------------------------------------------------------------

    async def notify(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        # One process: the listeners are all here.
        for name, data in events:
            for listener in self._listeners:
                listener(name, data)

    async def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)


class SQLiteSession:
    """`Session` on the event loop's connection: each call runs at once, without waiting."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def execute(self, query: Query, *args: Any) -> int:
        return int(self._run(query, args).rowcount)

    async def fetch(self, query: Query, *args: Any) -> Sequence[Row]:
        rows: list[Row] = self._run(query, args).fetchall()
        return rows

    async def fetchrow(self, query: Query, *args: Any) -> Row | None:
        row: Row | None = self._run(query, args).fetchone()
        return row

    async def fetchval(self, query: Query, *args: Any) -> Any:
        row = self._run(query, args).fetchone()
        return None if row is None else row[0]

    async def bulk(self, query: Query, rows: Sequence[Sequence[Any]]) -> int:
        before = self._db.total_changes
        if rows:
            _guarded(self._db.executemany, query.statements[0], rows)
        return self._db.total_changes - before

    async def script(self, text: str) -> None:
        for statement in _statements(text):
            _guarded(self._db.execute, statement)

    def _run(self, query: Query, args: tuple[Any, ...]) -> sqlite3.Cursor:
        values = [json.dumps(a) if isinstance(a, list | tuple) else a for a in args]
        cursor: sqlite3.Cursor | None = None
        for statement, arity in zip(query.statements, query.arity, strict=True):
            cursor = _guarded(self._db.execute, statement, values[:arity])
        assert cursor is not None
        return cursor


def _guarded(call: Callable[..., T], *args: Any) -> T:
    """A call into sqlite3, its errors as the store's."""
    try:
        return call(*args)
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" in str(exc):
            raise Duplicate(f"SQLite: {exc}") from exc
        raise StoreError(f"SQLite: {exc}") from exc
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite: {exc}") from exc


def _statements(script: str) -> list[str]:
    """A migration's statements (no ";" nor "--" inside our migrations' strings); a
    trigger's body, whose statements end with ";" too, stays whole."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip().removesuffix(";"))
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending.strip().removesuffix(";"))
    return statements


def utc_day(seconds: float | None) -> str | None:
    """The UTC day of a timestamp ('2026-12-06'): SQL's utc_day(), as on PostgreSQL."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))
