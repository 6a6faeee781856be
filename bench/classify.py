"""Classification benchmark: messages per second on one core, latency, accuracy.

    python bench/classify.py [--quick]

Runs the real matcher over the labelled sets (tests/data) and over 40-word messages made
of customer sentences; one process, one core (NumPy and rapidfuzz are held to one thread).
Prints the figures the README reports.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.devset import load, score  # noqa: E402
from intents.catalogue import load_catalogue  # noqa: E402
from intents.matcher import Matcher  # noqa: E402


def forty_words(texts: list[str], rng: random.Random) -> str:
    words: list[str] = []
    while len(words) < 40:
        words.extend(rng.choice(texts).split())
    return " ".join(words[:40])


def timed(matcher: Matcher, messages: list[str]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for text in messages:
        t0 = time.perf_counter()
        matcher.match(text)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - start, latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (a few seconds)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    t0 = time.perf_counter()
    tracemalloc.start()
    matcher = Matcher(load_catalogue())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    build = time.perf_counter() - t0
    print(f"matcher built in {build * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB allocated")

    for name in ("devset", "holdout"):
        print(score(matcher, load(name)).line(name))

    rng = random.Random(42)
    texts = [text for _, text in load("devset") + load("holdout")]
    n = 2_000 if args.quick else 20_000
    real = [rng.choice(texts) for _ in range(n)]
    long = [forty_words(texts, rng) for _ in range(n)]
    for label, messages in (("customer messages", real), ("40-word messages", long)):
        timed(matcher, messages[: n // 10])  # warm the typo cache as a running service has
        elapsed, latencies = timed(matcher, messages)
        print(
            f"{label}: {len(messages) / elapsed:,.0f} messages/s on one core; "
            f"latency p50 {statistics.median(latencies) * 1e3:.3f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1e3:.3f} ms, "
            f"max {max(latencies) * 1e3:.2f} ms"
        )
    unseen = [f"{forty_words(texts, rng)} zqx{i}" for i in range(n // 10)]
    elapsed, latencies = timed(matcher, unseen)
    print(
        f"40-word messages with a never-seen word (typo lookup, cache miss): "
        f"{len(unseen) / elapsed:,.0f} messages/s; p99 {percentile(latencies, 0.99) * 1e3:.3f} ms"
    )


if __name__ == "__main__":
    main()
