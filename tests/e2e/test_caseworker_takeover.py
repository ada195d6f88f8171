"""A caseworker takes over a web-chat conversation and gives it back, in two real browsers side by
side (Debian's chromium driven by Playwright): the debtor's page and the caseworker's console.

The handoff appears in the console's queue without a reload; the caseworker takes it, reads the
transcript and the case, and replies; the reply appears on the debtor's page marked as from a
caseworker; the debtor's answer appears in the console and the assistant says nothing; after the
caseworker hands the conversation back, the assistant answers the debtor's next question."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import async_playwright, expect

from actions.formatting import money
from tests.e2e.conftest import DEMO_CASEWORKER_PASSWORD
from tests.e2e.test_web_chat import CHROMIUM, CHROMIUM_ARGS, say

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(scope="session")]

# Set to a folder (e.g. docs/screenshots) to keep pictures of both sides for the README.
SCREENSHOTS = os.environ.get("DEBTBOT_SCREENSHOTS")
REPLY = "Hei Kari, jeg heter Demo og er saksbehandler. Du kan få utsatt betalingen til neste måned."
DEBTOR_ANSWER = "Takk, det passer fint"


@pytest.fixture
async def two_browsers(tmp_path):
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (scripts/setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            debtor = await browser.new_context(viewport={"width": 390, "height": 844}, locale="nb-NO")
            caseworker = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
            yield await debtor.new_page(), await caseworker.new_page()
        finally:
            await browser.close()


async def tracker_events(settings, conversation_id: str) -> list[dict]:
    url = f"http://{settings.host}:{settings.rasa_port}/conversations/{conversation_id}/tracker"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, params={"token": settings.rasa_api_token, "include_events": "ALL"}) as answer:
            assert answer.status == 200
            return (await answer.json())["events"]


async def balance_of(settings, case_number: str) -> str:
    headers = {"Authorization": f"Bearer {settings.case_api_key}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{settings.case_api_url}/cases/{case_number}", headers=headers) as answer:
            return money((await answer.json())["balance"], "nb")


async def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


async def test_a_caseworker_takes_over_the_web_chat_and_gives_it_back(two_browsers, running_stack, stack_settings):
    debtor, console = two_browsers
    base = f"http://{stack_settings.host}:{stack_settings.backoffice_port}"

    # The caseworker is logged in and watching the queue before the debtor asks for a person.
    await console.goto(f"{base}/console/login")
    await console.get_by_label("Brukernavn").fill("demo")
    await console.get_by_label("Passord").fill(DEMO_CASEWORKER_PASSWORD)
    await console.get_by_role("button", name="Logg inn").click()
    await expect(console.locator("#queue-rows")).to_be_attached()

    await debtor.goto(f"{base}/")
    await expect(debtor.locator("#log .message-bot").first).to_contain_text("digital assistent")
    await say(debtor, "hva skylder jeg?")
    await expect(debtor.locator("#log .message-bot").last).to_contain_text("saksnummer")
    await say(debtor, "100001")
    await expect(debtor.locator("#log .message-bot").last).to_contain_text("fødselsdato")
    await say(debtor, "14.03.1985")
    balance = await balance_of(stack_settings, "100001")
    await expect(debtor.locator("#log")).to_contain_text(f"Du skylder nå {balance}")
    await say(debtor, "jeg vil snakke med et menneske")
    await expect(debtor.locator("#status")).to_contain_text("Samtalen er sendt til en saksbehandler")
    conversation_id = await debtor.evaluate("sessionStorage.getItem('debtbot.session')")

    # The handoff appears in the open queue page by itself (server-sent events), no reload.
    row = console.locator("#queue-rows tr", has_text="100001").first
    await expect(row).to_be_visible(timeout=15_000)
    await screenshot(console, "console-queue.png")
    await row.get_by_role("link").click()
    await console.get_by_role("button", name="Ta samtalen").click()
    await expect(console.locator("h1 .status")).to_contain_text("Tatt av")
    await expect(console.locator(".transcript")).to_contain_text("hva skylder jeg?")
    await expect(console.locator(".transcript")).to_contain_text("Skyldner [fødselsdato fjernet]")  # not kept
    await expect(console.locator("aside.case")).to_contain_text("Nordlys Strøm AS")
    await expect(console.locator("aside.case")).to_contain_text("2450.00")

    await console.get_by_label("Svar til skyldner").fill(REPLY)
    await console.get_by_role("button", name="Send", exact=True).click()
    caseworker_bubble = debtor.locator("#log .message-caseworker").last
    await expect(caseworker_bubble).to_contain_text(REPLY)
    await expect(caseworker_bubble).to_contain_text("Saksbehandler Demo")
    await expect(debtor.locator("#status")).to_contain_text("Du snakker nå med en saksbehandler")

    assistant_messages = await debtor.locator("#log .message-bot:not(.message-caseworker)").count()
    await say(debtor, DEBTOR_ANSWER)
    await expect(console.locator("#messages")).to_contain_text(DEBTOR_ANSWER, timeout=10_000)
    await screenshot(debtor, "web-chat-with-caseworker.png")
    await screenshot(console, "console-conversation.png")
    # The assistant said nothing to it: no bot event follows the debtor's message in the tracker.
    events = await tracker_events(stack_settings, conversation_id)
    answered = [e for e in events if e["event"] == "user" and e.get("text") == DEBTOR_ANSWER]
    assert answered, "the debtor's message is in the tracker"
    after = events[events.index(answered[-1]) + 1 :]
    assert [e for e in after if e["event"] == "bot"] == []
    assert await debtor.locator("#log .message-bot:not(.message-caseworker)").count() == assistant_messages

    await console.get_by_role("button", name="Tilbake til assistenten").click()
    await expect(debtor.locator("#log .message-bot").last).to_contain_text("gitt samtalen tilbake til meg")
    await expect(debtor.locator("#status")).to_have_text("")
    await say(debtor, "hva skylder jeg nå?")
    answer_after_return = debtor.locator(
        "#log .message-bot:has-text('gitt samtalen tilbake') ~ .message-bot", has_text=f"Du skylder nå {balance}"
    )
    await expect(answer_after_return).to_have_count(1)
