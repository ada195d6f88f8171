"""GDPR rights requests: log one, list and read them, produce and read a data export."""

from __future__ import annotations

from aiohttp import web

from bot.case_system.contract.enums import ExportFormat
from bot.case_system.contract.requests import (
    ExportQuery,
    RightsRequestCreate,
    RightsRequestExtension,
    RightsRequestFilters,
    RightsRequestRefusal,
)
from bot.case_system.contract.responses import (
    DataExportDocument,
    ExportSummary,
    RightsRequestCreated,
    RightsRequestDetail,
    RightsRequestList,
)
from bot.case_system.domain import rights_request_service
from bot.case_system.domain.contact_window import contact_hours
from bot.case_system.http import presenters
from bot.case_system.http.context import Answer, Call, Endpoint
from bot.case_system.http.json_io import NO_STORE
from bot.case_system.http.routes.answers import BAD_BODY, BAD_HEADER, UNAUTHORIZED
from bot.case_system.http.routes.handoffs import CASEWORKER_AUTH, CASEWORKER_REFUSALS

REFERENCE_PATH = {
    "reference": {
        "type": "string",
        "example": "PV-7K3QXM",
        "description": "The request's short reference (any case; the dash may be left out).",
    }
}
NOT_FOUND = {404: Answer(None, "No request with that reference (`rights_request_not_found`).")}


async def create_rights_request(call: Call) -> web.Response:
    raw = await call.json_object()
    context = call.audit_context()
    body = call.parse_body(raw)
    call.log_case_number(body.case_number)
    now = call.now()
    logged = await rights_request_service.log_rights_request(
        call.session,
        body,
        now=now,
        rates=call.system.rates,
        tracker_url=call.system.settings.tracker_store_url,
        context=context,
    )
    answer = presenters.created_rights_request(logged.item, logged.effects, now=now)
    return call.respond(answer, status=201 if logged.created else 200)


async def list_rights_requests(call: Call) -> web.Response:
    filters = call.query()
    call.log_case_number(filters.case_number)
    context = call.audit_context()
    now = call.now()
    found = await rights_request_service.list_rights_requests(call.session, filters, now=now, context=context)
    return call.respond(RightsRequestList(rights_requests=[presenters.rights_request(item, now=now) for item in found]))


async def get_rights_request(call: Call) -> web.Response:
    context = call.audit_context()
    now = call.now()
    item = await rights_request_service.read_rights_request(
        call.session, call.path("reference"), now=now, context=context
    )
    return call.respond(presenters.rights_request_detail(item, now=now))


async def create_export(call: Call) -> web.Response:
    context = call.audit_context()
    export = await rights_request_service.create_export(
        call.session,
        call.path("reference"),
        now=call.now(),
        rates=call.system.rates,
        tracker_url=call.system.settings.tracker_store_url,
        context=context,
    )
    return call.respond(presenters.export_summary(export), status=201)


async def get_export(call: Call) -> web.StreamResponse:
    form = call.query().format
    context = call.audit_context()
    item, export = await rights_request_service.read_export(
        call.session, call.path("reference"), form, now=call.now(), context=context
    )
    if form is ExportFormat.DOCUMENT:
        response = web.Response(text=export.document, content_type="text/plain", charset="utf-8", headers=NO_STORE)
        response.headers["Content-Disposition"] = f'attachment; filename="{item.reference}.txt"'
        return response
    return call.respond(DataExportDocument(__root__=export.data))


async def extend_rights_request(call: Call) -> web.Response:
    body = call.parse_body(await call.json_object())
    now = call.now()
    settings = call.system.settings
    item = await rights_request_service.extend_request(
        call.session,
        call.path("reference"),
        months=body.months,
        reason=body.reason,
        now=now,
        hours=contact_hours(settings.agency_contact_hours),
        agency_phone=settings.agency_phone,
        context=call.audit_context(),
    )
    return call.respond(presenters.rights_request_detail(item, now=now))


async def refuse_rights_request(call: Call) -> web.Response:
    body = call.parse_body(await call.json_object())
    now = call.now()
    settings = call.system.settings
    item = await rights_request_service.refuse_request(
        call.session,
        call.path("reference"),
        reason=body.reason,
        now=now,
        hours=contact_hours(settings.agency_contact_hours),
        agency_phone=settings.agency_phone,
        context=call.audit_context(),
    )
    return call.respond(presenters.rights_request_detail(item, now=now))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/rights-requests",
        list_rights_requests,
        name="rights_requests",
        operation_id="listRightsRequests",
        summary="GDPR rights requests, earliest deadline first (at most 500).",
        query=RightsRequestFilters,
        answers={
            200: Answer(RightsRequestList, "The requests."),
            **BAD_HEADER,
            **UNAUTHORIZED,
            422: Answer(None, "A filter with an unknown value (`validation_error`)."),
        },
    ),
    Endpoint(
        "POST",
        "/rights-requests",
        create_rights_request,
        name="rights_requests",
        operation_id="createRightsRequest",
        summary="Log a rights request; objection sets the marketing objection at once, human_review creates a "
        "handoff, access and portability produce a data export (verified requests only).",
        body=RightsRequestCreate,
        answers={
            201: Answer(RightsRequestCreated, "Logged."),
            200: Answer(RightsRequestCreated, "Already logged with this idempotency key."),
            **UNAUTHORIZED,
            **BAD_BODY,
            403: Answer(
                None,
                "case_number is not a case this conversation verified within 12 hours (`case_not_verified`; the "
                "same answer whether or not the case exists): log it without case_number instead.",
            ),
            409: Answer(None, "A concurrent request with the same idempotency key was logged first (`conflict`)."),
        },
    ),
    Endpoint(
        "GET",
        "/rights-requests/{reference}",
        get_rights_request,
        name="rights_request",
        operation_id="getRightsRequest",
        summary="One request with the debtor's words and its exports.",
        path_parameters=REFERENCE_PATH,
        answers={200: Answer(RightsRequestDetail, "The request."), **BAD_HEADER, **UNAUTHORIZED, **NOT_FOUND},
    ),
    Endpoint(
        "POST",
        "/rights-requests/{reference}/export",
        create_export,
        name="rights_request_export",
        operation_id="createDataExport",
        summary="Produce the debtor's data export (again) for an access or portability request.",
        path_parameters=REFERENCE_PATH,
        answers={
            201: Answer(ExportSummary, "Produced."),
            **BAD_HEADER,
            **UNAUTHORIZED,
            **NOT_FOUND,
            409: Answer(None, "Not an access or portability request, or identity not confirmed."),
        },
    ),
    Endpoint(
        "GET",
        "/rights-requests/{reference}/export",
        get_export,
        name="rights_request_export",
        operation_id="getDataExport",
        summary="The latest export: JSON (format=json) or a readable text document (format=document).",
        path_parameters=REFERENCE_PATH,
        query=ExportQuery,
        answers={
            200: Answer(DataExportDocument, "The export.", text_too=True),
            **BAD_HEADER,
            **UNAUTHORIZED,
            404: Answer(None, "No such request, or no export yet (`export_not_found`)."),
            422: Answer(None, "Unknown format (`validation_error`)."),
        },
    ),
    Endpoint(
        "POST",
        "/rights-requests/{reference}/extension",
        extend_rights_request,
        name="rights_request_extension",
        operation_id="extendRightsRequest",
        summary="Extend the deadline by one or two further months with a reason (GDPR Art. 12(3)), within the "
        "first month after receipt; the debtor is told by SMS inside the contact window, or extension_notice "
        "says no_channel.",
        description=CASEWORKER_AUTH,
        caseworker=True,
        path_parameters=REFERENCE_PATH,
        body=RightsRequestExtension,
        answers={
            200: Answer(RightsRequestDetail, "Extended; due_date is the new deadline."),
            **BAD_HEADER,
            **BAD_BODY,
            **CASEWORKER_REFUSALS,
            **NOT_FOUND,
            409: Answer(
                None,
                "Closed (`request_closed`), extended before (`already_extended`), or more than a month after "
                "receipt (`extension_too_late`).",
            ),
        },
    ),
    Endpoint(
        "POST",
        "/rights-requests/{reference}/refusal",
        refuse_rights_request,
        name="rights_request_refusal",
        operation_id="refuseRightsRequest",
        summary="Refuse (not act on) an open request with a reason (GDPR Art. 12(4)); the debtor is told why and of "
        "the right to complain to Datatilsynet.",
        description=CASEWORKER_AUTH,
        caseworker=True,
        path_parameters=REFERENCE_PATH,
        body=RightsRequestRefusal,
        answers={
            200: Answer(RightsRequestDetail, "Refused (status rejected)."),
            **BAD_HEADER,
            **BAD_BODY,
            **CASEWORKER_REFUSALS,
            **NOT_FOUND,
            409: Answer(None, "The request is closed already (`request_closed`)."),
        },
    ),
]
