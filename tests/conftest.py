"""Shared fixtures: the real catalogue, matcher, renderer and engine, built once."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import create_app
from bot.config import Settings
from bot.engine import Engine
from intents.catalogue import Catalogue, load_catalogue
from intents.matcher import Matcher
from responses.renderer import Renderer
from tests.fakes import messenger as fb
from tests.fakes.graph import TOKEN as GRAPH_TOKEN
from tests.fakes.graph import FakeGraph
from tests.postgres import NoPostgres, scratch_schema


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def matcher(catalogue: Catalogue) -> Matcher:
    return Matcher(catalogue)


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture(scope="session")
def engine(catalogue: Catalogue, matcher: Matcher, renderer: Renderer) -> Engine:
    return Engine(catalogue, matcher, renderer)


# -- the service against fake platforms ----------------------------------------------------

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a fresh bot: its own SQLite file, no channel, fast retries."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        BOT_DATABASE_URL=f"sqlite:///{tmp_path}/bot.sqlite3",
        BOT_SEND_BACKOFF=0.05,
        BOT_SEND_BACKOFF_MAX=0.2,
        BOT_DRAIN_SECONDS=2,
        BOT_SEND_TIMEOUT=1,
        BOT_UNCONFIRMED_WAIT=1.5,
    )


@pytest.fixture
async def graph(aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]) -> FakeGraph:
    fake = FakeGraph()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
def messenger_settings(settings: Settings, graph: FakeGraph) -> Settings:
    return settings.model_copy(
        update={
            "messenger_app_secret": SecretStr(fb.APP_SECRET),
            "messenger_verify_token": SecretStr(fb.VERIFY_TOKEN),
            "messenger_page_access_token": SecretStr(GRAPH_TOKEN),
            "messenger_api_url": graph.url,
        }
    )


@pytest.fixture
async def bot(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    messenger_settings: Settings,
    engine: Engine,
    graph: FakeGraph,
) -> Client:
    """The real app with Messenger on, talking to the fake Graph API, which echoes back."""
    client = await aiohttp_client(create_app(messenger_settings, engine))
    graph.echo_to = str(client.make_url("/webhooks/messenger"))
    return client


# -- PostgreSQL ---------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """The URL of a fresh schema in the machine's PostgreSQL, dropped afterwards.

    Skips the test, with the reason, when no server answers, unless BOT_REQUIRE_POSTGRES=1
    (CI sets it, after making sure the server is up).
    """
    try:
        async with scratch_schema("t_") as url:
            yield url
    except NoPostgres as exc:
        if os.environ.get("BOT_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"{exc}; BOT_REQUIRE_POSTGRES=1 makes this fail")


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with postgres_schema() as url:
        yield url
