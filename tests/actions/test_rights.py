"""Rights requests from the dialogue, on web and SMS, verified and not, against a real case system;
and the privacy-notice answers checked against the notice's facts."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestServer
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.case_system_client import Caller, CaseSystemClient
from actions.rights import ActionLogRightsRequest, ActionSetPrivacyNoticeUrl
from bot.case_system.http.app import create_app
from bot.config import REPO_ROOT, Settings
from bot.provisioning import prepare_case_system
from tests.actions.conftest import API_KEY, make_tracker, responses, slot_events

# 31 January in Oslo: the statutory month ends on 28 February 2027.
RECEIVED = datetime(2027, 1, 31, 11, 0, tzinfo=timezone.utc)
DUE = {"nb": "28. februar 2027", "en": "28 February 2027"}
CHANNELS = {"web": "socketio", "sms": "twilio_sms"}
KARI_PHONE = "+4791234567"
RIGHTS = ["access", "rectification", "erasure", "restriction", "objection", "portability", "human_review"]


class FixedClock:
    def __call__(self) -> datetime:
        return RECEIVED


@pytest.fixture
async def case_system_server(settings: Settings):
    await prepare_case_system(settings)
    server = TestServer(create_app(settings, clock=FixedClock()), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def stored_request(server: TestServer, reference: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        async with http.get(str(server.make_url(f"/api/v1/rights-requests/{reference}"))) as response:
            assert response.status == 200
            return await response.json()


async def verify(client: CaseSystemClient, conversation_id: str, channel: str) -> None:
    result = await client.verify(
        case_number="100001",
        birth_date="1985-03-14",
        phone=KARI_PHONE if channel == "sms" else None,
        caller=Caller(conversation_id=conversation_id, channel=channel, purpose="identity_verification"),
    )
    assert result.verified


def rights_tracker(kind: str, channel: str, *, verified: bool, language: str = "nb", text: str = "", **slots):
    sender = f"{channel}-conversation-{kind}"
    slots = {"rights_type": kind, "language": language, **slots}
    if verified:
        slots.update(verified=True, verified_case_number="100001")
    request_event = {
        "event": "user",
        "text": text,
        "timestamp": 1_790_000_000,
        "input_channel": CHANNELS[channel],
        "parse_data": {"intent": {"name": f"rights_{kind}"}, "entities": [], "text": text},
    }
    return make_tracker(
        slots,
        sender_id=sender,
        channel=CHANNELS[channel],
        text=text,
        events=[request_event],
        metadata={"sender_phone": KARI_PHONE} if channel == "sms" else None,
    )


async def run(tracker) -> tuple[CollectingDispatcher, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await ActionLogRightsRequest().run(dispatcher, tracker, {})
    return dispatcher, events


@pytest.mark.parametrize("channel", ["web", "sms"])
@pytest.mark.parametrize("kind", RIGHTS)
async def test_a_verified_request_is_logged_with_its_case_and_answered_for_its_right(
    client, case_system_server, kind, channel
):
    tracker = rights_tracker(kind, channel, verified=True, text="jeg ber om dette")
    await verify(client, tracker.sender_id, channel)
    dispatcher, events = await run(tracker)

    expected = "utter_rights_objection" if kind == "objection" else f"utter_rights_{kind}"
    assert responses(dispatcher) == [expected]  # no "identity not confirmed"
    message = dispatcher.messages[0]
    assert message["due_date"] == DUE["nb"]
    stored = await stored_request(case_system_server, message["reference"])
    assert stored["type"] == kind
    assert stored["channel"] == channel
    assert stored["verified"] is True and stored["verification_method"] == "birth_date"
    assert stored["case_number"] == "100001"
    assert stored["due_date"] == "2027-02-28"
    assert stored["conversation_id"] == tracker.sender_id
    assert stored["request_text"] == "jeg ber om dette"
    assert slot_events(events) == {"rights_type": None, "rectification_wrong": None, "rectification_right": None}


@pytest.mark.parametrize("channel", ["web", "sms"])
@pytest.mark.parametrize("kind", RIGHTS)
async def test_an_unverified_request_is_logged_and_the_debtor_is_told_how_identity_is_confirmed(
    client, case_system_server, kind, channel
):
    tracker = rights_tracker(kind, channel, verified=False, language="en", text="please do this")
    dispatcher, events = await run(tracker)

    expected = "utter_rights_objection_unverified" if kind == "objection" else f"utter_rights_{kind}"
    # Then how to reach them, so that the caseworker who confirms the identity can (issue 19).
    assert responses(dispatcher) == [expected, "utter_rights_identity_unconfirmed"]
    assert {"event": "active_loop", "name": "handoff_contact_form", "timestamp": None} in events  # it asks
    assert slot_events(events)["handoff_reason"] == "rights_request"
    assert dispatcher.messages[0]["due_date"] == DUE["en"]
    stored = await stored_request(case_system_server, dispatcher.messages[0]["reference"])
    assert (stored["type"], stored["channel"], stored["verified"]) == (kind, channel, False)
    assert stored["case_number"] is None and stored["verification_method"] is None
    assert stored["has_export"] is False  # nothing about anyone is gathered before confirmation


async def test_a_verified_slot_the_case_system_did_not_see_is_logged_as_unconfirmed(client, case_system_server):
    # The dialogue says "verified" but this conversation never verified with the case system.
    tracker = rights_tracker("erasure", "web", verified=True)
    dispatcher, _ = await run(tracker)
    # Verified in the dialogue: the case holds how to reach them, so no contact is asked for.
    assert responses(dispatcher) == ["utter_rights_erasure", "utter_rights_identity_unconfirmed"]
    stored = await stored_request(case_system_server, dispatcher.messages[0]["reference"])
    assert stored["verified"] is False


async def test_rectification_sends_what_is_wrong_and_what_is_right(client, case_system_server):
    tracker = rights_tracker(
        "rectification",
        "web",
        verified=False,
        text="opplysningene om meg er feil",
        rectification_wrong="adressen Storgata 1",
        rectification_right="Lillegata 2, fnr 14838540024",
    )
    dispatcher, events = await run(tracker)
    stored = await stored_request(case_system_server, dispatcher.messages[0]["reference"])
    assert stored["request_text"] == "opplysningene om meg er feil"
    assert stored["rectification_wrong"] == "adressen Storgata 1"
    assert "14838540024" not in stored["rectification_right"] and stored["rectification_right"].startswith(
        "Lillegata 2"
    )
    assert slot_events(events)["rectification_wrong"] is None


async def test_a_verified_objection_stops_marketing_at_once(client, case_system_server, settings):
    tracker = rights_tracker("objection", "sms", verified=True)
    await verify(client, tracker.sender_id, "sms")
    dispatcher, _ = await run(tracker)
    assert responses(dispatcher) == ["utter_rights_objection"]

    import sqlalchemy as sa

    engine = sa.create_engine(settings.database_url, future=True)
    try:
        with engine.connect() as connection:
            flag = connection.execute(
                sa.text("SELECT marketing_objection FROM debtors WHERE national_id = '14838540024'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert bool(flag) is True


async def test_human_review_hands_the_conversation_to_a_caseworker(client, case_system_server):
    tracker = rights_tracker("human_review", "web", verified=False, text="jeg vil at et menneske vurderer vedtaket")
    dispatcher, _ = await run(tracker)
    stored = await stored_request(case_system_server, dispatcher.messages[0]["reference"])
    assert stored["handoff_id"] is not None and stored["status"] == "in_progress"


async def test_the_same_message_is_logged_once_when_the_action_runs_twice(client, case_system_server):
    tracker = rights_tracker("erasure", "web", verified=False)
    first, _ = await run(tracker)
    second, _ = await run(tracker)
    assert first.messages[0]["reference"] == second.messages[0]["reference"]


async def test_when_the_case_system_is_down_the_debtor_is_told_to_call(settings):
    services.use(settings=settings, case_system=CaseSystemClient("http://127.0.0.1:9/api/v1", API_KEY, 1))
    try:
        dispatcher, _ = await run(rights_tracker("access", "web", verified=False))
    finally:
        services.use()
    assert responses(dispatcher) == ["utter_rights_request_failed"]
    assert dispatcher.messages[0]["agency_phone"] == settings.agency_phone


async def test_the_privacy_answers_get_the_configured_notice_address(settings):
    services.use(settings=settings)
    try:
        events = await ActionSetPrivacyNoticeUrl().run(CollectingDispatcher(), make_tracker(), {})
    finally:
        services.use()
    assert slot_events(events) == {"privacy_notice_url": settings.privacy_notice_url}


# --- the privacy notice's answers ----------------------------------------------------------------

NOTICE = REPO_ROOT / "docs" / "privacy-notice-nb.txt"  # the agency's notice, as published
URL = "https://www.alektum.no/personvern"
GSM_7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
SUB_INTENTS = [
    "purpose",
    "legal_basis",
    "data_categories",
    "data_sources",
    "sharing",
    "retention",
    "automated_decisions",
    "sensitive_data",
    "security",
    "dpo_contact",
    "email_safety",
    "abroad",
]

# What each answer must say, as patterns; the facts are the notice's (checked against it below).
FACTS = {
    "purpose": {"nb": [r"kreve inn", r"frivillig betaling"], "en": [r"collect overdue claims", r"voluntary payment"]},
    "legal_basis": {
        # In plain words (issue 20): the claim, the law and a legitimate interest, not article letters.
        "nb": [r"kreve inn kravet", r"loven krever", r"berettigede interesse", r"GDPR art\. 6\)"],
        "en": [r"collect the claim", r"the law requires", r"legitimate interest", r"GDPR Art\. 6\)"],
    },
    "data_categories": {
        "nb": [r"fødselsnummer", r"adresse", r"ligningsdata"],
        "en": [r"national ID number", r"address", r"tax data"],
    },
    "data_sources": {
        "nb": [r"folkeregisteret via Evry", r"Experian"],
        "en": [r"population register via Evry", r"Experian"],
    },
    "sharing": {"nb": [r"oppdragsgiver", r"myndigheter"], "en": [r"our client", r"authorities"]},
    "retention": {"nb": [r"senest 3 år", r"10 år", r"5 år"], "en": [r"at the latest 3 years", r"10 years", r"5 years"]},
    "automated_decisions": {"nb": [r"automatisk", r"et menneske"], "en": [r"automatically", r"a person"]},
    "sensitive_data": {"nb": [r"helse", r"samtykker", r"9 og 10"], "en": [r"health", r"consent", r"9 and 10"]},
    "security": {
        "nb": [r"brannmur", r"virusvern", r"passord", r"logging"],
        "en": [r"firewalls", r"virus", r"password", r"logging"],
    },
    "dpo_contact": {
        "nb": [r"Alektum AS - personvernombud, Postboks 2370, 3103 TØNSBERG", r"33 74 45 00"],
        "en": [r"Alektum AS - personvernombud, Postboks 2370, 3103 TØNSBERG", r"33 74 45 00"],
    },
    "email_safety": {"nb": [r"postkort", r"Ikke send"], "en": [r"postcard", r"Do not send"]},
    "abroad": {"nb": [r"annet land", r"partner"], "en": [r"abroad", r"partner"]},
}
# The same facts in the notice's own words.
NOTICE_FACTS = [
    "artikkel 6 b,c,e og f",
    "Artikkel 9a, 9f og 10",
    "folkeregistret",
    "Evry",
    "Experian",
    "senest 3 år etter sakens avslutningsdato",
    "inntil 5 år",
    "10 år",
    "Postboks 2370, 3103 TØNSBERG",
    "33 74 45 00",
    "postkort",
    "brannmurer, virusbeskyttelse",
    "annet land",
    "automatisk",
]


def privacy_answers() -> dict[tuple[str, str], str]:
    domain = yaml.safe_load((REPO_ROOT / "domain" / "privacy.yml").read_text())
    answers = {}
    for name, variations in domain["responses"].items():
        for variation in variations:
            language = "en" if variation.get("condition") else "nb"
            answers[(name.split("/", 1)[1], language)] = variation["text"].replace("{privacy_notice_url}", URL)
    return answers


def test_every_sub_intent_has_an_answer_in_both_languages_and_training_examples():
    answers = privacy_answers()
    assert {sub for sub, _ in answers} == set(SUB_INTENTS)
    assert len(answers) == 2 * len(SUB_INTENTS)
    for language in ("nb", "en"):
        nlu = yaml.safe_load((REPO_ROOT / "data" / "nlu" / f"privacy_{language}.yml").read_text())["nlu"]
        assert {block["intent"] for block in nlu} == {f"privacy/{sub}" for sub in SUB_INTENTS}


def test_the_facts_checked_are_the_notices():
    text = NOTICE.read_text()
    for fact in NOTICE_FACTS:
        assert fact in text


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("sub", SUB_INTENTS)
def test_each_answer_states_the_notices_facts_and_fits_one_sms(sub, language):
    answer = privacy_answers()[(sub, language)]
    for fact in FACTS[sub][language]:
        assert re.search(fact, answer), f"{sub}/{language} lacks {fact!r}"
    assert len(answer) <= 160, f"{sub}/{language} is {len(answer)} characters"
    assert set(answer) <= GSM_7, f"{sub}/{language} has characters outside GSM-7: {set(answer) - GSM_7}"
    assert URL in answer  # every answer points to the full notice


def _response(name: str, language: str) -> str:
    domain = yaml.safe_load((REPO_ROOT / "domain" / "rights.yml").read_text())
    variations = domain["responses"][name]
    return next(v["text"] for v in variations if (language == "en") == bool(v.get("condition")))


def test_the_erasure_answer_says_the_accounting_period_as_the_notice_does():
    # The notice: data needed for invoicing and accounting is kept "i henhold til regnskapsloven –
    # som i dag betyr 10 år": the agency keeps it under the accounting rules, no law "requires" a chat.
    assert "regnskapsloven" in NOTICE.read_text()
    nb, en = _response("utter_rights_erasure", "nb"), _response("utter_rights_erasure", "en")
    assert "Mens saken er aktiv, må vi" in nb
    assert "lagrer vi i 10 år etter regnskapsloven" in nb and "Loven krever" not in nb
    assert "10 years under the Accounting Act" in en and "The law also requires" not in en


@pytest.mark.parametrize("language", ["nb", "en"])
def test_sensitive_data_and_security_answers_are_whole_sentences(language):
    answers = privacy_answers()
    if language == "nb":
        assert answers[("sensitive_data", "nb")].startswith("Sensitive opplysninger (f.eks. helse) bruker vi bare")
        assert "Bare ansatte som trenger det, har tilgang." in answers[("security", "nb")]
    else:
        assert answers[("sensitive_data", "en")].startswith("We use sensitive data")
    assert "artikkel 6 b" not in answers[("legal_basis", language)].lower()
    assert "article 6 b" not in answers[("legal_basis", language)].lower()
