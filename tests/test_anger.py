"""Anger, read for the acknowledging sentence DESIGN.md asks for an angry customer.

Each labelled message of tests/data/anger is read by the real reader, and its anger compared
with the label (bench/anger.py; `python -m bench.anger` prints the development part's
mistakes and the sealed part's figures only). The floors sit a little under the figures
measured: a change that reads anger worse, or calls calm customers angry, fails.
"""

from __future__ import annotations

import re

import pytest

from bench.anger import LABELS, PARTS, Labelled, figures, load
from bot.engine import Engine
from bot.models import IncomingMessage
from bot.policy import ConversationState
from intents.reader import Reader

# (share right, angry read angry, calm read calm)
FLOORS = {"dev": (0.97, 0.97, 0.97), "sealed": (0.83, 0.7, 0.93)}


@pytest.mark.parametrize("part", PARTS)
def test_angry_and_calm_customers_are_told_apart(reader: Reader, part: str) -> None:
    rate, labels, _ = figures(lambda text: reader.read(text).angry, load(part))
    # Figures only: the sealed part's messages are never shown.
    summary = f"{part}: {rate:.1%}; " + "; ".join(f"{k} {g}/{t}" for k, (g, t) in labels.items())
    assert set(labels) == set(LABELS), summary
    least, angry, calm = FLOORS[part]
    assert rate >= least, summary
    assert labels["angry"][0] / labels["angry"][1] >= angry, summary
    assert labels["calm"][0] / labels["calm"][1] >= calm, summary


def _said(rows: list[Labelled]) -> set[str]:
    # Its words, or the message itself when it has none ("🤬", "?").
    return {" ".join(re.findall(r"\w+", r.text.casefold())) or r.text.strip() for r in rows}


def test_no_message_is_in_both_parts() -> None:
    # Counted, never shown: the sealed part is not read.
    assert len(_said(load("dev")) & _said(load("sealed"))) == 0


def _first_reply(engine: Engine, text: str) -> str:
    message = IncomingMessage(channel="local", platform_id="1", sender_id="anger", text=text)
    outcome = engine.respond(ConversationState(), message)
    assert outcome.decision.action == "answer", outcome.decision
    return "\n".join(reply.text for reply in outcome.replies)


def test_anger_without_a_swear_word_is_acknowledged_and_politeness_is_not(engine: Engine) -> None:
    acknowledgement = "Je comprends votre agacement"
    angry = _first_reply(
        engine,
        "C'est la troisième fois que je demande. J'ai oublié mon mot de passe et votre lien "
        "ne m'envoie rien.",
    )
    assert acknowledgement in angry
    calm = _first_reply(
        engine,
        "Bonjour, désolée de vous déranger un dimanche : j'ai oublié le mot de passe de mon "
        "compte Parallels. Merci d'avance pour votre aide !",
    )
    assert acknowledgement not in calm


@pytest.mark.parametrize(
    "text",
    [
        "Génial. Vraiment génial, votre formulaire refuse mon mot de passe : largement utilisé",
        "Pour la cinquième fois : le mail de réinitialisation n'arrive pas",
        "¡Es una broma! No me llega el correo para cambiar la contraseña",
        "Super votre système, impossible de retrouver avec quelle adresse je me suis inscrit",
        "j'ai oublié mon mot de passe et j'ai pas que ça à faire",
        "Ah ben bravo, mon mot de passe est « largement utilisé »… Merci du compliment",
    ],
)
def test_scorn_and_weariness_are_acknowledged(reader: Reader, text: str) -> None:
    assert reader.read(text).angry


@pytest.mark.parametrize(
    "text",
    [
        "Super, merci, le lien a marché",
        "I'm terrible at remembering passwords, could you help me reset mine?",
        "Formidable service l'an dernier, mais là j'ai oublié mon mot de passe",
    ],
)
def test_praise_and_self_mockery_are_calm(reader: Reader, text: str) -> None:
    assert not reader.signals.read(text).angry
