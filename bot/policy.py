"""The dialogue policy: one pure function from (state, message, reading) to a decision.

A message is read first as the answer to what the bot last asked, then as something new
(DESIGN.md, "A conversation, not a string of messages"). In the order the rules apply:

* while a person has the conversation the bot stays silent;
* a tap on a choice (or its number, rank or title typed) is taken at its word;
* a hacked account, a suspicious e-mail, a payment dispute, a legal request, a threat or
  distress go straight to a person, with the reason for the agent; so does a request for
  a person (after another topic was routed, with that reason);
* after an answer: "non" and every way of saying it escalates, unless it brings a new
  problem ("non, en fait …"), which is answered; "oui" closes, unless it asks something
  new ("oui merci, et pour … ?"), which is answered in the same turn; "je vais regarder"
  waits; a step of the answer the customer says they already took escalates;
* after a clarifying question, the reply is matched against the choices offered (by rank
  or by content) before the whole catalogue;
* after another Parallels topic was routed, anything but an article problem goes to a
  person: the customer does not fail twice;
* a clear problem gets the article's answer (several, in the customer's order), leaving
  out the steps the customer already took, then "Est-ce que cela a résolu votre
  problème ?"; a generic symptom or two close problems get a clarifying question;
  another Parallels topic is routed on its first message with a one-tap person offer;
* a miss asks to rephrase; a second offers a person; one more after that escalates;
  a message in another language without a clear problem is told that the bot answers
  in French and that a person can take over;
* a screenshot alone asks for words; a second one in a row goes to a person.

The first reply in another language carries a note in that language (again when the
customer turns to another one); an angry customer's opens with one acknowledging sentence;
a message with a masked password or card number gets, once per conversation, a reminder
never to send one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from pydantic import BaseModel, ConfigDict

from bot.models import Decision, Feedback, IncomingMessage, LinkButton, QuickReply, Say
from intents.catalogue import NONE, PROBLEMS, SYMPTOMS, Catalogue
from intents.reader import (
    ALSO_MISSING_RE,
    DEVICE_NAMED_RE,
    RESET_LINK_ANSWERS,
    RESET_PROBLEMS,
    Reading,
)
from intents.signals import ENDS_WELL_RE, any_word, flat

YES = "feedback:yes"
NO = "feedback:no"
HUMAN = "human"
REPHRASE = "rephrase"
GET_STARTED = "get_started"
INTENT_PREFIX = "intent:"
MAX_CHOICES = 3
#: Languages besides French that the catalogue's phrasings are written in.
PHRASED_LANGUAGES: Final = ("en",)
# How sure the learned reading of replies must be of a reply in another of the note's
# languages, which the rules hardly read.
FOREIGN_SURE: Final = 0.3
# In another language, a reading in doubt is asked about only from this score: below it,
# the language note alone.
LANGUAGE_SURE: Final = 60.0
# In a language the catalogue is not phrased in: a problem this near and this far ahead of
# the next is answered; a symptom this near is asked about.
LANGUAGE_NEAR: Final = 55.0
LANGUAGE_LEAD: Final = 15.0
LANGUAGE_SYMPTOM: Final = 80.0
# A greeting of at most this many words, in a language the catalogue is not phrased in, is
# greeted; a longer one says more ("ciao, c'è un problemino").
FOREIGN_GREETING_WORDS: Final = 3

#: The steps of each answer a customer may already have taken (intents/signals.toml):
#: the answer leaves them out, and once all are done the next step is a person.
STEPS: Final[dict[str, tuple[str, ...]]] = {
    "forgot_password": ("reset_link",),
    "lost_email_access": ("new_account",),
    "email_in_use": ("reset_link",),
    "reset_email_missing": ("spam", "contacts"),
    "device_email_missing": ("spam", "contacts", "other_device"),
    "forgot_email": ("searched_noreply",),
    "weak_password": ("complex_password",),
    "email_deleted": ("waited",),
    "business_account": ("business_licence",),
}
#: Problems about an e-mail that does not arrive: one does not follow the other.
MISSING_MAIL: Final = frozenset({"reset_email_missing", "device_email_missing"})
# The customer says, after an answer, that they did what it says already.
_ALREADY_DONE_RE: Final = re.compile(
    r"^(\w+ ){0,3}(deja (fait|fais|fe|essaye|essayer|essaie|teste|tester|tente|tenter|vu|verifie"
    r"|verifier|regarde|regarder|fait tout|fait ca)"
    r"|(je l ai|jl ai|je les ai|j ai|jai|g|c est ce que j ai|c est ce que jai|c ce que g"
    r"|ca je l ai)"
    r" (deja |bien |)(fait|fais|essaye|essayer|essaie|teste|tester|tente|tenter)( ca| tout ca"
    r"| plusieurs fois| 2 fois"
    r"| deux fois| 3 fois| trois fois| hier| deja)?"
    r"|i (already |have already |ve already )(did|done|tried|do)( that| it| this| all that)?"
    r"|already (done|tried)( that| it| this)?)$"
)
# Replies to a clarifying question: both choices, several by number, none of them.
_BOTH_RE: Final = re.compile(r"^(\w+ )?(les deux|les 2|tous les deux|toutes les deux|both)\b")
# "le 1 et le 3", "le 1er et le 2eme en fait, j'ai eu les deux messages": the ranks first.
_RANK: Final = r"(\d|premier|deuxieme|second|troisieme|quatrieme)(er|ere|e|eme|nd|nde)?"
_RANKS_RE: Final = re.compile(
    rf"^(le |la |les )?{_RANK}( et | |  )(le |la )?{_RANK}( et (le |la )?{_RANK})?( |$)"
)
_RANK_WORDS: Final = {"premier": 1, "deuxieme": 2, "second": 2, "troisieme": 3, "quatrieme": 4}
# "les deux premiers", "les 2 derniers": the first or last few choices.
_FIRST_OR_LAST_RE: Final = re.compile(
    r"^(\w+ )?les (deux|2|trois|3) (premiers|premieres|1ers|1eres|derniers|dernieres)\b"
)
# "I don't know", in the forms it is typed.
_DONT_KNOW: Final = (
    r"je sais pas|je ne sais pas|j sais pas|jsais pas|sais pas|jsp|chais pas|aucune idee"
)
_NONE_OF_THESE_RE: Final = re.compile(
    r"^(\w+ )?(aucun|aucune|aucun des deux|aucune des deux|aucun de ceux la|rien de tout ca"
    rf"|ni l un ni l autre|autre chose|c est autre chose|c autre chose|{_DONT_KNOW}"
    r"|none|neither)( \w+){0,2}$"
)
# Words by which a "non" turns to another matter ("non, en fait …", "non, par contre …").
_NEW_TURN_RE: Final = re.compile(r"\b(en fait|plutot|maintenant|par contre|autre chose|sinon)\b")
# What worked, said with the problem's words: "j'ai pu changer mon mot de passe", "j'ai
# réussi à me connecter", "mdp changé"; unless something follows it that did not work.
_SUCCEEDED_RE: Final = re.compile(
    r"\b(j ai|jai|g|j|on a|ai|enfin|je suis|jsuis) (enfin |bien |finalement |pu |reussi a )*"
    r"(pu|reussi a|reussi|arrive a|parvenu a|parvenue a) (me |m |le |la |l |mon |ma )?"
    r"(changer|reinitialiser|modifier|recuperer|connecter|reconnecter|creer|rentrer|acceder"
    r"|retrouver|valider|confirmer|autoriser|log)\w*"
    r"|\b(mot de passe|mdp|password) (est |a ete |bien |enfin )*(change|modifie|reinitialise)\b"
)
# "… depuis mon macbook où j'étais déjà connecté, et là ça passe": it works now, said last.
_WORKS_NOW_RE: Final = re.compile(
    r"\b(et la|la|maintenant|now|enfin|du coup) (ca|c|sa|it|tout) (passe|marche|fonctionne|works"
    r"|est bon|roule|joue)( nickel| bien| parfaitement| impeccable)?$"
    # "… je l'ai enlevé et c'est arrivé 👍": the e-mail came, said last.
    rf"|{ENDS_WELL_RE.pattern}"
)
_SUCCEEDED_BUT_RE: Final = re.compile(
    r"\b(mais|mé|par contre|sauf que|en revanche|cependant|pourtant|maintenant|mtn|toujours pas"
    r"|encore|du coup|et pour|aussi|autre)\b"
)
# One choice named as not meant, the other one meant: "pas celui du mot de passe, l'autre".
_NOT_THAT_ONE_RE: Final = re.compile(r"\b(pas|non) (celui|celle|le|la|l|ca)\b.* l autre\b")
# The customer corrects what they meant.
_CORRECTION_RE: Final = re.compile(
    r"\b(en fait|plutot|je voulais dire|je parlais|je parle|c est (le|celui|l autre)|pas celui"
    r"|l autre"
    # In the languages of the note: "no, perdón, en realidad es el otro correo", "enganei-me",
    # "è l'altra mail", "actually", "eigentlich", "het gaat eigenlijk om".
    r"|en realidad|me equivoque|el otro|la otra|na verdade|enganei|o outro|a outra"
    r"|in realta|l altra|l altro|sbagliato|sbagliata|actually|i meant|the other|eigentlich"
    r"|die andere|den anderen|ich meinte|eigenlijk|de andere|het andere|ik bedoel)\b"
)
# The same, said anywhere in a longer message: "vous vous foutez de moi ? j'ai déjà tout
# vérifié", "vous croyez que j'ai pas essayé ?".
_DONE_VERBS: Final = (
    r"(fait|fais|fe|essaye|essayer|essaie|teste|tester|tente|tenter|verifie|verifier|regarde"
    r"|regarder|clique|cliquer|lu|consulte|suivi|applique|attendu|cherche|epluche|fouille"
    r"|contacte|utilise|reinitialise|ajoute|mis)"
)
_ALREADY_DONE_ANYWHERE_RE: Final = re.compile(
    r"\bce que j ai (deja |bien |precisement |justement |exactement )*(fait|essaye|suivi)\b"
    rf"|\b(deja|bien sur que|evidemment que) (\w+ ){{0,2}}{_DONE_VERBS}\b"
    rf"|\b(j ai|jai|g|je l ai|je les ai) (deja |bien |tout )+{_DONE_VERBS}\b"
    rf"|\b{_DONE_VERBS} (\w+ ){{0,4}}(au prealable|avant de vous (ecrire|contacter))\b"
    r"|\b(croyez|pensez|crois|penses) que j ai (pas|rien) (essaye|fait|regarde|verifie|tente)\b"
    # "ça fait 3 fois que je fais tout ça".
    r"|\b(ca fait|cela fait) (\d+|deux|trois|quatre|cinq|dix|des) fois que (je|j) (le |les |l )?"
    r"(fais|refais|essaie|essaye|tente|recommence)\b"
    r"|\balready (\w+ ){0,2}(did|done|tried|checked|searched|waited|used|picked|read|added"
    r"|contacted|looked|clicked|requested)\b"
    r"|\b(did|done|tried|clicked|used|requested|checked) (\w+ ){0,6}already\b"
    r"|\b(heb ik (al |toch )?gedaan|hab ich (schon )?gemacht|lo he hecho|eu ja fiz|ja fiz)\b"
    # In the languages of the note: "ya lo hice", "l'ho già fatto", "habe ich schon gemacht".
    r"|\bya (lo |la |los )?(hice|he hecho|intente|he intentado|probe|he probado)\b"
    r"|\b(l ho|ho) gia (fatto|provato)\b|\bgia fatto\b"
    r"|\b(schon|bereits) (gemacht|versucht|probiert)\b"
    r"|\b(ja|eu ja) (fiz|tentei)\b|\b(al gedaan|al geprobeerd)\b"
)
# The reset link did its part: its e-mail came, or the password was changed with it
# ("je reçois bien le mail mais le lien a expiré", "jai bien changé le mdp a chaque fois").
_LINK_WORKED_RE: Final = re.compile(
    r"\b(recois|recu|recoit|arrive|arrivent|recoi)\w* bien\b|\bbien (recu|arrive)\b"
    r"|\b(j ai|jai|g|je l ai|jl ai) (bien |deja |meme )*(change|modifie|reinitialise)\w*"
    r" (le |mon |de |son )?(mdp|mot de passe|password)\b"
    r"|\b(lien|mail|email|e mail) (\w+ ){0,4}(expire|perime)\w*"
)
# The address found is out of reach: "à laquelle j'ai plus accès", "fermée il y a deux ans".
_OUT_OF_REACH_RE: Final = re.compile(
    r"\b(plus|pas|pu|plu|aucun) (d )?acces\b|\b(fermee?|supprimee?|desactivee?|cloturee?)\b"
    r"|\bn existe (plus|pas)\b"
)
# "Je l'ai fait mais …", SMS "jlai fé mai …": the answer's steps taken, then a "but".
_DID_IT_BUT_RE: Final = re.compile(
    r"^(\w+ ){0,2}(je l ai|jl ai|jlai|j l ai|je les ai|j ai|jai|g) (deja |bien |tout )?"
    r"(fait|fais|fe|essaye|essaie|suivi|teste)\b (\w+ ){0,3}(mais|mai|sauf que|par contre)\b"
)
# "oui je sais", "ben oui je sais bien": what the answer says is known already.
_KNEW_IT_RE: Final = re.compile(
    r"^((ben|bah|mais|eh) )?(oui|ouais|ouai) (oui )?(je sais|jsais|j sais)\b"
)
# The « Mot de passe oublié » link about to be used, said last: "je passe par mot de passe
# oublié", "bon je lance le mot de passe oublié, j'espère que ça va marcher".
_USING_LINK_NOW_RE: Final = re.compile(
    r"\b(je|on|jvais|je vais|on va) (fais|fait|refais|lance|relance|passe par|faire|passer par"
    r"|utilise|utiliser|tente|tenter|essaie|essaye|essayer|clique sur|cliquer sur)"
    r" (donc |alors )?(le lien |votre |le |la procedure )?(mot de passe oublie|mdp oublie)"
    r"( alors| du coup| donc| maintenant| tout de suite| de suite| j espere( \w+)+"
    r"| et je (vous )?(dis|redis|reviens|tiens)( \w+)*)?$"
)
# Done before writing, not just now: "déjà", "avant de vous écrire".
_BEFORE_RE: Final = re.compile(
    r"\b(deja|already|avant de vous (ecrire|contacter)|au prealable|la premiere chose"
    r"|je sais|j sais|jsais|on sait)\b"
)
_LICENCE_RE: Final = re.compile(
    r"\b(licence|licences|license|licenses|cle|cles|licencia|licencias|licenza|licenze"
    r"|licenca|licencas|lizenz|lizenzen|lizanz|licentie|licenties)\b"
)
# Agreeing to wait out the days the deleted address's message gave.
_WILL_WAIT_RE: Final = re.compile(
    r"\b(je patiente|je vais patienter|je vais attendre|j attends|j attendrai|on attend"
    r"|je patienterai|on va attendre|attendre alors|patienter alors"
    r"|(j vas|jvas|je vas|j vais|jvais) (attendre|patienter)"
    r"|(je dois|il faut|faut|on doit) (attendre|patienter))\b"
    # "je retente dans 2 semaines, merci": the days waited out first, nothing to report
    # ("je réessaie dans 10 jours et je vous redis" is a wait).
    r"|\b(je |j )?(retente|reessaie|reessaye|refais|recommence|repasse) (\w+ ){0,2}dans"
    r" (\d+|\w+) (jours|semaines|mois)\b(?!.*\b(vous|te) (re)?(dis|dirai|tiens)\b)"
)
# After an answer, the customer says it did not help without saying "non".
_UNHELPED_RE: Final = re.compile(
    r"\b(et alors|c est tout ce que|je fais quoi (moi|maintenant|alors)|et maintenant je fais"
    r" quoi|ca m avance (pas|a rien)|ca m aide pas)\b"
)
# The customer thanks and leaves to look elsewhere: "ah ok tant pis, je vais chercher sur
# le forum, merci", "je vais m'adresser à Microsoft, merci tout de même".
_LEAVING_THANKS_RE: Final = re.compile(
    r"\b(merci|mrc|thanks|thank you|thx)\b"
    r"(?=.*\b(tant pis|je vais (voir|chercher|demander|m adresser|contacter|me debrouiller)"
    r"|jvais (voir|chercher|demander)|quand meme|tout de meme|malgre tout|pour votre temps)\b)"
    r"|\b(tant pis|je vais (voir|chercher|demander|m adresser|contacter|me debrouiller)"
    r"|jvais (voir|chercher|demander))\b.*\b(merci|mrc|thanks|thank you|thx)\b"
)
# Words without which a message names no e-mail that did not come.
# A bare "toujours rien" names no e-mail: nothing came of the answer, whatever it was.
_MAIL_WORDS_RE: Final = re.compile(
    r"\b(mail|mails|e mail|email|courriel|message|lien|recu|recue|recois|recoit|recoi"
    r"|jrecois|jrecoi|envoie|envoye|arrive|vient|spam|spams|indesirables?|noreply|no reply"
    r"|emails|correo|correos|enlace|link|posta|nachricht|bericht)\b"
)
# A page of the site that does not show: no e-mail is in question.
_BROKEN_PAGE_RE: Final = re.compile(
    r"\b(page|ecran) (toute |tout )?(blanche|blanc|vide|grise|noire|d erreur)\b"
    r"|\berreur (404|500|502|503)\b|\b(page|site) (\w+ )?(ne s affiche|s affiche pas|charge pas"
    r"|ne charge|plante|bug\w*)"
    # "j'ai bien reçu le mail, mais le lien a expiré": the e-mail came.
    r"|\blien (\w+ ){0,2}(a |est )?(expire|perime|invalide|n est plus valide|ne marche pas)\b"
)
# Safety reasons whose escalation is not opened by "je comprends votre agacement".
_NO_ACKNOWLEDGEMENT: Final = frozenset({"distress", "hacked", "phishing", "legal", "payment"})
# A choice of a clarifying question named by its content: its score, and its lead over
# the other choices offered.
CHOICE_FLOOR: Final = 45.0
CHOICE_LEAD: Final = 5.0
# An angry message in doubt that scores under this (the answer threshold) names no
# problem to offer.
CLOSE_FLOOR: Final = 68.0
# A correction ("non, en fait …") read in doubt: another problem this close to the best
# reading is the one meant.
CORRECTION_GAP: Final = 8.0
# A question about a clarifying question's choices.
_WHICH_ONE_RE: Final = re.compile(
    r"\b(c est quoi|quelle est|quelle|y a quoi comme) (la )?difference\b|\bdifference entre\b"
    r"|\b(comment|comment je peux|comment on peut) (savoir|le savoir|je sais) (lequel|laquelle)\b"
    # "je vois pas les boutons, vous pouvez me réécrire les choix ?"
    r"|\b(reecrire|redonner|repeter|redire|reecrivez|redonnez|repetez|rappeler|lister)"
    r" (\w+ )?(les )?(choix|options|propositions|boutons)\b"
    r"|\b(vois|voit|trouve|affiche|apparait|apparaissent) (\w+ ){0,2}(pas|plus|aucun)"
    r" (\w+ )?(les )?(boutons|choix|options|propositions)\b"
)
# "Ça veut dire quoi, appareil non confirmé ?": what a choice means, asked in a short
# message or with no problem named beside it.
_MEANING_RE: Final = re.compile(
    r"\b(ca veut|ca veux|vous voulez|tu veux|voulez vous) dire quoi\b|\bque (veut|veux) dire\b"
    r"|\bwhat do(es)? (you|that|it) mean\b"
)
MEANING_WORDS: Final = 10
# "J'ai jamais créé de compte", "je me souviens pas avoir créé un compte", "never had an
# account": no account of the customer's own (a past form: "pas pu créer" is no such thing).
_NEVER_MADE_RE: Final = re.compile(
    r"\b(jamais|pas|never|didn t|did not) (\w+ ){0,3}(cree|creee|ouvert|fait|created|opened|made)"
    r" (\w+ ){0,2}(de |d |un |une |le |a |an )?(compte|account)\b"
    r"|\b(jamais|never) (eu|had) (de |d |un |an )?(compte|account)\b"
)
# A reply that points to one of the choices ("celui pour changer le mot de passe oublié").
_POINTER_RE: Final = re.compile(
    r"^(c est |plutot |euh |ben )?(celui|celle|le mail|l e mail|l email|le message|le courriel)\b"
)
# Not knowing which choice: no choice, however a choice's phrasings score the words
# ("je sais pas, ça me dit juste erreur").
_DONT_KNOW_RE: Final = re.compile(rf"\b({_DONT_KNOW}|je sais plus lequel|je ne sais plus lequel)\b")
# Normalised words that say something does not work, without saying what.
_TROUBLE_WORDS: Final = frozenset({"marchepa", "bug", "problem", "souci"})
_WORKING_WORDS: Final = frozenset({"march", "fonctionn"})
_NOT_WORDS: Final = frozenset({"pas", "rien", "plus"})
# A reply to a clarifying question that names a problem this clearly is that problem,
# whatever choice's words it uses.
OUTRIGHT: Final = 95.0
# What a word of a choice's title adds to its score.
TITLE_WORD: Final = 15.0


class ConversationState(BaseModel):
    """What the bot remembers of one conversation between two messages.

    Stored as JSON by the store: every field has a default, so that states written before
    a field existed still load.
    """

    model_config = ConfigDict(frozen=True)

    last_intent: str | None = None
    last_action: str | None = None
    awaiting_feedback: bool = False
    misses: int = 0
    offered_human: bool = False
    escalated: bool = False
    disclosed: bool = False
    choices: tuple[QuickReply, ...] = ()
    answered: tuple[str, ...] = ()
    facts: dict[str, str] = {}
    # When the customer's last messages came, and whether they were told to slow down
    # (the flood guard).
    recent_ms: tuple[int, ...] = ()
    flood_noticed: bool = False
    # The problems of the last answer, whose feedback is awaited.
    last_answer: tuple[str, ...] = ()
    # The article's steps the customer said they took (intents/signals.py, STEPS).
    done: tuple[str, ...] = ()
    # The reminder never to send a password or a card number was given.
    reminded: bool = False
    # The clarifying question was asked again, the customer having chosen nothing.
    asked_again: bool = False
    # The language other than French the customer's last typed message was in.
    language: str | None = None
    # Another Parallels topic was routed in this conversation: asked about again, it goes
    # to a person at once.
    routed: bool = False
    # The languages the note was given in, in this conversation: said once each.
    noted: tuple[str, ...] = ()

    @property
    def pending(self) -> tuple[str, ...]:
        """The problems whose feedback is awaited (a state stored before `last_answer`
        existed has its problem in `last_intent`)."""
        if not self.awaiting_feedback:
            return ()
        if self.last_answer:
            return self.last_answer
        return (self.last_intent,) if self.last_intent in PROBLEMS else ()

    def handed_back(self) -> ConversationState:
        """The state after an agent resolves: the bot has the conversation again, and its
        hand-back message is the assistant's disclosure."""
        return self.model_copy(
            update={
                "escalated": False,
                "disclosed": True,
                "awaiting_feedback": False,
                "misses": 0,
                "offered_human": False,
                "choices": (),
                "last_answer": (),
                "last_action": "handback",
            }
        )


@dataclass(frozen=True, slots=True)
class Turn:
    """A decision and the state the conversation is left in."""

    decision: Decision
    state: ConversationState


def chosen_payload(
    message: IncomingMessage, state: ConversationState, reading: Reading | None = None
) -> str | None:
    """The payload of a tapped choice, or of a choice typed by its number, rank or title."""
    if message.payload:
        return message.payload
    if not state.choices:
        return None
    typed = message.text.strip().rstrip(".)")
    # ASCII digits only: "²" is a digit to str.isdigit() but not to int().
    if typed.isascii() and typed.isdecimal() and len(typed) <= 3 and 1 <= int(typed) <= len(
        state.choices
    ):
        return state.choices[int(typed) - 1].payload
    folded = " ".join(fold_words(message.text))
    for choice in state.choices:
        if folded and folded == " ".join(fold_words(choice.title)):
            return choice.payload
    if reading is not None and reading.signals.ordinal is not None:
        problems = [c for c in state.choices if c.payload.startswith(INTENT_PREFIX)]
        rank = reading.signals.ordinal
        if problems and (rank == -1 or 1 <= rank <= len(problems)):
            return problems[rank - 1 if rank > 0 else -1].payload
    return None


def fold_words(text: str) -> list[str]:
    return flat(text).split()


# The flood guard: messages of one customer answered per window of this length.
FLOOD_LIMIT = 12
FLOOD_WINDOW_MS = 60_000


class Policy:
    """DESIGN.md's dialogue policy over the catalogue; `decide` and `on_event` are pure."""

    def __init__(
        self,
        catalogue: Catalogue,
        hours: str | None = None,
        title_words: dict[str, frozenset[str]] | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._hours = hours  # when people answer, told to a customer handed over
        # Each problem's quick-reply title as the matcher's tokens (Reader.title_words).
        self._title_words = title_words or {}

    def on_event(
        self, state: ConversationState, kind: str, message: IncomingMessage, at_ms: int
    ) -> tuple[Turn | None, ConversationState]:
        """The rules before a message is read: what an event that is not a customer's
        message does (a note kept, a public mention, a person answering from the platform's
        own app), and the flood guard. A turn when the rules decide; otherwise None and the
        state `decide` starts from."""
        intent = state.last_intent or NONE
        if kind == "note":  # kept in the transcript only
            return Turn(Decision(action="note", intent=intent), state), state
        if kind == "mention":
            # A public post: never discuss an account in public; one short reply inviting
            # to a private conversation, kept in the transcript.
            mention = Decision(action="mention", intent=intent, says=(Say(template="mention"),))
            return Turn(mention, state), state
        if kind == "takeover":  # a person answers from the platform's own app
            taken = state.model_copy(update={"escalated": True})
            decision = Decision(
                action="takeover", intent=intent, escalation_reason="answered_natively"
            )
            return Turn(decision, taken), taken
        recent = (*(t for t in state.recent_ms if at_ms - t < FLOOD_WINDOW_MS), at_ms)
        state = state.model_copy(update={"recent_ms": recent[-(FLOOD_LIMIT + 1) :]})
        if len(recent) > FLOOD_LIMIT and not state.escalated:
            # Too many messages too fast: one polite notice, then silence until it calms
            # down. The messages are kept for the agents; answering each would flood the
            # customer back and hold the workers for everyone else.
            if state.flood_noticed:
                return Turn(Decision(action="flood", intent=intent), state), state
            noticed = state.model_copy(update={"flood_noticed": True})
            notice = Decision(action="flood", intent=intent, says=(Say(template="flood"),))
            return Turn(notice, noticed), noticed
        return None, state.model_copy(update={"flood_noticed": False})

    def decide(self, state: ConversationState, message: IncomingMessage, reading: Reading) -> Turn:
        if state.escalated:
            silent = Decision(action="silent", intent=reading.intent, score=reading.match.score)
            return Turn(silent, state)
        match = reading.match
        facts = dict(state.facts)
        if match.days is not None:
            facts["days"] = str(match.days)
        facts.update(match.entities)
        done = tuple(dict.fromkeys((*state.done, *sorted(reading.signals.done))))
        before = state
        state = state.model_copy(update={"facts": facts, "done": done})

        if message.text.strip() and not message.payload:
            # "I can't log in", "o primeiro" after a message in another language: too short
            # to tell alone, in that language all the same.
            language = reading.language_after(state.language)
            if language != reading.language:
                reading = replace(reading, language=language)
        several = _several_choices(message, state)
        payload = None if several else chosen_payload(message, state, reading)
        if several:
            # "Les deux", "le 1 et le 3": each choice named is answered, in the offer's order.
            turn = self._answer(state, several, 100.0)
            typed = True
        elif payload is not None:
            turn = self._on_payload(state, payload, reading)
            typed = not message.payload
        elif message.attachments and not message.text.strip():
            typed = False
            if state.last_action == "attachment":
                turn = self._escalate(state, "unreadable_attachment", NONE, 0.0)
            else:
                turn = self._say(state, "attachment", NONE, 0.0, Say(template="attachment"))
        else:
            typed = True
            turn = self._on_text(state, reading)
        if typed and message.text.strip():
            turn = Turn(turn.decision, turn.state.model_copy(update={"language": reading.language}))
        return self._dress(turn, before, reading, typed)

    # -- what the customer chose -------------------------------------------------------

    def _on_payload(self, state: ConversationState, payload: str, reading: Reading) -> Turn:
        if payload == YES:
            return self._resolved(state, 100.0, "yes")
        if payload == NO:
            return self._not_solved(state, 100.0)
        if payload == HUMAN:
            reason = "other_topic" if state.last_action == "redirect" else "asked_for_human"
            return self._escalate(state, reason, HUMAN, 100.0)
        if payload == REPHRASE:
            return self._say(state, "rephrase", NONE, 0.0, Say(template="rephrase"))
        if payload.startswith(INTENT_PREFIX):
            intent = payload.removeprefix(INTENT_PREFIX)
            if intent in PROBLEMS:
                # "Le 3e. J'ai déjà créé un nouveau compte": the steps said taken count.
                return self._next(state, (intent,), 100.0)
            if intent in SYMPTOMS:
                return self._clarify_symptom(state, intent, 100.0)
        # Get Started, a menu entry without a problem, or a stale payload: say hello.
        return self._greet(state, reading.match.score)

    # -- what the customer wrote ---------------------------------------------------------

    def _on_text(self, state: ConversationState, reading: Reading) -> Turn:
        signals = reading.signals
        score = reading.match.score
        feedback = self._feedback(state, reading)
        if signals.safety is not None:
            return _with_feedback(self._escalate(state, signals.safety, NONE, score), feedback)
        if signals.bot_question and not signals.human and not reading.problems:
            # "C'est un robot ?", "vous êtes un vrai humain ou un bot ?": a question to
            # answer, not yet a request for a person.
            return _with_feedback(self._whoami(state, score), feedback)
        if signals.human or (reading.match.intent == HUMAN and reading.match.decision == "answer"):
            # "Pour l'installation, oui, je veux bien parler à quelqu'un": for another topic;
            # not the licences that the lost address's answer sends to the assistance.
            topic = state.last_action == "redirect" or (
                state.routed and signals.topic and _BACK_TO_RE.search(flat(reading.match.text))
            ) or (
                signals.topic
                and not reading.problems
                and _LICENCE_RE.search(flat(reading.match.text)) is None
            )
            reason = "other_topic" if topic else "asked_for_human"
            return _with_feedback(self._escalate(state, reason, HUMAN, score), feedback)
        in_context: Turn | None = None
        if state.pending:
            in_context = self._after_answer(state, reading)
        elif state.last_action == "clarify" and state.choices:
            in_context = self._after_question(state, reading)
        elif state.last_action == "redirect":
            in_context = self._after_redirect(state, reading)
        elif (
            state.last_action in ("offer_human", "language")
            and not reading.problems
            and _ACCEPTS_RE.match(flat(reading.match.text))
        ):
            # "oui", "ok svp" to the person just offered: the offer taken, as with its tap.
            in_context = self._escalate(state, "asked_for_human", HUMAN, score)
        elif (
            state.last_action == "resolved" and signals.feedback == "no" and not reading.problems
        ):
            # "Non, ça marche toujours pas" just after the bot closed (a "merci" taken for
            # a yes, a yes tapped too fast): the answer did not help after all.
            in_context = self._not_solved(state, score)
        return in_context if in_context is not None else self._fresh(state, reading)

    def _feedback(self, state: ConversationState, reading: Reading) -> Feedback | None:
        """What the message says of the answer before it, if one awaits feedback."""
        if not state.pending:
            return None
        feedback = reading.signals.feedback
        if feedback == "yes" and not reading.signals.thanks_only:
            # "Mettez-moi en relation avec un agent, merci": thanks in passing is no yes.
            return "yes"
        if feedback == "no":
            return "no"
        return None

    def _after_answer(self, state: ConversationState, reading: Reading) -> Turn | None:
        """A reply to "Est-ce que cela a résolu votre problème ?"."""
        signals = reading.signals
        feedback = signals.feedback
        score = reading.match.score
        last = state.pending
        new = tuple(p for p in reading.problems if p not in last)
        text = flat(reading.match.text)
        steps = {step for problem in last for step in STEPS.get(problem, ())}
        # "JE SAIS REGARDER DANS MES SPAMS": a step of the answer, taken before it came.
        before = bool(steps & signals.done) and _BEFORE_RE.search(text) is not None
        if (
            set(last) & RESET_LINK_ANSWERS
            and set(reading.problems) <= RESET_LINK_ANSWERS
            and _USING_LINK_NOW_RE.search(text)
        ):
            # "Ah, c'est sûrement mon fils qui l'a créé. Je fais mot de passe oublié alors":
            # the customer goes to use the link the answer gave; the bot waits.
            return self._wait(state, score)
        if (
            signals.took("reset_email")
            and set(last) & RESET_PROBLEMS
            and not _after_steps(new, set(state.done))
        ):
            # "Le mail arrive bien mais le lien ouvre une page d'erreur": the reset the answer
            # leads to was done, its e-mail came, and it failed all the same.
            return self._not_solved(state, score)
        if "email_in_use" in last and not new and _NEVER_MADE_RE.search(text):
            # "Mais j'ai jamais créé de compte chez vous": the account the answer says the
            # address has is not theirs, as far as they know; the link would not settle it.
            return self._not_solved(state, score)
        if _still_missing(state, text):
            # "Le mot de passe c'est réglé mais l'iPad toujours pas", "pour ma femme c'est bon.
            # pour moi toujours pas de mail": the e-mail just answered about still does not
            # come; its answer's next step is the assistance.
            return self._not_solved(state, score)
        if (
            set(last) & RESET_LINK_ANSWERS
            and "lost_email_access" not in last
            and feedback not in ("yes", "wait")
            and not reading.problems
            and reading.symptom == "no_email_received"
            and reading.verdict != "wait"
            and DEVICE_NAMED_RE.search(text) is None
            and _names_missing_mail(reading)
        ):
            # "Le lien je l'ai utilisé hier, le mail est jamais venu" just after the « Mot de
            # passe oublié » link: the e-mail missing is that link's, not a device's.
            return self._reset_email_next(state, score)
        if (
            feedback == "yes"
            and signals.thanks_only
            and _BEFORE_RE.search(text)
            and (steps & signals.done or _ALREADY_DONE_ANYWHERE_RE.search(text))
        ):
            # "Déjà vérifié les spams, merci": a step said taken, politely; no yes.
            feedback = None
        if feedback == "yes" and steps & signals.done and _KNEW_IT_RE.match(text):
            # "Oui je sais, j'ai fait le lien mot de passe oublié, et …": the step is known
            # and was taken; the "oui" says so, not that it worked.
            feedback = None
        if (
            new
            and set(new) <= RESET_LINK_ANSWERS | {"reset_email_missing"}
            and set(last) & RESET_LINK_ANSWERS
            and "reset_link" in signals.done
            and feedback in ("yes", None)
            and reading.verdict != "no"
            and (feedback == "yes" or reading.verdict == "yes")
            and not _names_missing_mail(reading)
        ):
            # "il a fait le lien mdp oublié, c bon pr lui aussi", "ele usou o esqueci a senha
            # e entrou também. valeu!": the link the answer gave, used, and it worked.
            return self._resolved(state, score, "yes")
        if feedback is None and not new and (
            _ALREADY_DONE_RE.search(text) or _ALREADY_DONE_ANYWHERE_RE.search(text)
        ):
            # "Je l'ai déjà fait", "c'est ce que j'ai fait": the answer's steps were taken
            # already; after the reset link, its e-mail is what is missing (when the
            # customer says no more, or says so); else a person: "j'ai déjà fait mot de
            # passe oublié, le site me dit que cette adresse n'existe pas".
            if (
                set(last) & RESET_LINK_ANSWERS
                and (_ALREADY_DONE_RE.search(text) or _names_missing_mail(reading))
                and not _LINK_WORKED_RE.search(text)
            ):
                return self._reset_email_next(state, score)
            return self._not_solved(state, score)
        if feedback == "no":
            # One missing e-mail after the other is the same words, unless the customer
            # says they meant the other ("non, en fait c'est le mail de réinitialisation").
            switched = _CORRECTION_RE.search(flat(reading.match.text)) is not None
            if (
                not switched
                and _link_to_nothing(state, new, reading)
                and (_NOTHING_CHANGED_RE.search(text) or _LINK_WORKED_RE.search(text))
            ):
                # "Le mot de passe oublié je l'ai déjà fait hier, ça n'a rien changé": the
                # link was used to no effect; no e-mail is said missing.
                return self._not_solved(state, score)
            if new and not switched and _BROKEN_PAGE_RE.search(text):
                # "Non, le lien mot de passe oublié m'affiche une page d'erreur 500": the
                # answer's link fails on the site, which no answer of the article mends.
                return self._not_solved(state, score)
            also = ALSO_MISSING_RE.search(text) is not None and reading.problem == new
            if new and (
                switched or also or not (set(new) <= MISSING_MAIL and set(last) <= MISSING_MAIL)
            ):
                return _with_feedback(self._next(state, new, score), "no")
            if (
                set(last) & RESET_LINK_ANSWERS
                and "lost_email_access" not in last
                and not _BROKEN_PAGE_RE.search(text)
                and not _LINK_WORKED_RE.search(text)
                and (
                    "reset_link" in signals.done
                    or "reset_email_missing" in reading.problems
                    or _names_missing_mail(reading)
                    or (
                        _ALREADY_DONE_ANYWHERE_RE.search(text)
                        # "Déjà fait, ça donne rien": the link did nothing, no e-mail named.
                        and not _NOTHING_CHANGED_RE.search(text)
                    )
                )
            ):
                # Not when the address itself is lost: no e-mail can come to it, and that
                # answer's next step is the assistance.
                return self._reset_email_next(state, score)
            if switched and not new and reading.match.decision == "clarify":
                # "Non en fait le mot de passe je l'ai, c'est l'adresse que je ne retrouve
                # pas": in doubt between the problem just answered and another, the
                # customer who corrects themselves means the other.
                top = reading.match.score
                candidates = reading.match.candidates
                others = (c for c in candidates if c.intent in PROBLEMS and c.intent not in last)
                other = next(others, None)
                if other is not None and other.score >= max(CHOICE_FLOOR, top - CORRECTION_GAP):
                    return _with_feedback(self._next(state, (other.intent,), score), "no")
            symptom = reading.symptom
            taken = {step for problem in last for step in STEPS.get(problem, ())} & signals.done
            if (
                symptom is not None
                and not taken
                and _NEW_TURN_RE.search(text)
                and not set(last) & set(self._catalogue[symptom].candidates)
            ):
                # "Non, en fait je n'arrive pas à créer mon compte": another symptom than
                # the answer's; the feedback is taken and the new one asked about.
                return _with_feedback(self._clarify_symptom(state, symptom, score), "no")
            return self._not_solved(state, score)
        if "lost_email_access" in last and (
            # "voilà c'est fait, nouveau compte avec mon adresse perso": the step's own
            # words, whatever problem the matcher hears in them, unless a new one follows.
            (
                ("new_account" in signals.done or _DONE_IT_RE.match(text) is not None)
                and (not new or not signals.new_question)
            )
            or (
                not new
                and (signals.new_question or "?" in reading.match.text)
                and _LICENCE_RE.search(text) is not None
            )
        ):
            # "C fait, nouveau compte créé avec mon gmail, et mnt ?", "mtn c koi pr ma
            # licence ?": the new account is made; moving the licences to it is that
            # answer's assistance, a person's work.
            turn = self._escalate(state, "not_solved", state.last_intent or NONE, score)
            return _with_feedback(turn, "yes")
        if (
            last == ("forgot_email",)
            and not new
            and feedback != "yes"
            and reading.symptom == "no_email_received"
            and reading.verdict == "no"
        ):
            # "Nein, ich finde in keinem Postfach eine Mail von noreply@parallels.com": the
            # e-mails that answer says to look for are nowhere; no other e-mail is missing.
            return self._not_solved(state, score)
        if not new and feedback in ("yes", None):
            # The learned reading of replies, when sure, over a yes the signals read in
            # words that say the opposite ("Génial, encore un lien qui mène nulle part 👏",
            # "ben oui, j'avais vérifié les indésirables avant de vous écrire"), or over
            # their silence.
            said = reading.verdict
            if (
                feedback == "yes"
                and said in ("no", "done")
                and not _WORKS_NOW_RE.search(text)
                and not (signals.new_question and set(reading.turned_to) - set(last))
            ):
                # Not when the yes turns to a new problem ("le mdp c'est passé. par contre
                # le mail mot de passe oublié pour l'adresse perso arrive pas"): its "no" is
                # the new problem's.
                return self._not_solved(state, score)
            if feedback is None and said == "yes":
                return self._resolved(state, score, "yes")
            if said == "wait" and not before:
                return self._wait(state, score)
        if feedback == "yes":
            turned_to = reading.turned_to if signals.new_question else ()
            turned = tuple(p for p in turned_to if p not in last)
            if turned_to and not turned and not new:
                # "L'adresse je l'ai retrouvée. Mais le mail de réinitialisation n'arrive
                # toujours pas": what worked first, then the problem just answered, still
                # there.
                return self._not_solved(state, score)
            if (
                "device_email_missing" in last
                and (turned or new)
                and set(turned or new) <= MISSING_MAIL
                and DEVICE_NAMED_RE.search(text)
                and not _RESET_WORDS_RE.search(text)
            ):
                # "Le mdp c bon, mais le mail pour le mac toujours rien": the e-mail missing
                # is the device's, just answered, whatever the matcher makes of "mdp".
                return self._not_solved(state, score)
            if turned or (signals.new_question and not new):
                # "Trouvé, c'était la vieille hotmail. Et du coup maintenant il me faut le
                # mot de passe, que j'ai oublié aussi", "oui le mail de réinitialisation est
                # arrivé, mais maintenant …": what worked first, then the new problem.
                new = turned
            elif new and _SUCCEEDED_RE.search(text) and not _SUCCEEDED_BUT_RE.search(text):
                # "C'est bon, j'ai pu changer le mot de passe, merci": the problem's words
                # say what worked, not what is wrong.
                new = ()
            else:
                # "J'ai fait mot de passe oublié et en fait j'avais un compte. Ça marche.":
                # the problem whose step the customer took is what they did, not a new one.
                new = tuple(p for p in new if not set(STEPS.get(p, ())) & signals.done)
            if new and (
                signals.new_question
                or (
                    "forgot_email" in last
                    and new == ("lost_email_access",)
                    and _OUT_OF_REACH_RE.search(text) is not None
                )
            ):
                # "trouvé, c'était l'adresse de mon ancien boulot... à laquelle j'ai plus
                # accès": the address found, and it is out of reach; its answer is next.
                return _with_feedback(self._answer(state, new, score), "yes")
            if signals.new_question and reading.symptom is not None:
                turn = self._clarify_symptom(state, reading.symptom, score)
                return _with_feedback(turn, "yes")
            if signals.new_question and signals.topic and not reading.problems:
                # "Nickel, je suis connecté. Par contre ma licence n'apparaît plus": the
                # yes is taken, and the other topic routed.
                return _with_feedback(self._redirect(state, score), "yes")
            return self._resolved(state, score, "yes")
        if feedback == "wait":
            if "email_deleted" in last and signals.took("waited") and _waited_enough(state, text):
                # "sauf que ça fait 3 semaines que j'attends justement" after 14 days: the
                # days are waited out already; the waiting is what did not help.
                return self._not_solved(state, score)
            if (
                "email_deleted" in last
                and _WILL_WAIT_RE.search(text)
                and (_THANKS_ANY_RE.search(flat(reading.message)) or "tant pis" in text)
            ):
                # "D'accord je patiente alors, merci": waiting out the days is the answer
                # itself; the customer takes it with thanks, and nothing is left to report
                # back. Without them ("bon ben je vais patienter alors") the bot waits.
                return self._resolved(state, score, "yes")
            return self._wait(state, score)
        if steps & signals.done and not new:
            if (
                set(last) & RESET_LINK_ANSWERS
                and "reset_link" in signals.done
                and _names_missing_mail(reading)
            ):
                # "still stuck, I used the forgot password link and no email ever comes":
                # the link was followed; its e-mail is what is missing.
                return self._reset_email_next(state, score)
            return self._not_solved(state, score)
        if not new and not reading.problems and (signals.angry or _UNHELPED_RE.search(text)):
            # "C'est de la merde votre truc", "et alors ? je fais quoi moi": the answer
            # did not help; a person takes over.
            return self._not_solved(state, score)
        if new:
            if steps & signals.done:
                # "J'ai déjà cliqué sur mot de passe oublié, c'est le courriel qui rentre
                # pas": the answer was followed, and what came next is the new problem;
                # unless no e-mail is said missing ("… le site me dit que cette adresse
                # n'existe pas"): then the link did not do what the answer says.
                if _link_to_nothing(state, new, reading):
                    return self._not_solved(state, score)
                return _with_feedback(self._next(state, new, score), "no")
            if "email_deleted" in last and _WILL_WAIT_RE.search(text):
                # "Entendu pour le délai, je patienterai. Mais …": the wait is accepted.
                return _with_feedback(self._answer(state, new, score), "yes")
            if _DID_IT_BUT_RE.search(text):
                # "jlai fé mai jcomprend pa kel adress g mi": the answer was followed, and
                # did not help; what came next is the new problem.
                return _with_feedback(self._next(state, new, score), "no")
            if new == ("reset_email_missing",) and set(last) & RESET_LINK_ANSWERS:
                # "Wachtwoord vergeten gedaan, maar die mail komt niet": the link the answer
                # gave did not help; its e-mail is what is missing.
                return _with_feedback(self._answer(state, new, score), "no")
            return self._answer(state, new, score)
        if reading.problems:  # the same problem again: the answer did not help
            return self._not_solved(state, score)
        if reading.match.intent == "thanks" and reading.match.decision != "none":
            return self._resolved(state, score, "yes")
        foreign = reading.language not in (None, *PHRASED_LANGUAGES)
        # The licence registered is the business account answer's own step: told of, not
        # asked about, it is no other topic ("bi de Regischtrierig vo de Lizänz chunnt kei
        # Option für e Firma"; "wo kann ich eine Lizenz kaufen?" is one).
        licensed = (
            "business_account" in last
            and _LICENCE_RE.search(text) is not None
            and "?" not in reading.match.text
        )
        if (
            feedback is None
            and (reading.symptom is None or foreign)
            and (not signals.topic or licensed)
            and reading.match.intent not in ("greeting", "thanks", HUMAN)
        ):
            # Words no rule has met ("je ne suis pas devant mon ordinateur, je regarderai
            # en rentrant"): the learned reading of replies, when it is sure. In a language
            # the rules hardly read ("Vale, miro la carpeta y os digo"), its best guess:
            # the language note alone would leave the answer's question unanswered.
            said = reading.verdict_at(FOREIGN_SURE) if foreign else reading.verdict
            if (
                said in ("no", "done")
                and set(last) & RESET_LINK_ANSWERS
                and "lost_email_access" not in last
                and _names_missing_mail(reading)
            ):
                # "ya lo hice pero no me llega el correo": the link was followed; its
                # e-mail is what is missing, in any language.
                return self._reset_email_next(state, score)
            if said in ("no", "done"):
                return self._not_solved(state, score)
            if said == "wait":
                return self._wait(state, score)
            if said == "yes":
                return self._resolved(state, score, "yes")
        return None

    def _after_question(self, state: ConversationState, reading: Reading) -> Turn | None:
        """A free-text reply to a clarifying question: one of its choices, by content."""
        options = [
            c.payload.removeprefix(INTENT_PREFIX)
            for c in state.choices
            if c.payload.startswith(INTENT_PREFIX)
        ]
        options = [o for o in options if o in PROBLEMS]
        if not options:
            return None
        match = reading.match
        text = flat(match.text)
        if _NONE_OF_THESE_RE.match(text):
            # "Aucun", "autre chose", "je sais pas": none of the choices; ask again in words.
            return self._miss(state, match.score)
        # The words of each choice's title that the other choices' titles do not share.
        own = {
            o: self._title_words.get(o, frozenset()).difference(
                *(self._title_words.get(other, frozenset()) for other in options if other != o)
            )
            for o in options
        }
        titled = set(match.normalized.tokens) & frozenset().union(*own.values())
        if (
            _WHICH_ONE_RE.search(text)
            or (
                _MEANING_RE.search(text)
                and (not reading.problems or len(text.split()) <= MEANING_WORDS)
            )
            or (not titled and not reading.problems and reading.symptom == state.last_intent)
        ):
            # "C'est quoi la différence entre les deux ?", or the first message sent again:
            # nothing is chosen; the same question, with the same choices, once.
            if state.asked_again:
                return self._miss(state, match.score)
            if state.last_intent in SYMPTOMS:
                turn = self._clarify_symptom(state, state.last_intent, match.score)
            else:
                intent, asked = state.last_intent or NONE, tuple(options)
                turn = self._clarify(state, "clarify_ambiguous", intent, match.score, asked)
            # Counted as a miss: the next one offers a person.
            again = {"asked_again": True, "misses": state.misses + 1}
            return Turn(turn.decision, turn.state.model_copy(update=again))
        if len(options) == 2 and _NOT_THAT_ONE_RE.search(text):
            # "Pas celui du mot de passe, l'autre": the choice other than the one named.
            named = [o for o in options if titled & own[o]]
            if len(named) == 1:
                other = next(o for o in options if o != named[0])
                return self._next(state, (other,), match.score)
        if "reset_email_missing" in options and reading.problems == ("forgot_password",):
            # Asked which e-mail did not come, the customer names the password ("récupération
            # de mot de passe", "el de restablecer la contraseña", "ho provato con password
            # dimenticata, non arriva niente"): the e-mail of the password is the reset one.
            return self._next(state, ("reset_email_missing",), match.score)
        outright = match.score >= OUTRIGHT and not _POINTER_RE.match(text)
        if reading.problems and (set(reading.problems) & set(options) or not titled or outright):
            # A choice's words in a message that names another problem outright ("j'ai déjà
            # cliqué sur mot de passe oublié mais je ne reçois jamais le mail") point to
            # what the customer did, not to the choice.
            return self._next(state, reading.problems, match.score)
        if not titled and _DONT_KNOW_RE.search(text):
            return None
        scores = {c.intent: c.score for c in match.candidates}
        # A word of a choice's title ("celui du mot de passe", "le navigateur") points to it.
        words = set(reading.match.normalized.tokens)
        for option in options:
            shared = words & own[option]
            scores[option] = scores.get(option, 0.0) + TITLE_WORD * len(shared)
        ranked = sorted(options, key=lambda o: -scores.get(o, 0.0))
        best = scores.get(ranked[0], 0.0)
        runner_up = scores.get(ranked[1], 0.0) if len(ranked) > 1 else 0.0
        if best >= CHOICE_FLOOR and best - runner_up >= CHOICE_LEAD:
            return self._next(state, (ranked[0],), best)
        return None

    def _after_redirect(self, state: ConversationState, reading: Reading) -> Turn | None:
        """After another topic was routed: an article problem is answered, a thank-you or
        a bare "ok" is returned; anything else (the topic again, "oui", a question the bot
        cannot read) goes to the person offered: the customer does not fail twice."""
        match = reading.match
        if reading.problems or reading.symptom is not None:
            return None
        if match.decision != "none" and match.intent in ("thanks", "greeting"):
            return None
        text = flat(match.text)
        if (
            _THANKS_ANY_RE.search(text)
            and not _ACCEPTS_RE.search(text)
            and not reading.signals.topic
            and not reading.signals.human
        ):
            # "Alles klar, danke für die Info", "No need to bother anyone, thanks anyway!":
            # thanks, in any language, and no person accepted.
            return self._say(state, "thanks", "thanks", match.score, Say(template="thanks"))
        if reading.signals.feedback == "wait" and not reading.signals.topic:
            return self._say(state, "thanks", "thanks", match.score, Say(template="thanks"))
        return self._escalate(state, "other_topic", NONE, match.score)

    def _fresh(self, state: ConversationState, reading: Reading) -> Turn:
        """A message read on its own."""
        match = reading.match
        signals = reading.signals
        score = match.score
        if reading.problems:
            problems = _after_steps(reading.problems, set(state.done))
            if not problems:
                return self._not_solved(state, score)
            if set(problems) <= set(state.answered) and _STILL_NOT_RE.search(flat(match.text)):
                # "je reçois toujours pas le mail de réinitialisation en fait", after a yes
                # or a wait: the answer given did not help after all; again, it would not.
                return self._not_solved(state, score)
            return self._answer(state, problems, score)
        if reading.symptom is None and _LEAVING_THANKS_RE.search(flat(match.text)):
            return self._say(state, "thanks", "thanks", score, Say(template="thanks"))
        if (
            state.last_action in ("resolved", "thanks")
            and reading.symptom is None
            and not signals.topic
            and _GOODBYE_ANY_RE.search(flat(match.text))
        ):
            # "Danke, schönen Tag noch", "Great, have a good evening!" once it is settled:
            # thanks and goodbye in any language, no language note to give again.
            return self._say(state, "thanks", "thanks", score, Say(template="thanks"))
        if signals.topic and state.routed and _BACK_TO_RE.search(flat(match.text)):
            # "Et pour l'install du coup ?" after the account's answer: the topic routed
            # earlier, asked about again; the customer does not fail twice.
            return self._escalate(state, "other_topic", NONE, score)
        if signals.topic:
            return self._redirect(state, score)
        if signals.elsewhere:
            return self._miss(state, score)
        intent = match.intent
        if reading.language not in (None, *PHRASED_LANGUAGES) and intent != "thanks":
            # The catalogue is phrased in French and English only: in another language, a
            # question about a problem would be a guess, unless the words the lexicon
            # knows say it well ahead of the rest ("Goeiedag, ik krijg geen e-mail om mijn
            # nieuwe browser te bevestigen"), or say the symptom plainly ("ich kann mich
            # nicht bei meinem Parallels-Konto anmelden"); the note goes with either.
            if match.decision == "clarify" and intent in PROBLEMS and (
                score >= LANGUAGE_NEAR and match.margin >= LANGUAGE_LEAD
            ):
                return self._answer(state, (intent,), score)
            if reading.symptom is not None and score >= LANGUAGE_SYMPTOM:
                return self._clarify_symptom(state, reading.symptom, score)
            if (
                intent == "greeting"
                and match.decision == "answer"
                and len(match.text.split()) <= FOREIGN_GREETING_WORDS
            ):
                # "Buongiorno a tutti": a greeting, answered as one; the note goes with it.
                return self._greet(state, score)
            return self._language(state, reading)
        if reading.language is not None and match.decision == "clarify" and score < LANGUAGE_SURE:
            # "hi can u help me with my account": a question about a problem guessed from
            # a few words of another language would be a guess; the note says a person can
            # take over.
            return self._language(state, reading)
        if reading.symptom is not None:
            return self._clarify_symptom(state, reading.symptom, score)
        if match.decision == "clarify" and intent in PROBLEMS:
            return self._clarify_close(state, reading)
        if reading.language is not None and intent != "thanks":
            return self._language(state, reading)
        if match.decision != "none" and intent == "greeting":
            tokens = set(match.normalized.tokens)
            if tokens & _TROUBLE_WORDS or (tokens & _WORKING_WORDS and tokens & _NOT_WORDS):
                # "Bonjour, ça marche pas", "slt jai un pb": a trouble said, not which one;
                # a miss, not a greeting to answer with a greeting.
                return self._miss(state, score)
            return self._greet(state, score)
        if match.decision != "none" and intent == "thanks":
            if state.awaiting_feedback:
                return self._resolved(state, score, "yes")
            return self._say(state, "thanks", intent, score, Say(template="thanks"))
        return self._miss(state, score)

    def _miss(self, state: ConversationState, score: float) -> Turn:
        misses = state.misses + 1
        if state.offered_human:
            return self._escalate(state, "not_understood", NONE, score)
        if misses >= 2:
            says = Say(
                template="offer_human",
                quick_replies=(
                    QuickReply(title=self._catalogue[HUMAN].label, payload=HUMAN),
                    QuickReply(title="Reformuler", payload=REPHRASE),
                ),
            )
            turn = self._say(state, "offer_human", NONE, score, says)
            return Turn(
                turn.decision,
                turn.state.model_copy(update={"misses": misses, "offered_human": True}),
            )
        turn = self._say(state, "fallback", NONE, score, Say(template="fallback"))
        return Turn(turn.decision, turn.state.model_copy(update={"misses": misses}))

    def _language(self, state: ConversationState, reading: Reading) -> Turn:
        """Another language, the problem unclear: the note, and a person one tap away."""
        if state.offered_human:
            return self._escalate(state, "not_understood", NONE, reading.match.score)
        if state.misses:
            # A second message in a row the bot cannot read, in another language: a person
            # is offered, as after two misses in French, opened by the note again in the
            # customer's language only, since the offer itself is in French.
            turn = self._miss(state, reading.match.score)
            note = Say(
                template="language_note", context={"lang": reading.language, "offer": True}
            )
            offer = turn.decision.model_copy(update={"says": (note, *turn.decision.says)})
            return Turn(offer, turn.state)
        says = Say(
            template="language_note",
            context={"lang": reading.language},
            quick_replies=(QuickReply(title=self._catalogue[HUMAN].label, payload=HUMAN),),
        )
        turn = self._say(state, "language", NONE, reading.match.score, says)
        return Turn(turn.decision, turn.state.model_copy(update={"misses": 1}))

    # -- building blocks -----------------------------------------------------------------

    def _answer(self, state: ConversationState, problems: tuple[str, ...], score: float) -> Turn:
        """The article's answer to each problem, in order, then the feedback question."""
        says: list[Say] = []
        done = set(state.done)
        for intent in problems:
            entry = self._catalogue[intent]
            context: dict[str, int | str | None] = {}
            if intent == "email_deleted":
                days = state.facts.get("days")
                context["days"] = int(days) if days is not None and days.isdecimal() else None
            if intent in ("reset_email_missing", "device_email_missing"):
                context["spam_checked"] = int("spam" in done)
                context["contacts_added"] = int("contacts" in done)
            if intent == "device_email_missing":
                context["no_other_device"] = int("other_device" in done)
            buttons = tuple(LinkButton(title=link.title, url=link.url) for link in entry.links)
            says.append(Say(template=f"answer_{intent}", context=context, buttons=buttons))
        question = Say(
            template="feedback_question",
            quick_replies=(
                QuickReply(title="Oui", payload=YES),
                QuickReply(title="Non", payload=NO),
            ),
        )
        turn = self._say(state, "answer", problems[-1], score, *says, question)
        answered = tuple(dict.fromkeys((*state.answered, *problems)))
        return Turn(
            turn.decision.model_copy(update={"answered": problems}),
            turn.state.model_copy(
                update={
                    "last_intent": problems[-1],
                    "awaiting_feedback": True,
                    "answered": answered,
                    "last_answer": problems,
                }
            ),
        )

    def _next(self, state: ConversationState, problems: tuple[str, ...], score: float) -> Turn:
        """The answer to what follows in the article, without the steps the customer took;
        a person when none is left."""
        left = _after_steps(problems, set(state.done))
        return self._answer(state, left, score) if left else self._not_solved(state, score)

    def _reset_email_next(self, state: ConversationState, score: float) -> Turn:
        """After the « Mot de passe oublié » link, its e-mail missing: that e-mail's answer,
        unless it was given already in this conversation ("lui c'est réglé. moi je n'ai
        toujours rien reçu"); then a person."""
        if "reset_email_missing" in state.answered:
            return self._not_solved(state, score)
        return _with_feedback(self._next(state, ("reset_email_missing",), score), "no")

    def _wait(self, state: ConversationState, score: float) -> Turn:
        """The customer goes to try: a short acknowledgement, the question still open."""
        says = Say(
            template="wait",
            quick_replies=(
                QuickReply(title="Oui", payload=YES),
                QuickReply(title="Non", payload=NO),
            ),
        )
        turn = self._say(state, "wait", state.last_intent or NONE, score, says)
        return Turn(
            turn.decision,
            turn.state.model_copy(update={"awaiting_feedback": True, "last_answer": state.pending}),
        )

    def _whoami(self, state: ConversationState, score: float) -> Turn:
        """Who answers, asked: the assistant says so and asks for the problem, a person one
        tap away. Still no problem told: it counts as a miss."""
        says = Say(
            template="whoami",
            context={"disclosed": int(not state.disclosed)},
            quick_replies=(QuickReply(title=self._catalogue[HUMAN].label, payload=HUMAN),),
        )
        turn = self._say(state, "fallback", NONE, score, says)
        misses = state.misses + 1
        # Remembered as no question asked: "ok merci" after it is thanks, not a person
        # accepted. An answer given before still awaits its feedback.
        update = {
            "last_action": "whoami",
            "misses": misses,
            "offered_human": misses >= 2,
            "awaiting_feedback": state.awaiting_feedback,
            "last_answer": state.last_answer,
        }
        return Turn(turn.decision, turn.state.model_copy(update=update))

    def _redirect(self, state: ConversationState, score: float) -> Turn:
        """Another Parallels topic: what the bot helps with, and a person one tap away."""
        says = Say(
            template="redirect",
            quick_replies=(QuickReply(title=self._catalogue[HUMAN].label, payload=HUMAN),),
        )
        turn = self._say(state, "redirect", NONE, score, says)
        return Turn(turn.decision, turn.state.model_copy(update={"routed": True}))

    def _clarify_symptom(self, state: ConversationState, symptom: str, score: float) -> Turn:
        options = self._catalogue[symptom].candidates
        return self._clarify(state, f"clarify_{symptom}", symptom, score, options)

    def _clarify_close(self, state: ConversationState, reading: Reading) -> Turn:
        match = reading.match
        problems = [c for c in match.candidates if c.intent in PROBLEMS]
        options = tuple(c.intent for c in problems[:MAX_CHOICES])
        if len(options) < 2 or (match.score < CLOSE_FLOOR and reading.signals.angry):
            # "Votre boîte c'est du grand n'importe quoi": anger, and one loose word of a
            # problem, is no problem to choose; it is a miss.
            return self._miss(state, match.score)
        return self._clarify(state, "clarify_ambiguous", match.intent, match.score, options)

    def _clarify(
        self,
        state: ConversationState,
        template: str,
        intent: str,
        score: float,
        options: tuple[str, ...],
    ) -> Turn:
        choices = (
            *(
                QuickReply(title=self._catalogue[o].label, payload=f"{INTENT_PREFIX}{o}")
                for o in options
            ),
            QuickReply(title=self._catalogue[HUMAN].label, payload=HUMAN),
        )
        turn = self._say(
            state, "clarify", intent, score, Say(template=template, quick_replies=choices)
        )
        update = {"last_intent": intent, "asked_again": False}
        return Turn(turn.decision, turn.state.model_copy(update=update))

    def _greet(self, state: ConversationState, score: float) -> Turn:
        # The disclosure already says "Bonjour" on a first message.
        say = Say(template="greeting", context={"hello": int(state.disclosed)})
        return self._say(state, "greet", "greeting", score, say)

    def _resolved(self, state: ConversationState, score: float, feedback: Feedback) -> Turn:
        turn = self._say(
            state, "resolved", state.last_intent or NONE, score, Say(template="resolved")
        )
        return _with_feedback(turn, feedback)

    def _not_solved(self, state: ConversationState, score: float) -> Turn:
        turn = self._escalate(state, "not_solved", state.last_intent or NONE, score)
        return _with_feedback(turn, "no")

    def _escalate(self, state: ConversationState, reason: str, intent: str, score: float) -> Turn:
        say = Say(template="escalation", context={"hours": self._hours})
        turn = self._say(state, "escalate", intent, score, say, reason=reason)
        return Turn(turn.decision, turn.state.model_copy(update={"escalated": True}))

    def _say(
        self,
        state: ConversationState,
        action: str,
        intent: str,
        score: float,
        *says: Say,
        reason: str | None = None,
    ) -> Turn:
        """Prefix the disclosure on the bot's first message, remember the choices offered."""
        if not state.disclosed:
            says = (Say(template="disclosure"), *says)
        choices = says[-1].quick_replies
        decision = Decision.model_validate(
            {
                "action": action,
                "intent": intent,
                "score": score,
                "says": says,
                "escalation_reason": reason,
            }
        )
        keep_misses = action in ("fallback", "offer_human", "rephrase", "language")
        new_state = state.model_copy(
            update={
                "last_action": action,
                "awaiting_feedback": False,
                "last_answer": (),
                "disclosed": True,
                "choices": choices,
                "misses": state.misses if keep_misses else 0,
                "offered_human": state.offered_human if keep_misses else False,
            }
        )
        return Turn(decision, new_state)

    # -- what goes around the reply --------------------------------------------------------

    def _dress(
        self, turn: Turn, before: ConversationState, reading: Reading, typed: bool
    ) -> Turn:
        """The reminder, the language note and the acknowledgement, after the disclosure."""
        decision = turn.decision
        if decision.action == "silent" or not decision.says:
            return turn
        extras: list[Say] = []
        update: dict[str, object] = {}
        state_update: dict[str, object] = {}
        signals = reading.signals
        if signals.secret and not before.reminded:
            extras.append(Say(template="secret_reminder"))
            update["reminded"] = True
            state_update["reminded"] = True
        if typed and reading.language is not None:
            update["language"] = reading.language
            if reading.language not in before.noted and before.language != reading.language:
                # Said once, as a person would: not again for a reply in French or too short
                # to tell ("no, no me llega el correo") between two in that language.
                if decision.action != "language":
                    extras.append(
                        Say(template="language_note", context={"lang": reading.language})
                    )
                state_update["noted"] = (*before.noted, reading.language)
        acknowledge = typed and decision.action in (
            "answer", "clarify", "fallback", "offer_human", "redirect", "escalate", "language",
        ) and decision.escalation_reason not in _NO_ACKNOWLEDGEMENT and (
            # "C'est une IA qui me répond ?" is a question, angry only in anger's own words.
            reading.signals.angry if turn.state.last_action == "whoami" else reading.angry
        )  # fmt: skip
        if acknowledge:
            extras.append(Say(template="acknowledge"))
            update["acknowledged"] = True
        says = list(decision.says)
        at = 1 if says and says[0].template == "disclosure" else 0
        says[at:at] = extras
        update["says"] = tuple(says)
        return Turn(decision.model_copy(update=update), turn.state.model_copy(update=state_update))


def _with_feedback(turn: Turn, feedback: Feedback | None) -> Turn:
    if feedback is None:
        return turn
    return Turn(turn.decision.model_copy(update={"feedback": feedback}), turn.state)


def _after_steps(problems: tuple[str, ...], done: set[str]) -> tuple[str, ...]:
    """The problems still worth an answer once the steps the customer took are counted.

    Having used the "Mot de passe oublié" link already, a customer whose problem that link
    answers is waiting for the reset e-mail; a problem all of whose steps were taken is not
    answered again (the next step is a person).
    """
    kept: list[str] = []
    for problem in problems:
        if "reset_email" in done and problem in RESET_PROBLEMS:
            # "Reçu le mail, changé le mot de passe… « non valide »", "le lien du mail a
            # expiré": the reset e-mail came and the reset failed; no step of the article is
            # left for it.
            continue
        if problem in RESET_LINK_ANSWERS and "reset_link" in done:
            reset = "reset_email_missing"
            if reset in problems and problems.index(problem) > problems.index(reset):
                # "Mot de passe oublié -> aucun mail, et quand je refais un compte : adresse
                # déjà utilisée": the link led to the reset e-mail named first; what follows
                # is a story of its own.
                kept.append(problem)
                continue
            problem = "reset_email_missing"
        steps = STEPS.get(problem, ())
        if steps and set(steps) <= done:
            continue
        if problem not in kept:
            kept.append(problem)
    return tuple(kept)


def _several_choices(message: IncomingMessage, state: ConversationState) -> tuple[str, ...]:
    """The problems of a clarifying question a typed reply picks more than one of: "les
    deux" (when two were offered), "le 1 et le 3", "les deux premiers"."""
    if message.payload or state.last_action != "clarify" or not state.choices:
        return ()
    options = [
        c.payload.removeprefix(INTENT_PREFIX)
        for c in state.choices
        if c.payload.startswith(INTENT_PREFIX) and c.payload.removeprefix(INTENT_PREFIX) in PROBLEMS
    ]
    text = flat(message.text)
    if len(options) == 2 and _BOTH_RE.match(text):
        return tuple(options)
    ends = _FIRST_OR_LAST_RE.match(text)
    if ends is not None:
        n = 2 if ends.group(2) in ("deux", "2") else 3
        if n >= len(options):
            return ()
        return tuple(options[:n] if ends.group(3).startswith(("prem", "1")) else options[-n:])
    ranks = _RANKS_RE.match(text)
    if ranks is None:
        return ()
    named = re.findall(_RANK, ranks.group(0))
    picked = sorted({int(n) if n.isdigit() else _RANK_WORDS[n] for n, _ in named})
    if len(picked) < 2 or not all(1 <= n <= len(options) for n in picked):
        return ()
    return tuple(options[n - 1] for n in picked)


# "ça n'a rien changé", "ça donne rien", "le lien fait rien": the step had no effect; no
# e-mail is said missing.
_NOTHING_CHANGED_RE: Final = re.compile(
    r"\b(rien|rien du tout|que dalle) (change|changer|donne|fait|fais|sert)\b"
    r"|\b(donne|change|fait|sert a|sert) (rien|que dalle)\b"
)
_SITE_LINK_RE: Final = re.compile(r"\b(lien|bouton) (\w+ )?(mot de passe oublie|mdp oublie)\b")
_INVALID_ERROR_RE: Final = re.compile(
    r"\badresse (e )?mail ou (le )?mot de passe (non valide|invalide)\b"
    r"|\binvalid email or password\b"
)


def _still_missing(state: ConversationState, text: str) -> bool:
    """Whether a reply says that an e-mail the answer just dealt with (the reset e-mail, the
    device's) still does not come, naming it or no other: a clause with "toujours pas",
    "ancora niente", that names that e-mail or the device it is for."""
    pending = set(state.pending) & MISSING_MAIL
    if not pending:
        return False
    for clause in _CLAUSE_TURN_RE.split(text):
        still = _STILL_NOT_RE.search(clause)
        if still is None:
            continue
        # What is still not there is named next to it: "l'iPad toujours pas", "toujours pas
        # de mail" (not "non toujours pas. Et … cette adresse mail est déjà utilisée").
        before = clause[: still.start()].split()[-STILL_NEAR:]
        after = clause[still.end() :].split()[:STILL_NEAR]
        clause = " ".join([*before, still.group(0), *after])
        device = DEVICE_NAMED_RE.search(clause) is not None
        reset = _RESET_WORDS_RE.search(clause) is not None
        if device and not reset:
            return "device_email_missing" in pending
        if reset and not device:
            return "reset_email_missing" in pending
        if _MAIL_NOUN_RE.search(clause) and len(pending) == 1:
            return True
    return False


def _link_to_nothing(state: ConversationState, new: tuple[str, ...], reading: Reading) -> bool:
    """Whether the customer says they used the « Mot de passe oublié » link an answer gave
    and names no e-mail missing ("mdp oublié déjà tenté, le site me répond qu'aucun compte
    n'existe", "je l'ai déjà fait hier, ça n'a rien changé"), or says its e-mail came: the
    link did not do what the answer says; the reset e-mail's answer would not help."""
    link = RESET_LINK_ANSWERS | {"reset_email_missing"}
    if not (new and set(new) <= link and set(state.pending) & RESET_LINK_ANSWERS):
        return False
    if "reset_link" not in reading.signals.done:
        return False
    text = flat(reading.match.text)
    return not _names_missing_mail(reading) or _LINK_WORKED_RE.search(text) is not None


def _names_missing_mail(reading: Reading) -> bool:
    """Whether the message says an e-mail did not come (a bare "non, c'est pareil" names
    no e-mail, however the matcher scores its "non")."""
    # "toujours Adresse mail ou mot de passe non valide": the error's "mail" is no e-mail;
    # nor is the "rien" of "ça n'a rien changé", nor the site's link "mot de passe oublié".
    text = _INVALID_ERROR_RE.sub(" ", flat(reading.match.text))
    text = _NOTHING_CHANGED_RE.sub(" ", _SITE_LINK_RE.sub(" ", text))
    if _MAIL_WORDS_RE.search(text) is None or _BROKEN_PAGE_RE.search(text):
        # "Le lien mot de passe oublié m'affiche une page blanche": the site, not an e-mail.
        return False
    if _NO_MAIL_CAME_RE.search(text):
        return True
    scores = {c.intent: c.score for c in reading.match.candidates}
    return max(scores.get("reset_email_missing", 0.0), scores.get("no_email_received", 0.0)) >= 60


# Back to what was asked before: "et pour l'install du coup ?", "bon et pour les licences
# alors ?".
_BACK_TO_RE: Final = re.compile(
    r"^(\w+ ){0,2}(et|et sinon|mais) (pour|concernant|niveau|cote) (\w+ ){1,3}"
    r"(du coup|alors|donc)\b"
)
# Thanks in the languages of the note.
_THANKS_WORDS: Final = (
    r"merci|thanks|thank you|danke|gracias|grazie|obrigad[oa]|bedankt|dank je|dankjewel"
    r"|brigad[oa]|valeu|vlw|vielen dank|dankeschon|dank u|dank jullie|muy amable|gentilissim[oa]"
    r"|cheers"
)
_THANKS_ANY_RE: Final = any_word(_THANKS_WORDS)
# Goodbyes: thanks or praise first, or a good day wished, in the languages of the note.
_GOODBYE_ANY_RE: Final = re.compile(
    rf"^(\w+ ){{0,5}}({_THANKS_WORDS}|great|perfect|perfecto|perfetto|perfekt|super|top)\b(?!.*\?)"
    r"|\b(have a )?(good|nice|great|lovely) (day|evening|night|weekend)\b|\bschonen (tag|abend)"
    r"|\bbuona (giornata|serata)\b|\b(fijne|prettige) (dag|avond)\b"
    r"|\b(que )?(tenga|tengas|tenha|tenham) (un |um )?(buen|bom|buena|boa)"
    r" (dia|tarde|noche|noite)\b"
    r"|\b(boa|bom|buena|buona|schone|fijne|goede) (semana|fim de semana|settimana|woche|week)\b"
    r"|\b(hasta luego|hasta pronto|adios|chao|chau|ciao|tschuss|auf wiedersehen|bis bald"
    r"|tot ziens|doei|ate logo|tchau)\b"
)
# The words that accept a person offered.
_ACCEPTS_RE: Final = re.compile(
    r"^(oui|ouais|yes|yep|ok|d accord|si|sí|ja|sim|graag)\b|\b(please|por favor|bitte|per favore"
    r"|svp|s il vous plait|volontiers|je veux bien|avec plaisir)\b"
)
# "c'est faite", "voilà, ça y est": the step just advised, done (said alone).
_DONE_IT_RE: Final = re.compile(
    r"^(ok |bon |voila |re |alors )?(c est fait|c est faite|c fait|c fe|cest fait|ca y est|fait"
    r"|done|voila|c est cree|c est creee|cest cree|c cree|created|creato|creata|creado|creada"
    r"|criado|criada|erstellt|angelegt|aangemaakt)( c est fait| ca y est| c est cree)?"
    # "fait, avec mon adresse icloud", "c'est fait, même nom, nouveau courriel gmail".
    r"( (avec|avc|sur) (mon|ma|mes|une|un|l|le|la) (\w+ ){0,3}\w+"
    r"|( \w+){0,3} (nouveau|nouvelle|nouvel|autre) (courriel|mail|e mail|email|adresse)"
    r"( \w+){0,2})?$"
)
# Words either side of "toujours pas" that name what is still not there.
STILL_NEAR: Final = 4
# Still not, in the languages of the note: "toujours pas", "ancora niente", "immer noch nicht".
_STILL_NOT_RE: Final = re.compile(
    r"\b(toujours|encore|tjrs|tjs|ancora|immer noch|noch immer|nog steeds|nog altijd|todavia"
    r"|aun|ainda|still) (pas|pa|rien|aucun|niente|nulla|nada|nichts|nicht|niets|niks|niet"
    r"|nao|no|not|nothing)\b"
)
# Where a reply turns from one answer to the other: "le mot de passe c'est réglé mais …".
_CLAUSE_TURN_RE: Final = re.compile(
    r"\b(?:mais|mai|par contre|sauf que|pero|aber|maar|mas|but)\b"
    r"|(?<=\w) (?=pour (?:moi|lui|elle)\b)"
)
_MAIL_NOUN_RE: Final = re.compile(
    r"\b(mail|mails|e mail|email|courriel|message|correo|nachricht|bericht|mensagem|lien)\b"
)
# The reset named: not the e-mail that authorises a device.
_RESET_WORDS_RE: Final = re.compile(r"\b(reinitialis\w*|reset|nouveau mot de passe|changer)\b")
# "no email ever came", "the email never arrives": said in English, where the matcher's
# scores are lower.
_NO_MAIL_CAME_RE: Final = re.compile(
    r"\b(no|never) (\w+ ){0,2}(e mail|email|mail)s? (\w+ ){0,2}(came|arrived|arrives|comes)\b"
    r"|\b(e mail|email|mail)s? (\w+ ){0,2}never (came|arrived|arrives|comes|shows up|showed up)\b"
    r"|\bnever (got|received|get|receive) (\w+ ){0,2}(e mail|email|mail)\b"
    r"|\b(e mail|email|mail)s? (\w+ ){0,2}(isn t|is not|aren t|not) (coming|arriving|showing up)\b"
    # In the languages of the note: "não chega email nenhum", "no me llega el correo", "ik
    # krijg geen mail", "es kommt keine E-Mail", "non arriva nessuna mail".
    r"|\b(nao chega|nao recebo|nao recebi|no (me )?llega|no recibo|no he recibido|kommt keine"
    r"|kommt (\w+ )?nicht an|bekomme keine|erhalte keine|non arriva|non ricevo|nessuna (mail|email)"
    r"|krijg geen|ontvang geen|komt niet aan|geen (mail|e mail|email))\b"
)


_DURATION_RE: Final = re.compile(
    r"\b(\d+|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|quinze|trente)"
    r" (jours|jour|j|jrs|semaines|semaine|mois|ans|an)\b"
)
_NUMBER_WORDS: Final = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "quinze": 15, "trente": 30,
}  # fmt: skip
_UNIT_DAYS: Final = {"semaine": 7, "semaines": 7, "mois": 30, "an": 365, "ans": 365}


def _waited_enough(state: ConversationState, text: str) -> bool:
    """Whether the time the customer says they waited covers the days the deleted address's
    message gave (when either is unknown, what they say is taken at its word)."""
    days = state.facts.get("days")
    waited = [
        (int(n) if n.isdecimal() else _NUMBER_WORDS[n]) * _UNIT_DAYS.get(unit, 1)
        for n, unit in _DURATION_RE.findall(text)
    ]
    if days is None or not days.isdecimal() or not waited:
        return True
    return max(waited) >= int(days)
