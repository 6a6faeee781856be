"""The SQLite store: one file in WAL mode, three connections of one process.

Acknowledged webhooks are appended to an index-free log by a thread of their own, in group
commits: the event loop goes on parsing the next webhooks while the disk syncs. Every
other statement (the workers' short transactions, the desk's reads, purges by chunks) runs
on the event loop itself: a thread would have to win the GIL back from the busy loop for
each statement, which made a conversation's turn wait tens of milliseconds under load.
Those statements are short and indexed; writers take turns in the order they ask, and the
loop waits for another process asynchronously, never in SQLite's sleeping busy handler.
The third connection, in its own thread, copies the write-ahead log back into the
database now and then (a checkpoint stalls for milliseconds). The one-process rule is enforced
with a lock file: a second `serve` on the same database stops with a clear error. That is
also why leases left by a previous process are released at start: nobody else can hold
them. Work is claimed with a compare-and-set `UPDATE … RETURNING`.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from adapters.base import Outgoing
from bot.models import Channel, IncomingMessage, Reply
from bot.store import (
    BACKLOG_COUNTS,
    NATIVE_AGENTS,
    Agent,
    ClaimedEvent,
    Conflict,
    Conversation,
    Counts,
    Deletion,
    Delivery,
    EscalationView,
    Finished,
    NotFound,
    OutboxRow,
    StoreError,
    TranscriptEntry,
    TurnRecord,
)
from bot.store.batch import DeliveredRow, GroupCommit, GroupWrites, InboxWrite

log = logging.getLogger(__name__)

T = TypeVar("T")

# -- queries ------------------------------------------------------------------------------

ADD_ARRIVAL = """
INSERT INTO arrivals (channel, platform_id, customer_id, kind, message, received_at)
VALUES (?, ?, ?, ?, ?, ?)
"""

LAST_TO_MOVE = "SELECT MAX(id) FROM (SELECT id FROM arrivals ORDER BY id LIMIT ?)"
MOVE_ARRIVALS = """
INSERT INTO inbox (channel, platform_id, customer_id, kind, message, received_at)
SELECT channel, platform_id, customer_id, kind, message, received_at
FROM arrivals WHERE id <= ? ORDER BY id
ON CONFLICT (channel, platform_id) DO NOTHING
"""
DROP_MOVED = "DELETE FROM arrivals WHERE id <= ?"

SAVE_CURSOR = """
INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
"""

CLAIM_EVENTS = """
WITH heads AS (
    SELECT MIN(id) AS id FROM inbox WHERE status = 'pending' GROUP BY channel, customer_id
)
UPDATE inbox SET lease_owner = :owner, lease_until = :until, attempts = attempts + 1
WHERE id IN (
    SELECT inbox.id FROM heads JOIN inbox USING (id)
    WHERE inbox.lease_until IS NULL OR inbox.lease_until < :now
    ORDER BY inbox.id LIMIT :limit
)
RETURNING id, channel, customer_id, kind, message, attempts
"""

UPSERT_CONVERSATION = """
INSERT INTO conversations (channel, customer_id, customer_name, created_at, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (channel, customer_id) DO UPDATE
    SET customer_name = COALESCE(excluded.customer_name, customer_name)
RETURNING id, channel, customer_id, customer_name, state, last_customer_ms, version
"""

FINISH_EVENT = """
UPDATE inbox SET status = 'done', done_at = ?, lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ? AND status = 'pending'
"""

SAVE_STATE = """
UPDATE conversations
SET state = ?, updated_at = ?, last_customer_ms = COALESCE(?, last_customer_ms),
    version = version + 1
WHERE id = ?
"""

SAVE_TURN_STATE = SAVE_STATE.strip() + " AND version = ?"

REOPEN_EVENT = """
UPDATE inbox SET status = 'pending', done_at = NULL, lease_owner = NULL, lease_until = NULL
WHERE id = ?
"""

ADD_MESSAGE = """
INSERT INTO messages (conversation_id, direction, author, agent, text, payload, attachments,
                      platform_id, intent, score, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

ADD_DELIVERY = """
INSERT INTO outbox (conversation_id, message_id, author, reply, first_of_turn,
                    next_attempt_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""

# A turn's first reply, leased as the turn is committed when nothing of its conversation
# waits before it (what CLAIM_DELIVERIES would take next).
LEASE_FIRST_REPLY = """
UPDATE outbox SET status = 'sending', lease_owner = ?, lease_until = ?, attempts = attempts + 1
WHERE id = ? AND id = (
    SELECT MIN(id) FROM outbox WHERE conversation_id = ? AND status IN ('pending', 'sending')
)
"""

DROP_BOT_REPLIES = """
UPDATE outbox SET status = 'dropped', error = 'a person took over', lease_owner = NULL
WHERE conversation_id = ? AND author = 'bot' AND status IN ('pending', 'sending')
"""

ACTIVE_ESCALATION = """
SELECT id, status, agent FROM escalations
WHERE conversation_id = ? AND status IN ('open', 'claimed')
"""

OPEN_ESCALATION = """
INSERT INTO escalations (conversation_id, status, reason, intent, score, agent, created_at,
                         claimed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""

CLAIM_ESCALATION = """
UPDATE escalations SET status = 'claimed', agent = ?, claimed_at = ?
WHERE id = ? AND status = 'open'
"""

RELEASE_EVENT = """
UPDATE inbox SET lease_owner = NULL, lease_until = NULL, error = ?,
                 status = CASE WHEN ? THEN 'failed' ELSE status END
WHERE id = ? AND lease_owner = ?
"""

CLAIM_DELIVERIES = """
WITH heads AS (
    SELECT MIN(id) AS id FROM outbox WHERE status IN ('pending', 'sending')
    GROUP BY conversation_id
)
UPDATE outbox SET status = 'sending', lease_owner = :owner, lease_until = :until,
                  attempts = attempts + 1
WHERE id IN (
    SELECT outbox.id FROM heads JOIN outbox USING (id)
    WHERE (outbox.status = 'pending' AND outbox.next_attempt_at <= :now)
       OR (outbox.status = 'sending' AND outbox.lease_until < :now)
    ORDER BY outbox.next_attempt_at, outbox.id LIMIT :limit
)
RETURNING id, conversation_id, author, reply, first_of_turn, attempts, created_at
"""

# After a reply is recorded sent: its conversation's next open reply (the new head of its
# queue), leased when it is due (what CLAIM_DELIVERIES would take next).
LEASE_NEXT_REPLY = """
UPDATE outbox SET status = 'sending', lease_owner = :owner, lease_until = :until,
                  attempts = attempts + 1
WHERE id = (
    SELECT MIN(id) FROM outbox
    WHERE conversation_id = (SELECT conversation_id FROM outbox WHERE id = :sent)
      AND status IN ('pending', 'sending')
) AND status = 'pending' AND next_attempt_at <= :now
RETURNING id, conversation_id, author, reply, first_of_turn, attempts, created_at
"""

RECIPIENTS = """
SELECT id, channel, customer_id, last_customer_ms FROM conversations WHERE id IN ({marks})
"""

CHECKPOINT_EVERY = 128  # commits between two copies of the write-ahead log

STILL_OURS = "SELECT 1 FROM outbox WHERE id = ? AND lease_owner = ? AND status = 'sending'"

DELIVERED = """
UPDATE outbox SET status = 'sent', sent_at = ?, platform_message_id = ?, error = NULL,
                  lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ?
"""

RETRY_LATER = """
UPDATE outbox SET status = 'pending', next_attempt_at = ?, error = ?,
                  lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ? AND status = 'sending'
"""

UNDELIVERABLE = """
UPDATE outbox SET status = 'failed', error = ?, lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ?
"""

CONVERSATION = """
SELECT id, channel, customer_id, customer_name, state, last_customer_ms, version
FROM conversations WHERE channel = ? AND customer_id = ?
"""

TRANSCRIPT = """
SELECT m.id, m.direction, m.author, m.agent, m.text, m.payload, m.attachments, m.intent,
       m.score, m.created_at, o.status, o.error
FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
WHERE m.conversation_id = ? ORDER BY m.id
"""


OUTBOX = """
SELECT id, conversation_id, author, reply, status, attempts, error, platform_message_id
FROM outbox WHERE conversation_id = ? ORDER BY id
"""

# Events acknowledged but not yet moved into the inbox are pending too.
COUNTS = BACKLOG_COUNTS + "UNION ALL\nSELECT 'inbox:pending', COUNT(*) FROM arrivals\n"

FORGET_EVENTS = "DELETE FROM inbox WHERE channel = ? AND customer_id = ?"
FORGET_ARRIVALS = "DELETE FROM arrivals WHERE channel = ? AND customer_id = ?"
FORGET_CONVERSATION = "DELETE FROM conversations WHERE channel = ? AND customer_id = ?"
RECORD_DELETION = """
INSERT INTO deletions (code, channel, conversations, requested_at) VALUES (?, ?, ?, ?)
"""
DELETION = "SELECT code, channel, conversations, requested_at FROM deletions WHERE code = ?"
# Purges go by chunks, each its own short transaction: they run on the event loop.
PURGE_CHUNK = 500
PURGE_CONVERSATIONS = """
DELETE FROM conversations WHERE id IN (
    SELECT id FROM conversations c
    WHERE c.updated_at < ?
      AND NOT EXISTS (SELECT 1 FROM escalations e
                      WHERE e.conversation_id = c.id AND e.status IN ('open', 'claimed'))
      AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.status = 'pending'
                      AND i.channel = c.channel AND i.customer_id = c.customer_id)
    LIMIT ?
)
"""
PURGE_EVENTS = """
DELETE FROM inbox WHERE id IN (
    SELECT id FROM inbox WHERE status <> 'pending' AND done_at < ? LIMIT ?
)
"""

ESCALATION_VIEW = """
SELECT e.id, e.status, e.reason, e.intent, e.score, e.agent, e.created_at, e.claimed_at,
       e.resolved_at, c.id, c.channel, c.customer_id, c.customer_name, c.state, c.last_customer_ms,
       c.version
FROM escalations e JOIN conversations c ON c.id = e.conversation_id
"""

TAKE_ESCALATION = """
UPDATE escalations SET status = 'claimed', agent = :agent,
       claimed_at = CASE WHEN agent = :agent THEN claimed_at ELSE :now END
WHERE id = :id AND (status = 'open'
       OR (status = 'claimed' AND (agent = :agent OR agent IN ({native}))))
"""

RESOLVE_ESCALATION = """
UPDATE escalations SET status = 'resolved', resolved_at = :now, agent = COALESCE(agent, :agent)
WHERE id = :id AND (status = 'open'
       OR (status = 'claimed' AND (agent = :agent OR agent IN ({native}))))
"""

# Only this process can hold leases (the lock file sees to it): release the last one's.
# A reply that was being sent when the process died may have reached the platform: it is
# retried only after a wait, time for the platform's echo to confirm it (and cancel the
# retry) if it did.
RELEASE_STALE_LEASES = (
    "UPDATE inbox SET lease_owner = NULL, lease_until = NULL WHERE status = 'pending'",
    "UPDATE outbox SET status = 'pending', lease_owner = NULL, lease_until = NULL, "
    "next_attempt_at = :retry_at, error = 'unconfirmed when the last process stopped' "
    "WHERE status = 'sending'",
)

CONFIRM_DELIVERY = """
UPDATE outbox SET status = 'sent', platform_message_id = ?, sent_at = COALESCE(sent_at, ?),
                  error = NULL, lease_owner = NULL, lease_until = NULL
WHERE id = ? AND status IN ('pending', 'sending', 'failed')
"""


class SQLiteStore(GroupWrites):
    """`Store` on one SQLite file (see the module docstring for the one-process rule)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        exclusive: bool = True,
        unconfirmed_wait: float = 10.0,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self._unconfirmed_wait = unconfirmed_wait
        self._exclusive = exclusive
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None  # the inbox writer's, in its thread
        self._loop_db: sqlite3.Connection | None = None  # everything else, on the loop
        # Copying the write-ahead log back into the database stalls for tens of
        # milliseconds (and an fsync): a third connection does it in a thread of its own.
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpoint_db: sqlite3.Connection | None = None
        # The loop's commits reach the disk through this thread (see `_call`), together
        # when they come together.
        self._syncer: ThreadPoolExecutor | None = None
        self._log_fd: int | None = None
        self._log_syncs: GroupCommit[None, None] = GroupCommit(self._sync_log)
        # The turn to write, taken by the inbox writer's group commits and by the loop's
        # transactions in the order they ask (asyncio's lock is first come, first served):
        # neither can starve the other, and they never meet in SQLite's busy handler.
        self._turn = asyncio.Lock()
        self._lock: int | None = None
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    # -- life cycle -------------------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._exclusive:
            self._take_lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-sync")
        try:
            await self._run(self._connect)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self._drain_writes()
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
        if self._executor is not None:
            if self._db is not None:
                await self._run(self._db.close)
                self._db = None
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

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

    def _connect(self) -> None:
        db = self._connection(self._busy_timeout)
        self._db = db
        self._migrate(db)
        if self._exclusive:
            with self._transaction(db):
                for statement in RELEASE_STALE_LEASES:
                    db.execute(statement, {"retry_at": time.time() + self._unconfirmed_wait})
        # No busy timeout: the loop must not sleep in SQLite; `_begin` waits instead. Nor
        # does it wait for the disk: `_call` has the log synced in a thread.
        self._loop_db = self._connection(0.0)
        self._loop_db.execute("PRAGMA synchronous = NORMAL")

    def _connection(self, busy_timeout: float) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode = WAL")
        # FULL: an acknowledged webhook survives a power cut, not only a crash, and so
        # does every state change after it (a reply recorded as sent is never sent again);
        # the loop's connection gets the same from `_call`, its sync made in a thread.
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        # Commits never copy the log back themselves: `_checkpoint_soon` has it done aside.
        db.execute("PRAGMA wal_autocheckpoint = 0")
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        with self._transaction(db):
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
            folder = resources.files("bot.store.migrations.sqlite")
            for item in sorted(folder.iterdir(), key=lambda f: f.name):
                if not item.name.endswith(".sql"):
                    continue
                version = int(item.name.split("_", 1)[0])
                if version in done:
                    continue
                for statement in _statements(item.read_text("utf-8")):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (version, item.name, time.time()),
                )

    async def schema_version(self) -> int:
        def run(db: sqlite3.Connection) -> int:
            return int(db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])

        return await self._call(run)

    async def ping(self) -> None:
        await self._call(lambda db: db.execute("SELECT 1").fetchone())

    async def notify(self, name: str, data: dict[str, Any]) -> None:
        # One process: the listeners are all here.
        for listener in self._listeners:
            listener(name, data)

    async def listen(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    async def announce(self, changes: Sequence[tuple[int, str]]) -> None:
        for conversation_id, name in changes:
            view = await self.active_escalation(conversation_id)
            if view is not None:
                data = {"escalation_id": view.id, "status": view.status, "agent": view.agent}
                await self.notify(name, data)

    # -- plumbing -----------------------------------------------------------------------

    class _Tx:
        """Commit on success, roll back otherwise (a failed COMMIT too, so that the
        connection is never left inside a transaction)."""

        def __init__(self, db: sqlite3.Connection, begin: bool) -> None:
            self.db = db
            self.begin = begin

        def __enter__(self) -> sqlite3.Connection:
            if self.begin:
                self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind: object, exc: object, tb: object) -> None:
            try:
                if kind is None:
                    self.db.execute("COMMIT")
            finally:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")

    def _transaction(self, db: sqlite3.Connection, begin: bool = True) -> SQLiteStore._Tx:
        return SQLiteStore._Tx(db, begin)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise StoreError("the store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite: {exc}") from exc

    async def _call(
        self, fn: Callable[[sqlite3.Connection], T], write: bool = False, sync: bool = True
    ) -> T:
        """Run `fn` on the event loop's connection, in a write transaction if `write`.

        The loop's connection commits without waiting for the disk (synchronous = NORMAL:
        the commit is in the write-ahead log, in the system's cache); `_call` then waits
        for the log to reach the disk in a thread of its own, so that a slow disk never
        stops the loop. The log is one file written in order: once synced after this
        commit, this commit and every one before it survive a power cut.

        `sync=False`: the commit does not wait for the disk. Only for a transaction whose
        loss in a power cut changes nothing (the next synced commit carries it to disk, and
        SQLite keeps it atomic either way).
        """
        db = self._loop_db
        if db is None:
            raise StoreError("the store is not open")
        try:
            if not write:
                return fn(db)
            async with self._turn:
                await self._begin(db)
                with self._transaction(db, begin=False):
                    result = fn(db)
            if sync:
                await self._log_syncs.submit(None)
            self._checkpoint_soon()
            return result
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"SQLite: {exc}") from exc

    async def _sync_log(self, waiting: Sequence[None]) -> list[None]:
        """One fdatasync of the write-ahead log for every commit made before it began."""
        if self._syncer is None:
            raise StoreError("the store is not open")
        await asyncio.get_running_loop().run_in_executor(self._syncer, self._fsync_log)
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
        except sqlite3.Error as exc:  # the next one catches up; nothing is lost
            log.warning("SQLite checkpoint skipped: %s", exc)

    def _close_checkpoint_db(self) -> None:
        if self._checkpoint_db is not None:
            self._checkpoint_db.close()
            self._checkpoint_db = None

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
                    raise
            if time.monotonic() > deadline:
                raise StoreError("SQLite: the database stayed locked (BOT_DB_BUSY_TIMEOUT)")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    # -- inbox --------------------------------------------------------------------------

    async def _write_inbox(self, batch: Sequence[InboxWrite]) -> list[None]:
        """One group commit of webhooks, appended to `arrivals` on the writer thread."""

        def run() -> None:
            db = self._db
            if db is None:
                raise StoreError("the store is not open")
            with self._transaction(db):
                db.executemany(ADD_ARRIVAL, [row for rows, _, _ in batch for row in rows])
                for _, cursor, now in batch:
                    if cursor is not None:
                        db.execute(SAVE_CURSOR, (*cursor, now))

        async with self._turn:
            await self._run(run)
        self._checkpoint_soon()
        return [None] * len(batch)

    async def cursor(self, name: str) -> str | None:
        def run(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
            return None if row is None else str(row[0])

        return await self._call(run)

    async def claim_events(self, owner: str, limit: int, lease: float) -> list[ClaimedEvent]:
        def run(db: sqlite3.Connection) -> list[ClaimedEvent]:
            now = time.time()
            _move_arrivals(db, 2 * limit)
            rows = db.execute(
                CLAIM_EVENTS, {"owner": owner, "until": now + lease, "now": now, "limit": limit}
            ).fetchall()
            claimed = []
            for event_id, channel, customer_id, kind, body, attempts in sorted(rows):
                message = IncomingMessage.model_validate_json(body)
                conversation = Conversation.from_row(
                    db.execute(
                        UPSERT_CONVERSATION,
                        (channel, customer_id, message.sender_name, now, now),
                    ).fetchone()
                )
                claimed.append(ClaimedEvent(event_id, kind, message, conversation, attempts))
            return claimed

        # A claim only moves acknowledged events (already on disk in `arrivals`) and takes
        # leases, which every start releases: lost in a power cut, it is simply made again.
        return await self._call(run, write=True, sync=False)

    async def finish_turns(
        self, owner: str, turns: Sequence[TurnRecord], lease: float = 0.0
    ) -> Finished:
        def run(db: sqlite3.Connection) -> Finished:
            now = time.time()
            committed, deliveries = 0, []
            for turn in turns:
                if db.execute(FINISH_EVENT, (now, turn.event.id, owner)).rowcount != 1:
                    continue  # the lease was lost: whoever holds it now finishes the event
                queued = _record_turn(db, turn, now)
                if queued is None:
                    # The conversation changed meanwhile (an agent resolved it): this turn
                    # was computed from an old state, so the event is processed again.
                    db.execute(REOPEN_EVENT, (turn.event.id,))
                    continue
                committed += 1
                if lease and queued:
                    first = (owner, now + lease, queued[0], turn.event.conversation.id)
                    if db.execute(LEASE_FIRST_REPLY, first).rowcount == 1:
                        deliveries.append(turn.handed_over(queued[0], now))
            return Finished(committed, deliveries)

        return await self._call(run, write=True)

    async def fail_event(self, owner: str, event_id: int, error: str, give_up: bool) -> None:
        await self._call(
            lambda db: db.execute(RELEASE_EVENT, (error[:500], give_up, event_id, owner)),
            write=True,
        )

    # -- outbox -------------------------------------------------------------------------

    async def claim_deliveries(
        self, owner: str, limit: int, lease: float, now: float
    ) -> list[Delivery]:
        def run(db: sqlite3.Connection) -> list[Delivery]:
            rows = db.execute(
                CLAIM_DELIVERIES,
                {"owner": owner, "until": now + lease, "now": now, "limit": limit},
            ).fetchall()
            return _deliveries(db, sorted(rows))

        return await self._call(run, write=True)

    async def confirm_deliveries(self, receipts: Sequence[tuple[int, str]]) -> int:
        if not receipts:
            return 0
        now = time.time()
        rows = [(platform_id, now, delivery_id) for delivery_id, platform_id in receipts]

        def run(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(CONFIRM_DELIVERY, rows)
            return db.total_changes - before

        return await self._call(run, write=True)

    async def set_customer_name(self, conversation_id: int, name: str) -> None:
        await self._call(
            lambda db: db.execute(
                "UPDATE conversations SET customer_name = ? WHERE id = ?", (name, conversation_id)
            ),
            write=True,
        )

    async def still_ours(self, owner: str, delivery_id: int) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            return db.execute(STILL_OURS, (delivery_id, owner)).fetchone() is not None

        return await self._call(run)

    async def _write_delivered(self, rows: Sequence[DeliveredRow]) -> list[Delivery | None]:
        def run(db: sqlite3.Connection) -> list[Delivery | None]:
            following: list[Delivery | None] = []
            for sent_at, platform_id, delivery_id, owner, until in rows:
                recorded = db.execute(DELIVERED, (sent_at, platform_id, delivery_id, owner))
                if until is None or recorded.rowcount != 1:
                    following.append(None)
                    continue
                lease = {"owner": owner, "until": until, "sent": delivery_id, "now": sent_at}
                head = db.execute(LEASE_NEXT_REPLY, lease).fetchall()
                following.append(_deliveries(db, head)[0] if head else None)
            return following

        return await self._call(run, write=True)

    async def retry_later(self, owner: str, delivery_id: int, at: float, error: str) -> None:
        await self._call(
            lambda db: db.execute(RETRY_LATER, (at, error[:500], delivery_id, owner)), write=True
        )

    async def undeliverable(self, owner: str, delivery_id: int, error: str) -> None:
        await self._call(
            lambda db: db.execute(UNDELIVERABLE, (error[:500], delivery_id, owner)), write=True
        )

    # -- reading ------------------------------------------------------------------------

    async def conversation(self, channel: Channel, customer_id: str) -> Conversation | None:
        def run(db: sqlite3.Connection) -> Conversation | None:
            row = db.execute(CONVERSATION, (channel, customer_id)).fetchone()
            return None if row is None else Conversation.from_row(row)

        return await self._call(run)

    async def transcript(self, conversation_id: int) -> list[TranscriptEntry]:
        def run(db: sqlite3.Connection) -> list[TranscriptEntry]:
            return [TranscriptEntry(*row) for row in db.execute(TRANSCRIPT, (conversation_id,))]

        return await self._call(run)

    async def escalations(self, conversation_id: int) -> list[EscalationView]:
        def run(db: sqlite3.Connection) -> list[EscalationView]:
            rows = db.execute(
                ESCALATION_VIEW + " WHERE e.conversation_id = ? ORDER BY e.id", (conversation_id,)
            )
            return [EscalationView.from_row(row) for row in rows]

        return await self._call(run)

    async def outbox(self, conversation_id: int) -> list[OutboxRow]:
        def run(db: sqlite3.Connection) -> list[OutboxRow]:
            rows = db.execute(OUTBOX, (conversation_id,)).fetchall()
            return [
                OutboxRow(r[0], r[1], r[2], Reply.model_validate_json(r[3]), *r[4:]) for r in rows
            ]

        return await self._call(run)

    async def counts(self) -> Counts:
        def run(db: sqlite3.Connection) -> Counts:
            by_status: dict[str, int] = {}
            for key, n in db.execute(COUNTS):  # arrivals are pending events not yet moved
                if n:
                    by_status[key] = by_status.get(key, 0) + int(n)
            return Counts.from_statuses(by_status)

        return await self._call(run)


    # -- data protection ----------------------------------------------------------------

    async def forget(self, channel: Channel, customer_ids: Sequence[str], code: str) -> int:
        def run(db: sqlite3.Connection) -> int:
            deleted = 0
            for customer_id in dict.fromkeys(customer_ids):
                db.execute(FORGET_EVENTS, (channel, customer_id))
                db.execute(FORGET_ARRIVALS, (channel, customer_id))
                deleted += db.execute(FORGET_CONVERSATION, (channel, customer_id)).rowcount
            db.execute(RECORD_DELETION, (code, channel, deleted, time.time()))
            return deleted

        return await self._call(run, write=True)

    async def deletion(self, code: str) -> Deletion | None:
        def run(db: sqlite3.Connection) -> Deletion | None:
            row = db.execute(DELETION, (code,)).fetchone()
            return None if row is None else Deletion(*row)

        return await self._call(run)

    async def purge(self, before: float) -> tuple[int, int]:
        async def chunks(statement: str) -> int:
            deleted = 0
            while True:
                n = await self._call(
                    lambda db: int(db.execute(statement, (before, PURGE_CHUNK)).rowcount),
                    write=True,
                )
                deleted += n
                if n < PURGE_CHUNK:
                    return deleted
                await asyncio.sleep(0)  # webhooks and replies go on between two chunks

        return await chunks(PURGE_CONVERSATIONS), await chunks(PURGE_EVENTS)

    # -- agents and escalations -----------------------------------------------------------

    async def add_agent(self, name: str, token_hash: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            try:
                db.execute(
                    "INSERT INTO agents (name, token_hash, created_at) VALUES (?, ?, ?)",
                    (name, token_hash, time.time()),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"an agent named {name!r} already exists") from None

        await self._call(run, write=True)

    async def remove_agent(self, name: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            if db.execute("DELETE FROM agents WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no agent named {name!r}")

        await self._call(run, write=True)

    async def agents(self) -> list[Agent]:
        def run(db: sqlite3.Connection) -> list[Agent]:
            rows = db.execute("SELECT name, created_at FROM agents ORDER BY name")
            return [Agent(*row) for row in rows]

        return await self._call(run)

    async def agent_for(self, token_hash: str) -> str | None:
        def run(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT name FROM agents WHERE token_hash = ?", (token_hash,))
            found = row.fetchone()
            return None if found is None else str(found[0])

        return await self._call(run)

    async def list_escalations(self, status: str | None) -> list[EscalationView]:
        def run(db: sqlite3.Connection) -> list[EscalationView]:
            if status is None:
                rows = db.execute(ESCALATION_VIEW + " ORDER BY e.created_at, e.id")
            else:
                rows = db.execute(
                    ESCALATION_VIEW + " WHERE e.status = ? ORDER BY e.created_at, e.id", (status,)
                )
            return [EscalationView.from_row(row) for row in rows]

        return await self._call(run)

    async def active_escalation(self, conversation_id: int) -> EscalationView | None:
        def run(db: sqlite3.Connection) -> EscalationView | None:
            row = db.execute(
                ESCALATION_VIEW
                + " WHERE e.conversation_id = ? AND e.status IN ('open', 'claimed')",
                (conversation_id,),
            ).fetchone()
            return None if row is None else EscalationView.from_row(row)

        return await self._call(run)

    async def escalation(self, escalation_id: int) -> EscalationView:
        return await self._call(lambda db: _find_escalation(db, escalation_id))

    async def claim(self, escalation_id: int, agent: str) -> EscalationView:
        def run(db: sqlite3.Connection) -> EscalationView:
            _take(db, escalation_id, agent, TAKE_ESCALATION)
            return _find_escalation(db, escalation_id)

        return await self._call(run, write=True)

    async def agent_reply(self, escalation_id: int, agent: str, reply: Reply) -> EscalationView:
        def run(db: sqlite3.Connection) -> EscalationView:
            _take(db, escalation_id, agent, TAKE_ESCALATION)
            view = _find_escalation(db, escalation_id)
            _queue(db, view.conversation.id, "agent", agent, reply, first=False, now=time.time())
            return view

        return await self._call(run, write=True)

    async def resolve(self, escalation_id: int, agent: str, handback: Reply) -> EscalationView:
        def run(db: sqlite3.Connection) -> EscalationView:
            now = time.time()
            _take(db, escalation_id, agent, RESOLVE_ESCALATION)
            view = _find_escalation(db, escalation_id)
            state = view.conversation.state.handed_back()
            db.execute(SAVE_STATE, (state.model_dump_json(), now, None, view.conversation.id))
            _queue(db, view.conversation.id, "bot", None, handback, first=False, now=now)
            return view

        return await self._call(run, write=True)


def _take(db: sqlite3.Connection, escalation_id: int, agent: str, statement: str) -> None:
    """Run a claim or resolve; explain a refusal with NotFound or Conflict."""
    names = {f"native{i}": name for i, name in enumerate(NATIVE_AGENTS.values())}
    sql = statement.replace("{native}", ", ".join(f":{key}" for key in names))
    params = {"id": escalation_id, "agent": agent, "now": time.time(), **names}
    if db.execute(sql, params).rowcount == 1:
        return
    current = db.execute(
        "SELECT status, agent FROM escalations WHERE id = ?", (escalation_id,)
    ).fetchone()
    if current is None:
        raise NotFound(f"no escalation {escalation_id}")
    status, holder = current
    if status == "resolved":
        raise Conflict(f"escalation {escalation_id} is already resolved")
    raise Conflict(f"escalation {escalation_id} is held by {holder}")


def _find_escalation(db: sqlite3.Connection, escalation_id: int) -> EscalationView:
    row = db.execute(ESCALATION_VIEW + " WHERE e.id = ?", (escalation_id,)).fetchone()
    if row is None:
        raise NotFound(f"no escalation {escalation_id}")
    return EscalationView.from_row(row)


def _deliveries(db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> list[Delivery]:
    """Leased outbox rows (id, conversation id, author, reply, first of turn, attempts,
    created at), with their conversations' channel, customer and last message."""
    if not rows:
        return []
    ids = sorted({row[1] for row in rows})
    marks = ",".join("?" * len(ids))
    people = {r[0]: r[1:] for r in db.execute(RECIPIENTS.format(marks=marks), ids).fetchall()}
    deliveries = []
    for delivery_id, conversation_id, author, reply, first, attempts, created in rows:
        channel, customer_id, last_ms = people[conversation_id]
        outgoing = Outgoing(
            recipient=customer_id,
            reply=Reply.model_validate_json(reply),
            human=author != "bot",
            last_customer_ms=last_ms,
            first_of_turn=bool(first),
            reference=str(delivery_id),
        )
        deliveries.append(
            Delivery(delivery_id, conversation_id, channel, author, outgoing, attempts, created)
        )
    return deliveries


def _queue(
    db: sqlite3.Connection,
    conversation_id: int,
    author: str,
    agent: str | None,
    reply: Reply,
    *,
    first: bool,
    now: float,
) -> int:
    """Add an outgoing message to the transcript and the outbox; its outbox id."""
    cursor = db.execute(
        ADD_MESSAGE,
        (conversation_id, "out", author, agent, reply.text, None, 0, None, None, None, now),
    )
    cursor = db.execute(
        ADD_DELIVERY,
        (conversation_id, cursor.lastrowid, author, reply.model_dump_json(), int(first), now, now),
    )
    return cast(int, cursor.lastrowid)


def _record_turn(db: sqlite3.Connection, turn: TurnRecord, now: float) -> list[int] | None:
    """Write a turn's effects and return its replies' outbox ids; None (nothing written)
    when its state is out of date."""
    event = turn.event
    message = event.message
    conversation_id = event.conversation.id
    customer_ms = (message.timestamp_ms or None) if event.kind == "message" else None
    saved = db.execute(
        SAVE_TURN_STATE,
        (
            turn.state.model_dump_json(),
            now,
            customer_ms,
            conversation_id,
            event.conversation.version,
        ),
    )
    if saved.rowcount != 1:
        return None
    db.execute(ADD_MESSAGE, (conversation_id, *turn.transcript_line(), now))
    if turn.takeover:
        db.execute(DROP_BOT_REPLIES, (conversation_id,))
    if turn.escalation is not None:
        _escalate(db, conversation_id, turn, now)
    return [
        _queue(db, conversation_id, "bot", None, reply, first=position == 0, now=now)
        for position, reply in enumerate(turn.replies)
    ]


def _escalate(db: sqlite3.Connection, conversation_id: int, turn: TurnRecord, now: float) -> None:
    new = turn.escalation
    assert new is not None
    active = db.execute(ACTIVE_ESCALATION, (conversation_id,)).fetchone()
    if active is None:
        db.execute(OPEN_ESCALATION, new.opening(conversation_id, now))
    elif new.agent and active[1] == "open":
        db.execute(CLAIM_ESCALATION, (new.agent, now, active[0]))


def _move_arrivals(db: sqlite3.Connection, count: int) -> None:
    """Move the `count` oldest arrivals into the inbox (in order, so each conversation's
    events keep theirs), dropping redeliveries of events already there. Only as many as
    the workers take: a backlog waits in `arrivals`, and the claims stay quick."""
    last = db.execute(LAST_TO_MOVE, (count,)).fetchone()[0]
    if last is not None:
        db.execute(MOVE_ARRIVALS, (last,))
        db.execute(DROP_MOVED, (last,))


def _statements(script: str) -> list[str]:
    """Split a migration into statements (no `;` inside our migrations' strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
