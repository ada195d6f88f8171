"""The caseworker console (issue 18): login and lockout, who may see and do what, CSRF, the queue
(fast at 200 waiting handoffs), a conversation with its case, live updates over server-sent
events (in one process, and across processes through PostgreSQL's LISTEN/NOTIFY), replies and
quick actions, the rights-request queue; every view audited with the caseworker's identity."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from bot import console
from bot.case_system.http.app import create_app
from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.live_events import LiveEvent, PostgresEvents
from bot.case_system.store.models import AuditEvent, Caseworker, Handoff, RightsRequest
from tests.bot.case_system.conftest import AUTH, TODAY_UTC, add_caseworker, make_settings
from tests.bot.console.conftest import PASSWORD, csrf_of, log_in

API = "/api/v1"
WEB_CID = "web-" + "c" * 32


async def new_handoff(client, conversation_id: str = WEB_CID, **extra) -> int:
    body = {
        "conversation_id": conversation_id,
        "channel": "web",
        "reason": "requested",
        "case_number": "100001",
        "summary": "Ønsker en person.",
        **extra,
    }
    response = await client.post(f"{API}/handoffs", json=body, headers=AUTH)
    assert response.status in (200, 201), await response.text()
    return (await response.json())["id"]


async def audit_rows(client) -> list[AuditEvent]:
    async with client.app[CASE_SYSTEM].sessions() as session:
        return list((await session.execute(sa.select(AuditEvent).order_by(AuditEvent.id))).scalars())


# --- login, logout, lockout ----------------------------------------------------------------------


async def test_a_caseworker_logs_in_sees_the_queue_and_logs_out(browser):
    await add_caseworker(browser, "anne", password=PASSWORD)
    login_page = await browser.get("/console/login")
    assert login_page.status == 200 and 'autocomplete="current-password"' in await login_page.text()
    cookie = login_page.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    response = await log_in(browser, "anne")
    assert response.status == 303
    queue = await browser.get("/console/queue")
    assert queue.status == 200 and "Samtaler som venter" in await queue.text()
    token = await csrf_of(browser, "/console/queue")
    out = await browser.post("/console/logout", data={"csrf_token": token}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/console/login"
    after = await browser.get("/console/queue", allow_redirects=False)
    assert after.status == 303 and after.headers["Location"] == "/console/login"


async def test_the_session_cookie_is_secure_behind_https(console_factory):
    async with console_factory(PUBLIC_BASE_URL="https://debtbot.example") as client:
        response = await client.get("/console/login")
        assert "Secure" in response.headers["Set-Cookie"]


async def test_a_wrong_password_and_an_unknown_name_get_the_same_refusal(browser):
    await add_caseworker(browser, "anne", password=PASSWORD)
    wrong = await log_in(browser, "anne", "feil-passord-000")
    unknown = await log_in(browser, "nobody", "feil-passord-000")
    assert wrong.status == unknown.status == 401
    assert (
        "Feil brukernavn eller passord." in await wrong.text()
        and "Feil brukernavn eller passord." in await unknown.text()
    )
    assert (await browser.get("/console/queue", allow_redirects=False)).status == 303


async def test_a_disabled_account_cannot_log_in(browser):
    await add_caseworker(browser, "gone", password=PASSWORD, active=False)
    response = await log_in(browser, "gone")
    assert response.status == 401
    assert (await browser.get("/console/queue", allow_redirects=False)).status == 303


async def test_a_disabled_account_is_logged_out_at_its_next_request(anne):
    async with anne.app[CASE_SYSTEM].sessions() as session:
        await session.execute(sa.update(Caseworker).where(Caseworker.username == "anne").values(active=False))
        await session.commit()
    assert (await anne.get("/console/queue", allow_redirects=False)).status == 303


async def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(browser, clock):
    await add_caseworker(browser, "anne", password=PASSWORD)
    for _ in range(5):
        assert (await log_in(browser, "anne", "feil-passord-000")).status == 401
    locked = await log_in(browser, "anne")  # even the right password now
    assert locked.status == 401 and "låst" in await locked.text()
    clock.advance(minutes=14)
    assert (await log_in(browser, "anne")).status == 401
    clock.advance(minutes=2)
    assert (await log_in(browser, "anne")).status == 303
    outcomes = [event.outcome for event in await audit_rows(browser) if event.action == "caseworker.login"]
    assert outcomes == ["refused"] * 4 + ["locked", "locked", "locked", "ok"]


async def test_parallel_wrong_passwords_check_at_most_five(browser):
    await add_caseworker(browser, "anne", password=PASSWORD)
    tokens = [await csrf_of(browser) for _ in range(1)]
    form = {"username": "anne", "password": "feil-passord-000", "csrf_token": tokens[0]}
    responses = await asyncio.gather(*(browser.post("/console/login", data=form) for _ in range(12)))
    assert all(response.status == 401 for response in responses)
    async with browser.app[CASE_SYSTEM].sessions() as session:
        account = (await session.execute(sa.select(Caseworker))).scalar_one()
    assert account.failed_logins == 5 and account.locked_until is not None
    outcomes = [event.outcome for event in await audit_rows(browser) if event.action == "caseworker.login"]
    assert outcomes.count("refused") <= 4 and len(outcomes) == 12


async def test_a_login_form_without_its_csrf_token_is_refused(browser):
    await add_caseworker(browser, "anne", password=PASSWORD)
    response = await browser.post(
        "/console/login", data={"username": "anne", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    assert (await browser.get("/console/queue", allow_redirects=False)).status == 303


# --- who may see and do what ---------------------------------------------------------------------


async def test_no_console_page_or_action_is_open_without_a_login(browser):
    handoff_id = await new_handoff(browser)
    for path in (
        "/console/queue",
        "/console/queue/rows",
        f"/console/handoffs/{handoff_id}",
        "/console/rights",
        "/console/events",
    ):
        response = await browser.get(path, allow_redirects=False)
        assert (response.status, response.headers.get("Location")) == (303, "/console/login"), path
    for action in ("take", "messages", "return", "resolve", "reassign", "payment-details", "dispute"):
        response = await browser.post(
            f"/console/handoffs/{handoff_id}/{action}", data={"text": "x"}, allow_redirects=False
        )
        assert response.status == 401, action
    response = await browser.get(f"{API}/handoffs/{handoff_id}")
    assert response.status == 401


async def test_posts_without_the_sessions_csrf_token_are_refused(anne, rasa):
    handoff_id = await new_handoff(anne)
    form = await anne.post(f"/console/handoffs/{handoff_id}/take", data={}, allow_redirects=False)
    assert form.status == 403
    forged = await anne.post(
        f"/console/handoffs/{handoff_id}/take", data={"csrf_token": "forged"}, allow_redirects=False
    )
    assert forged.status == 403
    api = await anne.post(f"{API}/handoffs/{handoff_id}/take")
    assert api.status == 403 and (await api.json())["error"]["code"] == "csrf_failed"
    assert rasa.calls == []
    token = await csrf_of(anne, "/console/queue")
    taken = await anne.post(f"{API}/handoffs/{handoff_id}/take", headers={"X-CSRF-Token": token})
    assert taken.status == 200 and (await taken.json())["taken_by"] == "anne"
    detail = await anne.get(f"{API}/handoffs/{handoff_id}")  # a read needs no token
    assert detail.status == 200


async def test_a_caseworker_cannot_reply_in_a_conversation_another_has(anne, rasa):
    await add_caseworker(anne, "bjorn")
    handoff_id = await new_handoff(anne)
    await anne.post(f"{API}/handoffs/{handoff_id}/take", headers={**AUTH, "X-Actor": "caseworker:bjorn"})
    token = await csrf_of(anne, f"/console/handoffs/{handoff_id}")
    page = await (await anne.get(f"/console/handoffs/{handoff_id}")).text()
    assert 'id="reply-text"' not in page and "En annen saksbehandler har denne samtalen." in page
    reply = await anne.post(
        f"/console/handoffs/{handoff_id}/messages",
        data={"text": "Hei", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert reply.status == 409 and (await reply.json())["error"]["code"] == "handoff_taken_by_another"


# --- the queue -----------------------------------------------------------------------------------


async def test_the_queue_shows_two_hundred_waiting_handoffs_in_under_a_second(anne, clock):
    async with anne.app[CASE_SYSTEM].sessions() as session:
        for number in range(200):
            session.add(
                Handoff(
                    conversation_id=f"web-{number:032d}",
                    channel="web",
                    reason="requested",
                    priority="high" if number % 50 == 7 else "normal",
                    status="open",
                    case_number="100001",
                    summary="",
                    transcript=[],
                    created_at=TODAY_UTC - timedelta(minutes=200 - number),
                    updated_at=TODAY_UTC,
                )
            )
        await session.commit()
    started = time.perf_counter()
    response = await anne.get("/console/queue")
    page = await response.text()
    elapsed = time.perf_counter() - started
    assert response.status == 200 and page.count("<tr data-handoff=") == 200
    assert elapsed < 1.0, f"the queue took {elapsed:.2f} s"
    order = [int(part.split('"')[0]) for part in page.split('<tr data-handoff="')[1:]]
    assert order[:4] == [8, 58, 108, 158]  # high priority first, then the oldest (ids count from 1)
    assert "200 i køen" in page and "over fristen" in page


async def test_the_queue_updates_live_over_server_sent_events(anne):
    async with anne.get("/console/events") as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        handoff_id = await new_handoff(anne)
        event = await read_event(stream, "queue")
    assert event == {"type": "handoff.created", "handoff_id": handoff_id, "status": "open"}
    rows = await (await anne.get("/console/queue/rows")).text()
    assert f'data-handoff="{handoff_id}"' in rows


async def read_event(stream, name: str, timeout: float = 5.0) -> dict:
    """The data of the next event called `name` on a server-sent event stream."""

    async def next_event() -> dict:
        current = None
        while True:
            line = (await stream.content.readline()).decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                current = line[len("event: ") :]
            elif line.startswith("data: ") and current == name:
                return json.loads(line[len("data: ") :])

    return await asyncio.wait_for(next_event(), timeout)


# --- a conversation ------------------------------------------------------------------------------


async def test_the_conversation_page_shows_the_transcript_the_case_and_is_audited(anne, rasa):
    rasa.events[WEB_CID] = [
        {"event": "user", "text": "Mitt fødselsnummer er 14838540024", "timestamp": 1795000000},
        {"event": "bot", "text": "Takk, du er bekreftet.", "timestamp": 1795000001},
    ]
    handoff_id = await new_handoff(anne)
    page = await (await anne.get(f"/console/handoffs/{handoff_id}")).text()
    assert "[fødselsnummer fjernet]" in page and "14838540024" not in page
    assert "Takk, du er bekreftet." in page
    assert "Nordlys Strøm AS" in page and "Ønsker en person." in page
    assert (
        'role="log"' in page
        and 'aria-live="polite"' in page
        and '<label for="outcome">' not in page.split("Ta samtalen")[0]
    )
    actions = [(event.actor, event.action) for event in await audit_rows(anne) if event.actor == "caseworker:anne"]
    assert ("caseworker:anne", "handoff.read") in actions and ("caseworker:anne", "case.read") in actions


async def test_a_handoff_that_does_not_exist_is_not_found(anne):
    assert (await anne.get("/console/handoffs/424242")).status == 404
    assert (await anne.get("/console/handoffs/not-a-number")).status == 404


async def test_the_transcript_falls_back_to_the_handoffs_own_when_the_dialogue_server_is_down(anne, rasa):
    await rasa.close()
    transcript = [{"sender": "user", "text": "Jeg vil snakke med noen", "at": "2026-11-25T09:00:00Z"}]
    handoff_id = await new_handoff(anne, transcript=transcript)
    page = await (await anne.get(f"/console/handoffs/{handoff_id}")).text()
    assert "Dialogserveren svarer ikke" in page and "Jeg vil snakke med noen" in page


async def test_take_reply_and_a_debtors_answer_arriving_live(anne, rasa):
    handoff_id = await new_handoff(anne)
    token = await csrf_of(anne, f"/console/handoffs/{handoff_id}")
    taken = await anne.post(f"/console/handoffs/{handoff_id}/take", data={"csrf_token": token}, allow_redirects=False)
    assert taken.status == 303
    reply = await anne.post(
        f"/console/handoffs/{handoff_id}/messages",
        data={"text": "Hei, Anne her.", "csrf_token": token},
        allow_redirects=False,
    )
    assert reply.status == 303
    assert rasa.calls[-1].body["text"] == "Hei, Anne her." and rasa.calls[-1].query["output_channel"] == "latest"
    async with anne.get(f"/console/events?handoff={handoff_id}&after=0") as stream:
        first = await read_event(stream, "message")  # caught up: the reply sent before the stream opened
        assert (first["from"], first["text"]) == ("caseworker", "Hei, Anne her.")
        await anne.post(
            f"{API}/conversations/{WEB_CID}/debtor-messages",
            json={"text": "Takk!", "at": "2026-11-25T09:31:00Z"},
            headers=AUTH,
        )
        second = await read_event(stream, "message")
    assert (second["from"], second["text"]) == ("debtor", "Takk!")


async def test_quick_actions_send_payment_details_and_register_a_dispute(anne, rasa):
    handoff_id = await new_handoff(anne)
    token = await csrf_of(anne, f"/console/handoffs/{handoff_id}")
    await anne.post(f"/console/handoffs/{handoff_id}/take", data={"csrf_token": token})
    await anne.post(f"/console/handoffs/{handoff_id}/payment-details", data={"csrf_token": token})
    sent = [call for call in rasa.calls if call.method == "POST"][-1].body["text"]
    assert sent.startswith("Betalingsinformasjon for sak 100001") and "KID" in sent and "12345678903" in sent
    await anne.post(
        f"/console/handoffs/{handoff_id}/dispute", data={"csrf_token": token, "reason": "Aldri mottatt strøm."}
    )
    case = await (await anne.get(f"{API}/cases/100001", headers=AUTH)).json()
    assert case["disputed"] is True and case["collection_stopped"] is True


async def test_resolve_and_return_from_the_console(anne, rasa):
    handoff_id = await new_handoff(anne)
    token = await csrf_of(anne, f"/console/handoffs/{handoff_id}")
    await anne.post(f"/console/handoffs/{handoff_id}/take", data={"csrf_token": token})
    await anne.post(
        f"/console/handoffs/{handoff_id}/resolve", data={"csrf_token": token, "outcome": "paid", "note": "OK"}
    )
    detail = await (await anne.get(f"{API}/handoffs/{handoff_id}")).json()
    assert (detail["status"], detail["outcome"], detail["note"]) == ("resolved", "paid", "OK")


# --- rights requests -----------------------------------------------------------------------------


async def test_the_rights_queue_marks_overdue_requests_and_an_export_is_reviewed_and_sent(anne, clock):
    headers = {**AUTH, "X-Conversation-Id": "web-rights"}
    await anne.post(
        f"{API}/verifications",
        json={"case_number": "100001", "birth_date": "1985-03-14", "channel": "web", "conversation_id": "web-rights"},
        headers=headers,
    )
    created = await (
        await anne.post(
            f"{API}/rights-requests",
            json={"type": "access", "case_number": "100001", "channel": "web", "conversation_id": "web-rights"},
            headers=headers,
        )
    ).json()
    clock.advance(days=40)
    queue = await (await anne.get("/console/rights")).text()
    assert created["id"] in queue and "Forfalt" in queue
    page = await (await anne.get(f"/console/rights/{created['id']}")).text()
    assert "Innsyn i personopplysninger" in page  # the export's document, for review
    token = await csrf_of(anne, f"/console/rights/{created['id']}")
    await anne.post(f"/console/rights/{created['id']}/sent", data={"csrf_token": token})
    async with anne.app[CASE_SYSTEM].sessions() as session:
        item = (await session.execute(sa.select(RightsRequest))).scalar_one()
    assert item.status.value == "completed"
    actions = [event.action for event in await audit_rows(anne) if event.actor == "caseworker:anne"]
    assert {"rights_request.list", "rights_request.read", "data_export.read", "data_export.sent"} <= set(actions)


async def test_the_console_switches_to_english(anne):
    response = await anne.get("/console/language?to=en&next=/console/queue")
    assert response.status == 200 and "Conversations waiting" in await response.text()
    away = await anne.get("/console/language?to=en&next=https://evil.example/", allow_redirects=False)
    assert away.headers["Location"] == "/console/queue"


# --- several backoffice processes ----------------------------------------------------------------


@pytest.mark.postgres
async def test_live_updates_cross_processes_through_postgres_listen_notify(database_url, clock, desk_env):
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    settings = make_settings(database_url, **desk_env)
    first, second = create_app(settings, clock=clock), create_app(settings, clock=clock)
    console.add_routes(second, settings)
    async with TestClient(TestServer(first)) as one, TestClient(TestServer(second)) as other:
        events = other.app[CASE_SYSTEM].desk.events
        assert isinstance(events, PostgresEvents)
        await events.wait_listening()
        async with events.subscribe() as subscription:
            handoff_id = await new_handoff(one)  # created through the first process
            event = await subscription.next(timeout=10)
    assert event == LiveEvent("handoff.created", handoff_id, "open")
