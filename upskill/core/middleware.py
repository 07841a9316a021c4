from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from upskill.core.apierrors import (
    CODES_BY_STATUS,
    default_detail,
    error_response,
    has_error_shape,
    is_api_request,
)
from upskill.core.errors import DomainError


class ApiErrorShapeMiddleware:
    """Give every API error the one shape, including those Django makes before
    the API sees the request (unknown path, wrong method, CSRF failure)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_api_request(request) or response.status_code < 400:
            return response
        if getattr(response, "streaming", False) or has_error_shape(response):
            return response
        status = response.status_code
        shaped = error_response(
            status,
            CODES_BY_STATUS.get(status, "server_error" if status >= 500 else "bad_request"),
            default_detail(status),
        )
        if "Allow" in response:
            shaped["Allow"] = response["Allow"]
        return shaped


class DomainErrorMiddleware:
    """Turn a domain error raised by a service into a page that says what went wrong
    (API requests are answered by the API's own handlers)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError) or is_api_request(request):
            return None
        return render(
            request,
            "error.html",
            {"status": exception.status, "detail": exception.detail},
            status=exception.status,
        )
