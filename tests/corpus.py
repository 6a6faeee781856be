"""The multi-turn conversation corpus: its format, validated strictly, and its loader.

The corpus lives in ``tests/conversations/<part>/<theme>.toml``, one file per theme, with
the same themes in both parts (``dev`` and ``sealed``). Each conversation is a list of
turns: what the customer types (``say``) or taps (``tap``), and what the bot must do in
reply (``expect``, with the intents, choices or escalation reason that outcome needs).
``tests/conversations/README.md`` describes the format; this module is its definition.

The sealed part is run, never read, while changing the matcher or the policy.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONVERSATIONS_DIR: Final = Path(__file__).resolve().parent / "conversations"

ProblemId = Literal[
    "forgot_password",
    "lost_email_access",
    "forgot_email",
    "reset_email_missing",
    "device_email_missing",
    "email_in_use",
    "weak_password",
    "business_account",
    "email_deleted",
]
SymptomId = Literal["cannot_create_account", "invalid_credentials", "no_email_received"]
Expectation = Literal[
    "answer",
    "clarify",
    "escalate",
    "close",
    "wait",
    "greet",
    "thanks",
    "rephrase",
    "offer_human",
    "silent",
    "redirect",
    "language",
]
Reason = Literal[
    "not_solved",
    "asked_for_human",
    "not_understood",
    "unreadable_attachment",
    "hacked",
    "phishing",
    "payment",
    "legal",
    "distress",
    "other_topic",
]
Channel = Literal["messenger", "twitter", "local"]
Feedback = Literal["yes", "no"]
Part = Literal["dev", "sealed"]
Theme = Literal[
    "feedback",
    "compound",
    "clarify",
    "already_done",
    "safety",
    "other_topics",
    "language",
    "anger",
    "sms_and_regional",
    "misses",
    "escalated",
    "straight",
]

#: The nine problems of the article, the only ids an answer or a clarifying choice can name.
ARTICLE_PROBLEMS: Final[tuple[str, ...]] = get_args(ProblemId)
#: The generic symptoms, answered with a clarifying question.
SYMPTOMS: Final[tuple[str, ...]] = get_args(SymptomId)
#: The choices each symptom's clarifying question offers, in their fixed order (the bot adds
#: the "talk to a person" choice itself).
SYMPTOM_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "cannot_create_account": ("email_in_use", "weak_password", "business_account", "email_deleted"),
    "invalid_credentials": ("forgot_password", "forgot_email", "lost_email_access"),
    "no_email_received": ("reset_email_missing", "device_email_missing"),
}
EXPECTATIONS: Final[tuple[str, ...]] = get_args(Expectation)
REASONS: Final[tuple[str, ...]] = get_args(Reason)
CHANNELS: Final[tuple[str, ...]] = get_args(Channel)
PARTS: Final[tuple[str, ...]] = get_args(Part)
THEMES: Final[tuple[str, ...]] = get_args(Theme)
#: Quick replies a customer can tap, besides ``intent:<problem id>`` for a clarifying choice.
PLAIN_TAPS: Final[tuple[str, ...]] = ("yes", "no", "human")
TAPS: Final[tuple[str, ...]] = PLAIN_TAPS + tuple(f"intent:{p}" for p in ARTICLE_PROBLEMS)

_LANGUAGE_CODE: Final = re.compile(r"[a-z]{2}")
_ID_NUMBER: Final = re.compile(r"[0-9]{3}")


class CorpusError(ValueError):
    """A corpus file is missing, unreadable or not in the format."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _phrases(values: list[str], field: str) -> list[str]:
    if any(not v.strip() for v in values):
        raise ValueError(f"{field}: empty phrase")
    return values


class Turn(_Strict):
    """One customer turn and the bot's expected reply."""

    say: str | None = None
    tap: str | None = None
    expect: Expectation
    intents: list[ProblemId] | None = None
    choices: list[ProblemId] | None = None
    reason: Reason | None = None
    feedback: Feedback | None = None
    language: str | None = None
    acknowledge: bool = False
    contains: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
    check: bool = True

    @field_validator("say")
    @classmethod
    def _say_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("say: empty message")
        return value

    @field_validator("tap")
    @classmethod
    def _known_tap(cls, value: str | None) -> str | None:
        if value is not None and value not in TAPS:
            raise ValueError(f"tap: unknown quick reply {value!r}; one of {', '.join(TAPS)}")
        return value

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        if value is not None and (not _LANGUAGE_CODE.fullmatch(value) or value == "fr"):
            raise ValueError(f"language: {value!r} is not a two-letter code other than fr")
        return value

    @field_validator("contains")
    @classmethod
    def _contains_phrases(cls, value: list[str]) -> list[str]:
        return _phrases(value, "contains")

    @field_validator("absent")
    @classmethod
    def _absent_phrases(cls, value: list[str]) -> list[str]:
        return _phrases(value, "absent")

    @model_validator(mode="after")
    def _consistent(self) -> Turn:
        if (self.say is None) == (self.tap is None):
            raise ValueError("a turn has exactly one of say or tap")
        self._needs("intents", self.intents, self.expect == "answer")
        self._needs("choices", self.choices, self.expect == "clarify")
        self._needs("reason", self.reason, self.expect == "escalate")
        for field, ids, least in (("intents", self.intents, 1), ("choices", self.choices, 2)):
            if ids is not None and (len(ids) < least or len(set(ids)) != len(ids)):
                raise ValueError(f"{field}: at least {least}, without repeats")
        if self.expect == "language" and self.language is None:
            raise ValueError("expect = 'language' needs the language of the message")
        if self.feedback is not None and self.say is None:
            raise ValueError("feedback rides on typed text; a tap is its own feedback")
        if self.expect == "silent" and (self.contains or self.language or self.acknowledge):
            raise ValueError("a silent reply can carry no text, language note or acknowledgement")
        if {p.casefold() for p in self.contains} & {p.casefold() for p in self.absent}:
            raise ValueError("a phrase both in contains and absent")
        return self

    def _needs(self, field: str, value: object, required: bool) -> None:
        if required and value is None:
            raise ValueError(f"expect = {self.expect!r} needs {field}")
        if not required and value is not None:
            raise ValueError(f"{field} only goes with expect = 'answer', 'clarify' or 'escalate'")

    @property
    def text(self) -> str:
        """What the customer sent: the typed text, or the quick reply's payload."""
        return self.say if self.say is not None else str(self.tap)


class ConversationEntry(_Strict):
    """A conversation as written in a corpus file."""

    id: str
    channel: Channel = "local"
    note: str | None = None
    turns: list[Turn] = Field(min_length=1)

    @field_validator("note")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\n" in value):
            raise ValueError("note: one non-empty line")
        return value

    @property
    def checked_turns(self) -> int:
        """How many turns count in the results."""
        return sum(turn.check for turn in self.turns)


class Conversation(ConversationEntry):
    """A loaded conversation, with the theme and the part of the file it comes from."""

    theme: Theme
    part: Part

    @model_validator(mode="after")
    def _id_names_theme_and_part(self) -> Conversation:
        prefix = f"{self.theme}-{self.part}-"
        if not self.id.startswith(prefix) or not _ID_NUMBER.fullmatch(self.id[len(prefix) :]):
            raise ValueError(f"id {self.id!r} is not {prefix}NNN")
        return self


class CorpusFile(_Strict):
    """One theme's file: its theme and its conversations."""

    theme: Theme
    conversations: list[ConversationEntry] = Field(min_length=1)


def load_file(path: Path, part: str) -> list[Conversation]:
    """The conversations of one corpus file, in file order, checked against its name."""
    if part not in PARTS:
        raise CorpusError(f"unknown part {part!r}; one of {', '.join(PARTS)}")
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
        corpus = CorpusFile.model_validate(data)
        if corpus.theme != path.stem:
            raise CorpusError(f"theme {corpus.theme!r} differs from the file name")
        return [
            Conversation.model_validate(
                {**entry.model_dump(exclude_unset=True), "theme": corpus.theme, "part": part},
                strict=False,
            )
            for entry in corpus.conversations
        ]
    except (OSError, tomllib.TOMLDecodeError, ValidationError, CorpusError) as exc:
        raise CorpusError(f"{path}: {exc}") from exc


def load_corpus(part: str, root: Path = CONVERSATIONS_DIR) -> list[Conversation]:
    """Every conversation of one part ("dev" or "sealed"), sorted by file, then file order."""
    if part not in PARTS:
        raise CorpusError(f"unknown part {part!r}; one of {', '.join(PARTS)}")
    files = sorted((root / part).glob("*.toml"))
    if not files:
        raise CorpusError(f"{root / part}: no corpus file")
    return [conversation for path in files for conversation in load_file(path, part)]


# What the development conversations teach the learned readings (intents/model.py,
# intents/replies.py): the turns whose expectation says what one message means on its own.
# Read from the expectations alone, never from what the bot did, so that training twice
# gives the same model.

#: A symptom, by the choices its clarifying question offers.
_SYMPTOM_OF_CHOICES: Final = {frozenset(c): s for s, c in SYMPTOM_CHOICES.items()}


def first_messages(conversations: Iterable[Conversation]) -> list[tuple[str, str]]:
    """(intent, text) of each conversation's opening message in French, when what the bot
    must do with it names its intent: the problem answered (one), the symptom asked about,
    a greeting, a person asked for, or `none` for what the article does not answer (asked
    to rephrase, another topic routed)."""
    found: list[tuple[str, str]] = []
    for turn in _openings(conversations):
        if turn.say is None:
            continue
        label: str | None = None
        if turn.expect == "answer" and turn.intents is not None and len(turn.intents) == 1:
            label = turn.intents[0]
        elif turn.expect == "clarify" and turn.choices is not None:
            label = _SYMPTOM_OF_CHOICES.get(frozenset(turn.choices))
        elif turn.expect in ("rephrase", "redirect"):
            label = "none"
        elif turn.expect == "greet":
            label = "greeting"
        elif turn.expect == "escalate" and turn.reason == "asked_for_human":
            label = "human"
        if label is not None:
            found.append((label, turn.say))
    return found


def _openings(conversations: Iterable[Conversation]) -> Iterator[Turn]:
    for conversation in conversations:
        fresh = True
        for turn in conversation.turns:
            if fresh:
                yield turn
            fresh = turn.expect in ("greet", "close", "thanks")


def replies_to_answers(conversations: Iterable[Conversation]) -> list[tuple[str, str, str]]:
    """(answered, label, text) of each message typed just after one problem's answer (or
    after waiting on it), when what the bot must do says what the message makes of the
    answer, with the labels of tests/data/replies: closed, `yes`; waited on, `wait`; handed
    over as not solved, `no`; or the turn's own `feedback`. After the answer on an address
    no longer reachable, a hand-over is the new account made (that answer's next step, see
    the conventions), no `no`: left out."""
    found = []
    for conversation in conversations:
        answered: str | None = None
        for turn in conversation.turns:
            if turn.say is not None and answered is not None:
                label = _reply_label(turn, answered)
                if label is not None:
                    found.append((answered, label, turn.say))
            if turn.expect == "answer" and turn.intents is not None:
                answered = turn.intents[0] if len(turn.intents) == 1 else None
            elif turn.expect != "wait":
                answered = None
    return found


def _reply_label(turn: Turn, answered: str) -> str | None:
    if turn.expect == "close":
        return "yes"
    if turn.expect == "wait":
        return "wait"
    if turn.expect == "escalate" and turn.reason == "not_solved" and turn.feedback != "yes":
        return None if answered == "lost_email_access" else "no"
    return turn.feedback


def angry_messages(conversations: Iterable[Conversation]) -> list[str]:
    """The messages whose reply must open by acknowledging the customer's anger."""
    return [t.say for c in conversations for t in c.turns if t.acknowledge and t.say is not None]


#: The reasons of the safety matters (DESIGN.md): handed to a person, never answered.
SAFETY_REASONS: Final = ("hacked", "phishing", "payment", "legal", "distress")


def safety_messages(conversations: Iterable[Conversation]) -> list[tuple[str, str]]:
    """(label, text) of each typed message before a hand-over: the safety reason of those
    that must be handed over for one, `none` for the others (problems, replies, other
    topics, a person asked for). Messages typed once a person has the conversation say
    nothing of their own (`silent`): left out."""
    return [
        (turn.reason if turn.reason is not None and turn.reason in SAFETY_REASONS else "none", turn.say)
        for conversation in conversations
        for turn in conversation.turns
        if turn.say is not None and turn.expect != "silent"
    ]
