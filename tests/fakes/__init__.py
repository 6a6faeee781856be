"""Fake platform servers that listen on 127.0.0.1 and check what the real ones check."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from aiohttp import web

Show = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def serve_printing(
    app: web.Application, show: Show, *, name: str, default_port: int, description: str
) -> None:
    """Run a fake on 127.0.0.1 (`--port`), `show` printing what the bot sent after each
    request: the fakes' `python -m tests.fakes.…` mode, for trying the bot by hand."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=default_port)
    port = parser.parse_args().port

    async def printing(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        await show(request, response)
        return response

    app.middlewares.append(web.middleware(printing))
    print(f"{name} on http://127.0.0.1:{port}", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None)
