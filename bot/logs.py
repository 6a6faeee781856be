"""Logging: one line per event, as text or JSON (`BOT_LOG_FORMAT=json`), never a secret.

Every record goes through the same scrubbing: e-mail addresses are masked (customers
paste theirs) and anything that looks like an access token in a URL is blanked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Final

EMAIL: Final = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
TOKEN: Final = re.compile(r"(access_token|oauth_token|oauth_signature|token)=([^&\s\"']+)", re.I)
# Extra fields the service attaches to its records, kept in JSON output.
FIELDS: Final = ("conversation", "channel", "intent", "action", "escalation", "agent", "status")


def scrub(text: str) -> str:
    """`jean.dupont@gmail.com` → `j…@gmail.com`; `access_token=abc` → `access_token=…`."""
    return TOKEN.sub(r"\1=…", EMAIL.sub(r"\1…@\2", text))


class ScrubbingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{n}={record.__dict__[n]}" for n in FIELDS if record.__dict__.get(n) is not None]
        return f"{line} {' '.join(extras)}" if extras else line


def configure(kind: str = "text", level: int = logging.INFO) -> None:
    """Send the service's logs to stderr, one line per record."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if kind == "json" else TextFormatter())
    handler.addFilter(ScrubbingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
