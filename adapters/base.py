"""The boundary every channel adapter keeps: raw bytes in, `IncomingMessage`s out; `Reply`s sent.

Only these values cross it. Adapters get the shared `ClientSession` and their settings in
`__init__`; they never see the store or the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, Protocol

import aiohttp
from aiohttp import web
from yarl import URL

from bot.models import Channel, IncomingMessage, Reply
from responses.limits import ChannelLimits

# What an inbound event asks of the service:
# - "message": a customer wrote; the engine answers;
# - "takeover": a person answered natively (Page Inbox, the X app); the bot pauses;
# - "note": kept in the transcript only (a message delivered while another app had the thread).
# - "mention": a public post naming the account; one public reply inviting to a private
#   conversation, no engine run;
# - "receipt": the platform's echo of a reply we sent (`receipt` says which): proof that
#   it was delivered;
# - "own": a message the account sent from an app the platform does not name: ours if the
#   outbox has it (or one of ours to this customer is on its way), else a person's
#   (a takeover). The service decides, with the outbox; adapters keep no record of sends.
EventKind = Literal["message", "takeover", "note", "mention", "receipt", "own"]
# Outbox ids are the database's 64-bit integers.
_MAX_REFERENCE_DIGITS = 18


@dataclass(frozen=True, slots=True)
class Receipt:
    """Which reply the platform delivered: our outbox id, and the platform's message id."""

    outbox_id: int
    platform_id: str

    @classmethod
    def read(cls, reference: str, platform_id: str) -> Receipt | None:
        """From the reference our send carried; None unless it is one of our outbox ids
        (plain ASCII digits, as we wrote them)."""
        if not (reference.isascii() and reference.isdigit()):
            return None
        if len(reference) > _MAX_REFERENCE_DIGITS:
            return None
        return cls(int(reference), platform_id)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One event of a webhook, parsed; `message.sender_id` is always the customer."""

    kind: EventKind
    message: IncomingMessage
    receipt: Receipt | None = None  # set on a "receipt"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One reply to deliver, with what the channel needs to pick the right kind of send."""

    recipient: str
    reply: Reply
    human: bool = False  # an agent's message, not the bot's
    last_customer_ms: int | None = None  # the customer's last message, for messaging windows
    first_of_turn: bool = False  # the first reply to a customer message
    reference: str | None = None  # our outbox id, echoed back by platforms that can


@dataclass(frozen=True, slots=True)
class Window:
    """Whether an agent may still write to a customer, and for how long.

    kind: "response" (a normal reply), "human_agent" (a person only, tagged), "closed",
    or "none" (the channel sets no limit).
    """

    kind: Literal["response", "human_agent", "closed", "none"]
    remaining_seconds: int | None = None


class PayloadError(ValueError):
    """A webhook body that is not what the platform sends: answered with 400."""


class SendError(Exception):
    """A send that did not go through; `code` is the platform's error code when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RetryableSendError(SendError):
    """Timeouts, 5xx and rate limits: the outbox tries again later (after `retry_after`).

    `unconfirmed`: the request may have reached the platform and been delivered all the
    same (no answer in time, a connection lost before the answer, a 5xx): the retry waits
    for the platform's echo, which would confirm it.
    """

    def __init__(
        self,
        message: str,
        code: str | None = None,
        retry_after: float | None = None,
        *,
        unconfirmed: bool = False,
    ) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after
        self.unconfirmed = unconfirmed


class PermanentSendError(SendError):
    """The platform refused for good (blocked, unknown recipient, window closed)."""


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    """A platform API's answer: the status, its JSON (None when the body is not JSON), and
    the one header the caller asked for (a retry delay or a rate-limit reset)."""

    status: int
    json: Any
    header: str | None


async def call_api(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    *,
    api: str,
    client_timeout: aiohttp.ClientTimeout,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    header: str | None = None,
) -> ApiAnswer:
    """One request to a platform API (`api` names it in errors). No answer in time, or no
    connection, raises RetryableSendError: the request may go through another time. Only
    a connection never made, or redirects, say the platform did not take the request."""
    try:
        async with session.request(
            method, url, json=json, headers=headers, timeout=client_timeout
        ) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            value = response.headers.get(header) if header else None
            return ApiAnswer(response.status, body, value)
    except TimeoutError as exc:
        raise RetryableSendError(f"{api} timed out", code="timeout", unconfirmed=True) from exc
    except aiohttp.ClientError as exc:
        sent = not isinstance(exc, aiohttp.ClientConnectorError | aiohttp.TooManyRedirects)
        raise RetryableSendError(
            f"{api} unreachable: {describe(exc)}", code="network", unconfirmed=sent
        ) from exc


# An address's query string, wherever it appears in a text (the Send API's address carries
# the page token as `access_token=…`), and a token named outside an address.
_QUERY: Final = re.compile(r"""(\b[a-z][a-z0-9+.-]*://[^\s?#'"<>]*)\?[^\s#'"<>]*""", re.I)
_NAMED_TOKEN: Final = re.compile(r"(access_token|appsecret_proof|token)=[^&\s'\"<>]+", re.I)


def describe(exc: BaseException) -> str:
    """What went wrong in a call to a platform, fit to be stored, shown to agents and
    logged: the addresses it names lose their query strings, where the tokens are."""
    if isinstance(exc, aiohttp.TooManyRedirects):
        url = exc.request_info.real_url.with_query(None)
        text = f"too many redirects ({len(exc.history)}), the last from {url}"
    elif isinstance(exc, aiohttp.ClientResponseError):
        url = exc.request_info.real_url.with_query(None)
        text = f"HTTP {exc.status} {exc.message} from {url}"
    else:
        text = str(exc) or type(exc).__name__
    return _NAMED_TOKEN.sub(r"\1=…", _QUERY.sub(r"\1?…", text))


class ChannelAdapter(Protocol):
    """One channel: verify and parse its webhooks, send replies through its API."""

    channel: ClassVar[Channel]
    signature_header: ClassVar[str]  # absent: 401; present but wrong: 403
    limits: ClassVar[ChannelLimits]
    read_receipts: ClassVar[bool]  # the API can mark a customer's message as read

    def handshake(self, query: Mapping[str, str]) -> web.Response:
        """Answer the platform's subscription check (hub.challenge, CRC)."""
        ...

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when `body`, exactly as received, carries the platform's valid signature."""
        ...

    def parse(self, body: bytes) -> list[Inbound]:
        """The events of a verified body; nothing for unknown kinds.

        Raises PayloadError when the body is not JSON of the platform's shape.
        """
        ...

    def agent_window(self, last_customer_ms: int | None, now_ms: int) -> Window:
        """How long a person may still answer this customer on this channel."""
        ...

    async def display_name(self, user_id: str) -> str | None:
        """The customer's name for the desk, when the platform gives it; best effort."""
        ...

    async def mark_seen(self, recipient: str) -> None:
        """Show the customer their message was read ("seen"), if `read_receipts`; best
        effort, never raises."""
        ...

    async def send(self, outgoing: Outgoing) -> str | None:
        """Deliver one reply; return the platform's message id.

        Raises RetryableSendError or PermanentSendError.
        """
        ...
