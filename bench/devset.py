"""Load the labelled message sets of tests/data and score a matcher on them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from intents.catalogue import CONVERSATION, NONE

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


class Classified(Protocol):
    """What a classifier says of a message: `Matcher.match`'s Match, `Reader.read`'s Reading."""

    @property
    def intent(self) -> str: ...

    @property
    def decision(self) -> str: ...


def load(name: str) -> list[tuple[str, str]]:
    """(label, text) pairs of tests/data/NAME.tsv (NAME may hold a folder: intents/dev_extra);
    `#` lines are comments."""
    rows = []
    for line in (DATA / f"{name}.tsv").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t")
            rows.append((label, text))
    return rows


def part_rows(folder: Path, header: str) -> Iterator[tuple[str, list[str]]]:
    """(where, fields) of every line of every .tsv file of `folder`, in order: a labelled
    set split into parts (tests/data/replies/dev, …). The header line (starting with
    `header`), blank lines and `#` comments are skipped; `where` is "file:line"."""
    for path in sorted(folder.glob("*.tsv")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if line.strip() and not line.startswith(("#", header)):
                yield f"{path.name}:{number}", line.split("\t")


@dataclass(frozen=True)
class Scores:
    in_scope: float  # in-scope messages whose best intent is the label
    out_of_scope: float  # out-of-scope messages recognised as `none`
    wrong_answers: float  # messages answered with another problem's article text
    total: int

    def line(self, name: str) -> str:
        return (
            f"{name}: {self.total} messages; in scope to the right intent {self.in_scope:.1%}; "
            f"out of scope recognised {self.out_of_scope:.1%}; "
            f"wrong answers {self.wrong_answers:.1%}"
        )


def score(classify: Callable[[str], Classified], rows: list[tuple[str, str]]) -> Scores:
    """In-scope and out-of-scope accuracy, and the share of confident wrong article answers
    (decision `answer`, another problem than the label), of `classify` over `rows`."""
    right = inside = outside = recognised = wrong = 0
    for label, text in rows:
        match = classify(text)
        if label == NONE:
            outside += 1
            recognised += match.intent == NONE
        else:
            inside += 1
            right += match.intent == label
        answered = match.decision == "answer" and match.intent not in CONVERSATION
        wrong += answered and match.intent != label
    return Scores(
        right / inside if inside else 1.0,
        recognised / outside if outside else 1.0,
        wrong / len(rows) if rows else 0.0,
        len(rows),
    )
