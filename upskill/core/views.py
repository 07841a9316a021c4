"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from upskill.core import jobs


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers and the task queue is reachable."""
    checks: dict[str, str] = {}
    ready = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = f"ok ({connection.vendor})"
    except DatabaseError as error:
        ready = False
        checks["database"] = f"unreachable: {error}"
    try:
        queue_ok, queue_detail = jobs.queue_reachable()
    except DatabaseError as error:
        queue_ok, queue_detail = False, f"database queue: {error}"
    checks["queue"] = ("ok (" + queue_detail + ")") if queue_ok else f"unreachable: {queue_detail}"
    ready = ready and queue_ok
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def landing(request: HttpRequest) -> HttpResponse:
    """The public front page: what Upskill is, in plain words."""
    return render(request, "core/landing.html")
