"""What the desk tells an agent about a customer, in the words agents use.

Pure functions over what the store holds: the escalation's reason and problem as a
sentence, the problems' full names, the facts the customer gave (also those written after
the hand-over, which the bot no longer reads), whether their last message still waits for
a person, and a readable name when the platform gives none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from bot.store import EscalationView, TranscriptEntry
from intents.catalogue import Catalogue

CHANNEL_NAMES: Final = {"messenger": "Messenger", "twitter": "X", "local": "essai local"}
# Why the bot handed over, as one would say it of the customer.
REASONS: Final = {
    "asked_for_human": "a demandé un conseiller",
    "not_solved": "a répondu « Non » : la réponse de l'assistant n'a pas résolu le problème",
    "not_understood": "l'assistant n'a pas compris sa demande",
    "unreadable_attachment": "a envoyé une pièce jointe que l'assistant ne sait pas lire",
    "answered_natively": "une personne a répondu depuis l'application de la plateforme",
    "other_topic": "pose une question sur un autre sujet que le compte Parallels",
    "hacked": "signale un compte piraté ou pris par quelqu'un d'autre",
    "phishing": "signale un e-mail suspect (hameçonnage)",
    "payment": "parle d'une fraude ou d'un litige de paiement",
    "legal": "fait une demande juridique ou sur ses données personnelles",
    "distress": "semble en détresse ou profère des menaces : à traiter en priorité",
}
FACTS: Final = {
    "email_domain": "Fournisseur de son adresse e-mail",
    "days": "Nombre de jours indiqué",
    "business_account": "Compte professionnel",
}
_EMAIL_RE: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def display_name(channel: str, customer_id: str, name: str | None) -> str:
    """The customer's name, or "Client Messenger ···4821" when the platform gives none."""
    if name and name.strip():
        return name.strip()
    tail = customer_id[-4:] if len(customer_id) > 4 else customer_id
    return f"Client {CHANNEL_NAMES.get(channel, channel)} ···{tail}"


def summary(view: EscalationView, catalogue: Catalogue) -> str:
    """Why a person has the conversation, in a sentence: "a demandé un conseiller"."""
    said = REASONS.get(view.reason, view.reason.replace("_", " "))
    if view.reason == "not_solved" and view.intent:
        return f"{said} ({problem_name(view.intent, catalogue)})"
    return said


def problem_name(intent: str | None, catalogue: Catalogue) -> str | None:
    """A problem's full name; None for no problem (a request for a person, nothing
    understood)."""
    if not intent or intent in ("none", "human", "greeting", "thanks"):
        return None
    try:
        return catalogue[intent].full_name
    except KeyError:
        return intent


def facts(
    state_facts: dict[str, str], transcript: Sequence[TranscriptEntry]
) -> list[dict[str, str]]:
    """What the customer told, as (label, value) pairs: what the bot noted, and every
    e-mail address they wrote, before or after the hand-over."""
    found = [
        {"label": FACTS.get(key, key.replace("_", " ")), "value": value}
        for key, value in state_facts.items()
    ]
    addresses: list[str] = []
    for entry in transcript:
        if entry.author == "customer":
            addresses += [a for a in _EMAIL_RE.findall(entry.text) if a not in addresses]
    found += [{"label": "Adresse e-mail indiquée", "value": a} for a in addresses[:5]]
    return found


def unanswered(transcript: Sequence[TranscriptEntry]) -> bool:
    """Does the customer's last message still wait for a person's answer?"""
    for entry in reversed(transcript):
        if entry.author in ("agent", "native"):
            return False
        if entry.author == "customer":
            return True
    return False


def brief(
    view: EscalationView, transcript: Sequence[TranscriptEntry], catalogue: Catalogue
) -> dict[str, Any]:
    """The brief's words, added to the detail's `brief` object."""
    state = view.conversation.state
    return {
        "summary": summary(view, catalogue),
        "problem": problem_name(view.intent, catalogue),
        "answered_names": [
            name for name in (problem_name(i, catalogue) for i in state.answered) if name
        ],
        "told": facts(dict(state.facts), transcript),
        "unanswered": unanswered(transcript),
    }
