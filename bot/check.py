"""`python -m bot check`: is the catalogue usable and does every answer render within limits?"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Final

import jinja2

from intents.catalogue import CONVERSATION, PROBLEMS, SYMPTOMS, Catalogue
from intents.language import NOTE_LANGUAGES
from intents.matcher import Matcher
from responses.limits import MESSENGER, TWITTER
from responses.renderer import Renderer

# Every template the policy uses besides answer_<problem> and clarify_<symptom>.
FIXED_TEMPLATES = (
    "feedback_question", "clarify_ambiguous", "fallback", "offer_human", "rephrase",
    "escalation", "greeting", "thanks", "resolved", "disclosure", "attachment", "handback",
    "flood", "mention", "acknowledge", "redirect", "wait", "secret_reminder", "language_note",
    "whoami",
)  # fmt: skip
# Answers without the steps the customer said they took (the policy's STEPS).
_STEPS_TAKEN: list[dict[str, object]] = [{}] + [
    {"spam_checked": spam, "contacts_added": contacts} for spam in (0, 1) for contacts in (0, 1)
]
# The contexts each template is rendered with: every branch it has.
SAMPLE_CONTEXTS: dict[str, list[dict[str, object]]] = {
    "answer_email_deleted": [{"days": None}, {"days": 1}, {"days": 30}],
    "greeting": [{"hello": 0}, {"hello": 1}],
    "whoami": [{"disclosed": 0}, {"disclosed": 1}],
    "escalation": [{"hours": None}, {"hours": "du lundi au vendredi, de 9 h à 18 h"}],
    "answer_reset_email_missing": _STEPS_TAKEN,
    "answer_device_email_missing": [
        {**steps, "no_other_device": other} for steps in _STEPS_TAKEN for other in (0, 1)
    ],
    "language_note": [{"lang": code} for code in (*NOTE_LANGUAGES, "xx")],
}


# A sentence run into the next ("autorisé.Si vous"): a line break lost between two of a
# template's branches.
_GLUED_RE: Final = re.compile(r"\w+[.!?…][A-ZÀÂÉÈÊÎÔÛÇ]\w*")


def check(catalogue: Catalogue, renderer: Renderer) -> tuple[list[str], str]:
    """The problems found (empty when all is well) and a one-line summary."""
    problems: list[str] = []
    needed = [f"answer_{p}" for p in PROBLEMS] + [f"clarify_{s}" for s in SYMPTOMS]
    needed += FIXED_TEMPLATES
    available = set(renderer.template_names())
    for name in needed:
        if name not in available:
            problems.append(f"template {name}.txt.j2 is missing")
            continue
        for context in SAMPLE_CONTEXTS.get(name, [{}]):
            try:
                text = renderer.text(name, context)
            except jinja2.TemplateError as exc:
                problems.append(f"template {name}.txt.j2 does not render with {context}: {exc}")
                continue
            if not text:
                problems.append(f"template {name}.txt.j2 renders empty with {context}")
            if (glued := _GLUED_RE.search(text)) is not None:
                problems.append(
                    f"template {name}.txt.j2 glues two sentences with {context}: "
                    f"{glued.group(0)!r}"
                )
            limit = min(MESSENGER.text, TWITTER.text)
            if name.removeprefix("answer_") in _with_links(catalogue):
                limit = MESSENGER.button_text
            if len(text) > limit:
                problems.append(
                    f"template {name}.txt.j2 is {len(text)} characters, over the {limit} "
                    "a single message may carry"
                )

    matcher = Matcher(catalogue)
    owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for intent in catalogue.intents:
        for phrasing in intent.phrasings:
            owners[tuple(sorted(set(matcher.normalizer.normalize(phrasing).tokens)))].add(intent.id)
    for tokens, ids in owners.items():
        if tokens and len(ids) > 1:
            names = ", ".join(sorted(ids))
            problems.append(f"phrasings of {names} normalise to the same words: {' '.join(tokens)}")

    counts = {i.id: len(i.phrasings) for i in catalogue.intents}
    summary = (
        f"ok: {len(catalogue.intents)} intents ({len(PROBLEMS)} problems, "
        f"{len(SYMPTOMS)} symptoms, {len(CONVERSATION)} conversation), "
        f"{sum(counts.values())} phrasings, "
        f"{len(needed)} templates rendered within Messenger and X limits"
    )
    return problems, summary


def _with_links(catalogue: Catalogue) -> set[str]:
    return {i.id for i in catalogue.intents if i.links}
