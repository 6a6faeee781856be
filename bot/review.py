"""Turning agents' labels into what teaches the bot: catalogue phrasings, and cases for the
sealed evaluation, never both for the same message (a phrasing the matcher learnt from
would make a case it cannot fail).

`python -m bot review export` writes them into a folder for a human to read and commit;
nothing here changes the catalogue by itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from bot.store import Label
from intents.catalogue import Catalogue
from intents.normalize import fold

# One labelled message in this many becomes an evaluation case rather than a phrasing.
SEALED_EVERY: Final = 5
_EMAIL_RE: Final = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


@dataclass(slots=True)
class Export:
    phrasings: dict[str, list[str]] = field(default_factory=dict)  # intent -> texts
    sealed: list[tuple[str, str]] = field(default_factory=list)  # (intent, text)
    skipped: int = 0  # already in the catalogue, empty, or a repeat


def anonymous(text: str) -> str:
    """The text without the customer's e-mail address (its provider's domain stays: the
    matcher reads it)."""
    return " ".join(_EMAIL_RE.sub(r"adresse@\1", text).split())


def export(labels: Sequence[Label], catalogue: Catalogue) -> Export:
    """Split the labelled messages: most become phrasings of the intent they were labelled
    with, one in SEALED_EVERY (by message id) an evaluation case; texts the catalogue
    already has, and repeats, are left out."""
    known = {fold(p).strip() for intent in catalogue.intents for p in intent.phrasings}
    done = Export()
    for label in sorted(labels, key=lambda la: la.message_id):
        text = anonymous(label.text)
        key = fold(text).strip()
        if not key or key in known:
            done.skipped += 1
            continue
        known.add(key)
        if label.message_id % SEALED_EVERY == 0:
            done.sealed.append((label.intent, text))
        else:
            done.phrasings.setdefault(label.intent, []).append(text)
    return done


def phrasings_toml(phrasings: Mapping[str, Iterable[str]]) -> str:
    """The phrasings as TOML, one table per intent, for intents/catalogue.toml."""
    lines = [
        "# Phrasings labelled by agents in the desk (python -m bot review export).",
        "# Read each one, then add it to its intent's `phrasings` in intents/catalogue.toml.",
    ]
    for intent in sorted(phrasings):
        lines += ["", f"[{intent}]", "phrasings = ["]
        lines += [f"  {json.dumps(text, ensure_ascii=False)}," for text in phrasings[intent]]
        lines.append("]")
    return "\n".join(lines) + "\n"


def sealed_tsv(cases: Iterable[tuple[str, str]]) -> str:
    """Cases for tests/data/sealed/intents.tsv (intent<TAB>message)."""
    lines = ["# Cases labelled by agents in the desk: append them to the sealed set."]
    lines += [f"{intent}\t{text}" for intent, text in cases]
    return "\n".join(lines) + "\n"


def with_phrasings(catalogue: Catalogue, phrasings: Mapping[str, Iterable[str]]) -> Catalogue:
    """The catalogue with these phrasings added (what the commit will do)."""
    intents = tuple(
        intent.model_copy(
            update={"phrasings": (*intent.phrasings, *phrasings.get(intent.id, ()))}
        )
        for intent in catalogue.intents
    )
    return catalogue.model_copy(update={"intents": intents})
