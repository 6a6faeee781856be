"""The servers bench/e2e.py runs beside `serve`, each as its own process on 127.0.0.1.

    python -m bench.e2e_servers bare --port N         # reads the body, answers 200
    python -m bench.e2e_servers graph-fast --port N   # a Send API that answers at once
    python -m bench.e2e_servers graph --port N        # the strict FakeGraph, recording

`bare` is the reference the ingestion rate is compared with: the same route, the same
response text as `serve`'s webhook, and nothing else. `graph` is tests/fakes/graph.py's
FakeGraph with a clock: every message it accepts is recorded with its arrival time
(time.monotonic(), the system-wide clock, so comparable with the load generator's) and
`GET /_bench/records` returns them.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from aiohttp import web

from tests.fakes.graph import FakeGraph

WEBHOOK = "/webhooks/messenger"


async def _ping(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def bare_app() -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="EVENT_RECEIVED")

    app = web.Application()
    app.router.add_post(WEBHOOK, webhook)
    app.router.add_get("/_bench/ping", _ping)
    return app


def graph_fast_app() -> web.Application:
    """Answers every Send API request at once, as the real one does when all is well."""
    ids = iter(range(1, 1 << 62))

    async def messages(request: web.Request) -> web.Response:
        body = await request.json()
        recipient = (body.get("recipient") or {}).get("id", "")
        if "sender_action" in body:
            return web.json_response({"recipient_id": recipient})
        return web.json_response({"recipient_id": recipient, "message_id": f"m_{next(ids)}"})

    app = web.Application()
    app.router.add_post("/me/messages", messages)
    app.router.add_get("/_bench/ping", _ping)
    return app


def graph_app() -> web.Application:
    """FakeGraph, plus the arrival time, recipient and text of every message it accepts."""
    fake = FakeGraph()
    records: list[tuple[float, str, str]] = []

    @web.middleware
    async def clock(request: web.Request, handler: Any) -> web.StreamResponse:
        arrived = time.monotonic()
        response: web.StreamResponse = await handler(request)
        if request.path == "/me/messages" and response.status == 200:
            body = await request.json()  # read once already: aiohttp keeps the bytes
            message = body.get("message")
            if isinstance(message, dict):
                text = message.get("text")
                if text is None:
                    text = message["attachment"]["payload"]["text"]
                records.append((arrived, body["recipient"]["id"], str(text)))
        return response

    async def dump(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "records": records,
                "actions": len(fake.actions),
                "rejected": [status for status, _ in fake.rejected],
                "requests": fake.requests,
            }
        )

    app = fake.app()
    app.middlewares.append(clock)
    app.router.add_get("/_bench/records", dump)
    app.router.add_get("/_bench/ping", _ping)
    return app


APPS = {"bare": bare_app, "graph-fast": graph_fast_app, "graph": graph_app}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(APPS[args.kind](), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
