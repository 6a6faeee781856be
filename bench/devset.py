"""Load the labelled message sets of tests/data and score a matcher on them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from intents.catalogue import CONVERSATION, NONE
from intents.matcher import Matcher

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def load(name: str) -> list[tuple[str, str]]:
    """(label, text) pairs of tests/data/NAME.tsv; `#` lines are comments."""
    rows = []
    for line in (DATA / f"{name}.tsv").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t")
            rows.append((label, text))
    return rows


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


def score(matcher: Matcher, rows: list[tuple[str, str]]) -> Scores:
    right = inside = outside = recognised = wrong = 0
    for label, text in rows:
        match = matcher.match(text)
        if label == NONE:
            outside += 1
            recognised += match.intent == NONE
        else:
            inside += 1
            right += match.intent == label
        answered = match.decision == "answer" and match.intent not in CONVERSATION
        wrong += answered and match.intent != label
    return Scores(right / inside, recognised / outside, wrong / len(rows), len(rows))
