"""One error shape for every 4xx of the JSON API: ``{"error": code, "detail": message}``."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"

CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
}


def error_response(status: int, code: str, detail: str, **extra: Any) -> JsonResponse:
    body: dict[str, Any] = {"error": code, "detail": detail}
    body.update(extra)
    return JsonResponse(body, status=status)


def default_detail(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Request failed."


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def has_error_shape(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and "error" in body and "detail" in body
