"""The catalogue of intents (intents/catalogue.toml), validated with pydantic at load."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROBLEMS: Final = (
    "forgot_password",
    "lost_email_access",
    "forgot_email",
    "reset_email_missing",
    "device_email_missing",
    "email_in_use",
    "weak_password",
    "business_account",
    "email_deleted",
)
SYMPTOMS: Final = ("cannot_create_account", "invalid_credentials", "no_email_received")
CONVERSATION: Final = ("greeting", "thanks", "human")
INTENT_IDS: Final = PROBLEMS + SYMPTOMS + CONVERSATION
NONE: Final = "none"
MIN_PROBLEM_PHRASINGS: Final = 30
QUICK_REPLY_TITLE_MAX: Final = 20

IntentKind = Literal["problem", "symptom", "conversation", "out_of_scope"]


class CatalogueError(Exception):
    """The catalogue cannot be used; the message names the file, the entry and the reason."""


class Link(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str = Field(min_length=1, max_length=20)
    url: str = Field(pattern=r"^https?://")


class Intent(BaseModel):
    """One intent: an article problem, a generic symptom, a conversation move, or `none`.

    `none` holds examples of what the bot must not answer (other passwords, licences,
    billing, product questions): a message closest to them is out of scope.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: IntentKind
    label: str = Field(min_length=1, max_length=QUICK_REPLY_TITLE_MAX)
    # The problem's full name, as agents and reports say it (the label is button-short).
    name: str | None = Field(default=None, min_length=1, max_length=120)
    contact_support: bool = False
    candidates: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    phrasings: tuple[str, ...]

    @property
    def full_name(self) -> str:
        return self.name or self.label

    @field_validator("id")
    @classmethod
    def _known_id(cls, value: str) -> str:
        if value not in (*INTENT_IDS, NONE):
            raise ValueError(
                f"unknown intent id {value!r}; DESIGN.md fixes {', '.join((*INTENT_IDS, NONE))}"
            )
        return value

    @field_validator("phrasings")
    @classmethod
    def _non_empty_phrasings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        blank = [i for i, p in enumerate(value) if not p.strip()]
        if blank:
            raise ValueError(f"phrasing #{blank[0] + 1} is empty")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Intent:
        expected: IntentKind = (
            "problem"
            if self.id in PROBLEMS
            else "symptom"
            if self.id in SYMPTOMS
            else "out_of_scope"
            if self.id == NONE
            else "conversation"
        )
        if self.kind != expected:
            raise ValueError(f"kind must be {expected!r}, not {self.kind!r}")
        if self.kind == "problem" and len(self.phrasings) < MIN_PROBLEM_PHRASINGS:
            raise ValueError(
                f"an article problem needs at least {MIN_PROBLEM_PHRASINGS} phrasings, "
                f"it has {len(self.phrasings)}"
            )
        if self.kind == "symptom":
            if len(self.candidates) < 2:
                raise ValueError("a symptom needs at least two candidate problems")
            wrong = [c for c in self.candidates if c not in PROBLEMS]
            if wrong:
                raise ValueError(f"candidates must be article problems, not {wrong}")
        elif self.candidates:
            raise ValueError("only a symptom has candidates")
        if not self.phrasings:
            raise ValueError("needs at least one phrasing")
        return self


class Catalogue(BaseModel):
    """All intents, in the order of the file; every id of DESIGN.md exactly once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    intents: tuple[Intent, ...]

    @model_validator(mode="after")
    def _complete(self) -> Catalogue:
        ids = [i.id for i in self.intents]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"intents defined twice: {', '.join(duplicated)}")
        missing = [i for i in INTENT_IDS if i not in ids]
        if missing:
            raise ValueError(f"intents missing: {', '.join(missing)}")
        return self

    def __getitem__(self, intent_id: str) -> Intent:
        for intent in self.intents:
            if intent.id == intent_id:
                return intent
        raise KeyError(intent_id)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load and validate the catalogue; the packaged one when no path is given."""
    if path is None:
        source = resources.files("intents").joinpath("catalogue.toml")
        name, text = "intents/catalogue.toml", source.read_text("utf-8")
    else:
        name = str(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise CatalogueError(f"{name}: cannot read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{name}: not valid TOML: {exc}") from exc
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(f"{name}: {_describe(exc, data)}") from exc


def _describe(exc: ValidationError, data: object) -> str:
    """One line per error, naming the entry by its id rather than by its index."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(p) for p in loc) or "top level"
        if len(loc) >= 2 and loc[0] == "intents" and isinstance(loc[1], int):
            entries = data.get("intents", []) if isinstance(data, dict) else []
            entry = entries[loc[1]] if loc[1] < len(entries) else {}
            ident = (
                entry.get("id", f"#{loc[1] + 1}") if isinstance(entry, dict) else f"#{loc[1] + 1}"
            )
            rest = ".".join(str(p) for p in loc[2:])
            where = f"intent {ident}" + (f" ({rest})" if rest else "")
        lines.append(f"{where}: {error['msg']}")
    return "; ".join(lines)
