"""Accuracy on labelled messages written like real customers, kept apart from the catalogue.

What is scored is what `classify` reports: the Reader's intent (the matcher, then a safety
matter, another Parallels topic or another company's password read as `none`). The
development sets (tests/data/devset.tsv, tests/data/intents/dev_*.tsv) calibrate and guide
the work; the held-out sets (tests/data/holdout.tsv, and tests/data/sealed/intents.tsv,
which is run and never read) are not tuned against. The floors sit a little under the
figures measured and reported in docs/conversation.md: a change that makes the bot worse
fails. Issue 16's targets on the sealed set are 97 %, 95 % and 0.3 %.
"""

from __future__ import annotations

import pytest

from bench.devset import load, score
from intents.catalogue import NONE, PROBLEMS, Catalogue
from intents.model import same_words
from intents.reader import Reader

FLOORS = {
    # name: (in scope to the right intent, out of scope recognised, wrong answers at most)
    # The learned reading (intents/model.npz) is trained on the development sets, so their
    # figures are learned ones; `python -m intents.model crossval` gives their honest ones.
    "devset": (0.98, 0.99, 0.005),
    # One Spanish account that "no funciona" is asked about since the other languages'
    # words are read (out of scope 100 -> 98.4 %).
    "holdout": (0.965, 0.98, 0.005),
    "intents/dev_extra": (0.98, 1.0, 0.005),
    "intents/dev_offtopic": (1.0, 0.98, 0.005),
    "intents/dev_offtopic2": (1.0, 0.99, 0.005),
    "intents/dev_extra2": (0.95, 1.0, 0.005),
    # Written blind (from the article and DESIGN.md only) before the rules it then led to.
    "intents/dev_blind3": (0.965, 0.975, 0.006),
    "intents/dev_blind4": (0.97, 0.99, 0.005),
    "intents/dev_blind5": (0.97, 0.99, 0.005),
    # Their first readings: 96.7 / 95.0 / 0.3 % and 87.2 / 97.5 / 0.3 %.
    "intents/dev_blind6": (0.965, 0.95, 0.005),
    "intents/dev_blind7": (0.905, 0.985, 0.005),
    "sealed/intents": (0.98, 0.96, 0.003),
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_accuracy_stays_above_its_floor(reader: Reader, name: str) -> None:
    in_scope, out_of_scope, wrong = FLOORS[name]
    scores = score(reader.read, load(name))
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
    phrasings = {same_words(p) for intent in catalogue.intents for p in intent.phrasings}
    assert [text for _, text in load(name) if same_words(text) in phrasings] == []
