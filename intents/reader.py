"""A customer's message read whole: the problems it names, in order, and what else it says.

The matcher ranks the catalogue's intents; the signals (intents/signals.py) say whether
the message is a safety matter, a request for a person, another Parallels topic, a reply
to the bot's question, a step already done, angry; the language detector names a language
other than French. `Reading.intent` is what `classify` reports: an article problem, a
symptom, a conversation move, or `none` for everything the article does not answer (a
safety matter and another topic included).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from intents.catalogue import NONE, PROBLEMS, SYMPTOMS, Catalogue
from intents.language import LanguageDetector
from intents.matcher import Match, Matcher
from intents.signals import SignalReader, Signals, flat, without_secrets

HUMAN: Final = "human"
# A message whose best article problem or symptom scores this is about the article, even
# when it also names another topic.
ARTICLE_NEAR: Final = 75.0


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
        normalize = self.matcher.normalizer.normalize
        #: Each problem's quick-reply title, as tokens: "celui du mot de passe" names it.
        self.title_words = {
            i.id: frozenset(normalize(i.label).tokens) for i in catalogue.intents if i.id in PROBLEMS
        }

    def read(self, text: str) -> Reading:
        signals = self.signals.read(text)
        text = without_secrets(text)
        match = self.matcher.match(text)
        language = self.languages.language(text, flat(text)) if text.strip() else None
        problems: tuple[str, ...] = ()
        if match.decision == "answer" and match.intent in PROBLEMS:
            problems = (match.intent,)
        if signals.topic and _near_article(match):
            # "J'ai acheté une licence mais j'ai oublié mon mot de passe de compte": the
            # account problem is the point, the licence its context.
            signals = replace(signals, topic=False)
        return Reading(match, signals, language, problems)


def _near_article(match: Match) -> bool:
    """Whether the message is close to an article problem or symptom, whatever else it says."""
    return any(
        c.score >= ARTICLE_NEAR for c in match.candidates if c.intent in PROBLEMS or c.intent in SYMPTOMS
    )
