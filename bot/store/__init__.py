"""The durable store: conversations, transcript, inbox, outbox and escalations.

`Store` is the interface the service uses; `open_store` picks the implementation from
`BOT_DATABASE_URL`. Work is claimed with leases, so an event or a reply held by a process
that died is taken up again, and a lease that was lost is never finished twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from adapters.base import EventKind, Inbound, Outgoing
from bot.models import Channel, IncomingMessage, Reply
from bot.policy import ConversationState

# Who wrote a transcript entry; "native" is a person answering from the platform's own app
# (the Page Inbox, the X app), under these agent names.
Author = Literal["customer", "bot", "agent", "native"]
NATIVE_AGENTS: dict[str, str] = {"messenger": "Page Inbox", "twitter": "X"}

# `Counts` in SQL both databases read the same way: the work still to do and the
# failures, each from a partial index, never the whole history (done events, sent replies).
BACKLOG_COUNTS = """
SELECT 'inbox:pending', COUNT(*) FROM inbox WHERE status = 'pending'
UNION ALL
SELECT 'inbox:failed', COUNT(*) FROM inbox WHERE status = 'failed'
UNION ALL
SELECT 'outbox:' || status, COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')
GROUP BY status
UNION ALL
SELECT 'outbox:failed', COUNT(*) FROM outbox WHERE status = 'failed'
"""


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    channel: Channel
    customer_id: str
    customer_name: str | None
    state: ConversationState
    last_customer_ms: int | None
    version: int = 0  # bumped at every state change

    @classmethod
    def from_row(cls, row: Iterable[Any]) -> Conversation:
        """From (id, channel, customer_id, customer_name, state JSON, last_customer_ms, version)."""
        conversation_id, channel, customer_id, name, state, last_ms, version = tuple(row)
        return cls(
            conversation_id,
            channel,
            customer_id,
            name,
            ConversationState.model_validate_json(state),
            last_ms,
            version,
        )


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """An inbox event leased to one worker, with its conversation as it stands."""

    id: int
    kind: EventKind
    message: IncomingMessage
    conversation: Conversation
    attempts: int


@dataclass(frozen=True, slots=True)
class NewEscalation:
    reason: str
    intent: str | None
    score: float | None
    agent: str | None = None  # set when a person already holds it (a native inbox)

    def opening(self, conversation_id: int, now: float) -> tuple[Any, ...]:
        """The new escalation row: (conversation, status, reason, intent, score, agent,
        created at, claimed at); held at once when a person already has it."""
        claimed = self.agent is not None
        return (
            conversation_id,
            "claimed" if claimed else "open",
            self.reason,
            self.intent,
            self.score,
            self.agent,
            now,
            now if claimed else None,
        )


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """Everything one processed event changes, committed in one transaction."""

    event: ClaimedEvent
    state: ConversationState
    replies: Sequence[Reply] = ()
    intent: str | None = None
    score: float | None = None
    escalation: NewEscalation | None = None
    takeover: bool = False  # drop the bot's unsent replies: a person has the conversation
    action: str | None = None  # what the policy decided (for metrics and logs)

    def handed_over(self, delivery_id: int, now: float) -> Delivery:
        """This turn's first reply, leased as the turn is committed (outbox row
        `delivery_id`): what a claim would have returned, without the claim."""
        event = self.event
        customer_ms = event.message.timestamp_ms if event.kind == "message" else None
        outgoing = Outgoing(
            recipient=event.conversation.customer_id,
            reply=self.replies[0],
            last_customer_ms=customer_ms or event.conversation.last_customer_ms,
            first_of_turn=True,
            reference=str(delivery_id),
        )
        return Delivery(
            delivery_id, event.conversation.id, event.conversation.channel, "bot", outgoing, 1, now
        )

    def transcript_line(self) -> tuple[Any, ...]:
        """The event's line in the transcript: (direction, author, agent, text, payload,
        attachments, platform_id, intent, score). A native takeover is what a person wrote
        from the platform's own inbox; anything else is the customer's message."""
        message = self.event.message
        native = self.event.kind == "takeover"
        return (
            "out" if native else "in",
            "native" if native else "customer",
            NATIVE_AGENTS.get(message.channel, message.channel) if native else None,
            message.text,
            message.payload,
            message.attachments,
            message.platform_id,
            self.intent,
            self.score,
        )


@dataclass(frozen=True, slots=True)
class Finished:
    """What `Store.finish_turns` committed."""

    committed: int  # turns whose effects were written
    # First replies leased on the way (`lease` > 0), ready to send: no claim needed.
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outbox row leased to the sender."""

    id: int
    conversation_id: int
    channel: Channel
    author: str
    outgoing: Outgoing
    attempts: int
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    id: int
    direction: Literal["in", "out"]
    author: Author
    agent: str | None
    text: str
    payload: str | None
    attachments: int
    intent: str | None
    score: float | None
    created_at: float
    delivery: str | None = None  # outbox status of an outgoing message
    error: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    conversation_id: int
    author: str
    reply: Reply
    status: str
    attempts: int
    error: str | None
    platform_message_id: str | None


@dataclass(slots=True)
class Counts:
    """Backlog figures for readiness and metrics: work still to do and failures only
    ("inbox:pending", "inbox:failed", "outbox:pending", "outbox:sending", "outbox:failed"
    in `by_status`, absent when zero), never the whole history."""

    inbox_pending: int = 0
    outbox_pending: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_statuses(cls, by_status: dict[str, int]) -> Counts:
        """From {"inbox:pending": n, "outbox:sending": n, …}."""
        return cls(
            inbox_pending=by_status.get("inbox:pending", 0),
            outbox_pending=by_status.get("outbox:pending", 0)
            + by_status.get("outbox:sending", 0),
            by_status=by_status,
        )


@dataclass(frozen=True, slots=True)
class EscalationView:
    """An escalation with its conversation, as the desk shows it."""

    id: int
    status: str
    reason: str
    intent: str | None
    score: float | None
    agent: str | None
    created_at: float
    claimed_at: float | None
    resolved_at: float | None
    conversation: Conversation

    @classmethod
    def from_row(cls, row: Iterable[Any]) -> EscalationView:
        """From the escalation's nine columns followed by the conversation's seven."""
        values = tuple(row)
        escalation_id, status, reason, intent, score, agent, created, claimed, resolved = values[:9]
        return cls(
            escalation_id,
            status,
            reason,
            intent,
            score,
            agent,
            created,
            claimed,
            resolved,
            Conversation.from_row(values[9:]),
        )


@dataclass(frozen=True, slots=True)
class Deletion:
    """A customer's request to delete their data, as its status page shows it."""

    code: str
    channel: str
    conversations: int
    requested_at: float


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    created_at: float


class StoreError(Exception):
    """The database is unreachable, locked for too long, or refuses a statement."""


class NotFound(StoreError):
    """No such escalation or agent."""


class Conflict(StoreError):
    """The change clashes with the current state (another agent holds it, already resolved)."""


class Store(Protocol):
    """The service's durable state. Every method is one transaction."""

    async def open(self) -> None:
        """Connect and apply pending migrations."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreError when the database cannot answer."""
        ...

    async def schema_version(self) -> int:
        """The last migration applied."""
        ...

    async def notify(self, name: str, data: dict[str, Any]) -> None:
        """Tell every listener, in every instance on this database, about a desk event."""
        ...

    async def listen(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Call `listener(name, data)` for each event notified from now on."""
        ...

    async def add_inbox(
        self, events: Sequence[Inbound], cursor: tuple[str, str] | None = None
    ) -> None:
        """Store acknowledged events durably; a redelivered event is never processed twice
        (dropped here, or before it is claimed).

        `cursor` (name, value) is saved in the same transaction: a poller's position.
        """
        ...

    async def cursor(self, name: str) -> str | None:
        """The position saved under `name` by `add_inbox`, if any."""
        ...

    async def claim_events(self, owner: str, limit: int, lease: float) -> list[ClaimedEvent]:
        """Lease the oldest pending event of up to `limit` conversations that have no event
        leased: a conversation's events are handed out one at a time, in order."""
        ...

    async def finish_turns(
        self, owner: str, turns: Sequence[TurnRecord], lease: float = 0.0
    ) -> Finished:
        """Commit processed events with their effects; a turn whose lease `owner` no longer
        holds is skipped. With `lease` (seconds), the first reply of each committed turn
        whose conversation has no earlier reply waiting is leased to `owner` at once and
        returned, as `claim_deliveries` would."""
        ...

    async def fail_event(self, owner: str, event_id: int, error: str, give_up: bool) -> None:
        """Release an event whose processing raised; `give_up` marks it failed for good."""
        ...

    async def claim_deliveries(
        self, owner: str, limit: int, lease: float, now: float
    ) -> list[Delivery]:
        """Lease the first unsent reply of up to `limit` conversations, when it is due."""
        ...

    async def confirm_deliveries(self, receipts: Sequence[tuple[int, str]]) -> int:
        """Mark replies delivered on the platform's word (echoes of (outbox id, message
        id)), whatever state they were in: a reply confirmed is never sent again."""
        ...

    async def set_customer_name(self, conversation_id: int, name: str) -> None: ...

    async def still_ours(self, owner: str, delivery_id: int) -> bool:
        """True while the lease holds and the reply was not dropped (a person took over)."""
        ...

    async def delivered(
        self, owner: str, delivery_id: int, platform_id: str | None, lease: float = 0.0
    ) -> Delivery | None:
        """Record a reply the platform took. With `lease` (seconds), its conversation's
        next reply, if one is due, is leased to `owner` at once and returned, as
        `claim_deliveries` would: a turn's replies follow each other without a claim."""
        ...

    async def retry_later(self, owner: str, delivery_id: int, at: float, error: str) -> None: ...

    async def undeliverable(self, owner: str, delivery_id: int, error: str) -> None: ...

    async def conversation(self, channel: Channel, customer_id: str) -> Conversation | None: ...

    async def transcript(self, conversation_id: int) -> list[TranscriptEntry]: ...

    async def escalations(self, conversation_id: int) -> list[EscalationView]:
        """Every escalation of one conversation, oldest first."""
        ...

    async def outbox(self, conversation_id: int) -> list[OutboxRow]: ...

    async def counts(self) -> Counts: ...

    # -- data protection ----------------------------------------------------------------

    async def forget(self, channel: Channel, customer_ids: Sequence[str], code: str) -> int:
        """Delete everything stored about one customer, known by these ids on `channel`
        (conversations, transcript, replies, escalations, pending events), and record the
        request under `code`. Returns the number of conversations deleted."""
        ...

    async def deletion(self, code: str) -> Deletion | None: ...

    async def purge(self, before: float) -> tuple[int, int]:
        """Delete conversations untouched since `before` (unless a person has them) and the
        inbox rows done before it. Returns (conversations, inbox rows) deleted."""
        ...

    # -- agents and escalations (the desk) ------------------------------------------------

    async def add_agent(self, name: str, token_hash: str) -> None:
        """Raises Conflict when the name is taken."""
        ...

    async def remove_agent(self, name: str) -> None:
        """Raises NotFound for an unknown name; the agent's token stops working at once."""
        ...

    async def agents(self) -> list[Agent]: ...

    async def agent_for(self, token_hash: str) -> str | None:
        """The name of the agent holding this token, if any."""
        ...

    async def list_escalations(self, status: str | None) -> list[EscalationView]: ...

    async def active_escalation(self, conversation_id: int) -> EscalationView | None: ...

    async def announce(self, changes: Sequence[tuple[int, str]]) -> None:
        """Tell the desks, on every instance, about conversations a person handles: for each
        (conversation id, event name), the event with the conversation's active escalation
        (its id, status and agent); nothing for a conversation without one."""
        ...

    async def escalation(self, escalation_id: int) -> EscalationView:
        """Raises NotFound."""
        ...

    async def claim(self, escalation_id: int, agent: str) -> EscalationView:
        """Atomically give an open escalation to `agent`; Conflict when another holds it."""
        ...

    async def agent_reply(self, escalation_id: int, agent: str, reply: Reply) -> EscalationView:
        """Queue an agent's message (claiming an open escalation); Conflict when another
        agent holds it or it is resolved."""
        ...

    async def resolve(self, escalation_id: int, agent: str, handback: Reply) -> EscalationView:
        """Close the escalation, give the conversation back to the bot and queue `handback`.
        Conflict when another agent holds it or it is already resolved."""
        ...


def open_store(
    url: str, *, busy_timeout: float = 5.0, exclusive: bool = True, unconfirmed_wait: float = 10.0
) -> Store:
    """The store for `BOT_DATABASE_URL` (not yet opened).

    `exclusive` is for `serve`, which runs the workers; the administration commands
    (`agent add`…) open it beside a running server.
    """
    if url.startswith("sqlite:///"):
        from bot.store.sqlite import SQLiteStore

        return SQLiteStore(
            url.removeprefix("sqlite:///"),
            busy_timeout=busy_timeout,
            exclusive=exclusive,
            unconfirmed_wait=unconfirmed_wait,
        )
    if url.startswith(("postgresql://", "postgres://")):
        from bot.store.postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(
        f"no store for {url.split(':', 1)[0]}://; use sqlite:///PATH or postgresql://…"
    )
