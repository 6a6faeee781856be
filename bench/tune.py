"""Grid search of the matcher's tuning on the development set (never on the held-out set).

    python bench/tune.py

Prints the best settings by: in-scope accuracy, subject to at most 1% wrong answers and
at least 90% of out-of-scope messages recognised.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.devset import load, score
from intents.catalogue import load_catalogue
from intents.matcher import Matcher, Tuning

GRID = {
    "fuzzy_weight": [0.2, 0.35, 0.5],
    "unknown_weight": [0.8, 1.2, 1.8],
    "explained": [0.6, 0.8, 0.95],
    "none_below": [50.0, 55.0, 60.0],
    "margin": [4.0, 8.0],
    "clarify_below": [60.0, 68.0],
}


def main() -> None:
    catalogue = load_catalogue()
    rows = load("devset")
    results = []
    for values in itertools.product(*GRID.values()):
        overrides: dict[str, Any] = dict(zip(GRID, values, strict=True))
        tuning = replace(Tuning(), **overrides)
        s = score(Matcher(catalogue, tuning=tuning).match, rows)
        results.append((s.wrong_answers <= 0.01 and s.out_of_scope >= 0.9, s.in_scope, s, tuning))
    results.sort(key=lambda r: (r[0], r[1], r[2].out_of_scope), reverse=True)
    for ok, _, s, tuning in results[:10]:
        print("ok " if ok else "-- ", s.line("devset"), tuning)


if __name__ == "__main__":
    main()
