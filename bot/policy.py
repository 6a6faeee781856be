"""The dialogue policy: one pure function from (state, message, match) to a decision.

DESIGN.md's rules, in the order they apply:

* while a person has the conversation the bot stays silent;
* a tap on a choice (or its number, or its title typed) is taken at its word;
* "Non" / "toujours pas" after an answer escalates (the answer did not help, or the
  article itself sends the customer to support); "Oui" closes the topic;
* `human` escalates at once;
* a clear article problem gets its answer and "Est-ce que cela a résolu votre problème ?";
* a generic symptom, or two close problems, gets a clarifying question whose choices are
  the candidate problems: a doubtful message never gets a confident wrong answer;
* a miss asks to rephrase; a second offers a person; one more after that escalates;
* a screenshot alone asks for words; a second one in a row goes to a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from bot.models import Decision, IncomingMessage, LinkButton, QuickReply, Say
from intents.catalogue import NONE, PROBLEMS, SYMPTOMS, Catalogue
from intents.matcher import Match, read_feedback
from intents.normalize import fold

YES = "feedback:yes"
NO = "feedback:no"
HUMAN = "human"
REPHRASE = "rephrase"
GET_STARTED = "get_started"
INTENT_PREFIX = "intent:"
MAX_CHOICES = 3


class ConversationState(BaseModel):
    """What the bot remembers of one conversation between two messages."""

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
    # The service's, not the policy's: when the customer's last messages came (flood guard).
    recent_ms: tuple[int, ...] = ()
    flood_noticed: bool = False


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
                "last_action": "handback",
            }
        )


@dataclass(frozen=True, slots=True)
class Turn:
    """A decision and the state the conversation is left in."""

    decision: Decision
    state: ConversationState


def chosen_payload(message: IncomingMessage, state: ConversationState) -> str | None:
    """The payload of a tapped choice, or of a choice typed by its number or its title."""
    if message.payload:
        return message.payload
    typed = message.text.strip().rstrip(".)")
    # ASCII digits only: "²" is a digit to str.isdigit() but not to int().
    if typed.isascii() and typed.isdecimal() and len(typed) <= 3 and 1 <= int(typed) <= len(
        state.choices
    ):
        return state.choices[int(typed) - 1].payload
    folded = fold(message.text).strip(" .!")
    for choice in state.choices:
        if folded and folded == fold(choice.title).strip(" .!…"):
            return choice.payload
    return None


class Policy:
    """DESIGN.md's dialogue policy over the catalogue; `decide` is pure."""

    def __init__(self, catalogue: Catalogue, hours: str | None = None) -> None:
        self._catalogue = catalogue
        self._hours = hours  # when people answer, told to a customer handed over

    def decide(self, state: ConversationState, message: IncomingMessage, match: Match) -> Turn:
        if state.escalated:
            return Turn(Decision(action="silent", intent=match.intent, score=match.score), state)
        facts = dict(state.facts)
        if match.days is not None:
            facts["days"] = str(match.days)
        facts.update(match.entities)
        state = state.model_copy(update={"facts": facts})

        payload = chosen_payload(message, state)
        if payload is not None:
            return self._on_payload(state, payload, match)
        if message.attachments and not message.text.strip():
            if state.last_action == "attachment":
                return self._escalate(state, "unreadable_attachment", NONE, 0.0)
            return self._say(state, "attachment", NONE, 0.0, Say(template="attachment"))

        feedback = read_feedback(message.text) if state.awaiting_feedback else None
        new_problem = match.decision == "answer" and match.intent != state.last_intent
        if feedback == "no" and not new_problem:
            return self._escalate(state, "not_solved", state.last_intent or NONE, match.score)
        if feedback == "yes" and not new_problem:
            return self._resolved(state, match)
        return self._on_match(state, match)

    # -- what the customer chose -------------------------------------------------------

    def _on_payload(self, state: ConversationState, payload: str, match: Match) -> Turn:
        if payload == YES:
            return self._resolved(state, match)
        if payload == NO:
            return self._escalate(state, "not_solved", state.last_intent or NONE, 100.0)
        if payload == HUMAN:
            return self._escalate(state, "asked_for_human", HUMAN, 100.0)
        if payload == REPHRASE:
            return self._say(state, "rephrase", NONE, 0.0, Say(template="rephrase"))
        if payload.startswith(INTENT_PREFIX):
            intent = payload.removeprefix(INTENT_PREFIX)
            if intent in PROBLEMS:
                return self._answer(state, intent, 100.0, state.facts)
            if intent in SYMPTOMS:
                return self._clarify_symptom(state, intent, 100.0)
        # Get Started, a menu entry without a problem, or a stale payload: say hello.
        return self._greet(state, match)

    # -- what the customer wrote ---------------------------------------------------------

    def _on_match(self, state: ConversationState, match: Match) -> Turn:
        intent = match.intent
        if intent == HUMAN:
            return self._escalate(state, "asked_for_human", HUMAN, match.score)
        if match.decision == "none" or intent == NONE:
            return self._miss(state, match)
        if intent == "greeting":
            return self._greet(state, match)
        if intent == "thanks":
            if state.awaiting_feedback:
                return self._resolved(state, match)
            return self._say(state, "thanks", intent, match.score, Say(template="thanks"))
        if intent in SYMPTOMS:
            return self._clarify_symptom(state, intent, match.score)
        if match.decision == "answer":
            return self._answer(state, intent, match.score, state.facts)
        return self._clarify_close(state, match)

    def _miss(self, state: ConversationState, match: Match) -> Turn:
        misses = state.misses + 1
        if state.offered_human:
            return self._escalate(state, "not_understood", NONE, match.score)
        if misses >= 2:
            says = Say(
                template="offer_human",
                quick_replies=(
                    QuickReply(title=self._catalogue[HUMAN].label, payload=HUMAN),
                    QuickReply(title="Reformuler", payload=REPHRASE),
                ),
            )
            turn = self._say(state, "offer_human", NONE, match.score, says)
            return Turn(
                turn.decision,
                turn.state.model_copy(update={"misses": misses, "offered_human": True}),
            )
        turn = self._say(state, "fallback", NONE, match.score, Say(template="fallback"))
        return Turn(turn.decision, turn.state.model_copy(update={"misses": misses}))

    # -- building blocks -----------------------------------------------------------------

    def _answer(
        self, state: ConversationState, intent: str, score: float, facts: dict[str, str]
    ) -> Turn:
        entry = self._catalogue[intent]
        context: dict[str, int | str | None] = {}
        if intent == "email_deleted":
            context["days"] = int(facts["days"]) if "days" in facts else None
        buttons = tuple(LinkButton(title=link.title, url=link.url) for link in entry.links)
        question = Say(
            template="feedback_question",
            quick_replies=(
                QuickReply(title="Oui", payload=YES),
                QuickReply(title="Non", payload=NO),
            ),
        )
        answer = Say(template=f"answer_{intent}", context=context, buttons=buttons)
        turn = self._say(state, "answer", intent, score, answer, question)
        turn = Turn(turn.decision.model_copy(update={"answered": (intent,)}), turn.state)
        answered = (*state.answered, intent) if intent not in state.answered else state.answered
        return Turn(
            turn.decision,
            turn.state.model_copy(
                update={"last_intent": intent, "awaiting_feedback": True, "answered": answered}
            ),
        )

    def _clarify_symptom(self, state: ConversationState, symptom: str, score: float) -> Turn:
        options = self._catalogue[symptom].candidates
        return self._clarify(state, f"clarify_{symptom}", symptom, score, options)

    def _clarify_close(self, state: ConversationState, match: Match) -> Turn:
        problems = [c for c in match.candidates if c.intent in PROBLEMS]
        options = tuple(c.intent for c in problems[:MAX_CHOICES])
        if len(options) < 2:
            return self._miss(state, match)
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
        return Turn(turn.decision, turn.state.model_copy(update={"last_intent": intent}))

    def _greet(self, state: ConversationState, match: Match) -> Turn:
        # The disclosure already says "Bonjour" on a first message.
        say = Say(template="greeting", context={"hello": int(state.disclosed)})
        return self._say(state, "greet", "greeting", match.score, say)

    def _resolved(self, state: ConversationState, match: Match) -> Turn:
        return self._say(
            state, "resolved", state.last_intent or NONE, match.score, Say(template="resolved")
        )

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
        keep_misses = action in ("fallback", "offer_human", "rephrase")
        new_state = state.model_copy(
            update={
                "last_action": action,
                "awaiting_feedback": False,
                "disclosed": True,
                "choices": choices,
                "misses": state.misses if keep_misses else 0,
                "offered_human": state.offered_human if keep_misses else False,
            }
        )
        return Turn(decision, new_state)
