"""Settings, from the environment or a `.env` file; read by the CLI, passed to everything else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/bot.sqlite3"


class Settings(BaseSettings):
    """The names of DESIGN.md's environment table; a channel is off while its secret is unset."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_host: str = Field(default="0.0.0.0", alias="BOT_HOST")  # noqa: S104 - a server's default
    bot_port: int = Field(default=8080, ge=0, le=65535, alias="BOT_PORT")
    bot_database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="BOT_DATABASE_URL")

    messenger_app_secret: SecretStr | None = Field(default=None, alias="MESSENGER_APP_SECRET")
    messenger_verify_token: SecretStr | None = Field(default=None, alias="MESSENGER_VERIFY_TOKEN")
    messenger_page_access_token: SecretStr | None = Field(
        default=None, alias="MESSENGER_PAGE_ACCESS_TOKEN"
    )
    messenger_api_url: str = Field(
        default="https://graph.facebook.com/v21.0", alias="MESSENGER_API_URL"
    )
    # Our Facebook app's id: an echo from any other app is a person in the Page Inbox.
    # Optional: our own sends also carry a metadata tag that their echoes return.
    messenger_app_id: str | None = Field(default=None, alias="MESSENGER_APP_ID")

    twitter_consumer_key: SecretStr | None = Field(default=None, alias="TWITTER_CONSUMER_KEY")
    twitter_consumer_secret: SecretStr | None = Field(default=None, alias="TWITTER_CONSUMER_SECRET")
    twitter_access_token: SecretStr | None = Field(default=None, alias="TWITTER_ACCESS_TOKEN")
    twitter_access_token_secret: SecretStr | None = Field(
        default=None, alias="TWITTER_ACCESS_TOKEN_SECRET"
    )
    twitter_api_url: str = Field(default="https://api.twitter.com", alias="TWITTER_API_URL")
    # The support account's numeric id: DMs it sends are echoes, mentions of it are answered.
    twitter_user_id: str | None = Field(default=None, pattern=r"^\d+$", alias="TWITTER_USER_ID")
    # Our app's id (`source_app_id`): a DM the account sends from any other app is a person
    # answering in the X app, and the bot pauses for that conversation.
    twitter_app_id: str | None = Field(default=None, pattern=r"^\d+$", alias="TWITTER_APP_ID")
    # webhook: Account Activity API (high X plans); poll: GET /2/dm_events on an interval.
    twitter_mode: Literal["webhook", "poll"] = Field(default="webhook", alias="TWITTER_MODE")
    # v2 by default: its DM endpoints are on every current X plan; v1 (the v1.1 event API,
    # with quick-reply buttons) only for apps that still have access to it.
    twitter_dm_api: Literal["v1", "v2"] = Field(default="v2", alias="TWITTER_DM_API")
    # GET /2/dm_events allows few calls per 15 minutes: once a minute stays well within.
    twitter_poll_seconds: float = Field(
        default=60.0, ge=5, le=3600, alias="TWITTER_POLL_SECONDS"
    )
    # The Account Activity environment `twitter register` uses.
    twitter_env_name: str | None = Field(default=None, alias="TWITTER_ENV_NAME")

    # Delivery: attempts before a reply is marked failed, and the first retry's delay
    # (doubled at each attempt, with jitter, at most BOT_SEND_BACKOFF_MAX seconds).
    bot_send_attempts: int = Field(default=8, ge=1, le=100, alias="BOT_SEND_ATTEMPTS")
    bot_send_backoff: float = Field(default=2.0, gt=0, le=3600, alias="BOT_SEND_BACKOFF")
    bot_send_backoff_max: float = Field(default=600.0, gt=0, alias="BOT_SEND_BACKOFF_MAX")
    bot_send_timeout: float = Field(default=10.0, gt=0, le=120, alias="BOT_SEND_TIMEOUT")
    # Seconds before resending a reply whose fate is unknown (a timeout, a connection lost
    # before the answer, a 5xx, a crash mid-send), so that the platform's echo can confirm
    # it was delivered and cancel the resend.
    bot_unconfirmed_wait: float = Field(default=10.0, ge=0, le=3600, alias="BOT_UNCONFIRMED_WAIT")
    # How SQLite's commits reach the disk: "thread" (the write-ahead log is synced by a
    # thread, the event loop goes on meanwhile) or "full" (SQLite's synchronous = FULL: the
    # loop waits for the disk at each commit). Both survive a power cut.
    bot_sqlite_sync: Literal["thread", "full"] = Field(default="thread", alias="BOT_SQLITE_SYNC")
    # Seconds a statement waits for a locked SQLite database before giving up (503).
    bot_db_busy_timeout: float = Field(default=5.0, gt=0, le=60, alias="BOT_DB_BUSY_TIMEOUT")
    # Seconds a worker holds an event or a reply before another may take it up; more than
    # twice BOT_SEND_TIMEOUT (see `_lease_outlasts_a_send`).
    bot_lease_seconds: float = Field(default=60.0, gt=0, alias="BOT_LEASE_SECONDS")
    # When people answer, told to a customer handed over to them, e.g.
    # "du lundi au vendredi, de 9 h à 18 h (heure de Paris)". Unset: not mentioned.
    bot_business_hours: str | None = Field(
        default=None, max_length=120, alias="BOT_BUSINESS_HOURS"
    )
    # Conversations nobody touched for this many days are deleted (unset: kept).
    bot_retention_days: float | None = Field(default=None, gt=0, alias="BOT_RETENTION_DAYS")
    # The address customers reach this server at, for links we give out (deletion status).
    bot_public_url: str | None = Field(default=None, alias="BOT_PUBLIC_URL")
    # The public /chat page and its API (try the bot in a browser). Off in a production
    # server that only serves the platforms and the desk: both answer 404.
    bot_chat_enabled: bool = Field(default=True, alias="BOT_CHAT_ENABLED")
    # Hours a desk sign-in lasts without being used (each use renews it).
    bot_desk_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 90, alias="BOT_DESK_SESSION_HOURS"
    )
    bot_log_format: Literal["text", "json"] = Field(default="text", alias="BOT_LOG_FORMAT")
    # Open connections at most (lowered to what the process's file limit allows); beyond,
    # the oldest idle one is closed, or the newcomer gets 503.
    bot_max_connections: int = Field(default=1000, ge=16, le=1_000_000, alias="BOT_MAX_CONNECTIONS")
    # Seconds a request's body may take to arrive; a slower one gets 408 and is closed.
    bot_body_timeout: float = Field(default=10.0, gt=0, le=600, alias="BOT_BODY_TIMEOUT")
    # Seconds SIGTERM waits for in-flight work before exiting.
    bot_drain_seconds: float = Field(default=10.0, ge=0, alias="BOT_DRAIN_SECONDS")
    # Behind our reverse proxy (deploy/nginx.conf): the client is the address the proxy
    # appended to X-Forwarded-For, and X-Forwarded-Proto tells whether it came over TLS.
    # Off when the server is reached directly, where anyone could write those headers.
    bot_trust_proxy: bool = Field(default=False, alias="BOT_TRUST_PROXY")

    @field_validator("bot_public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # `BOT_PUBLIC_URL=` in a .env file: unset
        if not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be an absolute address, like https://bot.example.com")
        return value

    @field_validator("bot_lease_seconds")
    @classmethod
    def _lease_outlasts_a_send(cls, value: float, info: ValidationInfo) -> float:
        # A reply's "seen" mark and then the reply itself may each take the send timeout:
        # a lease that runs out before would let a second claim send the reply again.
        timeout = info.data.get("bot_send_timeout")
        if timeout is not None and value <= 2 * timeout:
            raise ValueError(f"must be more than twice BOT_SEND_TIMEOUT ({timeout:g} s)")
        return value

    @field_validator("bot_database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @property
    def messenger_enabled(self) -> bool:
        return self.messenger_app_secret is not None

    @property
    def twitter_enabled(self) -> bool:
        return self.twitter_consumer_secret is not None

    @property
    def sqlite_path(self) -> Path | None:
        if not self.bot_database_url.startswith("sqlite:///"):
            return None
        return Path(self.bot_database_url.removeprefix("sqlite:///"))
