"""Masking what a customer should never have pasted, before anything is stored.

Customers paste their password ("mon mot de passe c'est Xy7!kq", "mdp : hunter2") and
sometimes a payment card number. Both are replaced in the text, where the message enters
the service, so that they never reach the inbox, the transcript, the desk or a backup:

- a password that follows a password label ("mot de passe", "mdp", "password", …) and a
  connector ("c'est", ":", "=", "est", "is", …) becomes `PASSWORD_MARK`; the words around
  it stay, so the agent and the engine still read what the customer meant. The words
  "mot de passe" in an ordinary sentence ("j'ai oublié mon mot de passe", "mon mot de passe
  est refusé") are left alone: after a weak connector ("est") only a value that looks like a
  secret (digits, symbols, mixed case) is masked, after a strong one (":", "c'est") any
  value but a common word;
- a payment card number (13 to 19 digits, spaces or dashes allowed, a card network's first
  digit, a valid Luhn checksum) becomes `CARD_MARK`; other long numbers stay.

E-mail addresses, phone numbers and licence keys are kept: the agent needs them (a licence
transfer, a call back). They are masked in the logs instead (`bot.logs`).

Every pattern runs in linear time on any text, and `redact` is idempotent.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable
from typing import Final

from adapters.base import Inbound

PASSWORD_MARK: Final = "[mot de passe masqué]"  # noqa: S105 - the mark, not a password
CARD_MARK: Final = "[carte masquée]"

# A password label, optional qualifiers ("actuel", "provisoire"), then a connector. The
# label may not follow "[" (our own marks) nor a letter; qualifiers and connectors are
# bounded, so a match costs at most the length of its whitespace runs.
_LABEL: Final = re.compile(
    # The label's first letter comes first, so that the scan skips other letters fast; the
    # look-behind then checks the letter before it.
    r"(?P<label>[mp](?<![\w\[][mp])(?:ots?[\s_-]*+de[\s_-]*+passe?|otdepasse|dp|\.d\.p\.?"
    r"|asswords?|asswd|wd|w|ass))(?!\w)"
    r"(?:\s++(?:actuel(?:le)?|provisoire|temporaire|habituel|parallels|current|new|old)(?!\w))"
    r"{0,2}"
    r"(?:(?P<sign>\s*+(?::|=>?|-+>))"
    r"|\s++(?P<word>c['’]\s*est|c\s+est|cest|ce\s+sera|is|was|est|[ée]tait|sera|serait)(?!\w)"
    r"(?P<colon>\s*+:)?)?",
    re.IGNORECASE,
)
# What every password label holds, in lower case, and every card number (four digits in a
# row): a message without any is kept as is.
_HINTS: Final = ("mot", "mdp", "m.d", "pass", "pw")
# Labels too short or too common to be trusted without ":" or "=" ("pass", "pw").
# Labels examined per message: a customer pastes a password after one of the first few;
# thousands of them are a flood, and the cost of reading them stays bounded.
MAX_LABELS: Final = 500
_WEAK_LABELS: Final = frozenset({"pass", "pw"})
_QUOTES: Final = {'"': '"', "'": "'", "«": "»", "“": "”", "‘": "’", "`": "`"}
_MAX_VALUE: Final = 128  # a password is shorter; a longer run is still masked, as one piece
_TRAILING: Final = ".,;:)]}"
_DATE_OR_TIME: Final = re.compile(r"\d{1,4}(?:[/.-]\d{1,4}){1,2}|\d{1,2}h\d{0,2}", re.IGNORECASE)
# Words that follow "mot de passe :" or "mot de passe c'est" in ordinary sentences (folded:
# lower case, no accents). They are never taken for a password.
_COMMON: Final = frozenset(
    """
    a au aux bien bon bonne ca ce cela celle celui ces cet cette comme comment correct correcte
    court d de deja demande des different differente du elle email en encore errone erronee et
    exige expire faible faux fausse identique il incorrect incorrecte invalide j je juste l la le
    les long ma mail mais mal meme mes mon n ne necessaire nouveau nouvelle nul obligatoire ok on
    ou oui oublie oubliee pareil pas perdu plus pourquoi provisoire quel quelle quoi refuse
    refusee requis reconnu s sa securise ses son svp stp temporaire toujours tjrs tjs ton trop un
    une valide vide vous y
    the my your not no yes too wrong invalid incorrect forgotten forgot lost required same
    expired locked changed reset weak short strong fine valid empty missing
    """.split()  # noqa: SIM905 - a list of words reads better as words
)
# A card number: a run of digits with single spaces or dashes between them; the run is
# possessive and may not touch another digit, so each digit is read once.
_DIGITS: Final = re.compile(r"(?<!\d)\d(?:[ \u00a0-]?+\d)*+")
_CARD_LENGTHS: Final = range(13, 20)
_SPACES: Final = re.compile(r"\s*")
_WORD: Final = re.compile(r"\S*")
# Four digits in a row: every card number holds some, most messages none.
_LONG_NUMBER: Final = re.compile(r"\d{4}")
# Major industry identifiers of payment cards: 2 (Mastercard), 3 (Amex, Diners, JCB),
# 4 (Visa), 5 (Mastercard, Maestro), 6 (Discover, Maestro, UnionPay).
_CARD_FIRST: Final = frozenset("23456")


def redact(text: str) -> str:
    """`text` with pasted passwords and payment card numbers masked."""
    if not text:
        return text
    lower = text.lower()
    if not any(hint in lower for hint in _HINTS) and _LONG_NUMBER.search(text) is None:
        return text  # most messages: a few scans, in C
    return _passwords(_cards(text))


def redact_events(events: Iterable[Inbound]) -> list[Inbound]:
    """The same events, their texts masked; events without anything to mask are kept as is."""
    masked: list[Inbound] = []
    for event in events:
        text = redact(event.message.text)
        if text != event.message.text:
            message = event.message.model_copy(update={"text": text})
            event = dataclasses.replace(event, message=message)  # its other fields kept
        masked.append(event)
    return masked


# -- cards ------------------------------------------------------------------------------------


def _cards(text: str) -> str:
    if _LONG_NUMBER.search(text) is None:
        return text
    return _DIGITS.sub(_card_or_kept, text)


def _card_or_kept(match: re.Match[str]) -> str:
    run = match.group()
    digits = [c for c in run if c.isdigit()]
    if (
        len(digits) in _CARD_LENGTHS
        and digits[0] in _CARD_FIRST
        and all(c.isascii() for c in digits)
        and _luhn(digits)
    ):
        return CARD_MARK
    return run


def _luhn(digits: list[str]) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# -- passwords --------------------------------------------------------------------------------


def _passwords(text: str) -> str:
    pieces: list[str] = []
    done = 0  # text[:done] is already in `pieces`
    for seen, match in enumerate(_LABEL.finditer(text)):
        if seen == MAX_LABELS:
            break
        if match.start() < done:
            continue  # inside a value masked already
        span = _value(text, match)
        if span is None:
            continue
        start, end = span
        pieces.append(text[done:start])
        pieces.append(PASSWORD_MARK)
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _value(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """Where the password after this label lies, if one does."""
    label = match.group("label").lower()
    sign = match.group("sign") is not None or match.group("colon") is not None
    connected = sign or match.group("word") is not None
    if label in _WEAK_LABELS and not sign:
        return None
    start = match.end()
    spaces = _SPACES.match(text, start, min(len(text), start + 10))  # always matches
    start = spaces.end() if spaces else start
    if start >= len(text) or (start > match.end() and "\n\n" in text[match.end() : start]):
        return None
    closing = _QUOTES.get(text[start])
    if closing is not None:
        end = text.find(closing, start + 1, start + 2 + _MAX_VALUE)
        if end > start + 1:
            inner = text[start + 1 : end].strip()
            if _is_password(inner, strong=connected, quoted=True):
                return start, end + 1
            return None
        # No closing quote: the quote is part of the value.
    word = _WORD.match(text, start)  # always matches
    end = word.end() if word else start
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    value = text[start:end]
    if not connected and not _looks_secret(value, minimum=5, capitals=False):
        return None  # "mot de passe iCloud", "mot de passe oublié": a name, not a value
    if not _is_password(value, strong=sign or _strong_word(match), quoted=False):
        return None
    return start, end


def _strong_word(match: re.Match[str]) -> bool:
    """Whether the connector announces a value ("c'est", "ce sera"), unlike "est" or "is"."""
    word = match.group("word")
    return word is not None and word.lower().replace(" ", "").replace("’", "'") in {
        "c'est",
        "cest",
        "cesera",
    }


def _is_password(value: str, *, strong: bool, quoted: bool) -> bool:
    if not value or value.startswith("["):
        return False
    if not any(c.isalnum() for c in value):
        return False  # "***", "?", "…"
    folded = _fold(value)
    if quoted:
        if all(word in _COMMON for word in folded.split()):
            return False
        return strong or _looks_secret(value, minimum=4) or " " not in value
    if folded in _COMMON or set(folded) <= {"x", "*"}:
        return False
    if "@" in value and not strong:
        return False  # an e-mail address, given with the password on the next words
    return strong or _looks_secret(value, minimum=4)


def _looks_secret(value: str, *, minimum: int, capitals: bool = True) -> bool:
    """Digits, symbols or a capital inside the word: what people are told to put in one."""
    if len(value) < minimum or _DATE_OR_TIME.fullmatch(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    inner_capital = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return has_digit or has_symbol or (capitals and inner_capital)


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip("'’-")
