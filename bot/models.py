"""Values that cross module boundaries: incoming messages, replies, decisions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Channel = Literal["messenger", "twitter", "local"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuickReply(_Frozen):
    """A choice offered under a message; `payload` comes back when the customer taps it."""

    title: str
    payload: str


class LinkButton(_Frozen):
    """A button that opens a web address the article gives."""

    title: str
    url: str


class Reply(_Frozen):
    """One channel-neutral message from the bot or an agent to a customer.

    `reply_to_post` makes it a public answer to that post instead of a private message.
    """

    text: str
    quick_replies: tuple[QuickReply, ...] = ()
    buttons: tuple[LinkButton, ...] = ()
    reply_to_post: str | None = None


class IncomingMessage(_Frozen):
    """One customer event, already verified and parsed by its channel adapter.

    `payload` is set for a quick-reply tap or a postback and wins over `text`.
    `attachments` counts images or files the customer sent without words we can read.
    """

    channel: Channel
    platform_id: str = Field(description="Messenger mid, Twitter event id, or a local id")
    sender_id: str
    sender_name: str | None = None
    text: str = ""
    payload: str | None = None
    attachments: int = 0
    timestamp_ms: int = 0
    # A public post naming the support account (a tweet): the bot answers it once,
    # publicly, only to invite the customer to write privately.
    post_id: str | None = None

    @field_validator("timestamp_ms", mode="before")
    @classmethod
    def _plausible_time(cls, value: object) -> object:
        # A platform's milliseconds since 1970; anything absurd (negative, past the year
        # 287396, beyond what databases store) counts as unknown rather than crashing later.
        if isinstance(value, int) and not 0 <= value < 2**53:
            return 0
        return value


class Say(_Frozen):
    """One message the policy wants to send: a template of `responses/` and its choices."""

    template: str
    context: dict[str, int | str | None] = Field(default_factory=dict)
    quick_replies: tuple[QuickReply, ...] = ()
    buttons: tuple[LinkButton, ...] = ()


Action = Literal[
    "answer",
    "clarify",
    "fallback",
    "offer_human",
    "rephrase",
    "escalate",
    "greet",
    "thanks",
    "resolved",
    "attachment",
    "silent",
    "wait",
    "redirect",
    "language",
    "flood",
    "mention",
    "takeover",
    "note",
]
Feedback = Literal["yes", "no"]


class Decision(_Frozen):
    """What the dialogue policy decided for one customer message.

    `answered` are the article's problems answered, in the customer's order; `feedback`
    what the message said of the answer before it ("oui merci, et pour …" is "yes" and a new
    question); `language` the customer's language when it is not French (the reply carries
    a note in it); `acknowledged` whether the reply opens by acknowledging an angry
    customer; `reminded` whether it reminds never to send a password or a card number.
    """

    action: Action
    intent: str
    score: float = 0.0
    says: tuple[Say, ...] = ()
    escalation_reason: str | None = None
    answered: tuple[str, ...] = ()
    feedback: Feedback | None = None
    language: str | None = None
    acknowledged: bool = False
    reminded: bool = False
