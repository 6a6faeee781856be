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

import operator
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal

from intents.normalize import MAX_TEXT_CHARS, folded_words

SafetyReason = Literal["hacked", "phishing", "payment", "legal", "distress"]
FeedbackSignal = Literal["yes", "no", "wait"]

#: Escalation reasons of the safety signals, in the order they are checked.
SAFETY: Final[tuple[SafetyReason, ...]] = ("hacked", "phishing", "payment", "legal", "distress")
#: Steps of the article a customer can say they already did.
STEPS: Final = (
    "spam",
    "contacts",
    "reset_link",
    "reset_email",
    "other_device",
    "waited",
    "complex_password",
    "searched_noreply",
    "new_account",
    "business_licence",
)
#: What another engineer's masking leaves in place of a pasted password or card number.
SECRET_MARKERS: Final = ("[mot de passe masqué]", "[carte masquée]")
_SECRET_RE: Final = re.compile("|".join(re.escape(m) for m in SECRET_MARKERS), re.IGNORECASE)
# A yes that says what it settled: "oui pour le mot de passe c'est réglé".
_SETTLED_RE: Final = re.compile(
    r"^(oui|ouais|ok|yes|super|parfait|merci)\b.*\b(c est regle|c est bon|c bon|ca marche|ca a"
    r" marche|ca fonctionne|ca a fonctionne|resolu|regle|c est ok)\b"
)
# Found where the answer said to look.
_FOUND_RE: Final = re.compile(
    r"\b(etait|etais|etaient|est) (bien |juste |effectivement )?(dedans|dans les|ds les|parmi)\b"
)
# A step of the answer not yet taken: "je l'ai pas ajouté", "pas encore regardé".
_NOT_YET_RE: Final = re.compile(
    r"\b(pas|pas encore|jamais) (encore )?(ajoute|rajoute|regarde|verifie|essaye|mis|checke"
    r"|fouille|cherche|clique|teste)\b"
)
# The article's sender named "no-reply": an address, not the English "no".
_NO_REPLY_ADDRESS_RE: Final = re.compile(
    r"\bno reply(?= parallels| ajoute| en contact| dans| aux| a mes| added| in my| est| is)"
)
# A step taken, said alone: "c'est fait", "déjà fait", "j'ai essayé".
_DID_IT_RE: Final = re.compile(
    r"^(c est |c |j ai |jai |g |deja |bon |ben |oui |ok )*(fait|essaye|teste|clique)"
    r"( (ca|le lien|deja|tout))?$"
)
_NOTHING_RE: Final = re.compile(r"\b(pas|rien|aucun|aucune|jamais|nada|que dalle)\b")
# Found, said alone before a "mais": "trouvée, merci ! mais le mot de passe …".
_FOUND_IT_RE: Final = re.compile(r"(c est bon )?(je l ai |je l |l ai |j ai )?(re)?trouvee?s?$")
# Words that open a reply without saying how it went: "ok", "bon", "ah".
_ACK_LEAD_RE: Final = re.compile(
    r"^((ok|okay|oui|ouais|bon|ben|bah|ah|alors|d accord|dac|euh|merci|super|top)( |$))*"
)
# "Ok pour le mot de passe. Mais …": one thing settled, before another.
_SETTLED_FOR_RE: Final = re.compile(
    r"^(ok|oui|c est bon|c bon|c est regle|regle|ca marche|ca a marche) pour "
    r"(le |la |les |l |mon |ma )?\w+"
)
# A choice named by its rank is a message of this many words at most, or a first sentence
# of this many.
ORDINAL_WORDS: Final = 8
ORDINAL_ALONE: Final = 4
# The rank said first, before a comma: "le 4e, il y a marqué 21 jours".
_RANK_END_RE: Final = re.compile(r"[.!?;,\n]+")
# "Mais" and its kin, after what the customer says of the answer.
_BUT_SPLIT_RE: Final = re.compile(r" (mais|par contre|sauf que|en revanche) ")
# A story that ends well, said last: "… et là miracle il est arrivé !", "… je l'ai enlevé
# et c'est arrivé 👍". Also what the policy reads as a yes no learned reading overrules.
_AT_LAST: Final = r"(la |enfin |finalement |miracle |du coup )"
ENDS_WELL_RE: Final = re.compile(
    rf"\b(et {_AT_LAST}*|{_AT_LAST}+)"
    r"(il est|le mail est|il a|c est|c) (enfin |bien )?(arrive|arrivee|venu|passe)( merci)?$"
)
# A new matter announced as such, after what the customer says of the answer.
_OTHER_THING_RE: Final = re.compile(
    r" (autre chose|autre question|une autre question|petite question|au fait|sinon"
    r"|par ailleurs|d ailleurs|question differente|j ai une autre|(ah )?et aussi"
    # "… et je fais comment si le mail n'arrive pas ?": a question of its own.
    r"|et (je fais|on fait|je dois faire) comment|et comment (je fais|on fait|faire)"
    # "oui merci, et pour le mail qui arrive pas pour autoriser mon pc ?".
    r"|et pour (le|la|l|les|mon|ma|mes|celui|celle|un|une)"
    # Someone else's problem: "merci ça marche. mon pote lui il arrive pas à se connecter".
    r"|(et |par contre |mais )?(mon|ma|notre) (pote|copain|copine|femme|mari|collegue|fille|fils"
    r"|frere|soeur|pere|mere|associe|associee|epouse|conjoint|conjointe|ami|amie|voisin|voisine"
    r"|secretaire|patron|patronne) (lui |elle )?(il |elle )?(a|n a|arrive|n arrive|ne|non plus"
    r"|essaie|veut|voudrait|recoit|doit|peut|a oublie)\b)"
)
# Replies that only acknowledge: neither yes nor no, the customer goes to try.
_ACKNOWLEDGEMENTS: Final = frozenset(
    {"ok", "okay", "oki", "ok ok", "d accord", "dac", "ah ok", "ah d accord", "ok d accord",
     "entendu", "bien recu", "ca marche je regarde", "compris", "ok compris", "je vois"}
)  # fmt: skip
# Thanks, which close a conversation said alone, and are politeness said with more.
_THANKS_RE: Final = re.compile(
    r"\b(merci|mrc|mci|thx|thanks|thank you)( (beaucoup|bien|encore|d avance|bcp))?\b"
)
_THUMBS_UP: Final = ("👍", "👌", "🙏", "🆗", "✅")
_THUMBS_DOWN: Final = ("👎", "❌")
_MARKS_RE: Final = re.compile(r"!{2,}|[!?]{3,}|\?!|!\?")
# One word shouted for emphasis ("le mail n'arrive JAMAIS", "je ne reçois PAS le mail",
# "Et NON ça marche pas"); not one of an error message pasted in capitals ("ADRESSE MAIL
# OU MOT DE PASSE NON VALIDE"), whose neighbours are capitals too.
_EMPHASIS_RE: Final = re.compile(
    r"(?<![A-ZÀ-Ý] )(?<![A-ZÀ-Ý]')\b(JAMAIS|TOUJOURS|ÉVIDEMMENT|EVIDEMMENT|RIEN|AUCUN|AUCUNE"
    r"|PAS|PLUS|NON|VRAIMENT|ENCORE|NULLE PART)\b(?! [A-ZÀ-Ý]{2,})"
)
# Thanks in advance or for the help, or a laugh: what makes marks and capitals warm. A bare
# "merci" may be sarcasm ("Merci pour rien !!!"), a "SVP !!!" impatience.
_WARM_RE: Final = re.compile(
    r"\b(merci (d avance|par avance|beaucoup|infiniment|pour (votre|ton|l) aide|de (votre|ton)"
    r" aide)|thanks in advance|thanks a lot|lol|mdr|haha\w*|hihi)\b"
)
_WARM_EMOJI: Final = ("😂", "😅", "🙏", "😊", "🙂", "😀", "😄", "😁", "🤣", "😉")
# Anger in capitals: this many letters at least, this share of them upper case.
_CAPS_LETTERS: Final = 12
_CAPS_SHARE: Final = 0.7


def flat(text: str) -> str:
    """The text as the signals read it: folded, its words separated by one space."""
    return " ".join(folded_words(text))


def any_word(*alternatives: str) -> re.Pattern[str]:
    """A pattern for any of `alternatives` (regular-expression alternations over flat
    words, "merci|thanks") said as whole words."""
    return re.compile(rf"\b({'|'.join(alternatives)})\b")


def without_secrets(text: str) -> str:
    """The text without the masking markers, which are not the customer's words."""
    return _SECRET_RE.sub(" ", text) if "[" in text else text


class Signals:
    """What one message says, besides which problem it names.

    Safety and a request for a person are read at once; the rest (another topic, another
    company's password, feedback, steps taken, anger, a rank) the first time it is asked
    for, so that classifying a message reads only what can change its intent.
    """

    __slots__ = ("_cache", "_heads", "_reader", "_text", "_words", "human", "safety", "secret")

    def __init__(
        self,
        reader: SignalReader | None = None,
        text: str = "",
        words: str = "",
        heads: Words | None = None,
        *,
        safety: SafetyReason | None = None,
        human: bool = False,
        secret: bool = False,
    ) -> None:
        self._reader, self._text, self._words, self._heads = reader, text, words, heads
        self._cache: dict[str, object] = {}
        self.safety = safety
        self.human = human
        self.secret = secret

    def without_topic(self) -> Signals:
        """The same signals, another topic not counted."""
        return self._but(self.safety, topic=False)

    def with_safety(self, reason: SafetyReason) -> Signals:
        """The same signals, a safety matter for `reason`."""
        return self._but(reason)

    def _but(self, safety: SafetyReason | None, **cached: object) -> Signals:
        other = Signals(
            self._reader, self._text, self._words, self._heads,
            safety=safety, human=self.human, secret=self.secret,
        )  # fmt: skip
        other._cache = {**self._cache, **cached}
        return other

    @property
    def topic(self) -> bool:
        """Another Parallels topic (Desktop, licences, billing, installation)."""
        return self._lazy("topic")  # type: ignore[return-value]

    @property
    def bot_question(self) -> bool:
        """Whether a person or a program answers, asked ("c'est un robot ?")."""
        return self._lazy("bot_question")  # type: ignore[return-value]

    @property
    def elsewhere(self) -> bool:
        """The password, e-mail or error is another company's, a session's or a file's."""
        return self._lazy("elsewhere")  # type: ignore[return-value]

    @property
    def feedback(self) -> FeedbackSignal | None:
        """What the message says of an answer: no, wait, yes, or nothing of the kind."""
        if "feedback" not in self._cache:
            if self._reader is None:
                self._cache["feedback"] = SignalReader.emoji_feedback(self._text)
            else:
                self._cache["feedback"] = self._reader.feedback(
                    self._text, self._words, self._heads
                )
        return self._cache["feedback"]  # type: ignore[return-value]

    @property
    def thanks_only(self) -> bool:
        """The message's yes is only its thanks ("déjà vérifié les spams, merci"): no
        verdict on the answer by itself."""
        return self.feedback == "yes" and self._lazy("thanks_only")  # type: ignore[return-value]

    @property
    def new_question(self) -> bool:
        """The message turns to something new ("…, et pour … ?", "mais maintenant …")."""
        return self._lazy("new_question")  # type: ignore[return-value]

    def took(self, step: str) -> bool:
        """Whether the customer says they took this one step (cheaper than `done`)."""
        if "done" in self._cache:
            return step in self.done
        return self._lazy(f"took:{step}")  # type: ignore[return-value]

    @property
    def done(self) -> frozenset[str]:
        """The steps of the article the customer says they took (STEPS)."""
        return self._lazy("done")  # type: ignore[return-value]

    @property
    def angry(self) -> bool:
        return self._lazy("angry")  # type: ignore[return-value]

    @property
    def ordinal(self) -> int | None:
        """A choice named by its rank: 1, 2, … or -1 for the last."""
        return self._lazy("ordinal")  # type: ignore[return-value]

    def _lazy(self, name: str) -> object:
        if name not in self._cache:
            if self._reader is None or self._heads is None:
                empty: dict[str, object] = {"done": frozenset(), "ordinal": None}
                self._cache[name] = empty.get(name, False)
            else:
                self._cache[name] = self._reader.conversation(
                    name, self._text, self._words, self._heads
                )
        return self._cache[name]


class _Signal:
    """One signal: any of its patterns (a list pattern needs all of its parts), unless one
    of its `unless` patterns matches.

    A pattern is tried only when the message has one of the words some required part of it
    needs (see `gate`): most messages have none of them, and a lookup in a set costs
    far less than a scan of the text. With a reader's `Gates`, only when it has one of the
    words of every such part (see `gates`): a long message has the words of many gates, but
    seldom all those of one pattern.
    """

    def __init__(self, patterns: Sequence[str | Sequence[str]], unless: Sequence[str] = ()):
        #: Each pattern's word gate and its compiled parts.
        self.patterns: list[tuple[Gate | None, tuple[re.Pattern[str], ...]]] = []
        # The same, as searched (see `_scan`): each part with whether it reads the text
        # after a leading space.
        self._scans: list[tuple[Gate | None, tuple[tuple[re.Pattern[str], bool], ...]]] = []
        #: Each pattern's gates: every one of them is needed for the pattern to match.
        self.required: list[tuple[Gate, ...]] = []
        for pattern in patterns:
            parts = (pattern,) if isinstance(pattern, str) else tuple(pattern)
            gates = [g for g in (gate(part) for part in parts) if g is not None]
            best = max(gates, key=_selectivity) if gates else None
            self.patterns.append((best, tuple(re.compile(p) for p in parts)))
            self._scans.append((best, tuple(_scan(p) for p in parts)))
            required = (g for part in parts for g in every_gate(part))
            self.required.append(tuple(dict.fromkeys(required)))
        self._unless = re.compile("|".join(f"(?:{p})" for p in unless)) if unless else None
        # Every gate's words together: a text with none of them (and the signal has no
        # pattern without a gate) is answered with one check instead of one per pattern.
        gated = [g for g, _ in self.patterns if g is not None]
        self._open = len(gated) < len(self.patterns)
        self._any = Gate(
            frozenset().union(*(g.whole for g in gated)),
            frozenset().union(*(g.heads for g in gated)),
        )
        # Numbered by a reader's `Gates`: the patterns without a gate; the gated patterns
        # by their gate's bit, each with the bits of all its gates; and all those first bits.
        self._ungated = [parts for g, parts in self._scans if g is None]
        self._by_bit: dict[int, list[tuple[int, tuple[tuple[re.Pattern[str], bool], ...]]]] = {}
        self._bits = 0

    def number(self, gates: Gates) -> None:
        """Give each gated pattern its gates' bits in `gates`, which `Words` made with them
        show."""
        for (g, parts), required in zip(self._scans, self.required, strict=True):
            if g is not None:
                bit = gates.add(g)
                mask = bit
                for each in required:
                    mask |= gates.add(each)
                self._by_bit.setdefault(bit, []).append((mask, parts))
                self._bits |= bit

    def __call__(self, text: str, words: Words | None = None) -> bool:
        """Whether `text` (flat) has the signal; `words` are its words (`Words(text)`)."""
        words = Words(text) if words is None else words
        spaced = words.spaced
        if words.passed is not None and self._bits:
            # The gates the text passes, read once for every signal: only the patterns whose
            # gates it all passes are tried, besides those without a gate.
            passed = words.passed
            bits = passed & self._bits
            found = bool(self._ungated) and any(
                all(part.search(spaced if space else text) for part, space in parts)
                for parts in self._ungated
            )
            while bits and not found:
                bit = bits & -bits
                bits ^= bit
                for mask, parts in self._by_bit[bit]:
                    if passed & mask == mask:
                        for part, space in parts:
                            if part.search(spaced if space else text) is None:
                                break
                        else:
                            found = True
                            break
        else:
            if not self._open and not words.has(self._any):
                return False
            found = any(
                (g is None or words.has(g))
                and all(part.search(spaced if space else text) for part, space in parts)
                for g, parts in self._scans
            )
        return found and not (self._unless is not None and self._unless.search(text))


# Word beginnings are compared on this many letters.
_HEAD: Final = 4
_head: Final = operator.itemgetter(slice(_HEAD))


@dataclass(frozen=True, slots=True)
class Gate:
    """Words one of which a text must have for a pattern to match: whole words, or word
    beginnings of `_HEAD` letters."""

    whole: frozenset[str]
    heads: frozenset[str]


class Gates:
    """Gates numbered as the bits of an integer, with the gates each word opens: which of
    them a text passes is read in one pass over its words."""

    def __init__(self) -> None:
        self._whole: dict[str, int] = {}
        self._heads: dict[str, int] = {}
        self._whole_words: frozenset[str] = frozenset()
        self._head_words: frozenset[str] = frozenset()
        self._bits: dict[Gate, int] = {}
        self._next = 1

    def add(self, gate: Gate) -> int:
        """The gate's bit, set for every text that has one of its words (new, unless the
        same gate has one already)."""
        if gate in self._bits:
            return self._bits[gate]
        bit, self._next = self._next, self._next << 1
        self._bits[gate] = bit
        for word in gate.whole:
            self._whole[word] = self._whole.get(word, 0) | bit
        for head in gate.heads:
            self._heads[head] = self._heads.get(head, 0) | bit
        self._whole_words, self._head_words = frozenset(self._whole), frozenset(self._heads)
        return bit

    def passed(self, whole: frozenset[str], heads: frozenset[str]) -> int:
        """The bits of the gates that a text with these words and word beginnings passes."""
        bits = 0
        for word in whole & self._whole_words:
            bits |= self._whole[word]
        for head in heads & self._head_words:
            bits |= self._heads[head]
        return bits


class Words:
    """A flat text's words, and their beginnings, to check gates against; and the text
    after a space, for the patterns searched from a word's start (see `_scan`). With a
    reader's `gates`, also the bits of those it passes (`passed`)."""

    __slots__ = ("heads", "passed", "spaced", "whole")

    def __init__(self, text: str, gates: Gates | None = None) -> None:
        self.spaced = " " + text
        self.whole = frozenset(text.split())
        self.heads = frozenset(map(_head, self.whole))
        self.passed = gates.passed(self.whole, self.heads) if gates is not None else None

    def has(self, gate: Gate) -> bool:
        return not (self.whole.isdisjoint(gate.whole) and self.heads.isdisjoint(gate.heads))


# Words most messages to an account-support bot have: a gate of them would let every
# message through.
_COMMON: Final = frozenset(
    {"mot", "mots", "passe", "mdp", "password", "mail", "mails", "e", "email", "compte", "compt",
     "adresse", "adre", "pas", "je", "j", "me", "le", "la", "de", "mon", "ma", "plus", "un",
     "une", "a", "ai", "message", "lien", "code", "site", "parallels", "para", "reco", "recu",
     "reçu", "arrive", "arri", "oubl", "oublie"}
)  # fmt: skip


def _selectivity(g: Gate) -> tuple[int, int, int]:
    """A gate without the commonest words first; then longer words (rarer); then fewer."""
    words = (*g.whole, *g.heads)
    common = sum(w in _COMMON for w in words)
    return -common, min(len(w) for w in words), -len(words)


def gate(pattern: str) -> Gate | None:
    """The rarest set of words one of which any text the pattern matches has: a required
    word of the pattern, or a word each of a required group's alternatives needs. None when
    no such set can be told (the pattern is then always tried)."""
    top = _alternatives(pattern)
    if len(top) > 1:
        each = [gate(alternative) for alternative in top]
        if any(g is None for g in each):
            return None
        return Gate(
            frozenset().union(*(g.whole for g in each if g is not None)),
            frozenset().union(*(g.heads for g in each if g is not None)),
        )
    candidates = [g for g in (_element_gate(*e) for e in _elements(pattern)) if g is not None]
    return max(candidates, key=_selectivity) if candidates else None


def every_gate(pattern: str) -> list[Gate]:
    """Every set of words one of which any text the pattern matches has (see `gate`): one
    per required piece that has one, or the one of all its alternatives."""
    if len(_alternatives(pattern)) > 1:
        found = gate(pattern)
        return [] if found is None else [found]
    return [g for g in (_element_gate(*e) for e in _elements(pattern)) if g is not None]


def _scan(pattern: str) -> tuple[re.Pattern[str], bool]:
    """`pattern` compiled as it is searched, and whether it reads the flat text after a
    leading space.

    A pattern that starts with `\\b` gives the regular expression engine no first
    character to look for: it is tried at every position of the text. In a flat text, a
    boundary before a letter or a digit is the text's start or a space; so a pattern whose
    every alternative is `\\b` and then surely a letter or a digit is searched as a space
    and that alternative, in the text after a space, and the engine jumps from space to
    space. Not a pattern that looks at the text's start, or behind (but for words not there,
    before an alternative: see `_behind`): it would see the space.
    """
    alternatives = [_behind(a) for a in _alternatives(pattern)]
    if (
        "^" in pattern
        or any("(?<" in rest for _, rest in alternatives)
        or not all(rest.startswith("\\b") and _starts_word(rest[2:]) for _, rest in alternatives)
    ):
        return re.compile(_as_tries(pattern)), False
    spaced = "|".join(f" {behind}{rest[2:]}" for behind, rest in alternatives)
    return re.compile(_as_tries(spaced)), True


_WORDS_BEHIND_RE: Final = re.compile(r"(?:\(\?<![a-z0-9][a-z0-9 ]*\))*")


def _behind(alternative: str) -> tuple[str, str]:
    """An alternative's leading look-behinds for words not there ("(?<!compte )"), and the
    rest. After the space the alternative is searched from, they see what they saw before
    the word: each starts with a letter or a digit, so the text's added space is none of them.
    """
    found = _WORDS_BEHIND_RE.match(alternative)
    end = found.end() if found is not None else 0
    return alternative[:end], alternative[end:]


# Alternatives from which a group is searched as a tree of their first letters.
_TRIE_FROM: Final = 4
_PLAIN_RE: Final = re.compile(r"[a-z0-9 ]*")
_REPEATS: Final = ("?", "*", "+", "{")


def _as_tries(pattern: str) -> str:
    """`pattern`, its groups of alternatives that start with plain words ("(bnp|bnp
    paribas|boursorama|suicid\\w*|…)") written as trees of those words' letters
    ("(b(?:np(?:| paribas)|oursorama)|suicid\\w*|…)"): at each place of the text, the
    engine tries the letters an alternative can start with, not every alternative.

    The alternatives are tried in the same order as written (see `_trie`), so every search
    finds what it found before, the same way. Not inside a look-behind, nor with flags.
    """
    if "(?" in pattern.replace("(?:", "").replace("(?=", "").replace("(?!", "").replace(
        "(?<", ""
    ).replace("(?P<", ""):
        return pattern
    pieces, done, n, in_class = [], 0, 0, False
    while n < len(pattern):
        char = pattern[n]
        if char == "\\":
            n += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(" and pattern.startswith(("(?<=", "(?<!"), n):
            n += _closing(pattern[n:])
        elif char == "(" and (pattern[n + 1] != "?" or pattern.startswith("(?:", n)):
            end = n + _closing(pattern[n:])
            start = n + 3 if pattern.startswith("(?:", n) else n + 1
            body = pattern[start:end]
            tree = None if "[" in body else _trie([_plain_start(a) for a in _alternatives(body)])
            if tree is not None:
                pieces.append(f"{pattern[done:start]}{tree})")
                done = n = end + 1
                continue
        n += 1
    return "".join(pieces) + pattern[done:]


def _plain_start(alternative: str) -> tuple[str, str]:
    """An alternative's plain words (none repeated), and the rest, its groups as trees."""
    end = _PLAIN_RE.match(alternative).end()  # type: ignore[union-attr]
    if end and alternative.startswith(_REPEATS, end):
        end -= 1
    return alternative[:end], _as_tries(alternative[end:])


def _trie(alternatives: list[tuple[str, str]]) -> str | None:
    """A pattern for any of `alternatives` (plain words and the rest of each) as a tree of
    the words' letters, that tries them in their order; None when it cannot, or when there
    are too few to gain by it.

    Alternatives whose words start with different letters never both fit at one place:
    only the order of those that share a letter counts, and it is kept. One whose words end
    where others go on may fit wherever they do: none may come between two of them. The
    groups of the rests keep their numbers: the rests that have some keep their order.
    """
    if sum(1 for words, _ in alternatives if words) < _TRIE_FROM:
        return None
    tree = _branches(list(enumerate(alternatives)))
    if tree is None:
        return None
    pattern, order = tree
    numbered = [n for n in order if _groups(alternatives[n][1])]
    return pattern if numbered == sorted(numbered) else None


def _groups(pattern: str) -> int:
    """How many groups `pattern` numbers (many, when it is no pattern alone)."""
    try:
        return re.compile(pattern).groups
    except re.error:
        return 1 << 16


def _branches(alternatives: list[tuple[int, tuple[str, str]]]) -> tuple[str, list[int]] | None:
    """`_trie`'s tree of numbered alternatives, and the order it writes them in."""
    branches: dict[str | int, list[tuple[int, tuple[str, str]]]] = {}
    for n, (words, rest) in alternatives:
        branches.setdefault(words[:1] or -1 - n, []).append((n, (words[1:], rest)))
    ends = [n for n, (words, _) in alternatives if not words]
    for key in branches:
        if isinstance(key, str) and ends:
            places = [n for n, (words, _) in alternatives if words[:1] == key]
            if any(places[0] < end < places[-1] for end in ends):
                return None
    patterns, order = [], []
    for key, following in branches.items():
        if isinstance(key, int) or len(following) == 1:
            n, (words, rest) = following[0]
            patterns.append(re.escape(f"{key if isinstance(key, str) else ''}{words}") + rest)
            order.append(n)
            continue
        tree = _branches(following)
        if tree is None:
            return None
        patterns.append(re.escape(key) + tree[0])
        order += tree[1]
    if len(patterns) == 1:
        return patterns[0], order
    return f"(?:{'|'.join(patterns)})", order


class FlatPattern:
    """A pattern searched in flat text (`flat`) as the signals search theirs (see `_scan`).

    Only for whether it matches, which group did, and where the whole match starts: read
    after a leading space, a match ends, and its groups start and end, one character later
    than in the text itself.
    """

    __slots__ = ("_compiled", "_spaced", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled, self._spaced = _scan(pattern)

    def search(self, words: str) -> re.Match[str] | None:
        return self._compiled.search(f" {words}" if self._spaced else words)


def _starts_word(pattern: str) -> bool:
    """Whether every match of `pattern` starts with a letter or a digit: its first piece is
    one, or `\\w`, or a group of alternatives that each start so, and is not optional."""
    if pattern.startswith("\\w"):
        end = 2
    elif pattern[:1].isalnum():
        end = 1
    elif pattern.startswith("(") and (pattern[1:2] != "?" or pattern.startswith("(?:")):
        end = _closing(pattern) + 1
        body = pattern[1 : end - 1].removeprefix("?:")
        if not all(_starts_word(a) for a in _alternatives(body)):
            return False
    else:
        return False
    return pattern[end : end + 1] not in ("?", "*") and not pattern.startswith("{0", end)


_QUANTIFIERS: Final = ("?", "*", "{", "+")


def _elements(pattern: str) -> list[tuple[str, bool, bool]]:
    """The pattern's required top-level pieces (groups, escapes and runs of letters), each
    with whether a space or a word boundary follows it and whether a word surely starts
    where it does; an optional piece (`?`, `*`, `{0,…}`) is left out, a look-around too.

    A word starts at the text's start or after a space: after `\\b`, `^`, a space, or a
    piece that ends with one ("(\\w+ ){0,2}" keeps whether one started before it). Not
    after letters, nor after an optional piece that may leave them: in "(re)?demande" the
    word may start with "re", and "dema" is no gate for it. A pattern is searched
    anywhere, so its first piece starts a word only after `\\b` or `^`.
    """
    pieces: list[tuple[str, bool, bool]] = []
    n = 0
    starts = False
    while n < len(pattern):
        char = pattern[n]
        at = starts
        cut = False
        if char == "(":
            end = _closing(pattern[n:]) + n
            piece, n = pattern[n : end + 1], end + 1
            if piece.startswith(("(?=", "(?!", "(?<")):
                continue
        elif char == "\\":
            piece, n = pattern[n : n + 2], n + 2
        elif char == "[":
            end = pattern.index("]", n + 2)
            piece, n = pattern[n : end + 1], end + 1
        elif char.isalnum() or char == " ":
            m = re.match(r"[a-z0-9 ]+", pattern[n:])
            if m is None:
                piece, n = char, n + 1
            else:
                piece, n = m.group(0), n + m.end()
                if pattern[n : n + 1] in _QUANTIFIERS and len(piece) > 1:
                    # Only its last letter is repeated or optional: the rest is needed,
                    # that letter is read as a piece of its own.
                    piece, n, cut = piece[:-1], n - 1, True
        else:
            piece, n = char, n + 1
        optional = pattern[n : n + 1] in ("?", "*") or pattern[n : n + 3] == "{0,"
        repeated = pattern[n : n + 1] in _QUANTIFIERS
        if repeated:
            n = pattern.index("}", n) + 1 if pattern[n] == "{" else n + 1
        if piece in ("\\b", "^"):
            starts = True
        elif piece.startswith("(?"):
            pass  # a look-around reads no character
        else:
            spaced = _ends_with_space(piece) and not (repeated and piece[:1] != "(")
            starts = spaced and (at or not optional)
        if not optional:
            # After a repeated piece may come the piece again, not what follows it; after
            # a run cut short, its last letter.
            ends = not (repeated or cut) and (
                pattern[n : n + 1] == " " or pattern[n : n + 2] == "\\b"
            )
            pieces.append((piece, ends, at))
    return pieces


def _ends_with_space(piece: str) -> bool:
    """Whether every text a piece matches ends with a space."""
    if piece.startswith("("):
        body = piece[1:-1].removeprefix("?:")
        return all(a.endswith(" ") for a in _alternatives(body))
    return piece.endswith(" ")


def _element_gate(piece: str, ends: bool, starts: bool) -> Gate | None:
    """The gate of one required piece; `ends`: a space or a boundary follows it; `starts`:
    a word starts where it does.

    A group's is the union of its alternatives' gates, each the rarest word that
    alternative cannot do without, read in the group's place ("je craque|au bout du
    rouleau" -> craque, rouleau); none when an alternative has none.
    """
    if piece.startswith("("):
        body = piece[1:-1].removeprefix("?:")
        if body.startswith("?"):
            return None  # a named group or a look-around
        before, after = "\\b" if starts else "", "\\b" if ends else ""
        each = [gate(f"{before}{alternative}{after}") for alternative in _alternatives(body)]
        if any(g is None for g in each):
            return None
        return Gate(
            frozenset().union(*(g.whole for g in each if g is not None)),
            frozenset().union(*(g.heads for g in each if g is not None)),
        )
    if not re.fullmatch(r"[a-z0-9 ]+", piece):
        return None
    # A word of the run starts one of the text's after a space, or at the run's start when
    # a word starts there; it is whole when a space or the run's end, where a word ends,
    # follows it.
    options = []
    for word in re.finditer(r"[a-z0-9]+", piece):
        first, last = word.span()
        if not (piece[first - 1] == " " if first else starts):
            continue
        if piece[last] == " " if last < len(piece) else ends:
            options.append(Gate(frozenset({word.group(0)}), frozenset()))
        elif last - first >= _HEAD:
            options.append(Gate(frozenset(), frozenset({word.group(0)[:_HEAD]})))
    return max(options, key=_selectivity) if options else None


def _closing(pattern: str) -> int:
    """Where the parenthesis that opens `pattern` closes."""
    depth, escaped = 0, False
    for n, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return n
    raise ValueError(f"unbalanced parenthesis in {pattern!r}")


def _alternatives(body: str) -> list[str]:
    """The alternatives of a group's body, split at its own `|` only."""
    parts, depth, escaped, start = [], 0, False, 0
    for n, char in enumerate(body):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(body[start:n])
            start = n + 1
    parts.append(body[start:])
    return parts


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
        self._elsewhere = signal("elsewhere")
        self._company = signal("company")
        self._topic = signal("topic")
        self._bot_question = signal("bot_question")
        topic = signals["topic"]
        self._with_product = _Signal(topic["with_product"])
        self._product = _Signal([topic["product"]])
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
        self._gates = Gates()
        for each in self.all_signals():
            each.number(self._gates)

    def all_signals(self) -> list[_Signal]:
        """Every signal, for tests of their gates."""
        done = [found for _, found in self._done]
        safety = [found for _, found in self._safety]
        return [
            *safety, self._human, self._elsewhere, self._company, self._topic,
            self._bot_question, self._with_product, self._no, self._wait, self._yes,
            self._new_question, self._anger, *done,
        ]  # fmt: skip

    def read(self, text: str, words: str | None = None) -> Signals:
        """Every signal of `text`, the customer's message as sent; `words`, its flat text
        once the secrets' markers are out, when already computed."""
        secret = "[" in text and _SECRET_RE.search(text) is not None
        text = without_secrets(text)
        words = flat(text) if words is None else words
        if not words:
            return Signals(None, text, secret=secret)
        heads = Words(words, self._gates)
        safety = next((reason for reason, found in self._safety if found(words, heads)), None)
        return Signals(
            self,
            text,
            words,
            heads,
            safety=safety,
            human=self._human(words, heads),
            secret=secret,
        )

    def conversation(self, name: str, text: str, words: str, heads: Words) -> object:
        """One of the signals read when asked for (see Signals)."""
        if name == "topic":
            return self._topic(words, heads) or (
                self._product(words, heads) and self._with_product(words, heads)
            )
        if name == "elsewhere":
            return self._elsewhere(words, heads) or self._company(words, heads)
        if name == "bot_question":
            return self._bot_question(words, heads)
        if name == "new_question":
            return self._new_question(words, heads) or "?" in text
        if name == "done":
            return frozenset(step for step, found in self._done if found(words, heads))
        if name.startswith("took:"):
            step = name.removeprefix("took:")
            return any(found(words, heads) for each, found in self._done if each == step)
        if name == "angry":
            return self._angry(text, words, heads)
        if name == "thanks_only":
            rest = _THANKS_RE.sub(" ", words).strip()
            return (
                rest != words
                and not any(e in text for e in _THUMBS_UP)
                and not (rest and self._yes(rest, Words(rest, self._gates)))
            )
        if name == "ordinal":
            match = self._ordinal.match(words)
            if match is None:
                return None
            if len(words.split()) > ORDINAL_WORDS:
                # "le premier. et oui j'ai déjà regardé dans les spams": the rank said in
                # a sentence of its own, then more.
                first = flat(_RANK_END_RE.split(text, maxsplit=1)[0])
                if len(first.split()) > ORDINAL_ALONE or self._ordinal.match(first) is None:
                    return None
            return self._ordinals.get(match.group(1))
        raise KeyError(name)

    def feedback(
        self, text: str, words: str | None = None, heads: Words | None = None
    ) -> FeedbackSignal | None:
        """What a reply to "Est-ce que cela a résolu votre problème ?" says: no (it did not
        help), wait (the customer goes to try) or yes; None when it says none of them."""
        words = flat(text) if words is None else words
        if not words:
            return self.emoji_feedback(text)
        if "no reply" in words:
            # "no-reply ajouté en contact, reçu en 10 sec": the sender's address, not a no.
            words = _NO_REPLY_ADDRESS_RE.sub("noreply", words)
            heads = None
        heads = Words(words, self._gates) if heads is None else heads
        turn = _BUT_SPLIT_RE.search(words)
        head, but = (words[: turn.start()], turn.group(0)) if turn is not None else (words, "")
        if but and not self._no(head, Words(head, self._gates)):
            # "Oui pour le mot de passe c'est réglé, mais le lien … ne m'envoie aucun mail",
            # "bon il est arrivé, mdp changé 👍 mais mtn …": settled first; what follows
            # "mais" is a new question, not the answer failing. A bare "ok" or "merci"
            # before it settles nothing ("merci mais ça marche pas").
            # The yes must be more than thanks: "ça a marché merci ! par contre …" is one.
            said = _THANKS_RE.sub(" ", _ACK_LEAD_RE.sub("", head)).strip()
            if _DID_IT_RE.match(said):
                # "c'est fait mais pas de mail": the step taken, not that it worked; what
                # follows says whether it did.
                if _NOTHING_RE.search(words, len(head) + len(but)):
                    return "no"
            elif _SETTLED_RE.match(head) or _SETTLED_FOR_RE.match(head) or (
                said and (self._yes(said, Words(said, self._gates)) or _FOUND_IT_RE.match(said))
            ):
                return "yes"
        other = _OTHER_THING_RE.search(words)
        if other is not None and other.start() > 0:
            # "Oui merci pour l'article. Autre chose : … le mail n'arrive pas": a yes, or
            # thanks, then a new matter said as such; what follows is not the answer failing.
            lead = words[: other.start()].strip()
            lead_words = Words(lead, self._gates)
            if not self._no(lead, lead_words) and (
                self._yes(lead, lead_words) or _THANKS_RE.search(lead)
            ):
                return "yes"
        if ENDS_WELL_RE.search(words):
            # "j'ai regardé dans les indésirables, rien. Ensuite j'ai ajouté l'adresse …, et
            # là miracle il est arrivé !": what failed first, then what worked, said last.
            return "yes"
        if _NOT_YET_RE.search(words) and self._wait(words, heads):
            # "ah non je l'ai pas ajouté aux contacts, je fais ça et je redemande": a step
            # not yet taken, about to be; its "non" is to the step, not to the answer.
            return "wait"
        if self._no(words, heads):
            before, supposed, _ = f" {words}".partition(" si ")
            if supposed and self._wait(words, heads) and not self._no(
                before, Words(before, self._gates)
            ):
                # "Je vais vérifier les indésirables, mais si c'est encore pas là je
                # résilie": the failure is only supposed; the customer goes to look.
                return "wait"
            return "no"
        if words in _ACKNOWLEDGEMENTS and not any(e in text for e in _THUMBS_UP):
            return "wait"
        if _FOUND_RE.search(words) and self._yes(words, heads):
            # "Ah attendez… il était dans les spams": found, whatever the interjection.
            return "yes"
        if self._wait(words, heads):
            return "wait"
        if self._yes(words, heads) or any(e in text for e in _THUMBS_UP):
            return "yes"
        return None

    @staticmethod
    def emoji_feedback(text: str) -> FeedbackSignal | None:
        if any(e in text for e in _THUMBS_DOWN):
            return "no"
        if any(e in text for e in _THUMBS_UP):
            return "yes"
        return None

    def _angry(self, text: str, words: str, heads: Words) -> bool:
        if self._anger(words, heads):
            return True
        if _WARM_RE.search(words) or any(e in text for e in _WARM_EMOJI):
            # "Bonjour !! … merci d'avance !!", "MERCI BEAUCOUP POUR VOTRE AIDE": marks and
            # capitals said warmly are no anger; anger's own words still are.
            return False
        if len(words.split()) >= 3 and (
            _MARKS_RE.search(text[:MAX_TEXT_CHARS]) or _EMPHASIS_RE.search(text[:MAX_TEXT_CHARS])
        ):
            return True
        letters = [c for c in text[:2000] if c.isalpha()]
        upper = sum(c.isupper() for c in letters)
        return len(letters) >= _CAPS_LETTERS and upper >= _CAPS_SHARE * len(letters)
