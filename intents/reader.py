"""A customer's message read whole: the problems it names, in order, and what else it says.

The matcher ranks the catalogue's intents; the signals (intents/signals.py) say whether
the message is a safety matter, a request for a person, another Parallels topic, a reply
to the bot's question, a step already done, angry; the language detector names a language
other than French. `Reading.intent` is what `classify` reports: an article problem, a
symptom, a conversation move, or `none` for everything the article does not answer (a
safety matter and another topic included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from intents.catalogue import NONE, PROBLEMS, SYMPTOMS, Catalogue
from intents.language import LanguageDetector
from intents.matcher import Match, Matcher
from intents.signals import SignalReader, Signals, flat, without_secrets

HUMAN: Final = "human"


@dataclass(frozen=True, slots=True)
class Reading:
    """What one message says."""

    match: Match
    signals: Signals
    language: str | None = None
    # The article's problems the message names clearly, in the customer's order.
    problems: tuple[str, ...] = ()

    @property
    def intent(self) -> str:
        """The message's intent: an article problem, a symptom, a conversation move, or
        `none` (which includes safety matters and other topics)."""
        if self.signals.safety is not None:
            return NONE
        if self.signals.human:
            return HUMAN
        if self.problems:
            return self.problems[0]
        if self.signals.topic:
            return NONE
        return self.match.intent

    @property
    def decision(self) -> str:
        """What the intent calls for: answer, clarify, or none."""
        intent = self.intent
        if intent == NONE:
            return "none"
        if self.problems or intent == HUMAN:
            return "answer"
        return self.match.decision

    @property
    def symptom(self) -> str | None:
        """The generic symptom the message describes, when it names no clear problem."""
        if self.problems or self.signals.topic or self.match.intent not in SYMPTOMS:
            return None
        return self.match.intent


class Reader:
    """Reads messages: the matcher, the signals and the language detector together."""

    def __init__(
        self,
        catalogue: Catalogue,
        matcher: Matcher | None = None,
        signals: SignalReader | None = None,
        languages: LanguageDetector | None = None,
    ) -> None:
        self.matcher = matcher or Matcher(catalogue)
        self.signals = signals or SignalReader()
        self.languages = languages or LanguageDetector(self.signals.french_words)

    def read(self, text: str) -> Reading:
        signals = self.signals.read(text)
        text = without_secrets(text)
        match = self.matcher.match(text)
        language = self.languages.language(text, flat(text)) if text.strip() else None
        problems: tuple[str, ...] = ()
        if match.decision == "answer" and match.intent in PROBLEMS:
            problems = (match.intent,)
        return Reading(match, signals, language, problems)
