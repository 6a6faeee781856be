"""What the store hands out and takes in: plain records, built from rows by column name,
and the errors it raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from adapters.base import EventKind, Outgoing
from bot.models import Channel, IncomingMessage, Reply
from bot.policy import ConversationState

__all__ = [
    "NATIVE_AGENTS",
    "ROLES",
    "Agent",
    "Author",
    "ClaimedEvent",
    "Conflict",
    "Conversation",
    "Counts",
    "Deletion",
    "Delivery",
    "Duplicate",
    "EscalationView",
    "Identity",
    "Label",
    "Missed",
    "NewEscalation",
    "NotFound",
    "Note",
    "OutboxRow",
    "Role",
    "Row",
    "StoreError",
    "TeamReply",
    "TranscriptEntry",
    "TurnRecord",
]

# Who wrote a transcript entry; "native" is a person answering from the platform's own app
# (the Page Inbox, the X app), under these agent names.
Author = Literal["customer", "bot", "agent", "native"]
NATIVE_AGENTS: dict[str, str] = {"messenger": "Page Inbox", "twitter": "X"}


class Row(Protocol):
    """A result row of either database: its values by column name."""

    def __getitem__(self, key: str | int, /) -> Any: ...


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
    def from_row(cls, row: Row) -> Conversation:
        return cls(
            row["conversation_id"],
            row["channel"],
            row["customer_id"],
            row["customer_name"],
            ConversationState.model_validate_json(row["state"]),
            row["last_customer_ms"],
            row["version"],
        )


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """An inbox event leased to one worker, with its conversation as it stands."""

    id: int
    kind: EventKind
    message: IncomingMessage
    conversation: Conversation
    attempts: int

    @classmethod
    def from_row(cls, row: Row) -> ClaimedEvent:
        message = IncomingMessage.model_validate_json(row["message"])
        return cls(
            row["event_id"], row["kind"], message, Conversation.from_row(row), row["attempts"]
        )


@dataclass(frozen=True, slots=True)
class NewEscalation:
    reason: str
    intent: str | None
    score: float | None
    agent: str | None = None  # set when a person already holds it (a native inbox)


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


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outbox row leased to the sender; `more`: another reply of its conversation waits
    behind it."""

    id: int
    conversation_id: int
    channel: Channel
    author: str
    outgoing: Outgoing
    attempts: int
    created_at: float = 0.0
    more: bool = False

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        outgoing = Outgoing(
            recipient=row["customer_id"],
            reply=Reply.model_validate_json(row["reply"]),
            human=row["author"] != "bot",
            last_customer_ms=row["last_customer_ms"],
            first_of_turn=bool(row["first_of_turn"]),
            reference=str(row["delivery_id"]),
        )
        return cls(
            row["delivery_id"],
            row["conversation_id"],
            row["channel"],
            row["author"],
            outgoing,
            row["attempts"],
            row["created_at"],
            bool(row["more"]),
        )


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
    action: str | None = None  # for a customer's message: what the bot did with it

    @classmethod
    def from_row(cls, row: Row) -> TranscriptEntry:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


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

    @classmethod
    def from_row(cls, row: Row) -> OutboxRow:
        values = {name: row[name] for name in cls.__dataclass_fields__ if name != "reply"}
        return cls(reply=Reply.model_validate_json(row["reply"]), **values)


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
    def from_row(cls, row: Row) -> EscalationView:
        return cls(
            row["escalation_id"],
            row["status"],
            row["reason"],
            row["intent"],
            row["score"],
            row["agent"],
            row["created_at"],
            row["claimed_at"],
            row["resolved_at"],
            Conversation.from_row(row),
        )


@dataclass(frozen=True, slots=True)
class Deletion:
    """A customer's request to delete their data, as its status page shows it."""

    code: str
    channel: str
    conversations: int
    requested_at: float

    @classmethod
    def from_row(cls, row: Row) -> Deletion:
        return cls(row["code"], row["channel"], row["conversations"], row["requested_at"])


Role = Literal["agent", "admin"]
ROLES: tuple[Role, ...] = ("agent", "admin")


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    created_at: float
    role: Role = "agent"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling the desk: an agent's name and role."""

    name: str
    role: Role

    @property
    def admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class Note:
    """An agent's internal note on an escalation: never sent to the customer."""

    agent: str
    text: str
    created_at: float


@dataclass(frozen=True, slots=True)
class TeamReply:
    """A ready-made reply written by the team."""

    id: int
    title: str
    text: str
    author: str
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Row) -> TeamReply:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class Missed:
    """A customer's message the bot missed, as the review lists it."""

    id: int
    text: str
    created_at: float
    reason: str  # none | clarified | not_solved
    intent: str  # the problem it was taken for, or chosen ("none": not understood)


@dataclass(frozen=True, slots=True)
class Label:
    """An agent's label on a customer's message: the problem it was, or "none"."""

    message_id: int
    intent: str
    agent: str
    labelled_at: float
    text: str


class StoreError(Exception):
    """The database is unreachable, locked for too long, or refuses a statement."""


class NotFound(StoreError):
    """No such escalation or agent."""


class Conflict(StoreError):
    """The change clashes with the current state (another agent holds it, already resolved)."""


class Duplicate(StoreError):
    """A row with the same unique key exists already."""
