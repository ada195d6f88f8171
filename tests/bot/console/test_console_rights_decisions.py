"""The console's rights request page: extend with a reason (GDPR Art. 12(3)) or refuse with a
reason (Art. 12(4)), with the session's CSRF token; the caseworker sees what became of the notice."""

from __future__ import annotations

import sqlalchemy as sa

from bot.case_system.http.context import CASE_SYSTEM
from bot.case_system.store.models import OutboundMessage, RightsRequest
from tests.bot.case_system.conftest import AUTH
from tests.bot.console.conftest import csrf_of

API = "/api/v1"


async def web_request(client, type_: str = "erasure") -> str:
    body = {"type": type_, "channel": "web", "conversation_id": "web-unverified"}
    return (await (await client.post(f"{API}/rights-requests", json=body, headers=AUTH)).json())["id"]


async def stored(client) -> RightsRequest:
    async with client.app[CASE_SYSTEM].sessions() as session:
        return (await session.execute(sa.select(RightsRequest))).scalar_one()


async def test_a_caseworker_extends_a_request_and_sees_that_no_channel_reaches_the_requester(anne):
    reference = await web_request(anne)
    page = f"/console/rights/{reference}"
    forged = await anne.post(f"{page}/extend", data={"csrf_token": "wrong", "months": "2", "reason": "Mange saker."})
    assert forged.status == 403 and (await stored(anne)).extended_months is None
    token = await csrf_of(anne, page)
    response = await anne.post(f"{page}/extend", data={"csrf_token": token, "months": "2", "reason": "Mange saker."})
    assert response.status == 200  # redirected back to the request's page
    item = await stored(anne)
    assert (item.extended_months, item.extension_reason, item.extended_by) == (2, "Mange saker.", "caseworker:anne")
    assert item.extension_notice == "no_channel"
    text = await response.text()
    assert "Forlenget med 2 md." in text
    assert "Varsel kunne ikke sendes" in text
    async with anne.app[CASE_SYSTEM].sessions() as session:
        assert (await session.execute(sa.select(OutboundMessage))).first() is None
    queue = await (await anne.get("/console/rights")).text()
    assert "Forlenget med 2 md." in queue and "Varsel ikke sendt" in queue


async def test_a_caseworker_refuses_a_request_with_a_reason(anne):
    reference = await web_request(anne)
    page = f"/console/rights/{reference}"
    token = await csrf_of(anne, page)
    blank = await anne.post(f"{page}/refuse", data={"csrf_token": token, "reason": "   "})
    assert "must not be blank" in await blank.text() and (await stored(anne)).status.value == "received"
    response = await anne.post(f"{page}/refuse", data={"csrf_token": token, "reason": "Kravet er ikke avsluttet."})
    item = await stored(anne)
    assert item.status.value == "rejected" and item.refusal_reason == "Kravet er ikke avsluttet."
    assert "Kravet er ikke avsluttet." in await response.text()
