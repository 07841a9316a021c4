"""The machine-readable documents of credentials, served as JSON for anyone: a credential
exactly as signed, the signed status lists, and our did:web document. (The HTML pages —
verification page, certificate, portfolio — are built on the same services.)"""

from __future__ import annotations

import json
import uuid

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from upskill.core.apierrors import error_response
from upskill.core.errors import NotFound
from upskill.credentials import services

JSON_TYPE = "application/json; charset=utf-8"
# Status lists change when staff revoke or suspend: verifiers may cache them briefly.
STATUS_LIST_MAX_AGE_S = 300


def _not_found(error: NotFound) -> HttpResponse:
    return error_response(404, error.code, error.detail)


def _document(text: str, *, max_age_s: int, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(text.encode("utf-8"), content_type=JSON_TYPE)
    response["Cache-Control"] = f"public, max-age={max_age_s}"
    response["Access-Control-Allow-Origin"] = "*"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def credential_json(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The signed credential, byte for byte as signed."""
    try:
        text = services.credential_json(public_id)
    except NotFound as error:
        return _not_found(error)
    return _document(text, max_age_s=300, filename=f"credential-{public_id}.json")


@require_GET
def status_list(request: HttpRequest, purpose: str, number: int) -> HttpResponse:
    try:
        text = services.status_list_json(purpose, number)
    except NotFound as error:
        return _not_found(error)
    return _document(text, max_age_s=STATUS_LIST_MAX_AGE_S)


@require_GET
def did_json(request: HttpRequest) -> HttpResponse:
    try:
        document = services.did_json()
    except NotFound as error:
        return _not_found(error)
    return _document(json.dumps(document), max_age_s=3600)
