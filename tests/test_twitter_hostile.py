"""X webhooks with what an attacker controls in them: display names of any length."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from adapters.twitter import MAX_NAME, display_name
from bot.app import create_app
from bot.config import Settings
from bot.engine import Engine
from bot.http import STORE
from tests.conftest import listening
from tests.fakes import twitter as x
from tests.fakes.twitter import FakeX
from tests.serving import settled
from tests.test_hostile import HOSTILE

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def bot(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    settings: Settings,
    engine: Engine,
) -> Client:
    fake = await listening(FakeX(), aiohttp_server)
    x_on = settings.model_copy(update=x.twitter_settings(fake.url))
    return await aiohttp_client(create_app(x_on, engine))


async def deliver(bot: Client, body: dict[str, object]) -> None:
    raw = x.encode(body)
    response = await bot.post("/webhooks/twitter", data=raw, headers=x.sign(raw))
    assert response.status == 200


HUGE = "Zoé " + "A" * 200_000


async def test_a_200_000_character_display_name_is_stored_bounded(bot: Client) -> None:
    body = x.webhook(dms=[x.dm("1234", "mdp oublié")])
    body["users"]["1234"]["name"] = HUGE
    await deliver(bot, body)
    await settled(bot)
    conversation = await bot.app[STORE].conversation("twitter", "1234")
    assert conversation is not None and conversation.customer_name is not None
    assert len(conversation.customer_name) <= MAX_NAME
    assert conversation.customer_name.startswith("Zoé A")


async def test_a_mention_by_a_huge_name_is_stored_bounded(bot: Client) -> None:
    tweet = x.tweet("5678", "@ParallelsSupport aidez-moi")
    tweet["user"]["name"] = "\u202e" + "B" * 200_000 + "\n\x00"
    await deliver(bot, x.webhook(tweets=[tweet]))
    await settled(bot)
    conversation = await bot.app[STORE].conversation("twitter", "5678")
    assert conversation is not None and conversation.customer_name is not None
    name = conversation.customer_name
    assert len(name) <= MAX_NAME and "\n" not in name and "\x00" not in name


@HOSTILE
@given(st.text() | st.text(min_size=90, max_size=300) | st.none() | st.integers())
def test_any_display_name_becomes_at_most_100_printable_characters_or_none(value: object) -> None:
    name = display_name(value)
    if name is not None:
        assert 0 < len(name) <= MAX_NAME and name == name.strip()
        assert all(c.isprintable() for c in name)
