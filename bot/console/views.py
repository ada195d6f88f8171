"""The console's pages and form posts (see the package's docstring)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from aiohttp_session import get_session

from bot.case_system.contract import errors
from bot.case_system.contract.enums import Channel, HandoffOutcome, HandoffStatus, MessageSender
from bot.case_system.contract.requests import (
    RightsRequestExtension,
    RightsRequestFilters,
    RightsRequestRefusal,
    parse,
)
from bot.case_system.domain import audit, caseworkers, disputes, rights_request_service
from bot.case_system.domain.case_service import read_case
from bot.case_system.domain.caseworker_tools import payment_details_message
from bot.case_system.domain.contact_window import contact_hours
from bot.case_system.http import console_sessions, presenters
from bot.case_system.http.context import CASE_SYSTEM, CONSOLE_PURPOSE, CaseSystem
from bot.case_system.store.live_events import LiveEvent
from bot.case_system.store.models import Caseworker, Handoff, HandoffMessageRecord
from bot.config import TIMEZONE, Settings
from bot.console import queries
from bot.console.texts import texts
from bot.redaction import redact_text

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
LANGUAGE_COOKIE = "console_lang"
KEEPALIVE_SECONDS = 15.0
RECHECK_ACCOUNT_SECONDS = 60.0
OSLO = ZoneInfo(TIMEZONE)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates")),
    autoescape=jinja2.select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _local(moment: Optional[datetime], with_date: bool = True) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(OSLO)
    return local.strftime("%d.%m.%Y %H:%M" if with_date else "%H:%M")


_templates.filters["local"] = _local


# --- request helpers -----------------------------------------------------------------------------


def _system(request: web.Request) -> CaseSystem:
    return request.app[CASE_SYSTEM]


def _language(request: web.Request) -> str:
    return "en" if request.cookies.get(LANGUAGE_COOKIE) == "en" else "nb"


def _context(caseworker: Caseworker) -> audit.AuditContext:
    return audit.AuditContext(actor=caseworkers.actor(caseworker), purpose=CONSOLE_PURPOSE)


def _render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    language = _language(request)
    body = _templates.get_template(name).render(t=texts(language), language=language, path=request.path, **values)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    return response


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


class LoggedIn:
    """The caseworker of the request's console session, or a redirect to the login page."""

    def __init__(self, request: web.Request, caseworker: Caseworker, csrf: str) -> None:
        self.request, self.caseworker, self.csrf = request, caseworker, csrf


Page = Callable[[web.Request, Any, LoggedIn], Awaitable[web.StreamResponse]]


def page(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A console page or form post: needs a logged-in, enabled caseworker (else the login page,
    or 401 for a script), and on a POST the session's CSRF token (else 403). One database
    session per request."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        async with _system(request).sessions() as db:
            caseworker = await console_sessions.caseworker_of(request, db)
            if caseworker is None:
                if _wants_json(request) or request.method != "GET":
                    raise web.HTTPUnauthorized(text="log in first")
                raise web.HTTPSeeOther("/console/login")
            session = await get_session(request)
            if request.method not in console_sessions.SAFE_METHODS:
                presented = request.headers.get(console_sessions.CSRF_HEADER)
                if presented is None and request.content_type == "application/x-www-form-urlencoded":
                    presented = (await request.post()).get(console_sessions.CSRF_FIELD)
                if not console_sessions.csrf_matches(session, presented if isinstance(presented, str) else None):
                    raise web.HTTPForbidden(text="the form lacks the session's CSRF token; reload the page")
            csrf = session.get(console_sessions.CSRF_KEY) or ""
            try:
                return await handler(request, db, LoggedIn(request, caseworker, csrf))
            except errors.ApiError as error:  # e.g. no such handoff: the API's status, in plain words
                if _wants_json(request):
                    return web.json_response(error.body(), status=error.status)
                return web.Response(status=error.status, text=error.message, headers=SECURITY_HEADERS)

    return wrapped


# --- login ---------------------------------------------------------------------------------------


async def login_page(request: web.Request, message: Optional[str] = None, status: int = 200) -> web.Response:
    session = await get_session(request)
    return _render(request, "login.html", status=status, csrf=console_sessions.csrf_token(session), message=message)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    session = await get_session(request)
    t = texts(_language(request))
    if not console_sessions.csrf_matches(session, form.get(console_sessions.CSRF_FIELD)):  # login CSRF
        return await login_page(request, t["login_expired"], status=403)
    username = str(form.get("username", "")).strip().lower()
    password = str(form.get("password", ""))
    system = _system(request)
    async with system.sessions() as db:
        outcome = await caseworkers.log_in(db, username, password, now=system.clock())
    if outcome.outcome is caseworkers.LoginOutcome.OK:
        await console_sessions.log_in(request, outcome.caseworker)
        raise web.HTTPSeeOther("/console/queue")
    if outcome.outcome is caseworkers.LoginOutcome.LOCKED:
        return await login_page(request, t["login_locked"].format(until=_local(outcome.locked_until)), status=401)
    return await login_page(request, t["login_refused"], status=401)


@page
async def logout(request: web.Request, db, me: LoggedIn) -> web.Response:
    await console_sessions.log_out(request)
    raise web.HTTPSeeOther("/console/login")


async def switch_language(request: web.Request) -> web.Response:
    target = request.query.get("next", "/console/queue")
    if not target.startswith("/console") or "//" in target or "\\" in target:
        target = "/console/queue"
    response = web.HTTPSeeOther(target)
    language = "en" if request.query.get("to") == "en" else "nb"
    response.set_cookie(
        LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, httponly=True, samesite="Strict", path="/console"
    )
    raise response


# --- the queue -----------------------------------------------------------------------------------


async def _queue_rows(request: web.Request, db, me: LoggedIn) -> list[queries.QueueRow]:
    system = _system(request)
    assert system.desk is not None
    return await queries.queue(db, now=system.clock(), sla=system.desk.sla, context=_context(me.caseworker))


@page
async def queue_page(request: web.Request, db, me: LoggedIn) -> web.Response:
    rows = await _queue_rows(request, db, me)
    return _render(request, "queue.html", me=me.caseworker, csrf=me.csrf, rows=rows, now=_system(request).clock())


@page
async def queue_fragment(request: web.Request, db, me: LoggedIn) -> web.Response:
    rows = await _queue_rows(request, db, me)
    return _render(request, "queue_rows.html", rows=rows, me=me.caseworker)


# --- a conversation ------------------------------------------------------------------------------


async def _transcript(system: CaseSystem, handoff: Handoff) -> tuple[list[dict[str, Any]], bool]:
    """The conversation from the dialogue server's tracker (identity numbers redacted), or the
    transcript stored with the handoff when the dialogue server does not answer; and whether it
    is that fallback."""
    assert system.desk is not None
    try:
        events = await system.desk.relay.events(handoff.conversation_id)
    except errors.ApiError:
        return [
            {
                "from": "debtor" if entry.get("sender") == "user" else "assistant",
                "text": entry.get("text", ""),
                "at": entry.get("at"),
            }
            for entry in handoff.transcript or []
        ], True
    entries = []
    for event in events:
        if event.get("event") not in ("user", "bot") or not event.get("text"):
            continue
        metadata = event.get("metadata") or {}
        sender = (
            "debtor"
            if event["event"] == "user"
            else "caseworker"
            if metadata.get("from") == "caseworker"
            else "assistant"
        )
        at = datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=OSLO)
        entries.append({"from": sender, "text": redact_text(str(event["text"])), "at": at})
    return entries, False


@page
async def handoff_page(request: web.Request, db, me: LoggedIn) -> web.Response:
    system = _system(request)
    assert system.desk is not None
    handoff_id = _handoff_id(request)
    context = _context(me.caseworker)
    now = system.clock()
    handoff = await system.desk.read(db, handoff_id, now=now, context=context)
    transcript, fallback = await _transcript(system, handoff)
    methods = await queries.verification_methods(db, [handoff.conversation_id])
    case = panel = None
    if handoff.case_number:
        try:
            figures = await read_case(db, handoff.case_number, now=now, rates=system.rates, context=context)
        except errors.ApiError:
            figures = None
        if figures is not None:
            case = presenters.case(figures)
            panel = {
                "plans": figures.case.payment_plans,
                "postponements": figures.case.postponements,
                "disputes": await queries.disputes_of(db, figures.case.id),
                "rights_requests": await queries.rights_requests_of(db, figures.case.id),
            }
    session = await get_session(request)
    flash = session.pop("flash", None)
    return _render(
        request,
        "handoff.html",
        me=me.caseworker,
        csrf=me.csrf,
        handoff=handoff,
        transcript=transcript,
        transcript_fallback=fallback,
        verification=methods.get(handoff.conversation_id),
        case=case,
        panel=panel,
        outcomes=[outcome.value for outcome in HandoffOutcome],
        flash=flash,
        last_message_id=handoff.messages[-1].id if handoff.messages else 0,
        mine=handoff.status is HandoffStatus.TAKEN and handoff.taken_by_id == me.caseworker.id,
        is_supervisor=me.caseworker.role.value == "supervisor",
    )


def _handoff_id(request: web.Request) -> int:
    raw = request.match_info["handoff_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound()
    return int(raw)


async def _act(request: web.Request, work: Callable[[], Awaitable[Any]]) -> web.Response:
    """Do a form's action; answer a script with JSON, a browser with the conversation again
    (the error, if any, shown there)."""
    target = f"/console/handoffs/{_handoff_id(request)}"
    try:
        await work()
    except errors.ApiError as error:
        if _wants_json(request):
            return web.json_response(error.body(), status=error.status)
        session = await get_session(request)
        session["flash"] = error.message
        raise web.HTTPSeeOther(target) from None
    if _wants_json(request):
        return web.json_response({"ok": True})
    raise web.HTTPSeeOther(target)


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type == "application/json":
        data = await request.json()
        return {key: str(value) for key, value in data.items()} if isinstance(data, dict) else {}
    return {key: str(value) for key, value in (await request.post()).items()}


@page
async def take(request: web.Request, db, me: LoggedIn) -> web.Response:
    desk, now = _system(request).desk, _system(request).clock()
    return await _act(
        request, lambda: desk.take(db, _handoff_id(request), me.caseworker, now=now, context=_context(me.caseworker))
    )


@page
async def reassign(request: web.Request, db, me: LoggedIn) -> web.Response:
    desk, now = _system(request).desk, _system(request).clock()
    form = await _form(request)
    to = form.get("to") or None
    return await _act(
        request,
        lambda: desk.reassign(db, _handoff_id(request), me.caseworker, to, now=now, context=_context(me.caseworker)),
    )


@page
async def send_message(request: web.Request, db, me: LoggedIn) -> web.Response:
    desk, now = _system(request).desk, _system(request).clock()
    text = (await _form(request)).get("text", "")

    async def work() -> None:
        if not text.strip() or len(text) > 1600:
            raise errors.validation_error("text", "must be 1 to 1600 characters")
        await desk.send_message(db, _handoff_id(request), me.caseworker, text, now=now, context=_context(me.caseworker))

    return await _act(request, work)


@page
async def return_handoff(request: web.Request, db, me: LoggedIn) -> web.Response:
    desk, now = _system(request).desk, _system(request).clock()
    return await _act(
        request,
        lambda: desk.return_to_assistant(
            db, _handoff_id(request), me.caseworker, now=now, context=_context(me.caseworker)
        ),
    )


@page
async def resolve(request: web.Request, db, me: LoggedIn) -> web.Response:
    desk, now = _system(request).desk, _system(request).clock()
    form = await _form(request)

    async def work() -> None:
        try:
            outcome = HandoffOutcome(form.get("outcome", ""))
        except ValueError:
            raise errors.validation_error(
                "outcome", "must be one of " + ", ".join(o.value for o in HandoffOutcome)
            ) from None
        note = form.get("note", "")[:4000]
        await desk.resolve(
            db, _handoff_id(request), me.caseworker, outcome, note, now=now, context=_context(me.caseworker)
        )

    return await _act(request, work)


@page
async def send_payment_details(request: web.Request, db, me: LoggedIn) -> web.Response:
    system = _system(request)
    desk, now, context = system.desk, system.clock(), _context(me.caseworker)

    async def work() -> None:
        handoff = await desk.load(db, _handoff_id(request))
        if not handoff.case_number:
            raise errors.Conflict("no_case", "No case is linked to this conversation.")
        figures = await read_case(db, handoff.case_number, now=now, rates=system.rates, context=context)
        text = payment_details_message(figures, system.settings, figures.case.debtor.language.value)
        await desk.send_message(db, handoff.id, me.caseworker, text, now=now, context=context)

    return await _act(request, work)


@page
async def register_dispute(request: web.Request, db, me: LoggedIn) -> web.Response:
    system = _system(request)
    desk, now, context = system.desk, system.clock(), _context(me.caseworker)
    reason = (await _form(request)).get("reason", "")[:2000]

    async def work() -> None:
        handoff = await desk.load(db, _handoff_id(request))
        if not handoff.case_number:
            raise errors.Conflict("no_case", "No case is linked to this conversation.")
        await disputes.record_dispute(
            db,
            handoff.case_number,
            reason,
            channel=Channel.BACKOFFICE,
            conversation_id=handoff.conversation_id,
            now=now,
            context=context,
        )

    return await _act(request, work)


# --- live updates --------------------------------------------------------------------------------


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode("utf-8")


def _message_data(message: HandoffMessageRecord) -> dict[str, Any]:
    return {"id": message.id, "from": message.sender.value, "text": message.text, "at": message.at.isoformat()}


@page
async def events(request: web.Request, db, me: LoggedIn) -> web.StreamResponse:
    """Server-sent events: `queue` (a handoff was created, taken, returned or resolved: ids and
    states only) and, with `?handoff=<id>&after=<message id>`, `message` (each new message of
    that handoff, in order, starting with any after `after`)."""
    system = _system(request)
    assert system.desk is not None
    watched = request.query.get("handoff")
    handoff_id = int(watched) if watched and watched.isdigit() else None
    after = request.query.get("after", "0")
    last_id = int(after) if after.isdigit() else 0
    caseworker_id = me.caseworker.id
    await db.close()  # the stream may run for hours; each read below takes a fresh session

    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    await response.write(b"retry: 2000\n: connected\n\n")

    async def send_new_messages() -> None:
        nonlocal last_id
        async with system.sessions() as reader:
            try:
                handoff = await system.desk.load(reader, handoff_id, with_messages=True)
            except errors.ApiError:  # no such handoff: nothing to send
                return
            for message in handoff.messages:
                if message.id > last_id:
                    await response.write(_sse("message", _message_data(message)))
                    last_id = message.id

    loop = asyncio.get_running_loop()
    checked = loop.time()
    async with system.desk.events.subscribe() as subscription:
        if handoff_id is not None:
            await send_new_messages()  # whatever arrived between the page and this stream
        while True:
            event: Optional[LiveEvent] = await subscription.next(timeout=KEEPALIVE_SECONDS)
            if loop.time() - checked > RECHECK_ACCOUNT_SECONDS:
                checked = loop.time()
                async with system.sessions() as reader:
                    if await caseworkers.active_by_id(reader, caseworker_id) is None:
                        break  # disabled meanwhile
            if event is None:
                await response.write(b": keepalive\n\n")
                continue
            if event.type == "handoff.message":
                if event.handoff_id == handoff_id:
                    await send_new_messages()
                continue
            await response.write(
                _sse("queue", {"type": event.type, "handoff_id": event.handoff_id, "status": event.status})
            )
    return response


# --- rights requests -----------------------------------------------------------------------------


@page
async def rights_page(request: web.Request, db, me: LoggedIn) -> web.Response:
    now = _system(request).clock()
    found = await rights_request_service.list_rights_requests(
        db, RightsRequestFilters(), now=now, context=_context(me.caseworker)
    )
    items = [presenters.rights_request(item, now=now) for item in found]
    return _render(request, "rights.html", me=me.caseworker, csrf=me.csrf, items=items)


@page
async def rights_request_page(request: web.Request, db, me: LoggedIn) -> web.Response:
    now = _system(request).clock()
    context = _context(me.caseworker)
    reference = request.match_info["reference"]
    try:
        item = await rights_request_service.read_rights_request(db, reference, now=now, context=context)
    except errors.ApiError:
        raise web.HTTPNotFound() from None
    document = None
    if item.exports:
        _item, export = await rights_request_service.read_export(
            db, reference, _export_format(), now=now, context=context
        )
        document = export.document
    session = await get_session(request)
    return _render(
        request,
        "rights_request.html",
        me=me.caseworker,
        csrf=me.csrf,
        item=presenters.rights_request_detail(item, now=now),
        document=document,
        flash=session.pop("flash", None),
    )


def _export_format():
    from bot.case_system.contract.enums import ExportFormat

    return ExportFormat.DOCUMENT


async def _rights_act(request: web.Request, work: Callable[[], Awaitable[Any]]) -> web.Response:
    target = f"/console/rights/{request.match_info['reference']}"
    try:
        await work()
    except errors.ApiError as error:
        session = await get_session(request)
        session["flash"] = error.message
    raise web.HTTPSeeOther(target)


@page
async def rights_export(request: web.Request, db, me: LoggedIn) -> web.Response:
    system = _system(request)
    return await _rights_act(
        request,
        lambda: rights_request_service.create_export(
            db,
            request.match_info["reference"],
            now=system.clock(),
            rates=system.rates,
            tracker_url=system.settings.tracker_store_url,
            context=_context(me.caseworker),
        ),
    )


@page
async def rights_mark_sent(request: web.Request, db, me: LoggedIn) -> web.Response:
    now = _system(request).clock()
    return await _rights_act(
        request,
        lambda: rights_request_service.mark_export_sent(
            db, request.match_info["reference"], now=now, context=_context(me.caseworker)
        ),
    )


@page
async def rights_close(request: web.Request, db, me: LoggedIn) -> web.Response:
    now = _system(request).clock()
    return await _rights_act(
        request,
        lambda: rights_request_service.close_request(
            db, request.match_info["reference"], now=now, context=_context(me.caseworker)
        ),
    )


async def _decision(request: web.Request, me: LoggedIn, decide) -> web.Response:
    """Extend or refuse from the console's form; a bad form is shown as the API would refuse it."""
    system = _system(request)
    form = await _form(request)

    async def work() -> None:
        settings = system.settings
        await decide(form, contact_hours(settings.agency_contact_hours), settings.agency_phone, system.clock())

    return await _rights_act(request, work)


@page
async def rights_extend(request: web.Request, db, me: LoggedIn) -> web.Response:
    async def decide(form, hours, agency_phone, now) -> None:
        months = form.get("months", "")
        body = parse(
            RightsRequestExtension,
            {"months": int(months) if months.isdigit() else months, "reason": form.get("reason", "")},
        )
        await rights_request_service.extend_request(
            db,
            request.match_info["reference"],
            months=body.months,
            reason=body.reason,
            now=now,
            hours=hours,
            agency_phone=agency_phone,
            context=_context(me.caseworker),
        )

    return await _decision(request, me, decide)


@page
async def rights_refuse(request: web.Request, db, me: LoggedIn) -> web.Response:
    async def decide(form, hours, agency_phone, now) -> None:
        body = parse(RightsRequestRefusal, {"reason": form.get("reason", "")})
        await rights_request_service.refuse_request(
            db,
            request.match_info["reference"],
            reason=body.reason,
            now=now,
            hours=hours,
            agency_phone=agency_phone,
            context=_context(me.caseworker),
        )

    return await _decision(request, me, decide)


# --- static files and the route table ------------------------------------------------------------


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC_DIR / name
    if "/" in name or not path.is_file():
        raise web.HTTPNotFound()
    kind = {".js": "text/javascript", ".css": "text/css"}.get(path.suffix, "application/octet-stream")
    response = web.FileResponse(path, headers={"Content-Type": kind})
    response.headers.update({**SECURITY_HEADERS, "Cache-Control": "no-cache"})
    return response


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/console/queue")


def add_routes(app: web.Application, settings: Settings) -> None:
    app.router.add_routes(
        [
            web.get("/console", home, name="console"),
            web.get("/console/login", login_page, name="console_login_page"),
            web.post("/console/login", login, name="console_login"),
            web.post("/console/logout", logout, name="console_logout"),
            web.get("/console/language", switch_language, name="console_language"),
            web.get("/console/queue", queue_page, name="console_queue"),
            web.get("/console/queue/rows", queue_fragment, name="console_queue_rows"),
            web.get("/console/events", events, name="console_events"),
            web.get("/console/handoffs/{handoff_id}", handoff_page, name="console_handoff"),
            web.post("/console/handoffs/{handoff_id}/take", take, name="console_take"),
            web.post("/console/handoffs/{handoff_id}/reassign", reassign, name="console_reassign"),
            web.post("/console/handoffs/{handoff_id}/messages", send_message, name="console_message"),
            web.post("/console/handoffs/{handoff_id}/return", return_handoff, name="console_return"),
            web.post("/console/handoffs/{handoff_id}/resolve", resolve, name="console_resolve"),
            web.post(
                "/console/handoffs/{handoff_id}/payment-details", send_payment_details, name="console_payment_details"
            ),
            web.post("/console/handoffs/{handoff_id}/dispute", register_dispute, name="console_dispute"),
            web.get("/console/rights", rights_page, name="console_rights"),
            web.get("/console/rights/{reference}", rights_request_page, name="console_rights_request"),
            web.post("/console/rights/{reference}/export", rights_export, name="console_rights_export"),
            web.post("/console/rights/{reference}/sent", rights_mark_sent, name="console_rights_sent"),
            web.post("/console/rights/{reference}/close", rights_close, name="console_rights_close"),
            web.post("/console/rights/{reference}/extend", rights_extend, name="console_rights_extend"),
            web.post("/console/rights/{reference}/refuse", rights_refuse, name="console_rights_refuse"),
            web.get("/console/static/{name}", static, name="console_static"),
        ]
    )


__all__ = ["add_routes", "MessageSender"]
