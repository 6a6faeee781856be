"""Data protection: Facebook's deletion callback, its status page, `forget`, retention."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.engine import Engine
from bot.http import SETTINGS, STORE
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph
from tests.serving import run_bot, settled
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]


PUBLIC_URL = "https://bot.example"


def signed_request(
    user_id: str, secret: str = fb.APP_SECRET, issued_at: float | None = None, **extra: Any
) -> str:
    """As Facebook builds it: base64url(HMAC-SHA256(payload)) "." base64url(payload)."""
    fields = {
        "algorithm": "HMAC-SHA256",
        "expires": 0,
        "issued_at": int(time.time() if issued_at is None else issued_at),
        "user_id": user_id,
        **extra,
    }
    payload = json.dumps({k: v for k, v in fields.items() if v is not None}).encode()
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode() + "." + encoded


@pytest.fixture
async def public_bot(
    aiohttp_client: Any, messenger_settings: Settings, engine: Engine, graph: FakeGraph
) -> Client:
    """The bot with Messenger on and BOT_PUBLIC_URL set, as the deletion callback needs."""
    settings = messenger_settings.model_copy(update={"bot_public_url": PUBLIC_URL})
    client: Client = await aiohttp_client(create_app(settings, engine))
    graph.echo_to = str(client.make_url("/webhooks/messenger"))
    return client


async def test_deletion_callback_deletes_the_customer_and_gives_a_status_page(
    public_bot: Client, graph: FakeGraph
) -> None:
    bot = public_bot
    await post(bot, fb.text("u-gone", "je veux parler à un humain, mon mail est jean@exemple.fr"))
    await post(bot, fb.text("u-stays", "mdp oublié"))
    await graph.wait_for(3, recipient="u-stays")
    await settled(bot)
    response = await bot.post(
        "/webhooks/messenger/data-deletion", data={"signed_request": signed_request("u-gone")}
    )
    assert response.status == 200
    body = await response.json()
    code = body["confirmation_code"]
    assert code.isalnum() and body["url"] == f"{PUBLIC_URL}/data-deletion/{code}"
    store = bot.app[STORE]
    assert await store.conversation("messenger", "u-gone") is None
    assert await store.conversation("messenger", "u-stays") is not None
    assert await store.list_escalations(None) == []
    page = await bot.get(f"/data-deletion/{code}")
    assert page.status == 200
    text = await page.text()
    assert "ont été supprimées" in text and code in text and 'lang="fr"' in text


async def test_deletion_by_app_scoped_id_finds_the_page_scoped_conversation(
    aiohttp_client: Any, messenger_settings: Any, engine: Any, graph: FakeGraph
) -> None:
    """Facebook names the user by app-scoped id; Messenger stored them by page-scoped id."""
    settings = messenger_settings.model_copy(
        update={"messenger_app_id": graph.app_id, "bot_public_url": PUBLIC_URL}
    )
    bot = await aiohttp_client(create_app(settings, engine))
    await post(bot, fb.text("psid-77", "mdp oublié"))
    await graph.wait_for(3, recipient="psid-77")
    graph.page_ids["asid-77"] = ["psid-77"]
    response = await bot.post(
        "/webhooks/messenger/data-deletion", data={"signed_request": signed_request("asid-77")}
    )
    assert response.status == 200
    assert await bot.app[STORE].conversation("messenger", "psid-77") is None
    page = await bot.get(f"/data-deletion/{(await response.json())['confirmation_code']}")
    assert "(1)" in await page.text()


async def test_deletion_callback_refuses_bad_signatures_and_keeps_the_data(
    bot: Client, graph: FakeGraph
) -> None:
    await post(bot, fb.text("u-kept", "mdp oublié"))
    await graph.wait_for(3, recipient="u-kept")
    forged = await bot.post(
        "/webhooks/messenger/data-deletion",
        data={"signed_request": signed_request("u-kept", secret="not-ours")},
    )
    assert forged.status == 403
    for data in ({"signed_request": "nonsense"}, {"signed_request": "a.b"}, {}):
        response = await bot.post("/webhooks/messenger/data-deletion", data=data)
        assert response.status == 400, data
        assert "error" in await response.json()
    assert await bot.app[STORE].conversation("messenger", "u-kept") is not None


async def test_an_old_or_future_signed_request_is_refused_and_the_data_kept(
    public_bot: Client, graph: FakeGraph
) -> None:
    """A signed_request is Facebook's word of the moment: one captured years ago (a log, a
    proxy) must not delete a customer's data now."""
    bot = public_bot
    await post(bot, fb.text("u-replay", "mdp oublié"))
    await graph.wait_for(3, recipient="u-replay")
    day = 86_400
    three_years_ago, a_day_and_a_minute_ago = time.time() - 3 * 365 * day, time.time() - day - 60
    in_an_hour = time.time() + 3_600
    for issued_at in (three_years_ago, a_day_and_a_minute_ago, in_an_hour):
        response = await bot.post(
            "/webhooks/messenger/data-deletion",
            data={"signed_request": signed_request("u-replay", issued_at=issued_at)},
        )
        assert response.status == 403, issued_at
        assert "issued" in (await response.json())["error"]
    assert await bot.app[STORE].conversation("messenger", "u-replay") is not None
    # A fresh one is taken.
    fresh = await bot.post(
        "/webhooks/messenger/data-deletion",
        data={"signed_request": signed_request("u-replay", issued_at=time.time() - 60)},
    )
    assert fresh.status == 200


async def test_a_signed_request_without_issued_at_is_refused(public_bot: Client) -> None:
    payload = base64.urlsafe_b64encode(
        json.dumps({"algorithm": "HMAC-SHA256", "user_id": "u-x"}).encode()
    ).rstrip(b"=")
    signature = hmac.new(fb.APP_SECRET.encode(), payload, hashlib.sha256).digest()
    signed = base64.urlsafe_b64encode(signature).rstrip(b"=").decode() + "." + payload.decode()
    response = await public_bot.post(
        "/webhooks/messenger/data-deletion", data={"signed_request": signed}
    )
    assert response.status == 400
    assert "issued_at" in (await response.json())["error"]


async def test_without_bot_public_url_the_status_link_is_never_built_from_the_host_header(
    bot: Client, graph: FakeGraph
) -> None:
    """Whoever reaches the server chooses its Host header: a link built from it would send
    the person to any site. Without BOT_PUBLIC_URL there is no link to give: the data is
    deleted as asked, and the answer says what the operator must set."""
    await post(bot, fb.text("u-host", "mdp oublié"))
    await graph.wait_for(3, recipient="u-host")
    response = await bot.post(
        "/webhooks/messenger/data-deletion",
        data={"signed_request": signed_request("u-host")},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status == 503
    text = await response.text()
    assert "evil.example" not in text and "BOT_PUBLIC_URL" in text
    assert await bot.app[STORE].conversation("messenger", "u-host") is None


async def test_unknown_deletion_code_says_so_in_french(bot: Client) -> None:
    response = await bot.get("/data-deletion/abc123")
    assert response.status == 404
    assert "Nous ne trouvons aucune demande" in await response.text()
    assert (await bot.get("/data-deletion/<script>")).status == 404


def test_forget_command_deletes_a_customer_by_hand(tmp_path: Path) -> None:
    import asyncio

    from adapters.base import Inbound
    from bot.models import IncomingMessage
    from bot.store import open_store

    url = f"sqlite:///{tmp_path}/bot.sqlite3"

    async def seed() -> None:
        store = open_store(url)
        await store.open()
        message = IncomingMessage(channel="twitter", platform_id="e1", sender_id="42", text="aide")
        await store.add_inbox([Inbound("message", message)])
        [event] = await store.claim_events("w", 1, 60)
        from bot.store import TurnRecord

        await store.finish_turns("w", [TurnRecord(event, event.conversation.state)])
        await store.close()

    asyncio.run(seed())
    result = run_bot("forget", "twitter", "42", cwd=tmp_path, env={"BOT_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 conversation(s) of twitter user 42 deleted")

    async def gone() -> bool:
        store = open_store(url)
        await store.open()
        try:
            return await store.conversation("twitter", "42") is None
        finally:
            await store.close()

    assert asyncio.run(gone())


async def test_a_forgotten_customers_words_leave_the_database_files(
    bot: Client, graph: FakeGraph
) -> None:
    """Deleted rows stay readable in a database file's free pages and write-ahead log unless
    they are overwritten: after `forget`, the customer's words are in neither file."""
    marker = "zorglub-oublie-42"
    await post(bot, fb.text("u-erase", f"je veux parler à un humain, {marker}"))
    await graph.wait_for(2, recipient="u-erase")
    await settled(bot)
    store = bot.app[STORE]
    conversation = await store.conversation("messenger", "u-erase")
    assert conversation is not None
    await store.forget("messenger", ["u-erase"], "0123456789abcdef0123")
    path = Path(bot.app[SETTINGS].bot_database_url.removeprefix("sqlite:///"))
    files = [f for f in (path, Path(f"{path}-wal")) if f.exists()]
    assert files
    for file in files:
        assert marker.encode() not in file.read_bytes(), file.name


async def test_the_same_deletion_request_again_gets_the_same_code(
    public_bot: Client, graph: FakeGraph
) -> None:
    """Facebook retries a callback it saw fail; a replay within the day is the same request:
    one deletion, one code, its status page unchanged."""
    await post(public_bot, fb.text("u-twice", "mdp oublié"))
    await graph.wait_for(3, recipient="u-twice")
    await settled(public_bot)
    signed = signed_request("u-twice")
    first = await public_bot.post("/webhooks/messenger/data-deletion", data={"signed_request": signed})
    again = await public_bot.post("/webhooks/messenger/data-deletion", data={"signed_request": signed})
    assert first.status == again.status == 200
    code = (await first.json())["confirmation_code"]
    assert (await again.json())["confirmation_code"] == code
    deletion = await public_bot.app[STORE].deletion(code)
    assert deletion is not None and deletion.conversations == 1
    other = await public_bot.post(
        "/webhooks/messenger/data-deletion", data={"signed_request": signed_request("u-other")}
    )
    assert (await other.json())["confirmation_code"] != code

