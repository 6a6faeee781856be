"""The matcher tells near-miss problems apart and is honest about doubt."""

from __future__ import annotations

import random
import struct

import pytest

from intents.matcher import Matcher, _tenth

NEAR_MISSES = [
    ("j'ai oublié mon mot de passe", "forgot_password"),
    ("je ne reçois pas l'e-mail de réinitialisation de mon mot de passe", "reset_email_missing"),
    ("je ne me souviens plus de l'adresse mail de mon compte", "forgot_email"),
    ("je n'ai plus accès à l'adresse mail de mon compte", "lost_email_access"),
    (
        "je me connecte depuis un nouveau navigateur et le mail pour l'autoriser n'arrive pas",
        "device_email_missing",
    ),
    ("Cette adresse mail est déjà utilisée", "email_in_use"),
    (
        "Cette adresse e-mail a été supprimée et ne peut pas être réutilisée pendant au moins 30 jours",
        "email_deleted",
    ),
    (
        "Il n'est pas recommandé d'utiliser ce mot de passe, car il est largement utilisé",
        "weak_password",
    ),
    ("je dois créer un compte professionnel pour mon entreprise", "business_account"),
]


@pytest.mark.parametrize(("text", "intent"), NEAR_MISSES)
def test_near_miss_problems_are_told_apart(matcher: Matcher, text: str, intent: str) -> None:
    match = matcher.match(text)
    assert match.intent == intent
    assert match.decision == "answer"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("je n'arrive pas à me connecter", "invalid_credentials"),
        ("Adresse mail ou mot de passe non valide", "invalid_credentials"),
        ("je n'arrive pas à créer de compte", "cannot_create_account"),
        ("je ne reçois pas le mail", "no_email_received"),
    ],
)
def test_generic_symptoms_ask_which_problem(matcher: Matcher, text: str, intent: str) -> None:
    match = matcher.match(text)
    assert (match.intent, match.decision) == (intent, "clarify")


def test_a_named_cause_beats_the_generic_symptom(matcher: Matcher) -> None:
    match = matcher.match("je n'arrive pas à me connecter, j'ai oublié mon mot de passe")
    assert match.intent == "forgot_password"


def test_a_problem_named_beside_an_out_of_scope_request_wins(matcher: Matcher) -> None:
    text = "j'ai supprimé mon compte la semaine dernière, faut attendre 30 jours pour le recréer"
    assert matcher.match(text).intent == "email_deleted"
    assert matcher.match("je veux supprimer mon compte").intent == "none"


def test_a_lost_mail_provider_is_a_lost_mailbox(matcher: Matcher) -> None:
    match = matcher.match("je n'ai plus accès à mon gmail")
    assert (match.intent, match.decision) == ("lost_email_access", "answer")


@pytest.mark.parametrize(
    "text",
    [
        "j'ai oublié le mot de passe de ma machine virtuelle Windows",
        "mdp facebook oublié",
        "comment obtenir un remboursement ?",
        "ma clé de licence ne fonctionne plus",
        "asdfghjkl",
        "What is the price of Parallels Desktop?",
        "",
    ],
)
def test_out_of_scope_messages_get_no_article_answer(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.decision == "none"
    assert match.intent == "none"


def test_deleted_address_error_carries_the_number_of_days(matcher: Matcher) -> None:
    match = matcher.match("ça me dit adresse supprimée, réutilisable dans 14 jours")
    assert match.intent == "email_deleted"
    assert match.days == 14


def test_candidates_are_ranked_with_a_margin(matcher: Matcher) -> None:
    match = matcher.match("mot de passe oublié et le mail de réinitialisation n'arrive pas")
    scores = [c.score for c in match.candidates]
    assert scores == sorted(scores, reverse=True)
    assert match.margin == pytest.approx(scores[0] - scores[1])


def test_matching_is_deterministic(matcher: Matcher) -> None:
    text = "g pa recu le mail pr autoriser mon nouveau mac"
    assert matcher.match(text) == matcher.match(text)


def test_a_problem_told_among_context_is_not_answered_as_another(matcher: Matcher) -> None:
    text = (
        "Bonjour, j'ai un Mac depuis 2 ans et Parallels marche bien, mais depuis hier je ne "
        "reçois pas le mail pour réinitialiser mon mot de passe, pouvez-vous m'aider ? Merci"
    )
    match = matcher.match(text)
    assert "reset_email_missing" in [c.intent for c in match.candidates[:2]]
    assert match.decision != "answer" or match.intent == "reset_email_missing"


def test_a_clear_clause_makes_a_long_message_an_answer(matcher: Matcher) -> None:
    text = (
        "Salut ! Ma VM Windows 11 est lente mais ce n'est pas grave. Le vrai souci : je ne me "
        "souviens plus de l'adresse mail avec laquelle j'ai créé mon compte. Bonne journée"
    )
    match = matcher.match(text)
    assert (match.intent, match.decision) == ("forgot_email", "answer")


def test_scores_are_rounded_to_tenths_exactly_as_round_does() -> None:
    rng = random.Random(7)
    scores = [0.0, -0.0, 0.05, -0.05, 0.15, 2.675, -2.675, 99.95, 100.0, -0.04, 1e-300, 1e13]
    scores += [rng.uniform(-150.0, 150.0) for _ in range(20_000)]
    scores += [rng.randint(-15_000, 15_000) / 100 for _ in range(20_000)]
    scores += [rng.randint(-3_000, 3_000) / 20 + rng.choice((0.0, 1e-14, -1e-14)) for _ in range(20_000)]
    for score in scores:
        assert struct.pack("d", _tenth(score)) == struct.pack("d", round(score, 1)), score
