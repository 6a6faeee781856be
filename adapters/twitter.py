"""X (Twitter): Account Activity webhooks or DM polling, direct messages and public replies.

Values come from the X API documentation:
- CRC and the `x-twitter-webhooks-signature` header (HMAC-SHA256 with the consumer secret,
  base64, prefixed `sha256=`):
  https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/securing-webhooks
- webhook payloads (`for_user_id`, `direct_message_events`, `tweet_create_events`, `users`,
  `source_app_id`): https://developer.x.com/en/docs/twitter-api/enterprise/account-activity-api/guides/account-activity-data-objects
  and the message_create object:
  https://developer.x.com/en/docs/direct-messages/sending-and-receiving/guides/message-create-object
- v1.1 `POST direct_messages/events/new.json` and quick replies (20 options, label 36,
  description 72, metadata 1000 characters):
  https://developer.x.com/en/docs/direct-messages/quick-replies/api-reference/options
- v2 `POST /2/dm_conversations/with/:participant_id/messages` (text up to 10,000) and
  `GET /2/dm_events` (newest first, 30 days, `max_results` 1-100, `pagination_token`, no
  `since_id`): https://docs.x.com/x-api/direct-messages
- `POST /2/tweets` with `reply.in_reply_to_tweet_id`: https://docs.x.com/x-api/posts/create-post
- the DM deep link `https://twitter.com/messages/compose?recipient_id=…`:
  https://business.twitter.com/en/help/campaign-editing-and-optimization/public-to-private-conversation.html
- rate limits (429, `x-rate-limit-reset` in epoch seconds) and error codes (349 "You cannot
  send messages to this user", 150 "not following you"):
  https://docs.x.com/x-api/fundamentals/rate-limits
  https://developer.x.com/en/docs/basics/response-codes
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Final, Literal

import aiohttp
from aiohttp import web
from oauthlib.oauth1 import Client as OAuth1Client
from pydantic import BaseModel, ConfigDict, ValidationError
from yarl import URL

from adapters.base import (
    EventKind,
    Inbound,
    Outgoing,
    PayloadError,
    PermanentSendError,
    RetryableSendError,
    SendError,
    Window,
    call_api,
)
from bot.models import Channel, IncomingMessage, Reply
from responses.limits import TWITTER, ChannelLimits, shorten

log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "x-twitter-webhooks-signature"
DM_LINK: Final = "https://twitter.com/messages/compose?recipient_id={account}"
RATE_LIMIT_PAUSE: Final = 60.0
MAX_NAME: Final = 100  # characters of a display name kept (X allows 50)
QUICK_REPLY_METADATA: Final = 1000
# The CRC tokens X sends are base64 (standard or URL-safe) of random bytes. Only tokens of
# that shape are signed: the CRC answer is the very HMAC a webhook's signature is, so
# signing anything else (a JSON body above all) would let anyone forge webhooks.
CRC_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9+/_-]{8,128}={0,2}")
DmApi = Literal["v1", "v2"]
Method = Literal["GET", "POST", "PUT", "DELETE"]
# v1.1 error codes that will not change on another try: the user does not accept DMs from
# us (349, 150), does not exist (50, 108), is suspended (63), we are not allowed (93, 326).
# Rate limits (88) and over-capacity (130, 131) are worth another try.
TRANSIENT_CODES: Final = frozenset({88, 130, 131})


# -- webhook payloads -------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _QuickReplyResponse(_Model):
    metadata: str | None = None


class _MessageData(_Model):
    text: str = ""
    quick_reply_response: _QuickReplyResponse | None = None
    attachment: dict[str, Any] | None = None


class _Target(_Model):
    recipient_id: str


class _MessageCreate(_Model):
    target: _Target
    sender_id: str
    source_app_id: str | None = None
    message_data: _MessageData = _MessageData()


class _DmEvent(_Model):
    type: str
    id: str
    created_timestamp: str | int = 0
    message_create: _MessageCreate | None = None


class _User(_Model):
    id_str: str = ""
    name: str | None = None
    screen_name: str | None = None


class _Mention(_Model):
    id_str: str


class _Entities(_Model):
    user_mentions: list[_Mention] = []


class _Extended(_Model):
    full_text: str = ""


class _Tweet(_Model):
    id_str: str
    text: str = ""
    timestamp_ms: str | int = 0
    user: _User
    in_reply_to_user_id_str: str | None = None
    entities: _Entities = _Entities()
    extended_tweet: _Extended | None = None
    retweeted_status: dict[str, Any] | None = None


class _Webhook(_Model):
    for_user_id: str
    direct_message_events: list[dict[str, Any]] = []
    tweet_create_events: list[dict[str, Any]] = []
    users: dict[str, dict[str, Any]] = {}


# -- GET /2/dm_events ---------------------------------------------------------------------


class _V2Event(_Model):
    id: str
    event_type: str = "MessageCreate"
    text: str = ""
    sender_id: str | None = None
    dm_conversation_id: str | None = None
    created_at: str | None = None
    attachments: dict[str, Any] | None = None


class _V2User(_Model):
    id: str
    name: str | None = None
    username: str | None = None


class _V2Includes(_Model):
    users: list[_V2User] = []


class _V2Meta(_Model):
    next_token: str | None = None


class _V2Page(_Model):
    data: list[_V2Event] = []
    includes: _V2Includes = _V2Includes()
    meta: _V2Meta = _V2Meta()


class PollError(Exception):
    """Reading new DMs failed; `retry_after` is when X allows the next read."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TwitterAdapter:
    """The X channel; see the module docstring for the documentation it follows.

    `dm_api` picks the DM endpoint: "v2" (every current X plan; no quick replies, so
    choices become a numbered list the policy understands) or "v1" (the v1.1 event API,
    with quick-reply options, for apps that still have it).
    """

    channel: ClassVar[Channel] = "twitter"
    signature_header: ClassVar[str] = SIGNATURE_HEADER
    limits: ClassVar[ChannelLimits] = TWITTER
    read_receipts: ClassVar[bool] = False  # v2 has no read receipt nor typing indicator

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str | None,
        access_token_secret: str | None,
        api_url: str,
        user_id: str | None = None,
        app_id: str | None = None,
        dm_api: DmApi = "v2",
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._consumer_key = consumer_key
        self._secret = consumer_secret.encode()
        self._consumer_secret = consumer_secret
        self._access_token = access_token
        self._access_token_secret = access_token_secret
        self._api_url = api_url.rstrip("/")
        self._user_id = user_id
        self._app_id = app_id
        self._dm_api: DmApi = dm_api
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    @property
    def dm_api(self) -> DmApi:
        return self._dm_api

    # -- webhook --------------------------------------------------------------------------

    def handshake(self, query: Mapping[str, str]) -> web.Response:
        """The Challenge-Response Check: sign `crc_token` with the consumer secret.

        Only a token shaped as X sends them is signed, never one that could be a body.
        """
        token = query.get("crc_token")
        if not token:
            return web.json_response({"error": "crc_token is required"}, status=400)
        if CRC_TOKEN_RE.fullmatch(token) is None:
            return web.json_response({"error": "crc_token is malformed"}, status=400)
        return web.json_response({"response_token": f"sha256={self._hmac(token.encode())}"})

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """`sha256=` + base64 HMAC-SHA256 of the raw body with the consumer secret."""
        given = headers.get(SIGNATURE_HEADER, "")
        if not given.startswith("sha256="):
            return False
        expected = f"sha256={self._hmac(body)}"
        return hmac.compare_digest(given.encode(), expected.encode())

    def _hmac(self, data: bytes) -> str:
        return base64.b64encode(hmac.new(self._secret, data, hashlib.sha256).digest()).decode()

    def parse(self, body: bytes) -> list[Inbound]:
        try:
            webhook = _Webhook.model_validate_json(body)
        except ValidationError as exc:
            raise PayloadError(_reason(exc)) from None
        account = webhook.for_user_id
        if self._user_id is not None and account != self._user_id:
            log.warning("X webhook for another account (%s) ignored", account)
            return []
        events: list[Inbound] = []
        for item in webhook.direct_message_events:
            event = self._dm(item, account, webhook.users)
            if event is not None:
                events.append(event)
        for item in webhook.tweet_create_events:
            event = self._tweet(item, account)
            if event is not None:
                events.append(event)
        # Typing, read, follow, favourite and unknown events: acknowledged, unused.
        return events

    def _dm(
        self, item: dict[str, Any], account: str, users: Mapping[str, Mapping[str, Any]]
    ) -> Inbound | None:
        try:
            event = _DmEvent.model_validate(item)
        except ValidationError:
            return None
        create = event.message_create
        if event.type != "message_create" or create is None:
            return None
        data = create.message_data
        stamp = _int(event.created_timestamp)
        if create.sender_id == account:
            kind = self._own_kind(create.source_app_id)
            if kind is None:
                return None
            return Inbound(kind, self._incoming(event.id, create.target.recipient_id,
                                                data.text, None, 0, stamp, None))
        user = users.get(create.sender_id, {})
        name = with_handle(user.get("name"), user.get("screen_name"))
        return Inbound(
            "message",
            self._incoming(
                event.id,
                create.sender_id,
                _without_media_link(data),
                data.quick_reply_response.metadata if data.quick_reply_response else None,
                1 if data.attachment else 0,
                stamp,
                name,
            ),
        )

    def _own_kind(self, source_app_id: str | None) -> EventKind | None:
        """What a DM the account sent is: ours (None: nothing to do), a person's answer
        from another app ("takeover"), or, when X does not say which app sent it or we do
        not know ours, for the outbox to tell ("own")."""
        if source_app_id is None or self._app_id is None:
            return "own"
        return None if source_app_id == self._app_id else "takeover"

    def _tweet(self, item: dict[str, Any], account: str) -> Inbound | None:
        try:
            tweet = _Tweet.model_validate(item)
        except ValidationError:
            return None
        author = tweet.user.id_str
        if author == account or tweet.retweeted_status is not None:
            return None  # our own tweets and replies, and retweets
        mentioned = any(m.id_str == account for m in tweet.entities.user_mentions)
        replying = tweet.in_reply_to_user_id_str == account
        if not (mentioned or replying):
            return None
        text = tweet.extended_tweet.full_text if tweet.extended_tweet else tweet.text
        message = IncomingMessage(
            channel="twitter",
            platform_id=f"tweet:{tweet.id_str}",
            sender_id=author,
            sender_name=with_handle(tweet.user.name, tweet.user.screen_name),
            text=text,
            timestamp_ms=_int(tweet.timestamp_ms),
            post_id=None if replying else tweet.id_str,
        )
        # A reply in a thread with us (often to our invitation) is kept, not answered again:
        # the bot says its one public sentence once per thread, never a conversation.
        return Inbound("note" if replying else "mention", message)

    def dm_link(self) -> str:
        """The address that opens a DM to the support account ("" while it is unknown)."""
        return DM_LINK.format(account=self._user_id) if self._user_id else ""

    async def identify(self) -> None:
        """Learn the support account's id when TWITTER_USER_ID is not set (`GET /2/users/me`),
        once, at start: every instance then knows the same. Best effort."""
        if self._user_id is not None:
            return
        try:
            answer = await self._request("GET", "/2/users/me")
        except SendError as exc:
            log.warning("X account id unknown (set TWITTER_USER_ID): %s", exc)
            return
        found = _dig(answer, "data", "id")
        if isinstance(found, str) and found.isascii() and found.isdigit():
            self._user_id = found

    def _incoming(
        self,
        event_id: str,
        customer: str,
        text: str,
        payload: str | None,
        attachments: int,
        stamp: int,
        name: str | None,
    ) -> IncomingMessage:
        return IncomingMessage(
            channel="twitter",
            platform_id=event_id,
            sender_id=customer,
            sender_name=name,
            text=text,
            payload=payload,
            attachments=attachments,
            timestamp_ms=stamp,
        )

    # -- polling (TWITTER_MODE=poll) -----------------------------------------------------

    async def poll(self, cursor: str | None) -> tuple[list[Inbound], str]:
        """The DMs newer than `cursor` (an event id), oldest first, and the new cursor.

        `GET /2/dm_events` has no `since_id`: pages are read newest first until one holds
        the cursor. Without a cursor (first start) nothing old is answered: the newest id
        becomes the cursor, or "0" when there is none, so the next DM is read.
        """
        account = self._user_id
        if account is None:
            raise PollError("TWITTER_USER_ID is required to read DMs by polling")
        since = int(cursor) if cursor and cursor.isdigit() else None
        found: list[_V2Event] = []
        names: dict[str, str] = {}
        token: str | None = None
        newest = since or 0
        while True:
            page = await self._events_page(token)
            for user in page.includes.users:
                name = with_handle(user.name, user.username)
                if name:
                    names[user.id] = name
            done = False
            for event in page.data:
                number = int(event.id) if event.id.isdigit() else 0
                newest = max(newest, number)
                if since is not None and number <= since:
                    done = True
                    break
                found.append(event)
            token = page.meta.next_token
            if done or token is None or since is None:
                break
        if since is None:
            log.info("X DMs: first read, starting after event %s", newest)
            return [], str(newest)
        events = []
        for event in sorted(found, key=lambda e: int(e.id) if e.id.isdigit() else 0):
            inbound = self._polled(event, account, names)
            if inbound is not None:
                events.append(inbound)
        return events, str(newest)

    def _polled(self, event: _V2Event, account: str, names: Mapping[str, str]) -> Inbound | None:
        if event.event_type != "MessageCreate" or event.sender_id is None:
            return None
        members = (event.dm_conversation_id or "").split("-")
        if len(members) != 2 or account not in members:
            return None  # group conversations are not support conversations
        customer = members[0] if members[1] == account else members[1]
        stamp = _iso_ms(event.created_at)
        attachments = len(event.attachments.get("media_keys", [])) if event.attachments else 0
        if event.sender_id == account:
            # v2 events do not say which app sent them: the outbox tells.
            return Inbound("own", self._incoming(event.id, customer, event.text, None,
                                                 attachments, stamp, None))
        return Inbound(
            "message",
            self._incoming(event.id, customer, event.text, None, attachments, stamp,
                           names.get(customer)),
        )

    async def _events_page(self, token: str | None) -> _V2Page:
        query = {
            "dm_event.fields": "id,event_type,text,sender_id,dm_conversation_id,created_at,"
            "attachments",
            "event_types": "MessageCreate",
            "expansions": "sender_id",
            "user.fields": "name,username",
            "max_results": "100",
        }
        if token:
            query["pagination_token"] = token
        try:
            answer = await self._request("GET", "/2/dm_events", query=query)
        except SendError as exc:
            retry = exc.retry_after if isinstance(exc, RetryableSendError) else None
            raise PollError(f"GET /2/dm_events failed: {exc}", retry) from exc
        try:
            return _V2Page.model_validate(answer)
        except ValidationError as exc:
            raise PollError(f"GET /2/dm_events: unexpected answer: {_reason(exc)}") from None

    # -- sending --------------------------------------------------------------------------

    def agent_window(self, last_customer_ms: int | None, now_ms: int) -> Window:
        """X sets no time limit on answering a DM."""
        return Window("none")

    async def display_name(self, user_id: str) -> str | None:
        """Already known: X webhooks carry the users' names with each DM."""
        return None

    async def mark_seen(self, recipient: str) -> None:
        """Nothing to show (`read_receipts` is False): never called."""

    async def send(self, outgoing: Outgoing) -> str | None:
        """One DM (v1.1 with quick replies, or v2), or a public reply to a post."""
        reply = outgoing.reply
        if reply.reply_to_post is not None:
            # The link opens a DM to the account; X shows it as a "Send a private message"
            # button under the post.
            body = {
                "text": f"{reply.text} {self.dm_link()}".rstrip(),
                "reply": {"in_reply_to_tweet_id": reply.reply_to_post},
            }
            answer = await self._request("POST", "/2/tweets", body=body)
            return _dig(answer, "data", "id")
        if self._dm_api == "v1":
            answer = await self._request(
                "POST", "/1.1/direct_messages/events/new.json", body=v1_body(outgoing)
            )
            sent = _dig(answer, "event", "id")
        else:
            path = f"/2/dm_conversations/with/{outgoing.recipient}/messages"
            answer = await self._request("POST", path, body={"text": v2_text(reply)})
            sent = _dig(answer, "data", "dm_event_id")
        return sent

    async def _request(
        self,
        method: Method,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """One call signed with OAuth 1.0a (user context); the JSON answer."""
        if self._session is None or not self._access_token or not self._access_token_secret:
            raise PermanentSendError(
                "TWITTER_ACCESS_TOKEN and TWITTER_ACCESS_TOKEN_SECRET are not set",
                code="no_token",
            )
        url = URL(f"{self._api_url}{path}")
        if query:
            url = url.with_query(query)
        uri, headers, _ = self.signer().sign(str(url), http_method=method)
        headers = dict(headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        answer = await call_api(
            self._session, method,
            URL(uri, encoded=True),  # exactly the address that was signed
            api="X API", client_timeout=self._timeout, json=body, headers=headers,
            header="x-rate-limit-reset",
        )  # fmt: skip
        if 200 <= answer.status < 300:
            return answer.json
        raise _send_error(answer.status, answer.json, answer.header)

    def signer(self) -> OAuth1Client:
        """An oauthlib client for the support account's user context (HMAC-SHA1)."""
        return OAuth1Client(
            self._consumer_key,
            client_secret=self._consumer_secret,
            resource_owner_key=self._access_token,
            resource_owner_secret=self._access_token_secret,
        )

    async def call(
        self, method: Method, path: str, query: Mapping[str, str] | None = None
    ) -> Any:
        """A signed call for the set-up commands (`twitter register`, `twitter status`)."""
        return await self._request(method, path, query=query)


def v1_body(outgoing: Outgoing) -> dict[str, Any]:
    """The `direct_messages/events/new` event: text and up to 20 quick-reply options."""
    reply = outgoing.reply
    data: dict[str, Any] = {"text": _with_links(reply, TWITTER.text)}
    if reply.quick_replies:
        data["quick_reply"] = {
            "type": "options",
            "options": [
                {
                    "label": shorten(choice.title, TWITTER.quick_reply_title),
                    "metadata": choice.payload[:QUICK_REPLY_METADATA],
                }
                for choice in reply.quick_replies[: TWITTER.quick_replies]
            ],
        }
    return {
        "event": {
            "type": "message_create",
            "message_create": {
                "target": {"recipient_id": outgoing.recipient},
                "message_data": data,
            },
        }
    }


def v2_text(reply: Reply) -> str:
    """The text of a v2 DM: choices become a numbered list; typing a number picks one."""
    if not reply.quick_replies:
        return _with_links(reply, TWITTER.text)
    choices = "\n".join(
        f"{number}. {choice.title}"
        for number, choice in enumerate(reply.quick_replies[: TWITTER.quick_replies], start=1)
    )
    hint = "Répondez par le numéro de votre choix :"
    room = TWITTER.text - len(choices) - len(hint) - 4
    return f"{_with_links(reply, room)}\n\n{hint}\n{choices}"


def _with_links(reply: Reply, limit: int) -> str:
    links = "\n".join(f"{button.title} : {button.url}" for button in reply.buttons)
    text = f"{reply.text}\n{links}" if links else reply.text
    return text if len(text) <= limit else shorten(text, limit)


def _without_media_link(data: _MessageData) -> str:
    """A DM with a picture ends with the picture's t.co link; it is not the customer's words."""
    text = data.text
    media = (data.attachment or {}).get("media") or {}
    link = media.get("url") if isinstance(media, dict) else None
    if isinstance(link, str) and link and text.endswith(link):
        text = text[: -len(link)].rstrip()
    return text


def _send_error(
    status: int, answer: object, reset: str | None
) -> RetryableSendError | PermanentSendError:
    code, message = _error_of(answer)
    label = str(code if code is not None else status)
    text = f"HTTP {status}, code {label}: {message}"
    if status == 429 or code == 88:
        return RetryableSendError(text, code=label, retry_after=_until(reset) or RATE_LIMIT_PAUSE)
    if status >= 500 or code in TRANSIENT_CODES:
        # A 5xx (a gateway's 504, say) may come after the message was delivered.
        return RetryableSendError(
            text, code=label, retry_after=_until(reset), unconfirmed=status >= 500
        )
    return PermanentSendError(text, code=label)


def _error_of(answer: object) -> tuple[int | str | None, str]:
    """v1.1: {"errors": [{"code", "message"}]}; v2: a problem {"title", "detail", "type"}."""
    if not isinstance(answer, dict):
        return None, "no error message"
    errors = answer.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = first.get("code")
        return (code if isinstance(code, int | str) else None), str(
            first.get("message") or first.get("detail") or "no error message"
        )
    if "title" in answer or "detail" in answer:
        return None, f"{answer.get('title', '')}: {answer.get('detail', '')}".strip(": ")
    return None, "no error message"


def _until(reset: str | None) -> float | None:
    """Seconds until `x-rate-limit-reset` (epoch seconds), at least one."""
    if reset is None:
        return None
    try:
        return max(1.0, float(reset) - time.time())
    except ValueError:
        return None


def _dig(answer: object, *keys: str) -> str | None:
    for key in keys:
        if not isinstance(answer, dict):
            return None
        answer = answer.get(key)
    return None if answer is None else str(answer)


def display_name(value: object) -> str | None:
    """A person's name as X gives it, fit to store and show: printable characters, spaces
    folded, at most `MAX_NAME` characters (X allows 50; a forged webhook, anything)."""
    if not isinstance(value, str) or not value:
        return None
    text = "".join(c for c in value[: MAX_NAME * 4] if c.isprintable() or c.isspace())
    return " ".join(text.split())[:MAX_NAME].rstrip() or None


def with_handle(name: object, handle: object) -> str | None:
    """"Léa Martin (@lea_m)", as agents know X users; the handle alone, or the name alone,
    when only one is given."""
    shown = display_name(name)
    at = f"@{handle}" if isinstance(handle, str) and re.fullmatch(r"\w{1,50}", handle) else None
    if shown and at:
        return f"{shown[: MAX_NAME - len(at) - 3].rstrip()} ({at})"
    return shown or at


def _int(value: str | int) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _iso_ms(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"not an X webhook: {where + ': ' if where else ''}{first['msg']}"
