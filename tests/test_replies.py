"""Typed replies to "Est-ce que cela a résolu votre problème ?", through the real engine.

Each labelled reply of tests/data/replies is sent just after the article's answer it
follows, and what the bot does is judged against what the reply says of that answer
(bench/replies.py; `python -m bench.replies` prints the development part's mistakes and
the sealed part's figures only). The floors sit a little under the figures measured: a
change that makes the bot read replies worse fails.
"""

from __future__ import annotations

import re

import pytest

from bench.replies import LABELS, PARTS, Reply, figures, load, play, right
from bot.engine import Engine
from bot.models import Decision

FLOORS = {"dev": 0.96, "sealed": 0.93}


@pytest.mark.parametrize("part", PARTS)
def test_replies_after_an_answer_are_read_for_what_they_say(engine: Engine, part: str) -> None:
    rate, labels = figures(play(engine, load(part)))
    # Figures only: the sealed part's replies are never shown.
    summary = f"{part}: {rate:.1%}; " + "; ".join(f"{k} {g}/{t}" for k, (g, t) in labels.items())
    assert rate >= FLOORS[part], summary
    assert set(labels) == set(LABELS), summary


def _said(replies: list[Reply]) -> set[str]:
    # Short replies ("nan", "bonsoir") are everywhere; a real sentence is not.
    words = (" ".join(re.findall(r"\w+", r.text.casefold())) for r in replies)
    return {w for w in words if len(w) >= 20}


def test_both_parts_hold_every_answer_and_no_shared_reply() -> None:
    dev, sealed = load("dev"), load("sealed")
    assert {r.answered for r in dev} == {r.answered for r in sealed}
    # Counted, never shown: the sealed part's replies are not read.
    assert len(_said(dev) & _said(sealed)) == 0


def test_the_judge_tells_a_closed_no_from_a_handed_over_one() -> None:
    no = Reply("forgot_password", "no", "toujours rien", "here")
    closed = Decision(action="resolved", intent="forgot_password", feedback="yes")
    handed = Decision(
        action="escalate", intent="forgot_password", escalation_reason="not_solved", feedback="no"
    )
    assert not right(no, closed)
    assert right(no, handed)
    waited = Decision(action="wait", intent="forgot_password")
    assert right(Reply("forgot_password", "wait", "je regarde ce soir", "here"), waited)
    assert not right(Reply("forgot_password", "yes", "nickel", "here"), waited)
