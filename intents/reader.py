"""A customer's message read whole: the problems it names, in order, and what else it says.

The matcher ranks the catalogue's intents; the signals (intents/signals.py) say whether
the message is a safety matter, a request for a person, another Parallels topic, a reply
to the bot's question, a step already done, angry; the language detector names a language
other than French. `Reading.intent` is what `classify` reports: an article problem, a
symptom, a conversation move, or `none` for everything the article does not answer (a
safety matter and another topic included).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final, Literal

import numpy as np

from intents.anger import ANGER_PATH
from intents.anger import angry as learned_anger
from intents.catalogue import NONE, PROBLEMS, SYMPTOMS, Catalogue
from intents.language import LanguageDetector
from intents.matcher import Candidate, Match, Matcher
from intents.model import Model
from intents.replies import REPLIES_PATH, SURE, verdict
from intents.safety import SAFETY_PATH
from intents.safety import reason_in as learned_safety
from intents.signals import (
    FlatPattern,
    SignalReader,
    Signals,
    any_word,
    flat,
    without_secrets,
)

HUMAN: Final = "human"
# A message of fewer words than this, named English, may be another language of the
# conversation (see `Reading.language_after`).
SHORT_WORDS: Final = 5
# ...and fewer than this, named a neighbour of the conversation's language.
NEIGHBOUR_WORDS: Final = 10
_NEIGHBOURS: Final = frozenset(
    frozenset(pair) for pair in (("de", "nl"), ("es", "pt"), ("es", "it"), ("pt", "it"))
)
# A message whose best article problem or symptom scores this is about the article, even
# when it also names another topic.
ARTICLE_NEAR: Final = 75.0
# In a language the catalogue is not phrased in, the learned reading's probability from
# which its problem is the message's.
FOREIGN_SURE: Final = 0.5
# The learned reading's probability from which a problem told as a long story in a
# product's setting is the message's, though the matcher was unsure.
STORY_SURE: Final = 0.95


@dataclass(frozen=True, slots=True)
class Reading:
    """What one message says."""

    match: Match
    signals: Signals
    language: str | None = None
    # The article's problem the message names clearly, if any (what `classify` reports).
    problem: tuple[str, ...] = ()
    # Reads the message sentence by sentence, when asked for `problems`.
    _several: Callable[[], tuple[str, ...]] | None = None
    # Reads the message as a reply to an answer, when asked for `verdict`.
    _verdict: Callable[[float], str | None] | None = None
    # Reads what follows the message's turn to something new, when asked for `turned_to`.
    _turned: Callable[[], tuple[str, ...]] | None = None
    # Reads the message's anger with the learned model, when asked for `angry`.
    _angry: Callable[[], bool] | None = None
    # Whether a message in no plain language still leans to a given one, when asked by
    # `language_after`.
    _leaning: Callable[[str], bool] | None = None
    _cache: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The whole message as sent, its secrets masked: the match may have read only part of
    # it (a thanks around a problem is set aside).
    message: str = ""

    @property
    def verdict(self) -> str | None:
        """What the message says of an answer just given, by the learned reading of
        replies, when it is sure: yes, no, wait, done or none (intents/replies.py)."""
        return self.verdict_at(SURE)

    def verdict_at(self, sure: float) -> str | None:
        """The same, when the model is at least `sure` of it."""
        return self._verdict(sure) if self._verdict is not None else None

    def language_after(self, previous: str | None) -> str | None:
        """The message's language, given the one the customer wrote in just before: "I
        can't log in" after an English message is English, though too short to say so alone."""
        if previous is None or self._leaning is None or self.language == previous:
            return self.language
        # A short message is English first to the detector ("Danke, ich schaue nach"): in
        # a conversation in another language, that language is asked about too.
        words = len(self.match.text.split())
        short = self.language == "en" and words < SHORT_WORDS
        # Short too, for the detectors, is a message of a neighbour of the conversation's
        # language: "helder, bedankt" German, "É o de recuperar a palavra-passe" Italian.
        near = words < NEIGHBOUR_WORDS and frozenset({self.language, previous}) in _NEIGHBOURS
        if self.language is not None and not short and not near:
            return self.language
        return previous if self._leaning(previous) else self.language

    @property
    def angry(self) -> bool:
        """Whether the customer is angry: the signals say so, or the learned reading of
        anger is sure of it (intents/anger.py)."""
        if self.signals.angry:
            return True
        if (self.problem or self.match.intent in SYMPTOMS) and _SARCASM_END_RE.search(
            self.match.text[-SARCASM_CHARS:]
        ):
            # "… « adresse supprimée … pendant au moins 30 jours ». Trente jours.
            # Formidable.": praise alone closing a problem is sarcasm.
            return True
        return self._angry is not None and self._angry()

    @property
    def turned_to(self) -> tuple[str, ...]:
        """The problems named by what follows the message's turn to something new ("trouvé,
        c'était la vieille hotmail. Et du coup maintenant il me faut le mot de passe, que
        j'ai oublié aussi"), read on its own; none when it does not turn."""
        if "turned_to" not in self._cache:
            self._cache["turned_to"] = self._turned() if self._turned is not None else ()
        return self._cache["turned_to"]

    @property
    def problems(self) -> tuple[str, ...]:
        """The article's problems the message names clearly, in the customer's order:
        usually one; two for "j'ai oublié mon mot de passe et en plus mon adresse"."""
        if "problems" not in self._cache:
            several = self._several() if self._several is not None else ()
            if {"forgot_email", "lost_email_access"} <= set(several) and not (
                _FORGOT_ANY_RE.search(flat(self.match.text))
            ):
                # "c'est l'adresse avec laquelle je me suis inscrit, et j'y ai plus accès":
                # the address of the account is known, only out of reach.
                self._cache["problems"] = tuple(p for p in several if p != "forgot_email")
                return self._cache["problems"]
            self._cache["problems"] = several if len(several) > 1 else self.problem
        return self._cache["problems"]

    @property
    def intent(self) -> str:
        """The message's intent: an article problem, a symptom, a conversation move, or
        `none` (which includes safety matters and other topics)."""
        if self.signals.safety is not None:
            return NONE
        if self.signals.human:
            return HUMAN
        if self.problem:
            return self.problem[0]
        if self.signals.topic or self.signals.elsewhere:
            return NONE
        return self.match.intent

    @property
    def decision(self) -> str:
        """What the intent calls for: answer, clarify, or none."""
        intent = self.intent
        if intent == NONE:
            return "none"
        if self.problem or intent == HUMAN:
            return "answer"
        return self.match.decision

    @property
    def symptom(self) -> str | None:
        """The generic symptom the message describes, when it names no clear problem."""
        signals = self.signals
        if self.problem or signals.topic or signals.elsewhere or self.match.intent not in SYMPTOMS:
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
        replies: Model | Literal["default"] | None = "default",
        anger: Model | Literal["default"] | None = "default",
        safety: Model | Literal["default"] | None = "default",
    ) -> None:
        self.replies = Model.load(REPLIES_PATH) if replies == "default" else replies
        self.anger = Model.load(ANGER_PATH) if anger == "default" else anger
        self.safety = Model.load(SAFETY_PATH) if safety == "default" else safety
        # Every message is read for safety: with the matcher's own learned reading.
        self.matcher = matcher or Matcher(catalogue, also=[self.safety] if self.safety else [])
        self.signals = signals or SignalReader()
        self.languages = languages or LanguageDetector(self.signals.french_words)
        normalize = self.matcher.normalizer.normalize
        #: Each symptom's problems, those its clarifying question offers.
        self._choices = {
            i.id: frozenset(i.candidates) for i in catalogue.intents if i.id in SYMPTOMS
        }
        #: Each problem's quick-reply title and full name, as tokens: "celui du mot de
        #: passe" names the reset e-mail ("E-mail de réinitialisation du mot de passe …").
        self.title_words = {
            i.id: frozenset(normalize(f"{i.label} {i.name or ''}").tokens)
            for i in catalogue.intents
            if i.id in PROBLEMS
        }

    def read(self, text: str) -> Reading:
        original = text
        text = without_secrets(text)
        sent = text
        # "Ce n'est pas le mot de passe de ma VM, c'est celui du compte": what the customer
        # says it is not is left out of the reading.
        kept = _without_denied(text)
        if kept != text and len(flat(kept).split()) >= DENIAL_REST_WORDS:
            text = kept
        words = flat(text)
        if any(name in words for name in _COMPETITORS):
            # "Dernière chance avant que je passe chez VMware : j'ai oublié mon mot de
            # passe": a threat to leave names a competitor, not the customer's topic.
            text = _LEAVING_FOR_RE.sub(" ", text)
            words = flat(text)
        signals = self.signals.read(original, words)
        match = self.matcher.match(text)
        if signals.safety is None and self.safety is not None:
            # A safety matter in words the signals do not know, named by the learned reading.
            danger = learned_safety(_learned(match, self.safety))
            if danger is not None:
                signals = signals.with_safety(danger)
        if match.intent in _MOVES and match.candidates:
            # "cc jai oublié mon mdp", "… Merci de m'aider": a greeting or thanks around a
            # problem does not outweigh it; what is left once they go is read on its own.
            rest = _MOVES_RE.sub(" ", words).strip()
            if len(rest.split()) >= 2 and rest != words:
                other = self.matcher.match(rest)
                if other.intent not in _MOVES and other.decision != "none":
                    match = other
                elif (
                    match.intent == "greeting"
                    and len(rest.split()) > GREETING_REST_WORDS
                    and _PLEASANTRY_RE.search(rest) is None
                ):
                    # "Salut, est-ce qu'on peut activer la double authentification sur un
                    # compte my.parallels ?": a greeting before a whole request is not
                    # the message; "Bonjour, j'ai une petite question" still is one.
                    match = self.matcher.without(match, _MOVES)
        needed = _SYMPTOM_SAID.get(match.intent)
        if (
            needed is not None
            and len(words.split()) <= VAGUE_WORDS
            and not any(_any(words, parts) for parts in needed)
        ):
            # "ça bug", "le machin là il veut pas", "bon alors ça vient ?": a few words that
            # name nothing of the symptom; its question would guess what the customer meant.
            match = replace(match, decision="none")
        if (
            match.decision == "none"
            and "?" not in text
            and (hello := _GREETING_START_RE.match(words)) is not None
            and _INTRODUCTION_RE.match(words, hello.end())
            and _REQUEST_RE.search(words) is None
            and signals.safety is None
            and not signals.human
        ):
            # "Bonjour, Maître Durand, avocat au barreau de Lyon": a greeting, then who is
            # writing; the problem comes next.
            greeting = Candidate("greeting", max(match.score, self.matcher.tuning.clarify_below))
            others = tuple(c for c in match.candidates if c.intent != "greeting")
            match = replace(match, candidates=(greeting, *others), decision="answer")
        if match.intent == "thanks" and signals.feedback == "no":
            # "re, j'ai essayé ce que vous m'avez dit et ça marche toujours pas": what does
            # not work is no thanks; the next reading decides.
            match = self.matcher.without(match, _MOVES)
        if match.intent == "greeting" and _GREETING_RE.search(words) is None:
            # "Toujours pas de mail depuis ce matin": no greeting is said ("matin" is the
            # Québécois "bon matin"'s); the next reading decides.
            match = self.matcher.without(match, _MOVES)
        if (
            match.decision == "clarify"
            and len(match.candidates) > 1
            and match.candidates[0].intent in SYMPTOMS
            and match.candidates[1].intent in SYMPTOMS
            and match.margin < self.matcher.tuning.margin
        ):
            # "ben ça fonctionne pas quoi", "j'ai un problème": as close to making an account
            # as to signing in, so neither is said; the customer is asked to say more.
            match = replace(match, decision="none")
        if match.decision != "answer":
            # "Oui ça marche. Et pour un compte entreprise ?": a reply to the bot's question
            # first, then something new; what follows the reply is read on its own.
            pieces = _FIRST_CLAUSE_RE.split(text, maxsplit=1)
            lead, rest = pieces[0], pieces[1] if len(pieces) > 1 else ""
            if (
                rest
                and len(words.split()) <= REPLY_MAX_WORDS
                and _REPLY_LEAD_RE.match(flat(lead))
                and len(flat(rest).split()) >= 3
            ):
                other = self.matcher.match(rest)
                if other.intent in PROBLEMS and (other.decision == "answer" or _plain(other)):
                    match = other
        if (
            signals.safety is None
            and not signals.human
            and not signals.elsewhere
            and _any(words, _CREATE_WORDS)
            and _CANNOT_CREATE_RE.search(words)
        ):
            # "Pas moyen de créer mon compte, j'ai essayé Safari et Chrome", "l'inscription
            # plante": the symptom in words the phrasings do not use, however diluted; a
            # licence to register or a crash is its context, not another topic.
            if match.decision != "answer" or match.intent not in _CREATION:
                # In doubt between the creation problems, their symptom's question asks.
                match = self.matcher.preferring(match, "cannot_create_account")
            signals = signals.without_topic()
        if (
            match.decision == "none"
            and signals.safety is None
            and not signals.human
            and not signals.topic
            and not signals.elsewhere
            and (
                (_any(words, _PASSWORD_WORDS) and _WRONG_CREDENTIALS_RE.search(words))
                or _LOCKED_RE.search(words)
                or _CANNOT_SIGN_IN_RE.search(words)
            )
            and not _DEVICE_SIGN_IN_RE.search(words)
        ):
            # "Pourquoi il me dit que mon mot de passe est faux alors que je viens de le
            # taper correctement ?", "mon compte est bloqué": the sign-in symptom, asked
            # about.
            match = self.matcher.preferring(match, "invalid_credentials")
        elif (
            match.intent == "cannot_create_account"
            and match.decision == "clarify"
            and _OWN_ACCOUNT_SHUT_RE.search(words)
        ):
            # "Notre compte ne veut plus s'ouvrir": an account that opened before, the
            # customer's own; signing in, not making one.
            match = self.matcher.preferring(match, "invalid_credentials")
        elif (
            match.intent == "business_account"
            and _BUSINESS_HELD_RE.search(words)
            and _CANNOT_SIGN_IN_RE.search(words)
            and not _any(words, _CREATE_WORDS)
        ):
            # "J'ai un compte pro et je n'arrive plus à me connecter": the business account
            # exists; signing in to it is the problem, not making one.
            match = self.matcher.preferring(match, "invalid_credentials")
        if (
            match.decision == "none"
            # The nearest intent, once "nothing" is left aside: "le mail de vérification
            # met des heures à arriver" is nearer nothing than no e-mail, by its words.
            and next((c.intent for c in match.candidates if c.intent != NONE), None)
            in MISSING_MAIL_FAMILY
            and signals.safety is None
            and not signals.human
            and not signals.topic
            and not signals.elsewhere
            and _any(words, _MAIL_WORDS)
            and _MAIL_MISSING_RE.search(words)
        ):
            # "J'attends depuis hier un courriel de Parallels qui n'arrive pas, mon
            # fournisseur est Free": an e-mail that does not come, told at length; which
            # one is asked.
            match = self.matcher.preferring(match, "no_email_received")
        if (
            match.decision == "clarify"
            and match.intent == "no_email_received"
            and _PASSWORD_RE.search(words)
            and not DEVICE_NAMED_RE.search(words)
        ):
            # "le lien pr le mdp jrecois rien": the e-mail for the password, no device
            # named, is the reset e-mail.
            scores = {c.intent: c.score for c in match.candidates}
            if scores.get("reset_email_missing", 0.0) >= RESET_NEAR:
                reset = self.matcher.without(match, frozenset({"no_email_received"}))
                if reset.intent == "reset_email_missing":
                    match = replace(reset, decision="answer")
        elif (
            match.decision == "clarify"
            and match.intent == "reset_email_missing"
            and "forgot_password" in {c.intent for c in match.candidates[:2]}
            and not _any(words, _RECEIVED_WORDS)
            and _EMAIL_NOUN_RE.search(words) is None
            and signals.safety is None
            and not signals.elsewhere
        ):
            # "C'est quoi le lien pour réinitialiser mon mdp ?": the reset asked for, no
            # e-mail said missing; the link that starts it is the answer.
            link = self.matcher.without(match, frozenset({"reset_email_missing"}))
            if link.intent == "forgot_password":
                match = replace(link, decision="answer")
        language = self.languages.language(text, words) if words else None
        if (
            _any(words, _LANGUAGE_NAMES)
            and (asked := _SPEAKS_RE.search(words)) is not None
            and asked.lastgroup is not None
        ):
            # "Sprechen Sie Deutsch?", "vcs falam portugues?": too short for the detector,
            # the language asked about is the customer's.
            language = asked.lastgroup
        if language is None and _any(words, _PASTED_FRENCH_WORDS):
            # "Hallo, beim Registrieren bekomme ich immer: Cette adresse mail est déjà
            # utilisée": the article's French, pasted, is not the customer's language.
            own = _PASTED_FRENCH_RE.sub(" ", words)
            if own != words and own.strip():
                language = self.languages.language(own, own)
        problems: tuple[str, ...] = ()
        if (match.decision == "answer" or _plain(match)) and match.intent in PROBLEMS:
            problems = () if signals.elsewhere else (match.intent,)
        elif (
            language is not None
            and (language != "en" or match.decision == "none")
            and self.matcher.model is not None
            and signals.safety is None
            and not signals.human
            and not signals.elsewhere
        ):
            # The catalogue is phrased in French and English: in another language the
            # words the matcher knows are few, and the learned reading, which has read
            # customers in that language, decides when it is sure. A symptom it is sure of
            # is asked about ("Ich komme nicht in mein Konto", "Your signup page won't let
            # me register"), in English too when the matcher found nothing.
            learned = _learned(match, self.matcher.model)
            best = int(learned.argmax())
            intent = self.matcher.model.intents[best]
            sure = float(learned[best]) >= FOREIGN_SURE
            if sure and intent in PROBLEMS and language != "en":
                problems = (intent,)
            elif sure and intent in SYMPTOMS and match.decision == "none":
                # Scored as sure as the learned reading is: the symptom's question follows.
                match = self.matcher.preferring(match, intent)
                first = match.candidates[0]
                sure_score = max(first.score, round(100 * float(learned[best]), 1))
                match = replace(
                    match, candidates=(Candidate(intent, sure_score), *match.candidates[1:])
                )
        # Another topic can change the reading only of a message that is neither plainly
        # nothing nor plainly an account problem (read when needed: it costs a scan).
        unsure = not problems or problems == ("business_account",)
        if unsure and match.decision != "none" and signals.topic:
            near = _near_article(match, words) or (
                _ARTICLE_ERROR_RE.search(words) is not None
                and (match.intent in PROBLEMS or match.intent in SYMPTOMS)
            )
            if _topic_business(problems, words) or (problems and not near):
                # "Comment on passe en pro ?": the edition, not the business account, when
                # the message does not speak of the account.
                problems = ()
            elif (
                near
                and not signals.elsewhere
                and not _LICENCE_ERROR_RE.search(words)
                and not _OTHER_CONNECTION_RE.search(words)
                and not _ACCOUNT_MANAGED_RE.search(words)
            ):
                # "J'ai acheté une licence mais j'ai oublié mon mot de passe de compte": the
                # account problem is the point, the licence its context.
                signals = signals.without_topic()
            elif (
                not problems
                and match.decision == "clarify"
                and match.intent in PROBLEMS
                and self.matcher.model is not None
                and not signals.elsewhere
                and not _LICENCE_ERROR_RE.search(words)
                and not _OTHER_CONNECTION_RE.search(words)
                and not _ACCOUNT_MANAGED_RE.search(words)
            ):
                # "My grandson installed Parallels on my iMac for an old Windows program …
                # I do not know the password": a story the matcher finds far from the
                # article, the product its setting; the learned reading, which has read
                # such stories and the other topics too, is all but certain of the problem.
                learned = _learned(match, self.matcher.model)
                if float(learned[self.matcher.model.intents.index(match.intent)]) >= STORY_SURE:
                    problems = (match.intent,)
                    signals = signals.without_topic()
        if (
            not problems
            and match.decision == "clarify"
            and {c.intent for c in match.candidates[:2]} == _ACCESS_PAIR
            and _PLAIN_FORGOT_RE.search(words)
            and not _MAILBOX_RE.search(words)
            and not signals.elsewhere
        ):
            # "J'ai plus accès à mon compte, mdp oublié": the access lost is the account's,
            # because of the password; no mailbox is named.
            problems = ("forgot_password",)
        if (
            not problems
            and match.decision == "clarify"
            and (
                {c.intent for c in match.candidates[:2]} == _FORGOT_PAIR
                or (
                    match.intent == "invalid_credentials"
                    and "forgot_password" in {c.intent for c in match.candidates[:3]}
                )
            )
            and _PLAIN_FORGOT_RE.search(words)
            and _PASSWORD_RE.search(words)
            and not _MAILBOX_RE.search(words)
            and not _LOGIN_RE.search(words)
            and not signals.elsewhere
        ):
            # "Le mot de passe de mon compte parallels, je l'ai oublié", "jai plus le mdp pr
            # me log": forgotten, the password is named and no address is.
            problems = ("forgot_password",)
        if (
            not problems
            and match.decision == "clarify"
            and (match.intent in _RESET_FAMILY or match.intent == "invalid_credentials")
            and signals.took("reset_link")
            and not signals.elsewhere
        ):
            # "Ça dit adresse déjà utilisée, j'ai fait mot de passe oublié mais le mail
            # arrive pas": whichever the top, the link was used and its e-mail is missing.
            scores = {c.intent: c.score for c in match.candidates}
            # The e-mail that did not come, after that link, is the reset e-mail.
            nothing_came = _NOT_COME_RE.search(words) is not None
            floor = (
                RESET_NEAR if match.intent == "no_email_received" or nothing_came else RESET_CLEAR
            )
            # "Mot de passe non valide, j'ai fait un reset password mais le mail arrive
            # jamais": after a sign-in refused, only an e-mail said missing is the problem.
            missing = nothing_came or match.intent != "invalid_credentials"
            if missing and scores.get("reset_email_missing", 0.0) >= floor:
                problems = ("reset_email_missing",)
        if (
            problems
            and problems[0] in RESET_LINK_ANSWERS
            and signals.took("reset_link")
            and not _MAIL_CAME_RE.search(words)
        ):
            # "J'ai fait mot de passe oublié mais le mail arrive pas": the link that answer
            # gives was used; what follows it in the article is the missing reset e-mail.
            scores = {c.intent: c.score for c in match.candidates}
            if scores.get("reset_email_missing", 0.0) >= RESET_NEAR:
                problems = ("reset_email_missing",)
        if problems == ("reset_email_missing",) and _LINK_EXPIRED_RE.search(words):
            # "… j'ai bien reçu le mail, mais le lien a expiré": the e-mail came; what
            # failed is not in the article.
            problems = ()
        if (
            problems == ("lost_email_access",)
            and _TRANSFER_RE.search(words)
            and _LOSS_RE.search(words) is None
        ):
            # "Je veux transférer ma licence sur mon nouveau compte": moving a licence,
            # without a mailbox lost, is the licence team's topic.
            problems = ()
        if (
            problems in ((), ("forgot_email",), ("email_deleted",))
            and signals.safety is None
            and not signals.human
            and not signals.elsewhere
            and _any(words, _GONE_WORDS)
            and _ADDRESS_GONE_RE.search(words)
            and _PARALLELS_ACCOUNT_RE.search(words)
        ):
            # "L'adresse de la fac de mon compte Parallels a été désactivée", "ancien mail
            # inaccessible, compte parallels dessus avec 2 licences": the mailbox is gone;
            # the licences to move are what that answer's assistance does.
            problems = ("lost_email_access",)
            signals = signals.without_topic()
        pasted: tuple[str, ...] = ()
        if (
            len(problems) <= 1
            and signals.safety is None
            and not signals.human
            and not signals.elsewhere
            and (not signals.topic or _NAMED_ACCOUNT_RE.search(words))
            and not _MAILED_RE.search(words)
        ):
            # "« ce mot de passe est largement utilisé » euh je fais comment": the error
            # message of a problem, pasted or told, names it whatever surrounds it (not when
            # an e-mail says it: that is someone else's message, maybe a fraud).
            sayings = _sayings(words)
            pasted = tuple(problem for _, problem in sayings)
            beside = _beside(match, problems, sayings, words)
            if beside:
                beside = self._told_order(text, *beside)
                # "Je ne sais plus quelle adresse j'ai utilisée, et quand je demande la
                # réinitialisation avec celle qui me semble la bonne, je ne reçois rien":
                # the whole message's problem, and another said plainly beside it.
                pasted = beside
            elif problems and (len(pasted) < 2 or problems[0] not in pasted):
                # One problem read already: the sayings count only when they name it and
                # another ("compte pro … et cette adresse est déjà utilisée").
                pasted = ()
            if pasted:
                problems = pasted[:1]
                signals = signals.without_topic()
        if problems and set(problems) <= RESET_PROBLEMS and signals.took("reset_email"):
            # "Le lien de réinitialisation est arrivé, mais mon nouveau mdp il dit qu'il est
            # largement utilisé": the reset's e-mail came; the error said after it is the
            # problem.
            after = tuple(p for _, p in _sayings(words) if p not in RESET_PROBLEMS)
            if after:
                problems = after[:1]
        several = None
        long = len(words.split()) >= SEVERAL_FROM
        # In another language, its own "and" joins two problems ("Ich habe mein Passwort
        # vergessen und außerdem …"), and splits the clauses.
        own_and = _AND_IN.get(language or "")
        joined = long and (
            _SEVERAL_RE.search(words) is not None
            or "+" in text
            or " / " in text
            # "mon adresse a été supprimée, il faut attendre 30 jours. en attendant comment je
            # crée un compte pro ?": sentences one after the other, when the whole message
            # reads as two problems already.
            or (_NEXT_SENTENCE_RE.search(text) is not None and _two_problems(match))
            or (own_and is not None and own_and[0].search(words) is not None)
        )
        # A message in doubt as a whole may join its two problems with "mais" too.
        contrasted = joined or (long and _BUT_RE.search(words) is not None)
        if len(pasted) > 1:
            several = functools.partial(tuple, pasted)
        elif problems and joined:
            several = functools.partial(self._several, text, language)
        elif (
            not problems
            and contrasted
            and match.decision == "clarify"
            and (match.intent in PROBLEMS or match.intent in SYMPTOMS)
            and _two_problems(match)
            and signals.safety is None
            and not signals.elsewhere
            and not signals.topic
        ):
            # Two close problems because the message names both ("je reçois ni le mail de
            # réinitialisation, ni celui pour autoriser mon ordinateur"): each clause, read
            # alone, is clearly one of them; both are answered.
            found = self._several(text, language)
            if len(found) < 2 and joined:
                # "jme souvien pu de mon mdp ni de ladresse mail": both said clearly by the
                # whole message, though no clause alone names the second.
                found = self._both_clear(text, match) or found
            if len(found) > 1:
                problems = (found[0],)
                several = functools.partial(tuple, found)
        elif (
            not problems
            and joined
            and language not in (None, "en")
            and signals.safety is None
            and not signals.human
            and not signals.elsewhere
        ):
            # "Já não tenho acesso ao e-mail … e, além disso, preciso de criar uma conta
            # para a empresa": two problems, each clause read by the learned reading.
            found = self._several(text, language)
            if len(found) > 1:
                problems = (found[0],)
                several = functools.partial(tuple, found)
        if (
            not problems
            and several is None
            and match.decision == "clarify"
            and match.intent in SYMPTOMS
            and long
            and signals.safety is None
            and not signals.human
            and not signals.topic
            and not signals.elsewhere
        ):
            # "I can't sign in … invalid email or password, and I'm not sure which email I
            # registered with": the symptom, then a clause that says which of its problems.
            choices = self._choices[match.intent]
            near = any(c.score >= CLAUSE_HINT for c in match.candidates if c.intent in choices)
            named = self._said_in_a_clause(text, choices) if near else None
            if named is not None:
                problems = (named,)
        said = None
        if self.replies is not None:
            said = functools.partial(verdict, self.replies, match.normalized, match.text)
        turned = functools.partial(self._turned_to, text)
        anger = None
        if self.anger is not None:
            anger = functools.partial(learned_anger, self.anger, match.normalized, match.text)
        leaning = None
        if words:
            leaning = functools.partial(self.languages.leans_to, text, words)
        return Reading(
            match,
            signals,
            language,
            problems,
            several,
            said,
            turned,
            anger,
            _leaning=leaning,
            message=sent,
        )

    def _told_order(self, text: str, whole: str, said: str) -> tuple[str, ...]:
        """`whole` (the message's problem) and `said` (said plainly beside it), in the order
        the message's clauses tell them: the first clause that says `said` plainly or reads
        as either alone decides."""
        for piece in _CLAUSE_SPLIT.split(text[:SEVERAL_CHARS]):
            words = flat(piece)
            if not words:
                continue
            if said in _said_plainly(words):
                return (said, whole)
            match = self.matcher.match(piece)
            if match.decision == "answer" and match.intent in (whole, said):
                return (whole, said) if match.intent == whole else (said, whole)
        return (said, whole)

    def _turned_to(self, text: str) -> tuple[str, ...]:
        """The problems that what follows the first turn to something new names, read alone
        (see `Reading.turned_to`)."""
        found = _TURN_RE.search(text[:SEVERAL_CHARS])
        if found is None:
            return ()
        rest = text[found.start(1) :]
        if len(flat(rest).split()) < TURN_REST_WORDS:
            return ()
        return self.read(rest).problems

    def _said_in_a_clause(self, text: str, problems: frozenset[str]) -> str | None:
        """The one problem of `problems` that a clause of the message, read alone, names
        beyond doubt (`CLAUSE_SURE`, `SEVERAL_LEAD` ahead of anything else); None when no
        clause does, or clauses name different ones."""
        named = set()
        for piece in _CLAUSE_SPLIT.split(text[:SEVERAL_CHARS]):
            words = flat(piece)
            if len(words.split()) < 3 or _DENIAL_RE.search(words):
                continue
            match = self.matcher.match(piece)
            if (
                match.decision == "answer"
                and match.intent in problems
                and match.score >= CLAUSE_SURE
                and match.margin >= SEVERAL_LEAD
            ):
                named.add(match.intent)
        return named.pop() if len(named) == 1 else None

    def _both_clear(self, text: str, match: Match) -> tuple[str, ...]:
        """The two best problems, when both score `BOTH_CLEAR`, in the order the message
        names them (the first clause that reads as one of them); none otherwise."""
        pair = [c.intent for c in match.candidates[:3] if c.intent in PROBLEMS]
        scores = {c.intent: c.score for c in match.candidates}
        if len(pair) < 2 or min(scores[p] for p in pair[:2]) < BOTH_CLEAR:
            return ()
        first, second = pair[:2]
        for piece in _CLAUSE_SPLIT.split(text[:SEVERAL_CHARS]):
            candidates = self.matcher.match(piece).candidates
            if candidates and candidates[0].intent in (first, second):
                if candidates[0].intent == second:
                    first, second = second, first
                break
        return (first, second)

    def _step_taken(self, words: str) -> bool:
        """Whether a clause only says an article's step was taken: no failure with it."""
        signals = self.signals.read(words, words)
        return bool(signals.done) and signals.feedback != "no"

    def _several(self, text: str, language: str | None = None) -> tuple[str, ...]:
        """The problems a message names clearly one sentence or clause each, in order.

        A clause counts when, read alone, it is clearly one problem (a high score, or a
        fair one far ahead of anything else), and
        does not deny it ("je n'ai pas oublié mon mot de passe"). The reset e-mail that does
        not arrive is what follows the "Mot de passe oublié" link (forgot_password,
        email_in_use): the customer who names both is answered the last. An address
        "déjà utilisée" and one "supprimée" are two readings of one error message: the
        message as a whole decides.
        """
        found: list[str] = []
        said: dict[str, str] = {}
        mail = False
        # The clause before said the « Mot de passe oublié » link was used.
        linked = False
        split = _AND_IN[language][1] if language in _AND_IN else _CLAUSE_SPLIT
        for piece in split.split(text[:SEVERAL_CHARS]):
            words = flat(piece)
            if (
                linked
                and "reset_email_missing" not in found
                and (_NOT_COME_RE.search(words) or _MAIL_MISSING_RE.search(words))
                and not DEVICE_NAMED_RE.search(words)
            ):
                # "J'ai fait mot de passe oublié : aucun mail. Et sur le Mac du bureau …": the
                # link used, then nothing came; that is the reset e-mail.
                found.append("reset_email_missing")
                said["reset_email_missing"] = words
            linked = bool(words) and self.signals.read(words, words).took("reset_link")
            if mail and _THAT_ONE_START_RE.match(words):
                # "… ni le mail pour autoriser mon navigateur, ni celui pour réinitialiser
                # mon mot de passe": "celui" is an e-mail too.
                piece = _THAT_ONE_START_RE.sub("le mail ", words, count=1)
                words = piece
            mail = mail or _MAIL_NOUN_RE.search(words) is not None
            if len(words.split()) < 2 or _DENIAL_RE.search(words) or _HELP_RE.match(words):
                continue
            match = self.matcher.match(piece)
            if (
                match.decision == "answer"
                and match.intent in PROBLEMS
                # "… et j'ai déjà créé un nouveau compte avec ma nouvelle adresse": a step
                # taken, said alone, is no problem of its own; "je reçois pas le mail de
                # réinitialisation (spams déjà vérifiés)" says its e-mail missing too.
                and not (self._step_taken(words) and not _says_missing(words))
                # "il me faudrait" alone is no problem, however the matcher scores it.
                and len(set(match.normalized.tokens)) >= CLAUSE_TOKENS
                and (
                    match.score >= SEVERAL_SCORE
                    or (match.score >= SEVERAL_FLOOR and match.margin >= SEVERAL_LEAD)
                )
                and match.intent not in found
            ):
                found.append(match.intent)
                said[match.intent] = words
            elif (
                language not in (None, "en")
                and self.matcher.model is not None
                and len(words.split()) >= CLAUSE_TOKENS
                and not self._step_taken(words)
            ):
                # "Já não tenho acesso ao e-mail … e, além disso, preciso de criar uma conta
                # para a empresa": in a language the catalogue is not phrased in, a clause
                # is the learned reading's when it is sure, as a whole message is.
                learned = _learned(match, self.matcher.model)
                best = int(learned.argmax())
                intent = self.matcher.model.intents[best]
                if intent in PROBLEMS and learned[best] >= FOREIGN_SURE and intent not in found:
                    found.append(intent)
                    said[intent] = words
        if found and "forgot_password" not in found and _PASSWORD_TOO_RE.search(flat(text)):
            # "… je ne sais plus avec quelle adresse, et le mot de passe, n'en parlons pas,
            # je l'ai complètement oublié": the password's clause names it, the next one
            # says it is forgotten.
            found.append("forgot_password")
        forgotten_beside_device = (
            "device_email_missing" in found
            and _FORGOTTEN_RE.search(said.get("forgot_password", "")) is not None
            and _MAIL_MISSING_RE.search(said.get("forgot_password", "")) is None
        )
        if (
            "forgot_password" in found
            and _MAIL_MISSING_RE.search(flat(text))
            # "je ne reçois pas le mail pour valider mon iPad et en plus j'ai oublié mon mot
            # de passe": the e-mail missing is the device's; the password is forgotten.
            and not forgotten_beside_device
        ):
            # "Aucun mail n'arrive : ni celui pour réinitialiser mon mot de passe, ni …":
            # the clause names the reset, the message says its e-mail does not come.
            found = ["reset_email_missing" if p == "forgot_password" else p for p in found]
            found = list(dict.fromkeys(found))
        if "reset_email_missing" in found:
            # An address "déjà utilisée" said after the reset e-mail is a second account
            # tried since ("… aucun mail de réinitialisation, et quand je veux refaire un
            # compte : adresse déjà utilisée"), not the story that led to the link.
            at = found.index("reset_email_missing")
            # "… adresse déjà utilisée, et le mail du mot de passe oublié n'arrive pas non
            # plus": the reset e-mail said to be missing as well is a second problem.
            also = ALSO_MISSING_RE.search(said.get("reset_email_missing", "")) is not None
            found = [
                p
                for n, p in enumerate(found)
                if p != "forgot_password" and (p != "email_in_use" or n > at or also)
            ]
        if {"device_email_missing", "reset_email_missing"} <= set(found) and (
            _RESET_NAMED_RE.search(flat(text)) is None
        ):
            # "Il faut confirmer le navigateur par mail, mais rien ne vient": one e-mail
            # missing, said twice; the reset e-mail is another only when it is named.
            found.remove("reset_email_missing")
        if {"email_in_use", "email_deleted"} <= set(found) and _DELETED_RE.search(
            said["email_in_use"]
        ):
            return ()
        return tuple(found)


# A turn to something new after what a message said first: after a sentence or a clause,
# one of these; what follows is read on its own when that is what is asked.
_TURN_RE: Final = re.compile(
    r"(?:[.;:!?,]|\s[-–—])\s*((?:et )?(?:du coup|maintenant|mtn|par contre|sinon|en revanche"
    r"|autre (?:chose|question|souci|problème)|sauf que|mais|et pour|et aussi|par ailleurs"
    r"|cependant|pourtant|en plus|et"
    # In the languages of the note: "yes that worked thanks, but how do I …", "sì perfetto.
    # ma la nuova password …", "achei o email, obrigado! mas …".
    r"|but|however|also|one more thing|and how|per[oò]|otra cosa|ma|mas|s[oó] mais uma coisa"
    r"|mais uma coisa|aber|und noch|noch was|maar|nog iets|nog een vraag))\b",
    re.IGNORECASE,
)
TURN_REST_WORDS: Final = 4

# Answers that give the "Mot de passe oublié" link, and how close the missing reset e-mail
# must be for a customer who says they used that link to be answered about it instead.
RESET_LINK_ANSWERS: Final = frozenset({"forgot_password", "email_in_use"})
#: The problems the password reset settles: the link's answers and its e-mail's.
RESET_PROBLEMS: Final = RESET_LINK_ANSWERS | {"reset_email_missing"}
RESET_NEAR: Final = 60.0
# A message in doubt between the forgotten password and the mailbox lost, that says the
# password is forgotten and names no mailbox, is about the password.
_ACCESS_PAIR: Final = frozenset({"forgot_password", "lost_email_access"})
_PLAIN_FORGOT_RE: Final = FlatPattern(
    r"\b(oubli\w*|perdu|zappe|sais plus|souviens plus|rappelle plus|sais pu|souviens pu"
    r"|rappelle pu|retrouve plus|retrouve pu|me rappeler|me souvenir|egare|egaree"
    r"|m en souvenir|men souvenir|m en rappeler|men rappeler)\b"
    r"|\b(j ai|jai|g|ai) (plus|pu) (le |mon )?(mot de passe|mdp|password)\b"
)
_FORGOT_PAIR: Final = frozenset({"forgot_password", "forgot_email"})
_PASSWORD_RE: Final = FlatPattern(r"\b(mot de passe|mots de passe|mdp|password|passwd|pwd)\b")
# A device or browser named: the e-mail missing may be the one that authorises it.
DEVICE_NAMED_RE: Final = re.compile(
    r"\b(mac|macbook|imac|pc|ordi|ordinateur|navigateur|iphone|ipad|appareil|telephone"
    r"|tablette|portable|device|browser|chrome|safari|firefox|edge|valider|autoriser|confirmer"
    r"|verifier|verification|validation|autorisation|confirmation)\b"
)
_LOGIN_RE: Final = FlatPattern(r"\b(identifiant\w*|login|nom d utilisateur|username)\b")
_MAILBOX_RE: Final = FlatPattern(
    r"\b(mail|mails|e mail|email|boite|boites|adresse|adresses|courriel|messagerie|gmail"
    r"|hotmail|outlook|yahoo|icloud|orange|free|sfr|laposte|fournisseur|proton\w*)\b"
)
# A message in doubt between these, that says the link was used, is about the reset e-mail
# when that scores this.
# The e-mails that do not come, and their symptom.
MISSING_MAIL_FAMILY: Final = frozenset(
    {"reset_email_missing", "device_email_missing", "no_email_received"}
)
_RESET_FAMILY: Final = frozenset(
    {"forgot_password", "email_in_use", "reset_email_missing", "no_email_received"}
)
RESET_CLEAR: Final = 68.0
# Several problems in one message: only a message this long, with a word that joins two
# things, is read clause by clause; a clause counts with this score, read alone.
SEVERAL_FROM: Final = 8
SEVERAL_SCORE: Final = 90.0
# ...or this, far enough ahead of anything else ("ni celui pour autoriser mon ordinateur").
SEVERAL_FLOOR: Final = 70.0
SEVERAL_LEAD: Final = 15.0
SEVERAL_CHARS: Final = 2_000
# A message in doubt is read clause by clause only when two problems score this.
# A clause names a problem of its own only with this many distinct words the matcher reads.
CLAUSE_TOKENS: Final = 2
# A symptom's problem that one clause alone names this clearly is the message's; its
# clauses are read only when one of its problems scores this for the whole message.
CLAUSE_SURE: Final = 75.0
CLAUSE_HINT: Final = 50.0
# Two problems that score this, in a message that joins two things, are both named.
BOTH_CLEAR: Final = 85.0
# A problem said plainly beside the whole message's clear one counts when it scores this.
BESIDE_NEAR: Final = 60.0
# Two readings of one story, never answered together from a saying: the link that
# answers the first is what the second follows, or one error message read two ways.
_SAME_STORY: Final = frozenset(
    {
        frozenset({"forgot_password", "reset_email_missing"}),
        frozenset({"email_in_use", "reset_email_missing"}),
        frozenset({"email_in_use", "email_deleted"}),
    }
)
TWO_NEAR: Final = 60.0
# A reply then something new is a short message.
REPLY_MAX_WORDS: Final = 30
_SEVERAL_RE: Final = FlatPattern(
    r"\b(et|ni|aussi|en plus|de plus|par ailleurs|d autre part|puis|ensuite|d abord|egalement"
    r"|autre|deux|2|plusieurs|sinon|avant ca|avant cela|and|also|two|another)\b"
)
# A second e-mail missing besides the first, "as well": "… et le mail du mot de passe oublié
# n'arrive pas non plus", "non, et maintenant on me demande aussi d'autoriser mon navigateur".
ALSO_MISSING_RE: Final = re.compile(
    r"\b(non plus|aussi|egalement|de plus|en plus|et maintenant)\b"
)
# Forgetting said, in French or the languages of the note.
_FORGOT_ANY_RE: Final = re.compile(
    r"\b(oubli\w*|sais plus|sais pas|sai pas|sais pu|souviens|rappelle|retrouve|jsp|idee"
    r"|forgot|forget|remember|recall|sure|olvid\w*|recuerdo|acuerdo|sé|se cual|esquec\w*"
    r"|lembro|dimentica\w*|ricordo|vergessen|weiss nicht|weiss nod|weiss nöd|vergeten"
    r"|weet niet)\b"
)
_NEXT_SENTENCE_RE: Final = re.compile(r"\w[.!?;]+\s+\w|\n\s*\S")
_BUT_RE: Final = FlatPattern(r"\b(mais|par contre|sauf que)\b")
# The words of the deleted address's error, which a clause about an address "utilisée"
# may hold: then the two problems are one error message.
_DELETED_RE: Final = FlatPattern(r"\b(supprim\w*|reutilis\w*|jours?|efface\w*)\b")
_CLAUSE_SPLIT: Final = re.compile(
    r"\s*(?:[.;:!?]+(?:\s+|$)|,\s*|\s*\+\s*|\s+/\s+|\s+\d[.)]\s+"
    r"|\s+(?:et en plus|et puis|et aussi|en plus|et|ni|mais|puis"
    r"|aussi|sinon|ensuite|d'abord|par contre|de plus|par ailleurs|d'autre part"
    r"|avant [çc]a|avant cela|and also|and then|and|also|but)\s+)",
    re.IGNORECASE,
)
# "And", "also" and "two" in the other languages of the note: which join two problems, and
# where the clauses of a message in that language begin (French's "y", "en" and "e" are
# other words: only in a message in that language).
_AND_WORDS: Final = {
    "de": ("und|sowie|ausserdem|zudem|dazu|auch|zwei", "und|sowie|außerdem|ausserdem|zudem"),
    "nl": ("en|ook|daarnaast|bovendien|twee", "en|ook|daarnaast|bovendien"),
    "es": ("y|e|ademas|tambien|dos", "y|e|además|ademas|también|tambien"),
    "it": ("e|ed|inoltre|anche|due", "e|ed|inoltre|anche"),
    "pt": ("e|alem disso|tambem|duas|dois", "e|além disso|alem disso|também|tambem"),
}
_AND_IN: Final = {
    language: (
        any_word(joined),
        re.compile(_CLAUSE_SPLIT.pattern.removesuffix(r")\s+)") + rf"|{split})\s+)", re.IGNORECASE),
    )
    for language, (joined, split) in _AND_WORDS.items()
}
# "Je n'ai pas oublié mon mot de passe", "j'ai toujours accès à mon adresse".
# "Je connais mon mot de passe", "j'ai oublié son mot de passe" (a mailbox's, not the
# account's) do not name the forgotten password either.
_DENIAL_RE: Final = re.compile(
    r"\b(pas|jamais) oubli|\b(toujours|encore|bien) (acces|acceder)\b"
    r"|\bje (le |bien )?(connais|sais) (bien )?(mon |le |mes )?(mot de passe|mdp|password)\b"
    # "son mot de passe" is a mailbox's after "j'ai oublié", not after someone else's "il a
    # oublié" ("un de nos techniciens a oublié son mot de passe": his account's).
    r"|(?<!\ba oublie )(?<!\bont oublie )(?<!\ba perdu )(?<!\bont perdu )"
    r"\b(son|sa|leur) (mot de passe|mdp|password)\b"
)
# Greetings and thanks, read apart from the rest of a message.
_MOVES: Final = frozenset({"greeting", "thanks"})
_MOVES_RE: Final = re.compile(
    r"\b(bonjour|bonsoir|salut|slt|cc|coucou|hello|hi|hey|yo|allo|bjr|merci|mrc|thx|thanks"
    r"|d avance|par avance|beaucoup|cordialement|madame|monsieur|svp|stp|s il vous plait)\b"
)
# An account at another company ("créer un compte Microsoft") is not the Parallels one.
_ACCOUNT_HERE: Final = (
    r"(compte|account)\b(?! (microsoft|apple|google|gmail|outlook|hotmail|icloud|yahoo|facebook"
    r"|instagram|orange|sfr|free|steam|netflix|amazon|paypal|utilisateur|local|windows|admin"
    r"|administrateur|invite)\b)"
    # Nor is a user account of a virtual machine ("un compte sur la VM Windows").
    r"(?! (\w+ ){0,2}(sur|dans|de) (la |ma |une |le |mon )?(vm|machine virtuelle|windows|linux"
    r"|ubuntu)\b)"
)
_FAILS: Final = (
    r"(echoue|coince|bloque|passe pas|marche pas|fonctionne pas|plante|bug\w*|impossible"
    r"|ne passe|ne marche|ne fonctionne|foire)"
)
# The account cannot be created, said in the customer's words.
_CANNOT_CREATE_RE: Final = FlatPattern(
    r"\b(pas moyen|impossible|n arrive pas|n arrive plus|j arrive pas|narrive pas|arrive pas"
    r"|je peux pas|je ne peux pas|peux pas|j y arrive pas|galere|peux plus|je ne peux plus"
    r"|n arrive plus)\b (de |d |a )?(\w+ ){0,2}"
    r"(creer|recreer|ouvrir un|ouvrir une|m inscrire|inscrire|enregistrer|faire)\b (\w+ ){0,3}"
    + _ACCOUNT_HERE
    + r"|\b(pas moyen|impossible|n arrive pas|arrive pas|narrive pas|jpeu pas|jpeux pas|peux pas"
    r"|peu pas)\b (de |d |a )?(m inscrire|minscrire|m enregistrer|menregistrer)\b"
    r"|\b(difficulte|difficultes|probleme|problemes|souci|soucis|mal) (pour|a|de) "
    r"(creer|ouvrir un|m inscrire|minscrire) (\w+ ){0,2}"
    + _ACCOUNT_HERE
    + r"|\b(creation|inscription|ouverture|enregistrement) (de |du |d )?(mon |ma |le |la |un )?"
    r"(compte |account )?(?!(microsoft|apple|google) )(\w+ ){0,2}"
    + _FAILS
    + r"|\b(essaie|essaye|essayer|tente|tenter) (de |d )(me |m |se |s )?(creer|faire) "
    r"(un |une |mon )?"
    + _ACCOUNT_HERE
    + r"|\b(creer|ouvrir un|ouvrir une|faire un|faire une) (\w+ ){0,2}"
    + _ACCOUNT_HERE
    + r" (\w+ ){0,6}"
    + _FAILS
    + r"\b"
)
# The sign-in refused, said in the customer's words.
_PASSWORD_WORDS: Final = ("mot de passe", "mdp", "password", "identifiant")
_WRONG_CREDENTIALS_RE: Final = FlatPattern(
    r"\b(mot de passe|mdp|password|identifiants?)\b (\w+ ){0,2}(est |sont |serait )?(faux|fausse"
    r"|incorrect|incorrects|invalide|invalides|errone|pas bon|pas reconnu|plus reconnus?"
    r"|non valide)\b"
    # Said to work no more: "mon mot de passe ne marche plus depuis ce matin".
    r"|\b(mot de passe|mdp|password|identifiants?)\b (\w+ ){0,2}(ne |n )?(marche|marchent"
    r"|fonctionne|fonctionnent|passe|passent|est accepte|sont acceptes) (plus|pas|pu|pa)\b"
    # Refused: by Parallels, when it is named ("mon identifiant est refusé sur
    # my.parallels.com"), not by a company's server.
    r"|\b(mot de passe|mdp|password|identifiants?)\b (\w+ ){0,2}(est |sont )?(refuse|refuses"
    r"|rejete|rejetes)\b(?=.*\b(my parallels|compte parallels|parallels account)\b)"
)
# The account locked, as customers say who cannot sign in ("mon compte est verrouillé après
# trop de tentatives"); by someone else, it is a safety matter, read before this.
_LOCKED_RE: Final = re.compile(
    r"(^|\b(mon|le|ce) )compte( parallels| my parallels)? (est |a ete |s est |reste |etait )?"
    r"(bloque|verrouille)e?s?\b"
)
# One's own account that will not open ("je n'arrive plus à ouvrir mon compte": not
# "ouvrir un compte", which is making one).
_OWN_ACCOUNT_SHUT = (
    r"\b(peux|jpeux|arrive|parviens|reussis|reussi) (pas|plus|pu|pa|jamais) (a |d )?(ouvrir"
    r"|acceder a|entrer dans|entrer ds|rentrer dans|rentrer ds) (mon|notre) (compte|espace)\b"
    r"|\b(impossible d|pas moyen d) (ouvrir|acceder a|entrer dans) (mon|notre) compte\b"
    r"|\b(mon|notre) compte (\w+ ){0,2}(ne veut|veut) (plus|pas) (s ouvrir|souvrir)\b"
)
_OWN_ACCOUNT_SHUT_RE: Final = FlatPattern(_OWN_ACCOUNT_SHUT)
# Signing in said impossible, whatever story comes with it ("j'ai changé de téléphone et
# maintenant je peux plus me connecter"), or one's own account that will not open.
_CANNOT_SIGN_IN_RE: Final = FlatPattern(
    r"\b(peux|arrive|parviens|reussis|reussi) (pas|plus|pu|pa|jamais) (a )?(me|m)"
    r" (connecter|co|identifier|log\w*)\b|\b(impossible de|pas moyen de) (me|m)"
    rf" (connecter|co|identifier)\b|{_OWN_ACCOUNT_SHUT}"
)
# A business account the customer has already ("notre compte entreprise").
_BUSINESS_HELD_RE: Final = FlatPattern(
    r"\b((j ai|nous avons|on a)( deja)? un|mon|notre|nos|le) compte (pro|professionnel"
    r"|entreprise|business|de l entreprise|de la societe)\b"
)
# A device's own sign-in ("mon Mac me dit mot de passe incorrect au démarrage").
_DEVICE_SIGN_IN_RE: Final = FlatPattern(
    r"\b(mon |ma |le |la |l |mot de passe |mdp |password )(mac|macbook|imac|pc|ordi\w*|iphone"
    r"|ipad|windows|session|vm|machine virtuelle|wifi|wi fi|box)\b"
)
# The business option not found: where the business problem is told, whatever the goal
# said before it ("Je veux créer le compte pro. … je vois nulle part l'option").
_BUSINESS_MISSING: Final = (
    r"\b(trouve pas|vois pas|vois nulle part|trouve nulle part|introuvable) (\w+ ){0,6}"
    r"(option|compte) (\w+ ){0,2}(pro|professionnel|entreprise|business|societe)\b"
)
_BUSINESS_MISSING_RE: Final = FlatPattern(_BUSINESS_MISSING)
# The symptom and the problems it asks about.
_CREATION: Final = frozenset(
    {"cannot_create_account", "email_in_use", "weak_password", "business_account", "email_deleted"}
)
# A greeting said, in the forms of the catalogue's greetings and of other languages.
_GREETING_RE: Final = FlatPattern(
    r"\b(bonjour|bonsoir|salut|slt|cc|coucou|hello|hi|hey|yo|allo|bjr|bsr|kikou|salutations"
    r"|bon matin|re|hola|hallo|buongiorno|bom dia|good morning|morning|ca va|bonne journee"
    r"|bonne soiree|bonne nuit|bienvenue|wesh|goedemorgen|goedemiddag|goedenavond|gruezi|servus"
    r"|guten tag|guten morgen|buenos dias|buenas tardes|buenas|boa tarde|boa noite|ciao|ola)\b"
)
# Words about the account itself: with them, a message close to an article problem is
# about that problem, whatever product or licence it also names. The address and its mail
# count for being near the article; the reset, the browser and the device for being the
# account's own matter rather than a product's.
_ACCOUNT_WORDS: Final = (
    r"compte|account|my parallels|mot de passe|mdp|password|inscri\w*|connexion|connecter"
    r"|identifiant\w*"
    # In the languages of the note.
    r"|konto|\w+konto|kundenkonto|cuenta|conta|contrasena|senha|passwort|wachtwoord"
)
_ACCOUNT_RE: Final = any_word(_ACCOUNT_WORDS, "adresse|mail|e mail|email")
_ACCOUNT_ITSELF_RE: Final = any_word(_ACCOUNT_WORDS, r"reinitialis\w*|navigateur|appareil")
_MANAGE_RE: Final = re.compile(
    r"\b(inviter|ajouter|gerer|retirer|transferer|attribuer|reattribuer|assigner)\b (\w+ ){0,3}"
    r"(utilisateurs?|membres?|employes?|collaborateurs?|administrateurs?|admins?|salaries?"
    r"|collegues?|personnes?|quelqu un)\b"
)
# A licence error is the licence team's, whatever account the customer signed in with.
_LICENCE_ERROR_RE: Final = FlatPattern(
    r"\b(licence|licences|license|cle de licence|cle d activation|cle produit|abonnement)"
    r" (\w+ ){0,2}(invalide|expiree?|non valide|pas valide|desactivee?|suspendue?|bloquee?)\b"
)
# A connection that is not the account's (a device, a network, a remote Mac or server), in a
# message about a product: the product's topic, however close "se connecter" reads.
_OTHER_CONNECTION_RE: Final = FlatPattern(
    r"\b(bluetooth|casque|airpods|manette|imprimante|scanner|ecouteurs|enceinte|nas|vpn|wifi"
    r"|wi fi|usb|webcam|serveur|a distance|rdp|ssh|ethernet|reseau|internet|pare feu|firewall"
    r"|proxy)\b"
)
# The account managed, not reached (another team's topic, signals.toml says when): its
# address changed, the account closed. However close the words, not the article's.
_ACCOUNT_MANAGED_RE: Final = FlatPattern(
    r"\b(changer|modifier|remplacer|mettre a jour) (\w+ ){0,2}(adresse|mail|e mail|email"
    r"|courriel)\b|\b(fermer|cloturer|resilier) (\w+ ){0,2}(compte|account|my parallels)\b"
)
_TRANSFER_RE: Final = FlatPattern(
    r"\b(transfer\w*|deplacer|basculer|migrer|passer)\b (\w+ ){0,3}"
    r"(licence|licences|license|abonnement)"
)


# The Parallels account named as such; or, more loosely, the customer's account with
# Parallels (its sign-in, "mon compte").
_NAMED_ACCOUNT = (
    r"\b(compte|account|identifiants?) (\w+ ){0,2}parallels\b|\bmy parallels\b"
    r"|\bparallels (account|compte)\b"
)
_NAMED_ACCOUNT_RE: Final = FlatPattern(_NAMED_ACCOUNT)
_PARALLELS_ACCOUNT_RE: Final = FlatPattern(
    _NAMED_ACCOUNT
    + r"|\bparallels (\w+ ){1,2}(compte|account)\b"
    + r"|\b(identifiant|login|inscription|inscrit|enregistre)\b|\bmon compte\b"
)
# An e-mail or a text message received.
_MAILED_RE: Final = FlatPattern(
    r"\b(recu|recois|recoit|received|got) (un |une |des |a |an )?(mail|e mail|email|message|sms"
    r"|courriel|texto)\b"
)


# An e-mail named by what it is for, said not to come: the reset e-mail, the e-mail that
# authorises a device; and the address of the account said not known.
_MAIL_NAMED: Final = (
    (
        "reset_email_missing",
        FlatPattern(
            r"\b(mail|mails|e mail|email|courriel|message|lien)\b (de |pour |du |d )?"
            r"(reinitialis\w*|changer (le |mon )?(mot de passe|mdp)|nouveau (mot de passe|mdp)"
            r"|recuperation (du |de mon )?(mot de passe|mdp)|reset)"
        ),
    ),
    (
        "device_email_missing",
        FlatPattern(
            r"\b(mail|mails|e mail|email|courriel|message|lien)\b (\w+ ){0,3}"
            r"(autoriser|autorisation|valider|validation|confirmer|approuver|verifier)\w* "
            r"(\w+ ){0,2}(appareil|navigateur|ordi\w*|mac|macbook|pc|device|browser)\b"
        ),
    ),
)
# Nothing came, whatever was asked for: "je reçois rien", "toujours rien reçu", "ne m'est
# jamais parvenu", "toujours pas de mail".
_NOT_COME_RE: Final = FlatPattern(
    r"\b(jamais|pas|rien|toujours pas|aucun|aucune)\b (\w+ ){0,3}(recu|parvenu|arrive|venu"
    r"|vu|eu)\b|\b(n arrive|narrive|arrive pas|arrive jamais|ne vient|vient pas|ne m est jamais"
    r"|ne m est pas)\b"
    r"|\b(recois|recoit|recu|eu|arrive)\b (toujours |jamais |encore )?(rien|aucun|aucune)\b"
    r"|\b(toujours pas|toujours aucun|toujours aucune|toujours zero|jamais) (de |d )?(nouveau )?"
    r"(mails?|e mails?|emails?|courriels?|messages?)\b"
)
_ADDRESS_UNKNOWN_RE: Final = re.compile(
    r"\b(jsp|je sais pas|je sais plus|j sais pas|j sais plus|sais plus|sais pas|souviens plus"
    r"|rappelle plus|oublie|aucune idee de|je me demande|comprends pas|comprend pas|comprend pa"
    r"|jcomprend pa|jcomprend pas)\b (\w+ ){0,2}(quel|quelle|kel|kelle|laquelle)\b (\w+ ){0,2}"
    r"(adresse|adress|adr|mail|e mail|email|courriel)\b"
    # "avec quelle adresse j'avais acheté ma licence, je m'en rappelle plus du tout".
    r"|\b(quel|quelle|kel|kelle|laquelle)\b (\w+ ){0,2}(adresse|mail|e mail|email|courriel)\b"
    r" (\w+ ){0,8}(m en rappelle plus|m en souviens plus|m en rappelle pas|m en souviens pas"
    r"|m en rappelle pu|m en souviens pu)\b"
)


# The article's problems said plainly, in the words customers use for them: its error
# messages, pasted or told ("adresse déjà prise"), the business account, the mailbox lost.
_PLAIN_SAYINGS: Final = (
    (
        "email_in_use",
        ("deja", "already"),
        FlatPattern(
            r"\b(adresse|adress|adr|mail|e mail|email|courriel)\b (\w+ ){0,3}(est |etait )?(deja"
            r"|already) (utilisee|utilise|utiliser|utilisé|prise|pris|enregistree|associee|used"
            r"|taken|registered)\b"
        ),
    ),
    (
        "weak_password",
        ("utilise", "repandu", "courant", "used", "recommande", "securise"),
        FlatPattern(
            r"\b(largement|trop|tres|souvent|widely|commonly) (utilise|repandu|courant|used)\b"
            r"|\b(mot de passe|mdp|password)\b (\w+ ){0,3}(n est pas|pas) (recommande|securise)"
        ),
    ),
    (
        "business_account",
        ("pro", "entreprise", "business", "societe"),
        FlatPattern(
            r"\b(creer|faire|ouvrir|avoir|obtenir) (un |le |une |mon |notre )?compte "
            r"(pro|professionnel|entreprise|business|societe|d entreprise|de societe)\b"
            r"(?! (apple|google|microsoft|facebook|meta|amazon|paypal|linkedin)\b)"
            r"|" + _BUSINESS_MISSING
        ),
    ),
    (
        "lost_email_access",
        ("acces",),
        FlatPattern(
            r"\b(plus|pas|perdu) (d |l )?acces (a |au |sur )?(mon |ma |l |la |cette |son |sa )?"
            r"(ancienne |ancien )?(adresse|mail|e mail|boite|messagerie)\b"
            r"|\b(adresse|mail|e mail|boite)\b (\w+ ){0,8}(n y (a|ai|avons|avez) plus acces"
            r"|(j y|jy) (ai|a) (plus|plu|pu) acces)"
            # "c'est l'adresse que j'ai plus, c'était celle de la fac".
            r"|\b(adresse|mail|e mail|boite|courriel) (que |qu )(j ai|jai|g|je n ai) (plus|pu)\b"
        ),
    ),
)
# Words without which the patterns above cannot match: a substring test is far cheaper
# than a search, and most messages have none of them.
_CREATE_WORDS: Final = ("cre", "inscri", "ouvr", "enregistr", "fai", "sign up", "signup", "regist")
_OF_AN_ACCOUNT: Final = ("compte", "account", "mot de passe", "mdp", "mail", "adresse", "site")
# A message of this many words at most is vague when it names nothing of an account.
VAGUE_WORDS: Final = 6
_GONE_WORDS: Final = (
    "existe",
    "desactiv",
    "ferme",
    "clotur",
    "expir",
    "inaccessible",
    "valide",
    "active",
    "supprimee",
    "perdue",
    "morte",
)
_MAIL_WORDS: Final = ("mail", "courriel", "message", "lien")
# An e-mail named, or something said to come (or not), in the languages of the note too.
_EMAIL_NOUN_RE: Final = re.compile(
    r"\b(mails?|e mails?|emails?|courriels?|messages?|correo|llega\w*|chega\w*|arriv\w*|kommt"
    r"|ankommen|angekommen|krijg\w*|ontvang\w*|recib\w*|receb\w*|ricev\w*|receiv\w*|get|got"
    r"|nada|nothing|rien)\b"
)
_RECEIVED_WORDS: Final = ("recu", "recoi", "recev", "arriv", "code", "spam", "indesirable")
# What a short message must say for a symptom to be asked about: making or naming an
# account; an e-mail, or something received.
_SYMPTOM_SAID: Final = {
    "cannot_create_account": (_CREATE_WORDS, _OF_AN_ACCOUNT),
    "no_email_received": (_MAIL_WORDS, _RECEIVED_WORDS),
}


# The reset named: its link, its e-mail, the password.
_RESET_NAMED_RE: Final = FlatPattern(
    r"\b(reinitialis\w*|reset|mot de passe|mots de passe|mdp|password|mpd)\b"
)
# A clause that only asks for help ("Savez-vous m'aider ?") names no problem.
_HELP_RE: Final = re.compile(
    r"^(est ce que |est ce qu )?(vous |tu )?(savez|pouvez|pourriez|sauriez|peux|pourrais|sais"
    r"|pourrez)( vous| tu)? (m|me|nous) (aider|depanner|renseigner|expliquer)\b(?! (a|pour) )"
)
# A clause that starts with "celui"/"celle" after one that named an e-mail.
_THAT_ONE_START_RE: Final = re.compile(r"^(?:(?:ni|et|ou|mais) )?(?:celui|celle|ceux) ")
_MAIL_NOUN_RE: Final = re.compile(r"\b(mail|mails|e mail|email|courriel|message)\b")
# "…, et le mot de passe, n'en parlons pas, je l'ai oublié": a second problem, forgotten.
_PASSWORD_TOO_RE: Final = FlatPattern(
    r"\b(et|ni|quant au|pour le) (le |mon )?(mot de passe|mdp|password)\b (\w+ ){0,8}"
    r"(oublie|oubliee|perdu|perdue)\b"
    # "on ne sait plus avec quelle adresse il l'a fait, ni le mot de passe d'ailleurs".
    r"|\b(sait plus|sais plus|savons plus|souvien\w* plus|rappel\w* plus|oubli\w*)\b"
    r" (\w+ ){0,12}ni (le |mon |son |notre |du |de mon |de son )?(mot de passe|mdp|password)\b"
)
# "… quelle adresse j'avais mis, et le mdp non plus".
_AND_PASSWORD_TOO_RE: Final = re.compile(
    r"\b(et|ni) (le |mon )?(mdp|mot de passe|password)\b (\w+ ){0,1}(non plus|aussi|pareil"
    r"|egalement|itou)\b"
)

# "je me rappelle ni de l'adresse ni du mot de passe": both forgotten, in that order.
_NEITHER_RE: Final = re.compile(
    r"\b(rappel\w*|souvien\w*|sais plus|sais pas|jsais plus|jsai plus|connais plus|oubli\w*"
    r"|retrouve plus)\b"
    r" (\w+ ){0,3}ni (de |d |du |l |la |le |mon |ma )*((?P<mail>adresse|mail|e mail|email"
    r"|courriel|identifiant|login)|(?P<password>mot de passe|mdp|password))\b (\w+ ){0,3}ni"
    r" (de |d |du |l |la |le |mon |ma )*((?P<mail2>adresse|mail|e mail|email|courriel"
    r"|identifiant|login)|(?P<password2>mot de passe|mdp|password))\b"
)
# "j'ai oublié mon mdp ET mon adresse mail", "mdp oublié + mail du compte oublié aussi": the
# two forgotten, joined.
_BOTH_FORGOTTEN_RE: Final = re.compile(
    r"\b(oubli\w*|perdu|sais plus|jsais plus|souviens plus|rappelle plus) (\w+ ){0,2}"
    r"(mon |le |l |ma |mes )?(?P<first>mdp|mot de passe|password|adresse|mail|e mail|email"
    r"|identifiant)\b (\w+ ){0,1}(et|ni) (\w+ ){0,1}(mon |le |l |ma |mes |du |de |d )?"
    r"(?P<second>mdp|mot de passe|password|adresse|mail|e mail|email|identifiant)\b"
    r"|\b(?P<first2>mdp|mot de passe|password|adresse|mail|e mail|email) oubli\w* (\w+ ){0,1}"
    r"(?P<second2>mdp|mot de passe|password|adresse|mail|e mail|email)\b (\w+ ){0,3}oubli\w*"
)
_PASSWORD_WORD: Final = frozenset({"mdp", "mot de passe", "password"})
_NEITHER_GROUPS: Final = (
    ("mail", "forgot_email"),
    ("password", "forgot_password"),
    ("mail2", "forgot_email"),
    ("password2", "forgot_password"),
)


def _beside(
    match: Match, problems: tuple[str, ...], sayings: list[tuple[int, str]], words: str
) -> tuple[str, ...]:
    """The whole message's clear problem and one other that it says plainly (`sayings`)
    and scores `BESIDE_NEAR`; none otherwise."""
    if len(problems) != 1 or len(sayings) != 1 or sayings[0][1] == problems[0]:
        return ()
    if len(words.split()) < SEVERAL_FROM or _SEVERAL_RE.search(words) is None:
        return ()
    other = sayings[0][1]
    if frozenset({other, problems[0]}) in _SAME_STORY:
        return ()
    scores = {c.intent: c.score for c in match.candidates}
    if scores.get(other, 0.0) < BESIDE_NEAR:
        return ()
    return (problems[0], other)


def _says_missing(words: str) -> bool:
    """Whether the words say an e-mail does not come."""
    return bool(_NOT_COME_RE.search(words) or _MAIL_MISSING_RE.search(words))


def _learned(match: Match, model: Model) -> np.ndarray:
    """`model`'s probabilities for the matched message: those the matcher read with its own,
    when it did."""
    read = match.learned.get(model)
    return read if read is not None else model.probabilities(match.normalized, match.text)


def _any(words: str, parts: tuple[str, ...]) -> bool:
    return any(part in words for part in parts)


def _said_plainly(words: str) -> tuple[str, ...]:
    """The problems the text names plainly, in the customer's order: an error message
    given, an e-mail named by its purpose that does not come, the address not known."""
    return tuple(problem for _, problem in _sayings(words))


def _sayings(words: str) -> list[tuple[int, str]]:
    """Where the text first names each problem plainly (see `_said_plainly`), in order."""
    found = [
        (m.start(), problem)
        for problem, gate, rx in _PLAIN_SAYINGS
        if _any(words, gate) and (m := rx.search(words))
    ]
    if _any(words, _MAIL_WORDS) and (_NOT_COME_RE.search(words) or _MAIL_MISSING_RE.search(words)):
        found += [(m.start(), problem) for problem, rx in _MAIL_NAMED if (m := rx.search(words))]
    if " ni " in words and (m := _NEITHER_RE.search(words)):
        # Each named once, the address and the password: both forgotten, in that order.
        named = [
            (m.start(group), problem)
            for group, problem in _NEITHER_GROUPS
            if m.group(group) is not None
        ]
        if len({problem for _, problem in named}) == 2:
            found += named
    if _any(words, ("oubli", "perdu", "sais plus")) and (m := _BOTH_FORGOTTEN_RE.search(words)):
        pair = ("first", "second") if m.group("first") else ("first2", "second2")
        kinds = [
            (m.start(g), "forgot_password" if m.group(g) in _PASSWORD_WORD else "forgot_email")
            for g in pair
        ]
        if kinds[0][1] != kinds[1][1]:
            found += kinds
    if _any(words, ("quel", "kel", "laquelle")) and (m := _ADDRESS_UNKNOWN_RE.search(words)):
        found.append((m.start(), "forgot_email"))
        if m := _AND_PASSWORD_TOO_RE.search(words, m.end()):
            found.append((m.start(), "forgot_password"))
    first: dict[str, int] = {}
    for at, problem in sorted(found):
        first.setdefault(problem, at)
    if "business_account" in first and (m := _BUSINESS_MISSING_RE.search(words)):
        first["business_account"] = m.start()
        first = dict(sorted(first.items(), key=lambda item: item[1]))
    return [(at, problem) for problem, at in first.items()]


# The account's address no longer works: closed by its provider, an employer, a school.
_ADDRESS_GONE_RE: Final = re.compile(
    r"\b(l?adresse|mail|e mail|email|boite|messagerie|courriel)\b (\w+ ){0,8}"
    r"(n existe plus|n existe pu|existe plus|desactivee|desactive|fermee|cloturee|expiree"
    r"|inaccessible|n est plus valide|plus active|supprimee par (mon|le|la|l) \w+"
    r"|a ete (desactivee|fermee|cloturee))\b"
    r"|\b(ancien|ancienne|vieille|vieux)\b (\w+ ){0,2}(adresse|mail|e mail|email|boite"
    r"|messagerie)\b (\w+ ){0,2}(inaccessible|fermee|desactivee|n existe plus|perdue|morte)\b"
)
# How customers say a mailbox is lost.
_LOSS_RE: Final = FlatPattern(
    r"\b(plus|pas|perdu\w*|ferme\w*|supprim\w*|desactiv\w*|expir\w*|ancien\w*|bloque\w*"
    r"|pirat\w*|hack\w*|inaccessible|existe|quitte|parti|pu|plu)\b"
)
# "Do you speak …?" in the languages of the note, asked in that language.
_SPEAKS_RE: Final = FlatPattern(
    r"\b(?:(?:sprechen sie|sprichst du|sprecht ihr|spricht (?:hier )?(?:jemand|man)) deutsch"
    r"|(?:redet|red) (?:ihr|öpper|opper) (?:dutsch|deutsch))\b(?P<de>)"
    r"|\b(?:parlate|parla|parli|si parla) (?:l )?italiano\b(?P<it>)"
    r"|\b(?:voces|vcs|vc|voce|o senhor|a senhora|falam|fala|alguem fala)"
    r" (?:falam |fala )?portugues\b(?P<pt>)"
    r"|\b(?:hablais|hablan|habla|hablas|alguien habla) (?:en )?(?:espanol|castellano)\b(?P<es>)"
    r"|\b(?:spreekt u|spreken jullie|spreek je|spreekt iemand) (?:ook )?nederlands\b(?P<nl>)"
    r"|\b(?:do you|does anyone|can you|can anyone) speak english\b(?P<en>)"
)
# The languages' names, one of which every question of `_SPEAKS_RE` ends with.
_LANGUAGE_NAMES: Final = (
    "deutsch", "dutsch", "italiano", "portugues", "espanol", "castellano", "nederlands", "english",
)  # fmt: skip
# A reply's first clause ("oui ça marche", "nickel", "non merci"), before something new.
_FIRST_CLAUSE_RE: Final = re.compile(r"\s*[.!?;:,]+\s*")
# An e-mail that does not come, said of the message as a whole.
# A password said forgotten (not a reset e-mail awaited).
_FORGOTTEN_RE: Final = FlatPattern(r"\b(oubli\w*|perdu\w*)\b")
_MAIL_MISSING_RE: Final = FlatPattern(
    r"\b(aucun|aucune|pas de|pas d|jamais de|toujours pas de)\b (\w+ ){0,2}"
    r"(mail|mails|e mail|e mails|email|emails|courriel|courriels|lien)\b"
    r"|\b(mail|mails|e mail|email|courriel|lien)\b (\w+ ){0,3}"
    r"(n arrive|arrive pas|arrive jamais|arrive toujours pas|ne vient|vient pas)\b"
    r"|\b(recois|recoit|recu|recevons|recevez)\b (ni|pas|jamais|toujours pas|plus|aucun)\b "
    r"(\w+ ){0,2}(mail|mails|e mail|email|courriel|lien)\b"
    # Slow to come: "le mail de vérification met des heures à arriver".
    r"|\b(mail|mails|e mail|email|courriel|lien)\b (\w+ ){0,4}(met|mettent|prend|prennent)"
    r" (des heures|des plombes|\w+ plombes|une eternite|des jours|des siecles|un temps fou|trop"
    r" longtemps|tres longtemps|super longtemps|longtemps) (a |pour )?(arriver|venir)\b"
)
# "…, pas le mot de passe", "c'est pas la VM", "ce n'est pas le mdp de ma VM que j'ai perdu":
# a thing named only to be denied, at the start of a sentence or after "c'est"/"non" (never
# the verb's negation: "je ne reçois pas le mail" stays whole). Up to the sentence's end or
# to what the customer says instead.
_DENIED_RE: Final = re.compile(
    r"\bpas (?:le |la |l'|l’|les |mon |ma |mes |du |de la |des |celui |celle )"
    # "c'est pas la bonne adresse": the thing is named, wrong, not denied.
    r"(?!(?:bon|bonne|bons|bonnes|meme|même)\b)"
    r"(?P<noun>mot de passe|mdp|adresse e-mail|adresse mail|adresse|e-mail|mail|identifiant)?"
    r"[^,.;:!?\n]{0,48}?(?=[,.;:!?\n]|$| c'?est | c’est | c | mais | que | qui )",
    re.IGNORECASE,
)
# What must come right before that "pas" (searched back from it, a few characters only).
_DENIAL_LEAD_RE: Final = re.compile(
    r"(?:^|(?<=[,.;:!?])|\b(?:c'?|c’|ce n'?|ce n’|ce )?est |\bc |\bnon,? )\s*$", re.IGNORECASE
)
_DENIAL_LEAD_CHARS: Final = 24
DENIAL_REST_WORDS: Final = 3
# "…, c'est celui du compte": the one the customer means instead.
_THAT_ONE_RE: Final = re.compile(r"\b(?:celui|celle)\b", re.IGNORECASE)
# Words after a greeting beyond which the message is more than a greeting, unless they
# are pleasantries ("j'espère ne pas vous déranger un samedi").
GREETING_REST_WORDS: Final = 6
# "Bonjour, Maître Durand, avocat au barreau de Lyon", "Bonjour, responsable informatique
# d'une agence de pub": the customer introduces themselves, the problem comes next.
_GREETING_START_RE: Final = re.compile(rf"^(?:{_GREETING_RE.pattern})( a (vous|tous))? ")
# "Bonjour, je suis enseignante et je voudrais savoir si …": more than an introduction.
_REQUEST_RE: Final = FlatPattern(
    r"\b(voudrais|voudrions|aimerais|aimerions|souhaite|souhaiterais|souhaitons|savoir|pouvez"
    r"|pourriez|peux|peut|puis|comment|besoin|cherche|recherche|interesse|interessee|collaborer"
    r"|tester|essayer|acheter|obtenir|avoir|demander|demande)\b"
)
_INTRODUCTION_RE: Final = re.compile(
    r"(\w+ ){0,2}(je suis|je m appelle|je me presente|moi c est|ici|on est|nous sommes"
    r"|maitre|responsable|directeur|directrice|gerant|gerante|admin|administrateur"
    r"|administratrice|comptable|professeur|professeure|prof|enseignant|enseignante"
    r"|cabinet|service|societe|entreprise|agence|equipe|dev|developpeur|freelance)\b"
    r"|(\w+ )*?(ici|c est moi qui|je gere|qui gere)\b"
)
_PLEASANTRY_RE: Final = FlatPattern(
    r"\b(j espere|vous allez bien|vous portez bien|deranger|bonne journee|bonne soiree"
    r"|bon week end|bon dimanche|bon lundi|de bonne heure|si tard|a cette heure)\b"
)
# A competitor named: without one, no threat to leave is said.
_COMPETITORS: Final = ("vmware", "virtualbox", "utm", "crossover", "camp", "concurrence")
_LEAVING_FOR_RE: Final = re.compile(
    r"\b(?:(?:passe|passer|pars|partir|vais|aller|migre|migrer|bascule|basculer|file|filer)\s+"
    r"(?:chez|vers|à|a|sur)|prends|prendre|prendrai|achète|acheter|achèterai|installe"
    r"|installer|installerai)\s+(?:vmware|virtualbox|utm|crossover|boot\s?camp|la concurrence)"
    r"(?:\s+(?:fusion|workstation))?\b",
    re.IGNORECASE,
)


def _without_denied(text: str) -> str:
    """The message without what it denies; "celui"/"celle" that follows stands for the
    thing denied ("pas le mdp de ma VM, c celui du compte" -> "… c le mdp du compte")."""
    if "pas " not in text.lower():
        return text
    nouns: list[str] = []

    def drop(found: re.Match[str]) -> str:
        if found.group("noun"):
            nouns.append(found.group("noun"))
        return " "

    pieces: list[str] = []
    end = 0
    for found in _DENIED_RE.finditer(text):
        start = found.start()
        lead = _DENIAL_LEAD_RE.search(text, max(end, start - _DENIAL_LEAD_CHARS), start)
        if lead is None:
            continue
        pieces += [text[end : lead.start()], drop(found)]
        end = found.end()
    if not pieces:
        return text
    kept = "".join([*pieces, text[end:]])
    if nouns:
        kept = _THAT_ONE_RE.sub(f"le {nouns[0]}", kept, count=1)
    return kept


_REPLY_LEAD_RE: Final = re.compile(
    r"^(oui|ouais|ok|okay|merci|super|nickel|parfait|top|genial|d accord|c est bon|ca marche"
    r"|ca a marche|c est regle|impeccable|cool|non|nan)( \w+){0,3}$"
)
# What the business-account answer is about: creating that account, finding its option.
_CREATE_RE: Final = FlatPattern(
    r"\b(cre\w*|ouvrir|inscri\w*|enregistr\w*|faire un compte|option|trouve pas|ou est"
    r"|comment (on |je |faire |puis je )?(avoir|obtenir|ouvrir|faire|fais|fait|passer|trouver"
    r"|cre\w*)"
    # In the languages of the note: "create one", "set up", "aanmaken", "erstellen",
    # "optie", "no encuentro la opción".
    r"|set up|setup|sign up|make one|make a|open a|can t find|cannot find|aanmaken|maken"
    r"|openen|optie|nergens|erstellen|anlegen|einrichten|eroffnen|finde keine|finde nicht"
    r"|crear|abrir|opcion|no encuentro|criar|opcao|nao encontro|aprire|opzione|non trovo)\b"
)


# A problem this high, this far ahead of the next problem, is plain enough to answer
# even though the matcher, wary of close rivals, would ask.
PLAIN_SCORE: Final = 80.0
PLAIN_LEAD: Final = 5.5
PLAIN_NONE_LEAD: Final = 25.0
_MAIL: Final = frozenset({"reset_email_missing", "device_email_missing"})


def _plain(match: Match) -> bool:
    """Whether a problem the matcher would ask about is plain all the same: it scores
    high and the next problem or symptom trails it. Not when the message may be out of
    scope (`none` not far behind), nor between the two e-mails that do not arrive, which
    the same words describe (the article's own symptom line, pasted, names both)."""
    if match.decision != "clarify" or not match.candidates:
        return False
    top = match.candidates[0]
    if top.intent not in PROBLEMS or top.score < PLAIN_SCORE:
        return False
    for other in match.candidates[1:]:
        if other.intent == NONE and top.score - other.score < PLAIN_NONE_LEAD:
            return False
    rivals = [c for c in match.candidates[1:] if c.intent in PROBLEMS or c.intent in SYMPTOMS]
    if not rivals:
        return True
    runner_up = rivals[0]
    if {top.intent, runner_up.intent} <= _MAIL or runner_up.intent == "no_email_received":
        return False
    return top.score - runner_up.score >= PLAIN_LEAD


def _two_problems(match: Match) -> bool:
    """Whether two problems both score high enough for the message to name both."""
    near = [c for c in match.candidates[:4] if c.intent in PROBLEMS and c.score >= TWO_NEAR]
    return len(near) >= 2


# A last sentence of praise alone, after a problem: "Vraiment pratique.", "Formidable.",
# "Génial.", "Bravo.", "Merci du cadeau."
SARCASM_CHARS: Final = 60
_SARCASM_END_RE: Final = re.compile(
    r"(?:^|[.!?…:;]\s*)(?:vraiment |très |trop |super |c'est |c’est |franchement |ah |oh )?"
    r"(?:pratique|formidable|génial|genial|bravo|super|parfait|magnifique|chapeau|merveilleux"
    r"|excellent|bien joué|félicitations|top|merci du cadeau|merci pour rien|sympa|bravo à vous"
    r"|quel bonheur|trop bien)\s*(?:[.!…]+|👏+|🙄)?\s*$",
    re.IGNORECASE,
)
# The reset e-mail came after all: "j'ai bien reçu le mail, mais le lien a expiré".
_LINK_EXPIRED_RE: Final = FlatPattern(r"\blien (\w+ ){0,2}(a |est )?(expire|perime)\b")
_MAIL_CAME_RE: Final = FlatPattern(
    r"\b(j ai|jai|g|on a) (bien |enfin )?recu (le|ce|un|mon|votre) (mail|e mail|email|courriel)\b"
    r"|" + _LINK_EXPIRED_RE.pattern
)
# The article's French that customers of any language paste: its error messages and the
# link's title; each has one of `_PASTED_FRENCH_WORDS`.
_PASTED_FRENCH_WORDS: Final = (
    "adresse mail", "adresse e mail", "mot de passe oublie", "recommande d utiliser",
)  # fmt: skip
_PASTED_FRENCH_RE: Final = re.compile(
    r"\b(cette )?adresse (e )?mail (est deja utilisee|a ete supprimee)( et ne peut pas etre"
    r" reutilisee( pendant au moins \w+ jours)?)?"
    r"|\badresse (e )?mail ou (le )?mot de passe (non valide|invalide)"
    r"|\bmot de passe oublie\b|\bil n est pas recommande d utiliser ce mot de passe( car il est"
    r" largement utilise( et ne peut pas proteger votre compte( correctement)?)?)?"
)
# The article's own error messages, pasted: whatever surrounds them, the message is about
# the account ("… un logiciel qui ne tourne que sous Windows … j'obtiens « Adresse mail ou
# mot de passe non valide »").
_ARTICLE_ERROR_RE: Final = FlatPattern(
    r"\badresse (e )?mail ou (le )?mot de passe (non valide|invalide)\b"
    r"|\bcette adresse (e )?mail (est deja utilisee|a ete supprimee)\b"
    r"|\blargement utilise et ne peut pas proteger\b"
)


def _near_article(match: Match, words: str) -> bool:
    """Whether the message is about an article problem or symptom, whatever else it says:
    one scores high and the message speaks of the account."""
    near = [
        c.intent
        for c in match.candidates
        if c.score >= ARTICLE_NEAR and (c.intent in PROBLEMS or c.intent in SYMPTOMS)
    ]
    if not near or _ACCOUNT_RE.search(words) is None:
        return False
    # A symptom alone ("le mail d'activation de ma licence n'arrive pas") is about the
    # account only when the message names the account itself, not just an e-mail.
    return any(i in PROBLEMS for i in near) or _ACCOUNT_ITSELF_RE.search(words) is not None


def _topic_business(problems: tuple[str, ...], words: str) -> bool:
    """A business account named about licences or invoices, or about managing its people,
    not about creating it: the licence team's topic ("compte entreprise : transférer une
    licence", "inviter des utilisateurs dans mon compte entreprise")."""
    if problems != ("business_account",):
        return False
    return _CREATE_RE.search(words) is None or _MANAGE_RE.search(words) is not None
