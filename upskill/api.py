"""The JSON API at /api/v1/: every app's router, one auth scheme, one error shape."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from upskill.accounts.endpoints import api_auth
from upskill.accounts.endpoints import router as me_router
from upskill.assessment.endpoints import exams_router
from upskill.assessment.endpoints import router as diagnostic_router
from upskill.catalog.endpoints import router as catalog_router
from upskill.community.endpoints import router as community_router
from upskill.core.apierrors import CODES_BY_STATUS, error_response
from upskill.core.errors import DomainError
from upskill.credentials.endpoints import router as credentials_router
from upskill.credentials.endpoints import vc_api_router
from upskill.labs.endpoints import router as labs_router
from upskill.learning.endpoints import router as learning_router
from upskill.mentoring.endpoints import router as mentoring_router

api = NinjaAPI(
    title="Upskill API",
    version="1",
    description=(
        "Authenticate with your browser session or a personal API token "
        "(`Authorization: Bearer upsk_…`, created on your profile page). "
        'Every 4xx answer has the shape `{"error": code, "detail": message}`.'
    ),
    auth=api_auth,
    urls_namespace="api-v1",
)
api.add_router("/me", me_router)
api.add_router("/catalog", catalog_router)
api.add_router("/learning", learning_router)
api.add_router("/diagnostic", diagnostic_router)
api.add_router("/exams", exams_router)
api.add_router("/labs", labs_router)
api.add_router("/credentials", credentials_router)
api.add_router("/community", community_router)
api.add_router("/mentoring", mentoring_router)

# The VC-API at its conventional paths (POST /credentials/verify, /credentials/issue), which
# external test suites and wallets call; same authentication and error shape as /api/v1.
vc_api = NinjaAPI(
    title="Upskill VC-API",
    version="1",
    auth=api_auth,
    urls_namespace="vc-api",
    docs_url=None,
    openapi_url=None,
)
vc_api.add_router("", vc_api_router)


def _field_errors(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(part) for part in e.get("loc", [])], "msg": str(e.get("msg", ""))}
        for e in error.errors
    ]


def _field_name(loc: list[str]) -> str:
    # ninja's locations start with where the value came from ("body", "query", ...).
    return ".".join(loc[1:] or loc)


def on_validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    fields = _field_errors(error)
    summary = "; ".join(f"{_field_name(f['loc'])}: {f['msg']}" for f in fields)
    return error_response(422, "invalid", summary or "The request is not valid.", fields=fields)


def on_authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return error_response(
        401, "unauthenticated", "Log in or send a valid API token (Authorization: Bearer …)."
    )


def on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    status = error.status_code
    return error_response(status, CODES_BY_STATUS.get(status, "bad_request"), str(error))


def on_domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return error_response(error.status, error.code, error.detail)


def on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return error_response(404, "not_found", str(error) or "Not found.")


for _api in (api, vc_api):
    _api.exception_handler(ValidationError)(on_validation_error)
    _api.exception_handler(AuthenticationError)(on_authentication_error)
    _api.exception_handler(HttpError)(on_http_error)
    _api.exception_handler(DomainError)(on_domain_error)
    _api.exception_handler(Http404)(on_not_found)
