"""Angry or calm: how the bot reads a customer's anger, on labelled messages.

    python -m bench.anger [--part dev|sealed|all] [--brief]

Each line of tests/data/anger/<part>/*.tsv is a message about a Parallels account, labelled
`angry` (anger, exasperation or contempt at the service: the answer must open with one
acknowledging sentence) or `calm` (urgent, worried, embarrassed, joking or very polite
included: no such sentence). Written blind from DESIGN.md and the article, half of each,
and split at random line by line. The reader's `angry` is compared with the label; the
development part's mistakes are printed, the sealed part's only as figures.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.devset import part_rows

ANGER: Final = Path(__file__).resolve().parent.parent / "tests" / "data" / "anger"
PARTS: Final = ("dev", "sealed")
LABELS: Final = ("angry", "calm")


@dataclass(frozen=True, slots=True)
class Labelled:
    label: str
    text: str
    source: str


def load(part: str) -> list[Labelled]:
    """The labelled messages of one part, every file of its folder."""
    rows = []
    for where, (label, text) in part_rows(ANGER / part, "label\t"):
        if label not in LABELS:
            raise ValueError(f"{where}: {label!r}")
        rows.append(Labelled(label, text, where))
    return rows


def figures(
    angry: Callable[[str], bool], rows: Sequence[Labelled]
) -> tuple[float, dict[str, tuple[int, int]], list[Labelled]]:
    """The share read right, (right, total) per label, and the messages read wrong."""
    total: Counter[str] = Counter()
    good: Counter[str] = Counter()
    wrong = []
    for row in rows:
        right = angry(row.text) == (row.label == "angry")
        total[row.label] += 1
        good[row.label] += right
        if not right:
            wrong.append(row)
    rate = sum(good.values()) / max(1, len(rows))
    return rate, {label: (good[label], total[label]) for label in LABELS if total[label]}, wrong


def main(argv: Sequence[str] | None = None) -> int:
    from intents.catalogue import load_catalogue
    from intents.reader import Reader

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--brief", action="store_true", help="figures only")
    args = parser.parse_args(argv)
    reader = Reader(load_catalogue())
    for part in PARTS if args.part == "all" else (args.part,):
        rate, labels, wrong = figures(lambda text: reader.read(text).angry, load(part))
        shares = ", ".join(f"{label} {g}/{t}" for label, (g, t) in labels.items())
        print(f"{part}: {rate:.1%} read right ({shares})")
        if part == "dev" and not args.brief:
            for row in wrong:
                print(f"  {row.source} {row.label}: {row.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
