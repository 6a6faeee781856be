"""Settings, from the environment or a `.env` file; read by the CLI, passed to everything else."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
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

    # Delivery: attempts before a reply is marked failed, and the first retry's delay
    # (doubled at each attempt, with jitter, at most BOT_SEND_BACKOFF_MAX seconds).
    bot_send_attempts: int = Field(default=8, ge=1, le=100, alias="BOT_SEND_ATTEMPTS")
    bot_send_backoff: float = Field(default=2.0, gt=0, le=3600, alias="BOT_SEND_BACKOFF")
    bot_send_backoff_max: float = Field(default=600.0, gt=0, alias="BOT_SEND_BACKOFF_MAX")
    bot_send_timeout: float = Field(default=10.0, gt=0, le=120, alias="BOT_SEND_TIMEOUT")
    # Seconds a worker holds an event or a reply before another may take it up.
    bot_lease_seconds: float = Field(default=60.0, gt=0, alias="BOT_LEASE_SECONDS")
    # Seconds SIGTERM waits for in-flight work before exiting.
    bot_drain_seconds: float = Field(default=10.0, ge=0, alias="BOT_DRAIN_SECONDS")

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
