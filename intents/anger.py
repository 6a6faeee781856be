"""A learned reading of anger: whether a customer's message is angry.

The signals (intents/signals.toml, `anger`) read anger in the words customers use most:
insults, "c'est inadmissible", "ras le bol", shouting. Anger said otherwise ("Vous avez un
service client ou c'est décoratif ?", "Merci pour rien", "Je vous préviens : si mon compte
n'est pas débloqué ce soir, je passe chez la concurrence") escapes them, and the answer
then opens without the acknowledging sentence DESIGN.md asks for. The same kind of linear
model as the learned reading of problems (intents/model.py), over the same features, says
`angry` or `calm`; the reader counts a message angry when the signals say so or when the
model is sure of it (`SURE`), so that a calm customer is seldom told their annoyance is
understood.

`python -m intents.anger train` writes intents/anger.npz from the development messages of
tests/data/anger and the angry messages of the development conversations (never the sealed
ones); `python -m intents.anger crossval` reads each
development message with a model that never saw it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from intents.model import Model, folds, learnable, print_figures, train, training_context, written
from intents.normalize import Normalized
from intents.signals import SignalReader

if TYPE_CHECKING:
    from bench.anger import Labelled
    from intents.catalogue import Catalogue
    from tests.corpus import Conversation

ANGER_PATH: Final = Path(__file__).with_name("anger.npz")
LABELS: Final = ("angry", "calm")
#: The model's probability of anger from which a message is angry.
SURE: Final = 0.7
#: How much the model trusts the weights (scikit-learn's C), by cross-validation.
STRENGTH: Final = 4.0


def angry(model: Model, normalized: Normalized, text: str, sure: float = SURE) -> bool:
    """Whether the model is at least `sure` that the message is angry."""
    return float(model.probabilities(normalized, text)[0]) >= sure


def examples(
    normalize: Callable[[str], Normalized],
    catalogue: Catalogue,
    rows: Sequence[Labelled],
    conversations: Sequence[Conversation] | None = None,
) -> list[tuple[str, Normalized, str]]:
    """(label, normalised, text): the labelled messages, the catalogue's phrasings as calm
    ones, and as angry ones the messages of the development conversations (`conversations`,
    all when not given) whose reply must acknowledge the customer's anger. The phrasings are
    written in neutral words, and they teach the model that a greeting, a request for a
    person or another topic is no anger: the labelled messages are all about an account
    problem, angry or not. A phrasing that the signals read angry ("VOUS ÊTES DES VOLEURS
    REMBOURSEZ MOI") is left out, and so is any message written like a held-out one."""
    from tests.corpus import angry_messages, load_corpus

    signals = SignalReader()
    calm = [
        ("calm", p)
        for intent in catalogue.intents
        for p in intent.phrasings
        if not signals.read(p).angry
    ]
    said = angry_messages(load_corpus("dev") if conversations is None else conversations)
    labelled = [*calm, *((r.label, r.text) for r in rows), *(("angry", t) for t in said)]
    return learnable(normalize, labelled)


def main(argv: Sequence[str] | None = None) -> int:
    from bench.anger import figures, load
    from intents.reader import Reader

    run = training_context(argv, "the learned reading of anger", ANGER_PATH, load)
    if run.command == "train":
        learned = examples(run.normalize, run.catalogue, run.development)
        model = train(learned, LABELS, STRENGTH)
        return written(model, run.out, len(learned), "messages")
    rules = Reader(run.catalogue, run.matcher, anger=None)
    unseen: dict[str, bool] = {}
    for kept, held in folds(run.development):
        model = train(examples(run.normalize, run.catalogue, kept), LABELS, STRENGTH)
        reader = Reader(run.catalogue, run.matcher, anger=model)
        unseen |= {r.text: reader.read(r.text).angry for r in held}
    for name, read in (
        ("rules alone", lambda text: rules.read(text).angry),
        ("with a model that never saw the message", unseen.__getitem__),
    ):
        rate, labels, _ = figures(read, run.development)
        print_figures("messages", name, rate, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
