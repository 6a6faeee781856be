"""X end to end: the real app, its SQLite store and workers, a fake X API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot import cli
from bot.app import TWITTER_CURSOR, create_app
from bot.config import Settings
from bot.engine import Engine
from bot.http import STORE
from bot.store import Store
from tests.conftest import listening
from tests.fakes import twitter as x
from tests.fakes.twitter import FakeX
from tests.serving import settled

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture
async def fake_x(aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]) -> FakeX:
    return await listening(FakeX(), aiohttp_server)


def x_settings(settings: Settings, fake: FakeX, **changes: Any) -> Settings:
    values = {**x.twitter_settings(fake.url), "twitter_dm_api": "v1", **changes}
    return settings.model_copy(update=values)


@pytest.fixture
async def bot(aiohttp_client: MakeClient, settings: Settings, fake_x: FakeX, engine: Engine) -> Client:
    """The real app with X on (webhook mode, v1.1 DMs with quick replies)."""
    return await aiohttp_client(create_app(x_settings(settings, fake_x), engine))


@pytest.fixture
async def bot_v2(aiohttp_client: MakeClient, settings: Settings, fake_x: FakeX, engine: Engine) -> Client:
    """The same with the v2 DM endpoint, which has no quick replies."""
    return await aiohttp_client(create_app(x_settings(settings, fake_x, twitter_dm_api="v2"), engine))


async def post(bot: Client, body: dict[str, Any]) -> int:
    raw = x.encode(body)
    response = await bot.post("/webhooks/twitter", data=raw, headers=x.sign(raw))
    return response.status


def store(bot: Client) -> Store:
    return bot.app[STORE]


# -- CRC and signatures -------------------------------------------------------------------


async def test_crc_answers_the_hmac_of_the_token(bot: Client) -> None:
    response = await bot.get("/webhooks/twitter", params={"crc_token": "c2VjcmV0LWNoYWxsZW5nZQ"})
    assert response.status == 200
    digest = hmac.new(x.CONSUMER_SECRET.encode(), b"c2VjcmV0LWNoYWxsZW5nZQ", hashlib.sha256).digest()
    assert await response.json() == {"response_token": "sha256=" + base64.b64encode(digest).decode()}


async def test_crc_without_token_is_a_400(bot: Client) -> None:
    response = await bot.get("/webhooks/twitter")
    assert response.status == 400
    assert "crc_token" in (await response.json())["error"]


async def test_crc_never_signs_a_webhook_body(bot: Client, fake_x: FakeX) -> None:
    # The CRC answer is the same HMAC as a webhook signature: were any token signed, an
    # attacker could send a forged DM as crc_token and post it with the signature returned.
    forged = x.encode(x.webhook(dms=[x.dm("6666", "mdp oublié")]))
    for token in (forged.decode(), "{}", "a" * 300, "abc def", "é" * 20):
        response = await bot.get("/webhooks/twitter", params={"crc_token": token})
        assert response.status == 400, token
        assert "response_token" not in await response.json()
    signature = {"x-twitter-webhooks-signature": "sha256=", "Content-Type": "application/json"}
    assert (await bot.post("/webhooks/twitter", data=forged, headers=signature)).status == 403
    await settled(bot)
    assert await store(bot).conversation("twitter", "6666") is None
    assert fake_x.dms == []
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_webhook_handshake_refusals_total{channel="twitter",reason="malformed"} 5.0' in metrics


async def test_crc_is_rate_limited_per_client(bot: Client) -> None:
    statuses = [
        (await bot.get("/webhooks/twitter", params={"crc_token": f"dG9rZW4{n:04d}"})).status
        for n in range(40)
    ]
    assert statuses[:5] == [200] * 5  # X's own checks (hourly, and on demand) pass
    assert statuses[-1] == 429
    refused = await bot.get("/webhooks/twitter", params={"crc_token": "dG9rZW4tbGFzdA"})
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_webhook_handshake_refusals_total{channel="twitter",reason="rate_limited"}' in metrics


async def test_wrong_or_missing_signature_is_refused_and_nothing_stored(bot: Client, fake_x: FakeX) -> None:
    raw = x.encode(x.webhook(dms=[x.dm("1001", "mdp oublié")]))
    wrong = await bot.post("/webhooks/twitter", data=raw, headers=x.sign(raw, secret="guess"))
    missing = await bot.post("/webhooks/twitter", data=raw, headers={"Content-Type": "application/json"})
    tampered = await bot.post("/webhooks/twitter", data=raw.replace(b"mdp", b"MDP"), headers=x.sign(raw))
    assert (wrong.status, missing.status, tampered.status) == (403, 401, 403)
    await settled(bot)
    assert (await store(bot).counts()).by_status == {}
    assert await store(bot).conversation("twitter", "1001") is None  # nothing kept
    assert fake_x.dms == []


async def test_malformed_json_is_a_400_and_oversized_body_a_413(bot: Client) -> None:
    for raw in (b"{not json", b"[]", b'{"direct_message_events": []}', b'{"for_user_id": 5}'):
        response = await bot.post("/webhooks/twitter", data=raw, headers=x.sign(raw))
        assert response.status == 400, raw
        assert "error" in await response.json()
    big = x.encode(x.webhook(dms=[x.dm("1002", "a" * (1024 * 1024 + 10))]))
    response = await bot.post("/webhooks/twitter", data=io.BytesIO(big), headers=x.sign(big))
    assert response.status == 413


async def test_typing_read_follow_favourite_and_unknown_events_are_ignored(bot: Client, fake_x: FakeX) -> None:
    body = x.webhook(
        direct_message_indicate_typing_events=[{"created_timestamp": "1", "sender_id": "1003", "target": {"recipient_id": x.ACCOUNT}}],
        direct_message_mark_read_events=[{"created_timestamp": "1", "sender_id": "1003"}],
        follow_events=[{"type": "follow", "source": {"id": "1003"}, "target": {"id": x.ACCOUNT}}],
        favorite_events=[{"id": "f1", "user": {"id_str": "1003"}}],
        something_new=[{"id": 1}],
    )
    body["direct_message_events"] = [{"type": "welcome_message_create", "id": "5"}, {"unexpected": True}]
    assert await post(bot, body) == 200
    await settled(bot)
    assert fake_x.dms == [] and fake_x.tweets == []
    assert await store(bot).conversation("twitter", "1003") is None


# -- direct messages ---------------------------------------------------------------------------


async def test_dm_is_answered_with_quick_reply_options_and_a_tap_is_understood(bot: Client, fake_x: FakeX) -> None:
    assert await post(bot, x.webhook(dms=[x.dm("1010", "j'ai oublié mon mot de passe")])) == 200
    await fake_x.wait_for(3, "1010")
    texts = fake_x.texts("1010")
    assert texts[0].startswith("Bonjour, je suis l'assistant automatisé de Parallels")
    assert "réinitialiser" in " ".join(texts)
    question = fake_x.dms[-1]
    assert question["text"] == "Est-ce que cela a résolu votre problème ?"
    assert question["options"] == [{"label": "Oui", "metadata": "feedback:yes"}, {"label": "Non", "metadata": "feedback:no"}]
    # The label says "Oui" but the tapped option's metadata says no: the metadata wins.
    assert await post(bot, x.webhook(dms=[x.dm("1010", "Oui", metadata="feedback:no")])) == 200
    await fake_x.wait_for(4, "1010")
    assert "conseiller" in fake_x.texts("1010")[3]
    conversation = await store(bot).conversation("twitter", "1010")
    assert conversation is not None and conversation.customer_name == "Client 010 (@user1010)"
    escalations = await store(bot).escalations(conversation.id)
    assert [(e.status, e.reason) for e in escalations] == [("open", "not_solved")]
    assert fake_x.unsigned == 0


async def test_v2_choices_are_a_numbered_list_and_a_typed_number_picks_one(bot_v2: Client, fake_x: FakeX) -> None:
    await post(bot_v2, x.webhook(dms=[x.dm("1011", "mdp oublié")]))
    await fake_x.wait_for(3, "1011")
    last = fake_x.dms[-1]
    assert last["api"] == "v2" and last["options"] == []
    assert last["text"].endswith("Répondez par le numéro de votre choix :\n1. Oui\n2. Non")
    await post(bot_v2, x.webhook(dms=[x.dm("1011", "2")]))
    await fake_x.wait_for(4, "1011")
    assert "conseiller" in fake_x.texts("1011")[3]


async def test_screenshot_alone_asks_for_words(bot: Client, fake_x: FakeX) -> None:
    await post(bot, x.webhook(dms=[x.dm("1012", "", media=True)]))
    await fake_x.wait_for(2, "1012")
    assert "décrire votre problème" in fake_x.texts("1012")[-1]


async def test_duplicate_event_id_is_answered_once(bot: Client, fake_x: FakeX) -> None:
    event = x.dm("1013", "mdp oublié", event_id="1500000000000000001")
    assert await post(bot, x.webhook(dms=[event])) == 200
    assert await post(bot, x.webhook(dms=[event])) == 200
    await fake_x.wait_for(3, "1013")
    await settled(bot)
    assert await post(bot, x.webhook(dms=[event])) == 200
    await settled(bot)
    assert len(fake_x.texts("1013")) == 3


async def test_own_echo_is_ignored(bot: Client, fake_x: FakeX) -> None:
    assert await post(bot, x.webhook(dms=[x.echo("1014", "Bonjour, je suis l'assistant", app_id=x.APP_ID)])) == 200
    await settled(bot)
    assert fake_x.dms == []
    assert await store(bot).conversation("twitter", "1014") is None


async def test_answer_from_the_x_app_pauses_the_bot(bot: Client, fake_x: FakeX) -> None:
    await post(bot, x.webhook(dms=[x.dm("1015", "mdp oublié")]))
    await fake_x.wait_for(3, "1015")
    await post(bot, x.webhook(dms=[x.echo("1015", "Bonjour, c'est Julie du service client.", app_id=x.X_WEB_APP)]))
    await settled(bot)
    await post(bot, x.webhook(dms=[x.dm("1015", "merci Julie, toujours pas de mail")]))
    await settled(bot)
    assert len(fake_x.texts("1015")) == 3  # the bot said nothing more
    conversation = await store(bot).conversation("twitter", "1015")
    assert conversation is not None
    assert [(e.status, e.agent) for e in await store(bot).escalations(conversation.id)] == [("claimed", "X")]


# -- delivery ------------------------------------------------------------------------------------


async def test_429_waits_for_the_rate_limit_reset_then_delivers_once(
    aiohttp_client: MakeClient, settings: Settings, fake_x: FakeX, engine: Engine
) -> None:
    patient = x_settings(settings, fake_x, bot_send_backoff_max=5.0)  # the reset is sooner
    bot = await aiohttp_client(create_app(patient, engine))
    reset = str(int(time.time()) + 2)
    fake_x.fail_next(429, x.v1_error(88, "Rate limit exceeded"), {"x-rate-limit-reset": reset})
    fake_x.fail_next(503, x.v1_error(130, "Over capacity"))
    started = time.monotonic()
    await post(bot, x.webhook(dms=[x.dm("1020", "bonjour")]))
    await fake_x.wait_for(1, "1020")
    await settled(bot)
    assert time.time() >= int(reset) - 0.01 and time.monotonic() - started >= 1.0
    assert [status for status, _ in fake_x.rejected] == [429, 503]
    texts = fake_x.texts("1020")
    assert len(texts) == len(set(texts)) >= 1


async def test_user_who_does_not_accept_dms_is_not_retried(bot: Client, fake_x: FakeX) -> None:
    fake_x.blocked.add("1021")
    await post(bot, x.webhook(dms=[x.dm("1021", "mdp oublié")]))
    await settled(bot, seconds=0.6)
    assert fake_x.texts("1021") == []
    conversation = await store(bot).conversation("twitter", "1021")
    assert conversation is not None
    rows = await store(bot).outbox(conversation.id)
    assert len(rows) == 3 and {r.status for r in rows} == {"failed"}
    assert all(r.attempts == 1 and r.error and r.error.startswith("349:") for r in rows)


async def test_wrong_token_secret_fails_with_xs_authentication_code(
    aiohttp_client: MakeClient, settings: Settings, fake_x: FakeX, engine: Engine
) -> None:
    wrong = x_settings(settings, fake_x, twitter_access_token_secret=SecretStr("not-the-secret"))
    client = await aiohttp_client(create_app(wrong, engine))
    await post(client, x.webhook(dms=[x.dm("1022", "bonjour")]))
    await settled(client)
    assert fake_x.dms == [] and fake_x.unsigned >= 1
    conversation = await store(client).conversation("twitter", "1022")
    assert conversation is not None
    assert {(r.status, (r.error or "")[:3]) for r in await store(client).outbox(conversation.id)} == {("failed", "32:")}


# -- public mentions -------------------------------------------------------------------------------


async def test_public_mention_gets_one_public_invitation_to_dm(bot: Client, fake_x: FakeX) -> None:
    mention = x.tweet("1030", "@ParallelsSupport impossible de me connecter à mon compte, aidez-moi")
    assert await post(bot, x.webhook(tweets=[mention])) == 200
    assert await post(bot, x.webhook(tweets=[mention])) == 200  # redelivered
    await fake_x.wait_until(lambda: len(fake_x.tweets) >= 1)
    await settled(bot)
    assert len(fake_x.tweets) == 1 and fake_x.dms == []
    reply = fake_x.tweets[0]
    assert reply["reply"] == {"in_reply_to_tweet_id": mention["id_str"]}
    assert f"https://twitter.com/messages/compose?recipient_id={x.ACCOUNT}" in reply["text"]
    assert "message privé" in reply["text"] and x.weighted_length(reply["text"]) <= 280
    conversation = await store(bot).conversation("twitter", "1030")
    assert conversation is not None
    transcript = await store(bot).transcript(conversation.id)
    assert [(t.author, t.direction) for t in transcript] == [("customer", "in"), ("bot", "out")]
    assert transcript[0].text == mention["text"] and transcript[1].delivery == "sent"
    assert await store(bot).escalations(conversation.id) == []


async def test_retweets_our_own_tweets_and_replies_in_our_thread_get_no_public_reply(
    bot: Client, fake_x: FakeX
) -> None:
    mention = x.tweet("1031", "@ParallelsSupport mon mot de passe ne marche pas")
    events = [
        x.retweet("1032", mention),
        x.tweet(x.ACCOUNT, "@user1031 Écrivez-nous en message privé", in_reply_to="1031", mentions=("1031",)),
        x.tweet("1031", "@ParallelsSupport c'est fait", in_reply_to=x.ACCOUNT),
        x.tweet("1033", "Parallels Desktop est super", mentions=()),
    ]
    assert await post(bot, x.webhook(tweets=events)) == 200
    await settled(bot)
    assert fake_x.tweets == [] and fake_x.dms == []
    assert await store(bot).conversation("twitter", "1032") is None
    thread = await store(bot).conversation("twitter", "1031")
    assert thread is not None  # the reply in our thread is kept for the agents
    assert [t.text for t in await store(bot).transcript(thread.id)] == ["@ParallelsSupport c'est fait"]


# -- polling without Account Activity access --------------------------------------------------------


async def test_polling_answers_new_dms_once_across_restarts(
    aiohttp_client: MakeClient, settings: Settings, fake_x: FakeX, engine: Engine
) -> None:
    poll = x_settings(settings, fake_x, twitter_mode="poll", twitter_dm_api="v2", twitter_poll_seconds=5)
    fake_x.receive("1040", "un vieux message d'il y a deux semaines")
    fake_x.page_size = 2  # the new messages span pages
    first = await aiohttp_client(create_app(poll, engine))
    await fake_x.wait_until(lambda: fake_x.reads >= 1)
    await asyncio.sleep(0.1)
    assert await store(first).cursor(TWITTER_CURSOR) is not None
    await first.close()
    for i in range(3):
        fake_x.receive(f"104{i + 1}", "mdp oublié", name=f"Client {i}")

    second = await aiohttp_client(create_app(poll, engine))
    for i in range(3):
        await fake_x.wait_for(3, f"104{i + 1}")
    await settled(second)
    await second.close()
    third = await aiohttp_client(create_app(poll, engine))
    reads = fake_x.reads
    await fake_x.wait_until(lambda: fake_x.reads > reads)
    await settled(third)
    assert fake_x.texts("1040") == []  # history is not answered
    for i in range(3):
        assert len(fake_x.texts(f"104{i + 1}")) == 3  # each new DM answered once
    conversation = await store(third).conversation("twitter", "1041")
    assert conversation is not None and conversation.customer_name == "Client 0"
    # The replies the second one sent came back in the third one's read: not a person.
    assert not conversation.state.escalated


async def test_polling_a_person_answering_from_the_x_app_pauses_the_bot(
    aiohttp_client: MakeClient, settings: Settings, fake_x: FakeX, engine: Engine
) -> None:
    """X's DM events do not say which app sent the account's messages: one the outbox does
    not know is a person's."""
    poll = x_settings(settings, fake_x, twitter_mode="poll", twitter_dm_api="v2", twitter_poll_seconds=0.2)
    client = await aiohttp_client(create_app(poll, engine))
    await fake_x.wait_until(lambda: fake_x.reads >= 1)
    await asyncio.sleep(0.3)
    fake_x.receive("1050", "mdp oublié")
    await fake_x.wait_for(3, "1050")
    fake_x.receive(x.ACCOUNT, "Bonjour, ici Julie du service client.", recipient="1050")
    reads = fake_x.reads
    await fake_x.wait_until(lambda: fake_x.reads >= reads + 2)
    await settled(client)
    conversation = await store(client).conversation("twitter", "1050")
    assert conversation is not None and conversation.state.escalated
    fake_x.receive("1050", "merci Julie")
    reads = fake_x.reads
    await fake_x.wait_until(lambda: fake_x.reads >= reads + 2)
    await settled(client)
    assert len(fake_x.texts("1050")) == 3  # the bot stays silent while Julie answers


async def test_a_reply_one_instance_sent_is_not_taken_for_a_person_by_another(
    postgres_url: str, aiohttp_client: MakeClient, settings: Settings, fake_x: FakeX, engine: Engine
) -> None:
    """Two instances poll X's DMs, where the account's own DMs come back without the app
    that sent them: the instance that did not send a reply must not pause the bot for it.

    (`postgres_url` first: fixtures end in the reverse order, so the schema is dropped after
    both instances stopped, not under their polling.)"""
    poll = x_settings(
        settings, fake_x, twitter_mode="poll", twitter_dm_api="v2", twitter_poll_seconds=0.2,
        bot_database_url=postgres_url,
    )  # fmt: skip
    first = await aiohttp_client(create_app(poll, engine))
    second = await aiohttp_client(create_app(poll, engine))
    await fake_x.wait_until(lambda: fake_x.reads >= 2)
    await asyncio.sleep(1.1)  # both read once (new DMs are answered), a second ago (X's stamps)
    fake_x.receive("2001", "j'ai oublié mon mot de passe")
    await fake_x.wait_for(3, "2001")
    reads = fake_x.reads
    await fake_x.wait_until(lambda: fake_x.reads >= reads + 6)  # each instance read them
    await settled(first)
    await settled(second)
    conversation = await store(first).conversation("twitter", "2001")
    assert conversation is not None and not conversation.state.escalated
    assert await store(first).list_escalations(None) == []
    fake_x.receive("2001", "non")  # and the bot still answers the customer
    await fake_x.wait_for(4, "2001")


async def test_polling_backs_off_on_429(aiohttp_client: MakeClient, settings: Settings, fake_x: FakeX, engine: Engine) -> None:
    poll = x_settings(settings, fake_x, twitter_mode="poll", twitter_dm_api="v2", twitter_poll_seconds=5)
    fake_x.fail_next(429, {"title": "Too Many Requests", "detail": "Too Many Requests"}, {"x-rate-limit-reset": str(int(time.time()) + 60)})
    client = await aiohttp_client(create_app(poll, engine))
    await fake_x.wait_until(lambda: fake_x.reads >= 1)
    await asyncio.sleep(0.3)
    assert fake_x.reads == 1
    assert await store(client).cursor(TWITTER_CURSOR) is None


# -- set-up commands --------------------------------------------------------------------------------


def _x_env(monkeypatch: pytest.MonkeyPatch, fake: FakeX, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name, value in {
        "TWITTER_CONSUMER_KEY": x.CONSUMER_KEY,
        "TWITTER_CONSUMER_SECRET": x.CONSUMER_SECRET,
        "TWITTER_ACCESS_TOKEN": x.ACCESS_TOKEN,
        "TWITTER_ACCESS_TOKEN_SECRET": x.ACCESS_TOKEN_SECRET,
        "TWITTER_API_URL": fake.url,
        "TWITTER_ENV_NAME": "prod",
    }.items():
        monkeypatch.setenv(name, value)


async def test_register_subscribes_the_account_and_status_lists_the_webhook(
    fake_x: FakeX, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _x_env(monkeypatch, fake_x, tmp_path)
    url = "https://bot.example.com/webhooks/twitter"
    assert await asyncio.to_thread(cli.main, ["twitter", "register", url]) == 0
    out = capsys.readouterr().out
    assert url in out and "subscribed" in out
    assert fake_x.subscribed == {x.ACCOUNT} and fake_x.unsigned == 0
    assert await asyncio.to_thread(cli.main, ["twitter", "status"]) == 0
    assert f"{url}\tvalid" in capsys.readouterr().out


async def test_register_refuses_an_address_x_cannot_call(
    fake_x: FakeX, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _x_env(monkeypatch, fake_x, tmp_path)
    for url in ("http://bot.example.com/webhooks/twitter", "https://bot.example.com:8443/webhooks/twitter"):
        assert await asyncio.to_thread(cli.main, ["twitter", "register", url]) == 2
        assert capsys.readouterr().err.startswith("error: ")
    monkeypatch.delenv("TWITTER_ENV_NAME")
    assert await asyncio.to_thread(cli.main, ["twitter", "status"]) == 2
    assert "TWITTER_ENV_NAME" in capsys.readouterr().err
    assert fake_x.webhooks == []
