"""`python -m bot twitter register URL | status`: the Account Activity API webhook.

Premium Account Activity API (v1.1, one environment named in the developer portal), all
calls signed in the support account's user context:
https://developer.x.com/en/docs/twitter-api/premium/account-activity-api/api-reference/aaa-premium
- `POST /1.1/account_activity/all/:env_name/webhooks.json?url=…` registers the URL (X runs
  a CRC against it first, so the server must already answer `GET /webhooks/twitter`);
- `POST /1.1/account_activity/all/:env_name/subscriptions.json` subscribes the account;
- `GET /1.1/account_activity/all/:env_name/webhooks.json` lists the registered webhooks.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from adapters.base import SendError
from adapters.twitter import TwitterAdapter

ENV_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SetupError(Exception):
    """The X API refused, or the input cannot work: one line for the operator."""


def check_url(url: str) -> str:
    """X only calls public HTTPS addresses without a port."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise SetupError(f"{url!r} is not an https:// address; X only calls HTTPS webhooks")
    if parts.port is not None:
        raise SetupError(f"{url!r} names a port; X webhooks cannot have one")
    if not parts.path.rstrip("/").endswith("/webhooks/twitter"):
        raise SetupError(f"{url!r} does not end in /webhooks/twitter, where this bot listens")
    return url


def check_env(env_name: str | None) -> str:
    if not env_name:
        raise SetupError(
            "TWITTER_ENV_NAME is not set: set it to the Account Activity environment's "
            "label from the X developer portal"
        )
    if not ENV_NAME.match(env_name):
        raise SetupError(f"TWITTER_ENV_NAME {env_name!r} is not an environment label")
    return env_name


async def register(adapter: TwitterAdapter, env_name: str, url: str) -> dict[str, Any]:
    """Register `url` and subscribe the account; the webhook X returned."""
    base = f"/1.1/account_activity/all/{env_name}"
    try:
        webhook = await adapter.call("POST", f"{base}/webhooks.json", {"url": url})
        await adapter.call("POST", f"{base}/subscriptions.json")
    except SendError as exc:
        raise SetupError(str(exc)) from None
    return webhook if isinstance(webhook, dict) else {}


async def status(adapter: TwitterAdapter, env_name: str) -> list[dict[str, Any]]:
    """The webhooks registered in the environment."""
    try:
        answer = await adapter.call("GET", f"/1.1/account_activity/all/{env_name}/webhooks.json")
    except SendError as exc:
        raise SetupError(str(exc)) from None
    if isinstance(answer, dict):  # some versions wrap the list
        answer = answer.get("webhooks") or answer.get("data") or []
    return [w for w in answer if isinstance(w, dict)] if isinstance(answer, list) else []


def describe(webhook: dict[str, Any]) -> str:
    valid = "valid" if webhook.get("valid") else "NOT valid (CRC failing)"
    return f"{webhook.get('id', '?')}\t{webhook.get('url', '?')}\t{valid}"
