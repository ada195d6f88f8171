"""The web chat page in a real headless Chromium (Debian's package, driven by Playwright):
Kari Nordmann is verified and told her balance, with a page reload in the middle; the page passes
an axe-core accessibility check; a screenshot is saved. And a burst of messages from one
conversation, through python-socketio's client, is answered message by message."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from pathlib import Path

import aiohttp
import pytest
import socketio
from engineio.payload import Payload
from playwright.async_api import async_playwright, expect

from actions.formatting import money
from bot.config import REPO_ROOT

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(scope="session")]

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The machine's network is closed: nothing in the browser may try to reach the internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser_page(tmp_path):
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (scripts/setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 390, "height": 844},  # a phone
            bypass_csp=True,  # lets the test inject axe-core; the page itself allows only 'self'
        )
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()


async def say(page, text: str) -> None:
    await page.get_by_label("Skriv meldingen din").fill(text)
    await page.keyboard.press("Enter")


async def test_kari_holds_a_verified_conversation_across_a_reload(
    browser_page, running_stack, stack_settings, tmp_path
):
    page = browser_page
    bot = page.locator("#log .message-bot")
    await page.goto(f"http://{stack_settings.host}:{stack_settings.backoffice_port}/")
    await expect(page.locator("html")).to_have_attribute("lang", "nb")
    await expect(bot.first).to_contain_text("digital assistent")  # before anything is typed
    await expect(page.get_by_role("link", name="personvernerklæring")).to_have_attribute(
        "href", stack_settings.privacy_notice_url
    )
    session_id = await page.evaluate("sessionStorage.getItem('debtbot.session')")
    assert session_id.startswith("web-") and len(session_id) == 36

    await say(page, "hva skylder jeg?")
    await expect(bot.last).to_contain_text("saksnummeret")
    await say(page, "100001")
    await expect(bot.last).to_contain_text("fødselsdatoen")

    await page.reload()
    await expect(page.locator("#log .message-user")).to_have_count(2)  # the conversation is back
    await expect(bot.first).to_contain_text("digital assistent")
    await expect(bot.last).to_contain_text("fødselsdatoen")
    assert await page.evaluate("sessionStorage.getItem('debtbot.session')") == session_id

    await say(page, "14.03.1985")
    import aiohttp

    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {stack_settings.case_api_key}"}
        async with http.get(f"{stack_settings.case_api_url}/cases/100001", headers=headers) as response:
            case = await response.json()
    await expect(page.locator("#log")).to_contain_text(f"Du skylder nå {money(case['balance'], 'nb')}")

    screenshot = tmp_path / "web-chat-kari.png"
    await page.screenshot(path=str(screenshot), full_page=True)
    keep = REPO_ROOT / "var" / "screenshots"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot, keep / screenshot.name)
    assert screenshot.stat().st_size > 10_000

    await page.add_script_tag(path=str(AXE))
    results = await page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})"
    )
    serious = [(v["id"], v["impact"]) for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
    assert results["passes"]  # the check ran


async def test_the_page_switches_to_english(browser_page, running_stack, stack_settings):
    page = browser_page
    await page.goto(f"http://{stack_settings.host}:{stack_settings.backoffice_port}/")
    await expect(page.locator("#log .message-bot").first).to_contain_text("digital assistent")
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Questions about your case?")
    await expect(page.locator("#log .message-bot").last).to_contain_text("English")


async def test_the_page_shows_when_a_caseworker_has_the_conversation(browser_page, running_stack, stack_settings):
    page = browser_page
    await page.goto(f"http://{stack_settings.host}:{stack_settings.backoffice_port}/")
    await expect(page.locator("#log .message-bot").first).to_contain_text("digital assistent")
    await expect(page.locator("#status")).to_have_text("")
    await say(page, "jeg vil snakke med et menneske")
    # Not verified: asked how a caseworker can reach them first (a phone number, an e-mail or "nei").
    await expect(page.locator("#log .message-bot").last).to_contain_text("Hvordan kan vi nå deg?")
    await say(page, "nei")
    await expect(page.locator("#status")).to_contain_text("Samtalen er sendt til en saksbehandler")
    await page.reload()  # the state is part of the conversation, not of the page
    await expect(page.locator("#status")).to_contain_text("Samtalen er sendt til en saksbehandler")


async def test_payment_instructions_read_as_sent_after_a_reload(browser_page, running_stack, stack_settings):
    # The account number and the KID are eleven digits each; the history after a reload comes
    # from the tracker store, which removes identity numbers and nothing that only looks like one.
    page = browser_page
    bot = page.locator("#log .message-bot")
    await page.goto(f"http://{stack_settings.host}:{stack_settings.backoffice_port}/")
    await expect(bot.first).to_contain_text("digital assistent")
    await say(page, "hvordan betaler jeg?")
    await expect(bot.last).to_contain_text("saksnummeret")
    await say(page, "100001")
    await expect(bot.last).to_contain_text("fødselsdatoen")
    await say(page, "14.03.1985")

    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {stack_settings.case_api_key}"}
        async with http.get(f"{stack_settings.case_api_url}/cases/100001", headers=headers) as response:
            kid = (await response.json())["kid"]
    instructions = f"Betal til kontonummer {stack_settings.agency_account_number} og bruk KID {kid}."
    await expect(page.locator("#log")).to_contain_text(instructions)

    await page.reload()
    await expect(page.locator("#log")).to_contain_text(instructions)
    await expect(page.locator("#log")).not_to_contain_text("fødselsnummer fjernet")


async def in_viewport(page, selector: str) -> bool:
    """Whether the element is wholly inside the browser window."""
    return await page.locator(selector).evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight + 0.5; }"
    )


async def exchange(page, text: str) -> None:
    """Say `text` and wait until the assistant has answered it (its typing indicator is off)."""
    before = await page.locator("#log .message").count()
    await say(page, text)
    await page.wait_for_function(f"document.querySelectorAll('#log .message').length >= {before + 2}")
    await expect(page.locator("#typing")).to_be_hidden()


@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 375, "height": 667})],
)
async def test_the_conversation_scrolls_inside_the_chat_area_with_header_and_banner_in_view(
    browser_page, running_stack, stack_settings, device, viewport
):
    page = browser_page
    await page.set_viewport_size(viewport)
    await page.goto(f"http://{stack_settings.host}:{stack_settings.backoffice_port}/")
    await expect(page.locator("#log .message-bot").first).to_contain_text("digital assistent")
    for text in ("hva skylder jeg?", "100001", "14.03.1985", "hvorfor er det renter?", "hva er gebyrene?"):
        await exchange(page, text)
    await exchange(page, "jeg vil snakke med et menneske")
    for _ in range(2):  # the assistant may first ask whether to put the debtor through
        if await page.locator("#status").inner_text():
            break
        await exchange(page, "ja")
    await expect(page.locator("#status")).to_contain_text("saksbehandler")
    assert await page.locator("#log .message").count() >= 12

    # The page itself does not scroll; the chat area does, and shows the newest message.
    assert await page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")
    area = page.locator("#conversation")
    assert await area.evaluate("e => e.scrollHeight > e.clientHeight + 10")
    for selector in (".site-header", "#status", "#message", "#log .message:last-child"):
        assert await in_viewport(page, selector), f"{selector} is out of view on the {device}"
    assert await page.locator("#log .message:last-child").evaluate(
        "e => { const a = e.closest('.conversation').getBoundingClientRect(), r = e.getBoundingClientRect();"
        " return r.bottom <= a.bottom + 1 && r.bottom > a.top; }"
    )
    # Scrolled back to the start, the first message shows and the header and banner stay put.
    await area.evaluate("e => { e.scrollTop = 0; }")
    assert not await in_viewport(page, "#log .message:last-child")
    assert await in_viewport(page, "#log .message:first-child")
    assert await in_viewport(page, ".site-header") and await in_viewport(page, "#status")
    # A keyboard user reaches the chat area (a named, focusable region) and scrolls it.
    await area.focus()
    await page.keyboard.press("End")
    await expect(area).to_be_focused()
    await page.wait_for_function("document.getElementById('conversation').scrollTop > 0")  # may scroll smoothly

    # Kept under var/ (a test never writes into the repository); the README's copies in
    # docs/screenshots are refreshed from here by hand.
    shots = REPO_ROOT / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    await page.evaluate("document.activeElement.blur()")
    await area.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    await page.screenshot(path=str(shots / f"web-chat-{device}.png"))
    assert (shots / f"web-chat-{device}.png").stat().st_size > 10_000

    await page.add_script_tag(path=str(AXE))
    results = await page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})"
    )
    serious = [(v["id"], v["impact"]) for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
    assert results["passes"]


BUSY = "Du skriver raskere enn jeg rekker å svare."


async def test_a_burst_of_messages_gets_a_turn_or_the_busy_answer_for_every_message(
    running_stack, stack_settings, monkeypatch
):
    """30 messages at once from one page (long-polling sends them as one payload): each is either
    a turn of the dialogue or answered at once as busy; none is lost."""
    burst = 30
    # python-engineio's client, like its server, reads at most 16 packets of one long-poll answer
    # (a browser's client has no such limit), and the busy answers come back together.
    monkeypatch.setattr(Payload, "max_decode_packets", 1000)
    client = socketio.AsyncClient(reconnection=False)
    said: list[str] = []
    typing: list[bool] = []
    arrived = asyncio.Event()

    @client.on("bot_uttered")
    async def bot_uttered(data):
        said.append(data["text"])
        arrived.set()

    @client.on("bot_typing")
    async def bot_typing(data):
        typing.append(data["typing"])
        arrived.set()

    async def until(condition):
        async def waiting():
            while not condition():
                arrived.clear()
                await arrived.wait()

        try:
            await asyncio.wait_for(waiting(), 120)
        except asyncio.TimeoutError:
            raise AssertionError(f"still waiting; said {said}, typing {typing}") from None

    conversation_id = "web-" + secrets.token_hex(16)
    base_url = f"http://{stack_settings.host}:{stack_settings.rasa_port}"
    await client.connect(base_url, socketio_path="/socket.io", transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": conversation_id})
        await until(lambda: any("digital assistent" in text for text in said))
        for number in range(burst):
            await client.emit("user_uttered", {"message": f"hei, dette er melding {number}"})
        # The busy answers come at once; the typing indicator goes off when the last turn is done.
        await until(lambda: any(text.startswith(BUSY) for text in said) and typing[-1:] == [False])
    finally:
        await client.eio.disconnect(abort=True)  # not waiting for the long-poll in flight

    busy = [text for text in said if text.startswith(BUSY)]
    async with aiohttp.ClientSession() as http:
        url = f"{base_url}/conversations/{conversation_id}/tracker"
        async with http.get(url, params={"token": stack_settings.rasa_api_token}) as response:
            events = (await response.json())["events"]
    turns = [event["text"] for event in events if event["event"] == "user"]
    assert len(turns) + len(busy) == burst
    assert turns == [f"hei, dette er melding {number}" for number in range(len(turns))]  # in order
    assert 1 <= len(turns) <= 6 and busy  # at most five waited behind the one being answered
