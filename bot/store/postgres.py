"""The PostgreSQL store, for several bot instances on one database (asyncpg).

Same contract as the SQLite store. Exclusive work is claimed with `FOR UPDATE SKIP
LOCKED` and leases: an inbox event is processed by one instance, a conversation's events
one at a time and in order (only the head of each conversation is ever handed out), an
outbox row sent by one instance. Migrations run under an advisory lock, so instances
starting together apply them once. Desk events travel with LISTEN/NOTIFY, so an agent
connected to any instance sees what happened on all of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any, TypeAlias, cast

import asyncpg

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
    NewEscalation,
    NotFound,
    OutboxRow,
    StoreError,
    TranscriptEntry,
    TurnRecord,
)
from bot.store.batch import DeliveredRow, GroupWrites, InboxWrite

log = logging.getLogger(__name__)

MIGRATION_LOCK = 7_412_001  # advisory lock key: one instance migrates at a time
EVENTS_CHANNEL = "bot_desk_events"  # + the schema: deployments sharing a database stay apart
NATIVE = list(NATIVE_AGENTS.values())

# -- queries ------------------------------------------------------------------------------

ADD_EVENTS = """
INSERT INTO inbox (channel, platform_id, customer_id, kind, message, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::float8[])
ON CONFLICT (channel, platform_id) DO NOTHING
"""

SAVE_CURSOR = """
INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
"""

# The oldest pending events that head their conversation's queue (no earlier pending event
# of the same customer) and whose lease is free. Walked in id order (index inbox_pending_id)
# with one probe of inbox_pending per event: the cost follows what is claimed, not the
# backlog (a DISTINCT ON over every pending event took 14 ms at 30,000 of them, and a
# backlog that slows each claim feeds itself).
CLAIM_EVENTS = """
WITH free AS (
    SELECT inbox.id FROM inbox
    WHERE inbox.status = 'pending' AND (inbox.lease_until IS NULL OR inbox.lease_until < $3)
      AND NOT EXISTS (
          SELECT 1 FROM inbox AS earlier
          WHERE earlier.status = 'pending' AND earlier.channel = inbox.channel
            AND earlier.customer_id = inbox.customer_id AND earlier.id < inbox.id
      )
    ORDER BY inbox.id LIMIT $4
    FOR UPDATE OF inbox SKIP LOCKED
), claimed AS (
    UPDATE inbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
    FROM free WHERE inbox.id = free.id
    RETURNING inbox.id, inbox.channel, inbox.customer_id, inbox.kind, inbox.message,
              inbox.attempts
), conversation AS (
    -- The events' conversations (one event per conversation), created on first contact.
    INSERT INTO conversations (channel, customer_id, customer_name, created_at, updated_at)
    SELECT channel, customer_id, message::jsonb ->> 'sender_name', $3, $3 FROM claimed
    ON CONFLICT (channel, customer_id) DO UPDATE
        SET customer_name = COALESCE(excluded.customer_name, conversations.customer_name)
    RETURNING id, channel, customer_id, customer_name, state, last_customer_ms, version
)
SELECT claimed.id AS event_id, claimed.kind, claimed.message, claimed.attempts,
       conversation.id, conversation.channel, conversation.customer_id,
       conversation.customer_name, conversation.state, conversation.last_customer_ms,
       conversation.version
FROM claimed JOIN conversation USING (channel, customer_id)
ORDER BY claimed.id
"""

# A batch of turns, in one statement (atomic on its own): each turn counts only if its
# event's lease is still ours (whoever holds an event now finishes it) and its
# conversation is still at the version the turn was computed from (an agent may have
# changed it meanwhile). Those turns' events are marked done, their states saved, their
# transcript lines (ids taken beforehand, in transcript order) and replies to send
# written; the other events still ours are given back, to be processed again. With a
# lease ($25, its end), each saved turn's first reply is leased to us at once when nothing
# of its conversation waits before it (what CLAIM_DELIVERIES would take next; this
# statement does not see its own rows). Each event still ours, with whether its turn was
# saved, and the replies leased.
FINISH_TURNS = """
WITH held AS (
    SELECT id FROM inbox
    WHERE id = ANY($2::bigint[]) AND lease_owner = $3 AND status = 'pending'
    FOR UPDATE
), saved AS (
    UPDATE conversations c
    SET state = u.state, updated_at = $1,
        last_customer_ms = COALESCE(u.ms, c.last_customer_ms), version = c.version + 1
    FROM unnest($2::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::integer[])
         AS u (event_id, id, state, ms, version)
    WHERE c.id = u.id AND c.version = u.version AND u.event_id IN (SELECT id FROM held)
    RETURNING u.event_id
), finished AS (
    UPDATE inbox SET status = 'done', done_at = $1, lease_owner = NULL, lease_until = NULL
    WHERE id IN (SELECT event_id FROM saved)
    RETURNING id
), reopened AS (
    UPDATE inbox SET lease_owner = NULL, lease_until = NULL
    WHERE id IN (SELECT id FROM held) AND id NOT IN (SELECT event_id FROM saved)
    RETURNING id
), added AS (
    INSERT INTO messages (id, conversation_id, direction, author, agent, text, payload,
                          attachments, platform_id, intent, score, created_at)
    SELECT m.id, m.conversation_id, m.direction, m.author, m.agent, m.text, m.payload,
           m.attachments, m.platform_id, m.intent, m.score, $1
    FROM unnest($8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[],
                $13::text[], $14::text[], $15::integer[], $16::text[], $17::text[],
                $18::float8[], $19::bigint[])
         AS m (id, conversation_id, direction, author, agent, text, payload, attachments,
               platform_id, intent, score, event_id)
    WHERE m.event_id IN (SELECT event_id FROM saved)
), queued AS (
    INSERT INTO outbox (conversation_id, message_id, author, reply, first_of_turn,
                        next_attempt_at, created_at, status, lease_owner, lease_until,
                        attempts)
    SELECT d.conversation_id, d.message_id, 'bot', d.reply, d.first_of_turn, $1, $1,
           CASE WHEN h.leased THEN 'sending' ELSE 'pending' END,
           CASE WHEN h.leased THEN $3 END, CASE WHEN h.leased THEN $25::float8 END,
           CASE WHEN h.leased THEN 1 ELSE 0 END
    FROM unnest($20::bigint[], $21::bigint[], $22::text[], $23::boolean[], $24::bigint[])
         WITH ORDINALITY AS d (conversation_id, message_id, reply, first_of_turn, event_id,
                               position)
    CROSS JOIN LATERAL (
        SELECT $25::float8 IS NOT NULL AND d.first_of_turn AND NOT EXISTS (
            SELECT 1 FROM outbox AS earlier
            WHERE earlier.conversation_id = d.conversation_id
              AND earlier.status IN ('pending', 'sending')
        ) AS leased
    ) AS h
    WHERE d.event_id IN (SELECT event_id FROM saved)
    ORDER BY d.position
    RETURNING id, conversation_id, status
)
SELECT 'done' AS what, id, NULL::bigint AS conversation_id FROM finished
UNION ALL
SELECT 'reopened', id, NULL FROM reopened
UNION ALL
SELECT 'leased', id, conversation_id FROM queued WHERE status = 'sending'
"""

SAVE_STATE = """
UPDATE conversations
SET state = $1, updated_at = $2, last_customer_ms = COALESCE($3, last_customer_ms),
    version = version + 1
WHERE id = $4
"""

NEW_MESSAGE_IDS = "SELECT nextval('messages_id_seq') FROM generate_series(1, $1)"

ADD_MESSAGE = """
INSERT INTO messages (conversation_id, direction, author, agent, text, payload, attachments,
                      platform_id, intent, score, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id
"""

ADD_DELIVERY = """
INSERT INTO outbox (conversation_id, message_id, author, reply, first_of_turn,
                    next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
"""

DROP_BOT_REPLIES = """
UPDATE outbox SET status = 'dropped', error = 'a person took over', lease_owner = NULL
WHERE conversation_id = $1 AND author = 'bot' AND status IN ('pending', 'sending')
  AND COALESCE(message_id, 0) <> ALL($2::bigint[])
"""

# Desk events for conversations a person handles, one per (conversation, event name) with
# its active escalation, in one statement: what `notify` sends, built by the database.
ANNOUNCE = """
SELECT pg_notify($1, json_build_object(
    'name', a.name,
    'data', json_build_object('escalation_id', e.id, 'status', e.status, 'agent', e.agent)
)::text)
FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS a (conversation_id, name, position)
CROSS JOIN LATERAL (
    -- One probe of escalations_active per conversation (LIMIT keeps the subquery from
    -- being flattened into a join that would read every active escalation).
    SELECT id, status, agent FROM escalations
    WHERE conversation_id = a.conversation_id AND status IN ('open', 'claimed')
    LIMIT 1
) AS e
ORDER BY a.position
"""

ACTIVE_ESCALATION = """
SELECT id, status, agent FROM escalations
WHERE conversation_id = $1 AND status IN ('open', 'claimed')
FOR UPDATE
"""

OPEN_ESCALATION = """
INSERT INTO escalations (conversation_id, status, reason, intent, score, agent, created_at,
                         claimed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (conversation_id) WHERE status IN ('open', 'claimed') DO NOTHING
"""

CLAIM_OPEN_ESCALATION = """
UPDATE escalations SET status = 'claimed', agent = $1, claimed_at = $2
WHERE id = $3 AND status = 'open'
"""

RELEASE_EVENT = """
UPDATE inbox SET lease_owner = NULL, lease_until = NULL, error = $1,
                 status = CASE WHEN $2 THEN 'failed' ELSE status END
WHERE id = $3 AND lease_owner = $4
"""

# The replies due that head their conversation's queue (no earlier open reply), walked in
# (next_attempt_at, id) order (index outbox_open_due) with one probe of outbox_open each:
# like CLAIM_EVENTS, the cost follows what is claimed, not the replies piled up behind a
# platform outage (19 ms a claim at 30,000 of them with a DISTINCT ON, 0.2 ms this way).
CLAIM_DELIVERIES = """
WITH due AS (
    SELECT outbox.id FROM outbox
    WHERE ((outbox.status = 'pending' AND outbox.next_attempt_at <= $3)
           OR (outbox.status = 'sending' AND outbox.lease_until < $3))
      AND NOT EXISTS (
          SELECT 1 FROM outbox AS earlier
          WHERE earlier.status IN ('pending', 'sending')
            AND earlier.conversation_id = outbox.conversation_id AND earlier.id < outbox.id
      )
    ORDER BY outbox.next_attempt_at, outbox.id LIMIT $4
    FOR UPDATE OF outbox SKIP LOCKED
)
UPDATE outbox SET status = 'sending', lease_owner = $1, lease_until = $2,
                  attempts = attempts + 1
FROM due, conversations AS c
WHERE outbox.id = due.id AND c.id = outbox.conversation_id
RETURNING outbox.id, outbox.conversation_id, outbox.author, outbox.reply,
          outbox.first_of_turn, outbox.attempts, outbox.created_at,
          c.channel, c.customer_id, c.last_customer_ms
"""

CONFIRM_DELIVERIES = """
UPDATE outbox SET status = 'sent', platform_message_id = receipt.platform_id,
                  sent_at = COALESCE(outbox.sent_at, $3), error = NULL,
                  lease_owner = NULL, lease_until = NULL
FROM unnest($1::bigint[], $2::text[]) AS receipt (id, platform_id)
WHERE outbox.id = receipt.id AND outbox.status IN ('pending', 'sending', 'failed')
RETURNING outbox.id
"""

STILL_OURS = "SELECT 1 FROM outbox WHERE id = $1 AND lease_owner = $2 AND status = 'sending'"

# Replies the platform took, recorded; and, for those given the end of a lease, their
# conversation's next open reply (the new head of its queue) leased at once when it is
# due: what CLAIM_DELIVERIES would take next, without the claim. Each row leased, with the
# id of the reply it follows.
DELIVERED = """
WITH sent AS (
    UPDATE outbox
    SET status = 'sent', sent_at = d.sent_at, platform_message_id = d.platform_id,
        error = NULL, lease_owner = NULL, lease_until = NULL
    FROM unnest($1::float8[], $2::text[], $3::bigint[], $4::text[], $5::float8[])
         AS d (sent_at, platform_id, id, owner, until)
    WHERE outbox.id = d.id AND outbox.lease_owner = d.owner
    RETURNING outbox.id, outbox.conversation_id, d.owner, d.until, d.sent_at
), next AS (
    SELECT sent.id AS after, head.id, sent.owner, sent.until
    FROM sent CROSS JOIN LATERAL (
        SELECT o.id, o.status, o.next_attempt_at FROM outbox AS o
        WHERE o.conversation_id = sent.conversation_id AND o.id <> sent.id
          AND o.status IN ('pending', 'sending')
        ORDER BY o.id LIMIT 1
    ) AS head
    WHERE sent.until IS NOT NULL AND head.status = 'pending'
      AND head.next_attempt_at <= sent.sent_at
)
UPDATE outbox SET status = 'sending', lease_owner = next.owner, lease_until = next.until,
                  attempts = outbox.attempts + 1
FROM next, conversations AS c
WHERE outbox.id = next.id AND outbox.status = 'pending' AND c.id = outbox.conversation_id
RETURNING next.after, outbox.id, outbox.conversation_id, outbox.author, outbox.reply,
          outbox.first_of_turn, outbox.attempts, outbox.created_at,
          c.channel, c.customer_id, c.last_customer_ms
"""

RETRY_LATER = """
UPDATE outbox SET status = 'pending', next_attempt_at = $1, error = $2,
                  lease_owner = NULL, lease_until = NULL
WHERE id = $3 AND lease_owner = $4 AND status = 'sending'
"""

UNDELIVERABLE = """
UPDATE outbox SET status = 'failed', error = $1, lease_owner = NULL, lease_until = NULL
WHERE id = $2 AND lease_owner = $3
"""

CONVERSATION = """
SELECT id, channel, customer_id, customer_name, state, last_customer_ms, version
FROM conversations WHERE channel = $1 AND customer_id = $2
"""

TRANSCRIPT = """
SELECT m.id, m.direction, m.author, m.agent, m.text, m.payload, m.attachments, m.intent,
       m.score, m.created_at, o.status, o.error
FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
WHERE m.conversation_id = $1 ORDER BY m.id
"""


OUTBOX = """
SELECT id, conversation_id, author, reply, status, attempts, error, platform_message_id
FROM outbox WHERE conversation_id = $1 ORDER BY id
"""

PURGE_CONVERSATIONS = """
DELETE FROM conversations
WHERE updated_at < $1
  AND NOT EXISTS (SELECT 1 FROM escalations e
                  WHERE e.conversation_id = conversations.id AND e.status IN ('open', 'claimed'))
  AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.status = 'pending'
                  AND i.channel = conversations.channel
                  AND i.customer_id = conversations.customer_id)
"""

ESCALATION_VIEW = """
SELECT e.id, e.status, e.reason, e.intent, e.score, e.agent, e.created_at, e.claimed_at,
       e.resolved_at, c.id, c.channel, c.customer_id, c.customer_name, c.state,
       c.last_customer_ms, c.version
FROM escalations e JOIN conversations c ON c.id = e.conversation_id
"""

# $1 escalation id, $2 agent, $3 now, $4 names of native inboxes
TAKE_ESCALATION = """
UPDATE escalations SET status = 'claimed', agent = $2,
       claimed_at = CASE WHEN agent = $2 THEN claimed_at ELSE $3 END
WHERE id = $1 AND (status = 'open'
       OR (status = 'claimed' AND (agent = $2 OR agent = ANY($4::text[]))))
"""

RESOLVE_ESCALATION = """
UPDATE escalations SET status = 'resolved', resolved_at = $3, agent = COALESCE(agent, $2)
WHERE id = $1 AND (status = 'open'
       OR (status = 'claimed' AND (agent = $2 OR agent = ANY($4::text[]))))
"""

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record]"
Listener = Callable[[str, dict[str, Any]], None]


class PostgresStore(GroupWrites):
    """`Store` on PostgreSQL; see the module docstring."""

    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10) -> None:
        super().__init__()
        self.url = url
        self._min = min_size
        self._max = max_size
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._listen: Connection | None = None
        self._listeners: list[Listener] = []
        self._channel = EVENTS_CHANNEL
        self._relisten: asyncio.Task[None] | None = None
        self._closing = False

    # -- life cycle -------------------------------------------------------------------

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self._min,
                max_size=self._max,
                command_timeout=30,
                reset=_keep_session,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"PostgreSQL unreachable: {exc}") from exc
        async with self._tx() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await _migrate(db)
            self._channel = f"{EVENTS_CHANNEL}_{await db.fetchval('SELECT current_schema()')}"

    async def close(self) -> None:
        self._closing = True
        await self._drain_writes()
        if self._relisten is not None:
            self._relisten.cancel()
            await asyncio.gather(self._relisten, return_exceptions=True)
        if self._listen is not None:
            await self._listen.close()
            self._listen = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def schema_version(self) -> int:
        async with self._conn() as db:
            return int(await db.fetchval("SELECT MAX(version) FROM schema_migrations"))

    async def ping(self) -> None:
        async with self._conn() as db:
            await db.fetchval("SELECT 1")

    # -- plumbing -----------------------------------------------------------------------

    def _pool_or_fail(self) -> asyncpg.Pool[asyncpg.Record]:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    def _conn(self) -> _Use:
        return _Use(self._pool_or_fail(), transaction=False)

    def _tx(self) -> _Use:
        return _Use(self._pool_or_fail(), transaction=True)

    # -- desk events ----------------------------------------------------------------------

    async def notify(self, name: str, data: dict[str, Any]) -> None:
        payload = json.dumps({"name": name, "data": data})
        async with self._conn() as db:
            await db.execute("SELECT pg_notify($1, $2)", self._channel, payload)

    async def announce(self, changes: Sequence[tuple[int, str]]) -> None:
        if not changes:
            return
        async with self._conn() as db:
            await db.execute(ANNOUNCE, self._channel, *_columns(changes))

    async def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)
        if self._listen is None:
            await self._connect_listener()

    async def _connect_listener(self) -> None:
        try:
            self._listen = await asyncpg.connect(self.url)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"PostgreSQL unreachable: {exc}") from exc
        await self._listen.add_listener(self._channel, self._relay)
        self._listen.add_termination_listener(self._listener_lost)

    def _relay(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        event = json.loads(str(payload))
        for each in self._listeners:
            each(event["name"], event["data"])

    def _listener_lost(self, lost: object) -> None:
        # The database restarted or the connection dropped: listen again, or the desks
        # connected here would stop hearing about other instances.
        if isinstance(lost, asyncpg.Connection):
            lost.terminate()  # release its socket
        if self._closing:
            return
        self._listen = None
        self._relisten = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        delay = 0.5
        while not self._closing and self._listen is None:
            try:
                await self._connect_listener()
                log.info("listening for desk events again")
            except StoreError as exc:
                log.warning("desk events: %s; retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    # -- inbox --------------------------------------------------------------------------

    async def _write_inbox(self, batch: Sequence[InboxWrite]) -> list[None]:
        """One transaction for the webhooks that arrived together (group commit)."""
        rows = [row for item_rows, _, _ in batch for row in item_rows]
        cursors = [(*cursor, now) for _, cursor, now in batch if cursor is not None]
        # Webhooks alone are one statement, atomic on its own: one round trip, no BEGIN
        # and COMMIT; a poller's cursor is saved in the same transaction as its events.
        async with self._tx() if cursors else self._conn() as db:
            if rows:
                await db.execute(ADD_EVENTS, *_columns(rows))
            for cursor in cursors:
                await db.execute(SAVE_CURSOR, *cursor)
        return [None] * len(batch)

    async def cursor(self, name: str) -> str | None:
        async with self._conn() as db:
            value = await db.fetchval("SELECT value FROM cursors WHERE name = $1", name)
            return None if value is None else str(value)

    async def claim_events(self, owner: str, limit: int, lease: float) -> list[ClaimedEvent]:
        now = time.time()
        # One statement, atomic on its own (one round trip, no BEGIN and COMMIT): the first
        # pending event of each conversation, leased, with its conversation.
        async with self._conn() as db:
            rows = await db.fetch(CLAIM_EVENTS, owner, now + lease, now, limit)
        return [
            ClaimedEvent(
                row["event_id"],
                row["kind"],
                IncomingMessage.model_validate_json(row["message"]),
                Conversation.from_row(tuple(row)[4:]),  # its seven columns follow the four
                row["attempts"],
            )
            for row in rows
        ]

    async def finish_turns(
        self, owner: str, turns: Sequence[TurnRecord], lease: float = 0.0
    ) -> Finished:
        if not turns:
            return Finished(0)
        now = time.time()
        # A takeover or an escalation (rare) adds statements, in one transaction with the
        # turns; otherwise the batch is one statement, after taking its message ids (a
        # sequence: taken whatever becomes of the transaction).
        rare = [t for t in turns if t.takeover or t.escalation is not None]
        async with self._tx() if rare else self._conn() as db:
            replies = sum(len(t.replies) for t in turns)
            ids = sorted(r[0] for r in await db.fetch(NEW_MESSAGE_IDS, len(turns) + replies))
            messages, deliveries = _turn_rows(turns, ids)
            rows = await db.fetch(
                FINISH_TURNS,
                now,
                [t.event.id for t in turns],
                owner,
                [t.event.conversation.id for t in turns],
                [t.state.model_dump_json() for t in turns],
                [
                    (t.event.message.timestamp_ms or None) if t.event.kind == "message" else None
                    for t in turns
                ],
                [t.event.conversation.version for t in turns],
                *messages,
                *deliveries,
                now + lease if lease else None,
            )
            saved = {r["id"] for r in rows if r["what"] == "done"}
            for turn in rare:
                if turn.event.id not in saved:
                    continue
                conversation_id = turn.event.conversation.id
                if turn.takeover:  # the bot's replies still waiting, not this batch's
                    await db.execute(DROP_BOT_REPLIES, conversation_id, ids)
                if turn.escalation is not None:
                    await _escalate(db, conversation_id, turn.escalation, now)
        by_conversation = {t.event.conversation.id: t for t in turns}
        leased = [
            by_conversation[r["conversation_id"]].handed_over(r["id"], now)
            for r in rows
            if r["what"] == "leased"
        ]
        return Finished(len(saved), leased)

    async def fail_event(self, owner: str, event_id: int, error: str, give_up: bool) -> None:
        async with self._tx() as db:
            await db.execute(RELEASE_EVENT, error[:500], give_up, event_id, owner)

    # -- outbox -------------------------------------------------------------------------

    async def claim_deliveries(
        self, owner: str, limit: int, lease: float, now: float
    ) -> list[Delivery]:
        # One statement, atomic on its own (one round trip, no BEGIN and COMMIT): the
        # replies due, leased, with whom they go to.
        async with self._conn() as db:
            rows = await db.fetch(CLAIM_DELIVERIES, owner, now + lease, now, limit)
        return [_delivery(row) for row in sorted(rows, key=lambda r: r["id"])]

    async def confirm_deliveries(self, receipts: Sequence[tuple[int, str]]) -> int:
        if not receipts:
            return 0
        async with self._conn() as db:
            rows = await db.fetch(
                CONFIRM_DELIVERIES,
                [delivery_id for delivery_id, _ in receipts],
                [platform_id for _, platform_id in receipts],
                time.time(),
            )
        return len(rows)

    async def set_customer_name(self, conversation_id: int, name: str) -> None:
        async with self._conn() as db:
            await db.execute(
                "UPDATE conversations SET customer_name = $1 WHERE id = $2", name, conversation_id
            )

    async def still_ours(self, owner: str, delivery_id: int) -> bool:
        async with self._conn() as db:
            return await db.fetchval(STILL_OURS, delivery_id, owner) is not None

    async def _write_delivered(self, rows: Sequence[DeliveredRow]) -> list[Delivery | None]:
        async with self._conn() as db:  # one statement: atomic, one round trip
            leased = await db.fetch(DELIVERED, *_columns(rows))
        following = {row["after"]: _delivery(row) for row in leased}
        return [following.get(delivery_id) for _, _, delivery_id, _, _ in rows]

    async def retry_later(self, owner: str, delivery_id: int, at: float, error: str) -> None:
        async with self._conn() as db:
            await db.execute(RETRY_LATER, at, error[:500], delivery_id, owner)

    async def undeliverable(self, owner: str, delivery_id: int, error: str) -> None:
        async with self._conn() as db:
            await db.execute(UNDELIVERABLE, error[:500], delivery_id, owner)

    # -- reading ------------------------------------------------------------------------

    async def conversation(self, channel: Channel, customer_id: str) -> Conversation | None:
        async with self._conn() as db:
            row = await db.fetchrow(CONVERSATION, channel, customer_id)
            return None if row is None else Conversation.from_row(row)

    async def transcript(self, conversation_id: int) -> list[TranscriptEntry]:
        async with self._conn() as db:
            return [TranscriptEntry(*row) for row in await db.fetch(TRANSCRIPT, conversation_id)]

    async def escalations(self, conversation_id: int) -> list[EscalationView]:
        async with self._conn() as db:
            rows = await db.fetch(
                ESCALATION_VIEW + " WHERE e.conversation_id = $1 ORDER BY e.id", conversation_id
            )
        return [EscalationView.from_row(row) for row in rows]

    async def outbox(self, conversation_id: int) -> list[OutboxRow]:
        async with self._conn() as db:
            rows = await db.fetch(OUTBOX, conversation_id)
        return [OutboxRow(r[0], r[1], r[2], Reply.model_validate_json(r[3]), *r[4:]) for r in rows]

    async def counts(self) -> Counts:
        async with self._conn() as db:
            by_status = {key: int(n) for key, n in await db.fetch(BACKLOG_COUNTS) if n}
        return Counts.from_statuses(by_status)

    # -- data protection ----------------------------------------------------------------

    async def forget(self, channel: Channel, customer_ids: Sequence[str], code: str) -> int:
        ids = list(dict.fromkeys(customer_ids))
        async with self._tx() as db:
            await db.execute(
                "DELETE FROM inbox WHERE channel = $1 AND customer_id = ANY($2::text[])",
                channel,
                ids,
            )
            status = await db.execute(
                "DELETE FROM conversations WHERE channel = $1 AND customer_id = ANY($2::text[])",
                channel,
                ids,
            )
            deleted = int(status.split()[-1])
            await db.execute(
                "INSERT INTO deletions (code, channel, conversations, requested_at) "
                "VALUES ($1, $2, $3, $4)",
                code,
                channel,
                deleted,
                time.time(),
            )
            return deleted

    async def deletion(self, code: str) -> Deletion | None:
        async with self._conn() as db:
            row = await db.fetchrow(
                "SELECT code, channel, conversations, requested_at FROM deletions WHERE code = $1",
                code,
            )
        return None if row is None else Deletion(*row)

    async def purge(self, before: float) -> tuple[int, int]:
        async with self._tx() as db:
            conversations = await db.execute(PURGE_CONVERSATIONS, before)
            events = await db.execute(
                "DELETE FROM inbox WHERE status <> 'pending' AND done_at < $1", before
            )
        return int(conversations.split()[-1]), int(events.split()[-1])

    # -- agents and escalations -----------------------------------------------------------

    async def add_agent(self, name: str, token_hash: str) -> None:
        async with self._conn() as db:
            try:
                await db.execute(
                    "INSERT INTO agents (name, token_hash, created_at) VALUES ($1, $2, $3)",
                    name,
                    token_hash,
                    time.time(),
                )
            except asyncpg.UniqueViolationError:
                raise Conflict(f"an agent named {name!r} already exists") from None

    async def remove_agent(self, name: str) -> None:
        async with self._conn() as db:
            if await db.execute("DELETE FROM agents WHERE name = $1", name) == "DELETE 0":
                raise NotFound(f"no agent named {name!r}")

    async def agents(self) -> list[Agent]:
        async with self._conn() as db:
            rows = await db.fetch("SELECT name, created_at FROM agents ORDER BY name")
        return [Agent(*row) for row in rows]

    async def agent_for(self, token_hash: str) -> str | None:
        async with self._conn() as db:
            name = await db.fetchval("SELECT name FROM agents WHERE token_hash = $1", token_hash)
        return None if name is None else str(name)

    async def list_escalations(self, status: str | None) -> list[EscalationView]:
        async with self._conn() as db:
            if status is None:
                rows = await db.fetch(ESCALATION_VIEW + " ORDER BY e.created_at, e.id")
            else:
                rows = await db.fetch(
                    ESCALATION_VIEW + " WHERE e.status = $1 ORDER BY e.created_at, e.id", status
                )
        return [EscalationView.from_row(row) for row in rows]

    async def active_escalation(self, conversation_id: int) -> EscalationView | None:
        async with self._conn() as db:
            row = await db.fetchrow(
                ESCALATION_VIEW
                + " WHERE e.conversation_id = $1 AND e.status IN ('open', 'claimed')",
                conversation_id,
            )
        return None if row is None else EscalationView.from_row(row)

    async def escalation(self, escalation_id: int) -> EscalationView:
        async with self._conn() as db:
            return await _find_escalation(db, escalation_id)

    async def claim(self, escalation_id: int, agent: str) -> EscalationView:
        async with self._tx() as db:
            await _take(db, escalation_id, agent, TAKE_ESCALATION)
            return await _find_escalation(db, escalation_id)

    async def agent_reply(self, escalation_id: int, agent: str, reply: Reply) -> EscalationView:
        async with self._tx() as db:
            await _take(db, escalation_id, agent, TAKE_ESCALATION)
            view = await _find_escalation(db, escalation_id)
            await _queue(db, view.conversation.id, "agent", agent, reply, first=False)
            return view

    async def resolve(self, escalation_id: int, agent: str, handback: Reply) -> EscalationView:
        async with self._tx() as db:
            await _take(db, escalation_id, agent, RESOLVE_ESCALATION)
            view = await _find_escalation(db, escalation_id)
            state = view.conversation.state.handed_back()
            await db.execute(
                SAVE_STATE, state.model_dump_json(), time.time(), None, view.conversation.id
            )
            await _queue(db, view.conversation.id, "bot", None, handback, first=False)
            return view


class _Use:
    """`async with`: a pooled connection, in a transaction when asked; errors as StoreError."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], *, transaction: bool) -> None:
        self._pool = pool
        self._transaction = transaction
        self._conn: Any = None
        self._tx: Any = None

    async def __aenter__(self) -> Connection:
        try:
            self._conn = await self._pool.acquire()
            if self._transaction:
                self._tx = self._conn.transaction()
                await self._tx.start()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self._release()
            raise StoreError(f"PostgreSQL: {exc}") from exc
        return cast(Connection, self._conn)

    async def __aexit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        try:
            if self._tx is not None:
                if exc is None:
                    await self._tx.commit()
                else:
                    await self._tx.rollback()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise StoreError(f"PostgreSQL: {error}") from error
        finally:
            await self._release()
        if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError):
            raise StoreError(f"PostgreSQL: {exc}") from exc

    async def _release(self) -> None:
        if self._conn is not None:
            await self._pool.release(self._conn)
            self._conn = None


async def _keep_session(conn: Connection) -> None:
    """What the pool runs on a connection given back, instead of asyncpg's default reset
    (`pg_advisory_unlock_all()`, `CLOSE ALL`, `UNLISTEN *`, `RESET ALL`: a round trip and
    four statements for the database, several times per customer message). The store
    leaves no session state to undo: its advisory lock is the transaction's, it opens no
    cursor outside a transaction, listens on a connection of its own and changes no
    setting. asyncpg still rolls back a transaction left open before calling this."""


def _delivery(row: asyncpg.Record) -> Delivery:
    """A leased outbox row, with its conversation's channel, customer and last message."""
    outgoing = Outgoing(
        recipient=row["customer_id"],
        reply=Reply.model_validate_json(row["reply"]),
        human=row["author"] != "bot",
        last_customer_ms=row["last_customer_ms"],
        first_of_turn=row["first_of_turn"],
        reference=str(row["id"]),
    )
    return Delivery(
        row["id"],
        row["conversation_id"],
        cast(Channel, row["channel"]),
        row["author"],
        outgoing,
        row["attempts"],
        row["created_at"],
    )


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as the columns an `unnest($1::…[], $2::…[], …)` statement takes."""
    return [list(column) for column in zip(*rows, strict=True)]


async def _migrate(db: Connection) -> None:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
    )
    done = {row[0] for row in await db.fetch("SELECT version FROM schema_migrations")}
    folder = resources.files("bot.store.migrations.postgres")
    for item in sorted(folder.iterdir(), key=lambda f: f.name):
        if not item.name.endswith(".sql"):
            continue
        version = int(item.name.split("_", 1)[0])
        if version in done:
            continue
        await db.execute(item.read_text("utf-8"))
        await db.execute(
            "INSERT INTO schema_migrations VALUES ($1, $2, $3)", version, item.name, time.time()
        )
        log.info("PostgreSQL migration %s applied", item.name)


def _turn_rows(
    turns: Sequence[TurnRecord], ids: Sequence[int]
) -> tuple[list[list[Any]], list[list[Any]]]:
    """The columns of the turns' transcript lines (the customers' messages, or what a
    person wrote natively, then the bot's replies, with `ids` in that order: the
    transcript of each conversation keeps it) and of their replies to send, each row
    with its turn's event id."""
    messages: list[list[Any]] = [[] for _ in range(12)]
    deliveries: list[list[Any]] = [[] for _ in range(5)]
    numbers = iter(ids)
    rows: list[tuple[Any, ...]] = [
        (next(numbers), t.event.conversation.id, *t.transcript_line(), t.event.id) for t in turns
    ]
    for turn in turns:
        for position, reply in enumerate(turn.replies):
            message_id, conversation_id = next(numbers), turn.event.conversation.id
            rows.append((message_id, conversation_id, "out", "bot", None, reply.text, None, 0,
                         None, None, None, turn.event.id))  # fmt: skip
            delivery = (conversation_id, message_id, reply.model_dump_json(), position == 0,
                        turn.event.id)  # fmt: skip
            for column, value in zip(deliveries, delivery, strict=True):
                column.append(value)
    for row in rows:
        for column, value in zip(messages, row, strict=True):
            column.append(value)
    return messages, deliveries


async def _escalate(db: Connection, conversation_id: int, new: NewEscalation, now: float) -> None:
    active = await db.fetchrow(ACTIVE_ESCALATION, conversation_id)
    if active is None:
        await db.execute(OPEN_ESCALATION, *new.opening(conversation_id, now))
    elif new.agent and active["status"] == "open":
        await db.execute(CLAIM_OPEN_ESCALATION, new.agent, now, active["id"])


async def _queue(
    db: Connection,
    conversation_id: int,
    author: str,
    agent: str | None,
    reply: Reply,
    *,
    first: bool,
) -> None:
    now = time.time()
    message_id = await db.fetchval(
        ADD_MESSAGE,
        conversation_id,
        "out",
        author,
        agent,
        reply.text,
        None,
        0,
        None,
        None,
        None,
        now,
    )
    await db.execute(
        ADD_DELIVERY, conversation_id, message_id, author, reply.model_dump_json(), first, now
    )


async def _take(db: Connection, escalation_id: int, agent: str, statement: str) -> None:
    if await db.execute(statement, escalation_id, agent, time.time(), NATIVE) == "UPDATE 1":
        return
    current = await db.fetchrow(
        "SELECT status, agent FROM escalations WHERE id = $1", escalation_id
    )
    if current is None:
        raise NotFound(f"no escalation {escalation_id}")
    if current["status"] == "resolved":
        raise Conflict(f"escalation {escalation_id} is already resolved")
    raise Conflict(f"escalation {escalation_id} is held by {current['agent']}")


async def _find_escalation(db: Connection, escalation_id: int) -> EscalationView:
    row = await db.fetchrow(ESCALATION_VIEW + " WHERE e.id = $1", escalation_id)
    if row is None:
        raise NotFound(f"no escalation {escalation_id}")
    return EscalationView.from_row(row)
