"""What each channel accepts in one message, and splitting text to fit.

Messenger: https://developers.facebook.com/docs/messenger-platform/reference/send-api/
(text 2000 characters, 13 quick replies of 20 characters, button template: 3 buttons,
640 characters of text). X: https://docs.x.com/x-api/direct-messages (10,000 characters;
the v1.1 event API takes up to 20 quick-reply options of 36 characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    text: int
    quick_replies: int
    quick_reply_title: int
    buttons: int
    button_text: int


MESSENGER: Final = ChannelLimits(
    text=2000, quick_replies=13, quick_reply_title=20, buttons=3, button_text=640
)
TWITTER: Final = ChannelLimits(
    text=10000, quick_replies=20, quick_reply_title=36, buttons=0, button_text=10000
)
# The local chat (/chat, `chat`) is held to the strictest channel, so what one sees
# there is what Messenger customers get.
LOCAL: Final = MESSENGER

_SENTENCE_END: Final = re.compile(r"(?<=[.!?…])\s+|\n+")


def split_text(text: str, limit: int) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters, between sentences when it can.

    A sentence longer than the limit is cut between words, and a word longer than the
    limit is cut where it must.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
        if not sentence:
            continue
        joined = f"{current} {sentence}" if current else sentence
        if len(joined) <= limit:
            current = joined
            continue
        if current:
            pieces.append(current)
        current = ""
        for word in sentence.split():
            while len(word) > limit:
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(word[:limit])
                word = word[limit:]
            joined = f"{current} {word}" if current else word
            if len(joined) <= limit:
                current = joined
            else:
                pieces.append(current)
                current = word
    if current:
        pieces.append(current)
    return pieces


def shorten(title: str, limit: int) -> str:
    """A quick-reply title within the limit, cut at a word with an ellipsis if needed."""
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0] if " " in title[: limit - 1] else title[: limit - 1]
    return cut.rstrip(" ,;:") + "…"
