"""What a message says besides its problem: safety, a person, another topic, feedback, steps
already done, anger, a choice by its rank. Read from intents/signals.toml.

The matcher (intents/matcher.py) ranks the article's problems; these signals are what the
dialogue policy needs on top of it to hold a conversation: "non ça marche toujours pas"
after an answer, "je vais regarder", "j'ai déjà regardé dans les spams", "mon compte a
été piraté", "le deuxième". Each is a set of regular expressions over the message's flat
text (folded, one space between words), kept as data so that a new phrasing is a line in
the TOML file, with the reason beside it.

Reading costs a few microseconds per expression on a short message and time in proportion
to at most `MAX_TEXT_CHARS` characters on any message: every expression is matched once
over a text that long, without nested repeats.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Final, Literal

from intents.normalize import MAX_TEXT_CHARS, NON_WORD_RE, fold

SafetyReason = Literal["hacked", "phishing", "payment", "legal", "distress"]
FeedbackSignal = Literal["yes", "no", "wait"]

#: Escalation reasons of the safety signals, in the order they are checked.
SAFETY: Final[tuple[SafetyReason, ...]] = ("hacked", "phishing", "payment", "legal", "distress")
#: Steps of the article a customer can say they already did.
STEPS: Final = (
    "spam",
    "contacts",
    "reset_link",
    "other_device",
    "waited",
    "complex_password",
    "searched_noreply",
)
#: What another engineer's masking leaves in place of a pasted password or card number.
SECRET_MARKERS: Final = ("[mot de passe masqué]", "[carte masquée]")
_SECRET_RE: Final = re.compile(
    "|".join(re.escape(m) for m in SECRET_MARKERS), re.IGNORECASE
)
# Replies that only acknowledge: neither yes nor no, the customer goes to try.
_ACKNOWLEDGEMENTS: Final = frozenset(
    {"ok", "okay", "oki", "ok ok", "d accord", "dac", "ah ok", "ah d accord", "ok d accord",
     "entendu", "bien recu", "ca marche je regarde", "compris", "ok compris", "je vois"}
)  # fmt: skip
_THUMBS_UP: Final = ("👍", "👌", "🙏", "🆗", "✅")
_THUMBS_DOWN: Final = ("👎", "❌")
_MARKS_RE: Final = re.compile(r"[!?]{3,}")
# Anger in capitals: this many letters at least, this share of them upper case.
_CAPS_LETTERS: Final = 12
_CAPS_SHARE: Final = 0.7


def flat(text: str) -> str:
    """The text as the signals read it: folded, its words separated by one space."""
    return " ".join(NON_WORD_RE.sub(" ", fold(text[:MAX_TEXT_CHARS])).split())


def without_secrets(text: str) -> str:
    """The text without the masking markers, which are not the customer's words."""
    return _SECRET_RE.sub(" ", text) if "[" in text else text


@dataclass(frozen=True, slots=True)
class Signals:
    """What one message says, besides which problem it names."""

    safety: SafetyReason | None = None
    human: bool = False
    topic: bool = False
    feedback: FeedbackSignal | None = None
    new_question: bool = False
    done: frozenset[str] = field(default_factory=frozenset)
    angry: bool = False
    ordinal: int | None = None
    secret: bool = False


class _Signal:
    """One signal: any of its patterns (a list pattern needs all of its parts), unless one
    of its `unless` patterns matches."""

    def __init__(self, patterns: Sequence[str | Sequence[str]], unless: Sequence[str] = ()):
        single = [p for p in patterns if isinstance(p, str)]
        self._any = re.compile("|".join(f"(?:{p})" for p in single)) if single else None
        self._all = [
            tuple(re.compile(part) for part in group)
            for group in patterns
            if not isinstance(group, str)
        ]
        self._unless = re.compile("|".join(f"(?:{p})" for p in unless)) if unless else None

    def __call__(self, text: str) -> bool:
        found = (self._any is not None and self._any.search(text) is not None) or any(
            all(part.search(text) for part in group) for group in self._all
        )
        return found and not (self._unless is not None and self._unless.search(text))


class SignalReader:
    """Reads the signals of a message. Pure and deterministic; build once."""

    def __init__(self, data: Mapping[str, object] | None = None) -> None:
        if data is None:
            source = resources.files("intents").joinpath("signals.toml").read_text("utf-8")
            data = tomllib.loads(source)
        signals = data["signals"]
        assert isinstance(signals, dict)

        def signal(name: str) -> _Signal:
            entry = signals[name]
            return _Signal(entry["patterns"], entry.get("unless", ()))

        self._safety = [(reason, signal(reason)) for reason in SAFETY]
        self._human = signal("human")
        self._topic = signal("topic")
        topic = signals["topic"]
        self._with_product = _Signal(topic["with_product"])
        self._product = re.compile(topic["product"])
        self._no, self._wait, self._yes = signal("no"), signal("wait"), signal("yes")
        self._new_question = signal("new_question")
        self._done = [(step, signal(f"done_{step}")) for step in STEPS]
        self._anger = signal("anger")
        self._ordinal = re.compile(signals["ordinal"]["pattern"])
        ordinals = data["ordinals"]
        assert isinstance(ordinals, dict)
        self._ordinals = {str(k): int(v) for k, v in ordinals.items()}
        french = data["french"]
        assert isinstance(french, dict)
        self.french_words: frozenset[str] = frozenset(french["words"])

    def read(self, text: str) -> Signals:
        """Every signal of `text`, the customer's message as sent."""
        secret = "[" in text and _SECRET_RE.search(text) is not None
        text = without_secrets(text)
        words = flat(text)
        if not words:
            return Signals(feedback=self._emoji_feedback(text), secret=secret)
        safety = next((reason for reason, found in self._safety if found(words)), None)
        topic = self._topic(words) or (
            self._product.search(words) is not None and self._with_product(words)
        )
        ordinal = None
        match = self._ordinal.match(words)
        if match is not None and len(words.split()) <= 8:
            ordinal = self._ordinals.get(match.group(1))
        return Signals(
            safety=safety,
            human=self._human(words),
            topic=topic,
            feedback=self.feedback(text, words),
            new_question=self._new_question(words) or "?" in text,
            done=frozenset(step for step, found in self._done if found(words)),
            angry=self._angry(text, words),
            ordinal=ordinal,
            secret=secret,
        )

    def feedback(self, text: str, words: str | None = None) -> FeedbackSignal | None:
        """What a reply to "Est-ce que cela a résolu votre problème ?" says: no (it did not
        help), wait (the customer goes to try) or yes; None when it says none of them."""
        words = flat(text) if words is None else words
        if not words:
            return self._emoji_feedback(text)
        if self._no(words):
            return "no"
        if words in _ACKNOWLEDGEMENTS and not any(e in text for e in _THUMBS_UP):
            return "wait"
        if self._wait(words):
            return "wait"
        if self._yes(words) or any(e in text for e in _THUMBS_UP):
            return "yes"
        return None

    @staticmethod
    def _emoji_feedback(text: str) -> FeedbackSignal | None:
        if any(e in text for e in _THUMBS_DOWN):
            return "no"
        if any(e in text for e in _THUMBS_UP):
            return "yes"
        return None

    def _angry(self, text: str, words: str) -> bool:
        if self._anger(words):
            return True
        if len(words.split()) >= 3 and _MARKS_RE.search(text[:MAX_TEXT_CHARS]):
            return True
        letters = [c for c in text[:2000] if c.isalpha()]
        upper = sum(c.isupper() for c in letters)
        return len(letters) >= _CAPS_LETTERS and upper >= _CAPS_SHARE * len(letters)
