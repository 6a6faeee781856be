"""French normalisation: turn a customer's message into the tokens the matcher compares.

Customers write with typos, without accents, in SMS style, with anglicisms and pasted
error texts. Normalising both the catalogue's phrasings and the messages the same way
lets a plain fuzzy comparison find the problem: case and accents are folded, elisions
split, abbreviations and synonyms mapped to one form (mdp, password, mot de passe ->
motdepasse; mail, e-mail, courriel -> mail), repeated letters squeezed, emojis dropped,
and URLs, e-mail addresses and licence keys masked. The number of days of the
"adresse supprimée" error is kept as an entity.

Whatever a message holds, normalising it costs time and memory in proportion to a
bounded part of it: the first `MAX_TEXT_CHARS` characters are read (a longer message is
a paste; the agent still sees all of it), every pattern runs in linear time, at most
`MAX_CORRECTIONS` distinct unknown words of a message are offered to typo correction,
and only words of at most `MAX_CACHED_WORD` characters are cached.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Final

import numpy as np
from rapidfuzz import fuzz, process

URL_MASK: Final = "urlx"
EMAIL_MASK: Final = "emailx"
KEY_MASK: Final = "licencex"

# Every pattern below runs in linear time on any text: a match may only start where its
# run of characters starts (the look-behinds), and runs that cannot give back characters
# are possessive, so a long word without a match is scanned once, not once per position.
_EMAIL_RE: Final = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+", re.UNICODE)
_URL_RE: Final = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|(?<![\w.-])[\w-]++(?:\.[\w-]++)*\.(?:com|fr|net|org|be|ca|ch|io|eu)\b(?:/\S*)?"
)
# What any URL above has, found fast (it starts with a character to look for): without
# it, the URL scan is skipped.
_DOMAIN_END_RE: Final = re.compile(r"\.(?:com|fr|net|org|be|ca|ch|io|eu)\b")
# Parallels licence keys: groups of letters and digits joined by dashes.
_KEY_RE: Final = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z0-9]{4,8}(?:-[A-Za-z0-9]{4,8}){3,}\b")
_APOSTROPHE_MAP: Final = {"’": "'", "‘": "'", "´": "'", "`": "'", "ʼ": "'", "′": "'"}
_REPEAT_RE: Final = re.compile(r"([a-z])\1{2,}")
NON_WORD_RE: Final = re.compile(r"[^a-z0-9]+")
# The same for ASCII text, as a byte table: every byte but a-z and 0-9 becomes a space.
_ASCII_WORDS: Final = bytes(
    c if chr(c).isascii() and (chr(c).islower() or chr(c).isdigit()) else 32 for c in range(256)
)
# Searched in the words joined after a leading space: every word starts after a space,
# and the engine jumps from one to the next instead of trying every position.
_DAYS_RE: Final = re.compile(
    r" (\d{1,4}|sept|dix|quatorze|quinze|vingt|trente|quarante|cinquante|soixante|septante"
    r"|quatre vingt dix|quatre vingts?|huitante|octante|nonante|cent)\s*"
    r"(?:jours?|jrs?|j|days?|giorni|tage|tagen|dias|dagen)\b"
)
_DAY_WORDS: Final = {
    "sept": 7, "dix": 10, "quatorze": 14, "quinze": 15, "vingt": 20, "trente": 30,
    "quarante": 40, "cinquante": 50, "soixante": 60, "septante": 70, "quatre vingt": 80,
    "quatre vingts": 80, "huitante": 80, "octante": 80, "quatre vingt dix": 90, "nonante": 90,
    "cent": 100,
}  # fmt: skip
_MIN_FUZZY_LEN: Final = 4
# How far under the typo cutoff a word's letters may reach and the word still be compared.
_TYPO_MARGIN: Final = 0.01
MAX_TEXT_CHARS: Final = 20_000
MAX_CORRECTIONS: Final = 48
# No catalogue word is this long: a longer word is neither corrected nor cached.
MAX_CACHED_WORD: Final = 32
# A first word's phrases: by second word, (words, replacement) longest first; and the word's
# own replacement, if any.
_Phrases = tuple[dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]], tuple[str, ...] | None]
# Where a long message turns to another clause: the end of a sentence, a semicolon, dots,
# or a word that turns the story ("mais", "sauf que", "par contre", "et puis", "depuis").
# Full stops inside a word (my.parallels.com, 2.5) are not ends; URLs are masked already.
# Each branch starts after one space or punctuation mark, so that the scan skips letters
# fast: a run of marks from its first one, followed by a space or the end; a run of two
# dots or more; a space before a turning word.
_CLAUSE_RE: Final = re.compile(
    r"[\s.!?;:](?:"
    r"(?<=[.!?;:])(?<![.!?;:]{2})[.!?;:]*+(?=\s|$)"
    r"|(?<=\.)(?<!\.\.)\.++"
    r"|(?<=\s)(?=(?:mais|sauf que?|par contre|et puis|depuis|du coup|pourtant|cependant"
    r"|alors que|bref|but|aber|pero)\b))"
)
# Clauses are looked for only in messages this long (characters); shorter ones are one.
_CLAUSE_FROM_CHARS: Final = 60


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {ord(k): v for k, v in _APOSTROPHE_MAP.items()}
    table |= {ord("œ"): "oe", ord("Œ"): "oe", ord("æ"): "ae", ord("Æ"): "ae", ord("ß"): "ss"}
    for code in range(0xC0, 0x250):
        base = "".join(
            c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c)
        )
        if base != chr(code) and base.isascii():
            table.setdefault(code, base)
    return table


_FOLD: Final = _fold_table()
# The same, by character.
_FOLD_CHARS: Final = {chr(code): base for code, base in _FOLD.items()}
_FOLDED: Final = frozenset(_FOLD_CHARS)


@lru_cache(maxsize=16)
def fold(text: str) -> str:
    """Lower-case, strip accents and unify apostrophes; keeps every other character. Kept
    for the last few texts: the signals' words and the matcher's tokens fold one message."""
    # Each character the table maps is replaced throughout, one distinct character at a
    # time (a message has few: é, è, à, ’): translating the text looks every letter up in
    # the table. What replaces them is ASCII, which the table never maps again.
    if not text.isascii() or "`" in text:
        for char in _FOLDED & set(text):
            text = text.replace(char, _FOLD_CHARS[char])
    folded = text.casefold()
    if folded.isascii():
        return folded
    # Emojis, quotes and rare letters beyond Latin Extended: decompose them the slow way,
    # run by run (NFKD leaves ASCII as it is, so the rest of the text need not be scanned).
    return _NON_ASCII_RE.sub(_decompose, folded)


_NON_ASCII_RE: Final = re.compile(r"[^\x00-\x7f]+")


def _decompose(match: re.Match[str]) -> str:
    run = match.group(0)
    return _decompose_short(run) if len(run) <= MAX_CACHED_WORD else _decompose_run(run)


def _decompose_run(run: str) -> str:
    decomposed = unicodedata.normalize("NFKD", run)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_decompose_short: Final = lru_cache(maxsize=4096)(_decompose_run)


def stem(token: str) -> str:
    """A light French suffix stripper: oublie, oubliée, oublier -> oubli."""
    if len(token) <= 4 or not token.endswith(_SUFFIXES) or token.isdigit():
        return token
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    return token


_SUFFIXES: Final = (
    "issements", "issement", "ements", "ement", "ations", "ation", "euses", "euse",
    "ables", "able", "ees", "ee", "es", "er", "ez", "ait", "ais", "ant", "e", "s", "x",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Normalized:
    """A message ready for matching, with the facts found on the way."""

    tokens: tuple[str, ...]
    days: int | None = None
    email_domains: tuple[str, ...] = ()
    # Where each clause after the first begins, as offsets into `tokens` (a long message
    # split at its sentences and turns: "..., mais depuis hier je ne reçois pas le mail").
    clauses: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The vocabulary of intents/lexicon.toml."""

    phrases: Mapping[str, str]
    words: Mapping[str, str]
    stopwords: frozenset[str]
    mailboxes: frozenset[str] = frozenset()  # mail providers, already mapped in `words`
    # Words of other languages, mapped in `words` but never a typo's correction.
    foreign: frozenset[str] = frozenset()

    @classmethod
    def load(cls) -> Lexicon:
        data = tomllib.loads(resources.files("intents").joinpath("lexicon.toml").read_text("utf-8"))
        phrases, words = dict(data["phrases"]), dict(data["words"])
        foreign = data.get("foreign", {})
        words.update(foreign)
        for name in data["services"]["names"]:
            words.setdefault(name, data["services"]["concept"])
        mailboxes = data["mailboxes"]
        concept, names = mailboxes["concept"], mailboxes["names"]
        for name in names:
            words.setdefault(name, concept)
            # "ma boîte gmail" is a mailbox, not "ma boîte" (my company) and a mailbox;
            # "mon compte gmail" is Google's account as much as the mailbox.
            phrases.setdefault(f"boite {name}", concept)
            phrases.setdefault(f"compte {name}", f"{concept} {mailboxes['account']}")
            phrases.setdefault(f"mon compte {name}", f"{concept} {mailboxes['account']}")
        stopwords = frozenset(data["stopwords"]["words"])
        return cls(phrases, words, stopwords, frozenset(names), frozenset(foreign))


class Normalizer:
    """Normalises French text; corrects typos against a vocabulary once one is given.

    The vocabulary is the set of surface words of the catalogue: an unknown word of four
    letters or more is replaced by its closest vocabulary word when they are close enough
    (rapidfuzz ratio), so "reinitialsation" and "navigatuer" still count.
    """

    def __init__(self, lexicon: Lexicon, vocabulary: Iterable[str] = (), typo_cutoff: float = 82.0):
        self._lexicon = lexicon
        # Phrases are rewritten word by word: for each first word, its longer phrases by
        # their second word, longest first (as a regex alternation would try them), each as
        # (words, replacement words); then its own replacement if it has one. Indexing by
        # the second word spares trying the dozens of phrases of "mon" or "compte".
        self._phrases: dict[str, _Phrases] = {}
        for phrase in sorted(lexicon.phrases, key=len, reverse=True):
            words = tuple(phrase.split())
            replacement = tuple(lexicon.phrases[phrase].split())
            longer, single = self._phrases.get(words[0], ({}, None))
            if len(words) == 1:
                single = replacement
            else:
                longer.setdefault(words[1], []).append((words, replacement))
            self._phrases[words[0]] = (longer, single)
        self._vocabulary = sorted(set(vocabulary) | (set(lexicon.words) - lexicon.foreign))
        self._known = frozenset(self._vocabulary) | lexicon.stopwords | lexicon.foreign
        self._typo_cutoff = typo_cutoff
        # For each length of word that may be corrected, the vocabulary's words that can
        # reach the cutoff, in order: two words' ratio is at most the share of their
        # lengths' sum that their difference leaves (one letter more is allowed here).
        # The best of them is the best of the whole vocabulary, found among fewer.
        slack = 1 - typo_cutoff / 100
        self._near_length = {
            n: [w for w in self._vocabulary if abs(len(w) - n) <= slack * (len(w) + n) + 1]
            for n in range(_MIN_FUZZY_LEN, MAX_CACHED_WORD + 1)
        }
        # Two words' ratio is at most what the letters they have in common allow (their
        # longest common subsequence has no more of each letter than either word): for each
        # length, the count of each letter in each of those words, letter by letter, and
        # their lengths. A word's letters then rule out most of them at once, before
        # rapidfuzz compares it with the few left.
        letters = sorted({c for w in self._vocabulary for c in w})
        self._letters = {c: n for n, c in enumerate(letters)}
        self._letter_counts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n, near in self._near_length.items():
            counts = np.zeros((len(self._letters), len(near)), dtype=np.int16)
            for column, w in enumerate(near):
                for c in w:
                    counts[self._letters[c], column] += 1
            lengths = np.array([len(w) for w in near], dtype=np.int64)
            self._letter_counts[n] = (counts, lengths)
        self._canonical = lru_cache(maxsize=65536)(self._canonical_uncached)
        # The tokens of every known word (never corrected), looked up without the cache.
        self._known_tokens = {word: self._canonical_uncached(word, False) for word in self._known}
        # The same, for the known words that start no phrase and are no number: their tokens
        # whatever follows them, most of a message's words.
        self._plain_tokens = {
            word: tokens
            for word, tokens in self._known_tokens.items()
            if word not in self._phrases and not word.isdigit()
        }
        # The words that start a phrase: their phrases, and their tokens when no phrase
        # follows (when they are known words and no number).
        self._phrase_tokens = {
            word: (*found, None if word.isdigit() else self._known_tokens.get(word))
            for word, found in self._phrases.items()
        }
        self._squeezed = lru_cache(maxsize=65536)(_squeeze)
        # Known words that squeezing leaves as they are: most words, not looked up in its cache.
        self._unsqueezed = frozenset(w for w in self._known if _squeeze(w) == w)

    def surface_words(self, text: str) -> list[str]:
        """Folded words after masking and phrase rewriting, before synonyms and stemming."""
        words, _, _, starts = self._prepare(text)
        return self._rewrite_phrases(words, starts)[0]

    def normalize(self, text: str) -> Normalized:
        words, days, domains, starts = self._prepare(text)
        # Phrases rewritten and digits dropped as `_rewrite_phrases` does, each word then
        # mapped to its tokens, in one pass.
        plain, phrases = self._plain_tokens, self._phrase_tokens
        tokens: list[str] = []
        clauses: list[int] = []
        # The unknown words offered to typo correction: the message's first few distinct
        # ones, whatever was seen before, so that the result depends on the text alone.
        corrected: set[str] = set()
        bounds = iter(starts)
        bound = next(bounds, -1)
        # Whether a clause begins with the next word kept (a phrase across a clause's start
        # moves it to the phrase's end).
        begins = False
        i, n = 0, len(words)
        while i < n:
            while 0 <= bound <= i:
                begins = True
                bound = next(bounds, -1)
            word = words[i]
            i += 1
            found = plain.get(word)
            if found is None:
                entry = phrases.get(word)
                if entry is not None:
                    k, replacement = _phrase_at(words, i - 1, entry[:2])
                    if k:
                        i += k - 1
                        for each in replacement:
                            if begins:
                                begins = False
                                if tokens and (not clauses or clauses[-1] < len(tokens)):
                                    clauses.append(len(tokens))
                            tokens.extend(self._tokens(each, corrected))
                        continue
                    found = entry[2]
                if found is None:
                    if word.isdigit():
                        continue
                    found = self._tokens(word, corrected)
            # A clause begins where its first word's tokens do; empty clauses merge.
            if begins:
                begins = False
                if tokens and (not clauses or clauses[-1] < len(tokens)):
                    clauses.append(len(tokens))
            tokens.extend(found)
        if clauses and clauses[-1] == len(tokens):
            clauses.pop()
        return Normalized(tuple(tokens), days, domains, tuple(clauses))

    def _tokens(self, word: str, corrected: set[str]) -> tuple[str, ...]:
        """One word's tokens; `corrected` holds the message's words offered to correction."""
        found = self._known_tokens.get(word)
        if found is not None:
            return found
        if len(word) > MAX_CACHED_WORD:
            return self._canonical_uncached(word, False)
        if len(word) < _MIN_FUZZY_LEN:
            return self._canonical(word, False)
        if len(corrected) < MAX_CORRECTIONS:
            corrected.add(word)
        return self._canonical(word, word in corrected)

    def _prepare(self, text: str) -> tuple[list[str], int | None, tuple[str, ...], list[int]]:
        """Words, days, mail domains, and the word offsets where clauses after the first begin."""
        domains: tuple[str, ...] = ()
        text = text[:MAX_TEXT_CHARS]
        # The guards skip scans that cannot match: most messages have no "@", no three "-"
        # (a licence key's four groups) and no ".".
        if "@" in text:
            domains = tuple(m.group(0).rsplit("@", 1)[1].lower() for m in _EMAIL_RE.finditer(text))
            text = _EMAIL_RE.sub(f" {EMAIL_MASK} ", text)
        if text.count("-") >= 3:
            text = _KEY_RE.sub(f" {KEY_MASK} ", text)
        if "://" in text or "www." in text or _DOMAIN_END_RE.search(text):
            text = _URL_RE.sub(self._mask_url, text)
        # Apostrophes become spaces with every other non-word character, which splits the
        # elisions (j'ai -> j ai); repeated letters are squeezed word by word (cached).
        squeezed, unchanged = self._squeezed, self._unsqueezed
        folded = fold(text)
        pieces = _CLAUSE_RE.split(folded) if len(folded) >= _CLAUSE_FROM_CHARS else [folded]
        words: list[str] = []
        starts: list[int] = []
        for piece in pieces:
            if words:
                starts.append(len(words))
            # A word longer than any catalogue word stays as it is: it will match nothing.
            words.extend(
                w if w in unchanged or len(w) > MAX_CACHED_WORD else squeezed(w)
                for w in word_runs(piece)
            )
        return words, _days(words), domains, starts

    def _rewrite_phrases(self, words: list[str], starts: list[int]) -> tuple[list[str], list[int]]:
        """Multi-word forms to their one token (lexicon `phrases`), then digits dropped.

        `starts` are word offsets where clauses begin; returned as offsets into the result
        (a phrase across a clause's start moves it to the phrase's end).
        """
        out: list[str] = []
        out_starts: list[int] = []
        phrases = self._phrases
        bounds = iter(starts)
        bound = next(bounds, -1)
        i, n = 0, len(words)
        while i < n:
            while 0 <= bound <= i:
                out_starts.append(len(out))
                bound = next(bounds, -1)
            word = words[i]
            found = phrases.get(word)
            if found is not None:
                k, replacement = _phrase_at(words, i, found)
                if k:
                    out.extend(replacement)
                    i += k
                    continue
            if not word.isdigit():
                out.append(word)
            i += 1
        return out, out_starts

    def _mask_url(self, match: re.Match[str]) -> str:
        # A bare mail domain (hotmail.fr, laposte.net) names the customer's mailbox.
        head = match.group(0).split(".", 1)[0].lower()
        return f" {head} " if head in self._lexicon.mailboxes else f" {URL_MASK} "

    def _reachable(self, word: str, near: list[str]) -> list[str]:
        """The words of `near` (the vocabulary's words of lengths near `word`'s) whose
        letters in common with `word` could give a ratio up to the typo cutoff, in order:
        rapidfuzz finds the same best word among them (the ratio is twice the longest
        common subsequence over both lengths, in percent; the margin covers its rounding)."""
        counts, lengths = self._letter_counts[len(word)]
        own: dict[int, int] = {}
        for c in word:
            row = self._letters.get(c)
            if row is not None:
                own[row] = own.get(row, 0) + 1
        wanted = np.array(list(own.values()), dtype=np.int16)[:, None]
        bound = 200 * np.minimum(counts[list(own)], wanted).sum(axis=0)
        reach = np.flatnonzero(bound >= (self._typo_cutoff - _TYPO_MARGIN) * (lengths + len(word)))
        return [near[i] for i in reach.tolist()]

    def _canonical_uncached(self, word: str, correct: bool) -> tuple[str, ...]:
        """The word's tokens: synonyms mapped, stop words dropped, stemmed; typos corrected
        against the vocabulary when `correct` is set."""
        # SMS glues "je" to its verb: jrecois, jpeux, jarrive -> recois, peux, arrive.
        if len(word) > 4 and word[0] == "j" and word[1:] in self._lexicon.words:
            word = word[1:]
        if correct and word not in self._known and len(word) >= _MIN_FUZZY_LEN and self._vocabulary:
            near = self._near_length.get(len(word), self._vocabulary)
            if len(word) in self._letter_counts:
                near = self._reachable(word, near)
            best = process.extractOne(word, near, scorer=fuzz.ratio, score_cutoff=self._typo_cutoff)
            if best is not None:
                word = best[0]
        mapped = self._lexicon.words.get(word, word).split()
        return tuple(stem(w) for w in mapped if w not in self._lexicon.stopwords)


def _phrase_at(words: list[str], i: int, found: _Phrases) -> tuple[int, tuple[str, ...]]:
    """How many words from `i` one of `found`'s phrases covers, and its replacement."""
    longer, single = found
    if i + 1 < len(words):
        for key, replacement in longer.get(words[i + 1], ()):
            k = len(key)
            if k == 2 or tuple(words[i : i + k]) == key:
                return k, replacement
    return (1, single) if single is not None else (0, ())


@lru_cache(maxsize=16)
def folded_words(text: str) -> tuple[str, ...]:
    """The words of a customer's text (its first MAX_TEXT_CHARS), folded: what the signals
    and the learned readings read. Kept for the last few texts, so that the readings of
    one message fold it once."""
    return tuple(word_runs(fold(text[:MAX_TEXT_CHARS])))


def word_runs(folded: str) -> list[str]:
    """The runs of a-z and 0-9 of a folded text."""
    # Every other character is a space: any beyond ASCII is first a "?".
    return folded.encode("ascii", "replace").translate(_ASCII_WORDS).decode("ascii").split()


def _squeeze(word: str) -> str:
    """oubliéééé -> oublie: a letter written three times or more counts once."""
    return _REPEAT_RE.sub(r"\1", word)


def _days(words: list[str]) -> int | None:
    """The number of days the "adresse supprimée" error gives, if the message has one."""
    match = _DAYS_RE.search(" " + " ".join(words))
    if match is None:
        return None
    value = match.group(1)
    return int(value) if value.isdigit() else _DAY_WORDS[value]
