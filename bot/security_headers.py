"""Security headers of the public HTML pages that are not the desk: `/chat` and the data
deletion status page.

They get the desk's protections (`bot.desk.pages.SECURITY_HEADERS`): no framing, no MIME
sniffing, no referrer to other sites, and a Content-Security-Policy. Each page is one
file with its script and style inline; the policy allows exactly those blocks, by their
SHA-256, and nothing else, so even markup slipped into the page could not run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from typing import Final

from bot.desk.pages import SECURITY_HEADERS

_BLOCK: Final = re.compile(r"<(script|style)>(.*?)</\1>", re.S)


def for_page(html: str, *, cache: str = "no-cache") -> dict[str, str]:
    """The headers of `html`, a page of ours; `cache` is its Cache-Control."""
    blocks = tuple(_BLOCK.findall(html))
    return {**SECURITY_HEADERS, "Content-Security-Policy": _policy(blocks), "Cache-Control": cache}


@functools.lru_cache(maxsize=16)
def _policy(blocks: tuple[tuple[str, str], ...]) -> str:
    sources: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in blocks:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        sources[tag].append(f"'sha256-{digest}'")
    policy = ["default-src 'none'"]
    if sources["script"]:
        policy.append("script-src " + " ".join(sources["script"]))
    if sources["style"]:
        policy.append("style-src " + " ".join(sources["style"]))
    policy += [
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(policy)
