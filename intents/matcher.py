"""The French matcher: a customer's message -> ranked intents with scores.

Both the catalogue's phrasings and the message are normalised (intents/normalize.py).
Each phrasing is then compared with the message in two ways:

* keyword evidence: the share of the phrasing's words the message contains and the
  share of the message's words the phrasing explains, each word weighted by how
  specific it is to one intent (a word every intent uses weighs little). A weighted
  F-measure of the two, computed for every phrasing at once with one matrix product.
* rapidfuzz's token_set_ratio on the best phrasings of each intent, which forgives word
  order and the rest of a long message around the problem.

An intent's score is its best phrasing's blend of the two, 0-100. The result keeps the
ranked candidates and the margin between the first two, so the dialogue policy can
clarify instead of guessing; `decision` says what the thresholds calibrated on
tests/data/devset.tsv make of it.
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise, repeat
from typing import Final, Literal, NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from intents.catalogue import CONVERSATION, NONE, PROBLEMS, SYMPTOMS, Catalogue
from intents.model import Model, Readings
from intents.normalize import Lexicon, Normalized, Normalizer

MatchDecision = Literal["answer", "clarify", "none"]


# Words (after normalisation) by which a customer says the account is a company's: a fact
# worth showing the agent, whatever the intent matched.
BUSINESS_WORDS: Final = frozenset({"professionnel", "employeur"})
_MAX_CLAUSES: Final = 16
# A score's bits: those of a float32 that is not negative.
_SCORE_BITS: Final = 31
_NEVER: Final = 1 << 62


@dataclass(frozen=True, slots=True)
class Tuning:
    """The matcher's knobs, calibrated on tests/data/devset.tsv (see bench/classify.py)."""

    none_below: float = 55.0  # under this, nothing matches
    clarify_below: float = 68.0  # under this, ask rather than answer
    margin: float = 8.0  # a runner-up this close makes it a question
    symptom_yield: float = 8.0  # a problem this close to its generic symptom wins...
    distinctive: float = 1.4  # ...when the message has this much of its own words
    fuzzy_weight: float = 0.35  # share of rapidfuzz's token_set_ratio in the blend
    fuzzy_top: int = 2  # phrasings per intent rescored by rapidfuzz
    unknown_weight: float = 1.2  # weight of a word no phrasing uses
    explained: float = 0.95  # credit for words the intent uses in other phrasings
    explained_none: float = 0.95  # the same for `none`, whose vocabulary is the widest
    none_yield: float = 20.0  # `none` this close to a problem gives way to it...
    none_distinctive: float = 2.2  # ...when the message has this much of the problem's own words
    none_marker: float = 2.8  # this much weight of words only `none` uses...
    none_back: float = 10.0  # ...makes `none` this close to a problem or symptom win
    cover_from: int = 6  # a message of this many words or more...
    cover_weight: float = 0.2  # ...has this share of its fuzzy score from token_sort_ratio
    tie: float = 4.0  # two problems this close: the one more typical of the words comes first
    tie_smoothing: float = 0.5  # added to each word's count of phrasings of an intent
    tie_weight: float = 0.5  # points of score per unit of log-likelihood ratio
    clause_from: int = 6  # a message of this many words or more is also read clause by clause
    clause_clear: float = 75.0  # a clause whose best problem scores this (keywords only)...
    clause_margin: float = 8.0  # ...this far ahead of its best rival...
    clause_bonus: float = 8.0  # ...adds this to the problem's score for the whole message
    clause_drop: float = 5.0  # ...or lifts it to the clause's score less this, if higher
    model_weight: float = 0.25  # points of score per point of the learned probability...
    model_even: float = 0.3  # ...counted from this probability (neither lifts nor lowers)


class Candidate(NamedTuple):
    """An intent and its score, 0-100 (a tuple: a long message ranks dozens of them)."""

    intent: str
    score: float


@dataclass(frozen=True, slots=True)
class Match:
    """What the matcher understood of one message."""

    text: str
    normalized: Normalized
    candidates: tuple[Candidate, ...]
    decision: MatchDecision
    days: int | None = None
    entities: dict[str, str] = field(default_factory=dict)
    # The learned readings' probabilities for the message, when the matcher read them (its
    # own model's and those it was asked for, see `Matcher`), by model.
    learned: dict[Model, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def intent(self) -> str:
        """The best intent, or `none` when nothing is close enough."""
        return self.candidates[0].intent if self.decision != "none" else NONE

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0

    @property
    def margin(self) -> float:
        if len(self.candidates) < 2:
            return self.score
        return self.candidates[0].score - self.candidates[1].score


_score: Final = operator.attrgetter("score")


def _tenth(score: float) -> float:
    """`round(score, 1)`, without the decimal conversion that `round` makes: the nearest
    whole number of tenths, divided by ten, is the same float (both are the real number's
    nearest one). A score within a hair of halfway, or huge, is left to `round`."""
    scaled = score * 10
    if not -1e12 < scaled < 1e12:
        return round(score, 1)
    whole = math.floor(scaled)
    part = scaled - whole
    if -1e-6 < part - 0.5 < 1e-6:
        return round(score, 1)
    tenths = whole + 1 if part > 0.5 else whole
    # round() keeps the sign of a score that rounds to zero.
    return tenths / 10 if tenths else math.copysign(0.0, score)


class Matcher:
    """Ranks the catalogue's intents for a message. Pure and deterministic; build once."""

    def __init__(
        self,
        catalogue: Catalogue,
        lexicon: Lexicon | None = None,
        tuning: Tuning | None = None,
        model: Model | Literal["default"] | None = "default",
        also: Sequence[Model] = (),
    ) -> None:
        """`also`: learned readings wanted of every message besides the matcher's own (the
        reader's safety one), read with it: each message's features are looked up once, and
        each match keeps their probabilities (`Match.learned`)."""
        self.tuning = tuning = tuning or Tuning()
        if model == "default":
            model = Model.load()
        readings = [*([] if model is None else [model]), *also]
        self._readings = Readings(readings) if readings else None
        lexicon = lexicon or Lexicon.load()
        plain = Normalizer(lexicon)
        vocabulary = {
            w for i in catalogue.intents for p in i.phrasings for w in plain.surface_words(p)
        }
        self.normalizer = Normalizer(lexicon, vocabulary)
        self._intents = [i.id for i in catalogue.intents]
        self.model = model
        if model is not None and list(model.intents) != self._intents:
            raise ValueError("intents/model.npz knows other intents: python -m intents.model train")

        # Deduplicated normalised phrasings, each with the intent it belongs to.
        seen: dict[tuple[str, ...], int] = {}
        rows: list[tuple[tuple[str, ...], int]] = []
        for index, intent in enumerate(catalogue.intents):
            for phrasing in intent.phrasings:
                tokens = tuple(dict.fromkeys(self.normalizer.normalize(phrasing).tokens))
                if tokens and tokens not in seen:
                    seen[tokens] = index
                    rows.append((tokens, index))
        self._choices = [" ".join(sorted(tokens)) for tokens, _ in rows]
        self._owner = np.array([owner for _, owner in rows], dtype=np.intp)
        self._owner_list = self._owner.tolist()
        self._index = {intent: n for n, intent in enumerate(self._intents)}
        # Each intent's phrasings follow one another, so the best of every intent comes
        # from one reduction over where each starts (an intent left with none gets its
        # neighbour's start, masked).
        sizes = np.bincount(self._owner, minlength=len(self._intents))
        starts = np.searchsorted(self._owner, np.arange(len(self._intents)))
        self._starts = np.minimum(starts, len(rows) - 1)
        self._empty = sizes == 0
        self._last = len(rows) - 1
        # A phrasing's rank key is its intent above its score's bits (which order as the
        # scores do, none being negative) above its place counted from the end. Sorted, the
        # keys keep each intent's phrasings together, its largest key last: its best
        # phrasing, the first of those that tie, then the next best. Where each intent's
        # n-th best lands is known beforehand, and so is the least key it must reach to
        # score above 0 (one no key reaches when the intent has fewer phrasings).
        place_bits = max(1, self._last.bit_length())
        self._place_mask = (1 << place_bits) - 1
        self._score_shift = place_bits
        intent_shift = place_bits + _SCORE_BITS
        places = np.arange(len(rows) - 1, -1, -1, dtype=np.int64)
        self._key_base = (self._owner.astype(np.int64) << intent_shift) | places
        ends = starts + sizes
        top = tuning.fuzzy_top
        self._top_at = np.empty((len(self._intents), top), dtype=np.intp)
        self._top_from = np.empty((len(self._intents), top), dtype=np.int64)
        for i in range(len(self._intents)):
            for n in range(top):
                self._top_at[i, n] = max(0, int(ends[i]) - 1 - n)
                reached = (i << intent_shift) | (1 << place_bits)
                self._top_from[i, n] = reached if n < sizes[i] else _NEVER

        # Word weights: the fewer intents use a word, the more it tells.
        users: dict[str, set[int]] = defaultdict(set)
        for tokens, owner in rows:
            for token in tokens:
                users[token].add(owner)
        self._column = {token: n for n, token in enumerate(sorted(users))}
        # How likely each word is in one of an intent's phrasings (smoothed, log): which of
        # two level problems a message's words are more typical of.
        df = np.zeros((len(self._column), len(self._intents)), dtype=np.float32)
        for tokens, owner in rows:
            for token in tokens:
                df[self._column[token], owner] += 1
        phrasings = np.bincount(self._owner, minlength=len(self._intents)).astype(np.float32)
        smoothing = tuning.tie_smoothing
        self._likelihood = np.log((df + smoothing) / (phrasings + 2 * smoothing))
        n_intents = len(self._intents)
        self._weight = {t: math.log(1 + n_intents / len(users[t])) for t in self._column}
        self._unknown = tuning.unknown_weight
        matrix = np.zeros((len(rows), len(self._column)), dtype=np.float32)
        for r, (tokens, _) in enumerate(rows):
            for token in tokens:
                matrix[r, self._column[token]] = self._weight[token]
        self._row_weight = matrix.sum(axis=1)
        # Which words each intent uses anywhere: how much of a long message it explains.
        vocab = np.zeros((len(self._column), n_intents), dtype=np.float32)
        for token, owners in users.items():
            for owner in owners:
                vocab[self._column[token], owner] = self._weight[token]
        # `none` uses nearly every common word (compte, mail, mot de passe), so its whole
        # vocabulary would explain any message: it explains only the words no other intent
        # uses (VM, Windows, facture, another company's account).
        self._none = self._index.get(NONE)
        self._none_only = (vocab > 0).sum(axis=1) == 1
        if self._none is not None:
            self._none_only &= vocab[:, self._none] > 0
        explain = np.full(n_intents, tuning.explained, dtype=np.float32)
        if NONE in self._intents:
            explain[self._intents.index(NONE)] = tuning.explained_none
        # Each phrasing's credit for the words its intent uses, as an intents x phrasings
        # matrix: a product spreads each intent's share over its phrasings.
        by_intent = np.zeros((n_intents, len(rows)), dtype=np.float32)
        by_intent[self._owner, np.arange(len(rows))] = explain[self._owner]
        self._explain_by_intent = by_intent
        # Per word, in one row: its weight in each phrasing, in each intent's vocabulary,
        # and as a word only `none` uses; one gather and one sum give all three.
        marker_column = np.zeros((len(self._column), 1), dtype=np.float32)
        if self._none is not None:
            marker_column[:, 0] = vocab[:, self._none] * self._none_only
        self._evidence = np.ascontiguousarray(np.hstack([matrix.T, vocab, marker_column]))
        self._uses = np.ascontiguousarray(vocab)
        self._symptom_candidates = {
            i.id: frozenset(i.candidates) for i in catalogue.intents if i.id in SYMPTOMS
        }
        # For reading a long message clause by clause (see _clause_lifts): which intents
        # are problems, and whom a problem's score is measured against: not itself, not a
        # conversation move, not a symptom that lists it among its candidates.
        self._problem = [i in PROBLEMS for i in self._intents]
        self._rivals = [
            [
                n
                for n, other in enumerate(self._intents)
                if other != intent
                and other not in CONVERSATION
                and intent not in self._symptom_candidates.get(other, ())
            ]
            for intent in self._intents
        ]
        self._empty_list = np.flatnonzero(self._empty).tolist()

    def match(self, text: str) -> Match:
        normalized = self.normalizer.normalize(text)
        tokens = list(dict.fromkeys(normalized.tokens))
        column = self._column
        known = [column[t] for t in tokens if t in column]
        facts = {"email_domain": normalized.email_domains[0]} if normalized.email_domains else {}
        if BUSINESS_WORDS & set(tokens):
            facts["business_account"] = "oui"
        if not known:
            return Match(text, normalized, (), "none", normalized.days, facts)

        # The whole message, and for a long one each of its clauses, in one batch.
        clauses: list[list[str]] = []
        if normalized.clauses and len(tokens) >= self.tuning.clause_from:
            # A text of many sentences is read as its first few clauses and the rest.
            bounds = (0, *normalized.clauses[: _MAX_CLAUSES - 1], len(normalized.tokens))
            clauses = [
                list(dict.fromkeys(normalized.tokens[start:end])) for start, end in pairwise(bounds)
            ]
        overlaps, used, marker = self._overlap(tokens, known, clauses)
        overlap = overlaps[0]

        # The best phrasings of each intent (ties to the first), then rapidfuzz on those only.
        rows = self._best_phrasings(overlap)
        picked = rows.tolist()
        query = " ".join(sorted(tokens))
        choices = [self._choices[r] for r in picked]
        fuzzy = process.cdist([query], choices, scorer=fuzz.token_set_ratio, workers=1)[0]
        if len(tokens) >= self.tuning.cover_from:
            # A phrasing inside a long message scores 100 by token_set_ratio however little
            # of the message it explains; token_sort_ratio counts the rest of the message.
            # Both texts are sorted words already: that is their plain ratio.
            cover = self.tuning.cover_weight
            whole = process.cdist([query], choices, scorer=fuzz.ratio, workers=1)[0]
            fuzzy = (1 - cover) * fuzzy + cover * whole
        fw = self.tuning.fuzzy_weight
        blended = ((1 - fw) * overlap[rows] + fw * fuzzy).tolist()
        # Each intent's best blend, intents in order (the phrasings come intent by intent).
        owner = self._owner_list
        best: dict[int, float] = {}
        for r, value in zip(picked, blended, strict=True):
            i = owner[r]
            if i not in best or value > best[i]:
                best[i] = value
        if len(overlaps) > 1:
            for i, lift in self._clause_lifts(overlaps[1:]).items():
                if i in best:
                    best[i] = min(100.0, max(best[i] + self.tuning.clause_bonus, lift))
        read = self._readings.probabilities(normalized, text) if self._readings else {}
        if self.model is not None:
            # The model moves a score by its probability's distance from `model_even`:
            # up to 17.5 points for an intent it is sure of, down to 7.5 for one it rules out;
            # where it hesitates between two, their margin stays the matcher's.
            mw, even = 100 * self.tuning.model_weight, self.tuning.model_even
            learned = read[self.model].tolist()
            best = {
                i: best.get(i, 0.0) + mw * (p - even)
                for i, p in enumerate(learned)
                if i in best or p >= 0.05
            }

        candidates, second = self._rank(best, used, marker, known)
        decision = self._decide(candidates, second)
        if self.model is not None:
            # Decided on the blend; reported on the matcher's scale, 0-100.
            candidates = tuple(
                c if 0.0 <= c.score <= 100.0 else Candidate(c.intent, min(100.0, max(0.0, c.score)))
                for c in candidates
            )
        return Match(text, normalized, candidates, decision, normalized.days, facts, read)

    def without(self, match: Match, intents: frozenset[str]) -> Match:
        """The same reading with `intents` out of the running: the next best decides."""
        kept = tuple(c for c in match.candidates if c.intent not in intents)
        if not kept:
            return replace(match, candidates=(), decision="none")
        second = kept[1].score if len(kept) > 1 else 0.0
        return replace(match, candidates=kept, decision=self._decide(kept, second))

    def preferring(self, match: Match, intent: str) -> Match:
        """The same reading with `intent` first, to be asked about (a symptom said in
        words the phrasings do not use)."""
        scores = {c.intent: c.score for c in match.candidates}
        first = Candidate(intent, scores.get(intent, self.tuning.none_below))
        rest = tuple(c for c in match.candidates if c.intent != intent)
        return replace(match, candidates=(first, *rest), decision="clarify")

    def _overlap(
        self, tokens: list[str], known: list[int], clauses: list[list[str]]
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Keyword evidence (0-100) of every phrasing for the message, then for each clause.

        `tokens` are the message's distinct tokens, `known` the columns of those that are
        known, `clauses` each clause's tokens (or none). Also returns the message's known
        words x the intents that use them, and the weight of its words that only `none`
        uses. A clause without a known word scores 0 everywhere.
        """
        column, unknown = self._column, repeat(self._unknown)
        weight = self._weight.get
        weights = [sum(map(weight, tokens, unknown))]
        n_rows = len(self._row_weight)
        # Index lists are made arrays of indices first, and rows gathered by `take`: NumPy's
        # indexing converts a list of ints at several times the cost.
        if not clauses:
            rows = self._evidence.take(np.array(known, dtype=np.intp), axis=0)
            sums = np.add.reduce(rows, axis=0, keepdims=True)
            used = rows[:, n_rows:-1]
        else:
            # One gather for all the clauses' words; the message's words are each word's
            # first occurrence. Which rows add up to which group is a small 0/1 matrix.
            flat: list[int] = []
            group: list[int] = []
            for n, clause in enumerate(clauses, start=1):
                found = [column[t] for t in clause if t in column]
                flat.extend(found)
                group.extend([n] * len(found))
                weights.append(sum(map(weight, clause, unknown)))
            # Each word's first place: the last place it is given, read from the end.
            places = range(len(flat) - 1, -1, -1)
            firsts = sorted(dict(zip(reversed(flat), places, strict=True)).values())
            gathered = self._evidence.take(np.array(flat, dtype=np.intp), axis=0)
            member = np.zeros((len(clauses) + 1, len(flat)), dtype=np.float32)
            member[np.array(group, dtype=np.intp), np.arange(len(flat))] = 1.0
            member[0, np.array(firsts, dtype=np.intp)] = 1.0
            sums = member @ gathered
            # The message's words are the first occurrences, in the same order.
            used = self._uses.take(np.array(known, dtype=np.intp), axis=0)
        shared = sums[:, :n_rows]  # groups x phrasings
        explained = sums[:, n_rows:-1]  # groups x intents
        markers = sums[:, -1]
        if self._none is not None:
            explained[:, self._none] = markers
        query = np.array(weights, dtype=np.float32)[:, None]
        recall = shared / self._row_weight
        precision = shared / query
        np.maximum(precision, (explained / query) @ self._explain_by_intent, out=precision)
        # The F-measure, 0-100; the tiny term keeps 0/0 at 0 without a masked division.
        overlap = recall * precision
        overlap *= 200
        recall += precision
        recall += np.float32(1e-12)
        overlap /= recall
        return overlap, used, float(markers[0])

    def _best_phrasings(self, overlap: np.ndarray) -> np.ndarray:
        """Each intent's best `fuzzy_top` phrasings that score above 0, intent by intent."""
        keys = overlap.view(np.int32).astype(np.int64)
        keys <<= self._score_shift
        keys |= self._key_base
        keys.sort()
        tops = keys[self._top_at]
        return self._last - (tops[tops >= self._top_from] & self._place_mask)

    def _clause_lifts(self, overlap: np.ndarray) -> dict[int, float]:
        """The problems that a clause of a long message names clearly, each with its clause
        score less `clause_drop`: the least the problem scores for the whole message.

        Greetings, context and other topics dilute a long message's scores; a clause that on
        its own is clearly one problem ("..., mais depuis hier je ne reçois pas le mail pour
        réinitialiser mon mot de passe") says what the message is about. `overlap` is the
        clauses' keyword evidence: rapidfuzz per clause would cost too much. A clause
        closest to `none` or to a conversation move adds nothing, so it never outweighs a
        clause with a clear problem.
        """
        tuning = self.tuning
        # Each intent's best phrasing per clause: the phrasings are grouped by intent. A few
        # clauses of a few intents: plain Python reads them faster than NumPy would.
        lifts: dict[int, float] = {}
        for scores in np.maximum.reduceat(overlap, self._starts, axis=1).tolist():
            for i in self._empty_list:
                scores[i] = -1.0
            first = max(scores)
            top = scores.index(first)
            if not self._problem[top] or first < tuning.clause_clear:
                continue
            rival = max([-1.0, *(scores[i] for i in self._rivals[top])])
            # The lead as NumPy's single precision gives it.
            if np.float32(first) - np.float32(rival) >= tuning.clause_margin:
                lifts[top] = max(lifts.get(top, 0.0), first - tuning.clause_drop)
        return lifts

    def _rank(
        self, best: dict[int, float], used: np.ndarray, marker: float, known: list[int]
    ) -> tuple[tuple[Candidate, ...], float]:
        """Candidates best first, and the runner-up score that the margin is measured against.

        `marker` is the weight of the message's words that only `none` uses; `known` are the
        message's distinct known words (columns).
        """
        names = self._intents
        ranked = [Candidate(names[i], _tenth(s)) for i, s in best.items()]
        ranked.sort(key=_score, reverse=True)
        # Two problems nearly level: the one whose phrasings use the message's words more
        # often comes first, unless it trails by more than that evidence is worth (the margin
        # makes it a question either way; this orders its quick replies). Both forgot_password
        # and forgot_email have phrasings with "mot de passe", but few of forgot_email's do.
        if len(ranked) > 1 and ranked[0].score - ranked[1].score <= self.tuning.tie:
            first, second = ranked[0].intent, ranked[1].intent
            if first in PROBLEMS and second in PROBLEMS:
                odds = self._likelihood[known]
                ratio = float((odds[:, self._index[second]] - odds[:, self._index[first]]).sum())
                if ranked[1].score - ranked[0].score + self.tuning.tie_weight * ratio > 0:
                    ranked.insert(0, ranked.pop(1))
        best_first = ranked[0]
        # Specific beats generic: "je n'arrive pas à me connecter, j'ai oublié mon mot de
        # passe" names its problem with a word ("oublié") the symptom never uses; the
        # symptom's question would only delay the answer.
        top = ranked[0]
        for n, other in enumerate(ranked[1:], start=1):
            if top.score - other.score > self.tuning.symptom_yield:
                break
            if self._names_its_problem(used, other.intent, top.intent):
                ranked.insert(0, ranked.pop(n))
                break
        # Out of scope, unless the message also says what only one problem says: "j'ai
        # supprimé mon compte ... attendre 30 jours" is not a request to delete an account.
        top = ranked[0]
        if top.intent == NONE:
            for n, other in enumerate(ranked[1:], start=1):
                if top.score - other.score > self.tuning.none_yield:
                    break
                if other.intent in PROBLEMS and self._own_words(used, other.intent, NONE) >= (
                    self.tuning.none_distinctive
                ):
                    ranked.insert(0, ranked.pop(n))
                    break
        # And the other way round: "Netflix me dit que cette adresse est déjà utilisée" names
        # what only out-of-scope messages name (another company); the error text is not the
        # point. Not when a rule above already put a problem first on its own words.
        top = ranked[0]
        if (
            top is best_first
            and (top.intent in PROBLEMS or top.intent in SYMPTOMS)
            and marker >= self.tuning.none_marker
        ):
            for n, other in enumerate(ranked[1:], start=1):
                if top.score - other.score > self.tuning.none_back:
                    break
                if other.intent == NONE:
                    ranked.insert(0, ranked.pop(n))
                    break
        ranked[1:] = sorted(ranked[1:], key=_score, reverse=True)
        top = ranked[0]
        rivals = (c for c in ranked[1:] if not self._names_its_problem(used, top.intent, c.intent))
        runner_up = next(rivals, None)
        return tuple(ranked), runner_up.score if runner_up else 0.0

    def _names_its_problem(self, used: np.ndarray, problem: str, symptom: str) -> bool:
        """Whether the message has words of `problem` that the generic `symptom` never uses."""
        if problem not in self._symptom_candidates.get(symptom, ()):
            return False
        return self._own_words(used, problem, symptom) >= self.tuning.distinctive

    def _own_words(self, used: np.ndarray, intent: str, other: str) -> float:
        """The weight of the message's words that `intent` uses and `other` never does."""
        own = used[:, self._index[intent]] * (used[:, self._index[other]] == 0)
        return float(own.sum())

    def _decide(self, candidates: tuple[Candidate, ...], second: float) -> MatchDecision:
        tuning = self.tuning
        top = candidates[0]
        if top.intent == NONE or top.score < tuning.none_below:
            return "none"
        if (
            top.intent in SYMPTOMS
            or top.score < tuning.clarify_below
            or top.score - second < tuning.margin
        ):
            return "clarify"
        return "answer"
