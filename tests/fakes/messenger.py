"""Webhook bodies as Facebook sends them, and their signatures."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
PAGE_ID = "PAGE1"

_mids = itertools.count(1)
_clock = itertools.count(int(time.time() * 1000))  # milliseconds, like Facebook's


def sign(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def webhook(*events: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    """A `page` webhook whose events are spread over `entries` entries."""
    groups: list[list[dict[str, Any]]] = [[] for _ in range(entries)]
    for index, event in enumerate(events):
        groups[index % entries].append(event)
    return {
        "object": "page",
        "entry": [
            {"id": PAGE_ID, "time": next(_clock), "messaging": group} for group in groups
        ],
    }


def encode(body: dict[str, Any], *, escaped: bool = True) -> bytes:
    """Facebook escapes non-ASCII as \\uXXXX and '/' as '\\/'; raw UTF-8 must pass too."""
    if escaped:
        return json.dumps(body, ensure_ascii=True).replace("/", "\\/").encode()
    return json.dumps(body, ensure_ascii=False).encode()


def text(psid: str, words: str, mid: str | None = None, **message: Any) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": next(_clock),
        "message": {"mid": mid or f"m_in_{next(_mids)}", "text": words, **message},
    }


def quick_reply(psid: str, title: str, payload: str) -> dict[str, Any]:
    return text(psid, title, quick_reply={"payload": payload})


def postback(psid: str, title: str, payload: str) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": next(_clock),
        "postback": {"mid": f"m_pb_{next(_mids)}", "title": title, "payload": payload},
    }


def image(psid: str) -> dict[str, Any]:
    event = text(psid, "")
    del event["message"]["text"]
    event["message"]["attachments"] = [
        {"type": "image", "payload": {"url": "https://scontent.example/capture.png"}}
    ]
    return event


def echo(psid: str, words: str, *, app_id: int | None, metadata: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": f"m_echo_{next(_mids)}", "is_echo": True, "text": words}
    if app_id is not None:
        message["app_id"] = app_id
    if metadata is not None:
        message["metadata"] = metadata
    return {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": psid},
        "timestamp": next(_clock),
        "message": message,
    }


def delivery(psid: str) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": next(_clock),
        "delivery": {"mids": ["m_1"], "watermark": next(_clock)},
    }


def read(psid: str) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": next(_clock),
        "read": {"watermark": next(_clock)},
    }


def reaction(psid: str) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": next(_clock),
        "reaction": {"reaction": "love", "emoji": "❤", "action": "react", "mid": "m_1"},
    }
