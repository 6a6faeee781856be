"""Pasted passwords and payment card numbers are masked before anything is stored.

What the customer meant stays readable ("[mot de passe masqué]", "[carte masquée]");
the words "mot de passe" of an ordinary sentence, e-mail addresses, phone numbers,
licence keys and other long numbers are kept for the agent.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from bot.app import create_app
from bot.config import Settings
from bot.desk.auth import hash_token
from bot.engine import Engine, Outcome
from bot.http import STORE
from bot.local import LocalConversations
from bot.models import IncomingMessage
from bot.policy import ConversationState
from bot.redaction import CARD_MARK, PASSWORD_MARK, redact
from responses.limits import LOCAL, ChannelLimits
from tests.conftest import listening
from tests.fakes import messenger as fb
from tests.fakes import twitter as x
from tests.fakes.graph import FakeGraph
from tests.fakes.twitter import FakeX
from tests.serving import settled
from tests.test_hostile import HOSTILE, huge_text
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]

# (what the customer wrote, the secret that must not survive)
PASTED_PASSWORDS = [
    ("mon mot de passe c'est Xy7!kq", "Xy7!kq"),
    ("mon mot de passe c’est soleil", "soleil"),
    ("mdp : hunter2", "hunter2"),
    ("mdp: hunter2 et ça marche pas", "hunter2"),
    ("Mdp=azerty", "azerty"),
    ("password: S3cr3t!!", "S3cr3t!!"),
    ("Password : correcthorse", "correcthorse"),
    ("my password is Tr0ub4dor&3", "Tr0ub4dor&3"),
    ("mon mot de passe est Parallels2024", "Parallels2024"),
    ("le mot de passe est : bonjour", "bonjour"),
    ("mon ancien mot de passe était Chat_noir1", "Chat_noir1"),
    ("mon mot de passe actuel est Mar$eille13", "Mar$eille13"),
    ("voici mon mot de passe Xy7!kq, il ne marche pas", "Xy7!kq"),
    ("mon mot de passe c'est « ma maison 12 »", "ma maison 12"),
    ('mdp "azerty123"', "azerty123"),
    ("identifiant jean@exemple.fr\nmot de passe :\nQw3rty!", "Qw3rty!"),
    ("MOT DE PASSE : Zz9-zz9", "Zz9-zz9"),
    ("mot-de-passe=abc123def", "abc123def"),
    ("mon mdp c est kiwi42 svp", "kiwi42"),
    ("pwd: letmein", "letmein"),
    ("pass: letmein", "letmein"),
]

ORDINARY = [
    "j'ai oublié mon mot de passe",
    "mot de passe oublié",
    "Adresse mail ou mot de passe non valide",
    "mon mot de passe est refusé",
    "mon mot de passe est trop faible",
    "mon mot de passe est trop court, il faut 8 caractères",
    "le mot de passe doit contenir au moins 8 caractères",
    "mon mot de passe iCloud ne marche pas",
    "mon mot de passe c'est pas bon",
    "mdp : oublié",
    "mon mdp c'est le même que sur mon Mac",
    "j'ai changé mon mot de passe 2 fois",
    "j'ai changé mon mot de passe le 12/03/2024",
    "je reçois pas le mail de réinitialisation du mot de passe",
    "my password is incorrect",
    "le bouton mot de passe oublié ne fait rien",
    "passe moi un conseiller",
    "mdp : ****",
    "Mot de passe : ?",
    "c'est quoi mon mdp ?",
]


@pytest.mark.parametrize(("text", "secret"), PASTED_PASSWORDS)
def test_a_pasted_password_is_masked_and_the_sentence_kept(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert PASSWORD_MARK in masked
    # Only the secret went: what came before it is still there, word for word.
    assert masked.startswith(text[: text.index(secret)].rstrip("«\"' "))


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentences_about_passwords_are_kept_as_written(text: str) -> None:
    assert redact(text) == text


CARDS = [
    "4970101234567893",  # a Luhn-valid Visa-like number
    "4970 1012 3456 7893",
    "4970-1012-3456-7893",
    "5555 5555 5555 4444",
    "3782 822463 10005",  # American Express
    "6011111111111117",
]


@pytest.mark.parametrize("card", CARDS)
def test_a_payment_card_number_is_masked_by_its_checksum(card: str) -> None:
    text = f"j'ai payé avec la carte {card} et rien reçu"
    assert redact(text) == f"j'ai payé avec la carte {CARD_MARK} et rien reçu"


@pytest.mark.parametrize(
    "text",
    [
        "ma commande 4970101234567890 n'arrive pas",  # 16 digits, checksum wrong
        "référence 1234567890123452",  # checksum right, no card network starts with 1
        "mon numéro est 06 12 34 56 78",
        "appelez-moi au +33 6 12 34 56 78",
        "adresse supprimée, réutilisable dans 30 jours",
        "ma clé de licence est ABCD1-EFGH2-IJKL3-MNOP4-QRST5",
        "jean.dupont@gmail.com",
        "commande du 2024-03-12, ticket 4485",
        "49701012345678934970101234567893",  # 32 digits: not a card
    ],
)
def test_other_numbers_addresses_and_keys_stay_for_the_agent(text: str) -> None:
    assert redact(text) == text


def test_masking_twice_changes_nothing() -> None:
    for text, _ in PASTED_PASSWORDS:
        once = redact(text)
        assert redact(once) == once
    card = redact("carte 4970 1012 3456 7893")
    assert redact(card) == card


@HOSTILE
@given(st.text())
def test_any_text_is_masked_without_error_and_idempotently(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@HOSTILE
@given(
    huge_text()
    | st.just("mdp : " * 20_000)
    | st.just("mot de passe " + " " * 100_000)
    | st.just("4" * 100_000)
    | st.just("4 " * 50_000)
    | st.just("mot de passe c'est " + "x" * 100_000)
)
def test_100_kb_of_any_text_is_masked_in_linear_time(text: str) -> None:
    # A pattern that backtracks once per position takes minutes over 100 KB, a linear pass
    # milliseconds: this bound tells the two apart however busy the machine is.
    started = time.thread_time()
    redact(text)
    assert time.thread_time() - started < 0.25


# -- where messages enter: nothing of the secret is stored ---------------------------------------

PASSWORD = "Xy7!kq-Secret"
CARD = "4970 1012 3456 7893"
PASTE = f"mon mot de passe c'est {PASSWORD} et ma carte {CARD}, jean@exemple.fr"


def database_bytes(settings: Settings) -> bytes:
    """Everything SQLite wrote: the database and its write-ahead log."""
    path = settings.sqlite_path
    assert path is not None
    return b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))


def assert_nothing_secret(data: bytes) -> None:
    assert PASSWORD.encode() not in data
    assert CARD.encode() not in data and CARD.replace(" ", "").encode() not in data


async def test_a_password_pasted_on_messenger_reaches_the_agent_masked_and_is_never_stored(
    bot: Client, graph: FakeGraph, messenger_settings: Settings
) -> None:
    await bot.app[STORE].add_agent("Ana", hash_token("token-of-ana"))
    assert await post(bot, fb.text("u-paste", "je veux parler à un humain")) == 200
    assert await post(bot, fb.text("u-paste", PASTE)) == 200
    await settled(bot)
    headers = {"Authorization": "Bearer token-of-ana"}
    [item] = (await (await bot.get("/api/escalations", headers=headers)).json())["escalations"]
    detail = await (await bot.get(f"/api/escalations/{item['id']}", headers=headers)).json()
    customer = [e["text"] for e in detail["transcript"] if e["author"] == "customer"]
    assert customer[-1] == (
        f"mon mot de passe c'est {PASSWORD_MARK} et ma carte {CARD_MARK}, "
        "jean@exemple.fr"  # the agent still needs the address
    )
    assert_nothing_secret(database_bytes(messenger_settings))


async def test_a_password_pasted_in_an_x_dm_is_never_stored(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    settings: Settings,
    engine: Engine,
) -> None:
    fake = await listening(FakeX(), aiohttp_server)
    x_on = settings.model_copy(update=x.twitter_settings(fake.url))
    client = await aiohttp_client(create_app(x_on, engine))
    body = x.encode(x.webhook(dms=[x.dm("1234", PASTE)]))
    response = await client.post("/webhooks/twitter", data=body, headers=x.sign(body))
    assert response.status == 200
    await settled(client)
    conversation = await client.app[STORE].conversation("twitter", "1234")
    assert conversation is not None
    [entry] = [
        e for e in await client.app[STORE].transcript(conversation.id) if e.author == "customer"
    ]
    assert PASSWORD_MARK in entry.text and CARD_MARK in entry.text
    assert_nothing_secret(database_bytes(x_on))


class Recording(Engine):
    """The real engine, remembering the texts it was given."""

    seen: list[str]

    def respond(
        self, state: ConversationState, message: IncomingMessage, limits: ChannelLimits = LOCAL
    ) -> Outcome:
        self.seen.append(message.text)
        return super().respond(state, message, limits)


async def test_the_local_chat_masks_a_password_before_the_engine_keeps_it(engine: Engine) -> None:
    recording = Recording(engine.catalogue, engine.matcher, engine.renderer)
    recording.seen = []
    local = LocalConversations(recording)
    local.send("terminal", "mdp : hunter2")
    await local.reply("web-1", f"ma carte {CARD}")
    assert recording.seen == [f"mdp : {PASSWORD_MARK}", f"ma carte {CARD_MARK}"]
