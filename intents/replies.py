"""A learned reading of replies to "Est-ce que cela a résolu votre problème ?".

The signals (intents/signals.toml) read feedback in the words customers use most; a reply
in words no pattern has met ("je ne suis pas devant mon ordinateur, je regarderai en
rentrant", "pas clair du tout votre truc") would otherwise be read as a message of its
own and get "je n'ai pas bien compris". The same kind of linear model as the learned
reading of problems (intents/model.py), over the same features, says what such a reply
says of the answer: `yes`, `no`, `wait`, `done` (its steps were taken before) or `none`.
The dialogue policy asks it when the rules read a yes or nothing in a reply that names no
new problem, and follows it only when it is sure (`SURE`).

`python -m intents.replies train` writes intents/replies.npz from the development replies
of tests/data/replies and the replies to an answer in the development conversations (never
the sealed ones); `python -m intents.replies crossval` reads
each development reply with a model that never saw it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from intents.model import Model, folds, learnable, print_figures, train, training_context, written
from intents.normalize import Normalized

if TYPE_CHECKING:
    from bench.replies import Reply
    from tests.corpus import Conversation

REPLIES_PATH: Final = Path(__file__).with_name("replies.npz")
LABELS: Final = ("yes", "no", "wait", "done", "none")
#: The probability from which the model's reading of a reply is followed, chosen by
#: cross-validation: on the development replies, and on the development conversations
#: read by models that never saw them.
SURE: Final = 0.5
#: How much the model trusts the weights (scikit-learn's C), by cross-validation.
STRENGTH: Final = 4.0


def verdict(model: Model, normalized: Normalized, text: str, sure: float = SURE) -> str | None:
    """What the reply says of the answer, when the model is at least `sure` of it; None
    otherwise."""
    odds = model.probabilities(normalized, text).tolist()
    best = max(range(len(odds)), key=odds.__getitem__)
    return model.intents[best] if odds[best] >= sure else None


def examples(
    normalize: Callable[[str], Normalized],
    replies: Sequence[Reply],
    conversations: Sequence[Conversation] | None = None,
    held: int | None = None,
) -> list[tuple[str, Normalized, str]]:
    """(label, normalised, text): the development replies, and the replies to an answer
    that the development conversations (`conversations`, all when not given) label; those
    of fold `held` of `FOLDS` left out, when given, and never a held-out message."""
    from tests.corpus import load_corpus, replies_to_answers

    labelled = [(r.label, r.text) for r in replies]
    found = replies_to_answers(load_corpus("dev") if conversations is None else conversations)
    labelled += [(label, text) for _, label, text in found]
    return learnable(normalize, labelled, held)


def main(argv: Sequence[str] | None = None) -> int:
    from bench.replies import figures, load, play
    from bot.engine import Engine
    from intents.reader import Reader
    from responses.renderer import Renderer

    run = training_context(argv, "the learned reading of replies", REPLIES_PATH, load)
    if run.command == "train":
        learned = examples(run.normalize, run.development)
        model = train(learned, LABELS, c=STRENGTH)
        return written(model, run.out, len(learned), "replies")

    def engine(replies: Model | None) -> Engine:
        reader = Reader(run.catalogue, run.matcher, replies=replies)
        return Engine(run.catalogue, run.matcher, Renderer(), reader=reader)

    unseen = []
    for k, (kept, held) in enumerate(folds(run.development)):
        model = train(examples(run.normalize, kept, held=k), LABELS, c=STRENGTH)
        unseen += play(engine(model), held)
    for name, played in (
        ("rules alone", play(engine(None), run.development)),
        ("with a model that never saw the reply", unseen),
    ):
        rate, labels = figures(played)
        print_figures("replies", name, rate, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
