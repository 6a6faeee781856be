"""Which language a message is in, when it is plainly not French.

The bot answers in French; a customer who writes in English (or Spanish, German, Italian,
Portuguese, Dutch) is told so in their language. Detection is lingua's
(lingua-language-detector, its models inside the wheel: no network), restricted to the
languages the bot can write its note in, so that a short message is not taken for one of
seventy languages. It is asked only when the message has no word that only French uses
(intents/signals.toml, `french`): "j'ai oublié mon password" is French whatever lingua
would make of it, and most messages never reach it.

Two detectors keep the memory small: English, the language most customers fall back on,
is told from French by lingua's high-accuracy models of those two languages; the other
languages by its low-accuracy models of all seven, which are small and reliable once a
message has a few words. When those are unsure of a short message, CLD2 (pycld2, Google's
compact detector, a few megabytes) gives a second reading: the two makes err on different
messages. English is named only for a message with a word English alone
uses ("the", "forgot", "can't"): "esqueci a senha" is less French than English to the first
detector, and Portuguese to the second. Both load once per process (on the first message
that needs them, or at start with `warm()`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from lingua import LanguageDetector as Lingua

#: The languages the bot writes its note in (ISO 639-1), besides French.
NOTE_LANGUAGES: Final = ("en", "es", "de", "it", "pt", "nl")
# A message needs this many letters and words before a language is named: one word
# ("Danke", "kjhgfd") says too little to tell a language from a typo.
MIN_LETTERS: Final = 6
MIN_WORDS: Final = 2
# A language other than English wins over English's own detector from this many words.
MIN_WORDS_OTHER: Final = 5
# ...unless it has this many of English's own words ("sorry, the password reset one").
ENGLISH_OWN_WORDS: Final = 2
# Words only English uses among the languages of the note: a message English's detector
# names must have one ("the", "forgot", "can't"), or it is only less French than English.
_ENGLISH_WORDS: Final = frozenset(
    {"im", "ive", "my", "the", "to", "you", "your", "and", "it", "its", "this", "that", "what",
     "how", "why", "where", "when", "can", "cant", "cannot", "could", "would", "should", "dont",
     "doesnt", "didnt", "wont", "isnt", "not", "have", "has", "had", "been", "be", "are", "of",
     "for", "with", "from", "at", "get", "got", "getting", "please", "pls", "thanks", "thank",
     "thx", "hi", "hello", "forgot", "forget", "sign", "log", "still", "just", "anymore", "any",
     "yes", "yeah", "let", "check", "folder", "junk", "new", "old", "work", "works", "worked",
     "there", "they", "our", "us", "all", "now", "after", "before", "again", "but", "or", "if",
     "does", "did", "done", "out", "into", "about", "day", "mate", "ll", "ve", "re", "never",
     "nothing", "anything", "something", "anywhere", "says", "said", "say", "broken", "sorry",
     "arrives", "arrive", "arrived", "coming", "came", "checked", "checking", "tried", "trying",
     "try", "keeps", "keep", "write", "english", "address", "through", "because", "which",
     "who", "hang", "on", "up", "nope", "want", "need", "won", "don", "doesn", "didn", "isn",
     "haven", "hasn", "wasn", "understand"}
)  # fmt: skip
# Words of the customers' short replies that only one language of the note uses (not
# French either): in a conversation in that language, they keep it.
_MARKERS: Final = {
    "pt": frozenset(
        {"valeu", "vlw", "obrigado", "obrigada", "obg", "brigado", "brigada", "blz", "beleza",
         "deu", "funcionou", "consegui", "aguardo", "olhada", "falou", "salvou", "agora",
         "tudo", "voces", "vou", "achei", "nao", "ainda", "entao"}
    ),
    "es": frozenset(
        {"gracias", "listo", "miro", "ahora", "pude", "funciono", "perfecto", "bueno",
         "quedo", "buzon", "carpeta", "todavia", "nada"}
    ),
    "it": frozenset(
        {"grazie", "funziona", "perfetto", "aspetto", "ancora", "adesso", "riesco", "niente",
         "ecco", "gentilissimo", "gentilissima", "trovato", "trovata"}
    ),
    "de": frozenset(
        {"danke", "dankeschon", "geklappt", "funktioniert", "klappt", "jetzt", "schaue", "gut",
         "vielen", "vielmal", "tschuss", "bitte", "noch", "schon", "ich", "nicht"}
    ),
    "nl": frozenset(
        {"bedankt", "gelukt", "dankjewel", "werkt", "niks", "niet", "ik", "het", "kijk",
         "gevonden", "even", "nog"}
    ),
    "en": frozenset({"thanks", "thank", "thx", "worked", "found", "checking", "cheers"}),
}  # fmt: skip
# A message English's detector names but that has no English word: the other languages'
# top one, when it is at least this likely among the seven.
MIN_OTHER_LIKELY: Final = 0.5
# Below this many words, a language other than English is not named on its own.
MIN_WORDS_SHORT: Final = 4
# A message shorter than that is named by the low-accuracy models from this confidence,
# when CLD2 reads the same language.
MIN_SHORT_SURE: Final = 0.95
# English against French: its confidence from which the message is English.
MIN_ENGLISH: Final = 0.8
# Among all seven: the top language's confidence, and its lead over the next one, below
# which nothing is said.
MIN_CONFIDENCE: Final = 0.8
MIN_LEAD: Final = 0.5
# A short message of a customer who wrote in another language just before: the same
# language when its models find it at least this likely against French ("I can't log in").
MIN_LEANING: Final = 0.5
# A French greeting or thanks around more than this many other words does not make a
# message French ("Bonjour, my email is already used"); around fewer it does ("bon
# d'accord, merci", which lingua calls Italian).
COURTESY_AROUND: Final = 3
# CLD2's score (per kilobyte of text) below which its reading is too weak to name a
# language: "D'acc, il attendra. Merci, service !" is reliably Italian to it, but weakly.
MIN_CLD2_SCORE: Final = 250
# Longer messages are judged on their start: a language shows in a few sentences.
MAX_CHARS: Final = 600
# Greetings and thanks customers write in French whatever their language.
_COURTESY: Final = frozenset(
    {"bonjour", "bonsoir", "salut", "coucou", "merci", "bjr", "slt", "mrc", "svp", "stp"}
)
# Brand and product names are no language's.
_NAMES: Final = frozenset({"parallels", "desktop", "macos", "mac", "windows", "my", "com"})


def _mashed(token: str) -> bool:
    """Whether a (folded) word of several letters has no vowel: struck at random."""
    return len(token) >= MASHED_LETTERS and token.isalpha() and _VOWELS.isdisjoint(token)


MASHED_LETTERS: Final = 4
_VOWELS: Final = frozenset("aeiouy")


class LanguageDetector:
    """Names a message's language when it is confidently one of `NOTE_LANGUAGES`."""

    def __init__(self, french_words: Iterable[str]) -> None:
        self._french = frozenset(french_words)
        self._detectors: tuple[Lingua, Lingua] | None = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Load the models now rather than on the first message that needs them."""
        english, every = self._detector()
        english.compute_language_confidence_values("Where is my account?")
        every.compute_language_confidence_values("Where is my account?")

    def _detector(self) -> tuple[Lingua, Lingua]:
        """(English against French, high accuracy; all seven, low accuracy)."""
        with self._lock:
            if self._detectors is None:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                def builder(codes: Iterable[str]) -> LanguageDetectorBuilder:
                    languages = [
                        Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper()))
                        for c in codes
                    ]
                    return LanguageDetectorBuilder.from_languages(*languages)

                # Models load on first use, one after the other: loading them all at once
                # (preloaded) peaks at half as much memory again.
                english = builder(("fr", "en")).build()
                every = builder(("fr", *NOTE_LANGUAGES)).with_low_accuracy_mode().build()
                self._detectors = (english, every)
            return self._detectors

    def language(self, text: str, words: str) -> str | None:
        """The language of `text` (two letters) when it is not French and plainly one of
        NOTE_LANGUAGES; None otherwise. `words` is the text's flat form (signals.flat)."""
        tokens = self._readable(words)
        if tokens is None:
            return None
        from lingua import Language

        english, every = self._detector()
        sample = _sample(text)
        values = every.compute_language_confidence_values(sample)
        code = None
        if values:
            top = values[0]
            lead = top.value - (values[1].value if len(values) > 1 else 0.0)
            if top.value >= MIN_CONFIDENCE and lead >= MIN_LEAD:
                code = top.language.iso_code_639_1.name.lower()
        if code is None and len(tokens) >= MIN_WORDS_SHORT:
            # Too short or mixed a message for these models to be sure ("no me llega ningún
            # correo de parallels" is English to them): CLD2, a detector of another make,
            # has the last word when it is sure of a language other than English.
            second = _cld2(sample)
            if second not in (None, "en"):
                return second
        # Plainly Italian or Spanish is not English, though nearer English than French
        # ("Buongiorno, non riesco ad accedere al mio account"); a short message is
        # English first ("I forgot my password" is Italian to the low-accuracy models).
        if (
            code not in (None, "fr", "en")
            and len(tokens) >= MIN_WORDS_OTHER
            # "forgot my password, how do I reset it?" is Italian to them too: English's
            # own words say otherwise.
            and sum(t in _ENGLISH_WORDS for t in tokens) < ENGLISH_OWN_WORDS
        ):
            return code
        if (
            code not in (None, "fr", "en")
            and len(tokens) >= MIN_WORDS_SHORT
            and _ENGLISH_WORDS.isdisjoint(tokens)
        ):
            # "Anmeldung bei Parallels klappt nicht": plainly German to them, and not a
            # word of English's own; English is only less French.
            return code
        if english.compute_language_confidence(sample, Language.ENGLISH) >= MIN_ENGLISH:
            if not _ENGLISH_WORDS.isdisjoint(tokens):
                return "en"
            # "non riesco a creare l'account", "esqueci a senha": less French than English,
            # and not a word of English's own; the other languages' reading, if any, says.
            if values and values[0].value >= MIN_OTHER_LIKELY:
                other = values[0].language.iso_code_639_1.name.lower()
                return None if other in ("fr", "en") else other
            return None
        if code not in (None, "fr") and len(tokens) < MIN_WORDS_SHORT:
            # "pfff t'es inutile" (Spanish?), "c bon nickel" (German?): three words say too
            # little; the conversation's language may still say it (`leans_to`). Unless both
            # detectors, of two makes, are sure of the same language: "olvidé mi contraseña",
            # "Anmeldung geht nicht".
            if code != "en" and values[0].value >= MIN_SHORT_SURE and _cld2(sample) == code:
                return code
            return None
        return None if code == "fr" else code

    def leans_to(self, text: str, words: str, language: str) -> bool:
        """Whether `text`, which `language()` names no language or English, is still more
        likely `language` than French: a short message of a customer who has just written
        in it."""
        # "Merci vielmal, hat geklappt!": a French thanks or greeting in the message of a
        # customer who writes another language is no sign of French.
        own = " ".join(t for t in words.split() if t not in _COURTESY)
        if language not in NOTE_LANGUAGES:
            return False
        tokens = own.split()
        marked = sum(t in _MARKERS.get(language, ()) for t in tokens)
        if marked and marked >= sum(t in self._french for t in tokens):
            # "valeu demais!", "Gelukt, dank je wel!", "¡Gracias!": words of that
            # language's own, too short a message for the detectors, and no more French.
            return True
        if self._readable(own) is None:
            return False
        from lingua import IsoCode639_1, Language

        english, every = self._detector()
        sample = _sample(text)
        if language == "en":
            return english.compute_language_confidence(sample, Language.ENGLISH) >= MIN_LEANING
        wanted = Language.from_iso_code_639_1(getattr(IsoCode639_1, language.upper()))
        return every.compute_language_confidence(sample, wanted) >= MIN_LEANING

    def _readable(self, words: str) -> list[str] | None:
        """The words a language is read from (brands and numbers left out); None when the
        message is French by its own words or too short or random to tell."""
        tokens = words.split()
        # "Bonjour, my email is already used": a French greeting or thanks around a
        # message in another language does not make it French.
        content = [t for t in tokens if t not in _COURTESY]
        if not self._french.isdisjoint(content if len(content) > COURTESY_AROUND else tokens):
            return None
        tokens = [t for t in tokens if t not in _NAMES and not t.isdigit()]
        if len(tokens) < MIN_WORDS or sum(map(len, tokens)) < MIN_LETTERS:
            return None
        if 2 * sum(map(_mashed, tokens)) >= len(tokens):
            # "kzjdhf sqdlkj": keys struck at random are no language's words.
            return None
        return tokens


def _sample(text: str) -> str:
    """The start of `text` the detectors read, in characters they take: both want UTF-8,
    which lone surrogates (undecodable bytes typed at a terminal) are not, and CLD2 refuses
    control characters."""
    sample = text[:MAX_CHARS]
    if sample.isprintable():
        return sample
    return "".join(c if c.isprintable() or c.isspace() else " " for c in sample)


def _cld2(sample: str) -> str | None:
    """The language of `NOTE_LANGUAGES` CLD2 (Google's compact detector, pycld2) reads in
    `sample`, when it calls its reading reliable and its score is high enough; None
    otherwise (French, another language, or unsure)."""
    import pycld2  # type: ignore[import-untyped]  # no types shipped

    details: tuple[tuple[str, str, int, float], ...]
    try:
        reliable, _, details = pycld2.detect(sample, bestEffort=True)
    except pycld2.error:
        return None
    _, code, _, score = details[0]
    if not reliable or score < MIN_CLD2_SCORE or code not in NOTE_LANGUAGES:
        return None
    return code
