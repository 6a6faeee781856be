"""`python -m bot messenger setup`: the page's Messenger profile, set against the fake Graph API.

The command runs as a real process (with asyncio's subprocesses, so that the test's event
loop keeps serving the fake while it waits).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.messenger_profile import (
    ICE_BREAKERS,
    Entry,
    ProfileError,
    profile_body,
    set_profile,
)
from bot.engine import Engine
from bot.models import IncomingMessage
from bot.policy import ConversationState
from intents.catalogue import Catalogue
from responses.limits import MESSENGER
from tests.fakes.graph import TOKEN, FakeGraph


async def run_setup(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run the command in `cwd` (no .env there) with only `env` and PATH set."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "messenger",
        "setup",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def graph_env(graph: FakeGraph, token: str = TOKEN) -> dict[str, str]:
    return {"MESSENGER_API_URL": graph.url, "MESSENGER_PAGE_ACCESS_TOKEN": token}


def default(items: list[dict[str, Any]]) -> dict[str, Any]:
    [item] = [i for i in items if i["locale"] == "default"]
    return item


async def test_setup_sets_get_started_greeting_menu_and_ice_breakers(
    graph: FakeGraph, tmp_path: Path
) -> None:
    status, out, err = await run_setup(tmp_path, graph_env(graph))

    assert status == 0, err
    assert len(out.splitlines()) == 1 and "Messenger profile set" in out
    [posted] = graph.profile_posts
    assert posted["get_started"] == {"payload": "get_started"}
    greeting = default(posted["greeting"])["text"]
    assert len(greeting) <= 160
    assert "assistant automatisé de Parallels" in greeting and "conseiller" in greeting
    menu = default(posted["persistent_menu"])
    assert menu["composer_input_disabled"] is False
    assert 2 <= len(menu["call_to_actions"]) <= 5
    assert all(len(item["title"]) <= 30 for item in menu["call_to_actions"])
    assert menu["call_to_actions"][-1] == {
        "type": "postback",
        "title": "Parler à un conseiller",
        "payload": "human",
    }
    questions = default(posted["ice_breakers"])["call_to_actions"]
    assert 1 <= len(questions) <= 4


async def test_setup_profile_can_be_read_back(graph: FakeGraph, tmp_path: Path) -> None:
    status, _, err = await run_setup(tmp_path, graph_env(graph))
    assert status == 0, err
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{graph.url}/me/messenger_profile", params={"access_token": TOKEN}) as answer,
    ):
        data = (await answer.json())["data"]
    assert set(data[0]) == {"get_started", "greeting", "persistent_menu", "ice_breakers"}


def test_every_menu_and_ice_breaker_payload_gets_its_answer(
    engine: Engine, catalogue: Catalogue
) -> None:
    body = profile_body(catalogue)
    taps = [
        *((i["title"], i["payload"]) for i in default(body["persistent_menu"])["call_to_actions"]),
        *((q["question"], q["payload"]) for q in default(body["ice_breakers"])["call_to_actions"]),
    ]
    for title, payload in taps:
        message = IncomingMessage(
            channel="messenger",
            platform_id=f"p-{payload}",
            sender_id="u1",
            text=title,
            payload=payload,
        )
        outcome = engine.respond(ConversationState(), message, MESSENGER)
        if payload == "human":
            assert outcome.decision.action == "escalate"
            continue
        intent = payload.removeprefix("intent:")
        assert payload.startswith("intent:") and intent in [i.id for i in catalogue.intents]
        assert outcome.decision.action in ("answer", "clarify"), (payload, outcome.decision)
        assert outcome.decision.intent == intent

    started = IncomingMessage(
        channel="messenger",
        platform_id="gs",
        sender_id="u1",
        text="Démarrer",
        payload=body["get_started"]["payload"],
    )
    assert engine.respond(ConversationState(), started, MESSENGER).decision.action == "greet"


async def test_wrong_token_fails_with_graphs_message_and_never_shows_the_token(
    graph: FakeGraph, tmp_path: Path
) -> None:
    wrong = "EAAG-wrong-page-token-0123456789"
    status, out, err = await run_setup(tmp_path, graph_env(graph, wrong))

    assert status == 1
    assert "Invalid OAuth access token." in err and "190" in err
    assert "Traceback" not in err
    assert wrong not in out + err
    assert graph.profile_posts == []


async def test_missing_token_names_the_variable_to_set(graph: FakeGraph, tmp_path: Path) -> None:
    status, out, err = await run_setup(tmp_path, {"MESSENGER_API_URL": graph.url})

    assert status == 2
    assert err.startswith("error: MESSENGER_PAGE_ACCESS_TOKEN")
    assert err.count("\n") == 1 and out == ""
    assert graph.profile_posts == []


async def test_dry_run_prints_the_body_and_sends_nothing(
    graph: FakeGraph, tmp_path: Path, catalogue: Catalogue
) -> None:
    status, out, err = await run_setup(tmp_path, graph_env(graph), "--dry-run")

    assert status == 0, err
    assert json.loads(out) == profile_body(catalogue)
    assert "Parler à un conseiller" in out  # not \u00e0
    assert graph.profile_posts == []


async def test_dry_run_needs_no_token(tmp_path: Path) -> None:
    status, out, err = await run_setup(tmp_path, {}, "--dry-run")
    assert status == 0, err
    assert json.loads(out)["get_started"] == {"payload": "get_started"}


def test_a_greeting_over_160_characters_is_refused_before_sending(catalogue: Catalogue) -> None:
    with pytest.raises(ProfileError, match=r"greeting\.0\.text.*160 characters"):
        profile_body(catalogue, greeting="Bonjour ! " * 17)


def test_more_than_four_ice_breakers_are_refused(catalogue: Catalogue) -> None:
    five = (*ICE_BREAKERS, Entry("email_in_use"))
    with pytest.raises(ProfileError, match=r"ice_breakers\.0\.call_to_actions.*at most 4"):
        profile_body(catalogue, ice_breakers=five)


def test_a_menu_title_over_30_characters_is_refused(catalogue: Catalogue) -> None:
    long = (Entry("forgot_password", "Je ne me souviens plus de mon mot de passe"),)
    with pytest.raises(ProfileError, match=r"title.*30 characters"):
        profile_body(catalogue, menu=long)


def test_an_entry_the_policy_would_not_act_on_is_refused(catalogue: Catalogue) -> None:
    with pytest.raises(ProfileError, match="'thanks' is a conversation"):
        profile_body(catalogue, menu=(Entry("thanks"),))
    with pytest.raises(ProfileError, match="unknown intent 'reset_password'"):
        profile_body(catalogue, menu=(Entry("reset_password"),))


async def test_graphs_refusal_is_reported_with_its_code(graph: FakeGraph) -> None:
    menu_alone = {"persistent_menu": [{"locale": "default", "call_to_actions": []}]}
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ProfileError, match=r"HTTP 400, code 100: .*Get Started") as caught:
            await set_profile(session, api_url=graph.url, page_token=TOKEN, body=menu_alone)
    assert TOKEN not in str(caught.value)


async def test_unreachable_graph_is_a_clear_error() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ProfileError, match=r"cannot reach http://127\.0\.0\.1:9/"):
            await set_profile(
                session, api_url="http://127.0.0.1:9", page_token=TOKEN, body={"greeting": []}
            )
