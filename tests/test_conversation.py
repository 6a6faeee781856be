"""Multi-turn conversations through the real engine, as a customer lives them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.engine import Engine, Outcome
from bot.models import IncomingMessage
from bot.policy import NO, ConversationState
from intents.catalogue import Catalogue
from intents.matcher import Matcher
from intents.reader import Reader
from responses.renderer import Renderer

QUESTION = "Est-ce que cela a résolu votre problème ?"


@dataclass
class Customer:
    engine: Engine
    state: ConversationState = field(default_factory=ConversationState)
    count: int = 0

    def says(self, text: str = "", payload: str | None = None, attachments: int = 0) -> Outcome:
        self.count += 1
        message = IncomingMessage(
            channel="local",
            platform_id=f"m{self.count}",
            sender_id="customer",
            text=text,
            payload=payload,
            attachments=attachments,
        )
        outcome = self.engine.respond(self.state, message)
        self.state = outcome.state
        return outcome

    def taps(self, title: str, outcome: Outcome) -> Outcome:
        choices = [qr for reply in outcome.replies for qr in reply.quick_replies]
        chosen = next(qr for qr in choices if qr.title == title)
        return self.says(chosen.title, payload=chosen.payload)


def texts(outcome: Outcome) -> str:
    return "\n".join(reply.text for reply in outcome.replies)


def handed_over(outcome: Outcome) -> str | None:
    """Why the conversation went to a person, or None when it did not."""
    decision = outcome.decision
    return decision.escalation_reason if decision.action == "escalate" else None


def payloads(outcome: Outcome) -> list[str]:
    return [qr.payload for reply in outcome.replies for qr in reply.quick_replies]


def titles(outcome: Outcome) -> list[str]:
    return [qr.title for reply in outcome.replies for qr in reply.quick_replies]


def test_first_message_discloses_the_assistant_then_answers(engine: Engine) -> None:
    customer = Customer(engine)
    first = customer.says("j'ai oublié mon mot de passe")
    assert first.replies[0].text.startswith("Bonjour, je suis l'assistant automatisé de Parallels")
    assert "« Mot de passe oublié »" in texts(first)
    assert first.replies[-1].text == QUESTION
    assert titles(first) == ["Oui", "Non"]
    second = customer.says("et sinon ?")
    assert "assistant automatisé" not in texts(second)


def test_yes_after_an_answer_closes_politely(engine: Engine) -> None:
    customer = Customer(engine)
    answer = customer.says("mdp oublié")
    closing = customer.taps("Oui", answer)
    assert closing.decision.action == "resolved"
    assert "ravi" in texts(closing)
    assert not closing.state.escalated


def test_no_after_a_support_answer_escalates(engine: Engine) -> None:
    customer = Customer(engine)
    answer = customer.says("je recois pas le mail de reinitialisation du mdp, g regardé les spams")
    assert answer.decision.intent == "reset_email_missing"
    assert "noreply@parallels.com" in texts(answer)
    escalation = customer.says("ça ne marche toujours pas")
    assert escalation.decision.action == "escalate"
    assert escalation.decision.escalation_reason == "not_solved"
    assert "conseiller" in texts(escalation)
    assert escalation.state.escalated


def test_no_after_any_answer_that_did_not_help_escalates(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("Cette adresse mail est déjà utilisée")
    escalation = customer.says("", payload=NO)
    assert escalation.decision.action == "escalate"


def test_bot_stays_silent_while_a_person_has_the_conversation(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("je veux parler à un conseiller")
    assert customer.state.escalated
    later = customer.says("vous êtes là ?")
    assert later.decision.action == "silent"
    assert later.replies == []


@pytest.mark.parametrize(
    "text",
    [
        "je veux parler à un humain svp",
        "vous pouvez me passer quelqu'un du support ?",
        # In the languages of the note.
        "posso falar com uma pessoa?",
        "¿Me puede pasar con una persona?",
        "Can you put me through to a human please?",
        "Chönnt ich mit emne Mitarbeiter rede?",
        "Chan ich bitte mit emene Mönsch rede?",
        "Gostaria de falar com um assistente",
        "Kan ik alsjeblieft iemand spreken?",
        "Sorry, I can't read French. Could someone help me in English please?",
        "Chan ich mit öpperem rede wo Dütsch chan?",
        "ich will einfach mit nem Menschen reden, sofort",
        "yeah just get me someone",
    ],
)
def test_asking_for_a_person_escalates_at_once(engine: Engine, text: str) -> None:
    outcome = Customer(engine).says(text)
    assert outcome.decision.action == "escalate"
    assert outcome.decision.escalation_reason == "asked_for_human"


def test_generic_symptom_asks_which_problem_and_a_tap_answers_it(engine: Engine) -> None:
    customer = Customer(engine)
    question = customer.says("je n'arrive pas à me connecter")
    assert question.decision.action == "clarify"
    assert titles(question) == [
        "Mot de passe oublié",
        "Adresse oubliée",
        "Plus accès au mail",
        "Un conseiller",
    ]
    answer = customer.taps("Adresse oubliée", question)
    assert answer.decision.intent == "forgot_email"
    assert "noreply@parallels.com" in texts(answer)


def test_a_choice_can_be_typed_by_its_number(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("je ne reçois pas le mail")
    answer = customer.says("2")
    assert answer.decision.intent == "device_email_missing"
    assert "no-reply@parallels.com" in texts(answer)


def test_two_misses_offer_a_person_and_a_third_escalates(engine: Engine) -> None:
    customer = Customer(engine)
    first = customer.says("blablabla")
    assert first.decision.action == "fallback"
    second = customer.says("qsdfghjklm")
    assert second.decision.action == "offer_human"
    assert titles(second) == ["Un conseiller", "Reformuler"]
    third = customer.says("wxcvbn")
    assert third.decision.action == "escalate"
    assert third.decision.escalation_reason == "not_understood"


@pytest.mark.parametrize(
    "text",
    ["c'est un robot ?", "je parle a une IA la ??", "Vous êtes un vrai humain ou un bot ?"],
)
def test_asking_whether_a_program_answers_is_told_so_with_a_person_one_tap_away(
    engine: Engine, text: str
) -> None:
    customer = Customer(engine)
    customer.says("j'ai oublié mon mot de passe")
    told = customer.says(text)
    assert "Oui, je suis l'assistant automatisé de Parallels." in texts(told)
    assert "je n'ai pas bien compris" not in texts(told).casefold()
    assert handed_over(told) is None
    assert titles(told) == ["Un conseiller"]
    # The answer before it still awaits its feedback: a "non" goes to a person.
    assert handed_over(customer.says("non ça marche toujours pas")) == "not_solved"


def test_asking_whether_a_program_answers_then_thanking_is_no_person_accepted(
    engine: Engine,
) -> None:
    customer = Customer(engine)
    first = customer.says("c'tu une vraie personne qui me répond là?")
    # The disclosure has just said who answers; the reply does not say it twice.
    assert texts(first).count("assistant automatisé") == 1
    assert customer.says("ok merci").decision.action == "thanks"


def test_a_miss_between_answers_does_not_count_against_the_customer(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("blablabla")
    customer.says("j'ai oublié mon mot de passe")
    again = customer.says("azertyuiop")
    assert again.decision.action == "fallback"


def test_deleted_address_answer_uses_the_days_the_customer_pasted(engine: Engine) -> None:
    outcome = Customer(engine).says(
        "Cette adresse e-mail a été supprimée et ne peut pas être réutilisée pendant au moins 45 jours"
    )
    assert "au moins 45 jours" in texts(outcome)


def test_deleted_address_answer_without_days_points_to_the_error_message(engine: Engine) -> None:
    outcome = Customer(engine).says("mon adresse a été supprimée et je peux pas la réutiliser")
    assert outcome.decision.intent == "email_deleted"
    assert "nombre de jours indiqué dans le message d'erreur" in texts(outcome)


def test_a_screenshot_alone_asks_for_words_and_a_second_goes_to_a_person(engine: Engine) -> None:
    customer = Customer(engine)
    first = customer.says(attachments=1)
    assert "décrire votre problème" in texts(first)
    second = customer.says(attachments=1)
    assert second.decision.action == "escalate"
    assert second.decision.escalation_reason == "unreadable_attachment"


def test_out_of_scope_question_gets_no_article_answer(engine: Engine) -> None:
    # A virtual machine's password is Parallels Desktop's business: routed to a person.
    outcome = Customer(engine).says("j'ai oublié le mot de passe windows de ma VM")
    assert outcome.decision.action == "redirect"
    assert QUESTION not in texts(outcome)
    other = Customer(engine).says("j'ai oublié le mot de passe de mon compte Netflix")
    assert other.decision.action == "fallback"
    assert QUESTION not in texts(other)


def test_greeting_alone_invites_to_describe_the_problem(engine: Engine) -> None:
    outcome = Customer(engine).says("bonjour")
    assert outcome.decision.action == "greet"
    assert texts(outcome).count("Bonjour") == 1


def test_lost_email_answer_has_the_article_link(engine: Engine) -> None:
    outcome = Customer(engine).says("je n'ai plus accès à l'adresse mail de mon compte")
    buttons = [b for reply in outcome.replies for b in reply.buttons]
    assert [(b.title, b.url) for b in buttons] == [("my.parallels.com", "http://my.parallels.com")]


# -- a conversation, not a string of messages ----------------------------------------------


def test_still_not_working_after_an_answer_goes_to_a_person_not_a_goodbye(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("je ne reçois pas l'e-mail de réinitialisation")
    outcome = customer.says("non ça marche toujours pas")
    assert handed_over(outcome) == "not_solved"
    assert "Parfait" not in texts(outcome)


def test_going_to_try_keeps_the_question_open_with_its_buttons(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("je sais plus quelle adresse j'ai utilisée pour mon compte")
    waiting = customer.says("ok je vais regarder")
    assert waiting.decision.action == "wait"
    assert titles(waiting) == ["Oui", "Non"]
    assert customer.taps("Non", waiting).decision.escalation_reason == "not_solved"


def test_yes_with_a_new_question_takes_the_yes_and_answers_the_question(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("j'ai oublié mon mot de passe")
    outcome = customer.says("oui merci, et pour créer un compte pro ?")
    assert outcome.decision.feedback == "yes"
    assert outcome.decision.answered == ("business_account",)
    assert "123518" in texts(outcome)


@pytest.mark.parametrize(
    "reply",
    [
        "Mot de passe oublié j'ai déjà fait depuis avant-hier, le mail ne vient pas",
        "Wachtwoord vergeten heb ik gedaan, maar die mail komt niet",
        "Já tentei recuperar a palavra-passe, mas o email de recuperação não chega",
    ],
)
def test_the_link_used_and_its_e_mail_missing_is_a_no_and_the_reset_e_mails_answer(
    engine: Engine, reply: str
) -> None:
    customer = Customer(engine)
    customer.says("j'ai oublié mon mot de passe")
    outcome = customer.says(reply)
    assert (outcome.decision.feedback, outcome.decision.answered) == (
        "no",
        ("reset_email_missing",),
    )


def test_a_spam_folder_already_checked_is_not_advised_again(engine: Engine) -> None:
    outcome = Customer(engine).says("je reçois pas le mail de réinitialisation, j'ai regardé les spams")
    assert outcome.decision.answered == ("reset_email_missing",)
    assert "spams" not in texts(outcome)
    assert "noreply@parallels.com" in texts(outcome)
    customer = Customer(engine)
    customer.says("je reçois pas le mail de réinitialisation")
    later = customer.says("j'ai regardé dans les spams, rien")
    assert later.decision.escalation_reason == "not_solved"


@pytest.mark.parametrize(
    "first",
    [
        # Every step of the reset e-mail's answer, told as a list.
        "J'ai fait 6 demandes de réinitialisation, vérifié spams et indésirables, ajouté"
        " noreply@parallels.com à mes contacts, rien n'arrive. Vous pouvez m'aider svp ?",
        # The lost address's step: the new account is made; the licence is a person's work.
        "Je n'ai plus accès à mon adresse d'inscription et j'ai déjà créé un nouveau compte"
        " avec ma nouvelle adresse. Il faut faire quoi maintenant pour récupérer la licence ?",
    ],
)
def test_a_first_message_with_every_step_taken_goes_to_a_person(engine: Engine, first: str) -> None:
    outcome = Customer(engine).says(first)
    assert outcome.decision.escalation_reason == "not_solved"
    assert outcome.decision.answered == ()


def test_a_person_offered_is_taken_by_a_typed_yes(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("?")
    offered = customer.says("euh")
    assert offered.decision.action == "offer_human"
    taken = customer.says("oui")
    assert taken.decision.escalation_reason == "asked_for_human"


def test_a_choice_is_taken_by_its_rank_or_its_subject(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("je n'arrive pas à créer mon compte")
    assert customer.says("le deuxième").decision.answered == ("weak_password",)
    other = Customer(engine)
    other.says("je ne reçois pas le mail")
    assert other.says("celui pour valider mon Mac").decision.answered == ("device_email_missing",)
    several = Customer(engine)
    several.says("impossible de créer mon compte")
    picked = several.says("le 1er et le 2eme en fait, j'ai eu les deux messages")
    assert picked.decision.answered == ("email_in_use", "weak_password")
    first_two = Customer(engine)
    first_two.says("j'arrive pas à me connecter")
    assert first_two.says("les deux premiers").decision.answered == (
        "forgot_password",
        "forgot_email",
    )
    # Not knowing which is no choice: nothing is answered on a guess.
    unsure = Customer(engine)
    unsure.says("j'arrive pas à me connecter")
    assert unsure.says("je sais pas, ça me dit juste erreur").decision.answered == ()


def test_a_question_about_the_choices_or_the_same_message_asks_again_once(engine: Engine) -> None:
    customer = Customer(engine)
    first = customer.says("je ne reçois pas le mail")
    asked = customer.says("c'est quoi la différence entre les deux ?")
    assert asked.decision.action == "clarify"
    assert titles(asked) == titles(first)
    assert customer.says("pas celui du mot de passe, l'autre").decision.answered == (
        "device_email_missing",
    )
    stuck = Customer(engine)
    stuck.says("je ne reçois pas le mail")
    assert stuck.says("je ne reçois pas le mail").decision.action == "clarify"
    # Choices the customer cannot see are asked again.
    unseen = Customer(engine)
    unseen.says("je ne reçois pas le mail")
    again = unseen.says("je ne vois pas les boutons, vous pouvez répéter les choix ?")
    assert again.decision.action == "clarify"
    # Asked twice already: a person is offered rather than the same question a third time.
    assert stuck.says("je ne reçois pas le mail").decision.action == "offer_human"


def test_a_hacked_account_goes_to_a_person_with_its_reason(engine: Engine) -> None:
    outcome = Customer(engine).says(
        "mon compte a été piraté, quelqu'un a changé mon mot de passe et mon adresse mail"
    )
    assert handed_over(outcome) == "hacked"
    assert QUESTION not in texts(outcome)


def test_a_safety_matter_in_words_no_rule_knows_still_goes_to_a_person(
    engine: Engine, catalogue: Catalogue, matcher: Matcher
) -> None:
    # Said in words the signals do not read, the learned reading of safety matters names it.
    message = "j'ai reçu un sms qui se dit de Parallels avec un lien pour confirmer ma carte"
    rules = Reader(catalogue, matcher, safety=None)
    assert rules.read(message).signals.safety is None
    outcome = Customer(engine).says(message)
    assert handed_over(outcome) == "phishing"
    # A customer afraid of being hacked, who forgot a password, is answered.
    worried = Customer(engine).says("j'ai oublié mon mot de passe, j'ai peur qu'on me pirate")
    assert worried.decision.answered == ("forgot_password",)


def test_another_parallels_topic_is_routed_at_once_with_one_tap_to_a_person(
    engine: Engine,
) -> None:
    customer = Customer(engine)
    routed = customer.says("Parallels Desktop ne démarre plus depuis la mise à jour")
    assert routed.decision.action == "redirect"
    assert titles(routed) == ["Un conseiller"]
    handed = customer.taps("Un conseiller", routed)
    assert handed.decision.escalation_reason == "other_topic"


def test_english_gets_a_note_in_english_and_in_french_and_the_answer(engine: Engine) -> None:
    outcome = Customer(engine).says("Hi, I forgot my password for my Parallels account")
    assert outcome.decision.language == "en"
    assert "I can only reply in French" in texts(outcome)
    assert "Je ne réponds qu'en français" in texts(outcome)
    assert outcome.decision.answered == ("forgot_password",)


@pytest.mark.parametrize(
    ("text", "language", "problems"),
    [
        # Two problems joined by that language's "and".
        (
            "Hola, olvidé mi contraseña y además tengo que crear una cuenta de empresa",
            "es",
            ("forgot_password", "business_account"),
        ),
        (
            "Esqueci a minha senha e também preciso criar uma conta empresarial",
            "pt",
            ("forgot_password", "business_account"),
        ),
        # That language's own words for the article's.
        ("Al registrarme me dice que el correo ya existe", "es", ("email_in_use",)),
        (
            "Beim Anlegen des Kontos steht, die E-Mail-Adresse sei bereits vergeben",
            "de",
            ("email_in_use",),
        ),
        ("Ik krijg geen bevestigingsmail voor mijn nieuwe laptop", "nl", ("device_email_missing",)),
        ("No sé con qué correo hice mi cuenta de Parallels", "es", ("forgot_email",)),
    ],
)
def test_problems_said_in_another_language_are_answered_with_its_note(
    engine: Engine, text: str, language: str, problems: tuple[str, ...]
) -> None:
    outcome = Customer(engine).says(text)
    assert outcome.decision.answered == problems
    assert outcome.decision.language == language


@pytest.mark.parametrize(
    ("problem", "reply", "language"),
    [
        (
            "Hi, I forgot my Parallels account password, how do I reset it?",
            "I clicked the forgot password link twice already but no email came",
            "en",
        ),
        (
            "Hi, I forgot my Parallels account password, how do I reset it?",
            "I did that already but the email isn't coming",
            "en",
        ),
        ("olvidé mi contraseña de Parallels", "ya usé el enlace, pero el correo no me llega", "es"),
    ],
)
def test_a_link_already_clicked_in_another_language_gets_the_reset_email_answer(
    engine: Engine, problem: str, reply: str, language: str
) -> None:
    customer = Customer(engine)
    customer.says(problem)
    outcome = customer.says(reply)
    assert outcome.decision.answered == ("reset_email_missing",)
    assert outcome.decision.language == language


@pytest.mark.parametrize(
    ("first", "reply", "absent"),
    [
        # A yes that turns to the problem just answered, still there.
        (
            "je demande la réinitialisation du mot de passe et je ne reçois rien",
            "L'adresse je l'ai retrouvée, c'était bien ma laposte. Mais le mail de "
            "réinitialisation n'arrive toujours pas",
            "ravi",
        ),
        # The answer's link failing on the site: no answer of the article mends it.
        (
            "je crée un compte mais ça dit adresse déjà utilisée",
            "non ça marche pas, le lien mot de passe oublié m'affiche une page d'erreur 500",
            "Mot de passe oublié",
        ),
        # Two answers given: the password's worked, the device's e-mail is still missing.
        (
            "g oublié mon mdp ET le mail pour autoriser mon nouveau mac arrive jamais",
            "le mdp c bon, mais le mail pour le mac toujours rien",
            "réinitialisation",
        ),
        # Still nothing, said bare: no e-mail is named, the answer did not help.
        ("je ne me souviens plus de mon mot de passe", "ben toujours rien hein", "indésirables"),
        # The link said used, to no effect: no e-mail is said missing.
        ("j'ai oublié mon mot de passe", "déjà fait, ça donne rien", "indésirables"),
        # Done again and again, and given up on: no warm goodbye.
        (
            "j'ai oublié mon mot de passe",
            "bon laissez tomber, ça fait trois fois que je le fais, au revoir",
            "ravi",
        ),
        # A choice whose every step the reply says was taken.
        (
            "je ne reçois pas votre mail",
            "Celui de réinitialisation du mot de passe. J'ai déjà vérifié les courriers "
            "indésirables, ajouté noreply@parallels.com à mes contacts et refait la demande.",
            "indésirables",
        ),
    ],
)
def test_what_the_article_has_already_failed_to_solve_goes_to_a_person(
    engine: Engine, first: str, reply: str, absent: str
) -> None:
    customer = Customer(engine)
    assert customer.says(first).decision.action in ("answer", "clarify")
    outcome = customer.says(reply)
    assert handed_over(outcome) == "not_solved"
    assert outcome.decision.answered == ()
    assert absent not in texts(outcome)


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, j'ai demandé un nouveau mot de passe, j'ai bien reçu le mail, mais le lien "
        "m'affiche une erreur",
        "le lien dans le mail de réinitialisation est expiré alors que je clique tout de suite",
        "mdp oublié fait, mail arrivé, mais mon nouveau mdp est refusé",
    ],
)
def test_a_reset_whose_email_came_and_failed_goes_to_a_person_not_to_the_spam_advice(
    engine: Engine, text: str
) -> None:
    outcome = Customer(engine).says(text)
    assert handed_over(outcome) == "not_solved"
    assert "spams" not in texts(outcome)


def test_a_reset_email_that_came_then_a_common_password_gets_only_that_answer(
    engine: Engine,
) -> None:
    outcome = Customer(engine).says(
        "le lien de réinitialisation est arrivé, mais mon nouveau mdp il dit qu'il est "
        "largement utilisé"
    )
    assert outcome.decision.answered == ("weak_password",)


def test_a_reset_email_that_came_after_the_link_and_worked_closes(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("j'ai perdu le mot de passe de mon compte")
    outcome = customer.says("c'est bon, mail reçu, j'ai mis un nouveau mot de passe")
    assert outcome.decision.action == "resolved"


@pytest.mark.parametrize(
    "text",
    ["je ne parviens plus à ouvrir mon compte Parallels", "notre compte ne veut plus s'ouvrir"],
)
def test_ones_own_account_that_will_not_open_gets_the_sign_in_question(
    engine: Engine, text: str
) -> None:
    outcome = Customer(engine).says(text)
    assert outcome.decision.action == "clarify"
    assert "forgot_password" in [c.removeprefix("intent:") for c in payloads(outcome)]


def test_an_account_to_open_is_one_to_make(engine: Engine) -> None:
    outcome = Customer(engine).says("je n'arrive pas à ouvrir un compte chez vous")
    assert "intent:email_in_use" in payloads(outcome)


def test_an_email_slow_to_come_gets_the_question_of_which_email(engine: Engine) -> None:
    outcome = Customer(engine).says("votre courriel de vérification prend un temps fou à arriver")
    assert outcome.decision.action == "clarify"
    assert payloads(outcome)[:2] == ["intent:reset_email_missing", "intent:device_email_missing"]


def test_a_reset_email_never_received_still_gets_its_answer(engine: Engine) -> None:
    outcome = Customer(engine).says(
        "j'ai fait mot de passe oublié mais je n'ai jamais reçu le mail, le lien ne sert à rien"
    )
    assert outcome.decision.answered == ("reset_email_missing",)


@pytest.mark.parametrize(
    ("lost", "made"),
    [
        (
            "je n'ai plus accès à l'adresse mail de mon compte, c'était celle du boulot",
            "c'est fait, j'ai un nouveau compte avec mon gmail",
        ),
        (
            "mon adresse sfr ne marche plus et c'est celle de mon compte",
            "C'est fait, j'ai un compte avec ma nouvelle adresse orange",
        ),
        # The licence to move, asked about in Italian, is that answer's assistance too.
        (
            "Non ho più accesso alla email con cui mi sono registrato",
            "Creato il nuovo account! Come sposto la licenza adesso?",
        ),
    ],
)
def test_a_new_account_made_after_the_lost_address_answer_goes_to_a_person(
    engine: Engine, lost: str, made: str
) -> None:
    customer = Customer(engine)
    customer.says(lost)
    assert handed_over(customer.says(made)) == "not_solved"


@pytest.mark.parametrize(
    "reply",
    [
        "I searched all my inboxes, no email from noreply anywhere",
        "Nein, in keinem meiner Postfächer ist eine Mail von Parallels",
    ],
)
def test_no_mail_found_after_the_forgotten_address_answer_goes_to_a_person(
    engine: Engine, reply: str
) -> None:
    # The e-mails that answer says to look for are nowhere: no question about which
    # e-mail is missing.
    customer = Customer(engine)
    customer.says("j'ai oublié avec quelle adresse je me suis inscrit")
    outcome = customer.says(reply)
    assert handed_over(outcome) == "not_solved"


def test_a_step_announced_is_waited_for_not_taken_as_done(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("je veux créer un compte mais ça dit que l'adresse mail est déjà utilisée")
    outcome = customer.says("ah j'ai déjà un compte alors. ok je fais mot de passe oublié")
    assert outcome.decision.action == "wait"
    for going in (
        "ah c'est peut-être ma sœur qui l'a créé avec mon adresse, je passe par mot de passe "
        "oublié alors",
        "bon je vais faire le mot de passe oublié et je vous redis",
    ):
        again = Customer(engine)
        again.says("je veux créer un compte mais ça dit que l'adresse mail est déjà utilisée")
        assert again.says(going).decision.action == "wait"
    other = Customer(engine)
    other.says("Chu pas capable de recevoir le courriel pour changer mon mot de passe")
    outcome = other.says("ok j'vas ajouter l'adresse dans mes contacts pis réessayer")
    assert outcome.decision.action == "wait"
    lost = Customer(engine)
    lost.says("je n'ai plus accès à l'adresse mail de mon compte, c'était celle du boulot")
    assert lost.says("ok je vais créer le nouveau compte").decision.action == "wait"


_WEAK = "mon mot de passe est refusé, il dit qu'il est largement utilisé"


@pytest.mark.parametrize(
    ("first", "reply", "action", "answered"),
    [
        # A new missing e-mail, the customer's own: answered.
        (
            _WEAK,
            "le mdp c'est passé avec un plus long. par contre le mail mot de passe oublié "
            "pour l'adresse perso arrive pas",
            "answer",
            ("reset_email_missing",),
        ),
        # A friend's sign-in refused: asked about, not the answer failed.
        (
            _WEAK,
            "merci ca marche. mon pote lui il arrive pas a se connecter, Adresse mail ou mot de"
            " passe non valide",
            "clarify",
            (),
        ),
        # The same in the other languages: their "but", "and one more thing".
        (
            "Ho dimenticato la password del mio account Parallels",
            "Sì grazie, ha funzionato. Però la mail per confermare il browser non arriva",
            "answer",
            ("device_email_missing",),
        ),
        (
            "Ich habe mein Passwort für Parallels vergessen",
            "Ja danke, und noch was: beim Registrieren steht, die E-Mail wird bereits verwendet",
            "answer",
            ("email_in_use",),
        ),
        # A question of its own after the yes: "et je fais comment si …", "et aussi".
        (
            "j'ai oublié l'adresse mail de mon compte parallels",
            "oui merci c'était bien celle-là ! et je fais comment si le mail de reinit arrive pas ?",
            "answer",
            ("reset_email_missing",),
        ),
        (
            "j'ai oublié l'adresse mail de mon compte parallels",
            "Oui super. Ah et aussi : sur mon autre adresse ça dit « Cette adresse mail est déjà "
            "utilisée », et le mail de mot de passe oublié n'arrive pas",
            "answer",
            ("reset_email_missing",),
        ),
        # Found, then "mais" and a problem of its own: the address was found all the same.
        (
            "j'ai oublié l'adresse mail de mon compte parallels",
            "trouvée, merci ! mais le mot de passe je l'ai oublié aussi, et pour le réinitialiser "
            "il faut confirmer mon navigateur et ce mail-là n'arrive pas",
            "answer",
            ("forgot_password", "device_email_missing"),
        ),
        # In the other languages, their "but" turns to the new question too.
        (
            "I can't remember which email I used for Parallels",
            "yes, found it in my old gmail. but now I can't remember the password either",
            "answer",
            ("forgot_password",),
        ),
        (
            "não lembro qual email usei na conta Parallels",
            "achei, obrigado! mas é um email antigo da faculdade que não tenho mais acesso",
            "answer",
            ("lost_email_access",),
        ),
    ],
    ids=[
        "own-missing-mail",
        "friends-sign-in",
        "italian",
        "german",
        "how-if",
        "and-also",
        "found",
        "english-but",
        "portuguese-mas",
    ],
)
def test_a_yes_then_a_new_problem_takes_the_yes_and_reads_the_new_problem(
    engine: Engine, first: str, reply: str, action: str, answered: tuple[str, ...]
) -> None:
    customer = Customer(engine)
    customer.says(first)
    outcome = customer.says(reply)
    assert outcome.decision.feedback == "yes"
    assert (outcome.decision.action, outcome.decision.answered) == (action, answered)


def test_still_not_working_with_nothing_pending_is_no_thanks(engine: Engine) -> None:
    outcome = Customer(engine).says("re, j'ai essayé ce que vous m'avez dit et ça marche toujours pas")
    assert outcome.decision.action == "fallback"
    assert "pas bien compris" in texts(outcome)
    assert "Avec plaisir" not in texts(outcome)


def test_replies_in_the_customers_language_are_read_as_replies(engine: Engine) -> None:
    customer = Customer(engine)
    first = customer.says("Ich bekomme keine E-Mail zum Zurücksetzen des Passworts")
    assert (first.decision.answered, first.decision.language) == (("reset_email_missing",), "de")
    # Short, English to the detector alone: the conversation is German.
    waiting = customer.says("Danke, ich schaue nach")
    assert (waiting.decision.action, waiting.decision.language) == ("wait", "de")
    other = Customer(engine)
    other.says("Hola, olvidé mi contraseña de Parallels")
    assert other.says("listo, ya pude entrar. ¡gracias!").decision.action == "resolved"
    again = Customer(engine)
    again.says("Hola, olvidé mi contraseña de Parallels")
    assert again.says("no funciona, no me llega nada").decision.action == "escalate"


def test_a_problem_plain_in_another_language_is_answered_or_asked_with_the_note(
    engine: Engine,
) -> None:
    dutch = Customer(engine).says(
        "Goeiedag, ik krijg geen e-mail om mijn nieuwe browser te bevestigen op mijn account"
    )
    assert (dutch.decision.answered, dutch.decision.language) == (("device_email_missing",), "nl")
    german = Customer(engine).says("Grüezi, ich kann mich nicht bei meinem Parallels-Konto anmelden")
    assert (german.decision.action, german.decision.language) == ("clarify", "de")
    unclear = Customer(engine).says("Buongiorno, ho un problema, potete aiutarmi per favore?")
    assert (unclear.decision.action, unclear.decision.language) == ("language", "it")


def test_not_knowing_what_to_do_in_another_language_is_no_forgotten_address(
    engine: Engine,
) -> None:
    lost = Customer(engine).says("Buenas, algo pasa con mi cuenta Parallels, no sé qué hacer")
    assert (lost.decision.action, lost.decision.language) == ("language", "es")
    address = Customer(engine).says("No sé qué correo usé para registrarme en Parallels")
    assert address.decision.answered == ("forgot_email",)


def test_a_vague_message_in_english_gets_the_note_not_a_guessed_question(engine: Engine) -> None:
    outcome = Customer(engine).says("hi can u help me with my account")
    assert outcome.decision.action == "language"
    assert outcome.decision.language == "en"
    assert "I can only reply in French" in texts(outcome)


def test_a_short_message_keeps_the_language_the_customer_wrote_in(engine: Engine) -> None:
    customer = Customer(engine)
    assert customer.says("hello, question about my parallels account").decision.language == "en"
    # Too short for its language to be told alone: the conversation says it.
    outcome = customer.says("I can't log in")
    assert outcome.decision.action == "clarify"
    assert outcome.decision.language == "en"
    # A customer who turns to French gets no note, nor does their next short message.
    outcome = customer.says("je n'arrive pas à me connecter")
    assert outcome.decision.language is None
    assert customer.says("I can't log in").decision.language is None
    # Alone, the same message is not named a language.
    assert Customer(engine).says("I can't log in").decision.language is None


def test_the_language_note_is_said_once_and_again_when_the_language_changes(
    engine: Engine,
) -> None:
    customer = Customer(engine)
    first = customer.says("Hi, I forgot the password of my Parallels account")
    assert first.decision.answered == ("forgot_password",)
    assert "I can only reply in French" in texts(first)
    # The same language again: the reply, without the note a second time.
    again = customer.says("ok I will try this evening")
    assert (again.decision.action, again.decision.language) == ("wait", "en")
    assert "only reply in French" not in texts(again)
    assert "ne réponds qu'en français" not in texts(again)
    # Another language: its note.
    other = customer.says(
        "Perdón, escribo en español: tampoco recibo el correo para autorizar mi nuevo Mac"
    )
    assert other.decision.language == "es"
    assert "Solo puedo responder en francés" in texts(other)


@pytest.mark.parametrize(
    ("first", "correction", "answered"),
    [
        (
            "non mi arriva la mail per autorizzare il nuovo Mac",
            "no scusa, è l'altra mail che non arriva, quella per reimpostare la password",
            ("reset_email_missing",),
        ),
        (
            "I'm not getting the password reset email",
            "no, actually it's the other one, the email to approve my new browser",
            ("device_email_missing",),
        ),
        (
            "non ricevo il mail per reimpostare la password",
            "no, in realtà il problema è la mail per confermare il browser",
            ("device_email_missing",),
        ),
    ],
    ids=["italian", "english", "italian-in-fact"],
)
def test_the_other_missing_e_mail_meant_is_answered_in_the_other_languages(
    engine: Engine, first: str, correction: str, answered: tuple[str, ...]
) -> None:
    customer = Customer(engine)
    customer.says(first)
    outcome = customer.says(correction)
    assert (outcome.decision.feedback, outcome.decision.answered) == ("no", answered)


def test_a_short_reply_named_a_neighbouring_language_keeps_the_conversations(
    engine: Engine,
) -> None:
    customer = Customer(engine)
    customer.says("Ik ben mijn wachtwoord van Parallels vergeten, hoe kan ik het resetten?")
    # German to the detectors, Dutch to anyone who read the conversation.
    outcome = customer.says("helder, bedankt")
    assert (outcome.decision.action, outcome.decision.language) == ("resolved", "nl")


def test_a_greeting_alone_in_another_language_is_greeted_with_the_note(engine: Engine) -> None:
    outcome = Customer(engine).says("Goedemorgen allemaal!")
    assert (outcome.decision.action, outcome.decision.language) == ("greet", "nl")
    assert "Ik kan alleen in het Frans antwoorden" in texts(outcome)


def test_a_choice_named_in_another_language_keeps_that_language(engine: Engine) -> None:
    customer = Customer(engine)
    asked = customer.says("Não consigo entrar na minha conta do Parallels, o que faço?")
    assert (asked.decision.action, asked.decision.language) == ("clarify", "pt")
    chosen = customer.says("o primeiro")
    assert (chosen.decision.answered, chosen.decision.language) == (("forgot_password",), "pt")


def test_a_second_unclear_message_in_another_language_offers_a_person(engine: Engine) -> None:
    customer = Customer(engine)
    first = customer.says("Buongiorno, vi scrivo per quella cosa di ieri")
    assert first.decision.action == "language"
    second = customer.says("quella della mail, ve l'avevo detto al telefono")
    assert (second.decision.action, second.decision.language) == ("offer_human", "it")
    # The note again in Italian, then the offer in French, without saying it twice in French.
    said = texts(second)
    assert said.index("Posso rispondere solo in francese") < said.index("Souhaitez-vous")
    assert "ne réponds qu'en français" not in said
    assert handed_over(customer.taps("Un conseiller", second)) == "asked_for_human"


def test_the_language_note_is_not_said_again_after_a_reply_too_short_to_tell(
    engine: Engine,
) -> None:
    customer = Customer(engine)
    assert "Solo puedo responder" in texts(customer.says("Hola, olvidé mi contraseña"))
    customer.says("no, no me llega el correo")
    handed = customer.says("ya miré en spam y nada")
    assert handed_over(handed) == "not_solved"
    assert "Solo puedo responder" not in texts(handed)


def test_a_french_thanks_in_another_language_keeps_that_language(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("Grüezi, ich habe mein Passwort für das Parallels-Konto vergessen")
    outcome = customer.says("Merci vielmal, hat geklappt!")
    assert (outcome.decision.action, outcome.decision.language) == ("resolved", "de")
    # A French customer's thanks stays French.
    french = Customer(engine)
    french.says("j'ai oublié mon mot de passe")
    assert french.says("merci, ça a marché").decision.language is None


@pytest.mark.parametrize(
    ("first", "thanks", "language"),
    [
        ("Esqueci minha senha do Parallels, como faço?", "deu certo, valeu!!", "pt"),
        ("Ik ben het wachtwoord van mijn Parallels-account vergeten", "Gelukt, dank je wel!", "nl"),
        ("Olvidé la contraseña de mi cuenta Parallels", "¡Gracias!", "es"),
    ],
)
def test_a_short_thanks_in_the_customers_language_keeps_its_note(
    engine: Engine, first: str, thanks: str, language: str
) -> None:
    customer = Customer(engine)
    assert customer.says(first).decision.language == language
    outcome = customer.says(thanks)
    assert (outcome.decision.action, outcome.decision.language) == ("resolved", language)


def test_an_angry_customer_with_a_clear_problem_is_acknowledged_then_answered(
    engine: Engine,
) -> None:
    outcome = Customer(engine).says(
        "ça fait 3 jours que j'attends le mail de réinitialisation, vous êtes vraiment nuls"
    )
    assert outcome.decision.acknowledged
    assert outcome.decision.answered == ("reset_email_missing",)
    assert "agacement" in texts(outcome)
    assert "pas bien compris" not in texts(outcome)


@pytest.mark.parametrize(
    ("text", "answered"),
    [
        (
            "j'ai oublié mon mot de passe et en plus je sais plus quelle adresse mail j'ai utilisé",
            ("forgot_password", "forgot_email"),
        ),
        # "compte pro" says which creation problem it is: no clarifying question hides it.
        (
            "Bonjour, deux choses : je n'arrive pas à créer de compte pro, et le mot de passe est"
            " refusé car trop faible",
            ("business_account", "weak_password"),
        ),
        # The e-mail missing is the device's, the password forgotten: not the reset e-mail;
        # who is not there to help ("ma petite fille") says nothing of another topic.
        (
            "je ne reçois pas le mail pour valider mon iPad et en plus j'ai oublié mon mot de"
            " passe, ma petite fille n'est pas là pour m'aider",
            ("device_email_missing", "forgot_password"),
        ),
        # Two addresses, two errors: one already used, the other deleted.
        (
            "sur mon adresse perso on me répond que l'adresse mail est déjà utilisée, et sur la"
            " pro qu'elle a été supprimée et ne peut pas être réutilisée pendant 20 jours",
            ("email_in_use", "email_deleted"),
        ),
        # A step said beside a problem does not make it a step alone.
        (
            "Deux soucis :\n1) je reçois pas le mail pour réinitialiser mon mdp (spams déjà vérifiés)\n"
            "2) pour le compte de ma société je ne trouve pas l'option professionnelle",
            ("reset_email_missing", "business_account"),
        ),
        # The reset e-mail missing "as well": a second problem, not the in-use answer's link
        # already followed.
        (
            "à l'inscription on me dit adresse déjà utilisée, et le mail du mot de passe oublié"
            " n'arrive pas non plus",
            ("email_in_use", "reset_email_missing"),
        ),
        # Two sentences, no "et" between them.
        (
            "Mon adresse a été supprimée, faut attendre 30 jours. En attendant, comment je crée"
            " un compte pro pour ma boîte ?",
            ("email_deleted", "business_account"),
        ),
    ],
    ids=[
        "password-and-address",
        "business-and-weak-password",
        "device-and-password",
        "address-used-and-address-deleted",
        "step-beside-a-problem",
        "address-used-and-reset-mail-too",
        "two-sentences",
    ],
)
def test_two_problems_in_one_message_are_both_answered_in_order(
    engine: Engine, text: str, answered: tuple[str, ...]
) -> None:
    assert Customer(engine).says(text).decision.answered == answered


def test_an_address_known_but_out_of_reach_is_not_also_an_address_forgotten(
    engine: Engine,
) -> None:
    outcome = Customer(engine).says(
        "je peux plus me connecter, l'adresse avec laquelle j'ai créé le compte c'était celle"
        " de mon ancien boulot et j'y ai plus accès"
    )
    assert outcome.decision.answered == ("lost_email_access",)
    assert "noreply@parallels.com" not in texts(outcome)
    # Forgotten as well, both are answered.
    both = Customer(engine).says(
        "je sais plus quelle adresse j'ai utilisée, et celle que je crois être la bonne, j'y ai"
        " plus accès"
    )
    assert set(both.decision.answered) == {"forgot_email", "lost_email_access"}


def test_a_pasted_password_is_followed_by_one_reminder_per_conversation(engine: Engine) -> None:
    customer = Customer(engine)
    first = customer.says("mon mot de passe [mot de passe masqué] est refusé à l'inscription")
    assert first.decision.reminded
    assert "ne m'envoyez jamais votre mot de passe" in texts(first)
    again = customer.says("j'ai essayé [mot de passe masqué] aussi")
    assert not again.decision.reminded


def test_a_state_stored_before_these_fields_still_loads_and_still_escalates_a_no(
    engine: Engine,
) -> None:
    old = (
        '{"last_intent": "forgot_password", "last_action": "answer", "awaiting_feedback": true,'
        ' "disclosed": true}'
    )
    customer = Customer(engine, ConversationState.model_validate_json(old))
    assert customer.state.done == ()
    outcome = customer.says("non ça marche pas")
    assert outcome.decision.escalation_reason == "not_solved"


def test_the_local_channel_runs_the_same_flood_guard_as_the_platforms(engine: Engine) -> None:
    """/chat and `chat` go through the same rules as Messenger and X: past 12 messages a
    minute, one polite notice, then silence."""
    from bot.local import LocalConversations

    local = LocalConversations(engine, clock=lambda: 1_800_000_000.0)
    for _ in range(12):
        assert local.send("pressé", "bonjour").decision.action == "greet"
    notice = local.send("pressé", "bonjour")
    assert notice.decision.action == "flood" and len(notice.replies) == 1
    quiet = local.send("pressé", "bonjour")
    assert quiet.decision.action == "flood" and quiet.replies == []
    assert local.send("calme", "mdp oublié").decision.action == "answer"  # others unaffected


def test_a_reply_in_words_no_rule_reads_is_read_by_the_learned_reading(
    engine: Engine, catalogue: Catalogue, matcher: Matcher, renderer: Renderer
) -> None:
    rules_alone = Engine(
        catalogue, matcher, renderer, reader=Reader(catalogue, matcher, replies=None)
    )
    for reply, expected in (
        ("Votre lien me renvoie sur la page d'accueil, sans plus", "escalate"),
        ("je suis au travail, je verrai en rentrant ce soir", "wait"),
    ):
        learned, plain = Customer(engine), Customer(rules_alone)
        for customer in (learned, plain):
            customer.says("j'ai oublié mon mot de passe")
        assert engine.reader.read(reply).signals.feedback is None
        # The rules alone would say "je n'ai pas bien compris" to a customer still stuck.
        assert plain.says(reply).decision.action == "fallback"
        outcome = learned.says(reply)
        assert outcome.decision.action == expected
        if expected == "escalate":
            assert outcome.decision.escalation_reason == "not_solved"
            assert outcome.decision.feedback == "no"
        else:
            assert QUESTION not in texts(outcome)
            assert titles(outcome) == ["Oui", "Non"]


def test_a_no_just_after_the_bot_closed_goes_to_a_person(engine: Engine) -> None:
    customer = Customer(engine)
    customer.says("j'ai oublié mon mot de passe")
    assert customer.says("merci").decision.action == "resolved"
    late = customer.says("non en fait ça marche toujours pas")
    assert late.decision.action == "escalate"
    assert late.decision.escalation_reason == "not_solved"


def test_sarcastic_praise_is_not_taken_for_a_yes(
    engine: Engine, catalogue: Catalogue, matcher: Matcher, renderer: Renderer
) -> None:
    rules_alone = Engine(
        catalogue, matcher, renderer, reader=Reader(catalogue, matcher, replies=None)
    )
    reply = "super, encore une page blanche, bravo"
    learned, plain = Customer(engine), Customer(rules_alone)
    for customer in (learned, plain):
        customer.says("j'ai oublié mon mot de passe")
    # The signals read "super" and "bravo" as a yes: the rules alone would close.
    assert engine.reader.read(reply).signals.feedback == "yes"
    assert plain.says(reply).decision.action == "resolved"
    outcome = learned.says(reply)
    assert outcome.decision.action == "escalate"
    assert outcome.decision.escalation_reason == "not_solved"


def test_the_readme_transcripts_are_what_the_bot_says(engine: Engine) -> None:
    # Each block of README.md made of "vous>" and "bot>" lines is replayed from a fresh
    # conversation: the bot's replies must be the lines shown, choices as "[Oui] [Non]".
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    blocks = [
        block
        for block in re.findall(r"^```[a-z]*\n(.*?)^```", readme, flags=re.DOTALL | re.MULTILINE)
        if block.startswith("vous> ")
    ]
    assert len(blocks) >= 3
    for block in blocks:
        customer = Customer(engine)
        said: list[str] = []
        for line in block.splitlines():
            if line.startswith("vous> "):
                outcome = customer.says(line.removeprefix("vous> "))
                for reply in outcome.replies:
                    # A reply of two paragraphs is two lines, as `chat` prints it.
                    choices = " ".join(f"[{qr.title}]" for qr in reply.quick_replies)
                    said += (reply.text + (f"  {choices}" if choices else "")).split("\n")
        shown = [line[5:] for line in block.splitlines() if line.startswith("bot> ")]
        assert said == shown


@pytest.mark.parametrize(
    "goodbye",
    [
        "Muy amable, que tenga buen día",
        "brigada, tchau",
        "Tschüss und vielen Dank",
        "cheers mate, you saved my day",
        "vlw, boa semana pra vocês",
        "Dank jullie wel voor de hulp",
    ],
)
def test_thanks_and_goodbye_in_another_language_once_settled_are_thanked(
    engine: Engine, goodbye: str
) -> None:
    customer = Customer(engine)
    asked = customer.says("olvidé mi contraseña de Parallels")
    customer.taps("Oui", asked)
    outcome = customer.says(goodbye)
    assert outcome.decision.action == "thanks"


@pytest.mark.parametrize(
    "reply",
    [
        "Vale, reviso la carpeta de spam y te aviso",
        # In words no rule reads: the learned reading of replies, not the note alone.
        "Bueno, lo reviso más tarde cuando llegue a casa",
    ],
)
def test_a_wait_said_in_another_language_is_waited_for(engine: Engine, reply: str) -> None:
    customer = Customer(engine)
    customer.says("el correo para cambiar la contraseña no me llega")
    outcome = customer.says(reply)
    assert outcome.decision.action == "wait"


def test_the_days_already_waited_after_the_deleted_address_answer_go_to_a_person(
    engine: Engine,
) -> None:
    error = (
        "ça me dit : Cette adresse e-mail a été supprimée et ne peut pas être réutilisée"
        " pendant au moins 14 jours"
    )
    customer = Customer(engine)
    customer.says(error)
    outcome = customer.says("sauf que ça fait déjà un mois que j'attends")
    assert handed_over(outcome) == "not_solved"
    # Fewer days than the message gave: the customer still has to wait them out.
    sooner = Customer(engine)
    sooner.says(error)
    assert sooner.says("ça fait une semaine que j'attends").decision.action != "escalate"
    # Said in the first message, a month counted without "j'attends".
    at_once = Customer(engine).says(f"{error}, pourtant je l'ai supprimée il y a un mois")
    assert handed_over(at_once) == "not_solved"



@pytest.mark.parametrize(
    "reply",
    [
        "le mot de passe oublié je l'ai déjà fait, je reçois bien le mail mais le lien a expiré",
        "déjà fait deux fois, j'ai bien changé le mot de passe mais ça me remet le même message",
        # The link used to no effect, no e-mail said missing.
        "le lien mot de passe oublié, je l'ai déjà utilisé ce matin et ça n'a rien changé",
        "mot de passe oublié déjà essayé, le site dit que ce compte n'existe pas",
        "oui je sais, j'ai déjà fait mot de passe oublié et changé le mot de passe, mais ça "
        "refuse toujours",
    ],
)
def test_a_reset_link_that_did_its_part_is_no_missing_reset_email(
    engine: Engine, reply: str
) -> None:
    customer = Customer(engine)
    assert customer.says("ça me dit Cette adresse mail est déjà utilisée").decision.answered == (
        "email_in_use",
    )
    outcome = customer.says(reply)
    assert (outcome.decision.action, outcome.decision.escalation_reason) == (
        "escalate",
        "not_solved",
    )


@pytest.mark.parametrize(
    ("reply", "action"),
    [
        # The days to wait, taken with thanks: nothing is left to report back.
        ("d'accord je patiente, merci", "resolved"),
        ("bon, il faut attendre alors. merci quand même", "resolved"),
        # Without them, the customer may still come back: the bot waits.
        ("bon je vais patienter alors", "wait"),
    ],
)
def test_the_days_to_wait_accepted_close_with_thanks_and_wait_without(
    engine: Engine, reply: str, action: str
) -> None:
    customer = Customer(engine)
    customer.says(
        "Cette adresse e-mail a été supprimée et ne peut pas être réutilisée pendant au moins "
        "20 jours"
    )
    assert customer.says(reply).decision.action == action


@pytest.mark.parametrize(
    ("first", "reply"),
    [
        (
            "ça me dit Cette adresse mail est déjà utilisée",
            "ma sœur a fait le lien mot de passe oublié, c'est bon pour elle",
        ),
        (
            "ça me dit Cette adresse mail est déjà utilisée",
            "c'est bon, j'ai récupéré mon compte avec le lien mot de passe oublié",
        ),
        ("me dice que el correo ya está en uso", "usé lo de olvidé mi contraseña y ya entré, gracias"),
    ],
)
def test_the_reset_link_used_and_working_closes(engine: Engine, first: str, reply: str) -> None:
    customer = Customer(engine)
    customer.says(first)
    assert customer.says(reply).decision.action == "resolved"


def test_one_answer_settled_and_the_missing_email_still_missing_goes_to_a_person(
    engine: Engine,
) -> None:
    customer = Customer(engine)
    customer.says(
        "je ne reçois pas le mail pour confirmer mon nouveau Mac, et j'ai oublié mon mot de passe"
    )
    outcome = customer.says("le mot de passe c'est bon, mais le Mac toujours rien")
    assert handed_over(outcome) == "not_solved"
    # The reset e-mail answered earlier, another problem since: not answered a second time.
    other = Customer(engine)
    other.says("je ne reçois pas le mail de réinitialisation")
    other.says("non toujours pas, et ma sœur a le message adresse déjà utilisée")
    assert handed_over(other.says("pour elle c'est bon, pour moi toujours rien reçu")) == (
        "not_solved"
    )


def test_a_routed_topic_asked_about_again_goes_to_a_person(engine: Engine) -> None:
    customer = Customer(engine)
    assert customer.says("Parallels Desktop refuse de s'installer sur mon Mac").decision.action == (
        "redirect"
    )
    customer.says("j'ai aussi oublié le mot de passe de mon compte")
    customer.says("oui merci ça marche")
    assert handed_over(customer.says("et pour l'installation du coup ?")) == "other_topic"
    # Another topic, not asked about before, is routed as the first one was.
    other = Customer(engine)
    other.says("Parallels Desktop refuse de s'installer sur mon Mac")
    other.says("j'ai aussi oublié le mot de passe de mon compte")
    other.says("oui merci ça marche")
    assert other.says("autre chose, comment obtenir une facture ?").decision.action == "redirect"


def test_the_licence_step_of_the_business_answer_told_failed_is_no_other_topic(
    engine: Engine,
) -> None:
    customer = Customer(engine)
    customer.says("Ich brauche ein Firmenkonto, finde aber die Option nicht")
    outcome = customer.says(
        "Hab's versucht, aber beim Registrieren der Lizenz gibt es keine Firmenoption."
    )
    assert handed_over(outcome) == "not_solved"
    # Buying a licence, asked about, is another topic.
    other = Customer(engine)
    other.says("Ich brauche ein Firmenkonto, finde aber die Option nicht")
    assert other.says("Wo kann ich eine Lizenz kaufen?").decision.action == "redirect"


def test_an_address_in_use_after_the_missing_reset_email_is_a_second_problem(
    engine: Engine,
) -> None:
    # The link led to the reset e-mail; the address "déjà utilisée" came with another
    # account tried since, and is answered too.
    outcome = Customer(engine).says(
        "J'ai demandé un nouveau mot de passe hier, aucun mail. Et quand j'essaie de créer un "
        "autre compte, ça dit adresse déjà utilisée"
    )
    assert outcome.decision.answered == ("reset_email_missing", "email_in_use")


@pytest.mark.parametrize(
    "reply", ["récupération de mot de passe", "Ho provato con password dimenticata, non arriva niente"]
)
def test_asked_which_email_a_reply_naming_the_password_means_the_reset_email(
    engine: Engine, reply: str
) -> None:
    customer = Customer(engine)
    assert customer.says("je reçois pas le mail").decision.action == "clarify"
    assert customer.says(reply).decision.answered == ("reset_email_missing",)


def test_the_address_found_but_out_of_reach_gets_the_lost_address_answer(engine: Engine) -> None:
    customer = Customer(engine)
    assert customer.says("je sais plus avec quelle adresse j'ai créé mon compte").decision.answered
    outcome = customer.says("trouvé, c'était celle de mon ancien boulot, à laquelle j'ai plus accès")
    assert (outcome.decision.feedback, outcome.decision.answered) == ("yes", ("lost_email_access",))
    # Found and still in reach: it worked.
    other = Customer(engine)
    other.says("je sais plus avec quelle adresse j'ai créé mon compte")
    assert other.says("trouvé ! c'était ma vieille adresse hotmail").decision.action == "resolved"
