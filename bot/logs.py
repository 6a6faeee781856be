"""Logging: one line per event, as text or JSON (`BOT_LOG_FORMAT=json`), never a secret.

Every record goes through the same scrubbing, tracebacks included: e-mail addresses,
phone numbers and licence keys are masked (customers give them to the agent, who sees them
in the desk; the logs have no need of them) and anything that looks like an access token
in a URL is blanked. Platform ids, counts and times stay as they are.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, Final

EMAIL: Final = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
TOKEN: Final = re.compile(r"(access_token|oauth_token|oauth_signature|token)=([^&\s\"']+)", re.I)
# Phone numbers as people write them: international (+33 6 12 34 56 78, 0033…, +1 415 555
# 0134) or French national (06 12 34 56 78, 06.12.34.56.78). A bare run of digits is an id
# (a PSID, an X user id, a timestamp) and is kept. Bounded repetitions: linear time.
PHONE: Final = re.compile(
    r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .-]?\(0\))?(?:[ .-]?\d){6,12}(?![\d])"
    r"|(?<![\w+])0[1-9](?:[ .-]?\d\d){4}(?!\d)"
)
# Licence keys: four or more groups of 4 to 8 letters and digits joined by dashes, with a
# digit somewhere (hyphenated words have none).
KEY: Final = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z0-9]{4,8}(?:-[A-Za-z0-9]{4,8}){3,}+(?![\w-])")
# Extra fields the service attaches to its records, kept in JSON output.
FIELDS: Final = ("conversation", "channel", "intent", "action", "escalation", "agent", "status")


def scrub(text: str) -> str:
    """`jean.dupont@gmail.com` → `j…@gmail.com`; `06 12 34 56 78` → `0…78`;
    `ABCD1-EFGH2-IJKL3-MNOP4` → `ABCD1-…`; `access_token=abc` → `access_token=…`."""
    text = EMAIL.sub(r"\1…@\2", text)
    if any(c.isdigit() for c in text):
        text = PHONE.sub(_phone, text)
        text = KEY.sub(_key, text)
    return TOKEN.sub(r"\1=…", text)


def _phone(match: re.Match[str]) -> str:
    number = match.group()
    return f"{number[0]}…{number[-2:]}"


def _key(match: re.Match[str]) -> str:
    key = match.group()
    if not any(c.isdigit() for c in key):
        return key
    return f"{key.split('-', 1)[0]}-…"


class ScrubbingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return scrub(super().formatException(ei))

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
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei: Any) -> str:
        return scrub(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # another handler may have cached the traceback unscrubbed
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
