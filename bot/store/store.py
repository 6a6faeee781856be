"""The durable store: conversations, transcript, inbox, outbox, escalations and agents.

One `Store`, each method written once, over a connector for its database (`sqlite.py`,
`postgres.py`) and the named queries of `sql/`. Work is claimed with leases, so an event
or a reply held by a process that died is taken up again, and a lease that was lost is
never finished twice. Time comes from the clock given, so tests can set it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

from adapters.base import Inbound
from bot.models import Channel, Reply
from bot.store import search
from bot.store.batch import GroupCommit
from bot.store.connector import Connector, Listener, Session
from bot.store.queries import QUERIES, Queries
from bot.store.records import (
    NATIVE_AGENTS,
    Agent,
    ClaimedEvent,
    Conflict,
    Conversation,
    Counts,
    Deletion,
    Delivery,
    Duplicate,
    EscalationView,
    Identity,
    Label,
    Missed,
    Note,
    NotFound,
    OutboxRow,
    Role,
    Row,
    StoreError,
    TeamReply,
    TranscriptEntry,
    TurnRecord,
)

log = logging.getLogger(__name__)

Clock = Callable[[], float]
NATIVE: Final = tuple(NATIVE_AGENTS.values())  # the two names take_escalation expects
PURGE_CHUNK: Final = 500  # rows a purge deletes per transaction: the service goes on between
ERROR_CHARS: Final = 500
_MIGRATION_RE: Final = re.compile(r"^(\d{4})_(\w+?)(?:\.(sqlite|postgres))?\.sql$")
_DIALECT_FILES: Final = {"sqlite": "sqlite", "postgresql": "postgres"}
# The last migration of each database's sequence before there was one sequence for both:
# such a database is the schema of migration 1 already.
_LEGACY: Final = {"sqlite": "0008_failed_indexes.sql", "postgresql": "0005_outbox_open_due.sql"}

# An acknowledged webhook's events: (channel, platform id, customer id, kind, message JSON,
# received at) each, and the poller cursor saved with them.
InboxWrite = tuple[list[tuple[str, str, str, str, str, float]], tuple[str, str, float] | None]
# A reply the platform took: (sent at, platform message id, outbox id, lease owner), and
# the lease to take on a reply due next (0: none).
DeliveredRow = tuple[float, str | None, int, str, float]


@dataclass(frozen=True, slots=True)
class Finished:
    """What `finish_turns` committed, and the replies it claimed in the same transaction."""

    committed: int
    deliveries: list[Delivery] = field(default_factory=list)


class Store:
    """The service's durable state. Every method is one transaction."""

    def __init__(self, connector: Connector, clock: Clock) -> None:
        self.connector = connector
        self.dialect = connector.dialect
        self._db = connector
        self._q: Queries = QUERIES[connector.dialect]
        self._clock = clock
        # Writes that arrive while a commit is under way share the next one.
        self._inbox_writes = GroupCommit(self._write_inbox)
        self._deliveries = GroupCommit(self._write_delivered)

    # -- life cycle -----------------------------------------------------------------------

    async def open(self, *, unconfirmed_wait: float = 10.0) -> None:
        """Connect and apply pending migrations. When no other instance of the service was
        running (this is the only one, or every other one stopped), the replies in flight
        and those tried already are retried only after `unconfirmed_wait`, time for the
        platform's echo to confirm them: it could not reach a stopped process. On a
        database this process alone uses, the leases an earlier one left go too."""
        await self._db.open()
        try:
            await self._migrate()
            async with self._db.arrival() as alone:
                if alone:
                    async with self._db.transaction() as db:
                        if self._db.exclusive:
                            await db.execute(self._q.release_stale_events)
                        now = self._clock()
                        await db.execute(
                            self._q.release_stale_replies, now + unconfirmed_wait, now
                        )
        except BaseException:
            await self._db.close()
            raise

    async def close(self) -> None:
        await self._inbox_writes.drain()
        await self._deliveries.drain()
        await self._db.close()

    async def ping(self) -> None:
        """Raise StoreError when the database cannot answer."""
        async with self._db.reading() as db:
            await db.fetchval(self._q.ping)

    async def writable(self) -> None:
        """Raise StoreError unless the database it opened accepts a write now."""
        await self._db.check()
        async with self._db.transaction() as db:
            await db.execute(self._q.write_probe)

    async def schema_version(self) -> int:
        """The last migration applied."""
        async with self._db.reading() as db:
            return int(await db.fetchval(self._q.schema_version))

    async def _migrate(self) -> None:
        q = self._q
        async with self._db.transaction() as db:
            await db.execute(q.lock_migrations)
            await db.execute(q.create_migrations_table)
            applied = {row["version"]: row["name"] for row in await db.fetch(q.migrations_applied)}
            if applied and all(name.endswith(".sql") for name in applied.values()):
                await self._adopt_legacy(db, applied)
                applied = {1: "0001_schema"}
            for version, name, script in migrations(self.dialect):
                if version in applied:
                    continue
                await db.script(script)
                await db.execute(q.record_migration, version, name, self._clock())
                log.info("migration %04d %s applied", version, name)

    async def _adopt_legacy(self, db: Session, applied: dict[int, str]) -> None:
        """A database made before both databases shared one migration sequence."""
        last = applied[max(applied)]
        if last != _LEGACY[self.dialect]:
            raise StoreError(
                f"this database stopped at migration {last} of an older release: upgrade it "
                "with that release's successor first"
            )
        await db.execute(self._q.forget_migrations)
        await db.execute(self._q.record_migration, 1, "0001_schema", self._clock())
        log.info("database of the earlier migration sequence adopted as migration 0001")

    # -- desk events ----------------------------------------------------------------------

    async def notify(self, name: str, data: dict[str, Any]) -> None:
        """Tell every listener, in every instance on this database, about a desk event."""
        await self._db.notify([(name, data)])

    async def listen(self, listener: Listener) -> None:
        """Call `listener(name, data)` for each event notified from now on."""
        await self._db.listen(listener)

    async def announce(self, changes: Sequence[tuple[int, str]]) -> None:
        """Tell the desks about conversations a person handles: for each (conversation id,
        event name), the event with the conversation's active escalation (its id, status
        and agent); nothing for a conversation without one."""
        if not changes:
            return
        ids = sorted({conversation_id for conversation_id, _ in changes})
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.active_escalations_of, ids)
        active = {
            row["conversation_id"]: {
                "escalation_id": row["escalation_id"],
                "status": row["status"],
                "agent": row["agent"],
            }
            for row in rows
        }
        events = [(name, active[cid]) for cid, name in changes if cid in active]
        await self._db.notify(events)

    # -- inbox ----------------------------------------------------------------------------

    async def add_inbox(
        self, events: Sequence[Inbound], cursor: tuple[str, str] | None = None
    ) -> None:
        """Store acknowledged events durably; a redelivered event is never processed twice
        (dropped here, or before it is claimed). `cursor` (name, value), a poller's
        position, is saved in the same transaction."""
        if not events and cursor is None:
            return
        now = self._clock()
        rows: list[tuple[str, str, str, str, str, float]] = [
            (
                e.message.channel,
                e.message.platform_id,
                e.message.sender_id,
                e.kind,
                e.message.model_dump_json(),
                now,
            )
            for e in events
        ]
        await self._inbox_writes.submit((rows, None if cursor is None else (*cursor, now)))

    async def _write_inbox(self, batch: Sequence[InboxWrite]) -> list[None]:
        rows = [row for item, _ in batch for row in item]
        # A poller's last position of the batch (one row per name: an upsert takes each once).
        cursors = {cursor[0]: cursor for _, cursor in batch if cursor is not None}
        await self._db.append(
            [(self._q.add_events, rows), (self._q.save_cursors, list(cursors.values()))]
        )
        return [None] * len(batch)

    async def cursor(self, name: str) -> str | None:
        """The position saved under `name` by `add_inbox`, if any."""
        async with self._db.reading() as db:
            value = await db.fetchval(self._q.cursor, name)
        return None if value is None else str(value)

    async def claim_events(self, owner: str, limit: int, lease: float) -> list[ClaimedEvent]:
        """Lease the oldest pending event of up to `limit` conversations that have no event
        leased: a conversation's events are handed out one at a time, in order."""
        now = self._clock()
        # Only leases, which every start releases: lost in a power cut, a claim is made again.
        async with self._db.transaction(atomic=False, durable=False) as db:
            rows = await db.fetch(self._q.claim_events, owner, now + lease, now, limit)
        return sorted((ClaimedEvent.from_row(row) for row in rows), key=lambda e: e.id)

    async def finish_turns(
        self, owner: str, turns: Sequence[TurnRecord], *, claim: int = 0, lease: float = 60.0
    ) -> Finished:
        """Commit processed events with their effects; a turn whose lease `owner` no longer
        holds, or computed from a state changed since, is skipped (and its event processed
        again). With `claim`, the sender's claim of up to that many replies due runs in the
        same transaction (the turns' answers leave at once), as `claim_deliveries`."""
        if not turns:
            return Finished(0)
        now = self._clock()
        # A takeover or an escalation (rare) adds statements that must hold with the turns.
        rare = [t for t in turns if t.takeover or t.escalation is not None]
        async with self._db.transaction(atomic=bool(rare)) as db:
            count = len(turns) + sum(len(t.replies) for t in turns)
            ids = sorted(row[0] for row in await db.fetch(self._q.new_message_ids, count))
            rows = await db.fetch(self._q.finish_turns, now, owner, _batch(turns, ids))
            saved = {row["id"] for row in rows if row["what"] == "done"}
            for turn in rare:
                if turn.event.id not in saved:
                    continue
                conversation_id = turn.event.conversation.id
                if turn.takeover:
                    await db.execute(self._q.drop_bot_replies, conversation_id)
                new = turn.escalation
                if new is not None:
                    # Held at once when a person answers already (a native inbox).
                    held = new.agent is not None
                    await db.execute(
                        self._q.open_escalation, conversation_id,
                        "claimed" if held else "open", new.reason, new.intent, new.score,
                        new.agent, now, now if held else None,
                    )  # fmt: skip
                    if held:  # an escalation open already becomes theirs
                        await db.execute(
                            self._q.claim_open_escalation, conversation_id, new.agent, now
                        )
            claimed = await self._claim(db, owner, claim, lease, now) if claim else []
        return Finished(len(saved), claimed)

    async def fail_event(self, owner: str, event_id: int, error: str, give_up: bool) -> None:
        """Release an event whose processing raised; `give_up` marks it failed for good."""
        async with self._db.transaction() as db:
            await db.execute(
                self._q.release_event, error[:ERROR_CHARS], give_up, event_id, owner
            )

    async def set_customer_name(self, conversation_id: int, name: str | None) -> None:
        """Record what the platform told of the customer's name now (None: nothing, the
        name known stays)."""
        async with self._db.transaction() as db:
            await db.execute(self._q.set_customer_name, name, conversation_id, self._clock())

    async def names_due(
        self, conversation_ids: Sequence[int], max_age: float
    ) -> list[tuple[int, Channel, str]]:
        """(conversation, channel, customer id) of those whose customer's name was not asked
        of the platform in the last `max_age` seconds."""
        if not conversation_ids:
            return []
        since = self._clock() - max_age
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.names_due, sorted(set(conversation_ids)), since)
        return [(row["conversation_id"], row["channel"], row["customer_id"]) for row in rows]

    # -- outbox ---------------------------------------------------------------------------

    async def claim_deliveries(self, owner: str, limit: int, lease: float) -> list[Delivery]:
        """Lease the first unsent reply of up to `limit` conversations, when it is due."""
        now = self._clock()
        async with self._db.transaction(atomic=False, durable=False) as db:
            return await self._claim(db, owner, limit, lease, now)

    async def _claim(
        self, db: Session, owner: str, limit: int, lease: float, now: float
    ) -> list[Delivery]:
        rows = await db.fetch(self._q.claim_deliveries, owner, now + lease, now, limit)
        return sorted((Delivery.from_row(row) for row in rows), key=lambda d: d.id)

    async def still_ours(self, owner: str, delivery_id: int) -> bool:
        """True while the lease holds and the reply was not dropped (a person took over)."""
        async with self._db.reading() as db:
            return await db.fetchval(self._q.still_ours, delivery_id, owner) is not None

    async def sent_by_us(self, channel: Channel, customer_id: str, platform_id: str) -> bool:
        """Is this message the account sent one of our replies (recorded sent under this
        id, or one on its way to this customer right now)? Otherwise a person wrote it."""
        async with self._db.reading() as db:
            return bool(await db.fetchval(self._q.sent_by_us, channel, customer_id, platform_id))

    async def delivered(
        self, owner: str, delivery_id: int, platform_id: str | None, *, lease: float = 0.0
    ) -> Delivery | None:
        """Record a reply the platform took (replies that come back together share one
        commit). With `lease`, a reply due next is claimed in the same transaction and
        returned, as `claim_deliveries` would (its conversation's next one, when it is due)."""
        row = (self._clock(), platform_id, delivery_id, owner, lease)
        return await self._deliveries.submit(row)

    async def _write_delivered(self, rows: Sequence[DeliveredRow]) -> list[Delivery | None]:
        wanting = [r for r in rows if r[4]]
        async with self._db.transaction(atomic=False) as db:
            await db.bulk(self._q.delivered, [r[:4] for r in rows])
            claimed: list[Delivery] = []
            if wanting:
                lease = max(r[4] for r in wanting)
                claimed = await self._claim(db, wanting[0][3], len(wanting), lease, rows[0][0])
        # Each caller that asked gets one of the replies claimed (any: each is sent alike).
        handed = iter(claimed)
        return [next(handed, None) if r[4] else None for r in rows]

    async def confirm_deliveries(self, receipts: Sequence[tuple[int, str]]) -> int:
        """Mark replies delivered on the platform's word (echoes of (outbox id, message
        id)), whatever state they were in: a reply confirmed is never sent again."""
        if not receipts:
            return 0
        now = self._clock()
        rows = [(platform_id, now, delivery_id) for delivery_id, platform_id in receipts]
        async with self._db.transaction(atomic=False) as db:
            return await db.bulk(self._q.confirm_deliveries, rows)

    async def retry_later(self, owner: str, delivery_id: int, at: float, error: str) -> None:
        async with self._db.transaction() as db:
            await db.execute(self._q.retry_later, at, error[:ERROR_CHARS], delivery_id, owner)

    async def undeliverable(self, owner: str, delivery_id: int, error: str) -> None:
        async with self._db.transaction() as db:
            await db.execute(self._q.undeliverable, error[:ERROR_CHARS], delivery_id, owner)

    # -- reading --------------------------------------------------------------------------

    async def conversation(self, channel: Channel, customer_id: str) -> Conversation | None:
        async with self._db.reading() as db:
            row = await db.fetchrow(self._q.conversation, channel, customer_id)
        return None if row is None else Conversation.from_row(row)

    async def transcript(self, conversation_id: int) -> list[TranscriptEntry]:
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.transcript, conversation_id)
        return [TranscriptEntry.from_row(row) for row in rows]

    async def escalations(self, conversation_id: int) -> list[EscalationView]:
        """Every escalation of one conversation, oldest first."""
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.conversation_escalations, conversation_id)
        return [EscalationView.from_row(row) for row in rows]

    async def answer_to(
        self, channel: Channel, customer_id: str, platform_id: str
    ) -> tuple[Conversation, Row, list[tuple[int, Reply]]] | None:
        """Once the customer's message `platform_id` is handled: the conversation, that
        message's line, and the replies queued in answer (outbox id, reply). None before."""
        async with self._db.reading() as db:
            row = await db.fetchrow(self._q.conversation, channel, customer_id)
            if row is None:
                return None
            conversation = Conversation.from_row(row)
            lines = await db.fetch(self._q.latest_lines, conversation.id, 50)
        replies: list[tuple[int, Reply]] = []
        for line in lines:  # newest first: the replies, then the message they answer
            if line["author"] == "customer":
                if line["platform_id"] == platform_id:
                    return conversation, line, replies[::-1]
                replies = []
            elif line["author"] == "bot" and line["reply"] is not None:
                replies.append((line["outbox_id"], Reply.model_validate_json(line["reply"])))
        return None

    async def outbox(self, conversation_id: int) -> list[OutboxRow]:
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.outbox, conversation_id)
        return [OutboxRow.from_row(row) for row in rows]

    async def counts(self) -> Counts:
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.backlog_counts)
            arrivals = int(await db.fetchval(self._q.waiting_arrivals))
        by_status = {str(row[0]): int(row[1]) for row in rows if row[1]}
        if arrivals:
            by_status["inbox:pending"] = by_status.get("inbox:pending", 0) + arrivals
        return Counts.from_statuses(by_status)

    # -- data protection ------------------------------------------------------------------

    async def forget(self, channel: Channel, customer_ids: Sequence[str], code: str) -> int:
        """Delete everything stored about one customer, known by these ids on `channel`
        (conversations, transcript, replies, escalations, pending events), and record the
        request under `code`. Returns the number of conversations deleted."""
        async with self._db.transaction() as db:
            deleted = 0
            for customer_id in dict.fromkeys(customer_ids):
                await db.execute(self._q.forget_events, channel, customer_id)
                deleted += await db.execute(self._q.forget_conversations, channel, customer_id)
            await db.execute(self._q.record_deletion, code, channel, deleted, self._clock())
            await db.execute(self._q.compact_search)
        await self._db.erase()
        return deleted

    async def deletion(self, code: str) -> Deletion | None:
        async with self._db.reading() as db:
            row = await db.fetchrow(self._q.deletion, code)
        return None if row is None else Deletion.from_row(row)

    async def purge(self, before: float) -> tuple[int, int]:
        """Delete conversations untouched since `before` (unless a person has them) and the
        inbox rows done before it, by short transactions. Returns (conversations, inbox
        rows) deleted."""
        counts = []
        for query in (self._q.purge_conversations, self._q.purge_events):
            deleted = 0
            while True:
                async with self._db.transaction() as db:
                    n = await db.execute(query, before, PURGE_CHUNK)
                deleted += n
                if n < PURGE_CHUNK:
                    break
            counts.append(deleted)
        if any(counts):
            async with self._db.transaction() as db:
                await db.execute(self._q.compact_search)
            await self._db.erase()
        return counts[0], counts[1]

    # -- agents ---------------------------------------------------------------------------

    async def add_agent(self, name: str, token_hash: str, role: Role = "agent") -> None:
        """Raises Conflict when the name is taken."""
        try:
            async with self._db.transaction() as db:
                await db.execute(self._q.add_agent, name, token_hash, self._clock(), role)
        except Duplicate:
            raise Conflict(f"an agent named {name!r} already exists") from None

    async def remove_agent(self, name: str) -> None:
        """Raises NotFound for an unknown name; the agent's token and sessions stop working
        at once."""
        async with self._db.transaction() as db:
            if await db.execute(self._q.remove_agent, name) == 0:
                raise NotFound(f"no agent named {name!r}")

    async def agents(self) -> list[Agent]:
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.agents)
        return [Agent(row["name"], row["created_at"], row["role"]) for row in rows]

    async def agent(self, name: str) -> Agent:
        """Raises NotFound."""
        async with self._db.reading() as db:
            row = await db.fetchrow(self._q.agent_named, name)
        if row is None:
            raise NotFound(f"no agent named {name!r}")
        return Agent(row["name"], row["created_at"], row["role"])

    async def agent_for(self, token_hash: str) -> str | None:
        """The name of the agent holding this token, if any."""
        found = await self.identity_for(token_hash)
        return None if found is None else found.name

    async def identity_for(self, token_hash: str) -> Identity | None:
        """The agent holding this token, with their role, if any."""
        async with self._db.reading() as db:
            row = await db.fetchrow(self._q.agent_for, token_hash)
        return None if row is None else Identity(row["name"], row["role"])

    # -- desk sessions --------------------------------------------------------------------

    async def open_session(self, id_hash: str, agent: str, lifetime: float) -> None:
        """A desk sign-in of `agent` for `lifetime` seconds (sessions past their end are
        cleared on the way)."""
        now = self._clock()
        async with self._db.transaction() as db:
            await db.execute(self._q.purge_sessions, now)
            await db.execute(self._q.add_session, id_hash, agent, now, now + lifetime)

    async def session(self, id_hash: str, lifetime: float) -> Identity | None:
        """The agent signed in by this session while it lasts; each use renews it for
        `lifetime` seconds (written at most once a minute)."""
        now = self._clock()
        async with self._db.reading() as db:
            row = await db.fetchrow(self._q.session_agent, id_hash, now)
        if row is None:
            return None
        if row["expires_at"] < now + lifetime - 60:
            async with self._db.transaction() as db:
                await db.execute(self._q.renew_session, id_hash, now + lifetime)
        return Identity(row["name"], row["role"])

    async def end_session(self, id_hash: str) -> None:
        async with self._db.transaction() as db:
            await db.execute(self._q.end_session, id_hash)

    # -- escalations (the desk) -----------------------------------------------------------

    async def list_escalations(
        self, status: str | None, *, agent: str | None = None, limit: int = 100
    ) -> list[EscalationView]:
        """Open and claimed ones oldest first (those of `agent` only, when given); resolved
        ones newest first, at most `limit`."""
        async with self._db.reading() as db:
            if status == "resolved":
                rows = await db.fetch(self._q.resolved_escalations, limit)
            elif agent is not None:
                rows = await db.fetch(self._q.agent_escalations, agent)
            else:
                rows = await db.fetch(self._q.escalations, status)
        return [EscalationView.from_row(row) for row in rows]

    async def search(
        self, text: str, status: str | None = None, limit: int = 50
    ) -> list[EscalationView]:
        """Escalations whose customer, transcript or notes hold every word of `text`
        (French stems: "réinitialisation" finds "réinitialiser"), newest first."""
        terms = search.query_for(self.dialect, text)
        if terms is None:
            return []
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.search_escalations, status, terms, limit)
        return [EscalationView.from_row(row) for row in rows]

    async def index(self, conversation_ids: Sequence[int]) -> None:
        """Bring the search index up to date for these conversations, in one transaction
        (called off the reply path: by the desk news and the desk's own actions)."""
        async with self._db.transaction() as db:
            for conversation_id in dict.fromkeys(conversation_ids):
                row = await db.fetchrow(self._q.conversation_by_id, conversation_id)
                if row is None:
                    continue
                lines = await db.fetch(self._q.transcript_texts, conversation_id)
                notes = await db.fetch(self._q.conversation_notes, conversation_id)
                document = search.document(
                    self.dialect,
                    [row["customer_name"], row["customer_id"]]
                    + [line["text"] for line in lines]
                    + [note["text"] for note in notes]
                )
                await db.execute(self._q.index_conversation, conversation_id, document)

    async def customer(
        self, channel: str, customer_id: str
    ) -> tuple[Conversation, list[EscalationView]]:
        """The customer's conversation and every escalation of it, newest first; NotFound."""
        async with self._db.reading() as db:
            row = await db.fetchrow(self._q.conversation, channel, customer_id)
            if row is None:
                raise NotFound(f"no {channel} customer {customer_id}")
            conversation = Conversation.from_row(row)
            rows = await db.fetch(self._q.conversation_escalations, conversation.id)
        views = [EscalationView.from_row(r) for r in rows]
        return conversation, views[::-1]

    async def release(self, escalation_id: int, who: Identity) -> EscalationView:
        """Back to the queue, held by nobody. Conflict unless `who` holds it or is an admin,
        or when nobody holds it."""
        async with self._db.transaction() as db:
            changed = await db.execute(
                self._q.release_escalation, escalation_id, who.name, who.admin
            )
            if changed != 1:
                await self._refusal(db, escalation_id, "release")
            return await self._find_escalation(db, escalation_id)

    async def transfer(self, escalation_id: int, who: Identity, to: str) -> EscalationView:
        """Give the escalation to agent `to` (it stays claimed). NotFound for an unknown
        agent; Conflict unless `who` holds it or is an admin."""
        async with self._db.transaction() as db:
            if await db.fetchrow(self._q.agent_named, to) is None:
                raise NotFound(f"no agent named {to!r}")
            changed = await db.execute(
                self._q.transfer_escalation, escalation_id, who.name, who.admin, to,
                self._clock(),
            )  # fmt: skip
            if changed != 1:
                await self._refusal(db, escalation_id, "transfer")
            return await self._find_escalation(db, escalation_id)

    async def _refusal(self, db: Session, escalation_id: int, what: str) -> None:
        current = await db.fetchrow(self._q.escalation_holder, escalation_id)
        if current is None:
            raise NotFound(f"no escalation {escalation_id}")
        if current["status"] == "resolved":
            raise Conflict(f"escalation {escalation_id} is already resolved")
        if current["agent"] is None:
            raise Conflict(f"escalation {escalation_id} is held by nobody: nothing to {what}")
        raise Conflict(f"escalation {escalation_id} is held by {current['agent']}")

    # -- notes ----------------------------------------------------------------------------

    async def add_note(self, escalation_id: int, agent: str, text: str) -> Note:
        """An internal note; never sent. NotFound for an unknown escalation."""
        now = self._clock()
        async with self._db.transaction() as db:
            await self._find_escalation(db, escalation_id)
            await db.execute(self._q.add_note, escalation_id, agent, text, now)
        return Note(agent, text, now)

    async def notes(self, escalation_id: int) -> list[Note]:
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.notes, escalation_id)
        return [Note(row["agent"], row["text"], row["created_at"]) for row in rows]

    # -- the team's ready-made replies ----------------------------------------------------

    async def team_replies(self) -> list[TeamReply]:
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.team_replies)
        return [TeamReply.from_row(row) for row in rows]

    async def add_team_reply(self, title: str, text: str, author: str) -> int:
        async with self._db.transaction() as db:
            new = await db.fetchval(self._q.add_team_reply, title, text, author, self._clock())
        return int(new)

    async def update_team_reply(self, reply_id: int, title: str, text: str, author: str) -> None:
        """Raises NotFound."""
        async with self._db.transaction() as db:
            changed = await db.execute(
                self._q.update_team_reply, reply_id, title, text, author, self._clock()
            )
        if changed != 1:
            raise NotFound(f"no ready-made reply {reply_id}")

    async def delete_team_reply(self, reply_id: int) -> None:
        """Raises NotFound."""
        async with self._db.transaction() as db:
            if await db.execute(self._q.delete_team_reply, reply_id) != 1:
                raise NotFound(f"no ready-made reply {reply_id}")

    # -- the review of what the bot missed ------------------------------------------------

    async def missed(self, since: float, limit: int = 1000) -> list[Missed]:
        """Customers' messages since `since` the bot missed and nobody labelled yet, newest
        first."""
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.review_candidates, since, limit)
        return [
            Missed(row["id"], row["text"], row["created_at"], row["reason"], row["intent"])
            for row in rows
        ]

    async def label(self, message_id: int, intent: str, agent: str) -> None:
        """An agent's word on what a customer's message was about. NotFound unless the id
        is a customer's message."""
        async with self._db.transaction() as db:
            if await db.fetchval(self._q.customer_message, message_id) is None:
                raise NotFound(f"no customer message {message_id}")
            await db.execute(self._q.label_message, message_id, intent, agent, self._clock())

    async def labels(self) -> list[Label]:
        async with self._db.reading() as db:
            rows = await db.fetch(self._q.labelled_messages)
        return [
            Label(row["message_id"], row["intent"], row["agent"], row["labelled_at"], row["text"])
            for row in rows
        ]

    # -- reports --------------------------------------------------------------------------

    async def report(self, start: float, end: float, channel: str | None) -> dict[str, Any]:
        """The support lead's figures for [start, end), all computed by the database; see
        the report_* queries."""
        args = (start, end, channel)
        async with self._db.reading() as db:
            totals = await db.fetchrow(self._q.report_totals, *args)
            days = await db.fetch(self._q.report_days, *args)
            reasons = await db.fetch(self._q.report_reasons, *args)
            problems = await db.fetch(self._q.report_problems, *args)
            first = await db.fetchrow(self._q.report_first_reply, *args)
            backlog = await db.fetch(self._q.report_backlog, channel)
            agents = await db.fetch(self._q.report_agents, *args)
        assert totals is not None and first is not None
        return {
            "conversations": int(totals["conversations"]),
            "solved_by_bot": int(totals["solved_by_bot"]),
            "reasons": {row["reason"]: int(row["escalations"]) for row in reasons},
            "problems": {
                row["topic"]: {"answers": int(row["answers"]), "no": int(row["noes"])}
                for row in problems
            },
            "first_reply": {
                "replied": int(first["replied"]),
                "median": _number(first["median"]),
                "p90": _number(first["p90"]),
            },
            "backlog": {
                row["status"]: {"escalations": int(row["escalations"]), "oldest": row["oldest"]}
                for row in backlog
            },
            "agents": [
                {
                    "agent": row["agent"],
                    "handled": int(row["handled"]),
                    "resolved": int(row["resolved"]),
                    "holding": int(row["holding"]),
                    "replies": int(row["replies"] or 0),
                }
                for row in agents
            ],
            "days": [
                {
                    "date": row["day"],
                    "channel": row["channel"],
                    "conversations": int(row["conversations"]),
                    "solved_by_bot": int(row["solved_by_bot"]),
                    "escalations": int(row["escalations"]),
                    "yes": int(row["yes"]),
                    "no": int(row["no"]),
                }
                for row in days
            ],
        }

    async def active_escalation(self, conversation_id: int) -> EscalationView | None:
        async with self._db.reading() as db:
            row = await db.fetchrow(self._q.active_escalation, conversation_id)
        return None if row is None else EscalationView.from_row(row)

    async def escalation(self, escalation_id: int) -> EscalationView:
        """Raises NotFound."""
        async with self._db.reading() as db:
            return await self._find_escalation(db, escalation_id)

    async def claim(self, escalation_id: int, agent: str) -> EscalationView:
        """Atomically give an open escalation to `agent`; Conflict when another holds it."""
        async with self._db.transaction() as db:
            await self._take(db, self._q.take_escalation, escalation_id, agent)
            return await self._find_escalation(db, escalation_id)

    async def agent_reply(self, escalation_id: int, agent: str, reply: Reply) -> EscalationView:
        """Queue an agent's message (claiming an open escalation); Conflict when another
        agent holds it or it is resolved."""
        async with self._db.transaction() as db:
            await self._take(db, self._q.take_escalation, escalation_id, agent)
            view = await self._find_escalation(db, escalation_id)
            await self._queue(db, view.conversation.id, "agent", agent, reply)
            return view

    async def resolve(self, escalation_id: int, agent: str, handback: Reply) -> EscalationView:
        """Close the escalation, give the conversation back to the bot and queue `handback`.
        Conflict when another agent holds it or it is already resolved."""
        async with self._db.transaction() as db:
            await self._take(db, self._q.resolve_escalation, escalation_id, agent)
            view = await self._find_escalation(db, escalation_id)
            state = view.conversation.state.handed_back()
            await db.execute(
                self._q.save_state, state.model_dump_json(), self._clock(), view.conversation.id
            )
            await self._queue(db, view.conversation.id, "bot", None, handback)
            return view

    async def _take(self, db: Session, statement: Any, escalation_id: int, agent: str) -> None:
        """Run a claim or resolve; explain a refusal with NotFound or Conflict."""
        if await db.execute(statement, escalation_id, agent, self._clock(), *NATIVE) == 1:
            return
        current = await db.fetchrow(self._q.escalation_holder, escalation_id)
        if current is None:
            raise NotFound(f"no escalation {escalation_id}")
        if current["status"] == "resolved":
            raise Conflict(f"escalation {escalation_id} is already resolved")
        raise Conflict(f"escalation {escalation_id} is held by {current['agent']}")

    async def _find_escalation(self, db: Session, escalation_id: int) -> EscalationView:
        row = await db.fetchrow(self._q.escalation, escalation_id)
        if row is None:
            raise NotFound(f"no escalation {escalation_id}")
        return EscalationView.from_row(row)

    async def _queue(
        self, db: Session, conversation_id: int, author: str, agent: str | None, reply: Reply
    ) -> None:
        """Add an outgoing message to the transcript and the outbox."""
        now = self._clock()
        message_id = await db.fetchval(
            self._q.add_message, conversation_id, author, agent, reply.text, now
        )
        await db.execute(
            self._q.add_delivery, conversation_id, message_id, author, reply.model_dump_json(), now
        )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def migrations(dialect: str) -> list[tuple[int, str, str]]:
    """(version, name, script) of every migration for `dialect`, in order: the common file
    of a version, or its file for this dialect."""
    own = _DIALECT_FILES[dialect]
    found: dict[int, tuple[str, str]] = {}
    for item in resources.files("bot.store.migrations").iterdir():
        match = _MIGRATION_RE.match(item.name)
        if match is None or match.group(3) not in (None, own):
            continue
        version = int(match.group(1))
        found[version] = (f"{match.group(1)}_{match.group(2)}", item.read_text("utf-8"))
    return [(version, *found[version]) for version in sorted(found)]


def _batch(turns: Sequence[TurnRecord], ids: Sequence[int]) -> str:
    """The batch `finish_turns` writes, as JSON: each turn's new state; the transcript
    lines (each customer's message, or what a person wrote natively, then the bot's
    replies, given `ids` in that order, so that each conversation's transcript keeps it);
    the replies to send."""
    numbers = iter(ids)
    messages: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []
    for turn in turns:
        event, message = turn.event, turn.event.message
        native = event.kind == "takeover"
        messages.append(
            {
                "id": next(numbers),
                "conversation_id": event.conversation.id,
                "direction": "out" if native else "in",
                "author": "native" if native else "customer",
                "agent": NATIVE_AGENTS.get(message.channel, message.channel) if native else None,
                "text": message.text,
                "payload": message.payload,
                "attachments": message.attachments,
                "platform_id": message.platform_id,
                "intent": turn.intent,
                "score": turn.score,
                "action": turn.action,
                "topic": turn.state.last_intent if turn.action else None,
                "event_id": event.id,
            }
        )
    for turn in turns:
        for position, reply in enumerate(turn.replies):
            message_id = next(numbers)
            conversation_id, event_id = turn.event.conversation.id, turn.event.id
            messages.append(
                {
                    "id": message_id, "conversation_id": conversation_id, "direction": "out",
                    "author": "bot", "agent": None, "text": reply.text, "payload": None,
                    "attachments": 0, "platform_id": None, "intent": None, "score": None,
                    "action": None, "topic": None, "event_id": event_id,
                }
            )  # fmt: skip
            replies.append(
                {
                    "conversation_id": conversation_id, "message_id": message_id,
                    "reply": reply.model_dump_json(), "first_of_turn": position == 0,
                    "event_id": event_id, "position": len(replies),
                }
            )  # fmt: skip
    states = [
        {
            "event_id": t.event.id,
            "conversation_id": t.event.conversation.id,
            "state": t.state.model_dump_json(),
            "ms": (t.event.message.timestamp_ms or None) if t.event.kind == "message" else None,
            "version": t.event.conversation.version,
        }
        for t in turns
    ]
    return json.dumps({"turns": states, "messages": messages, "replies": replies})
