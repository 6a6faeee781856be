"""A learned reading of safety matters: whether a message must go to a person at once, and why.

The signals (intents/signals.toml) read the safety matters DESIGN.md names (a hacked or
taken-over account, a suspicious e-mail, a payment dispute, a legal or data-protection
request, distress) in the words customers use most, in French and in the other languages
of the note. Said otherwise ("quelqu'un s'amuse à changer mes identifiants", "the bank
flagged a charge from you I never made"), a safety matter escapes them and gets an article
answer, which is what the customer must not get. The same kind of linear model as the
learned reading of problems (intents/model.py), over the same features, names a reason or
`none`; the reader counts a message a safety matter when the signals say so or when the
model gives a reason at least `SURE` probability. Of the 8,912 development messages that
are no safety matter, read by models that never saw their conversation, one reaches it.

`python -m intents.safety train` writes intents/safety.npz from the catalogue's phrasings,
the development intent sets' messages about the article and the typed messages of the
development conversations (never the sealed ones); `python -m intents.safety crossval`
reads each development message with a model that never saw it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

import numpy as np

from intents.catalogue import NONE
from intents.model import (
    TRAINING_SETS,
    Model,
    learnable,
    print_figures,
    train,
    training_context,
    written,
)
from intents.normalize import Normalized
from intents.signals import SAFETY, SafetyReason

if TYPE_CHECKING:
    from intents.catalogue import Catalogue
    from tests.corpus import Conversation

SAFETY_PATH: Final = Path(__file__).with_name("safety.npz")
LABELS: Final = (*SAFETY, NONE)
#: The probability of one reason from which a message is a safety matter, chosen by
#: cross-validation by conversation on the development messages: the most safety matters
#: read, with at most one more of the other messages taken for one than the signals alone.
SURE: Final = 0.4
#: How much the model trusts the weights (scikit-learn's C), as the other readings.
STRENGTH: Final = 4.0


def reason(
    model: Model, normalized: Normalized, text: str, sure: float = SURE
) -> SafetyReason | None:
    """The safety reason the model gives the message at least `sure` probability, if any."""
    return reason_in(model.probabilities(normalized, text), sure)


def reason_in(probabilities: np.ndarray, sure: float = SURE) -> SafetyReason | None:
    """The safety reason given at least `sure` by the model's probabilities for a message."""
    odds = probabilities[: len(SAFETY)]
    best = int(odds.argmax())
    return SAFETY[best] if float(odds[best]) >= sure else None


@dataclass(frozen=True, slots=True)
class Labelled:
    """A development message and what it is: a safety reason or `none`."""

    label: str
    text: str


def load(part: str) -> list[Labelled]:
    """The typed messages of one part's conversations, labelled (tests/corpus.py)."""
    from tests.corpus import load_corpus, safety_messages

    return [Labelled(label, text) for label, text in safety_messages(load_corpus(part))]


def examples(
    normalize: Callable[[str], Normalized],
    catalogue: Catalogue,
    conversations: Sequence[Conversation] | None = None,
) -> list[tuple[str, Normalized, str]]:
    """(label, normalised, text): the catalogue's phrasings of the article and the
    development intent sets' messages about it as `none`, and the typed messages of the
    development conversations (`conversations`, all when not given) with their label. The
    intent sets' off-topic messages are left out: some of them are safety matters, which
    those sets do not say. So is any message written like a held-out one."""
    from bench.devset import load as load_set
    from tests.corpus import load_corpus, safety_messages

    article = [(NONE, p) for i in catalogue.intents if i.id != NONE for p in i.phrasings]
    article += [(NONE, t) for name in TRAINING_SETS for label, t in load_set(name) if label != NONE]
    said = safety_messages(load_corpus("dev") if conversations is None else conversations)
    return learnable(normalize, [*article, *said])


def learn(examples: Sequence[tuple[str, Normalized, str]]) -> Model:
    """The reading trained from `examples`' output. Each reason weighs as much as `none`,
    which has thirty times the messages of all of them together: unweighted, the model
    learned that a safety matter is rare more than how one is said, and named a reason
    for 64 % of the hacked accounts it had not seen, against 74 % weighted (cross-validated
    by conversation, each at its own best `SURE`)."""
    return train(examples, LABELS, STRENGTH, balanced=True)


def figures(
    read: Callable[[str], SafetyReason | None], rows: Sequence[Labelled]
) -> tuple[float, dict[str, tuple[int, int]]]:
    """The share read right and (right, total) per label."""
    good: dict[str, int] = {}
    total: dict[str, int] = {}
    for row in rows:
        total[row.label] = total.get(row.label, 0) + 1
        good[row.label] = good.get(row.label, 0) + ((read(row.text) or NONE) == row.label)
    rate = sum(good.values()) / max(1, len(rows))
    return rate, {label: (good[label], total[label]) for label in LABELS if label in total}


def main(argv: Sequence[str] | None = None) -> int:
    from intents.model import FOLDS, fold_of
    from intents.reader import Reader
    from tests.corpus import load_corpus, safety_messages

    run = training_context(argv, "the learned reading of safety matters", SAFETY_PATH, load)
    if run.command == "train":
        learned = examples(run.normalize, run.catalogue)
        return written(learn(learned), run.out, len(learned), "messages")
    # Folds by conversation, as `python -m bench.conversations --unseen`.
    conversations = load_corpus("dev")
    rules = Reader(run.catalogue, run.matcher, safety=None)
    rows: list[Labelled] = []
    both: dict[str, SafetyReason | None] = {}
    alone: dict[str, SafetyReason | None] = {}
    for k in range(FOLDS):
        kept = [c for c in conversations if fold_of(c.id) != k]
        out = (c for c in conversations if fold_of(c.id) == k)
        held = [Labelled(*row) for row in safety_messages(out)]
        model = learn(examples(run.normalize, run.catalogue, kept))
        reader = Reader(run.catalogue, run.matcher, safety=model)
        rows += held
        both |= {r.text: reader.read(r.text).signals.safety for r in held}
        alone |= {r.text: reason(model, run.normalize(r.text), r.text) for r in held}
    for name, read in (
        ("rules alone", lambda text: rules.read(text).signals.safety),
        ("the model alone, never having seen the message", alone.__getitem__),
        ("rules and a model that never saw the message", both.__getitem__),
    ):
        rate, labels = figures(cast(Callable[[str], SafetyReason | None], read), rows)
        print_figures("messages", name, rate, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
