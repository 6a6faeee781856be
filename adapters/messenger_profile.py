"""The page's Messenger profile: Get Started button, greeting, persistent menu, ice breakers.

`python -m bot messenger setup` builds it here (`profile_body`, pure) and posts it once
(`set_profile`). Values from the Messenger Platform documentation:
- Messenger Profile API: `POST /me/messenger_profile` answers {"result": "success"};
  10 calls per 10 minutes per page:
  https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api
- greeting: at most 160 characters, the "default" locale required:
  https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api/greeting
- persistent menu: needs a Get Started button; at most 20 items, titles of 30 characters,
  payloads of 1000: https://developers.facebook.com/docs/messenger-platform/send-messages/persistent-menu
- ice breakers: at most 4 questions, the "default" locale required. Where both are set,
  Messenger shows the ice breakers instead of the Get Started button on the welcome screen:
  https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api/ice-breakers
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from yarl import URL

from adapters.base import RetryableSendError, call_api
from adapters.messenger import RATE_LIMIT_CODES
from bot.policy import GET_STARTED, HUMAN, INTENT_PREFIX
from intents.catalogue import Catalogue, Intent

# One version for every Facebook locale: the "default" one, which every other falls back to.
DEFAULT_LOCALE: Final = "default"
GREETING_MAX: Final = 160
MENU_ITEMS_MAX: Final = 20
MENU_TITLE_MAX: Final = 30
PAYLOAD_MAX: Final = 1000
ICE_BREAKERS_MAX: Final = 4

GREETING: Final = (
    "Bonjour ! Je suis l'assistant automatisé de Parallels pour vos problèmes de compte : "
    "création, connexion, mot de passe. Un conseiller peut prendre le relais."
)
HUMAN_TITLE: Final = "Parler à un conseiller"


@dataclass(frozen=True, slots=True)
class Entry:
    """A menu item or an ice breaker that opens an intent; no title: the catalogue's label."""

    intent: str
    title: str | None = None


# What customers most often come with. A symptom's entry gets the clarifying question whose
# choices are its problems: these four entries reach every problem of the article.
MENU: Final = (
    Entry("invalid_credentials", "Impossible de me connecter"),
    Entry("forgot_password"),
    Entry("no_email_received"),
    Entry("cannot_create_account", "Impossible de créer un compte"),
)
ICE_BREAKERS: Final = (
    Entry("invalid_credentials", "Je n'arrive pas à me connecter"),
    Entry("forgot_password", "J'ai oublié mon mot de passe"),
    Entry("no_email_received", "Je ne reçois pas d'e-mail de Parallels"),
    Entry("cannot_create_account", "Je n'arrive pas à créer mon compte"),
)


class ProfileError(Exception):
    """The profile is not valid, or the Graph API did not accept it; the message says why."""


# -- the body, checked against the documented limits ---------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _GetStarted(_Strict):
    payload: str = Field(min_length=1, max_length=PAYLOAD_MAX)


class _Greeting(_Strict):
    locale: str
    text: str = Field(min_length=1, max_length=GREETING_MAX)


class _MenuItem(_Strict):
    type: Literal["postback"] = "postback"
    title: str = Field(min_length=1, max_length=MENU_TITLE_MAX)
    payload: str = Field(min_length=1, max_length=PAYLOAD_MAX)


class _Menu(_Strict):
    locale: str
    composer_input_disabled: bool = False
    call_to_actions: tuple[_MenuItem, ...] = Field(min_length=1, max_length=MENU_ITEMS_MAX)


class _IceBreaker(_Strict):
    question: str = Field(min_length=1)
    payload: str = Field(min_length=1)


class _IceBreakers(_Strict):
    locale: str
    call_to_actions: tuple[_IceBreaker, ...] = Field(min_length=1, max_length=ICE_BREAKERS_MAX)


class _Profile(_Strict):
    # Sent in the same request as the menu, which the platform refuses without it.
    get_started: _GetStarted
    greeting: tuple[_Greeting, ...]
    persistent_menu: tuple[_Menu, ...]
    ice_breakers: tuple[_IceBreakers, ...]

    @model_validator(mode="after")
    def _default_locales(self) -> _Profile:
        for name, items in (
            ("greeting", self.greeting),
            ("persistent_menu", self.persistent_menu),
            ("ice_breakers", self.ice_breakers),
        ):
            if DEFAULT_LOCALE not in [item.locale for item in items]:
                raise ValueError(f"{name} needs an entry for the locale {DEFAULT_LOCALE!r}")
        return self


def profile_body(
    catalogue: Catalogue,
    *,
    greeting: str = GREETING,
    menu: tuple[Entry, ...] = MENU,
    ice_breakers: tuple[Entry, ...] = ICE_BREAKERS,
) -> dict[str, Any]:
    """The JSON body of `POST /me/messenger_profile`, checked against the documented limits.

    Every payload is one the dialogue policy acts on: `get_started` (a greeting),
    `intent:<id>` of an article problem or a generic symptom (its answer or its clarifying
    question), and `human` (a person) as the menu's last item. Raises ProfileError.
    """
    items = [
        {
            "type": "postback",
            "title": _title(catalogue, entry),
            "payload": _payload(catalogue, entry),
        }
        for entry in menu
    ]
    items.append({"type": "postback", "title": HUMAN_TITLE, "payload": HUMAN})
    questions = [
        {"question": _title(catalogue, entry), "payload": _payload(catalogue, entry)}
        for entry in ice_breakers
    ]
    body = {
        "get_started": {"payload": GET_STARTED},
        "greeting": [{"locale": DEFAULT_LOCALE, "text": greeting}],
        "persistent_menu": [
            {"locale": DEFAULT_LOCALE, "composer_input_disabled": False, "call_to_actions": items}
        ],
        "ice_breakers": [{"locale": DEFAULT_LOCALE, "call_to_actions": questions}],
    }
    try:
        return _Profile.model_validate(body).model_dump(mode="json")
    except ValidationError as exc:
        raise ProfileError(f"invalid Messenger profile: {_reason(exc)}") from None


def summary(body: dict[str, Any]) -> str:
    """One line saying what a profile body sets."""
    menu = body["persistent_menu"][0]["call_to_actions"]
    questions = body["ice_breakers"][0]["call_to_actions"]
    return (
        f"Messenger profile set: Get Started button (payload {body['get_started']['payload']}), "
        f"greeting, persistent menu of {len(menu)} items, {len(questions)} ice breakers"
    )


def _title(catalogue: Catalogue, entry: Entry) -> str:
    return entry.title if entry.title is not None else _intent(catalogue, entry).label


def _payload(catalogue: Catalogue, entry: Entry) -> str:
    return f"{INTENT_PREFIX}{_intent(catalogue, entry).id}"


def _intent(catalogue: Catalogue, entry: Entry) -> Intent:
    try:
        intent = catalogue[entry.intent]
    except KeyError:
        raise ProfileError(f"invalid Messenger profile: unknown intent {entry.intent!r}") from None
    # The policy answers `intent:` payloads of problems and symptoms only; others greet.
    if intent.kind not in ("problem", "symptom"):
        raise ProfileError(
            f"invalid Messenger profile: intent {entry.intent!r} is a {intent.kind}, "
            "not an article problem or a symptom"
        )
    return intent


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where + ': ' if where else ''}{first['msg']}"


# -- the Messenger Profile API ------------------------------------------------------------


async def set_profile(
    session: aiohttp.ClientSession,
    *,
    api_url: str,
    page_token: str,
    body: dict[str, Any],
    request_timeout: float = 10.0,
) -> None:
    """POST `body` to `{api_url}/me/messenger_profile`; ProfileError unless it succeeds.

    The error carries the HTTP status and Graph's error code and message, never the token.
    """
    url = f"{api_url.rstrip('/')}/me/messenger_profile"
    try:
        answer = await call_api(
            session, "POST", URL(url).with_query(access_token=page_token), api="Graph API",
            client_timeout=aiohttp.ClientTimeout(total=request_timeout), json=body,
        )  # fmt: skip
    except RetryableSendError as exc:
        if exc.code == "timeout":
            raise ProfileError(f"no answer from {url} within {request_timeout:g} s") from None
        reason = _redact(f"cannot reach {url}: {exc.__cause__}", page_token)
        raise ProfileError(reason) from None
    status, result = answer.status, answer.json
    if 200 <= status < 300 and isinstance(result, dict) and result.get("result") == "success":
        return
    raise ProfileError(_redact(_graph_error(status, result), page_token))


def _graph_error(status: int, answer: object) -> str:
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return f"the Graph API answered HTTP {status} without success: {str(answer)[:200]}"
    code = error.get("code")
    subcode = error.get("error_subcode")
    label = f"{code}/{subcode}" if subcode else str(code)
    text = f"the Graph API refused: HTTP {status}, code {label}: {error.get('message', '')}"
    if code in RATE_LIMIT_CODES:
        text += " (at most 10 profile updates per 10 minutes per page: try again later)"
    return text


def _redact(text: str, token: str) -> str:
    return text.replace(token, "[MESSENGER_PAGE_ACCESS_TOKEN]") if token else text
