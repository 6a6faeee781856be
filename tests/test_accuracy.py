"""Accuracy on labelled messages written like real customers, kept apart from the catalogue.

The development set (tests/data/devset.tsv) calibrates the thresholds; the held-out set
(tests/data/holdout.tsv) is never tuned against. The floors sit a little under the
figures measured and reported in the README: a change that makes the bot worse fails.
"""

from __future__ import annotations

import pytest

from bench.devset import load, score
from intents.catalogue import NONE, PROBLEMS, Catalogue
from intents.matcher import Matcher
from intents.normalize import NON_WORD_RE, fold

FLOORS = {
    # name: (in scope to the right intent, out of scope recognised, wrong answers at most)
    "devset": (0.98, 0.95, 0.01),
    "holdout": (0.945, 0.91, 0.01),
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_accuracy_stays_above_its_floor(matcher: Matcher, name: str) -> None:
    in_scope, out_of_scope, wrong = FLOORS[name]
    scores = score(matcher, load(name))
    assert scores.in_scope >= in_scope, scores.line(name)
    assert scores.out_of_scope >= out_of_scope, scores.line(name)
    assert scores.wrong_answers <= wrong, scores.line(name)


def test_development_set_is_large_and_mixed() -> None:
    rows = load("devset")
    labels = [label for label, _ in rows]
    assert len(rows) >= 400
    assert 0.15 <= labels.count(NONE) / len(rows) <= 0.3
    assert all(labels.count(p) >= 25 for p in PROBLEMS)


@pytest.mark.parametrize("name", ["devset", "holdout"])
def test_no_test_sentence_is_in_the_catalogue(catalogue: Catalogue, name: str) -> None:
    def key(text: str) -> str:
        return " ".join(NON_WORD_RE.sub(" ", fold(text)).split())

    phrasings = {key(p) for intent in catalogue.intents for p in intent.phrasings}
    assert [text for _, text in load(name) if key(text) in phrasings] == []
