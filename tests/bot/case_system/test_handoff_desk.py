"""A caseworker's work on handoffs through the API (issue 18): who may call, taking (one winner),
writing to the debtor on web chat and SMS, the debtor's messages, returning to the assistant,
resolving, reassigning; the dialogue server is a stand-in on 127.0.0.1 that records every call.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.live_events import LiveEvent
from bot.case_system.store.models import AuditEvent, Handoff, HandoffMessageRecord, OutboundMessage, SmsOptOut
from bot.channels.conversation_ids import sms_conversation_id
from tests.bot.case_system.conftest import AUTH, CONVERSATION_KEY, TODAY_UTC, acting_for, add_caseworker
from tests.fakes.rasa_http_api import RETURNED_TEXT

API = "/api/v1"
WEB_CID = "web-" + "a" * 32
PHONE = "+4791234567"
SMS_CID = sms_conversation_id(CONVERSATION_KEY, PHONE)
VOICE_CID = "voice-CA" + "b" * 32


def handoff_body(conversation_id: str = WEB_CID, channel: str = "web", **extra) -> dict:
    return {
        "conversation_id": conversation_id,
        "channel": channel,
        "reason": "requested",
        "case_number": "100001",
        "summary": "Vil snakke med en person.",
        "transcript": [{"sender": "user", "text": "Kan jeg få snakke med et menneske?", "at": "2026-11-25T09:00:00Z"}],
        **extra,
    }


async def new_handoff(client, conversation_id: str = WEB_CID, channel: str = "web") -> int:
    response = await client.post(f"{API}/handoffs", json=handoff_body(conversation_id, channel), headers=AUTH)
    assert response.status == 201, await response.text()
    return (await response.json())["id"]


async def take(client, handoff_id: int, username: str = "anne"):
    return await client.post(f"{API}/handoffs/{handoff_id}/take", headers=acting_for(username))


async def inbound_sms(client, phone: str = PHONE, sid_digit: str = "1", body: str = "Hei") -> None:
    """What the SMS channel records for each inbound message (with its conversation id)."""
    headers = {**AUTH, "X-Actor": "assistant:sms", "X-Conversation-Id": sms_conversation_id(CONVERSATION_KEY, phone)}
    message = {"message_sid": "SM" + sid_digit * 32, "from_phone": phone, "body": body}
    response = await client.post(f"{API}/sms/inbound", json=message, headers=headers)
    assert response.status == 200, await response.text()


async def rows(client, model, *where) -> list:
    async with client.app[CASE_SYSTEM].sessions() as session:
        return list((await session.execute(sa.select(model).where(*where).order_by(model.id))).scalars())


@pytest.fixture
async def anne(desk_client) -> int:
    return await add_caseworker(desk_client, "anne", name="Anne Saksbehandler")


# --- who may call --------------------------------------------------------------------------------

CASEWORKER_ROUTES = [
    ("GET", "/handoffs/{id}", None),
    ("POST", "/handoffs/{id}/take", None),
    ("POST", "/handoffs/{id}/reassign", {}),
    ("POST", "/handoffs/{id}/messages", {"text": "Hei"}),
    ("POST", "/handoffs/{id}/return", None),
    ("POST", "/handoffs/{id}/resolve", {"outcome": "other", "note": ""}),
]


async def test_every_caseworker_route_refuses_anyone_not_acting_for_an_active_caseworker(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    await add_caseworker(desk_client, "gone", active=False)
    refusals = [
        ({}, 401, "unauthorized"),  # no key, no session
        ({"Authorization": "Bearer wrong", "X-Actor": "caseworker:anne"}, 401, "unauthorized"),
        (AUTH, 403, "actor_required"),  # the key alone does not say for whom
        ({**AUTH, "X-Actor": "action-server"}, 403, "actor_required"),
        (acting_for("nobody"), 403, "unknown_caseworker"),
        (acting_for("gone"), 403, "unknown_caseworker"),  # a disabled account
    ]
    for method, template, body in CASEWORKER_ROUTES:
        for headers, status, code in refusals:
            response = await desk_client.request(
                method, API + template.format(id=handoff_id), json=body, headers=headers
            )
            assert (response.status, (await response.json())["error"]["code"]) == (status, code), (
                method,
                template,
                headers,
            )
    assert rasa.calls == []  # nothing reached the conversation
    assert (await rows(desk_client, Handoff))[0].status.value == "open"


async def test_debtor_messages_take_the_key_alone(desk_client, anne):
    await new_handoff(desk_client)
    url = f"{API}/conversations/{WEB_CID}/debtor-messages"
    body = {"text": "Hallo?", "at": "2026-11-25T09:31:00Z"}
    assert (await desk_client.post(url, json=body)).status == 401
    assert (await desk_client.post(url, json=body, headers=AUTH)).status == 201


# --- taking --------------------------------------------------------------------------------------


async def test_of_twenty_caseworkers_taking_at_once_exactly_one_wins(desk_client, rasa):
    handoff_id = await new_handoff(desk_client)
    names = [f"cw{number:02d}" for number in range(20)]
    for name in names:
        await add_caseworker(desk_client, name)
    responses = await asyncio.gather(*(take(desk_client, handoff_id, name) for name in names))
    statuses = sorted(response.status for response in responses)
    assert statuses == [200] + [409] * 19
    winner = next(names[index] for index, response in enumerate(responses) if response.status == 200)
    losers = [await response.json() for response in responses if response.status == 409]
    assert {loser["error"]["code"] for loser in losers} == {"handoff_not_open"}
    detail = await (await desk_client.get(f"{API}/handoffs/{handoff_id}", headers=acting_for(winner))).json()
    assert (detail["status"], detail["taken_by"]) == ("taken", winner)
    assert rasa.calls_for(WEB_CID) == [("POST", "events", {"event": "pause"})]  # paused once, by the winner


async def test_taking_pauses_the_assistant_and_a_second_take_is_refused(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    response = await take(desk_client, handoff_id)
    assert response.status == 200
    taken = await response.json()
    assert (taken["status"], taken["taken_by"], taken["taken_at"]) == ("taken", "anne", "2026-11-25T09:30:00+00:00")
    assert taken["messages"] == [] and taken["outcome"] is None
    assert rasa.calls[0].query == {"token": rasa.token}
    again = await take(desk_client, handoff_id)
    assert again.status == 409 and (await again.json())["error"]["status"] == "taken"


async def test_a_take_the_dialogue_server_cannot_confirm_is_undone(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    rasa.fail_with = 500
    response = await take(desk_client, handoff_id)
    assert response.status == 502 and (await response.json())["error"]["code"] == "dialogue_server_error"
    await rasa.close()  # and when it does not answer at all
    response = await take(desk_client, handoff_id)
    assert response.status == 503 and (await response.json())["error"]["code"] == "dialogue_server_unavailable"
    (handoff,) = await rows(desk_client, Handoff)
    assert (handoff.status.value, handoff.taken_by_id) == ("open", None)  # still in the queue for someone


# --- writing to the debtor -----------------------------------------------------------------------


async def test_a_web_reply_goes_through_the_dialogue_server_to_the_open_page(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    await take(desk_client, handoff_id)
    response = await desk_client.post(
        f"{API}/handoffs/{handoff_id}/messages", json={"text": "Hei, jeg heter Anne."}, headers=acting_for("anne")
    )
    assert response.status == 201
    assert await response.json() == {
        "from": "caseworker",
        "text": "Hei, jeg heter Anne.",
        "at": "2026-11-25T09:30:00+00:00",
    }
    sent = rasa.calls[-1]
    assert sent.path == f"/conversations/{WEB_CID}/tracker/events"
    assert sent.query == {"token": rasa.token, "output_channel": "latest", "execute_side_effects": "true"}
    assert sent.body == {
        "event": "bot",
        "text": "Hei, jeg heter Anne.",
        "metadata": {"from": "caseworker", "caseworker_name": "Anne"},
    }
    detail = await (await desk_client.get(f"{API}/handoffs/{handoff_id}", headers=acting_for("anne"))).json()
    assert detail["messages"] == [await response.json()]


async def test_a_caseworker_cannot_reply_to_a_handoff_another_has_taken_or_no_one_has(desk_client, anne, rasa):
    await add_caseworker(desk_client, "bjorn")
    handoff_id = await new_handoff(desk_client)
    url = f"{API}/handoffs/{handoff_id}/messages"
    not_taken = await desk_client.post(url, json={"text": "Hei"}, headers=acting_for("anne"))
    assert not_taken.status == 409 and (await not_taken.json())["error"]["code"] == "handoff_not_taken"
    await take(desk_client, handoff_id, "bjorn")
    other = await desk_client.post(url, json={"text": "Hei"}, headers=acting_for("anne"))
    assert other.status == 409 and (await other.json())["error"]["code"] == "handoff_taken_by_another"
    assert [call.body["event"] for call in rasa.calls] == ["pause"]
    assert await rows(desk_client, HandoffMessageRecord) == []


async def test_a_phone_handoff_takes_no_messages(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client, VOICE_CID, "voice")
    assert (await take(desk_client, handoff_id)).status == 200
    response = await desk_client.post(
        f"{API}/handoffs/{handoff_id}/messages", json={"text": "Hei"}, headers=acting_for("anne")
    )
    assert response.status == 409 and (await response.json())["error"]["code"] == "phone_handoff"
    assert rasa.calls == []  # a call is transferred: nothing to pause either


async def test_an_sms_reply_is_queued_gsm7_safe_for_the_conversations_number(desk_client, anne, rasa):
    await inbound_sms(desk_client)
    handoff_id = await new_handoff(desk_client, SMS_CID, "sms")
    await take(desk_client, handoff_id)
    response = await desk_client.post(
        f"{API}/handoffs/{handoff_id}/messages",
        json={"text": "Beløpet er 2 450 kr – «ok»? 🙂"},
        headers=acting_for("anne"),
    )
    assert response.status == 201
    (queued,) = await rows(desk_client, OutboundMessage)
    assert (queued.to_phone, queued.body, queued.status.value, queued.purpose) == (
        PHONE,
        'Beløpet er 2 450 kr - "ok"?',
        "pending",
        "caseworker_reply",
    )
    transcript = rasa.calls[-1]
    assert "output_channel" not in transcript.query  # kept in the conversation, not sent twice
    assert transcript.body["text"] == 'Beløpet er 2 450 kr - "ok"?'


async def test_an_opted_out_number_gets_no_sms_reply(desk_client, anne, rasa):
    await inbound_sms(desk_client)
    async with desk_client.app[CASE_SYSTEM].sessions() as session:
        session.add(SmsOptOut(phone=PHONE, opted_out_at=TODAY_UTC))
        await session.commit()
    handoff_id = await new_handoff(desk_client, SMS_CID, "sms")
    await take(desk_client, handoff_id)
    response = await desk_client.post(
        f"{API}/handoffs/{handoff_id}/messages", json={"text": "Hei"}, headers=acting_for("anne")
    )
    assert response.status == 201
    (kept,) = await rows(desk_client, OutboundMessage)
    assert kept.status.value == "suppressed"


async def test_the_number_is_remembered_only_for_the_conversation_that_hashes_to_it(desk_client, anne, rasa):
    # An SMS recorded under another conversation's id must not redirect that conversation's replies.
    headers = {**AUTH, "X-Conversation-Id": SMS_CID}
    message = {"message_sid": "SM" + "9" * 32, "from_phone": "+4798765432", "body": "Hei"}
    assert (await desk_client.post(f"{API}/sms/inbound", json=message, headers=headers)).status == 200
    handoff_id = await new_handoff(desk_client, SMS_CID, "sms")
    await take(desk_client, handoff_id)
    response = await desk_client.post(
        f"{API}/handoffs/{handoff_id}/messages", json={"text": "Hei"}, headers=acting_for("anne")
    )
    assert response.status == 409 and (await response.json())["error"]["code"] == "sms_number_unknown"
    assert await rows(desk_client, OutboundMessage) == []


async def test_a_reply_is_one_sms_at_most(desk_client, anne):
    handoff_id = await new_handoff(desk_client)
    await take(desk_client, handoff_id)
    url = f"{API}/handoffs/{handoff_id}/messages"
    too_long = await desk_client.post(url, json={"text": "x" * 1601}, headers=acting_for("anne"))
    assert too_long.status == 422 and (await too_long.json())["error"]["field"] == "text"
    blank = await desk_client.post(url, json={"text": "   "}, headers=acting_for("anne"))
    assert blank.status == 422


# --- the debtor's messages -----------------------------------------------------------------------


async def test_a_debtors_message_is_kept_redacted_and_announced_live(desk_client, anne):
    handoff_id = await new_handoff(desk_client)
    await take(desk_client, handoff_id)
    events = desk_client.app[CASE_SYSTEM].desk.events
    async with events.subscribe() as subscription:
        response = await desk_client.post(
            f"{API}/conversations/{WEB_CID}/debtor-messages",
            json={"text": "Mitt fødselsnummer er 14838540024", "at": "2026-11-25T09:31:00+01:00"},
            headers=AUTH,
        )
        assert response.status == 201
        recorded = await response.json()
        event = await subscription.next(timeout=5)
    assert recorded == {
        "handoff_id": handoff_id,
        "message": {
            "from": "debtor",
            "text": "Mitt fødselsnummer er [fødselsnummer fjernet]",
            "at": "2026-11-25T08:31:00+00:00",
        },
    }
    (stored,) = await rows(desk_client, HandoffMessageRecord)
    assert event == LiveEvent("handoff.message", handoff_id, "taken", stored.id)
    detail = await (await desk_client.get(f"{API}/handoffs/{handoff_id}", headers=acting_for("anne"))).json()
    assert detail["messages"] == [recorded["message"]]


async def test_a_debtor_message_without_an_active_handoff_is_not_found(desk_client):
    response = await desk_client.post(
        f"{API}/conversations/{WEB_CID}/debtor-messages",
        json={"text": "Hei", "at": "2026-11-25T09:31:00Z"},
        headers=AUTH,
    )
    assert response.status == 404 and (await response.json())["error"]["code"] == "handoff_not_found"


async def test_messages_are_listed_in_order_from_all_three(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    await take(desk_client, handoff_id)
    url = f"{API}/conversations/{WEB_CID}/debtor-messages"
    await desk_client.post(url, json={"text": "Er du der?", "at": "2026-11-25T09:31:00Z"}, headers=AUTH)
    await desk_client.post(f"{API}/handoffs/{handoff_id}/messages", json={"text": "Ja!"}, headers=acting_for("anne"))
    await desk_client.post(url, json={"text": "Takk", "at": "2026-11-25T09:32:00Z"}, headers=AUTH)
    detail = await (await desk_client.get(f"{API}/handoffs/{handoff_id}", headers=acting_for("anne"))).json()
    assert [(message["from"], message["text"]) for message in detail["messages"]] == [
        ("debtor", "Er du der?"),
        ("caseworker", "Ja!"),
        ("debtor", "Takk"),
    ]


# --- back to the assistant, resolving, reassigning -----------------------------------------------


async def test_returning_resumes_the_assistant_which_says_so_on_the_page(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    await take(desk_client, handoff_id)
    response = await desk_client.post(f"{API}/handoffs/{handoff_id}/return", headers=acting_for("anne"))
    assert response.status == 200
    returned = await response.json()
    assert (returned["status"], returned["returned_at"]) == ("returned", "2026-11-25T09:30:00+00:00")
    assert [(call.path.rsplit("/", 1)[-1], call.body, call.query.get("output_channel")) for call in rasa.calls[1:]] == [
        ("events", {"event": "resume"}, None),
        ("execute", {"name": "utter_caseworker_returned"}, "latest"),
        ("events", {"event": "action", "name": "action_listen"}, None),  # then it listens again
    ]
    # No longer active: the conversation may be handed over again.
    assert (await desk_client.post(f"{API}/handoffs", json=handoff_body(), headers=AUTH)).status == 201


async def test_returning_an_sms_conversation_texts_the_assistants_words(desk_client, anne, rasa):
    await inbound_sms(desk_client)
    handoff_id = await new_handoff(desk_client, SMS_CID, "sms")
    await take(desk_client, handoff_id)
    assert (await desk_client.post(f"{API}/handoffs/{handoff_id}/return", headers=acting_for("anne"))).status == 200
    assert "output_channel" not in rasa.calls[-1].query
    (queued,) = await rows(desk_client, OutboundMessage)
    assert (queued.to_phone, queued.body, queued.purpose) == (PHONE, RETURNED_TEXT, "caseworker_returned")
    detail = await (await desk_client.get(f"{API}/handoffs/{handoff_id}", headers=acting_for("anne"))).json()
    assert detail["messages"][-1]["from"] == "assistant"


async def test_a_return_the_dialogue_server_cannot_make_changes_nothing(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    await take(desk_client, handoff_id)
    rasa.fail_with = 503
    response = await desk_client.post(f"{API}/handoffs/{handoff_id}/return", headers=acting_for("anne"))
    assert response.status == 502
    assert (await rows(desk_client, Handoff))[0].status.value == "taken"


async def test_resolving_records_the_outcome_and_resumes_the_assistant(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    await take(desk_client, handoff_id)
    body = {"outcome": "plan_agreed", "note": "Avtalt plan, fnr 14838540024 oppgitt."}
    response = await desk_client.post(f"{API}/handoffs/{handoff_id}/resolve", json=body, headers=acting_for("anne"))
    assert response.status == 200
    resolved = await response.json()
    assert (resolved["status"], resolved["outcome"], resolved["note"]) == (
        "resolved",
        "plan_agreed",
        "Avtalt plan, fnr [fødselsnummer fjernet] oppgitt.",
    )
    assert rasa.calls[-1].body == {"event": "resume"}
    again = await desk_client.post(f"{API}/handoffs/{handoff_id}/resolve", json=body, headers=acting_for("anne"))
    assert again.status == 409
    bad = await desk_client.post(
        f"{API}/handoffs/{handoff_id}/resolve", json={"outcome": "won"}, headers=acting_for("anne")
    )
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "outcome"


async def test_only_a_supervisor_reassigns_and_may_then_act_on_it(desk_client, anne, rasa):
    await add_caseworker(desk_client, "sara", role="supervisor")
    await add_caseworker(desk_client, "bjorn")
    handoff_id = await new_handoff(desk_client)
    await take(desk_client, handoff_id, "anne")
    url = f"{API}/handoffs/{handoff_id}/reassign"
    refused = await desk_client.post(url, headers=acting_for("bjorn"))
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "supervisors_only"
    to_herself = await desk_client.post(url, headers=acting_for("sara"))
    assert (await to_herself.json())["taken_by"] == "sara"
    to_bjorn = await desk_client.post(url, json={"to": "bjorn"}, headers=acting_for("sara"))
    assert (await to_bjorn.json())["taken_by"] == "bjorn"
    unknown = await desk_client.post(url, json={"to": "nobody"}, headers=acting_for("sara"))
    assert unknown.status == 422 and (await unknown.json())["error"]["field"] == "to"
    # Anne no longer has it; Bjørn does, and a supervisor may hand it back.
    mine = await desk_client.post(
        f"{API}/handoffs/{handoff_id}/messages", json={"text": "Hei"}, headers=acting_for("anne")
    )
    assert mine.status == 409
    back = await desk_client.post(f"{API}/handoffs/{handoff_id}/return", headers=acting_for("sara"))
    assert back.status == 200


# --- audit, opening hours, webhook ---------------------------------------------------------------


async def test_every_view_and_change_is_audited_with_the_caseworkers_identity(desk_client, anne, rasa):
    handoff_id = await new_handoff(desk_client)
    await desk_client.get(f"{API}/handoffs/{handoff_id}", headers=acting_for("anne"))
    await take(desk_client, handoff_id)
    await desk_client.post(f"{API}/handoffs/{handoff_id}/messages", json={"text": "Hei"}, headers=acting_for("anne"))
    await desk_client.post(
        f"{API}/handoffs/{handoff_id}/resolve", json={"outcome": "other"}, headers=acting_for("anne")
    )
    events = [event for event in await rows(desk_client, AuditEvent) if event.actor.startswith("caseworker:")]
    assert [(event.actor, event.action, event.subject_id) for event in events] == [
        ("caseworker:anne", "handoff.read", str(handoff_id)),
        ("caseworker:anne", "handoff.take", str(handoff_id)),
        ("caseworker:anne", "handoff.message", str(handoff_id)),
        ("caseworker:anne", "handoff.resolve", str(handoff_id)),
    ]
    assert {event.conversation_id for event in events} == {WEB_CID}
    assert all("Hei" not in (event.detail or "") for event in events)


async def test_outside_opening_hours_the_answer_is_expected_at_the_next_opening(client_factory, desk_env, clock):
    clock.now = clock.now.replace(day=28, hour=12)  # Saturday 28 November 2026
    async with client_factory(load_demo=True, **desk_env) as client:
        created = await (await client.post(f"{API}/handoffs", json=handoff_body(), headers=AUTH)).json()
    assert created["expected_answer_by"] == "2026-11-30T07:00:00+00:00"  # Monday 08:00 in Oslo


async def test_the_webhook_is_signed_and_never_holds_up_the_request(client_factory, desk_env):
    received: list[tuple[bytes, str]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers["X-Debtbot-Signature"]))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    async with TestServer(receiver, host="127.0.0.1") as server:
        env = {
            **desk_env,
            "HANDOFF_WEBHOOK_URL": f"http://127.0.0.1:{server.port}/hook",
            "HANDOFF_WEBHOOK_SECRET": "s3cret",
        }
        async with client_factory(load_demo=True, **env) as client:
            await add_caseworker(client, "anne")
            handoff_id = await new_handoff(client)
            await take(client, handoff_id)
            await client.post(
                f"{API}/handoffs/{handoff_id}/resolve", json={"outcome": "paid"}, headers=acting_for("anne")
            )
            await client.app[CASE_SYSTEM].desk.webhook.drain()
    bodies = [json.loads(body) for body, _ in received]
    assert [(body["event"], body["handoff"]["status"], body["handoff"]["taken_by"]) for body in bodies] == [
        ("handoff.created", "open", None),
        ("handoff.taken", "taken", "anne"),
        ("handoff.resolved", "resolved", "anne"),
    ]
    for body, signature in received:
        assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert "summary" not in bodies[0]["handoff"] and "transcript" not in bodies[0]["handoff"]


async def test_a_webhook_that_does_not_answer_is_logged_not_waited_for(client_factory, desk_env, caplog):
    env = {**desk_env, "HANDOFF_WEBHOOK_URL": "http://127.0.0.1:9/hook", "HANDOFF_WEBHOOK_SECRET": "s"}
    async with client_factory(load_demo=True, **env) as client:
        assert (await client.post(f"{API}/handoffs", json=handoff_body(), headers=AUTH)).status == 201
        await client.app[CASE_SYSTEM].desk.webhook.drain()
    assert any("handoff webhook handoff.created failed" in record.getMessage() for record in caplog.records)
