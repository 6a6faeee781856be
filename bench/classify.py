"""Classification benchmark: messages per second on one core, latency, accuracy; and a turn
through engine, policy and renderer.

    python bench/classify.py [--quick] [--compare DIR [--rounds N]]

Runs what `classify` runs (the Reader: matcher, signals, language when the message has no
French word) over the labelled sets (tests/data) and over 40-word messages made of
customer sentences; then whole turns (Engine.respond: reading, policy, rendering) of the
development conversations. One process, one core (NumPy and rapidfuzz held to one
thread). `--compare DIR` runs this benchmark and DIR's own bench/classify.py (a checkout
of another commit, `git worktree add DIR BASE`) in turns, each in its own process, and
prints both sets of figures: this machine's speed drifts, so only figures taken in the
same run, alternated, are compared.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.devset import load, score  # noqa: E402
from intents.catalogue import load_catalogue  # noqa: E402


def forty_words(texts: list[str], rng: random.Random) -> str:
    words: list[str] = []
    while len(words) < 40:
        words.extend(rng.choice(texts).split())
    return " ".join(words[:40])


def timed(classify: Callable[[str], object], messages: list[str]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for text in messages:
        t0 = time.perf_counter()
        classify(text)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - start, latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def _classifier() -> tuple[str, Callable[[str], object]]:
    """What `classify` runs in this checkout: the Reader, or the matcher before it existed."""
    try:
        from intents.reader import Reader
    except ImportError:
        from intents.matcher import Matcher

        return "matcher", Matcher(load_catalogue()).match
    return "reader", Reader(load_catalogue()).read


def turns(quick: bool) -> None:
    """Whole turns of the development conversations through the engine, as the workers run
    them: reading, policy and rendering, state carried from turn to turn."""
    from bot.engine import Engine
    from bot.models import IncomingMessage
    from bot.policy import ConversationState
    from tests.corpus import load_corpus

    engine = Engine.default()
    conversations = load_corpus("dev")
    rounds = 3 if quick else 20
    latencies: list[float] = []
    for round_ in range(rounds + 1):
        for c in conversations:
            state = ConversationState()
            for n, turn in enumerate(c.turns):
                payload = {"yes": "feedback:yes", "no": "feedback:no"}.get(turn.tap or "", turn.tap)
                message = IncomingMessage(
                    channel="messenger",
                    platform_id=f"{c.id}-{n}",
                    sender_id=c.id,
                    text=turn.text,
                    payload=payload,
                )
                t0 = time.perf_counter()
                outcome = engine.respond(state, message)
                if round_:  # the first round warms the caches, as a running service has
                    latencies.append(time.perf_counter() - t0)
                state = outcome.state
    print(
        f"turns (engine + policy + renderer): {len(latencies):,} turns; "
        f"p50 {statistics.median(latencies) * 1e3:.3f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1e3:.3f} ms, max {max(latencies) * 1e3:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (a few seconds)")
    parser.add_argument("--compare", type=Path, help="another checkout to alternate with")
    parser.add_argument("--rounds", type=int, default=3, help="alternations with --compare")
    args = parser.parse_args()
    if args.compare is not None:
        compare(args.compare, args.rounds, args.quick)
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    t0 = time.perf_counter()
    tracemalloc.start()
    kind, classify = _classifier()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    build = time.perf_counter() - t0
    print(f"{kind} built in {build * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB allocated")

    for name in ("devset", "holdout"):
        print(score(classify, load(name)).line(name))  # type: ignore[arg-type]

    rng = random.Random(42)
    texts = [text for _, text in load("devset") + load("holdout")]
    n = 2_000 if args.quick else 20_000
    real = [rng.choice(texts) for _ in range(n)]
    long = [forty_words(texts, rng) for _ in range(n)]
    for label, messages in (("customer messages", real), ("40-word messages", long)):
        timed(classify, messages[: n // 10])  # warm the typo cache as a running service has
        elapsed, latencies = timed(classify, messages)
        print(
            f"{label}: {len(messages) / elapsed:,.0f} messages/s on one core; "
            f"latency p50 {statistics.median(latencies) * 1e3:.3f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1e3:.3f} ms, "
            f"max {max(latencies) * 1e3:.2f} ms"
        )
    unseen = [f"{forty_words(texts, rng)} zqx{i}" for i in range(n // 10)]
    elapsed, latencies = timed(classify, unseen)
    print(
        f"40-word messages with a never-seen word (typo lookup, cache miss): "
        f"{len(unseen) / elapsed:,.0f} messages/s; p99 {percentile(latencies, 0.99) * 1e3:.3f} ms"
    )
    if kind == "reader":
        turns(args.quick)


_FIGURE = re.compile(r"^((?:40-word messages|customer messages|turns)[^:]*): (.*)$", re.MULTILINE)


def compare(other: Path, rounds: int, quick: bool) -> None:
    """This checkout and `other`, alternated `rounds` times, each run in its own process."""
    here = Path(__file__).resolve()
    there = other.resolve() / "bench" / "classify.py"
    extra = ["--quick"] if quick else []
    for n in range(1, rounds + 1):
        for name, script in (("base", there), ("this", here)):
            run = subprocess.run(
                [sys.executable, str(script), *extra],
                capture_output=True,
                text=True,
                check=True,
                cwd=script.parent.parent,
            )
            for label, figures in _FIGURE.findall(run.stdout):
                print(f"round {n} {name:<4} {label}: {figures}", flush=True)


if __name__ == "__main__":
    main()
