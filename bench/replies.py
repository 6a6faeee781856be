"""Typed replies to "Est-ce que cela a résolu votre problème ?", played through the engine.

    python -m bench.replies [--part dev|sealed|all] [--brief]

Each line of tests/data/replies/<part>/*.tsv is a reply typed just after the article's
answer to one problem (`answered`), labelled with what it says of that answer:

- `yes`: it worked, thanks, or "oui, mais …" with a new question;
- `no`: it did not help, in whatever words, or "non, en fait …";
- `wait`: the customer goes to try and will say;
- `done`: the customer had already taken that answer's steps;
- `none`: nothing about the answer (a new problem alone, a person asked for, noise).

The bot is right when what it does fits the label (`right`): closes on a yes (or takes
it and answers, routes or hands over the new question), hands over (for whatever reason: "ça marche
pas, je veux un humain") or gives the article's next step on a no or a step already
taken, waits on a wait, and neither closes, nor waits, nor reports the answer failed on
anything else (a person asked for is fine). The development part's
mistakes are printed; the sealed part's only as figures.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.devset import part_rows
from bot.engine import Engine
from bot.models import Decision, IncomingMessage
from bot.policy import ConversationState
from intents.catalogue import PROBLEMS

REPLIES: Final = Path(__file__).resolve().parent.parent / "tests" / "data" / "replies"
PARTS: Final = ("dev", "sealed")
LABELS: Final = ("yes", "no", "wait", "done", "none")


@dataclass(frozen=True, slots=True)
class Reply:
    answered: str
    label: str
    text: str
    source: str


def load(part: str) -> list[Reply]:
    """The labelled replies of one part, every file of its folder; `#` lines are comments."""
    rows = []
    for where, (answered, label, text) in part_rows(REPLIES / part, "answered\t"):
        if answered not in PROBLEMS or label not in LABELS:
            raise ValueError(f"{where}: {answered!r} {label!r}")
        rows.append(Reply(answered, label, text, where))
    return rows


def _answered(engine: Engine, problem: str) -> ConversationState:
    """The state just after the bot answered `problem` and asked for feedback."""
    message = IncomingMessage(
        channel="local", platform_id="0", sender_id="replies", payload=f"intent:{problem}"
    )
    return engine.respond(ConversationState(), message).state


def right(reply: Reply, decision: Decision) -> bool:
    """Whether what the bot did fits what the reply says of the answer."""
    action, feedback = decision.action, decision.feedback
    # Handed to a person: for not solved, or for the person the reply asked for at once.
    handed = action == "escalate"
    again = action == "answer" and reply.answered in decision.answered
    if reply.label == "yes":
        # "Oui merci, et pour … ?": the yes taken, the new question answered or routed.
        return action == "resolved" or (feedback == "yes" and action != "wait")
    if reply.label == "no":
        return handed or (action == "answer" and feedback == "no" and not again)
    if reply.label == "done":
        return handed or (action == "answer" and not again)
    if reply.label == "wait":
        return action == "wait"
    solved_or_not = action in ("resolved", "wait") or decision.escalation_reason == "not_solved"
    return not solved_or_not and feedback is None


def play(engine: Engine, replies: Sequence[Reply]) -> list[tuple[Reply, Decision]]:
    states = {p: _answered(engine, p) for p in {r.answered for r in replies}}
    played = []
    for n, reply in enumerate(replies):
        message = IncomingMessage(
            channel="local", platform_id=str(n + 1), sender_id="replies", text=reply.text
        )
        outcome = engine.respond(states[reply.answered], message)
        played.append((reply, outcome.decision))
    return played


def figures(played: Sequence[tuple[Reply, Decision]]) -> tuple[float, dict[str, tuple[int, int]]]:
    """The share right, and (right, total) per label."""
    total: Counter[str] = Counter()
    good: Counter[str] = Counter()
    for reply, decision in played:
        total[reply.label] += 1
        good[reply.label] += right(reply, decision)
    rate = sum(good.values()) / max(1, sum(total.values()))
    return rate, {label: (good[label], total[label]) for label in LABELS if total[label]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--brief", action="store_true", help="figures only")
    args = parser.parse_args(argv)
    engine = Engine.default()
    for part in PARTS if args.part == "all" else (args.part,):
        played = play(engine, load(part))
        rate, labels = figures(played)
        print(f"{part}: {rate:.1%} of {len(played)} replies right")
        for label, (good, total) in labels.items():
            print(f"  {label:5} {good / total:6.1%} of {total}")
        if part == "dev" and not args.brief:
            for reply, decision in played:
                if not right(reply, decision):
                    reason = decision.escalation_reason
                    did = decision.action + (f" {reason}" if reason else "")
                    print(
                        f"  ✗ [{reply.answered} / {reply.label}] {reply.text!r} -> {did}"
                        f" {list(decision.answered) or ''} feedback {decision.feedback}"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
