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

    twitter_consumer_key: SecretStr | None = Field(default=None, alias="TWITTER_CONSUMER_KEY")
    twitter_consumer_secret: SecretStr | None = Field(default=None, alias="TWITTER_CONSUMER_SECRET")
    twitter_access_token: SecretStr | None = Field(default=None, alias="TWITTER_ACCESS_TOKEN")
    twitter_access_token_secret: SecretStr | None = Field(
        default=None, alias="TWITTER_ACCESS_TOKEN_SECRET"
    )
    twitter_api_url: str = Field(default="https://api.twitter.com", alias="TWITTER_API_URL")

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
