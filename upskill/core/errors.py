"""The small set of domain errors services raise.

Views map them to pages and endpoints map them to the API error shape
``{"error": code, "detail": message}``; both use ``status`` and ``code``.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Invalid(DomainError):
    status = 400
    code = "invalid"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Throttled(DomainError):
    """Too many requests of one kind for now; the detail says when to try again (HTTP 429)."""

    status = 429
    code = "throttled"
