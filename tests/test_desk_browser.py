"""The desk in a real headless Chromium (Debian's package, driven by Playwright).

An agent signs in through the form, sees a Messenger escalation arrive live, claims it and
replies; the fake Graph API receives the reply. A customer's markup stays text.
Skipped when Chromium or Playwright is missing, unless BOT_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.desk.auth import hash_token, new_token
from bot.engine import Engine
from bot.http import STORE
from tests.clock import Clock
from tests.fakes import messenger as fb
from tests.fakes.graph import FakeGraph
from tests.test_desk import desk_app

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"

Client = TestClient[web.Request, web.Application]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is missing (pip install playwright)"
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    problem = _missing()
    if problem is not None:
        if os.environ.get("BOT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"BOT_REQUIRE_BROWSER=1 but {problem}", pytrace=False)
        pytest.skip(f"browser test skipped: {problem}")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class Desk:
    """The real app listening on 127.0.0.1, with one agent, alice, and her token."""

    server: TestServer
    webhooks: Client
    token: str
    clock: Clock

    async def customer_says(self, psid: str, words: str) -> None:
        event = fb.text(psid, words)
        event["timestamp"] = int(self.clock() * 1000)  # Facebook's time is the service's
        body = fb.encode(fb.webhook(event))
        response = await self.webhooks.post("/webhooks/messenger", data=body, headers=fb.sign(body))
        assert response.status == 200


@pytest.fixture
async def desk(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    aiohttp_client: Callable[[TestServer], Awaitable[Client]],
    messenger_settings: Settings,
    engine: Engine,
) -> Desk:
    clock = Clock()
    server = await aiohttp_server(desk_app(messenger_settings, engine, clock))
    token = new_token()
    await server.app[STORE].add_agent("alice", hash_token(token))
    return Desk(server, await aiohttp_client(server), token, clock)


async def test_an_agent_takes_a_live_escalation_and_replies_from_the_desk(
    desk: Desk, graph: FakeGraph, browser: Browser
) -> None:
    from playwright.async_api import expect

    server, token, customer_says = desk.server, desk.token, desk.customer_says
    base = str(server.make_url("")).rstrip("/")

    context = await browser.new_context(
        viewport={"width": 1366, "height": 800}, locale="fr-FR", timezone_id="Europe/Paris"
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    try:
        # Sign in through the form: a wrong token first, then the right one, by keyboard.
        await page.goto(f"{base}/desk")
        await page.get_by_label("Jeton de conseiller").fill("pas-le-bon")
        await page.get_by_role("button", name="Se connecter").click()
        await expect(page.get_by_role("alert")).to_contain_text("Jeton inconnu")
        await page.get_by_label("Jeton de conseiller").fill(token)
        await page.get_by_label("Jeton de conseiller").press("Enter")
        await expect(page.get_by_role("heading", name="Bureau des conseillers")).to_be_visible()
        await expect(page.locator("#live")).to_have_text("En direct")
        problems.clear()  # the wrong token's 401 is logged by Chromium; nothing else may be
        await page.evaluate("window.__sameLoad = true")

        # A customer asks for a person: the escalation appears without a reload.
        await customer_says("psid-ana", "je veux parler à un humain")
        item = page.locator("#queue button", has_text="Client Messenger ···-ana")
        await expect(item).to_be_visible(timeout=10_000)
        await expect(item).to_contain_text("Messenger")
        await expect(item).to_contain_text("a demandé à parler à un conseiller")
        assert await page.evaluate("window.__sameLoad") is True

        # Chosen with the keyboard; the brief comes first.
        await item.focus()
        await page.keyboard.press("Enter")
        brief = page.locator("#brief")
        await expect(brief).to_contain_text("Le client a demandé un conseiller")
        await expect(brief).not_to_contain_text("score")
        await expect(brief).to_contain_text("réponse normale encore 23 h")

        await page.get_by_role("button", name="Prendre en charge").click()
        await expect(page.locator("#holder")).to_have_text("Vous vous en occupez.")
        await expect(item).to_contain_text("Vous vous en occupez")
        reply = page.get_by_label("Votre réponse au client")
        await expect(reply).to_be_focused()
        await reply.fill("Bonjour, ici Alice du support Parallels. Je regarde votre compte.")
        await reply.press("Enter")
        await graph.wait_until(lambda: any("ici Alice" in t for t in graph.texts("psid-ana")))
        [sent] = [m for m in graph.to("psid-ana") if "ici Alice" in m["message"].get("text", "")]
        assert sent["messaging_type"] == "RESPONSE"
        await expect(page.locator("#transcript li.agent")).to_contain_text("ici Alice")
        await expect(reply).to_have_value("")

        # Markup from a customer is shown as text and never runs.
        await customer_says("psid-ana", f"voici l'erreur : {IMG}")
        await customer_says("psid-ana", SCRIPT)
        customer = page.locator("#transcript li.customer")
        await expect(customer.filter(has_text=IMG)).to_have_count(1, timeout=10_000)
        await expect(customer.filter(has_text=SCRIPT)).to_have_count(1, timeout=10_000)
        assert await page.locator("#transcript img, #transcript script").count() == 0
        assert await page.evaluate("typeof window.__xss") == "undefined"

        # Another customer joins the queue live, for the screenshot too.
        await customer_says("psid-bruno", "je veux parler à un humain")
        await expect(page.locator("#queue button", has_text="Client Messenger ···runo")).to_be_visible()

        # Hand back to the bot: it leaves the queue and the customer is told.
        before = len(graph.texts("psid-ana"))
        page.once("dialog", lambda dialog: dialog.accept())  # the customer's last message waits
        await page.get_by_role("button", name="Rendre la main à l'assistant").click()
        await expect(page.locator("#holder")).to_have_text("Rendue à l'assistant.")
        await expect(item).to_have_count(0)
        await expect(page.get_by_label("Votre réponse au client")).to_be_disabled()
        await graph.wait_for(before + 1, recipient="psid-ana")
        assert await page.evaluate("window.__sameLoad") is True
        assert await page.evaluate("typeof window.__xss") == "undefined"
        assert problems == []
    finally:
        await context.close()


async def test_the_desk_page_is_readable_before_any_escalation(
    desk: Desk, browser: Browser
) -> None:
    from playwright.async_api import expect

    server, token = desk.server, desk.token
    page: Page = await browser.new_page()
    try:
        await page.goto(str(server.make_url("/desk")))
        await page.get_by_label("Jeton de conseiller").fill(token)
        await page.get_by_role("button", name="Se connecter").click()
        await expect(page.locator("#queue-empty")).to_have_text("Aucune demande en attente.")
        await expect(page.locator("#detail-empty")).to_be_visible()
        await expect(page.locator("#detail-body")).to_be_hidden()
        await expect(page.locator("#live")).to_have_text("En direct")
        # Sign out through the form (CSRF field included): back to the sign-in page.
        await page.get_by_role("button", name="Se déconnecter").click()
        await expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
        cookies: list[Any] = await page.context.cookies()
        assert [c for c in cookies if c["name"] == "desk_session"] == []
    finally:
        await page.close()


async def test_the_desk_shows_the_messenger_window_and_closes_the_reply_box(
    desk: Desk, graph: FakeGraph, messenger_settings: Settings, browser: Browser
) -> None:
    from playwright.async_api import expect

    server, token = desk.server, desk.token
    day = 86_400.0
    graph.names["psid-eight-days"] = ("Huit", "Jours")
    graph.names["psid-five-days"] = ("Cinq", "Jours")
    await desk.customer_says("psid-eight-days", "je veux parler à un humain")
    await graph.wait_for(1, recipient="psid-eight-days")
    desk.clock.advance(3.1 * day)
    await desk.customer_says("psid-five-days", "je veux parler à un humain")
    await graph.wait_for(1, recipient="psid-five-days")
    desk.clock.advance(4.9 * day)  # the customers last wrote 8 and 4.9 days ago

    page = await browser.new_page(viewport={"width": 1366, "height": 800})
    try:
        await page.goto(str(server.make_url("/desk")))
        await page.get_by_label("Jeton de conseiller").fill(token)
        await page.get_by_role("button", name="Se connecter").click()
        reply = page.get_by_label("Votre réponse au client")

        await page.locator("#queue button", has_text="Cinq Jours").click()
        await expect(page.locator("#brief")).to_contain_text("balise HUMAN_AGENT encore 2 j")
        await expect(reply).to_be_enabled()
        await reply.fill("Bonjour, désolé pour l'attente.")
        await reply.press("Control+Enter")
        await graph.wait_until(
            lambda: any("désolé" in m["message"].get("text", "") for m in graph.to("psid-five-days"))
        )
        [sent] = [m for m in graph.to("psid-five-days") if "désolé" in m["message"].get("text", "")]
        assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")

        await page.locator("#queue button", has_text="Huit Jours").click()
        await expect(page.locator("#brief")).to_contain_text("fenêtre fermée")
        await expect(reply).to_be_disabled()
        await expect(page.locator("#reply-blocked")).to_contain_text("Fenêtre fermée")
        await expect(page.get_by_role("button", name="Envoyer")).to_be_disabled()
    finally:
        await page.close()


async def test_the_chat_page_works_under_its_content_security_policy(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    engine: Engine,
    browser: Browser,
    settings: Settings,
) -> None:
    """/chat's script and style are allowed by hash: the page runs, nothing is blocked."""
    from playwright.async_api import expect

    from bot.app import create_app

    server = await aiohttp_server(create_app(settings, engine))
    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def console(msg: Any) -> None:
        # Chromium asks for /favicon.ico on its own, and reports its 404.
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            problems.append(msg.text)

    page.on("console", console)
    try:
        await page.goto(str(server.make_url("/chat")))
        await page.get_by_label("Votre message").fill("j'ai oublié mon mot de passe")
        await page.get_by_label("Votre message").press("Enter")
        bot_says = page.locator(".msg.bot")
        await expect(bot_says.last).to_have_text("Est-ce que cela a résolu votre problème ?")
        await expect(page.locator(".choices button").first).to_be_visible()
        # The style applied too: the customer's bubble is blue, not the browser's default.
        colour = await page.locator(".msg.customer").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        assert colour == "rgb(37, 99, 235)"
        assert problems == []
    finally:
        await page.close()
