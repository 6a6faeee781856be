"""French normalisation: the forms customers write reach the matcher as one form."""

from __future__ import annotations

import random
import string
from itertools import pairwise

import pytest
from rapidfuzz import fuzz, process

from intents.matcher import Matcher


def tokens(matcher: Matcher, text: str) -> tuple[str, ...]:
    return matcher.normalizer.normalize(text).tokens


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("J'AI OUBLIÉ MON MOT DE PASSE", "j'ai oublie mon mot de passe"),
        ("j’ai oublié mon mot-de-passe", "j'ai oublié mon mot de passe"),
        ("jai oublie mon mdp", "j'ai oublié mon mot de passe"),
        ("g oublié mon password", "j'ai oublié mon mot de passe"),
        ("j'ai oubliéééé mon mdppp !!! 😭😭", "j'ai oublié mon mot de passe"),
        ("je reçois pas le courriel", "je ne reçois pas le mail"),
        ("je recois pa l'e-mail", "je ne reçois pas le mail"),
        ("jrecois pas l'email", "je ne reçois pas le mail"),
        ("adresse électronique", "adresse mail"),
    ],
)
def test_spellings_of_one_message_normalise_alike(
    matcher: Matcher, written: str, canonical: str
) -> None:
    assert tokens(matcher, written) == tokens(matcher, canonical)


def test_negation_is_kept_so_no_access_differs_from_access(matcher: Matcher) -> None:
    assert tokens(matcher, "je n'ai plus accès à mon adresse") != tokens(
        matcher, "j'ai accès à mon adresse"
    )


def test_typos_are_corrected_towards_the_catalogue(matcher: Matcher) -> None:
    assert tokens(matcher, "reinitialsation navigatuer") == tokens(
        matcher, "réinitialisation navigateur"
    )


def test_addresses_links_and_licence_keys_are_masked(matcher: Matcher) -> None:
    normalized = matcher.normalizer.normalize(
        "mon mail jean.dupont@exemple.fr, ma clé ABCD12-EFGH34-IJKL56-MNOP78 et https://exemple.fr/x"
    )
    words = " ".join(normalized.tokens)
    assert "dupont" not in words and "abcd12" not in words and "exemple" not in words
    assert normalized.email_domains == ("exemple.fr",)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("ne peut pas être réutilisée pendant au moins 30 jours", 30),
        ("il faut attendre 14j", 14),
        ("pendant septante jours", 70),
        ("pendant au moins trente jours", 30),
        ("cette adresse a été supprimée", None),
    ],
)
def test_number_of_days_is_found(matcher: Matcher, text: str, days: int | None) -> None:
    assert matcher.normalizer.normalize(text).days == days


def test_emoji_only_and_empty_messages_have_no_tokens(matcher: Matcher) -> None:
    assert tokens(matcher, "🙂🙂 !!!") == ()
    assert tokens(matcher, "") == ()


@pytest.mark.parametrize(
    "written",
    ["je n'ai plus accès à mon gmail", "je n'ai plus accès à ma boîte hotmail", "plus accès à laposte.net"],
)
def test_a_mail_provider_reads_as_a_mailbox(matcher: Matcher, written: str) -> None:
    assert "boitemail" in tokens(matcher, written)
    assert tokens(matcher, written)[-1] == tokens(matcher, "je n'ai plus accès à ma boîte mail")[-1]


def test_it_works_is_not_it_does_not_work(matcher: Matcher) -> None:
    assert tokens(matcher, "ça marche") != tokens(matcher, "ça marche pas")
    assert tokens(matcher, "ça ne fonctionne plus") == tokens(matcher, "ça marche pas")


def clauses(matcher: Matcher, text: str) -> list[tuple[str, ...]]:
    normalized = matcher.normalizer.normalize(text)
    bounds = (0, *normalized.clauses, len(normalized.tokens))
    return [normalized.tokens[start:end] for start, end in pairwise(bounds)]


def test_a_long_message_is_cut_at_its_sentences_and_turns(matcher: Matcher) -> None:
    text = (
        "Bonjour. Mon Mac tourne bien depuis des mois, mais je n'ai plus accès à ma boîte "
        "mail ; sur my.parallels.com rien à faire… Merci"
    )
    parts = clauses(matcher, text)
    # bonjour | mon mac tourne bien | depuis des mois | mais ... boîte mail | sur ... | merci
    assert len(parts) == 6
    assert sum(parts, ()) == tokens(matcher, text)  # the whole message is unchanged
    assert "urlx" in parts[4]  # a full stop inside an address does not end a sentence


def test_a_short_message_is_one_clause(matcher: Matcher) -> None:
    assert matcher.normalizer.normalize("mdp oublié. mais le mail arrive pas").clauses == ()


def test_folding_translates_every_character_the_table_maps() -> None:
    """fold() replaces each distinct character the table maps: as if it translated the
    whole text."""
    from intents.normalize import _FOLD, _NON_ASCII_RE, _decompose, fold

    text = "".join(map(chr, range(0x300))) + " Mot de Passe `oublié` ŒUF Straße İ ﬁ 👍 ’"
    translated = text.translate(_FOLD).casefold()
    assert fold(text) == _NON_ASCII_RE.sub(_decompose, translated)


@pytest.mark.parametrize(
    ("french", "foreign"),
    [("desole", "debole"), ("apparait", "apparaat"), ("menace", "enlace"), ("chelou", "chegou")],
)
def test_a_french_word_is_never_corrected_into_another_language(
    matcher: Matcher, french: str, foreign: str
) -> None:
    # "Merci et désolé pour le ton" is no weak password ("debole"), "ça m'apparaît" no
    # device ("apparaat"), a threat no link ("enlace"); the foreign word itself is read.
    normalize = matcher.normalizer.normalize
    assert normalize(french).tokens != normalize(foreign).tokens
    assert normalize(foreign).tokens


def test_a_typo_is_corrected_to_the_word_the_whole_vocabulary_gives(matcher: Matcher) -> None:
    normalizer = matcher.normalizer
    rng = random.Random(3)
    long_words = [w for w in normalizer._vocabulary if len(w) >= 5]
    typos = []
    for _ in range(3_000):
        letters = list(rng.choice(long_words))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(letters))
            if rng.random() < 0.5:
                letters[at] = rng.choice(string.ascii_lowercase)
            else:
                letters.insert(at, rng.choice(string.ascii_lowercase + string.digits))
        typos.append("".join(letters))
    typos += ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 32))) for _ in range(500)]
    for typo in typos:
        near = normalizer._near_length[len(typo)]
        whole = process.extractOne(typo, near, scorer=fuzz.ratio, score_cutoff=82.0)
        found = process.extractOne(
            typo, normalizer._reachable(typo, near), scorer=fuzz.ratio, score_cutoff=82.0
        )
        assert (whole and whole[:2]) == (found and found[:2]), typo
