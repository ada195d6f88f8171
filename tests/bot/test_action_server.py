"""The action server answers no one without its token, whatever the path looks like; only its
health check is open. (It acts with the case system's key: a forged tracker that says
`verified: true` would otherwise read any case.)"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig
from sanic import Sanic

from bot.action_domain import DIGEST_KEY, DOMAIN_UNKNOWN, DOMAIN_UNKNOWN_STATUS, DomainOnDemand, domain_digest
from bot.action_server import create_action_server
from bot.config import REPO_ROOT, load_settings
from tests.sanic_server import serving

TOKEN = "action-token-for-tests"
FORGED_CALL = {
    "next_action": "action_answer_topic",
    "sender_id": "rest-forged",
    "tracker": {
        "sender_id": "rest-forged",
        "slots": {"verified": True, "verified_case_number": "100001"},
        "latest_message": {"intent": {"name": "ask_creditor"}, "entities": [], "text": "hvem"},
        "events": [],
        "latest_input_channel": "rest",
        "active_loop": {},
        "latest_action_name": "action_listen",
    },
    "domain": {},
    "version": "3.6.2",
}


@pytest.fixture
async def action_server():
    settings = load_settings(env={"ACTION_SERVER_TOKEN": TOKEN, "CASE_API_KEY": "k"}, env_file=Path("/nonexistent"))
    Sanic.test_mode = True  # one app per test, all named rasa_sdk
    app = create_action_server(settings)
    app.config.TOUCHUP = False
    async with serving(app) as base_url, aiohttp.ClientSession() as http:
        yield base_url, http


@pytest.mark.parametrize(
    "path", ["/webhook", "/webhook/", "/webhook//", "//webhook", "//health", "/actions", "/actions/", "/no-such-path"]
)
async def test_every_path_but_the_health_check_needs_the_token(action_server, path) -> None:
    base_url, http = action_server
    for method in ("GET", "POST"):
        async with http.request(method, base_url + path, json=FORGED_CALL) as answer:
            assert answer.status == 401, (method, path)
            assert await answer.json() == {"error": "unauthorized"}
        async with http.request(method, base_url + path, params={"token": "wrong"}, json=FORGED_CALL) as answer:
            assert answer.status == 401, (method, path)


@pytest.mark.parametrize("token", ["wrong", "tøken", "", TOKEN + "x"])
async def test_a_wrong_token_is_refused_without_an_error(action_server, token) -> None:
    base_url, http = action_server
    async with http.post(base_url + "/webhook", params={"token": token}, json=FORGED_CALL) as answer:
        assert answer.status == 401


async def test_an_unknown_path_is_not_found_only_after_authentication(action_server) -> None:
    base_url, http = action_server
    async with http.get(base_url + "/no-such-path", params={"token": TOKEN}) as answer:
        assert answer.status == 404


async def test_the_health_check_is_open_however_spelled(action_server) -> None:
    base_url, http = action_server
    for path in ("/health", "/health/"):
        async with http.get(base_url + path) as answer:
            assert answer.status == 200, path
    async with http.post(base_url + "/health") as answer:
        assert answer.status == 401


async def test_with_the_token_the_webhook_runs_actions(action_server) -> None:
    base_url, http = action_server
    call = {**FORGED_CALL, "next_action": "no_such_action"}
    async with http.post(base_url + "/webhook", params={"token": TOKEN}, json=call) as answer:
        # rasa_sdk's own answer for an action it does not know: the request got past the check.
        assert answer.status == 404
        assert "no_such_action" in (await answer.json())["error"]


def rephrase_call(digest: str) -> dict:
    """action_ask_rephrase offers buttons labelled from the domain's responses."""
    tracker = {
        **FORGED_CALL["tracker"],
        "slots": {"language": "nb"},
        "latest_message": {
            "intent": {"name": "nlu_fallback"},
            "intent_ranking": [{"name": "ask_balance"}],
            "text": "?",
        },
    }
    return {
        "next_action": "action_ask_rephrase",
        "sender_id": "rest-x",
        "tracker": tracker,
        "version": "3.6.2",
        DIGEST_KEY: digest,
    }


async def test_the_domain_is_sent_once_and_then_named_by_its_digest(action_server) -> None:
    base_url, http = action_server
    domain = Domain.load(str(REPO_ROOT / "domain"))
    call = rephrase_call(domain_digest(domain))

    async with http.post(base_url + "/webhook", params={"token": TOKEN}, json=call) as answer:
        assert answer.status == DOMAIN_UNKNOWN_STATUS  # never sent: the dialogue server must send it
        assert await answer.json() == DOMAIN_UNKNOWN

    endpoint = DomainOnDemand(EndpointConfig(url=base_url + "/webhook", token=TOKEN), domain)
    answered = await endpoint.request(json=dict(call), method="post")
    assert answered["responses"][0]["buttons"], "the labels come from the domain"

    async with http.post(base_url + "/webhook", params={"token": TOKEN}, json=call) as answer:
        assert answer.status == 200  # kept under its digest
        assert (await answer.json())["responses"] == answered["responses"]

    other_model = rephrase_call("0" * 64)
    async with http.post(base_url + "/webhook", params={"token": TOKEN}, json=other_model) as answer:
        assert answer.status == DOMAIN_UNKNOWN_STATUS


async def test_a_domain_that_does_not_match_its_digest_is_not_kept(action_server) -> None:
    base_url, http = action_server
    call = {**rephrase_call("f" * 64), "domain": {"responses": {}}}
    async with http.post(base_url + "/webhook", params={"token": TOKEN}, json=call) as answer:
        assert answer.status == 200  # it runs with the domain it carries
    del call["domain"]
    async with http.post(base_url + "/webhook", params={"token": TOKEN}, json=call) as answer:
        assert answer.status == DOMAIN_UNKNOWN_STATUS
