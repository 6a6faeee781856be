"""What an operator relies on: /metrics, structured logs without secrets, `db upgrade`."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, unused_port

from bot import logs
from tests.fakes import messenger as fb
from tests.fakes.graph import TOKEN, FakeGraph
from tests.serving import run_bot, serve_log, settled, start_serve, stop
from tests.test_messenger import post

Client = TestClient[web.Request, web.Application]


def metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in /metrics")


async def test_metrics_count_webhooks_decisions_deliveries_and_failures(
    bot: Client, graph: FakeGraph
) -> None:
    await post(bot, fb.text("u-metrics", "mdp oublié"))
    body = fb.encode(fb.webhook(fb.text("u-metrics", "x")))
    await bot.post("/webhooks/messenger", data=body, headers=fb.sign(body, "wrong"))
    graph.blocked.add("u-blocked")
    await post(bot, fb.text("u-blocked", "bonjour"))
    await graph.wait_for(3, recipient="u-metrics")
    await settled(bot)
    response = await bot.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    # Two customer webhooks, plus Facebook's echo of each reply delivered.
    await graph.wait_until(lambda: graph.echoes_delivered == len(graph.messages))
    text = await (await bot.get("/metrics")).text()
    assert metric(text, 'bot_webhooks_total{channel="messenger",status="200"}') == 2 + 3
    assert metric(text, 'bot_webhooks_total{channel="messenger",status="403"}') == 1
    assert metric(text, 'bot_webhook_signature_failures_total{channel="messenger",reason="invalid"}') == 1
    assert metric(text, 'bot_decisions_total{action="answer",intent="forgot_password"}') == 1
    assert metric(text, 'bot_replies_sent_total{author="bot",channel="messenger"}') == 3
    assert metric(text, 'bot_delivery_latency_seconds_count{channel="messenger"}') == 3
    assert metric(text, 'bot_send_failures_total{channel="messenger",code="551/1545041",outcome="failed"}') >= 1
    assert metric(text, "bot_outbox_backlog ") == 0
    assert metric(text, "bot_outbox_failed ") >= 1


def test_log_lines_mask_email_addresses_and_tokens() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ScrubbingFilter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(
            "customer %s: GET https://graph.example/me?access_token=%s failed",
            "jean.dupont@gmail.com",
            "EAAB-secret",
            extra={"conversation": 42},
        )
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["conversation"] == 42 and entry["level"] == "warning"
    assert "jean.dupont" not in entry["message"] and "j…@gmail.com" in entry["message"]
    assert "EAAB-secret" not in entry["message"]


async def test_serve_logs_one_json_line_per_event_without_secrets(
    graph: FakeGraph, tmp_path: Path
) -> None:
    env = {
        "BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
        "BOT_LOG_FORMAT": "json",
        "MESSENGER_APP_SECRET": fb.APP_SECRET,
        "MESSENGER_PAGE_ACCESS_TOKEN": TOKEN,
        "MESSENGER_API_URL": graph.url,
    }
    port = unused_port()
    process = await start_serve(env, port, tmp_path)
    try:
        import aiohttp

        body = fb.encode(fb.webhook(fb.text("u-json", "mon adresse jean.dupont@gmail.com ne marche pas")))
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/webhooks/messenger", data=body, headers=fb.sign(body)
            ) as response,
        ):
            assert response.status == 200
        await graph.wait_for(2, recipient="u-json")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
    finally:
        await stop(process)
    err = serve_log(tmp_path, port).read_text()
    lines = [line for line in err.splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    handled = [e for e in entries if e["message"] == "message event handled"]
    assert len(handled) == 1 and handled[0]["conversation"] >= 1
    assert handled[0]["channel"] == "messenger"
    assert TOKEN not in err and fb.APP_SECRET not in err and "jean.dupont" not in err


def test_db_upgrade_applies_migrations_and_says_the_version(tmp_path: Path) -> None:
    env = {"BOT_DATABASE_URL": f"sqlite:///{tmp_path}/new.sqlite3"}
    result = run_bot("db", "upgrade", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database schema at version ")
    assert (tmp_path / "new.sqlite3").exists()
