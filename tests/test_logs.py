"""The logs never carry what customers give the agent: e-mail addresses, phone numbers,
licence keys; nor a token. Platform ids and counts stay readable for the operator."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot import logs


def logged(formatter: logging.Formatter, message: str, *args: object, error: bool = False) -> str:
    """What one record becomes on stderr with the service's filter and `formatter`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.ScrubbingFilter())
    logger = logging.getLogger("tests.logs.scrubbing")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if error:
            try:
                raise ValueError(message % args)
            except ValueError:
                logger.exception("failed")
        else:
            logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


PHONES = [
    "06 12 34 56 78",
    "0612345678",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "+33 6 12 34 56 78",
    "+33612345678",
    "+33 (0)6 12 34 56 78",
    "0033 6 12 34 56 78",
    "+1 415 555 0134",
    "+41 79 123 45 67",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_masked_in_log_lines(phone: str) -> None:
    line = logged(logs.TextFormatter(), "customer says: rappelez-moi au %s svp", phone)
    assert phone not in line
    assert phone.replace(" ", "")[2:-2] not in line.replace(" ", "")
    assert "rappelez-moi au " in line and " svp" in line


KEYS = ["ABCD1-EFGH2-IJKL3-MNOP4-QRST5", "7X3K9Q-2M4P8Z-5N6R1T-9W2Y4U-3H8J6L", "a1b2-c3d4-e5f6-g7h8"]


@pytest.mark.parametrize("key", KEYS)
def test_licence_keys_are_masked_in_log_lines(key: str) -> None:
    line = logged(logs.JsonFormatter(), "transfer of licence %s asked", key)
    message = json.loads(line)["message"]
    assert key not in message
    assert key.split("-", 1)[1] not in message
    assert message.startswith("transfer of licence ") and message.endswith(" asked")


@pytest.mark.parametrize(
    "kept",
    [
        "conversation 12345 of messenger user 6781234567890123",  # a PSID
        "X webhook for another account (9000000001) ignored",
        "event 1712345678901 claimed, outbox 42 sent in 0.012 s",
        "retention: 3 conversation(s) older than 90 days deleted",
        "Saint-Jean-Pied-Port",
    ],
)
def test_ids_counts_and_hyphenated_words_stay_readable(kept: str) -> None:
    assert kept in logged(logs.TextFormatter(), "%s", kept)


@pytest.mark.parametrize("formatter", [logs.TextFormatter(), logs.JsonFormatter()])
def test_a_traceback_is_scrubbed_as_well(formatter: logging.Formatter) -> None:
    out = logged(formatter, "mail %s, tel %s", "jean.dupont@gmail.com", "06 12 34 56 78", error=True)
    assert "Traceback" in out or "Traceback" in json.loads(out).get("error", "")
    assert "jean.dupont" not in out and "06 12 34 56 78" not in out
