"""Diagnostic pages: choose a role, say where you start, answer one question at a time."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import services
from upskill.catalog import services as catalog
from upskill.core.errors import Conflict, Invalid


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


@login_required
def choose_role(request: HttpRequest) -> HttpResponse:
    """Step 1: which AI job role to measure against."""
    return render(request, "assessment/choose_role.html", {
        "roles": catalog.list_roles(),
        "open_attempt": services.open_attempt(_user(request)),
    })


@login_required
def start(request: HttpRequest, role_slug: str) -> HttpResponse:
    """Step 2: self-reported experience per skill area, then the first question."""
    user = _user(request)
    role = catalog.get_role(role_slug)
    categories = services.categories_of(role)
    errors: list[str] = []
    chosen = {value: request.POST.get(value, "") for value, _name in categories}
    if request.method == "POST":
        missing = [name for value, name in categories if not chosen[value]]
        if missing:
            errors.append(_("Tell us your experience with: %s.") % ", ".join(missing))
        else:
            try:
                state = services.start_diagnostic(user, role_slug, chosen)
            except Invalid as error:
                errors.append(error.detail)
            else:
                return redirect("assessment:attempt", attempt_id=state.attempt.pk)
    return render(request, "assessment/start.html", {
        "role": role,
        "categories": [(value, name, chosen[value]) for value, name in categories],
        "choices": services.EXPERIENCE_CHOICES,
        "errors": errors,
        "open_attempt": services.open_attempt(user, role_slug),
        "policy": services.POLICY,
    }, status=422 if errors else 200)


@login_required
def attempt(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The question on screen (GET) or the answer to it (POST)."""
    user = _user(request)
    error = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "answer")
        item_key = request.POST.get("item", "")
        try:
            if action == "finish":
                services.finish_diagnostic(user, attempt_id)
            else:
                raw = None if action == "skip" else request.POST.getlist("answer")
                services.answer_item(user, attempt_id, item_key, raw)
        except Invalid as invalid:
            error, status = invalid.detail, 422
        except Conflict as conflict:
            messages.warning(request, conflict.detail)
            return redirect("assessment:attempt", attempt_id=attempt_id)
        else:
            return redirect("assessment:attempt", attempt_id=attempt_id)
    state = services.state_of(user, attempt_id)
    if state.finished:
        return redirect(reverse("learning:skills") + f"?role={state.attempt.role.slug}")
    return render(request, "assessment/question.html", {
        "state": state, "question": state.question, "error": error,
        "raw": request.POST.getlist("answer") if error else [],
    }, status=status)


@login_required
@require_POST
def abandon(request: HttpRequest, attempt_id: int) -> HttpResponse:
    state = services.state_of(_user(request), attempt_id)
    services.abandon_diagnostic(_user(request), attempt_id)
    messages.info(request, _("The unfinished diagnostic was closed. You can start again."))
    return redirect("assessment:start", role_slug=state.attempt.role.slug)


@login_required
def review(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """After finishing: each question, the learner's answer, the key and the explanation."""
    user = _user(request)
    return render(request, "assessment/review.html", {
        "attempt": services.attempt_for(user, attempt_id),
        "rows": services.review(user, attempt_id),
    })
