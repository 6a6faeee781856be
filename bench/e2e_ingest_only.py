"""`serve` with its workers idle: the webhook path alone (signature, parse, durable insert, 200).

    python -m bench.e2e_ingest_only serve --host 127.0.0.1 --port N

A diagnostic for bench/e2e.py --profile, not a way to run the bot: the inbox worker and
the sender are replaced by steps that find nothing to do, so the measured rate is the
acknowledgement path's own, without the engine competing for the event loop.
"""

from __future__ import annotations

import sys
from typing import Any

from bot import cli, inbox, sender


async def _idle(self: Any) -> bool:
    return False


def main() -> int:
    inbox.InboxWorker.step = _idle  # type: ignore[method-assign]
    sender.Sender.step = _idle  # type: ignore[method-assign]
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
