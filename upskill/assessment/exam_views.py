"""Certification exam pages: the list, an exam's overview, the sitting, the review before
submitting and the score report.

Thin: every view calls :mod:`upskill.assessment.certification`, which checks ownership, owns
the clock and keeps keys to itself. The sitting works without JavaScript (each button posts the
form and redirects back); with htmx an answer also autosaves as soon as it changes, and
``static/upskill/exam.js`` counts the time down and reports integrity signals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import certification
from upskill.assessment.models import Exam, ExamAttempt
from upskill.catalog import services as catalog
from upskill.core.errors import Conflict, Invalid, NotFound
from upskill.credentials import services as credentials
from upskill.labs import services as labs

# The marks at which the time left is announced to screen readers (and shown as a warning).
ANNOUNCE_AT_SECONDS = (300, 60)


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def minutes_left(seconds: int) -> int:
    """The whole minutes shown on the timer: rounded up, so "1 min left" lasts to the end."""
    return math.ceil(max(0, seconds) / 60)


def factor_text(factor: Decimal) -> str:
    """1.50 -> "1.5", 2.00 -> "2"."""
    return format(factor.normalize(), "f")


@login_required
@require_GET
def exam_list(request: HttpRequest) -> HttpResponse:
    """Every certification exam: program, kind of form, length and time limit."""
    return render(request, "assessment/exam_list.html", {
        "exams": [(exam, exam.time_limit_seconds // 60) for exam in certification.list_exams()],
    })


def _blueprint(exam: Exam) -> list[dict[str, Any]]:
    names = {skill.slug: skill.name for skill in catalog.list_skills()}
    return [{"area": area["area"], "percent": round(float(area["weight"]) * 100),
             "skills": [names.get(slug, slug) for slug in area["skills"]]}
            for area in exam.blueprint]


def _lab_links(slugs: Sequence[str]) -> list[tuple[str, str]]:
    links = []
    for slug in slugs:
        try:
            title = labs.get_lab(slug).title
        except NotFound:
            title = slug
        links.append((title, reverse("labs:detail", args=[slug])))
    return links


CUT_METHODS: dict[str, Promise] = {"modified-angoff": gettext_lazy("a modified Angoff study"),
               "angoff": gettext_lazy("an Angoff study")}


@login_required
@require_GET
def overview(request: HttpRequest, program_slug: str) -> HttpResponse:
    """What the exam covers, how it is run and scored, and what the candidate may do now."""
    user = _user(request)
    view = certification.exam_overview(user, program_slug)
    exam = view.exam
    previous = [attempt for attempt in certification.attempts_of(user)
                if attempt.exam_id == exam.pk and attempt.status == ExamAttempt.Status.FINISHED]
    consistency = (exam.classification or {}).get("expected_consistency")
    return render(request, "assessment/exam_overview.html", {
        "view": view, "exam": exam, "blueprint": _blueprint(exam),
        "adaptive": exam.form_kind == Exam.Form.ADAPTIVE,
        "confidence_percent": round(exam.confidence * 100),
        "base_minutes": exam.time_limit_seconds // 60,
        "own_minutes": view.time_limit_seconds // 60,
        "extended": view.time_factor != 1, "factor": factor_text(view.time_factor),
        "consistency_percent": None if consistency is None else round(consistency * 100),
        "lab_links": _lab_links(view.missing_labs), "previous": previous,
        "method_name": CUT_METHODS.get(exam.cut_method, exam.cut_method.replace("-", " ")),
    })


@login_required
@require_POST
def start(request: HttpRequest, program_slug: str) -> HttpResponse:
    """Start the exam, or its renewal (``purpose=renewal``), or resume the open attempt;
    refused with the reasons otherwise."""
    purpose = "renewal" if request.POST.get("purpose") == "renewal" else "certification"
    try:
        attempt = certification.start_exam(_user(request), program_slug, purpose=purpose)
    except Conflict as refused:
        messages.warning(request, refused.detail)
        return redirect("assessment:exam_overview", program_slug=program_slug)
    return redirect("assessment:exam_attempt", attempt_id=attempt.pk)


# ----------------------------------------------------------------------------- the sitting


def _shown_answer(question: certification.ExamQuestion) -> list[str]:
    """The saved answer as the form's values (shown slots, or the number)."""
    saved = question.saved
    if saved is None:
        return []
    if isinstance(saved, list):
        return [str(slot) for slot in saved]
    return [format(saved, "g")]


def _sitting(request: HttpRequest, state: certification.ExamState, *, error: str = "",
             raw: list[str] | None = None, status: int = 200) -> HttpResponse:
    question = state.question
    assert question is not None
    answered = sum(entry.answered for entry in state.navigator)
    return render(request, "assessment/exam_sitting.html", {
        "state": state, "exam": state.exam, "question": question, "error": error,
        "chosen": raw if raw is not None else _shown_answer(question),
        "saved": question.saved is not None,
        "minutes_left": minutes_left(state.seconds_left),
        "hurry": state.seconds_left <= ANNOUNCE_AT_SECONDS[0],
        "answered": answered,
        "previous_position": state.position - 1 if state.position > 1 else None,
        "next_position": (state.position + 1 if state.length and state.position < state.length
                          else None),
    }, status=status)


def _int_field(request: HttpRequest, name: str) -> int:
    value = request.POST.get(name, "")
    if not value.isdigit() or len(value) > 4:
        raise Invalid(_("That question is not part of this exam."))
    return int(value)


def _save(request: HttpRequest, user: User, attempt_id: int) -> certification.ExamState:
    """Save what the form holds for the question it was showing."""
    return certification.save_answer(user, attempt_id, _int_field(request, "position"),
                                     request.POST.get("item", ""),
                                     request.POST.getlist("answer"))


def _after_conflict(request: HttpRequest, conflict: Conflict, attempt_id: int) -> HttpResponse:
    messages.warning(request, conflict.detail)
    return redirect("assessment:exam_attempt", attempt_id=attempt_id)


@login_required
def sitting(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The question on screen (GET); its answer and where to go next (POST, then redirect).

    Buttons: ``action=save`` stays, ``go=N`` saves and moves to question N (fixed forms),
    ``action=review`` saves and opens the review, ``action=next`` saves and continues
    (adaptive)."""
    user = _user(request)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            state = _save(request, user, attempt_id)
            if request.POST.get("go"):
                certification.move_to(user, attempt_id, _int_field(request, "go"))
            elif action == "next":
                certification.next_question(user, attempt_id, state.position,
                                             request.POST.get("item", ""))
            elif action == "review":
                return redirect("assessment:exam_review", attempt_id=attempt_id)
            else:
                messages.success(request, _saved_text(timezone.now()))
        except Invalid as invalid:
            return _sitting(request, certification.state_of(user, attempt_id),
                            error=invalid.detail, raw=request.POST.getlist("answer"), status=422)
        except Conflict as conflict:
            return _after_conflict(request, conflict, attempt_id)
        return redirect("assessment:exam_attempt", attempt_id=attempt_id)
    state = certification.state_of(user, attempt_id)
    if state.finished:
        return redirect("assessment:exam_report", attempt_id=attempt_id)
    return _sitting(request, state)


def _saved_text(at: datetime) -> str:
    return _("Saved at %(time)s.") % {"time": timezone.localtime(at).strftime("%H:%M")}


@login_required
@require_POST
def save(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Autosave (htmx): the save status region alone. On a stale page or when time is up the
    browser is sent to the current state; without htmx, back to the question."""
    user = _user(request)
    try:
        _save(request, user, attempt_id)
    except Invalid as invalid:
        if not _is_htmx(request):
            return _sitting(request, certification.state_of(user, attempt_id),
                            error=invalid.detail, raw=request.POST.getlist("answer"), status=422)
        # 200 so that htmx swaps the message in (it does not swap 4xx answers).
        return render(request, "assessment/_exam_save_status.html", {"error": invalid.detail})
    except Conflict as conflict:
        response = _after_conflict(request, conflict, attempt_id)
        if _is_htmx(request):
            response = HttpResponse(conflict.detail, status=409)
            response["HX-Redirect"] = reverse("assessment:exam_attempt", args=[attempt_id])
        return response
    if not _is_htmx(request):
        messages.success(request, _saved_text(timezone.now()))
        return redirect("assessment:exam_attempt", attempt_id=attempt_id)
    return render(request, "assessment/_exam_save_status.html",
                  {"saved_text": _saved_text(timezone.now())})


@login_required
@require_POST
def move(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Fixed forms: go to question ``go`` (from the review page)."""
    user = _user(request)
    try:
        certification.move_to(user, attempt_id, _int_field(request, "go"))
    except (Invalid, Conflict) as refused:
        messages.warning(request, refused.detail)
    return redirect("assessment:exam_attempt", attempt_id=attempt_id)


@login_required
@require_GET
def review(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Fixed forms, before submitting: what is still unanswered."""
    state = certification.state_of(_user(request), attempt_id)
    if state.finished:
        return redirect("assessment:exam_report", attempt_id=attempt_id)
    if state.adaptive:
        return redirect("assessment:exam_attempt", attempt_id=attempt_id)
    unanswered = [entry.position for entry in state.navigator if not entry.answered]
    return render(request, "assessment/exam_review.html", {
        "state": state, "exam": state.exam, "unanswered": unanswered,
        "answered": len(state.navigator) - len(unanswered),
        "minutes_left": minutes_left(state.seconds_left),
        "hurry": state.seconds_left <= ANNOUNCE_AT_SECONDS[0],
    })


@login_required
@require_POST
def finish(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Submit; submitting twice gives the same result."""
    certification.finish_exam(_user(request), attempt_id)
    return redirect("assessment:exam_report", attempt_id=attempt_id)


@login_required
@require_POST
def signal(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """A browser signal (left the window, pasted) logged for human review; 204."""
    position = request.POST.get("position", "")
    certification.log_integrity(_user(request), attempt_id, request.POST.get("kind", ""),
                                int(position) if position.isdigit() and len(position) < 5
                                else None)
    return HttpResponse(status=204)


# ----------------------------------------------------------------------------- the report

FINISH_TEXT: dict[str, Promise] = {
    ExamAttempt.Finish.SUBMITTED: gettext_lazy("You submitted the exam."),
    ExamAttempt.Finish.TIME_EXPIRED: gettext_lazy(
        "Time ran out; the answers you had saved were scored."),
    ExamAttempt.Finish.CONFIDENT: gettext_lazy(
        "The exam stopped as soon as it was sure enough of the decision."),
    ExamAttempt.Finish.MAX_ITEMS: gettext_lazy(
        "The exam reached its maximum number of questions and decided from all of them."),
    ExamAttempt.Finish.BANK_EXHAUSTED: gettext_lazy(
        "The exam ran out of suitable questions and decided from the ones you answered."),
}


@login_required
@require_GET
def score_report(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The decision, the scaled score with its range, feedback per area; never items."""
    user = _user(request)
    try:
        result = certification.report(user, attempt_id)
    except Conflict as conflict:
        return _after_conflict(request, conflict, attempt_id)
    attempt = result.attempt
    return render(request, "assessment/exam_report.html", {
        "report": result, "attempt": attempt, "exam": result.exam,
        "pass_score": certification.SCALE_PASS,
        "finish_text": FINISH_TEXT.get(attempt.finish_reason, ""),
        "consistency_percent": None if result.consistency is None
        else round(result.consistency * 100),
        "accuracy_percent": None if result.accuracy is None else round(result.accuracy * 100),
        "credential_id": credentials.credential_for_attempt(user, attempt.pk)
        if result.passed else None,
    })
