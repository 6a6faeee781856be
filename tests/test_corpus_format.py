"""The conversation corpus loads, is in the format, and is as large as promised.

These tests read both parts only to check their shape and size; they never look at what
the bot answers (the runner that plays the corpus through the bot does that).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.corpus import (
    ARTICLE_PROBLEMS,
    PARTS,
    SYMPTOM_CHOICES,
    SYMPTOMS,
    TAPS,
    THEMES,
    Conversation,
    CorpusError,
    CorpusFile,
    Turn,
    load_corpus,
    load_file,
)

MIN_CONVERSATIONS = 240
MIN_CHECKED_TURNS = 850


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[Conversation]]:
    return {part: load_corpus(part) for part in PARTS}


def _everything(corpus: dict[str, list[Conversation]]) -> list[Conversation]:
    return [conversation for part in PARTS for conversation in corpus[part]]


@pytest.mark.parametrize("part", PARTS)
def test_each_part_loads_with_its_part_and_themes(part: str) -> None:
    conversations = load_corpus(part)
    assert conversations
    assert {c.part for c in conversations} == {part}
    assert {c.theme for c in conversations} <= set(THEMES)


def test_ids_are_unique_across_the_corpus(corpus: dict[str, list[Conversation]]) -> None:
    counts = Counter(c.id for c in _everything(corpus))
    assert [id_ for id_, n in counts.items() if n > 1] == []


def test_both_parts_have_every_theme(corpus: dict[str, list[Conversation]]) -> None:
    themes = {part: {c.theme for c in corpus[part]} for part in PARTS}
    assert themes["dev"] == themes["sealed"] == set(THEMES)


def test_totals_meet_the_promise(corpus: dict[str, list[Conversation]]) -> None:
    conversations = _everything(corpus)
    assert len(conversations) >= MIN_CONVERSATIONS
    assert sum(c.checked_turns for c in conversations) >= MIN_CHECKED_TURNS


def test_split_gives_the_development_part_half_or_more(corpus: dict[str, list[Conversation]]) -> None:
    share = len(corpus["dev"]) / len(_everything(corpus))
    # The first corpus was split 60 / 40; the batches written since, half and half.
    assert 0.5 <= share <= 0.65, share


def test_every_conversation_has_a_checked_turn(corpus: dict[str, list[Conversation]]) -> None:
    assert [c.id for c in _everything(corpus) if c.checked_turns == 0] == []


def test_conversations_are_in_file_order(corpus: dict[str, list[Conversation]]) -> None:
    for part in PARTS:
        keys = [(c.theme, c.id) for c in corpus[part]]
        assert keys == sorted(keys)


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def test_no_message_is_shared_between_the_parts(corpus: dict[str, list[Conversation]]) -> None:
    # Short replies ("oui", "non", "merci") are everywhere; a real message is not.
    def messages(part: str) -> set[str]:
        return {
            _normal(turn.say)
            for c in corpus[part]
            for turn in c.turns
            if turn.say is not None and len(_normal(turn.say)) >= 20
        }

    # Counted, never shown: the sealed part's messages are not read.
    shared = len(messages("dev") & messages("sealed"))
    assert shared == 0, f"{shared} messages are in both parts; reword the development ones"


def test_every_problem_and_symptom_is_exercised(corpus: dict[str, list[Conversation]]) -> None:
    for part in PARTS:
        answered: Counter[str] = Counter(
            i for c in corpus[part] for t in c.turns for i in t.intents or []
        )
        asked: Counter[tuple[str, ...]] = Counter(
            tuple(t.choices or ()) for c in corpus[part] for t in c.turns
        )
        assert {p for p in ARTICLE_PROBLEMS if answered[p] < 3} == set(), part
        for symptom in SYMPTOMS:
            assert asked[SYMPTOM_CHOICES[symptom]] >= 2, (part, symptom)


def test_clarifying_taps_name_an_offered_choice(corpus: dict[str, list[Conversation]]) -> None:
    for c in _everything(corpus):
        for before, turn in zip(c.turns, c.turns[1:], strict=False):
            if turn.tap and turn.tap.startswith("intent:"):
                if turn.expect == "silent":
                    # An old choice tapped again while a person has the conversation.
                    continue
                assert before.choices is not None, c.id
                assert turn.tap.removeprefix("intent:") in before.choices, c.id


# -- the models refuse what is not in the format -------------------------------------------

ANSWER: dict[str, Any] = {
    "say": "j'ai oublié mon mot de passe",
    "expect": "answer",
    "intents": ["forgot_password"],
}


@pytest.mark.parametrize(
    "turn",
    [
        {**ANSWER, "tap": "yes"},  # both say and tap
        {"expect": "close"},  # neither
        {"say": "  ", "expect": "rephrase"},  # blank text
        {k: v for k, v in ANSWER.items() if k != "intents"},  # answer without intents
        {**ANSWER, "intents": []},
        {**ANSWER, "intents": ["forgot_password", "forgot_password"]},
        {**ANSWER, "intents": ["invalid_credentials"]},  # a symptom is clarified, not answered
        {**ANSWER, "intents": ["no_such_problem"]},
        {**ANSWER, "reason": "not_solved"},  # reason without escalate
        {"say": "non", "expect": "escalate"},  # escalate without reason
        {"say": "non", "expect": "escalate", "reason": "bored"},
        {"say": "je peux pas me connecter", "expect": "clarify", "choices": ["forgot_password"]},
        {"say": "x", "expect": "clarify", "choices": ["forgot_password", "cannot_create_account"]},
        {"tap": "maybe", "expect": "close"},
        {"tap": "intent:invalid_credentials", "expect": "close"},
        {"tap": "yes", "expect": "close", "feedback": "yes"},  # a tap is its own feedback
        {"say": "oui", "expect": "close", "feedback": "maybe"},
        {"say": "Hi", "expect": "language"},  # which language?
        {"say": "Hi", "expect": "language", "language": "english"},
        {"say": "Salut", "expect": "language", "language": "fr"},
        {"say": "allo", "expect": "silent", "contains": ["Bonjour"]},
        {**ANSWER, "contains": [""]},
        {**ANSWER, "contains": ["spams"], "absent": ["SPAMS"]},
        {**ANSWER, "check": "false"},  # strict types
        {**ANSWER, "acknowledge": 1},
        {**ANSWER, "expect": "shrug"},
        {**ANSWER, "sayy": "typo"},  # unknown key
    ],
)
def test_turn_refuses(turn: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Turn.model_validate(turn)


@pytest.mark.parametrize(
    "turn",
    [
        ANSWER,
        {"tap": "no", "expect": "escalate", "reason": "not_solved"},
        {"tap": "intent:weak_password", "expect": "answer", "intents": ["weak_password"]},
        {
            "say": "oui merci, et pour le compte pro ?",
            "expect": "answer",
            "intents": ["business_account"],
            "feedback": "yes",
        },
        {
            "say": "I forgot my password",
            "expect": "answer",
            "intents": ["forgot_password"],
            "language": "en",
        },
        {
            "say": "je reçois pas le mail",
            "expect": "clarify",
            "choices": list(SYMPTOM_CHOICES["no_email_received"]),
        },
        {"say": "allo ?", "expect": "silent", "check": False},
    ],
)
def test_turn_accepts(turn: dict[str, Any]) -> None:
    Turn.model_validate(turn)


def test_taps_cover_every_problem() -> None:
    assert {t.removeprefix("intent:") for t in TAPS if t.startswith("intent:")} == set(
        ARTICLE_PROBLEMS
    )


def _write(tmp_path: Path, part: str, theme: str, text: str) -> Path:
    path = tmp_path / part / f"{theme}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


ONE = """theme = "feedback"

[[conversations]]
id = "feedback-dev-001"
channel = "twitter"

[[conversations.turns]]
say = "mdp oublié"
expect = "answer"
intents = ["forgot_password"]

[[conversations.turns]]
tap = "yes"
expect = "close"
"""


def test_load_file_sets_theme_and_part(tmp_path: Path) -> None:
    (conversation,) = load_file(_write(tmp_path, "dev", "feedback", ONE), "dev")
    assert (conversation.theme, conversation.part, conversation.channel) == (
        "feedback",
        "dev",
        "twitter",
    )
    assert conversation.checked_turns == 2


@pytest.mark.parametrize(
    ("part", "theme", "text"),
    [
        ("dev", "compound", ONE),  # theme differs from the file name
        ("sealed", "feedback", ONE),  # id names the other part
        ("dev", "feedback", ONE.replace('"feedback-dev-001"', '"feedback-dev-1"')),
        ("dev", "feedback", ONE.replace('theme = "feedback"', 'theme = "feedback"\npart = "dev"')),
        ("dev", "feedback", ONE.replace('channel = "twitter"', 'channel = "sms"')),
        ("dev", "feedback", ONE.replace('channel = "twitter"', 'theme = "feedback"')),
        ("dev", "feedback", ONE.replace("[[conversations.turns]]", "[[conversations.turn]]")),
        ("dev", "feedback", "theme = 'feedback'\n"),  # no conversation
        ("dev", "feedback", "theme = "),  # not TOML
    ],
)
def test_load_file_refuses(tmp_path: Path, part: str, theme: str, text: str) -> None:
    with pytest.raises(CorpusError):
        load_file(_write(tmp_path, part, theme, text), part)


def test_load_corpus_refuses_an_unknown_or_empty_part(tmp_path: Path) -> None:
    with pytest.raises(CorpusError):
        load_corpus("test")
    with pytest.raises(CorpusError):
        load_corpus("dev", root=tmp_path)


def test_corpus_file_model_is_strict() -> None:
    with pytest.raises(ValidationError):
        CorpusFile.model_validate({"theme": "weather", "conversations": []})
