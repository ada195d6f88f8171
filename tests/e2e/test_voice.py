"""Voice end to end: Twilio's signed webhooks -> our voice channel -> Rasa -> actions -> TwiML,
asserted with an XML parser. Caller ID is never a verification factor."""

from __future__ import annotations

import time

import pytest

from actions.formatting import money
from tests.e2e.twilio_stack import ACCOUNT_SID, FROM_NUMBER, TRANSFER_TO, parse_twiml, start_twilio_stack

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(scope="module")]


@pytest.fixture(scope="module")
async def twilio(tmp_path_factory):
    async for running in start_twilio_stack(tmp_path_factory.mktemp("voice-stack")):
        yield running


def call_fields(call_sid: str, **extra: str) -> dict[str, str]:
    """The form Twilio posts to a voice webhook."""
    return {
        "Called": FROM_NUMBER,
        "ToState": "",
        "CallerCountry": "NO",
        "Direction": "inbound",
        "CallerState": "",
        "ToZip": "",
        "CallSid": call_sid,
        "To": FROM_NUMBER,
        "CallerZip": "",
        "ToCountry": "NO",
        "CallToken": "",
        "CalledZip": "",
        "ApiVersion": "2010-04-01",
        "CalledCity": "",
        "CallStatus": "in-progress",
        "From": "+4791234567",
        "AccountSid": ACCOUNT_SID,
        "CalledCountry": "NO",
        "CallerCity": "",
        "Caller": "+4791234567",
        "FromCountry": "NO",
        "ToCity": "",
        "FromCity": "",
        "CalledState": "",
        "FromZip": "",
        "FromState": "",
        **extra,
    }


def new_call_sid() -> str:
    import secrets

    return "CA" + secrets.token_hex(16)


def spoken(root) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


async def turn(twilio, path: str, call_sid: str, **extra: str):
    started = time.perf_counter()
    status, body = await twilio.post_signed(path, call_fields(call_sid, **extra))
    elapsed = time.perf_counter() - started
    assert status == 200
    assert elapsed < 15  # Twilio's webhook timeout
    return parse_twiml(body)


async def test_a_call_is_greeted_in_norwegian_with_the_notice_and_a_gather(twilio):
    root = await turn(twilio, "/webhooks/twilio_voice/webhook", new_call_sid())
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "speech dtmf"
    assert gather.get("language") == "nb-NO"
    assert gather.get("action") == "/webhooks/twilio_voice/gather"
    assert "saksnummer" in gather.get("hints")
    assert gather.get("speechModel") == twilio.settings.voice_speech_model
    assert all(say.get("voice") == "Polly.Ida-Neural" for say in gather.iter("Say"))  # the default
    assert "digital assistent" in spoken(gather)
    assert root.find("Redirect").text == "/webhooks/twilio_voice/silence?count=1"


async def test_forged_or_missing_signatures_are_refused_and_reach_nothing(twilio):
    call_sid = new_call_sid()
    for path in ("/webhooks/twilio_voice/webhook", "/webhooks/twilio_voice/gather", "/webhooks/twilio_voice/status"):
        fields = call_fields(call_sid, SpeechResult="hva skylder jeg")
        assert (await twilio.post_signed(path, fields, signature="Zm9yZ2Vk"))[0] == 403
        assert (await twilio.post_signed(path, fields, signature=None))[0] == 403
    events = await twilio.tracker_events(f"voice-{call_sid}")
    # (Reading the tracker through Rasa's API starts a session, so the notice may be there.)
    assert [event for event in events if event["event"] == "user"] == []


async def test_speech_and_keypad_both_reach_the_dialogue_and_verify_kari(twilio):
    call_sid = new_call_sid()
    await turn(twilio, "/webhooks/twilio_voice/webhook", call_sid)
    asked = await turn(
        twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="Hva skylder jeg?", Confidence="0.9"
    )
    assert "tast saksnummeret" in spoken(asked)  # keypad wording on the phone
    asked = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, Digits="100001", FinishedOnKey="#")
    assert "tast den med åtte sifre" in spoken(asked)
    answer = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, Digits="14031985", FinishedOnKey="#")
    status, case = await twilio.case_api("GET", "/cases/100001")
    assert status == 200
    assert money(case["balance"], "nb") in spoken(answer)
    events = await twilio.tracker_events(f"voice-{call_sid}")
    user_texts = [event["text"] for event in events if event["event"] == "user"]
    # The birth date served verification and is not kept (bot/tracker_store.py).
    assert user_texts[-3:] == ["Hva skylder jeg?", "100001", "[fødselsdato fjernet]"]
    # Caller ID is not passed to the dialogue: no message carries the number.
    assert all("sender_phone" not in (event.get("metadata") or {}) for event in events if event["event"] == "user")


async def test_kari_is_verified_by_speech_alone_with_each_value_read_back_first(twilio):
    """What the recogniser writes for a caller who says everything: spoken digits and a spoken
    date, each read back and confirmed before the dialogue uses it."""
    call_sid = new_call_sid()
    greeting = await turn(twilio, "/webhooks/twilio_voice/webhook", call_sid)
    assert "tast" in spoken(greeting) and "skriv" not in spoken(greeting)  # a caller never writes
    asked = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="Hva skylder jeg?")
    assert "saksnummeret" in spoken(asked)
    assert asked.find("Gather").get("hints").startswith("saksnummer,null,en,to,tre")  # digits expected

    read_back = await turn(
        twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="en null null null null en", Confidence="0.8"
    )
    assert "Jeg hørte 1 0 0 0 0 1. Stemmer det?" in spoken(read_back)
    assert read_back.find("Gather").get("hints").startswith("ja,nei")
    asked = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="Ja.")
    assert "fødselsdatoen" in spoken(asked)
    assert "mars" in asked.find("Gather").get("hints").split(",")  # a date expected

    read_back = await turn(
        twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="fjortende mars nitten åttifem"
    )
    assert "Jeg hørte 14. mars 1985. Stemmer det?" in spoken(read_back)
    answer = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="ja det stemmer")
    status, case = await twilio.case_api("GET", "/cases/100001")
    assert status == 200
    assert money(case["balance"], "nb") in spoken(answer)

    events = await twilio.tracker_events(f"voice-{call_sid}")
    user_texts = [event["text"] for event in events if event["event"] == "user"]
    # Only the confirmed, normalised values reached the dialogue; the birth date is not kept.
    assert user_texts[-3:] == ["Hva skylder jeg?", "100001", "[fødselsdato fjernet]"]


async def test_a_misheard_case_number_is_asked_for_again_and_never_reaches_the_dialogue(twilio):
    call_sid = new_call_sid()
    await turn(twilio, "/webhooks/twilio_voice/webhook", call_sid)
    await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="Hva skylder jeg?")
    read_back = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="1 0 0 0 0 7")
    assert "Jeg hørte 1 0 0 0 0 7." in spoken(read_back)
    again = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="nei")
    assert "saksnummeret" in spoken(again)
    # Keyed digits need no read-back: they go straight on.
    asked = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, Digits="100001", FinishedOnKey="#")
    assert "tast den med åtte sifre" in spoken(asked)
    events = await twilio.tracker_events(f"voice-{call_sid}")
    user_texts = [event["text"] for event in events if event["event"] == "user"]
    assert user_texts[-2:] == ["Hva skylder jeg?", "100001"]


async def test_an_english_caller_hears_the_read_back_in_english_and_confirms_with_a_key(twilio):
    call_sid = new_call_sid()
    await turn(twilio, "/webhooks/twilio_voice/webhook", call_sid)
    await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="Can we speak English, please?")
    asked = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="How much do I owe?")
    assert "case number" in spoken(asked)
    read_back = await turn(
        twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="one zero zero zero zero one"
    )
    assert "I heard 1 0 0 0 0 1. Is that right?" in spoken(read_back)
    asked = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, Digits="1")
    assert "date of birth" in spoken(asked)
    read_back = await turn(
        twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="March fourteenth, nineteen eighty-five."
    )
    assert "I heard March 14, 1985. Is that right?" in spoken(read_back)
    answer = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="yes")
    status, case = await twilio.case_api("GET", "/cases/100001")
    assert money(case["balance"], "en") in spoken(answer)


async def test_silence_is_reprompted_twice_then_a_caseworker_is_offered_and_the_call_is_transferred(twilio):
    call_sid = new_call_sid()
    await turn(twilio, "/webhooks/twilio_voice/webhook", call_sid)
    first = await turn(twilio, "/webhooks/twilio_voice/silence?count=1", call_sid)
    assert "hørte ikke noe" in spoken(first)
    assert first.find("Redirect").text == "/webhooks/twilio_voice/silence?count=2"
    second = await turn(twilio, "/webhooks/twilio_voice/silence?count=2", call_sid)
    assert "hørte ikke noe" in spoken(second)
    offer = await turn(twilio, "/webhooks/twilio_voice/silence?count=3", call_sid)
    assert "saksbehandler" in spoken(offer) and "Tast 1 for" in spoken(offer)
    assert offer.find("Gather") is not None

    transfer = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, Digits="1")
    dial = transfer.find("Dial")
    assert dial is not None and dial.text == TRANSFER_TO
    # The handoff, with what was said, is in the queue when Twilio gets the <Dial> (a screen pop).
    status, handoffs = await twilio.case_api("GET", "/handoffs")
    mine = [h for h in handoffs["handoffs"] if h["conversation_id"] == f"voice-{call_sid}"]
    assert len(mine) == 1 and mine[0]["channel"] == "voice" and mine[0]["transcript"]
    assert any("saksbehandler" in line["text"] for line in mine[0]["transcript"])
    # The caseworker who answers records the outcome as for any handoff; the call gets no replies.
    caseworker = {"Authorization": f"Bearer {twilio.settings.case_api_key}", "X-Actor": "caseworker:demo"}
    base = f"{twilio.settings.case_api_url}/handoffs/{mine[0]['id']}"
    async with twilio.http.post(f"{base}/take", headers=caseworker) as answer:
        assert answer.status == 200
    async with twilio.http.post(f"{base}/messages", headers=caseworker, json={"text": "hei"}) as answer:
        assert answer.status == 409 and (await answer.json())["error"]["code"] == "phone_handoff"
    outcome = {"outcome": "plan_agreed", "note": "Avtalt nedbetaling på telefonen."}
    async with twilio.http.post(f"{base}/resolve", headers=caseworker, json=outcome) as answer:
        assert answer.status == 200 and (await answer.json())["status"] == "resolved"


async def test_the_end_of_the_call_closes_the_conversation(twilio):
    call_sid = new_call_sid()
    await turn(twilio, "/webhooks/twilio_voice/webhook", call_sid)
    before = await twilio.tracker_events(f"voice-{call_sid}")
    assert "restart" not in [event["event"] for event in before]
    status, _ = await twilio.post_signed("/webhooks/twilio_voice/status", call_fields(call_sid, CallStatus="completed"))
    assert status == 204
    events = await twilio.tracker_events(f"voice-{call_sid}")
    assert [event["event"] for event in events][-2:] == ["restart", "action"]


async def test_an_english_caller_is_listened_to_and_answered_in_english(twilio):
    call_sid = new_call_sid()
    await turn(twilio, "/webhooks/twilio_voice/webhook", call_sid)
    answer = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="Can we speak English, please?")
    gather = answer.find("Gather")
    assert gather.get("language") == "en-US"
    assert all(say.get("voice") == twilio.settings.voice_name_en for say in gather.iter("Say"))
    assert "English" in spoken(answer)


async def test_speech_over_the_length_limit_is_answered_and_never_reaches_the_dialogue(twilio):
    call_sid = new_call_sid()
    await turn(twilio, "/webhooks/twilio_voice/webhook", call_sid)
    answer = await turn(twilio, "/webhooks/twilio_voice/gather", call_sid, SpeechResult="hva skylder jeg " * 200)
    assert "for lang" in spoken(answer) and answer.find("Gather") is not None
    events = await twilio.tracker_events(f"voice-{call_sid}")
    assert not any("skylder" in (event.get("text") or "") for event in events if event["event"] == "user")
