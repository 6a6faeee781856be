"""Shared fixtures: the real catalogue, matcher, renderer and engine, built once."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import Settings
from bot.engine import Engine
from bot.store import Store, open_store
from intents.catalogue import Catalogue, load_catalogue
from intents.matcher import Matcher
from intents.reader import Reader
from responses.renderer import Renderer
from tests.fakes.graph import FakeGraph
from tests.fakes.graph import messenger_settings as messenger_settings_for
from tests.fakes.twitter import FakeX
from tests.postgres import NoPostgres, scratch_schema


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def matcher(catalogue: Catalogue) -> Matcher:
    return Matcher(catalogue)


@pytest.fixture(scope="session")
def reader(catalogue: Catalogue, matcher: Matcher) -> Reader:
    return Reader(catalogue, matcher)


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture(scope="session")
def engine(catalogue: Catalogue, matcher: Matcher, renderer: Renderer, reader: Reader) -> Engine:
    return Engine(catalogue, matcher, renderer, reader=reader)


# -- the service against fake platforms ----------------------------------------------------

Client = TestClient[web.Request, web.Application]


def fresh_settings(folder: Path, **env: Any) -> Settings:
    """Settings of a fresh bot: its own SQLite file in `folder`, no channel, fast retries;
    `env` overrides by environment name (BOT_SEND_TIMEOUT=…)."""
    values: dict[str, Any] = {
        "BOT_SEND_BACKOFF": 0.05,
        "BOT_SEND_BACKOFF_MAX": 0.2,
        "BOT_DRAIN_SECONDS": 2,
        "BOT_SEND_TIMEOUT": 1,
        "BOT_UNCONFIRMED_WAIT": 1.5,
        **env,
    }
    return Settings(_env_file=None, BOT_DATABASE_URL=f"sqlite:///{folder}/bot.sqlite3", **values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fresh_settings(tmp_path)


Fake = TypeVar("Fake", FakeGraph, FakeX)


async def listening(
    fake: Fake, aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]
) -> Fake:
    """The fake platform, listening on 127.0.0.1, its `url` set."""
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
async def graph(aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]) -> FakeGraph:
    return await listening(FakeGraph(), aiohttp_server)


@pytest.fixture
def messenger_settings(settings: Settings, graph: FakeGraph) -> Settings:
    return settings.model_copy(update=messenger_settings_for(graph.url))


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


@contextlib.asynccontextmanager
async def opened_store(
    dialect: str, tmp_path: Path, clock: Callable[[], float]
) -> AsyncIterator[Store]:
    """A fresh store on `dialect` (SQLite in `tmp_path`, or a fresh PostgreSQL schema, as
    postgres_schema), opened with `clock`, closed afterwards."""
    async with contextlib.AsyncExitStack() as stack:
        if dialect == "sqlite":
            url = f"sqlite:///{tmp_path}/store.sqlite3"
        else:
            url = await stack.enter_async_context(postgres_schema())
        store = open_store(url, clock=clock)
        await store.open()
        stack.push_async_callback(store.close)
        yield store


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with postgres_schema() as url:
        yield url
