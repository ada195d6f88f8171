"""The web chat's Socket.IO channel under generated payloads, through a real Socket.IO client: any
`user_uttered` payload (any JSON shape, any text, odd Unicode, over the length limit) leaves the
channel serving, only a text message within the limit ever reaches the dialogue, and the page's
next ordinary message is answered."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.channels.test_socketio import (  # noqa: F401  (fixtures)
    MAX_MESSAGE_CHARACTERS,
    chat,
    open_page,
    websocket_client_on_the_pinned_aiohttp,
)
from tests.fuzz.conftest import LONG

JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=50))
ANY_JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
MESSAGE_TEXT = st.one_of(
    st.text(max_size=60), st.text(min_size=MAX_MESSAGE_CHARACTERS - 2, max_size=MAX_MESSAGE_CHARACTERS + 40)
)
PAYLOADS = st.one_of(
    ANY_JSON,
    st.fixed_dictionaries(
        {"message": st.one_of(MESSAGE_TEXT, ANY_JSON)}, optional={"session_id": ANY_JSON, "metadata": ANY_JSON}
    ),
)


@settings(
    max_examples=400 if LONG else 25, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(payload=PAYLOADS)
async def test_any_payload_leaves_the_channel_answering(chat, payload) -> None:
    base_url, agent, dialogue = chat
    dialogue.release.set()
    page = await open_page(base_url, agent, "websocket")
    try:
        await page.client.emit("user_uttered", payload)
        await page.client.emit("user_uttered", {"message": "hei etterpå"})
        await page.until(lambda: "svar på hei etterpå" in page.said)
    finally:
        await page.close()
    assert all(isinstance(text, str) and len(text) <= MAX_MESSAGE_CHARACTERS for text in dialogue.received)
    assert dialogue.received[-1] == "hei etterpå"
