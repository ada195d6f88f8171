"""What an operator sees: each process's /metrics after a scripted conversation (counted as deltas,
since other tests share the stack), the token /metrics asks for, and liveness and readiness."""

from __future__ import annotations

import secrets

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.rest_chat import say

pytestmark = pytest.mark.stack

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def urls(settings) -> dict[str, str]:
    return {
        "dialogue": f"http://{settings.host}:{settings.rasa_port}",
        "actions": f"http://{settings.host}:{settings.action_server_port}",
        "backoffice": f"http://{settings.host}:{settings.backoffice_port}",
    }


async def scrape(http: aiohttp.ClientSession, base: str, token: str) -> Samples:
    async with http.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}) as answer:
        assert answer.status == 200
        text = await answer.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels`."""
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


async def nlu_intent(http: aiohttp.ClientSession, settings, text: str) -> str:
    url = f"{urls(settings)['dialogue']}/model/parse?token={settings.rasa_api_token}"
    async with http.post(url, json={"text": text}) as answer:
        return (await answer.json())["intent"]["name"]


async def test_metrics_of_each_process_count_a_scripted_conversation(running_stack, stack_settings) -> None:
    settings, token = stack_settings, stack_settings.metrics_token
    gibberish = "zqxv blorft wemp"
    async with aiohttp.ClientSession() as http:
        gibberish_is_fallback = await nlu_intent(http, settings, gibberish) == "nlu_fallback"
        before = {name: await scrape(http, base, token) for name, base in urls(settings).items()}

        verified, refused = f"metrics-{secrets.token_hex(4)}", f"metrics-{secrets.token_hex(4)}"
        for text in ("hva skylder jeg?", "100001", "14.03.1985"):
            await say(http, settings, verified, text)
        # Unverified, the debtor is asked how to reach them before the handoff is made ("nei": no contact).
        for text in ("hva skylder jeg?", "100002", "01.01.1990", gibberish, "jeg vil snakke med et menneske", "nei"):
            await say(http, settings, refused, text)

        after = {name: await scrape(http, base, token) for name, base in urls(settings).items()}

    dialogue, actions, backoffice = ((before[name], after[name]) for name in ("dialogue", "actions", "backoffice"))
    assert delta(*dialogue, "debtbot_turns_total", channel="rest") == 9
    assert delta(*dialogue, "debtbot_turn_seconds_count", channel="rest") == 9
    assert delta(*dialogue, "debtbot_conversations_total", channel="rest") == 2
    assert delta(*dialogue, "debtbot_nlu_fallbacks_total", channel="rest") == (1 if gibberish_is_fallback else 0)

    assert delta(*actions, "debtbot_actions_total", action="action_session_start", outcome="ok") == 2
    assert delta(*actions, "debtbot_actions_total", outcome="error") == 0
    assert delta(*actions, "debtbot_action_seconds_count") == delta(*actions, "debtbot_actions_total")

    assert delta(*backoffice, "debtbot_verifications_total", outcome="verified") == 1
    assert delta(*backoffice, "debtbot_verifications_total", outcome="refused") == 1
    assert delta(*backoffice, "debtbot_handoffs_total") == 1
    assert total(after["backoffice"], "debtbot_handoffs_waiting") >= 1
    for gauge in ("debtbot_sms_outbox_depth", "debtbot_rights_requests_open", "debtbot_rights_requests_overdue"):
        assert (gauge, ()) in after["backoffice"]


async def test_metrics_need_their_own_token(running_stack, stack_settings) -> None:
    async with aiohttp.ClientSession() as http:
        for name, base in urls(stack_settings).items():
            for headers in ({}, {"Authorization": f"Bearer {stack_settings.case_api_key}"}):
                async with http.get(f"{base}/metrics", headers=headers) as answer:
                    assert answer.status == 404, name


async def test_each_process_is_live_and_ready(running_stack, stack_settings) -> None:
    async with aiohttp.ClientSession() as http:
        for name, base in urls(stack_settings).items():
            async with http.get(f"{base}/health/live") as answer:
                assert answer.status == 200, name
            async with http.get(f"{base}/health/ready") as answer:
                body = await answer.json()
                assert answer.status == 200 and body["status"] == "ok", (name, body)
                assert set(body["checks"].values()) == {"ok"}
