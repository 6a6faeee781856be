"""Facebook Messenger: webhook verification and parsing, and the Send API.

Values come from the Messenger Platform documentation (Graph API v21):
- webhooks, subscription check and X-Hub-Signature-256:
  https://developers.facebook.com/docs/messenger-platform/webhooks
- event shapes (messages, echoes, postbacks, standby):
  https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
- Send API, quick replies, button template, sender actions:
  https://developers.facebook.com/docs/messenger-platform/reference/send-api
  https://developers.facebook.com/docs/messenger-platform/send-messages/quick-replies
  https://developers.facebook.com/docs/messenger-platform/send-messages/template/button
  https://developers.facebook.com/docs/messenger-platform/send-messages/sender-actions
- error codes: https://developers.facebook.com/docs/messenger-platform/error-codes
- 24-hour window and the HUMAN_AGENT tag (7 days, people only):
  https://developers.facebook.com/docs/messenger-platform/send-messages#messaging_types
  https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, NotRequired, cast

import aiohttp
from aiohttp import web
from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic reads only this one's on Python 3.11
from yarl import URL

from adapters.base import (
    EventKind,
    Inbound,
    Outgoing,
    PayloadError,
    PermanentSendError,
    Receipt,
    RetryableSendError,
    Window,
    call_api,
    describe,
)
from bot.models import Channel, IncomingMessage, Reply
from responses.limits import MESSENGER, ChannelLimits, shorten

log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
# Set on every message we send, with the outbox row's id ("parallels-support-bot:1234");
# Facebook returns it in the echo, so an echo that carries it is ours even when
# MESSENGER_APP_ID is not configured, and it confirms that this row was delivered.
METADATA: Final = "parallels-support-bot"
HOUR_MS: Final = 3_600_000
STANDARD_WINDOW_MS: Final = 24 * HOUR_MS
HUMAN_AGENT_WINDOW_MS: Final = 7 * 24 * HOUR_MS
# Graph error codes worth another try: 1 and 2 (unknown / temporary), 4, 17, 32 and 613
# (rate limits), 1200 (temporary send failure). Every other code is the platform's final
# word: unknown recipient (100), token (190), permission or window (10, 200), person not
# available (551).
TRANSIENT_CODES: Final = frozenset({1, 2, 4, 17, 32, 613, 1200})
RATE_LIMIT_CODES: Final = frozenset({4, 17, 32, 613})
RATE_LIMIT_PAUSE: Final = 60.0
# A data deletion callback's signed_request is refused once older than this (seconds), or
# dated further in the future than our clocks may differ.
SIGNED_REQUEST_MAX_AGE: Final = 86_400.0
CLOCK_SKEW: Final = 300.0


# -- webhook payloads -------------------------------------------------------------------
# Typed dictionaries, not models: pydantic reads a whole webhook into them in one pass,
# about three times faster than building a model object per level (the webhook path is
# the hot one). Unknown keys are ignored.


class _Party(TypedDict):
    id: str


class _QuickReply(TypedDict):
    payload: str


class _Message(TypedDict):
    mid: str
    text: NotRequired[str | None]
    quick_reply: NotRequired[_QuickReply | None]
    attachments: NotRequired[list[dict[str, Any]] | None]
    is_echo: NotRequired[bool]
    app_id: NotRequired[int | str | None]
    metadata: NotRequired[str | None]


class _Postback(TypedDict, total=False):
    mid: str | None
    title: str | None
    payload: str | None


class _Event(TypedDict):
    sender: _Party
    recipient: _Party
    timestamp: NotRequired[int]
    message: NotRequired[_Message | None]
    postback: NotRequired[_Postback | None]


class _Entry(TypedDict):
    messaging: NotRequired[list[_Event]]
    standby: NotRequired[list[_Event]]


class _Webhook(TypedDict):
    object: str
    entry: list[_Entry]


class _LooseEntry(TypedDict):
    messaging: NotRequired[list[dict[str, Any]]]
    standby: NotRequired[list[dict[str, Any]]]


class _LooseWebhook(TypedDict):
    object: str
    entry: list[_LooseEntry]


# A webhook whose events all have the shapes above, in one pass; when one does not
# (a kind we do not know, a malformed event), the envelope, then each event on its own,
# so that the others are still taken.
_WEBHOOK: Final = TypeAdapter(_Webhook)
_LOOSE_WEBHOOK: Final = TypeAdapter(_LooseWebhook)
_EVENT: Final = TypeAdapter(_Event)


class MessengerAdapter:
    """The Messenger channel; see the module docstring for the documentation it follows."""

    channel: ClassVar[Channel] = "messenger"
    signature_header: ClassVar[str] = SIGNATURE_HEADER
    limits: ClassVar[ChannelLimits] = MESSENGER
    read_receipts: ClassVar[bool] = True

    def __init__(
        self,
        *,
        app_secret: str,
        verify_token: str | None,
        page_token: str | None,
        api_url: str,
        app_id: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._secret = app_secret.encode()
        self._verify_token = verify_token
        self._page_token = page_token
        self._api_url = api_url.rstrip("/")
        self._urls: dict[str, URL] = {}
        self._app_id = app_id
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    # -- webhook --------------------------------------------------------------------------

    def handshake(self, query: Mapping[str, str]) -> web.Response:
        """The subscription check: echo `hub.challenge` when the verify token matches."""
        token = query.get("hub.verify_token", "")
        expected = self._verify_token or ""
        if (
            query.get("hub.mode") == "subscribe"
            and expected
            and hmac.compare_digest(token.encode(), expected.encode())
            and "hub.challenge" in query
        ):
            return web.Response(text=query["hub.challenge"])
        return web.json_response({"error": "verification failed"}, status=403)

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """HMAC-SHA256 of the raw body with the app secret, as `sha256=<hex>`.

        Facebook signs the bytes it sends (JSON with non-ASCII escaped as \\uXXXX), so the
        body is hashed exactly as received, never re-serialised.
        """
        given = headers.get(SIGNATURE_HEADER, "")
        if not given.startswith("sha256="):
            return False
        expected = hmac.digest(self._secret, body, "sha256").hex()  # one call into OpenSSL
        given_hex = given.removeprefix("sha256=").lower().encode()
        return hmac.compare_digest(given_hex, expected.encode())

    def parse(self, body: bytes) -> list[Inbound]:
        checked = True  # every event already read as an `_Event`
        try:
            webhook: _Webhook | _LooseWebhook = _WEBHOOK.validate_json(body)
        except ValidationError:
            checked = False
            try:
                webhook = _LOOSE_WEBHOOK.validate_json(body)
            except ValidationError as exc:
                raise PayloadError(_reason(exc)) from None
        if webhook["object"] != "page":
            return []
        events: list[Inbound] = []
        for entry in webhook["entry"]:
            for item in entry.get("messaging", ()):
                event = self._event(item, checked)
                if event is not None:
                    events.append(event)
            for item in entry.get("standby", ()):
                event = self._event(item, checked)
                if event is not None and event.kind == "message":
                    # Another app has the thread: keep the message, do not answer it.
                    events.append(Inbound("note", event.message))
        return events

    def _event(self, item: _Event | dict[str, Any], checked: bool) -> Inbound | None:
        try:
            event = cast(_Event, item) if checked else _EVENT.validate_python(item)
        except ValidationError:
            # Delivery, read, reaction, handover… and kinds we do not know: acknowledged, unused.
            return None
        if message := event.get("message"):
            return self._message(event, message)
        if postback := event.get("postback"):
            sender = event["sender"]["id"]
            timestamp = event.get("timestamp", 0)
            return Inbound(
                "message",
                IncomingMessage(
                    channel="messenger",
                    platform_id=postback.get("mid") or f"postback:{sender}:{timestamp}",
                    sender_id=sender,
                    text=postback.get("title") or "",
                    payload=postback.get("payload"),
                    timestamp_ms=timestamp,
                ),
            )
        return None

    def _message(self, event: _Event, message: _Message) -> Inbound | None:
        if not message.get("is_echo", False):
            quick_reply = message.get("quick_reply")
            payload = quick_reply["payload"] if quick_reply else None
            return _inbound("message", event, message, event["sender"]["id"], payload=payload)
        # An echo: the page (sender) wrote to the customer (recipient).
        customer = event["recipient"]["id"]
        if not self._ours(message):
            # A person answered from the Page Inbox (or another tool): the bot steps aside.
            return _inbound("takeover", event, message, customer)
        receipt = Receipt.read((message.get("metadata") or "").partition(":")[2], message["mid"])
        if receipt is None:
            return None  # ours, but not one we can tie to a reply
        inbound = _inbound("receipt", event, message, customer)
        return Inbound("receipt", inbound.message, receipt)

    def _ours(self, message: _Message) -> bool:
        metadata = message.get("metadata")
        if metadata is not None and metadata.split(":")[0] == METADATA:
            return True
        return self._app_id is not None and str(message.get("app_id")) == self._app_id

    def deletion_request(self, signed_request: str) -> str:
        """The user id of a data deletion callback, once its signature and age are checked.

        `signed_request` is base64url(HMAC-SHA256(app secret, payload)) "." base64url(JSON
        payload) with "algorithm": "HMAC-SHA256", "issued_at" (Unix seconds) and "user_id"
        (an app-scoped id):
        https://developers.facebook.com/docs/development/create-an-app/app-dashboard/data-deletion-callback
        Raises PayloadError when it is malformed, not signed with our app secret, or
        issued more than `SIGNED_REQUEST_MAX_AGE` ago (or in the future): Facebook calls
        at once, so an old one is a replay.
        """
        signature, _, payload = signed_request.partition(".")
        if not signature or not payload:
            raise PayloadError("signed_request: expected SIGNATURE.PAYLOAD")
        expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        try:
            given = _b64url(signature)
            data = json.loads(_b64url(payload))
        except (ValueError, binascii.Error):
            raise PayloadError("signed_request: not base64url JSON") from None
        if not hmac.compare_digest(given, expected):
            raise PayloadError("signed_request: bad signature")
        if not isinstance(data, dict) or str(data.get("algorithm", "")).upper() != "HMAC-SHA256":
            raise PayloadError("signed_request: unexpected algorithm")
        issued = data.get("issued_at")
        if not isinstance(issued, int | float) or isinstance(issued, bool):
            raise PayloadError("signed_request: no issued_at")
        age = self._clock() - issued
        if age > SIGNED_REQUEST_MAX_AGE:
            raise PayloadError("signed_request: expired, issued more than a day ago")
        if age < -CLOCK_SKEW:
            raise PayloadError("signed_request: expired, issued in the future")
        user = data.get("user_id")
        if not isinstance(user, str | int) or not str(user):
            raise PayloadError("signed_request: no user_id")
        return str(user)

    async def page_scoped_ids(self, app_user_id: str) -> list[str]:
        """The ids under which this app-scoped user wrote to our page(s), via the ID
        Matching API (`GET /{app-scoped-id}/ids_for_pages`, app access token with its
        appsecret_proof): Facebook's deletion callback names users by app-scoped id, while
        Messenger conversations know them by page-scoped id. Empty when the lookup is not
        possible (no MESSENGER_APP_ID, no permission); best effort."""
        if self._session is None or not self._app_id:
            return []
        token = f"{self._app_id}|{self._secret.decode()}"
        proof = hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()
        try:
            async with self._session.get(
                f"{self._api_url}/{app_user_id}/ids_for_pages",
                params={"access_token": token, "appsecret_proof": proof},
                timeout=self._timeout,
            ) as response:
                answer = await response.json(content_type=None) if response.status == 200 else None
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("ID Matching API unreachable: %s", describe(exc))
            return []
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            return []
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    # -- Send API -------------------------------------------------------------------------

    def agent_window(self, last_customer_ms: int | None, now_ms: int) -> Window:
        """24 hours of normal replies, then 7 days for people with the HUMAN_AGENT tag."""
        if last_customer_ms is None:
            return Window("closed")
        since = now_ms - last_customer_ms
        if since <= STANDARD_WINDOW_MS:
            return Window("response", (STANDARD_WINDOW_MS - since) // 1000)
        if since <= HUMAN_AGENT_WINDOW_MS:
            return Window("human_agent", (HUMAN_AGENT_WINDOW_MS - since) // 1000)
        return Window("closed", 0)

    async def display_name(self, user_id: str) -> str | None:
        """First and last name from the User Profile API (the page needs the permission):
        https://developers.facebook.com/docs/messenger-platform/identity/user-profile"""
        if self._session is None or not self._page_token:
            return None
        try:
            async with self._session.get(
                f"{self._api_url}/{user_id}",
                params={"fields": "first_name,last_name", "access_token": self._page_token},
                timeout=self._timeout,
            ) as response:
                if response.status != 200:
                    return None
                profile = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return None
        if not isinstance(profile, dict):
            return None
        parts = [profile.get("first_name"), profile.get("last_name")]
        name = " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())
        return name[:100] or None

    async def mark_seen(self, recipient: str) -> None:
        """The "seen" mark, as soon as the bot knows it will answer (the reply follows).

        No "typing" bubble: the answer follows within milliseconds and replaces it, so
        it would cost a Send API call per message that the customer never sees.
        """
        await self._sender_action(recipient, "mark_seen")

    async def send(self, outgoing: Outgoing) -> str | None:
        """Send one reply (RESPONSE, or HUMAN_AGENT for a person after 24 hours)."""
        messaging = _messaging_type(outgoing, int(self._clock() * 1000))
        body: dict[str, Any] = {
            "recipient": {"id": outgoing.recipient},
            **messaging,
            "message": message_body(outgoing.reply, outgoing.reference),
        }
        answer = await self._post("/me/messages", body)
        message_id = answer.get("message_id")
        return str(message_id) if message_id is not None else None

    async def _sender_action(self, recipient: str, action: str) -> None:
        # Each sender action goes alone, without a message (Send API reference); one that
        # fails only costs the "seen" mark, never the answer.
        try:
            body = {"recipient": {"id": recipient}, "sender_action": action}
            await self._post("/me/messages", body)
        except (RetryableSendError, PermanentSendError) as exc:
            log.info("messenger sender action %s not shown: %s", action, exc)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None or not self._page_token:
            raise PermanentSendError("MESSENGER_PAGE_ACCESS_TOKEN is not set", code="no_token")
        answer = await call_api(
            self._session, "POST", self._send_url(path, self._page_token), api="Send API",
            client_timeout=self._timeout, json=body, header="Retry-After",
        )  # fmt: skip
        if 200 <= answer.status < 300 and isinstance(answer.json, dict):
            return answer.json
        raise _send_error(answer.status, answer.json, answer.header)

    def _send_url(self, path: str, token: str) -> URL:
        """The endpoint with the page token, built once per path (this is the hot path)."""
        url = self._urls.get(path)
        if url is None:
            url = URL(f"{self._api_url}{path}").with_query(access_token=token)
            self._urls[path] = url
        return url

    def profile_url(self) -> str:
        return f"{self._api_url}/me/messenger_profile"


def message_body(reply: Reply, reference: str | None = None) -> dict[str, Any]:
    """The Send API `message` of a reply: text, or a button template when it has links."""
    message: dict[str, Any]
    if reply.buttons:
        message = {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "button",
                    "text": shorten(reply.text, MESSENGER.button_text),
                    "buttons": [
                        {
                            "type": "web_url",
                            "url": button.url,
                            "title": shorten(button.title, MESSENGER.quick_reply_title),
                        }
                        for button in reply.buttons[: MESSENGER.buttons]
                    ],
                },
            }
        }
    else:
        message = {"text": shorten(reply.text, MESSENGER.text)}
    if reply.quick_replies:
        message["quick_replies"] = [
            {
                "content_type": "text",
                "title": shorten(choice.title, MESSENGER.quick_reply_title),
                "payload": choice.payload,
            }
            for choice in reply.quick_replies[: MESSENGER.quick_replies]
        ]
    message["metadata"] = f"{METADATA}:{reference}" if reference else METADATA
    return message


def _messaging_type(outgoing: Outgoing, now_ms: int) -> dict[str, str]:
    """RESPONSE inside 24 h of the customer's last message; HUMAN_AGENT for a person up to
    7 days; otherwise the platform would refuse, so we refuse first, saying why."""
    since = None if outgoing.last_customer_ms is None else now_ms - outgoing.last_customer_ms
    if since is None or since <= STANDARD_WINDOW_MS:
        return {"messaging_type": "RESPONSE"}
    if outgoing.human and since <= HUMAN_AGENT_WINDOW_MS:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    window = "7 days" if outgoing.human else "24 hours"
    raise PermanentSendError(
        f"the customer's last message is more than {window} old: Messenger does not allow "
        "this message",
        code="window_closed",
    )


def _send_error(
    status: int, answer: object, retry_after: str | None
) -> RetryableSendError | PermanentSendError:
    error = answer.get("error") if isinstance(answer, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    subcode = error.get("error_subcode")
    label = f"{code}/{subcode}" if subcode else str(code if code is not None else status)
    text = f"HTTP {status}, code {label}: {error.get('message', 'no error message')}"
    pause = _seconds(retry_after)
    if status == 429 or code in RATE_LIMIT_CODES:
        return RetryableSendError(text, code=label, retry_after=pause or RATE_LIMIT_PAUSE)
    if status >= 500 or code in TRANSIENT_CODES or error.get("is_transient") is True:
        # A 5xx (a gateway's 504, say) may come after the message was delivered.
        return RetryableSendError(text, code=label, retry_after=pause, unconfirmed=status >= 500)
    return PermanentSendError(text, code=label)


def _inbound(
    kind: EventKind, event: _Event, message: _Message, customer: str, payload: str | None = None
) -> Inbound:
    """A Messenger message event as the channel-neutral `Inbound` of `kind`."""
    return Inbound(
        kind,
        IncomingMessage(
            channel="messenger",
            platform_id=message["mid"],
            sender_id=customer,
            text=message.get("text") or "",
            payload=payload,
            attachments=len(message.get("attachments") or ()),
            timestamp_ms=event.get("timestamp", 0),
        ),
    )


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"not a Messenger webhook: {where + ': ' if where else ''}{first['msg']}"
