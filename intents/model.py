"""A learned second reading: a linear model over a message's words, trained from the
repository's own labelled data, whose probabilities the matcher blends into its scores.

The fuzzy matcher reads a message against the phrasings one by one, so the words it has not
seen (politeness, backstory, SMS spellings) dilute its scores. A logistic regression over
the normalised words, their pairs and the customer's own folded words weighs every word
by what the labelled messages taught it, and agrees with the matcher on most messages; where
they disagree, the blend lowers the matcher's confidence (a question rather than a wrong
answer) or lifts a problem the phrasings missed.

`python -m intents.model train` writes intents/model.npz from the catalogue's phrasings, the
development sets of tests/data and the opening messages of the development conversations
(never the held-out or the sealed ones). Training is
deterministic, so the file is reproducible; it loads with NumPy alone, without network.
"""

from __future__ import annotations

import functools
import hashlib
import io
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Final, Generic, Protocol, TypeVar, cast

import numpy as np

from intents.normalize import NON_WORD_RE, Normalized, fold, folded_words

if TYPE_CHECKING:
    from intents.catalogue import Catalogue
    from intents.matcher import Matcher
    from tests.corpus import Conversation

MODEL_PATH: Final = Path(__file__).with_name("model.npz")
#: The labelled sets the model learns from, under tests/data: the development sets only.
TRAINING_SETS: Final = (
    "devset",
    "intents/dev_extra",
    "intents/dev_extra2",
    "intents/dev_offtopic",
    "intents/dev_offtopic2",
    "intents/dev_blind3",
    "intents/dev_blind4",
    "intents/dev_blind5",
    "intents/dev_blind6",
    "intents/dev_blind7",
)
#: The labelled sets kept unseen: the held-out one (read) and the sealed one (never read).
HELD_OUT_SETS: Final = ("holdout", "sealed/intents")
# A message's own words beyond these are not read: a long paste says no more.
_MAX_WORDS: Final = 200
#: How much the model trusts the weights (scikit-learn's C: inverse of the L2 penalty),
#: chosen by cross-validation on the development sets.
STRENGTH: Final = 4.0
FOLDS: Final = 5
#: A feature is kept when one of its weights reaches this.
PRUNE: Final = 0.02


# The kinds of features, in the order `_parts` gives them.
_KINDS: Final = ("t", "tt", "w", "ww")


def _parts(normalized: Normalized, text: str) -> tuple[Iterable[object], ...]:
    """A message's features by kind: its normalised tokens and their pairs (typos mended,
    synonyms joined), and its own folded words and their pairs ("pas recu", "deja
    utilise"), which keep the little words that normalisation drops. Each is read once."""
    tokens = normalized.tokens
    words = folded_words(text)[:_MAX_WORDS]
    return tokens, pairwise(tokens), words, pairwise(words)


def _name(kind: str, key: object) -> str:
    return " ".join((kind, *key)) if isinstance(key, tuple) else f"{kind} {key}"


class Model:
    """Probabilities of each intent for a message, from weights learned offline."""

    def __init__(
        self, intents: Sequence[str], names: Sequence[str], weights: np.ndarray, bias: np.ndarray
    ) -> None:
        self.intents = tuple(intents)
        self.names = tuple(names)
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = bias.astype(np.float32)
        # One table per kind of feature, keyed as `_parts` gives them (a word, or a pair as
        # a tuple): no feature name is built while reading.
        self._tables: tuple[dict[object, int], ...] = tuple({} for _ in _KINDS)
        for column, name in enumerate(names):
            # Interned: a word's string is shared by its own key and by its pairs'.
            kind, *key = map(sys.intern, name.split(" "))
            self._tables[_KINDS.index(kind)][key[0] if len(key) == 1 else tuple(key)] = column

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Model:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                [str(i) for i in data["intents"].tolist()],
                [str(n) for n in data["features"].tolist()],
                data["weights"],
                data["bias"],
            )

    def probabilities(self, normalized: Normalized, text: str) -> np.ndarray:
        """Each intent's probability (in `intents` order) for the message."""
        return self.of_rows(_found(self._tables, normalized, text))

    def of_rows(self, rows: np.ndarray) -> np.ndarray:
        """Each intent's probability for a message whose features are these rows of the
        weights, each once.

        They are summed in the features' order, so that every process gives the same
        probabilities to the bit (a set's order can hang on where None fell in it, and
        None's hash on its address); sorted by NumPy, with the ufuncs' own reductions,
        without the array methods' wrapper.
        """
        if len(rows):
            rows = np.sort(rows)
            odds: np.ndarray = np.add.reduce(self.weights.take(rows, axis=0), axis=0)
            odds += self.bias
        else:
            odds = self.bias.copy()
        odds -= np.maximum.reduce(odds)
        np.exp(odds, out=odds)
        odds /= np.add.reduce(odds)
        return odds

    def save(self, path: Path) -> str:
        """Write the model to `path`; returns the start of the file's SHA-256, which says
        whether training again gave the same file."""
        names = self.names
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            intents=np.array(self.intents),
            features=np.array(names),
            weights=self.weights,
            bias=self.bias,
        )
        path.write_bytes(buffer.getvalue())
        return hashlib.sha256(buffer.getvalue()).hexdigest()[:16]


class Readings:
    """Several learned readings of the same messages (the matcher's, the safety one), whose
    features are looked up in one table: a message's features are found once for all."""

    def __init__(self, models: Sequence[Model]) -> None:
        self.models = tuple(models)
        # One number for each feature any of them knows, by kind; for each model, the row of
        # its weights of each number, or -1.
        self._tables: tuple[dict[object, int], ...] = tuple({} for _ in _KINDS)
        for model in self.models:
            for table, own in zip(self._tables, model._tables, strict=True):
                for key in own:
                    table.setdefault(key, -1)
        count = 0
        for table in self._tables:
            for key in table:
                table[key] = count
                count += 1
        self._rows: list[np.ndarray] = []
        for model in self.models:
            rows = np.full(count, -1, dtype=np.intp)
            for table, own in zip(self._tables, model._tables, strict=True):
                for key, row in own.items():
                    rows[table[key]] = row
            self._rows.append(rows)

    def probabilities(self, normalized: Normalized, text: str) -> dict[Model, np.ndarray]:
        """Each model's probabilities for the message, as its `probabilities` gives them."""
        found = _found(self._tables, normalized, text)
        read = {}
        for model, rows in zip(self.models, self._rows, strict=True):
            own = rows.take(found)
            read[model] = model.of_rows(own[own >= 0])
        return read


def _found(tables: Sequence[Mapping[object, int]], normalized: Normalized, text: str) -> np.ndarray:
    """The numbers in `tables` (one per kind of feature) of the message's features, each
    once, as an array of indices (NumPy converts a list at a higher cost)."""
    single, pair, word, word_pair = tables
    tokens, token_pairs, words, word_pairs = _parts(normalized, text)
    seen: set[int | None] = {
        *map(single.get, tokens),
        *map(pair.get, token_pairs),
        *map(word.get, words),
        *map(word_pair.get, word_pairs),
    }
    seen.discard(None)
    found = cast("set[int]", seen)
    return np.fromiter(found, dtype=np.intp, count=len(found))


def train(
    examples: Iterable[tuple[str, Normalized, str]],
    intents: Sequence[str],
    c: float = STRENGTH,
    balanced: bool = False,
) -> Model:
    """A multinomial logistic regression over (label, normalised, text) examples; with
    `balanced`, each label weighs as much in all as any other, however few its examples."""
    # Training only: development dependencies, without type information.
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    columns: dict[str, int] = {}
    indptr, indices, labels = [0], [], []
    index = {intent: n for n, intent in enumerate(intents)}
    for label, normalized, text in examples:
        names = (
            _name(kind, key)
            for kind, keys in zip(_KINDS, _parts(normalized, text), strict=True)
            for key in keys
        )
        row = {columns.setdefault(name, len(columns)) for name in names}
        indices.extend(sorted(row))
        indptr.append(len(indices))
        labels.append(index[label])
    ones = np.ones(len(indices), dtype=np.float64)
    x = csr_matrix((ones, indices, indptr), shape=(len(labels), len(columns)))
    y = np.array(labels)
    weighting = "balanced" if balanced else None
    fitted = LogisticRegression(C=c, max_iter=2_000, tol=1e-6, class_weight=weighting).fit(x, y)
    # Classes absent from the examples get no weight and a very low bias.
    weights = np.zeros((len(columns), len(intents)), dtype=np.float32)
    bias = np.full(len(intents), -20.0, dtype=np.float32)
    classes = fitted.classes_.tolist()
    if len(classes) == 2:
        # Two classes: one row of weights, for the second; the first is its zero, so
        # that the softmax of the two is the fitted logistic.
        bias[classes[0]] = 0.0
        classes = classes[1:]
    for k, cls in enumerate(classes):
        weights[:, cls] = fitted.coef_[k]
        bias[cls] = fitted.intercept_[k]
    # Features whose every weight is tiny change no reading: left out, the tables the bot
    # keeps in memory are a third smaller.
    kept = np.flatnonzero(np.abs(weights).max(axis=1) >= PRUNE)
    every = list(columns)
    return Model(intents, [every[k] for k in kept.tolist()], weights[kept], bias)


def training_examples(
    normalize: Callable[[str], Normalized],
    catalogue: Catalogue,
    held: int | None = None,
    conversations: Sequence[Conversation] | None = None,
) -> list[tuple[str, Normalized, str]]:
    """(label, normalised, text): the catalogue's phrasings, the development sets' messages
    and the opening messages of the development conversations (`conversations`, all when
    not given) whose expectation names their intent; those of fold `held` of `FOLDS` left
    out, when given. The repository's data, read from a checkout: training is a
    development command.

    A phrasing or message written word for word like a held-out one ("???", "Bonsoir à
    tous") is left out, so that those stay unseen; the machine compares them, nobody reads
    the sealed ones."""
    from bench.devset import load
    from tests.corpus import first_messages, load_corpus

    phrasings = [(i.id, p) for i in catalogue.intents for p in i.phrasings]
    labelled = [row for name in TRAINING_SETS for row in load(name)]
    labelled += first_messages(load_corpus("dev") if conversations is None else conversations)
    return learnable(normalize, phrasings) + learnable(normalize, labelled, held)


def learnable(
    normalize: Callable[[str], Normalized],
    labelled: Iterable[tuple[str, str]],
    held: int | None = None,
) -> list[tuple[str, Normalized, str]]:
    """(label, normalised, text) of labelled messages, in order, but for those written word
    for word like a held-out one and, when `held` is given, those of that fold."""
    held_out = held_out_texts()
    return [
        (label, normalize(text), text)
        for label, text in labelled
        if (held is None or fold_of(text) != held) and same_words(text) not in held_out
    ]


@functools.cache
def held_out_texts() -> frozenset[str]:
    """What no learned reading learns from, as `same_words`: the held-out and sealed sets of
    messages, the sealed replies, every message of the sealed conversations."""
    from bench.devset import load
    from bench.replies import load as load_replies
    from tests.corpus import load_corpus

    texts = [t for name in HELD_OUT_SETS for _, t in load(name)]
    texts += [r.text for r in load_replies("sealed")]
    texts += [t.say for c in load_corpus("sealed") for t in c.turns if t.say is not None]
    return frozenset(map(same_words, texts))


def same_words(text: str) -> str:
    """The text's words, folded: two messages that differ only in case, accents or
    punctuation are the same message."""
    return " ".join(NON_WORD_RE.sub(" ", fold(text)).split())


def fold_of(text: str) -> int:
    """The cross-validation fold of a labelled message: fixed by its text."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % FOLDS


def crossval(catalogue: Catalogue) -> list[str]:
    """Each development set read by the matcher alone and with a model that never saw it
    (trained on the other folds), then the held-out set with the full model: the honest
    figures of the development sets, which the full model has learned."""
    from bench.devset import Scores, load, score
    from intents.matcher import Matcher
    from intents.reader import Reader

    alone = Matcher(catalogue, model=None)
    sets = {name: load(name) for name in TRAINING_SETS}
    intents = [i.id for i in catalogue.intents]
    read: dict[str, dict[str, object]] = {name: {} for name in sets}
    for k in range(FOLDS):
        model = train(training_examples(alone.normalizer.normalize, catalogue, held=k), intents)
        reader = Reader(catalogue, matcher=Matcher(catalogue, model=model))
        for name, rows in sets.items():
            read[name].update((t, reader.read(t)) for _, t in rows if fold_of(t) == k)
    lines = []
    plain = Reader(catalogue, matcher=alone)
    both: dict[str, list[tuple[str, str]]] = {"all development sets": []}
    for name, rows in sets.items():
        both[name] = rows
        both["all development sets"] += rows
    for name, rows in both.items():
        before: Scores = score(plain.read, rows)
        after: Scores = score(lambda t: read[next(n for n in sets if t in read[n])][t], rows)  # type: ignore[arg-type,return-value]
        lines.append(before.line(f"{name}, matcher alone"))
        lines.append(after.line(f"{name}, with a model that never saw it"))
    full = Reader(catalogue)
    lines.append(score(plain.read, load("holdout")).line("holdout, matcher alone"))
    lines.append(score(full.read, load("holdout")).line("holdout, with intents/model.npz"))
    return lines


class _Labelled(Protocol):
    @property
    def text(self) -> str: ...


L = TypeVar("L", bound=_Labelled)


def folds(rows: Sequence[L]) -> Iterator[tuple[list[L], list[L]]]:
    """For each cross-validation fold: the rows to learn from, and the rows held out."""
    for k in range(FOLDS):
        yield (
            [r for r in rows if fold_of(r.text) != k],
            [r for r in rows if fold_of(r.text) == k],
        )


def written(model: Model, out: Path, count: int, noun: str) -> int:
    """Write `model` to `out` and say what it learned from; the command's exit status."""
    digest = model.save(out)
    print(f"{out}: {count} {noun}, {len(model.names)} features, sha256 {digest}")
    return 0


def print_figures(what: str, name: str, rate: float, labels: Mapping[str, tuple[int, int]]) -> None:
    """One line of a cross-validation's figures: the share right, then each label's."""
    shares = ", ".join(f"{label} {good / total:.1%}" for label, (good, total) in labels.items())
    print(f"development {what}, {name}: {rate:.1%} ({shares})")


@dataclass(frozen=True)
class Training(Generic[L]):
    """What the learned readings of replies and of anger start from: the command and the
    file (see `command_line`), the catalogue, a matcher whose normaliser reads their
    labelled messages, and the development part of those messages."""

    command: str
    out: Path
    catalogue: Catalogue
    matcher: Matcher
    development: list[L]

    @property
    def normalize(self) -> Callable[[str], Normalized]:
        return self.matcher.normalizer.normalize


def training_context(
    argv: Sequence[str] | None, what: str, out: Path, load: Callable[[str], list[L]]
) -> Training[L]:
    """The training command's arguments, its catalogue and matcher, and `load("dev")`."""
    from intents.catalogue import load_catalogue
    from intents.matcher import Matcher

    command, path = command_line(argv, what, out)
    catalogue = load_catalogue()
    return Training(command, path, catalogue, Matcher(catalogue), load("dev"))


def command_line(argv: Sequence[str] | None, what: str, out: Path) -> tuple[str, Path]:
    """The training commands' arguments: `train` (writing `out`, or `--out`) or `crossval`."""
    import argparse

    parser = argparse.ArgumentParser(description=f"Train or check {what}.")
    parser.add_argument("command", choices=["train", "crossval"])
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args(argv)
    return args.command, args.out


def main(argv: Sequence[str] | None = None) -> int:
    from intents.catalogue import load_catalogue
    from intents.matcher import Matcher

    command, out = command_line(argv, "the learned reading", MODEL_PATH)
    catalogue = load_catalogue()
    if command == "crossval":
        print("\n".join(crossval(catalogue)))
        return 0
    matcher = Matcher(catalogue, model=None)
    examples = training_examples(matcher.normalizer.normalize, catalogue)
    model = train(examples, [i.id for i in catalogue.intents])
    return written(model, out, len(examples), "examples")


if __name__ == "__main__":
    sys.exit(main())
