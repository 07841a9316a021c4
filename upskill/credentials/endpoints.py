"""VC-API endpoints: ``POST /credentials/verify`` (anyone) and ``POST /credentials/issue``
(staff), served at the VC-API's own paths and under ``/api/v1/credentials``.

The body is read here rather than by a schema, so that every kind of bad input gets its own
clear 4xx: over 1 MiB → 413, not JSON → 400, not a credential → 400. A credential that does not
verify (changed, expired, revoked, suspended, signed by a key that is not its issuer's) is a 400
carrying the same report as a 200: ``{verified, status, checks, warnings, errors}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router, Schema

from upskill.accounts import services as accounts
from upskill.core.apierrors import error_response
from upskill.credentials import services

MAX_BODY_BYTES = 1024 * 1024


class VerifyOut(Schema):
    verified: bool
    status: str
    checks: list[str]
    warnings: list[str]
    errors: list[str]


class IssueOut(Schema):
    verifiableCredential: dict[str, Any]  # the VC-API's name


class ErrorOut(Schema):
    error: str
    detail: str


def _body(request: HttpRequest, member: str) -> dict[str, Any] | HttpResponse:
    """The JSON object of the request, or the 4xx answer saying what is wrong with it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(400, "bad_request", "Content-Length is not a number.")
    if length > MAX_BODY_BYTES:
        return error_response(413, "too_large",
                              f"The body is {length} bytes; the limit is {MAX_BODY_BYTES}.")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        return error_response(400, "bad_request", f"The body is not JSON: {error}.")
    if not isinstance(body, dict):
        return error_response(400, "bad_request",
                              f'The body must be a JSON object {{"{member}": …, "options": …}}.')
    if not isinstance(body.get(member), dict):
        return error_response(400, "bad_request", f"{member} must be a JSON object.")
    return body


def verify(request: HttpRequest) -> HttpResponse:
    body = _body(request, "verifiableCredential")
    if isinstance(body, HttpResponse):
        return body
    credential = body["verifiableCredential"]
    problem = services.not_a_credential(credential)
    if problem:
        return error_response(400, "bad_request", f"verifiableCredential is not a credential: "
                              f"{problem}.")
    report = services.verify_document(credential)
    verified = report.status in ("valid", "not checked")
    payload = {"verified": verified, "status": report.status, "checks": report.checks,
               "warnings": report.warnings, "errors": report.errors}
    if verified:
        return JsonResponse(payload)
    detail = "; ".join(report.errors) or f"The credential is {report.status}."
    # The API's error shape and the VC-API's report in one body.
    return JsonResponse({"error": "invalid", "detail": detail, **payload}, status=400)


def issue(request: HttpRequest) -> HttpResponse:
    actor = accounts.person(getattr(request, "auth", None))
    body = _body(request, "credential")
    if isinstance(body, HttpResponse):
        return body
    signed = services.issue_document(actor, body["credential"])
    return JsonResponse({"verifiableCredential": signed}, status=201)


def _request_body(member: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": [member],
        "properties": {member: {"type": "object"}, "options": {"type": "object"}}}}}}}


def _with_operations(router: Router) -> Router:
    router.add_api_operation(
        "/verify", ["POST"], verify, auth=None,
        response={200: VerifyOut, 400: ErrorOut, 413: ErrorOut},
        summary="Verify a credential (VC-API): proof, dates and, for our own lists, status",
        openapi_extra=_request_body("verifiableCredential"))
    router.add_api_operation(
        "/issue", ["POST"], issue,
        response={201: IssueOut, 400: ErrorOut, 403: ErrorOut, 413: ErrorOut},
        summary="Sign a credential with this site's key (VC-API; staff only)",
        openapi_extra=_request_body("credential"))
    return router


# /api/v1/credentials/… and the VC-API's own /credentials/… (a router joins one API only).
router = _with_operations(Router(tags=["credentials"]))
vc_api_router = _with_operations(Router(tags=["vc-api"]))
