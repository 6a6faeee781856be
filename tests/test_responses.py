"""The French answers: faithful to the article, well typed, within every channel's limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.check import SAMPLE_CONTEXTS, check
from bot.models import QuickReply, Say
from intents.catalogue import PROBLEMS, Catalogue
from responses.limits import MESSENGER, ChannelLimits, shorten, split_text
from responses.renderer import Renderer

ARTICLE = Path(__file__).resolve().parents[2] / "shared" / "article-fr.txt"


def all_texts(renderer: Renderer) -> dict[str, str]:
    return {
        f"{name}{context}": renderer.text(name, context)
        for name in renderer.template_names()
        for context in SAMPLE_CONTEXTS.get(name, [{}])
    }


def test_check_finds_every_template_renders_within_limits(
    catalogue: Catalogue, renderer: Renderer
) -> None:
    problems, summary = check(catalogue, renderer)
    assert problems == []
    assert summary.startswith("ok:")


@pytest.mark.parametrize(
    ("problem", "must_say"),
    [
        ("forgot_password", ["« Mot de passe oublié »", "page de connexion", "Mon compte"]),
        ("email_in_use", ["« Mot de passe oublié »", "page de connexion"]),
        ("forgot_email", ["noreply@parallels.com"]),
        ("reset_email_missing", ["spams", "noreply@parallels.com", "service Clients"]),
        (
            "device_email_missing",
            ["spams", "no-reply@parallels.com", "déjà autorisé", "service Clients"],
        ),
        ("lost_email_access", ["my.parallels.com", "licences"]),
        ("business_account", ["article 123518 de la base de connaissances"]),
        ("weak_password", ["plus complexe"]),
        ("email_deleted", ["nombre de jours indiqué"]),
    ],
)
def test_answers_use_the_articles_names_and_addresses(
    renderer: Renderer, problem: str, must_say: list[str]
) -> None:
    text = renderer.text(f"answer_{problem}", {"days": None} if problem == "email_deleted" else {})
    for words in must_say:
        assert words in text


def test_answers_name_no_address_or_link_the_article_does_not_give(renderer: Renderer) -> None:
    article = ARTICLE.read_text("utf-8") if ARTICLE.exists() else ""
    given = {"my.parallels.com", "noreply@parallels.com", "no-reply@parallels.com"}
    if article:
        assert all(address in article for address in given)
    for name, text in all_texts(renderer).items():
        found = set(
            re.findall(
                r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b[\w-]+(?:\.[\w-]+)+\.com\b|https?://\S+", text
            )
        )
        assert found <= given, name


def test_answers_use_vouvoiement_and_french_typography(renderer: Renderer) -> None:
    for name, text in all_texts(renderer).items():
        assert not re.search(r"\b(tu|ton|ta|tes|toi)\b", text, re.IGNORECASE), name
        assert not re.search(r"\S[?!;:](?:\s|$)", text.replace("https://", "")), f"{name}: {text}"
        assert '"' not in text, name
        assert "  " not in text, name


def test_every_problem_has_an_answer_template(renderer: Renderer) -> None:
    assert {f"answer_{p}" for p in PROBLEMS} <= set(renderer.template_names())


def test_long_text_is_split_on_sentences_within_the_limit() -> None:
    text = " ".join(f"Phrase numéro {n} du message." for n in range(200))
    pieces = split_text(text, 2000)
    assert len(pieces) > 1
    assert all(len(p) <= 2000 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text


def test_a_word_longer_than_the_limit_is_still_cut() -> None:
    pieces = split_text("a" * 45, 20)
    assert pieces == ["a" * 20, "a" * 20, "a" * 5]


def test_quick_replies_and_buttons_are_held_to_the_channel(renderer: Renderer) -> None:
    tight = ChannelLimits(text=80, quick_replies=2, quick_reply_title=10, buttons=1, button_text=80)
    say = Say(
        template="answer_reset_email_missing",
        quick_replies=tuple(
            QuickReply(title=f"Choix numéro {n}", payload=str(n)) for n in range(5)
        ),
    )
    replies = renderer.render([say], tight)
    assert len(replies) > 1
    assert all(len(r.text) <= 80 for r in replies)
    assert all(r.quick_replies == () for r in replies[:-1])
    assert [len(qr.title) <= 10 for qr in replies[-1].quick_replies] == [True, True]


def test_titles_are_shortened_at_a_word() -> None:
    assert shorten("Parler à un conseiller", 20) == "Parler à un…"
    assert shorten("Oui", MESSENGER.quick_reply_title) == "Oui"
