"""A fake X API, as strict as the real one where the bot depends on it, and X webhook bodies.

Every request must carry a valid OAuth 1.0a signature: the fake recomputes it with
oauthlib's signature functions from the consumer and token secrets. DM bodies are checked
against the documented shapes and limits (v1.1 event: 20 quick-reply options, labels of
36 characters, metadata of 1000; v2: text of 1 to 10,000 characters), public replies
against 280 characters. Failures can be scripted (429 with `x-rate-limit-reset`, 5xx),
recipients can refuse DMs (error 349), and received DMs can be served by
`GET /2/dm_events`, newest first and paginated.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web
from oauthlib.common import Request
from oauthlib.oauth1.rfc5849 import signature, utils
from pydantic import SecretStr

CONSUMER_KEY = "consumer-key-for-tests"
CONSUMER_SECRET = "consumer-secret-for-tests"
ACCESS_TOKEN = "9000000001-access-token-for-tests"
ACCESS_TOKEN_SECRET = "access-token-secret-for-tests"
ACCOUNT = "9000000001"  # the support account
APP_ID = "424242"  # the bot's app: its DMs come back as echoes with this source_app_id
X_WEB_APP = "3033300"  # "Twitter Web App": a person answering from the X app


def twitter_settings(api_url: str) -> dict[str, Any]:
    """The settings (as for `Settings.model_copy(update=…)`) of a bot whose X channel signs
    as the support account the fake knows, to the X API at `api_url`."""
    return {
        "twitter_consumer_key": SecretStr(CONSUMER_KEY),
        "twitter_consumer_secret": SecretStr(CONSUMER_SECRET),
        "twitter_access_token": SecretStr(ACCESS_TOKEN),
        "twitter_access_token_secret": SecretStr(ACCESS_TOKEN_SECRET),
        "twitter_api_url": api_url,
        "twitter_user_id": ACCOUNT,
        "twitter_app_id": APP_ID,
    }


_ids = itertools.count(1_800_000_000_000_000_000)


def next_id() -> str:
    return str(next(_ids))


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def v1_error(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


class FakeX:
    """State of the fake platform; `app()` serves it."""

    def __init__(self) -> None:
        self.dms: list[dict[str, Any]] = []  # accepted DMs: recipient, text, options, api
        self.tweets: list[dict[str, Any]] = []  # accepted public posts
        self.rejected: list[tuple[int, str]] = []  # (status, path) of refusals
        self.unsigned = 0  # requests refused for their OAuth signature
        self.failures: deque[Scripted] = deque()  # answers to the next DM sends
        self.blocked: set[str] = set()  # users who do not accept our DMs
        self.received: list[dict[str, Any]] = []  # DM events GET /2/dm_events serves
        self.page_size = 100
        self.reads = 0
        self.webhooks: list[dict[str, Any]] = []
        self.subscribed: set[str] = set()
        self.url = ""
        self._changed = asyncio.Condition()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._oauth])
        app.router.add_post("/1.1/direct_messages/events/new.json", self._v1_dm)
        app.router.add_post("/2/dm_conversations/with/{participant}/messages", self._v2_dm)
        app.router.add_post("/2/tweets", self._tweet)
        app.router.add_get("/2/dm_events", self._dm_events)
        app.router.add_get("/2/users/me", self._me)
        app.router.add_post("/1.1/account_activity/all/{env}/webhooks.json", self._register)
        app.router.add_get("/1.1/account_activity/all/{env}/webhooks.json", self._list_webhooks)
        app.router.add_post("/1.1/account_activity/all/{env}/subscriptions.json", self._subscribe)
        return app

    def fail_next(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.failures.append(Scripted(status, body, headers or {}))

    def texts(self, recipient: str) -> list[str]:
        return [dm["text"] for dm in self.dms if dm["recipient"] == recipient]

    def receive(
        self, sender: str, text: str, *, recipient: str = ACCOUNT, name: str | None = None,
        event_id: str | None = None,
    ) -> str:
        """A DM that `GET /2/dm_events` will list (as sent by `sender`)."""
        event_id = event_id or next_id()
        low, high = sorted((sender, recipient), key=int)
        self.received.append(
            {
                "id": event_id,
                "event_type": "MessageCreate",
                "text": text,
                "sender_id": sender,
                "dm_conversation_id": f"{low}-{high}",
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "_name": name,
            }
        )
        return event_id

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), within)

    async def wait_for(self, count: int, recipient: str, within: float = 10.0) -> None:
        await self.wait_until(lambda: len(self.texts(recipient)) >= count, within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- OAuth 1.0a ---------------------------------------------------------------------

    @web.middleware
    async def _oauth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        problem = check_signature(request.method, str(request.url), request.headers.get("Authorization", ""))
        if problem:
            self.unsigned += 1
            self.rejected.append((401, request.path))
            await self._notify()
            return web.json_response(v1_error(32, f"Could not authenticate you ({problem})."), status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def _refuse(self, status: int, body: dict[str, Any], path: str, headers: dict[str, str] | None = None) -> web.Response:
        self.rejected.append((status, path))
        await self._notify()
        return web.json_response(body, status=status, headers=headers)

    async def _scripted(self, path: str) -> web.Response | None:
        if self.failures:
            scripted = self.failures.popleft()
            return await self._refuse(scripted.status, scripted.body, path, scripted.headers)
        return None

    # -- direct messages ------------------------------------------------------------------

    async def _v1_dm(self, request: web.Request) -> web.Response:
        body = await _json(request)
        problem, recipient, text, options = _check_v1(body)
        if problem:
            return await self._refuse(400, v1_error(214, problem), request.path)
        if (failed := await self._scripted(request.path)) is not None:
            return failed
        if recipient in self.blocked:
            return await self._refuse(403, v1_error(349, "You cannot send messages to this user."), request.path)
        event_id = next_id()
        self.dms.append({"recipient": recipient, "text": text, "options": options, "api": "v1", "id": event_id})
        await self._notify()
        return web.json_response({"event": {"type": "message_create", "id": event_id, "created_timestamp": str(int(time.time() * 1000))}})

    async def _v2_dm(self, request: web.Request) -> web.Response:
        recipient = request.match_info["participant"]
        body = await _json(request)
        if not re.fullmatch(r"\d+", recipient):
            return await self._refuse(400, _problem("Invalid Request", "participant_id must be a user id"), request.path)
        if not isinstance(body, dict) or set(body) - {"text", "attachments"}:
            return await self._refuse(400, _problem("Invalid Request", "unexpected body fields"), request.path)
        text = body.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= 10_000:
            return await self._refuse(400, _problem("Invalid Request", "text must be 1 to 10000 characters"), request.path)
        if (failed := await self._scripted(request.path)) is not None:
            return failed
        if recipient in self.blocked:
            return await self._refuse(403, _problem("Forbidden", "You cannot send messages to this user."), request.path)
        event_id = next_id()
        self.dms.append({"recipient": recipient, "text": text, "options": [], "api": "v2", "id": event_id})
        # As on X, the account's own DMs are listed with the others (without the app).
        self.receive(ACCOUNT, text, recipient=recipient, event_id=event_id)
        await self._notify()
        low, high = sorted((recipient, ACCOUNT), key=int)
        return web.json_response({"data": {"dm_conversation_id": f"{low}-{high}", "dm_event_id": event_id}}, status=201)

    async def _tweet(self, request: web.Request) -> web.Response:
        body = await _json(request)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text or weighted_length(text) > 280:
            return await self._refuse(400, _problem("Invalid Request", "text must be 1 to 280 characters"), request.path)
        reply = body.get("reply")
        if reply is not None and not re.fullmatch(r"\d+", str(reply.get("in_reply_to_tweet_id", ""))):
            return await self._refuse(400, _problem("Invalid Request", "in_reply_to_tweet_id must be a post id"), request.path)
        tweet_id = next_id()
        self.tweets.append({**body, "id": tweet_id})
        await self._notify()
        return web.json_response({"data": {"id": tweet_id, "text": text}}, status=201)

    async def _me(self, request: web.Request) -> web.Response:
        return web.json_response({"data": {"id": ACCOUNT, "name": "Parallels", "username": "ParallelsSupport"}})

    async def _dm_events(self, request: web.Request) -> web.Response:
        self.reads += 1
        if (failed := await self._scripted(request.path)) is not None:
            return failed
        query = request.query
        if not 1 <= int(query.get("max_results", "100")) <= 100:
            return await self._refuse(400, _problem("Invalid Request", "max_results is 1 to 100"), request.path)
        unknown = set(query) - {"dm_event.fields", "event_types", "expansions", "user.fields", "max_results", "pagination_token", "media.fields", "tweet.fields"}
        if unknown:
            return await self._refuse(400, _problem("Invalid Request", f"unknown parameters {sorted(unknown)}"), request.path)
        newest_first = sorted(self.received, key=lambda e: int(e["id"]), reverse=True)
        start = int(query.get("pagination_token", "0"))
        size = min(self.page_size, int(query.get("max_results", "100")))
        page = newest_first[start : start + size]
        users = {e["sender_id"]: e["_name"] for e in page if e["_name"]}
        answer: dict[str, Any] = {
            "data": [{k: v for k, v in e.items() if not k.startswith("_")} for e in page],
            "meta": {"result_count": len(page)},
        }
        if users:
            answer["includes"] = {"users": [{"id": i, "name": n, "username": n.lower()} for i, n in users.items()]}
        if start + size < len(newest_first):
            answer["meta"]["next_token"] = str(start + size)
        await self._notify()
        return web.json_response(answer)

    # -- Account Activity API (premium, v1.1) --------------------------------------------

    async def _register(self, request: web.Request) -> web.Response:
        url = request.query.get("url", "")
        if not url.startswith("https://"):
            return await self._refuse(400, v1_error(214, "Webhook URL must be https."), request.path)
        webhook = {"id": next_id(), "url": url, "valid": True, "created_timestamp": "2024-01-01 00:00:00 +0000"}
        self.webhooks.append(webhook)
        return web.json_response(webhook)

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        return web.json_response(self.webhooks)

    async def _subscribe(self, request: web.Request) -> web.Response:
        if not self.webhooks:
            return await self._refuse(400, v1_error(214, "No webhook registered."), request.path)
        self.subscribed.add(ACCOUNT)
        return web.Response(status=204)


def check_signature(method: str, url: str, authorization: str) -> str | None:
    """What is wrong with a request's OAuth 1.0a signature, or None when it is valid.

    The signature is recomputed from the method, the address and the oauth_* parameters
    with the consumer and token secrets (RFC 5849, section 3.4), by oauthlib.
    """
    if not authorization.startswith("OAuth "):
        return "no OAuth header"
    oauth = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(authorization)}
    if oauth.get("oauth_consumer_key") != CONSUMER_KEY:
        return "unknown consumer key"
    if oauth.get("oauth_token") != ACCESS_TOKEN:
        return "unknown token"
    if oauth.get("oauth_signature_method") != "HMAC-SHA1":
        return "unexpected signature method"
    if abs(int(oauth.get("oauth_timestamp", "0")) - time.time()) > 300:
        return "stale timestamp"
    query = url.split("?", 1)[1] if "?" in url else ""
    # oauthlib's stubs know neither a plain str method nor the attributes verify reads.
    request: Any = Request(url, cast(Any, method), headers={"Authorization": authorization})
    request.params = signature.collect_parameters(
        uri_query=query, headers={"Authorization": authorization}, exclude_oauth_signature=True
    )
    request.signature = oauth.get("oauth_signature", "")
    if not signature.verify_hmac_sha1(request, CONSUMER_SECRET, ACCESS_TOKEN_SECRET):
        return "bad signature"
    return None


def weighted_length(text: str) -> int:
    """Roughly X's count: every link is 23 characters."""
    return len(re.sub(r"https?://\S+", "x" * 23, text))


def _problem(title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "https://api.twitter.com/2/problems/invalid-request"}


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _check_v1(body: Any) -> tuple[str | None, str, str, list[dict[str, Any]]]:
    """What the v1.1 event API would refuse, and the recipient, text and options."""
    try:
        event = body["event"]
        create = event["message_create"]
        recipient = create["target"]["recipient_id"]
        data = create["message_data"]
        text = data["text"]
    except (KeyError, TypeError):
        return "event.message_create.target.recipient_id and message_data.text are required", "", "", []
    if event.get("type") != "message_create":
        return "event.type must be message_create", recipient, text, []
    if not isinstance(text, str) or not 0 < len(text) <= 10_000:
        return "text must be 1 to 10000 characters", recipient, text, []
    options: list[dict[str, Any]] = []
    if "quick_reply" in data:
        quick = data["quick_reply"]
        options = quick.get("options", [])
        if quick.get("type") != "options" or not 1 <= len(options) <= 20:
            return "quick_reply needs type options and 1 to 20 options", recipient, text, options
        described = ["description" in o for o in options]
        if any(described) and not all(described):
            return "all options need a description when one has it", recipient, text, options
        for option in options:
            if not 0 < len(option.get("label", "")) <= 36 or re.search(r"https?://", option["label"]):
                return "labels are 1 to 36 characters, without URLs", recipient, text, options
            if len(option.get("description", "")) > 72 or len(option.get("metadata", "")) > 1000:
                return "descriptions are at most 72 characters, metadata 1000", recipient, text, options
    return None, recipient, text, options


# -- webhook bodies -----------------------------------------------------------------------


def sign(body: bytes, secret: str = CONSUMER_SECRET) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"x-twitter-webhooks-signature": f"sha256={digest}", "Content-Type": "application/json"}


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=True).encode()


def webhook(*, dms: list[dict[str, Any]] = (), tweets: list[dict[str, Any]] = (), **other: Any) -> dict[str, Any]:  # type: ignore[assignment]
    body: dict[str, Any] = {"for_user_id": ACCOUNT, **other}
    if dms:
        body["direct_message_events"] = list(dms)
        senders = {dm["message_create"]["sender_id"] for dm in dms}
        body["users"] = {
            s: {"id": s, "name": "Parallels Support" if s == ACCOUNT else f"Client {s[-3:]}", "screen_name": f"user{s}"}
            for s in senders
        }
    if tweets:
        body["tweet_create_events"] = list(tweets)
    return body


def dm(
    sender: str,
    text: str,
    *,
    event_id: str | None = None,
    recipient: str = ACCOUNT,
    metadata: str | None = None,
    source_app_id: str | None = X_WEB_APP,
    media: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {"text": text, "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}}
    if metadata is not None:
        data["quick_reply_response"] = {"type": "options", "metadata": metadata}
    if media:
        data["text"] = f"{text} https://t.co/abc123".strip()
        data["attachment"] = {"type": "media", "media": {"id_str": "1", "url": "https://t.co/abc123", "type": "photo"}}
    create: dict[str, Any] = {"target": {"recipient_id": recipient}, "sender_id": sender, "message_data": data}
    if source_app_id is not None:
        create["source_app_id"] = source_app_id
    return {
        "type": "message_create",
        "id": event_id or next_id(),
        "created_timestamp": str(int(time.time() * 1000)),
        "message_create": create,
    }


def echo(customer: str, text: str, *, app_id: str) -> dict[str, Any]:
    """A DM the support account sent (from our app, or from another)."""
    return dm(ACCOUNT, text, recipient=customer, source_app_id=app_id)


def tweet(author: str, text: str, *, tweet_id: str | None = None, mentions: tuple[str, ...] = (ACCOUNT,), in_reply_to: str | None = None) -> dict[str, Any]:
    return {
        "created_at": time.strftime("%a %b %d %H:%M:%S +0000 %Y", time.gmtime()),
        "id_str": tweet_id or next_id(),
        "text": text,
        "timestamp_ms": str(int(time.time() * 1000)),
        "user": {"id_str": author, "name": f"Client {author[-3:]}", "screen_name": f"user{author}"},
        "in_reply_to_user_id_str": in_reply_to,
        "entities": {"user_mentions": [{"id_str": m, "screen_name": "ParallelsSupport"} for m in mentions]},
    }


def retweet(author: str, original: dict[str, Any]) -> dict[str, Any]:
    body = tweet(author, f"RT @user{original['user']['id_str']}: {original['text']}")
    body["retweeted_status"] = original
    return body


def main() -> None:
    """Serve the fake on 127.0.0.1 and print what the bot sends: `python -m tests.fakes.twitter`."""
    from tests.fakes import serve_printing

    fake = FakeX()
    shown = [0, 0]

    async def show(request: web.Request, response: web.StreamResponse) -> None:
        if response.status >= 400:
            print(f"{request.method} {request.path} refused with HTTP {response.status}", flush=True)
        for dm_sent in fake.dms[shown[0] :]:
            print(f"[DM to {dm_sent['recipient']}] {dm_sent['text']}", flush=True)
            for option in dm_sent["options"]:
                print(f"      < {option['label']} > metadata={option['metadata']}", flush=True)
        for post_sent in fake.tweets[shown[1] :]:
            print(f"[public reply to {post_sent['reply']['in_reply_to_tweet_id']}] {post_sent['text']}", flush=True)
        shown[:] = [len(fake.dms), len(fake.tweets)]

    serve_printing(
        fake.app(), show, name=f"fake X API (account {ACCOUNT})", default_port=8082,
        description=main.__doc__ or "",
    )  # fmt: skip


if __name__ == "__main__":
    main()
