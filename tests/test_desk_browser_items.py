"""Each of the desk's features in a real Chromium, at 390 px and 1440 px, keyboard first,
with axe-core (vendored under tests/vendor) finding no serious accessibility violation.

Also makes the pictures of docs/ when BOT_DESK_SCREENSHOTS names a folder
(`python -m tests.screenshots`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.desk.auth import hash_token, new_token
from bot.http import STORE
from tests import test_desk_browser as base
from tests.fakes.graph import FakeGraph
from tests.test_desk_browser import Desk

browser = base.browser  # the fixtures: Chromium, and the app with agent alice
desk = base.desk

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (390, 1440)
SHOTS = os.environ.get("BOT_DESK_SCREENSHOTS")
XSS = '<img src=x onerror="window.__xss=1">'


async def context(browser: Browser, width: int, **options: Any) -> BrowserContext:
    return await browser.new_context(
        viewport={"width": width, "height": 900}, locale="fr-FR", timezone_id="Europe/Paris",
        bypass_csp=True,  # lets the test inject axe-core; the pages' own policy is tested apart
        **options,
    )  # fmt: skip


async def sign_in(page: Page, desk: Desk, token: str) -> None:
    from playwright.async_api import expect

    await page.goto(str(desk.server.make_url("/desk")))
    await page.get_by_label("Jeton de conseiller").fill(token)
    await page.get_by_label("Jeton de conseiller").press("Enter")
    await expect(page.locator("#live")).to_have_text("En direct")


async def no_serious_violation(page: Page, where: str) -> None:
    """axe-core's WCAG 2 A/AA rules: nothing serious or critical."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']})"
    )
    serious = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]  # fmt: skip
    assert serious == [], f"{where}: {serious}"


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for what the page does on its own (an event, a dialog)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    assert condition()


async def admin(desk: Desk, name: str = "Chef") -> str:
    token = new_token()
    await desk.server.app[STORE].add_agent(name, hash_token(token), "admin")
    return token


@pytest.mark.parametrize("width", WIDTHS)
async def test_an_agent_works_a_conversation_with_the_keyboard_alone(
    desk: Desk, graph: FakeGraph, browser: Browser, width: int
) -> None:
    """j/k choose, c claims, r replies, "/" and letters insert the article's answer, e hands
    back after a confirmation because the customer wrote again, "?" shows the help."""
    from playwright.async_api import expect

    ctx = await context(browser, width)
    page = await ctx.new_page()
    try:
        await sign_in(page, desk, desk.token)
        await desk.customer_says("psid-kb1", "je veux parler à un humain")
        await desk.customer_says("psid-kb2", "je veux parler à un humain")
        await expect(page.locator("#queue button")).to_have_count(2, timeout=10_000)
        await page.locator("body").press("j")
        await expect(page.locator("#detail-title")).to_contain_text("···-kb1")
        await page.keyboard.press("j")
        await expect(page.locator("#detail-title")).to_contain_text("···-kb2")
        await page.keyboard.press("k")
        await expect(page.locator("#detail-title")).to_contain_text("···-kb1")
        await page.keyboard.press("c")
        await expect(page.locator("#holder")).to_have_text("Vous vous en occupez.")
        reply = page.get_by_label("Votre réponse au client")
        await expect(reply).to_be_focused()  # claiming puts the cursor in the reply box
        await reply.type("/mdp")
        await expect(page.locator("#suggestions")).to_contain_text("Mot de passe oublié")
        await reply.press("Enter")
        await expect(reply).to_have_value(
            "Vous pouvez réinitialiser votre mot de passe à l'aide du lien « Mot de passe "
            "oublié » sur la page de connexion de Mon compte."
        )
        await reply.press("Enter")
        await graph.wait_until(lambda: any("Mot de passe oublié" in t for t in graph.texts("psid-kb1")))
        await expect(page.locator("#brief")).to_contain_text("une personne y a répondu")
        await desk.customer_says("psid-kb1", "merci, et pour mon autre compte ?")
        await expect(page.locator("#brief")).to_contain_text("sans réponse d'une personne")
        await page.locator("#transcript").click()  # out of the reply box (a mouse-free agent tabs)
        answers: list[str] = []

        async def answer(dialog: Any) -> None:
            answers.append(dialog.message)
            await (dialog.dismiss() if len(answers) == 1 else dialog.accept())

        page.on("dialog", answer)
        await page.keyboard.press("e")
        await expect(page.locator("#holder")).to_have_text("Vous vous en occupez.")
        await page.keyboard.press("e")
        await expect(page.locator("#holder")).to_have_text("Rendue à l'assistant.")
        assert len(answers) == 2 and "sans réponse" in answers[0]
        await page.keyboard.press("?")
        await expect(page.get_by_role("dialog")).to_contain_text("Raccourcis clavier")
        await no_serious_violation(page, f"help at {width}px")
        await page.keyboard.press("Escape")
        await page.keyboard.press("/")
        await expect(page.get_by_label("Rechercher (client, échanges, notes)")).to_be_focused()
        await no_serious_violation(page, f"desk at {width}px")
    finally:
        await ctx.close()


async def test_handing_back_asks_when_the_customer_wrote_before_the_page_showed_it(
    desk: Desk, graph: FakeGraph, browser: Browser
) -> None:
    """The page has not shown the customer's newest message yet (its refresh is slow): the
    hand-back is refused by the server, the agent is told and asked, and nothing is lost."""
    from playwright.async_api import Route, expect

    ctx = await context(browser, 1440)
    page = await ctx.new_page()
    try:
        held: list[tuple[Route, Any]] = []
        holding = True

        async def hold(route: Route) -> None:
            # Every refresh of the detail goes through here from the start, so that none
            # already under way can bring the newest message early: the one that carries it
            # stays pending while the agent clicks, and the page is stale.
            response = await route.fetch()
            if holding and "encore une question" in await response.text():
                held.append((route, response))
            else:
                await route.fulfill(response=response)

        await page.route("**/api/escalations/*", hold)
        await sign_in(page, desk, desk.token)
        await desk.customer_says("psid-late", "je veux parler à un humain")
        await page.locator("#queue button").first.click()
        await page.get_by_role("button", name="Prendre en charge").click()
        reply = page.get_by_label("Votre réponse au client")
        await reply.fill("Voilà, c'est réglé.")
        await reply.press("Enter")
        await expect(page.locator("#brief")).to_contain_text("une personne y a répondu")
        await desk.customer_says("psid-late", "attendez, j'ai encore une question")
        await until(lambda: len(held) > 0)
        asked: list[str] = []

        async def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", answer)
        await page.get_by_role("button", name="Rendre la main à l'assistant").click()
        await expect(page.locator("#toast")).to_contain_text("Le client vient d'écrire")
        assert asked == []  # the page had not shown the message: it did not ask before
        holding = False
        while held:
            route, response = held.pop(0)
            await route.fulfill(response=response)
        await until(lambda: len(asked) == 1)  # asked now, the message shown
        assert "sans réponse" in asked[0]
        await expect(page.locator("#transcript")).to_contain_text("j'ai encore une question")
        await expect(page.locator("#holder")).to_have_text("Vous vous en occupez.")
    finally:
        await ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_notes_views_transfer_history_and_names_in_the_desk(
    desk: Desk, graph: FakeGraph, browser: Browser, width: int
) -> None:
    from playwright.async_api import expect

    chef = await admin(desk)
    bob = new_token()
    await desk.server.app[STORE].add_agent("Bob", hash_token(bob))
    graph.names["psid-named"] = (XSS, "Martin")
    ctx = await context(browser, width)
    page = await ctx.new_page()
    try:
        await sign_in(page, desk, chef)
        await desk.customer_says("psid-named", "je n'arrive pas à réinitialiser mon mot de passe")
        await desk.customer_says("psid-named", "je veux parler à un humain")
        item = page.locator("#queue button", has_text=f"{XSS} Martin")
        await expect(item).to_be_visible(timeout=10_000)  # the name, as text
        await item.focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#brief")).to_contain_text("Le client a demandé un conseiller")
        note = page.get_by_label("Ajouter une note")
        await note.fill(f"Rappeler demain {XSS}")
        await note.press("Tab")
        await page.keyboard.press("Enter")
        await expect(page.locator("#notes")).to_contain_text(f"Rappeler demain {XSS}")
        await note.fill("Puis vérifier l'adresse")  # a second note, without reloading the page
        await page.get_by_role("button", name="Ajouter la note").click()
        await expect(page.locator("#notes li")).to_have_count(2)
        assert all("Rappeler" not in t for t in graph.texts("psid-named"))
        await page.get_by_label("Transférer à").fill("Bob")
        await page.get_by_label("Transférer à").press("Enter")
        await expect(page.locator("#holder")).to_have_text("Pris en charge par Bob.")
        await page.get_by_role("button", name="Les miennes").click()
        await expect(page.locator("#queue button")).to_have_count(0)
        await page.get_by_role("button", name="Toutes").click()
        await expect(item).to_contain_text("Pris en charge par Bob")
        await page.get_by_label("Rechercher (client, échanges, notes)").fill("réinitialisation")
        await expect(page.locator("#queue button")).to_have_count(1)
        await page.get_by_label("Rechercher (client, échanges, notes)").fill("rappeler")
        await expect(page.locator("#queue button")).to_have_count(1)
        await page.get_by_label("Rechercher (client, échanges, notes)").fill("licence")
        await expect(page.locator("#queue-empty")).to_contain_text("Aucune conversation ne correspond")
        assert await page.evaluate("typeof window.__xss") == "undefined"
        assert await page.locator("#queue img, #notes img, #brief img").count() == 0
        await no_serious_violation(page, f"desk with a conversation at {width}px")
    finally:
        await ctx.close()


async def test_an_admin_adds_an_agent_and_a_team_reply_from_the_desk(
    desk: Desk, browser: Browser
) -> None:
    from playwright.async_api import expect

    chef = await admin(desk)
    ctx = await context(browser, 1440)
    page = await ctx.new_page()
    try:
        await sign_in(page, desk, chef)
        await page.get_by_text("Administration").click()
        await page.get_by_label("Nom du nouveau conseiller").fill("Dora")
        await page.get_by_label("Nom du nouveau conseiller").press("Enter")
        await expect(page.locator("#agent-token")).to_contain_text("Jeton de Dora")
        await expect(page.locator("#agents")).to_contain_text("Dora")
        await page.get_by_label("Titre").fill("Délai")
        await page.get_by_label("Texte").fill("Nous revenons vers vous sous 24 h.")
        await page.get_by_role("button", name="Enregistrer la réponse").click()
        await expect(page.locator("#team-replies")).to_contain_text("Délai")
        await expect(page.locator("#replies")).to_contain_text("Délai")
        await no_serious_violation(page, "administration")
    finally:
        await ctx.close()
    # An agent sees no administration.
    ctx = await context(browser, 1440)
    page = await ctx.new_page()
    try:
        await sign_in(page, desk, desk.token)
        await expect(page.get_by_text("Administration")).to_have_count(0)
    finally:
        await ctx.close()


async def test_alerts_ask_for_notifications_once_and_ring_for_a_new_request(
    desk: Desk, browser: Browser
) -> None:
    from playwright.async_api import expect

    ctx = await context(browser, 1440)
    await ctx.add_init_script(
        "window.__asked = 0; const ask = Notification.requestPermission.bind(Notification);"
        "Notification.requestPermission = () => { window.__asked += 1; return ask(); };"
    )
    page = await ctx.new_page()
    try:
        await sign_in(page, desk, desk.token)
        assert await page.evaluate("window.__asked") == 0  # never asked unprompted
        switch = page.get_by_label("Alertes (notification et son)")
        await switch.focus()
        await page.keyboard.press("Space")
        await expect(switch).to_be_checked()
        assert await page.evaluate("window.__asked") == 1
        await desk.customer_says("psid-ring", "je veux parler à un humain")
        await page.wait_for_function("window.__deskAlerts >= 1", timeout=10_000)
        assert (await page.title()).startswith("(1) ")
        await page.reload()
        await expect(page.get_by_label("Alertes (notification et son)")).to_be_checked()
    finally:
        await ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_reports_page_shows_charts_and_exports_csv(
    desk: Desk, browser: Browser, width: int
) -> None:
    from playwright.async_api import expect

    await desk.server.app[STORE].add_agent('<b id="x">bob</b>', hash_token("t-bob"))
    await desk.customer_says("psid-report", "j'ai oublié mon mot de passe")
    await desk.customer_says("psid-report", "non")
    ctx = await context(browser, width)
    page = await ctx.new_page()
    try:
        await sign_in(page, desk, desk.token)
        [escalation] = await desk.server.app[STORE].list_escalations("open")
        await desk.server.app[STORE].claim(escalation.id, '<b id="x">bob</b>')
        await page.get_by_role("link", name="Rapports").click()
        await expect(page.get_by_role("heading", name="Rapports du support")).to_be_visible()
        await expect(page.locator(".kpis")).to_contain_text("Transferts à un conseiller")
        await expect(page.locator("svg[role=img]")).to_have_count(4)
        await expect(page.locator("main")).to_contain_text("Mot de passe oublié")
        await expect(page.locator("main")).to_contain_text('<b id="x">bob</b>')
        assert await page.locator("main b#x").count() == 0
        link = page.get_by_role("link", name="Exporter en CSV (par jour)")
        assert (await link.get_attribute("href") or "").startswith("/api/reports.csv?from=")
        await page.get_by_label("Canal", exact=True).select_option("twitter")
        await page.get_by_role("button", name="Afficher").press("Enter")
        await page.wait_for_url("**channel=twitter**")
        await expect(page.locator(".kpis dd").first).to_have_text("0")
        await no_serious_violation(page, f"reports at {width}px")
    finally:
        await ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_chat_visitor_reaches_an_agent_and_reads_the_reply_live(
    desk: Desk, browser: Browser, width: int
) -> None:
    from playwright.async_api import expect

    ctx = await context(browser, width)
    visitor = await ctx.new_page()
    try:
        await visitor.goto(str(desk.server.make_url("/chat")))
        box = visitor.get_by_label("Votre message")
        await box.fill("je veux parler à un humain")
        await box.press("Enter")
        await expect(visitor.locator("#log")).to_contain_text("conseiller", timeout=10_000)
        await no_serious_violation(visitor, f"/chat at {width}px")
        agent = await ctx.new_page()
        await sign_in(agent, desk, desk.token)
        item = agent.locator("#queue button", has_text="Essai local")
        await expect(item).to_be_visible(timeout=10_000)
        await item.click()
        await agent.get_by_role("button", name="Prendre en charge").click()
        reply = agent.get_by_label("Votre réponse au client")
        await reply.fill(f"Bonjour, ici Alice. {XSS}")
        await reply.press("Enter")
        await expect(visitor.locator("#log .agent")).to_have_text(f"Bonjour, ici Alice. {XSS}")
        assert await visitor.evaluate("typeof window.__xss") == "undefined"
    finally:
        await ctx.close()


async def test_an_agent_labels_what_the_bot_missed_in_the_desk(
    desk: Desk, browser: Browser
) -> None:
    from playwright.async_api import expect

    await desk.customer_says("psid-missed", "mon sésame parallels s'est envolé")
    ctx = await context(browser, 390)
    page = await ctx.new_page()
    try:
        await sign_in(page, desk, desk.token)
        await page.get_by_text("Ce que l'assistant a manqué").click()
        choice = page.get_by_label("mon sésame parallels s'est envolé")
        await expect(choice).to_be_visible(timeout=10_000)
        await choice.select_option("forgot_password")
        await page.get_by_role("button", name="Étiqueter").click()
        await expect(choice).to_have_count(0)
        [label] = await desk.server.app[STORE].labels()
        assert (label.intent, label.agent) == ("forgot_password", "alice")
        await no_serious_violation(page, "review at 390px")
    finally:
        await ctx.close()


async def test_the_sign_in_page_has_no_serious_violation(desk: Desk, browser: Browser) -> None:
    for width in WIDTHS:
        ctx = await context(browser, width)
        page = await ctx.new_page()
        try:
            await page.goto(str(desk.server.make_url("/desk")))
            await no_serious_violation(page, f"sign-in at {width}px")
        finally:
            await ctx.close()


async def test_screenshots_for_the_docs(
    desk: Desk, graph: FakeGraph, browser: Browser, tmp_path: Path
) -> None:
    """The queue, an open conversation and the reports, as docs/desk.md shows them (in
    docs/ with `python -m tests.screenshots`, elsewhere in a scratch folder)."""
    shots = SHOTS or str(tmp_path)
    from playwright.async_api import expect

    graph.names.update({"psid-lea": ("Léa", "Martin"), "psid-noe": ("Noé", "Durand")})
    await desk.customer_says("psid-lea", "je ne reçois pas le mail pour réinitialiser mon mdp")
    await desk.customer_says("psid-lea", "non")
    await desk.customer_says("psid-lea", "c'est pour lea.martin@orange.fr")
    await desk.customer_says("psid-noe", "je veux parler à un humain")
    await desk.customer_says("1234567890124821", "mon compte a été piraté, aidez moi")
    await desk.customer_says("psid-ok", "j'ai oublié mon mot de passe")
    await desk.customer_says("psid-ok", "oui merci")
    chef = await admin(desk)
    ctx = await context(browser, 1440)
    page = await ctx.new_page()
    try:
        await sign_in(page, desk, chef)
        await expect(page.locator("#queue button")).to_have_count(3, timeout=10_000)
        await page.screenshot(path=f"{shots}/desk-queue.png")
        await page.locator("#queue button", has_text="Léa Martin").click()
        await page.get_by_role("button", name="Prendre en charge").click()
        await page.get_by_label("Ajouter une note").fill("Vérifier les spams avec elle, puis l'adresse.")
        await page.get_by_role("button", name="Ajouter la note").click()
        await expect(page.locator("#notes")).to_contain_text("Vérifier")
        await page.get_by_label("Votre réponse au client").fill("/rei")
        await page.screenshot(path=f"{shots}/desk-conversation.png")
        await page.goto(str(desk.server.make_url("/desk/reports")))
        await page.screenshot(path=f"{shots}/desk-reports.png", full_page=True)
    finally:
        await ctx.close()
