"""Full-text search of the conversations a person handled: what is indexed, and how a
query is put to each database.

A conversation's document is its customer's name and id, its transcript and its notes.
SQLite's FTS5 folds accents itself but has no French stemmer: there each word of the query
is folded, cut to its stem (the matcher's light French stemmer) and matched as a prefix:
"réinitialisation" becomes "reinitialis*", which finds "réinitialiser" too. PostgreSQL
stems both sides with its French configuration, which knows accents: its document holds the
words as written and once more without accents, so that "reinitialiser" typed in a hurry
finds "réinitialiser" as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from intents.normalize import fold, stem

MAX_QUERY_WORDS: Final = 8
MAX_DOCUMENT: Final = 200_000  # characters of one conversation indexed at most
_WORD_RE: Final = re.compile(r"[^\W_]+")


def document(dialect: str, parts: Iterable[str | None]) -> str:
    """The indexed text of a conversation, from its name, id, transcript and notes."""
    text = "\n".join(part for part in parts if part)[:MAX_DOCUMENT]
    folded = fold(text)
    if dialect == "sqlite" or folded == text.casefold():
        return folded
    return f"{text}\n{folded}"


def words(query: str) -> list[str]:
    """The words of a search, in order, at most a few."""
    return _WORD_RE.findall(query)[:MAX_QUERY_WORDS]


def query_for(dialect: str, query: str) -> str | None:
    """The search as the database takes it; None when it holds no word."""
    found = words(query)
    if not found:
        return None
    if dialect == "sqlite":
        # Each stem quoted (FTS5's syntax characters lose their meaning), as a prefix.
        return " ".join(f'"{stem(fold(word))}"*' for word in found)
    # For websearch_to_tsquery: the words as typed, or without their accents (a customer
    # who wrote "reinitialiser" is found by "réinitialisation" too). Only words reach it.
    typed, folded = " ".join(found), " ".join(fold(word) for word in found)
    return typed if folded == typed.casefold() else f"{typed} or {folded}"
