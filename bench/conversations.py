"""Play the conversation corpus through the real engine and score every checked turn.

    python -m bench.conversations [--part dev|sealed|all] [--brief] [--unseen]

Each conversation of tests/conversations starts from a fresh state; each turn is what the
customer types (`say`) or taps (`tap`), sent through `Engine.respond` as the channel's
workers do, and what the bot did is compared with the turn's expectation (tests/corpus.py,
tests/conversations/README.md). Prints, per part and per theme, the share of checked turns
the bot got right. The development part's failures are printed in detail; the sealed part
only ever as figures: it is run, never read, while the matcher or the policy changes.

The learned readings learn from the development conversations (tests/corpus.py says
which turns): `--unseen` reads each development conversation with readings trained
without it, the honest development figures (a development command: it trains).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from bot.engine import Engine, Outcome
from bot.models import Decision, IncomingMessage, QuickReply
from bot.policy import HUMAN, INTENT_PREFIX, NO, YES, ConversationState
from responses.limits import LOCAL, MESSENGER, TWITTER, ChannelLimits
from tests.corpus import PARTS, THEMES, Conversation, Turn, load_corpus

TARGET: Final = 0.97
LIMITS: Final[dict[str, ChannelLimits]] = {
    "messenger": MESSENGER,
    "twitter": TWITTER,
    "local": LOCAL,
}
#: What a tap sends: the payload of the quick reply (or of the persistent menu's entry).
TAP_PAYLOADS: Final = {"yes": YES, "no": NO, "human": HUMAN}
#: The corpus's name for each action of the policy.
EXPECTATION_OF_ACTION: Final = {
    "answer": "answer",
    "clarify": "clarify",
    "escalate": "escalate",
    "resolved": "close",
    "wait": "wait",
    "greet": "greet",
    "thanks": "thanks",
    "fallback": "rephrase",
    "rephrase": "rephrase",
    "offer_human": "offer_human",
    "silent": "silent",
    "redirect": "redirect",
    "language": "language",
}


@dataclass(frozen=True, slots=True)
class TurnResult:
    """One turn played: what the bot did and what was wrong with it (nothing when right)."""

    conversation: Conversation
    index: int
    message: IncomingMessage
    outcome: Outcome
    problems: tuple[str, ...]

    @property
    def turn(self) -> Turn:
        return self.conversation.turns[self.index]

    @property
    def right(self) -> bool:
        return not self.problems


def tap_message(
    conversation: Conversation, n: int, tap: str, offered: Sequence[QuickReply]
) -> tuple[IncomingMessage, str | None]:
    """The message a tap sends, and a problem when the bot did not offer that choice.

    A person can be asked for at any time (Messenger's persistent menu has the entry);
    "yes", "no" and a problem can only be tapped when the bot's last reply offered them,
    or as an old button tapped again while a person has the conversation (`play`).
    """
    payload = TAP_PAYLOADS.get(tap, tap)
    chosen = next((qr for qr in offered if qr.payload == payload), None)
    problem = None
    if chosen is None and payload != HUMAN:
        problem = f"tapped {tap!r}, which the bot's last reply did not offer"
    title = chosen.title if chosen is not None else payload
    return _message(conversation, n, title, payload), problem


def _message(conversation: Conversation, n: int, text: str, payload: str | None) -> IncomingMessage:
    return IncomingMessage(
        channel=conversation.channel,
        platform_id=f"{conversation.id}-{n}",
        sender_id=conversation.id,
        text=text,
        payload=payload,
        timestamp_ms=1_700_000_000_000 + n * 30_000,
    )


def expectation_of(decision: Decision) -> str:
    """The corpus's name for what the policy decided."""
    return EXPECTATION_OF_ACTION.get(decision.action, decision.action)


def offered_choices(outcome: Outcome) -> list[str]:
    """The problems the bot's replies offer as quick replies."""
    return [
        qr.payload.removeprefix(INTENT_PREFIX)
        for reply in outcome.replies
        for qr in reply.quick_replies
        if qr.payload.startswith(INTENT_PREFIX)
    ]


def judge(turn: Turn, outcome: Outcome) -> tuple[str, ...]:
    """What differs between the turn's expectation and what the bot did."""
    decision = outcome.decision
    problems: list[str] = []
    got = expectation_of(decision)
    if got != turn.expect:
        problems.append(f"expected {turn.expect}, the bot did {got}")
    elif turn.intents is not None and list(decision.answered) != turn.intents:
        problems.append(f"answered {list(decision.answered)}, expected {turn.intents}")
    elif turn.choices is not None and sorted(offered_choices(outcome)) != sorted(turn.choices):
        problems.append(f"offered {offered_choices(outcome)}, expected {turn.choices}")
    elif turn.reason is not None and decision.escalation_reason != turn.reason:
        problems.append(f"escalated for {decision.escalation_reason}, expected {turn.reason}")
    if turn.feedback is not None and decision.feedback != turn.feedback:
        problems.append(f"feedback read as {decision.feedback}, expected {turn.feedback}")
    if turn.say is not None and decision.language != turn.language:
        problems.append(f"language note {decision.language}, expected {turn.language}")
    if turn.acknowledge and not decision.acknowledged:
        problems.append("no acknowledging sentence")
    text = "\n".join(reply.text for reply in outcome.replies).casefold()
    problems += [f"reply lacks {p!r}" for p in turn.contains if p.casefold() not in text]
    problems += [f"reply has {p!r}" for p in turn.absent if p.casefold() in text]
    if turn.expect == "silent" and outcome.replies:
        problems.append("the bot spoke while a person has the conversation")
    return tuple(problems)


def play(engine: Engine, conversation: Conversation) -> list[TurnResult]:
    """Every turn of one conversation, from a fresh state, through the real engine."""
    state = ConversationState()
    offered: tuple[QuickReply, ...] = ()
    results = []
    limits = LIMITS[conversation.channel]
    for n, turn in enumerate(conversation.turns):
        tap_problem = None
        if turn.tap is not None:
            message, tap_problem = tap_message(conversation, n, turn.tap, offered)
            if turn.expect == "silent":
                tap_problem = None  # an old button, while a person has the conversation
        else:
            message = _message(conversation, n, turn.text, None)
        outcome = engine.respond(state, message, limits)
        problems = judge(turn, outcome)
        if tap_problem is not None:
            problems = (tap_problem, *problems)
        results.append(TurnResult(conversation, n, message, outcome, problems))
        state = outcome.state
        offered = tuple(qr for reply in outcome.replies for qr in reply.quick_replies)
    return results


def play_part(engine: Engine, part: str) -> list[TurnResult]:
    """Every turn of one part of the corpus."""
    return [result for c in load_corpus(part) for result in play(engine, c)]


@dataclass(frozen=True, slots=True)
class Figures:
    right: int
    checked: int

    @property
    def rate(self) -> float:
        return self.right / self.checked if self.checked else 0.0

    def __str__(self) -> str:
        return f"{self.rate:6.1%} of {self.checked} checked turns right ({self.right})"


def figures(results: Iterable[TurnResult]) -> tuple[Figures, dict[str, Figures]]:
    """The whole part's figures and each theme's, counting checked turns only."""
    right: Counter[str] = Counter()
    checked: Counter[str] = Counter()
    for result in results:
        if result.turn.check:
            checked[result.conversation.theme] += 1
            right[result.conversation.theme] += result.right
    themes = {t: Figures(right[t], checked[t]) for t in THEMES if checked[t]}
    return Figures(sum(right.values()), sum(checked.values())), themes


def describe(results: list[TurnResult], failure: TurnResult) -> str:
    """A failed development turn with the conversation up to it (dev part only)."""
    c = failure.conversation
    lines = [f"{c.id} ({c.channel}){f': {c.note}' if c.note else ''}"]
    for result in results:
        if result.conversation is not c or result.index > failure.index:
            continue
        turn = result.turn
        said = f"say {turn.say!r}" if turn.say is not None else f"tap {turn.tap}"
        mark = "  ✗" if result is failure else "   "
        decision = result.outcome.decision
        did = expectation_of(decision)
        detail = (
            list(decision.answered)
            or decision.escalation_reason
            or offered_choices(result.outcome)
            or ""
        )
        lines.append(f"{mark} {said} -> {did} {detail}".rstrip())
    lines += [f"      {problem}" for problem in failure.problems]
    last = " | ".join(r.text for r in failure.outcome.replies)
    lines.append(f"      bot: {last[:400]}")
    return "\n".join(lines)


def play_unseen() -> list[TurnResult]:
    """The development part, each conversation read by learned readings (intents/model.py,
    intents/replies.py, intents/anger.py, intents/safety.py) trained without it: the
    development figures that learning from the development conversations does not flatter.
    Five folds, each trained four times."""
    from bench.anger import load as load_anger
    from bench.replies import load
    from intents import anger, safety
    from intents.catalogue import load_catalogue
    from intents.matcher import Matcher
    from intents.model import FOLDS, fold_of, train, training_examples
    from intents.reader import Reader
    from intents.replies import LABELS, STRENGTH, examples
    from responses.renderer import Renderer

    catalogue = load_catalogue()
    normalize = Matcher(catalogue, model=None).normalizer.normalize
    intents = [i.id for i in catalogue.intents]
    conversations = load_corpus("dev")
    results = []
    for k in range(FOLDS):
        kept = [c for c in conversations if fold_of(c.id) != k]
        model = train(training_examples(normalize, catalogue, conversations=kept), intents)
        replies = train(examples(normalize, load("dev"), kept), LABELS, c=STRENGTH)
        angry = anger.examples(normalize, catalogue, load_anger("dev"), kept)
        matcher = Matcher(catalogue, model=model)
        dangers = safety.examples(normalize, catalogue, kept)
        reader = Reader(
            catalogue,
            matcher,
            replies=replies,
            anger=train(angry, anger.LABELS, anger.STRENGTH),
            safety=safety.learn(dangers),
        )
        engine = Engine(catalogue, matcher, Renderer(), reader=reader)
        results += [r for c in conversations if fold_of(c.id) == k for r in play(engine, c)]
    order = {c.id: n for n, c in enumerate(conversations)}
    return sorted(results, key=lambda r: (order[r.conversation.id], r.index))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument(
        "--brief", action="store_true", help="figures only, no failure of the dev part"
    )
    parser.add_argument(
        "--unseen",
        action="store_true",
        help="the dev part read by learned readings trained without each conversation",
    )
    args = parser.parse_args(argv)
    engine = Engine.default()
    parts = PARTS if args.part == "all" else (args.part,)
    ok = True
    for part in parts:
        started = time.perf_counter()
        results = play_unseen() if args.unseen and part == "dev" else play_part(engine, part)
        elapsed = time.perf_counter() - started
        whole, themes = figures(results)
        ok &= whole.rate >= TARGET
        print(f"{part}: {whole} in {elapsed:.1f} s (target {TARGET:.0%})")
        for theme, theme_figures in themes.items():
            print(f"  {theme:<17} {theme_figures}")
        # The sealed part is reported in figures only: its cases are never shown.
        if part == "dev" and not args.brief:
            for failure in (r for r in results if not r.right and r.turn.check):
                print()
                print(describe(results, failure))
            print()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
