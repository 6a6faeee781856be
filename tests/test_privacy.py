"""Data protection: Facebook's deletion callback, its status page, `forget`, retention."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.http import SETTINGS, STORE
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph
from tests.serving import run_bot, settled
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]


def signed_request(user_id: str, secret: str = fb.APP_SECRET) -> str:
    """As Facebook builds it: base64url(HMAC-SHA256(payload)) "." base64url(payload)."""
    payload = json.dumps(
        {"algorithm": "HMAC-SHA256", "expires": 0, "issued_at": int(time.time()), "user_id": user_id}
    ).encode()
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode() + "." + encoded


async def test_deletion_callback_deletes_the_customer_and_gives_a_status_page(
    bot: Client, graph: FakeGraph
) -> None:
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
    assert code.isalnum() and body["url"].endswith(f"/data-deletion/{code}")
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
    from bot.app import create_app

    settings = messenger_settings.model_copy(update={"messenger_app_id": graph.app_id})
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

