"""Health endpoints for load balancers and orchestrators, the landing page, notifications."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from upskill.core import jobs, notifications
from upskill.core.errors import Invalid


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


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own notifications, newest first."""
    user = request.user
    assert isinstance(user, AbstractBaseUser)
    return render(request, "core/notifications.html", {
        "notifications": notifications.list_notifications(user),
    })


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (``id``) or all of them read; then go to its link or the list."""
    user = request.user
    assert isinstance(user, AbstractBaseUser)
    raw = request.POST.get("id", "")
    if raw and not raw.isdigit():
        raise Invalid("That is not a notification.")
    notification_id = int(raw) if raw else None
    notifications.mark_read(user, notification_id)
    target = request.POST.get("next", "")
    if notification_id is not None and target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("notifications")
