"""A fake Graph API: the Send API and the Messenger Profile API, as strict as the real one.

It checks the page token, the recipient, `messaging_type` and its tag, the documented
limits (text 2000, 13 quick replies of 20 characters, button template of 640 characters
and 3 buttons), and that a sender action travels alone. Failures can be scripted, and
requests can be held, to test retries and crashes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import SecretStr

TOKEN = "page-token-for-tests"


def messenger_settings(api_url: str) -> dict[str, Any]:
    """The settings (as for `Settings.model_copy(update=…)`) of a bot whose Messenger
    channel signs and sends as the fakes expect, to the Graph API at `api_url`."""
    from tests.fakes import messenger as fb

    return {
        "messenger_app_secret": SecretStr(fb.APP_SECRET),
        "messenger_verify_token": SecretStr(fb.VERIFY_TOKEN),
        "messenger_page_access_token": SecretStr(TOKEN),
        "messenger_api_url": api_url,
    }
PAGE_ID = "PAGE1"


@dataclass
class Scripted:
    status: int  # HANG and DROP: no answer
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    processed: bool = False  # the message was delivered all the same


HANG = -1
DROP = -2


def graph_error(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "Afake"
    return {"error": error}


class FakeGraph:
    """State of the fake platform; `app()` serves it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []  # accepted messages, in order
        self.actions: list[dict[str, Any]] = []  # accepted sender actions
        self.rejected: list[tuple[int, dict[str, Any]]] = []  # (status, body) of refusals
        self.profile: dict[str, Any] = {}
        self.profile_posts: list[dict[str, Any]] = []
        self.failures: deque[Scripted] = deque()  # answers to the next message sends
        self.blocked: set[str] = set()  # recipients who blocked the page
        self.hold: asyncio.Event | None = None  # while set to an unset event, requests wait
        self.delay = 0.0  # seconds each Send API request takes
        # The Send API answers every message with a redirect to itself, page token and all
        # (a misconfigured proxy in front of the Graph API): clients give up after a few.
        self.redirect_loop = False
        self.requests = 0
        self.url = ""  # set once it listens
        # Like Facebook with `message_echoes` subscribed: every accepted message is echoed
        # to this webhook address, signed, retried until the bot takes it (or 60 s pass).
        self.names: dict[str, tuple[str, str]] = {}  # PSID -> (first name, last name)
        self.app_id = "1234567890"
        self.page_ids: dict[str, list[str]] = {}  # app-scoped id -> page-scoped ids
        self.echo_to: str | None = None
        self.echo_secret = "app-secret-for-tests"
        self.echoes_delivered = 0
        self.echo_delay = 0.0  # seconds between accepting a message and echoing it
        # While set to an unset event, echoes wait (Facebook could not reach the bot).
        self.echo_hold: asyncio.Event | None = None
        self._echoes: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/me/messages", self._messages)
        app.router.add_post("/me/messenger_profile", self._profile_post)
        app.router.add_get("/me/messenger_profile", self._profile_get)
        app.router.add_get("/{user_id}", self._user_profile)
        app.router.add_get("/{user_id}/ids_for_pages", self._ids_for_pages)
        app.on_cleanup.append(self._stop_echoes)
        return app

    def hang_next(self, seconds: float, *, processed: bool) -> None:
        """The next message send hangs `seconds` (the client times out) after the platform
        processed it (`processed`: delivered, only the answer is lost) or before."""
        self.failures.append(Scripted(HANG, {"hang": seconds}, processed=processed))

    def drop_next(self, *, processed: bool) -> None:
        """The next message send's connection is closed without an answer, after the
        platform processed it (`processed`: delivered) or before."""
        self.failures.append(Scripted(DROP, {}, processed=processed))

    def fail_next(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        *,
        processed: bool = False,
    ) -> None:
        """The next message send gets this answer, after the platform delivered the
        message all the same (`processed`: a gateway's 502 or 504, say) or not."""
        self.failures.append(Scripted(status, body, headers or {}, processed))

    def texts(self, recipient: str | None = None) -> list[str]:
        """The text of each accepted message (a button template's text too)."""
        return [
            _text(m["message"])
            for m in self.messages
            if recipient is None or m["recipient"]["id"] == recipient
        ]

    def to(self, recipient: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["recipient"]["id"] == recipient]

    async def wait_for(self, count: int, within: float = 10.0, recipient: str | None = None) -> None:
        """Wait until at least `count` messages were accepted (for `recipient`)."""
        await self.wait_until(lambda: len(self.texts(recipient)) >= count, within)

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until `predicate` holds after some request reached the fake."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- Send API -----------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.Response:
        self.requests += 1
        await self._notify()
        if self.hold is not None:
            await self.hold.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.query.get("access_token") != TOKEN:
            return await self._refuse(401, graph_error(190, "Invalid OAuth access token."), {})
        if self.redirect_loop:
            raise web.HTTPTemporaryRedirect(location=str(request.url))
        try:
            body = await request.json()
        except ValueError:
            return await self._refuse(400, graph_error(100, "Invalid JSON"), {})
        recipient = (body.get("recipient") or {}).get("id")
        if not isinstance(recipient, str) or not recipient:
            return await self._refuse(400, graph_error(100, "The parameter recipient is required"), body)
        if "sender_action" in body:
            if set(body) != {"recipient", "sender_action"} or body["sender_action"] not in (
                "mark_seen",
                "typing_on",
                "typing_off",
            ):
                return await self._refuse(
                    400, graph_error(100, "sender_action must be sent alone"), body
                )
            self.actions.append(body)
            await self._notify()
            return web.json_response({"recipient_id": recipient})
        problem = _check_message(body)
        if problem:
            return await self._refuse(400, graph_error(100, problem), body)
        if self.failures:
            scripted = self.failures.popleft()
            if scripted.processed:
                self._accept(body)
                await self._notify()
            if scripted.status == HANG:
                await asyncio.sleep(scripted.body["hang"])
                return web.json_response(graph_error(2, "timed out"), status=504)
            if scripted.status == DROP:
                assert request.transport is not None
                request.transport.abort()
                return web.Response()  # nobody reads it
            if scripted.processed:
                return web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)
            return await self._refuse(scripted.status, scripted.body, body, scripted.headers)
        if recipient in self.blocked:
            return await self._refuse(
                400, graph_error(551, "This person isn't available right now.", 1545041), body
            )
        mid = self._accept(body)
        await self._notify()
        return web.json_response({"recipient_id": recipient, "message_id": mid})

    def _accept(self, body: dict[str, Any]) -> str:
        mid = f"m_{next(self._ids)}"
        self.messages.append(body)
        if self.echo_to:
            task = asyncio.create_task(self._echo(body, mid))
            self._echoes.add(task)
            task.add_done_callback(self._echoes.discard)
        return mid

    async def _echo(self, body: dict[str, Any], mid: str) -> None:
        import hashlib
        import hmac
        import json
        import time

        import aiohttp

        message = {"mid": mid, "is_echo": True, "app_id": 1234567890}
        message.update({k: v for k, v in body["message"].items() if k in ("text", "metadata")})
        now = int(time.time() * 1000)
        webhook = {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "time": now,
                    "messaging": [
                        {
                            "sender": {"id": PAGE_ID},
                            "recipient": {"id": body["recipient"]["id"]},
                            "timestamp": now,
                            "message": message,
                        }
                    ],
                }
            ],
        }
        raw = json.dumps(webhook).encode()
        await asyncio.sleep(self.echo_delay)
        if self.echo_hold is not None:
            await self.echo_hold.wait()
        digest = hmac.new(self.echo_secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while self.echo_to and time.monotonic() < deadline:
                try:
                    async with session.post(self.echo_to, data=raw, headers=headers) as response:
                        if response.status == 200:
                            self.echoes_delivered += 1
                            await self._notify()
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)

    async def _stop_echoes(self, _app: web.Application) -> None:
        for task in list(self._echoes):
            task.cancel()
        await asyncio.gather(*self._echoes, return_exceptions=True)

    async def _refuse(
        self,
        status: int,
        answer: dict[str, Any],
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.rejected.append((status, body))
        await self._notify()
        return web.json_response(answer, status=status, headers=headers)

    # -- Messenger Profile API -------------------------------------------------------------

    async def _ids_for_pages(self, request: web.Request) -> web.Response:
        """The ID Matching API: an app access token and its appsecret_proof, as required."""
        import hashlib
        import hmac

        token = f"{self.app_id}|{self.echo_secret}"
        proof = hmac.new(self.echo_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if request.query.get("access_token") != token or request.query.get("appsecret_proof") != proof:
            return web.json_response(graph_error(190, "Invalid OAuth access token."), status=401)
        ids = self.page_ids.get(request.match_info["user_id"], [])
        return web.json_response(
            {"data": [{"id": psid, "page": {"id": PAGE_ID, "name": "Parallels"}} for psid in ids]}
        )

    async def _user_profile(self, request: web.Request) -> web.Response:
        """The User Profile API: names of people who wrote to the page, if allowed."""
        if request.query.get("access_token") != TOKEN:
            return web.json_response(graph_error(190, "Invalid OAuth access token."), status=401)
        user = request.match_info["user_id"]
        if user not in self.names:
            return web.json_response(
                graph_error(100, "Unsupported get request.", 33), status=400
            )
        first, last = self.names[user]
        return web.json_response({"first_name": first, "last_name": last, "id": user})

    async def _profile_post(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != TOKEN:
            return web.json_response(graph_error(190, "Invalid OAuth access token."), status=401)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(graph_error(100, "Invalid JSON"), status=400)
        problem = _check_profile(body, self.profile)
        if problem:
            return web.json_response(graph_error(100, problem), status=400)
        self.profile_posts.append(body)
        self.profile.update(body)
        return web.json_response({"result": "success"})

    async def _profile_get(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != TOKEN:
            return web.json_response(graph_error(190, "Invalid OAuth access token."), status=401)
        return web.json_response({"data": [self.profile] if self.profile else []})


def _text(message: dict[str, Any]) -> str:
    if "text" in message:
        return str(message["text"])
    return str(message["attachment"]["payload"]["text"])


def _check_profile(body: Any, current: dict[str, Any]) -> str | None:
    """What the real Messenger Profile API would refuse, or None: the documented limits
    (greeting 160 characters, menu of 20 items with titles of 30 characters and payloads of
    1000, 4 ice breakers), the "default" locale, and a Get Started button under a menu."""
    if not isinstance(body, dict) or not body:
        return "the body must be a non-empty JSON object"
    if "get_started" in body and not 0 < len(str(body["get_started"].get("payload", ""))) <= 1000:
        return "get_started payload must be 1 to 1000 characters"
    for name in ("greeting", "persistent_menu", "ice_breakers"):
        if name in body and "default" not in [item.get("locale") for item in body[name]]:
            return f"{name} requires an entry with the locale default"
    for greeting in body.get("greeting", []):
        if not 0 < len(greeting.get("text", "")) <= 160:
            return "greeting text must be 1 to 160 characters"
    if "persistent_menu" in body and "get_started" not in body and "get_started" not in current:
        return "a persistent menu requires a Get Started button"
    for menu in body.get("persistent_menu", []):
        items = menu.get("call_to_actions", [])
        if len(items) > 20:
            return "a persistent menu has at most 20 items"
        for item in items:
            if item.get("type") not in ("postback", "web_url"):
                return "menu items are postback or web_url"
            if not 0 < len(item.get("title", "")) <= 30:
                return "menu item titles are 1 to 30 characters"
            if item["type"] == "postback" and not 0 < len(item.get("payload", "")) <= 1000:
                return "postback payloads are 1 to 1000 characters"
    for breakers in body.get("ice_breakers", []):
        questions = breakers.get("call_to_actions", [])
        if not 0 < len(questions) <= 4:
            return "ice breakers have 1 to 4 questions"
        if not all(q.get("question") and q.get("payload") for q in questions):
            return "each ice breaker needs a question and a payload"
    return None


def _check_message(body: dict[str, Any]) -> str | None:
    """What the real Send API would refuse in a message request, or None."""
    kind = body.get("messaging_type")
    if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return f"invalid messaging_type {kind!r}"
    if kind == "MESSAGE_TAG" and body.get("tag") != "HUMAN_AGENT":
        return "MESSAGE_TAG needs a tag"
    if kind != "MESSAGE_TAG" and "tag" in body:
        return "tag is only for MESSAGE_TAG"
    message = body.get("message")
    if not isinstance(message, dict):
        return "message is required"
    if ("text" in message) == ("attachment" in message):
        return "a message has either text or an attachment"
    if "text" in message:
        text = message["text"]
        if not isinstance(text, str) or not text.strip():
            return "message text is empty"
        if len(text) > 2000:
            return "message text must be shorter than 2000 characters"
    else:
        payload = message["attachment"].get("payload", {})
        if message["attachment"].get("type") != "template" or payload.get("template_type") != "button":
            return "only button templates are expected from this bot"
        if not 0 < len(payload.get("text", "")) <= 640:
            return "button template text must be 1 to 640 characters"
        buttons = payload.get("buttons", [])
        if not 1 <= len(buttons) <= 3:
            return "a button template has 1 to 3 buttons"
        for button in buttons:
            if button.get("type") != "web_url" or not str(button.get("url", "")).startswith(("http://", "https://")):
                return "web_url buttons need an http(s) url"
            if not 0 < len(button.get("title", "")) <= 20:
                return "button titles are 1 to 20 characters"
    quick = message.get("quick_replies", [])
    if len(quick) > 13:
        return "at most 13 quick replies"
    for choice in quick:
        if choice.get("content_type") != "text":
            return "quick replies here are text"
        if not 0 < len(choice.get("title", "")) <= 20:
            return "quick reply titles are 1 to 20 characters"
        if not 0 < len(choice.get("payload", "")) <= 1000:
            return "quick reply payloads are 1 to 1000 characters"
    if len(message.get("metadata", "")) > 1000:
        return "metadata is at most 1000 characters"
    return None


def main() -> None:
    """Serve the fake on 127.0.0.1 and print what the bot sends: `python -m tests.fakes.graph`."""
    from tests.fakes import serve_printing

    async def show(request: web.Request, response: web.StreamResponse) -> None:
        if request.path != "/me/messages":
            return
        body = await request.json()
        to = body.get("recipient", {}).get("id")
        if "sender_action" in body:
            print(f"[{to}] ({body['sender_action']})", flush=True)
        elif response.status >= 400:
            print(f"[{to}] refused with HTTP {response.status}", flush=True)
        else:
            message = body["message"]
            print(f"[{to}] {_text(message)}", flush=True)
            for choice in message.get("quick_replies", []):
                print(f"      < {choice['title']} > payload={choice['payload']}", flush=True)
            for button in message.get("attachment", {}).get("payload", {}).get("buttons", []):
                print(f"      [ {button['title']} ] {button['url']}", flush=True)

    serve_printing(
        FakeGraph().app(), show, name=f"fake Graph API (page token: {TOKEN})",
        default_port=8081, description=main.__doc__ or "",
    )  # fmt: skip


if __name__ == "__main__":
    main()
