"""Peer review pages: the round, submitting a write-up, training, reviewing, feedback, staff.

Thin: each view parses the request, calls :mod:`upskill.community.review_services` and
renders. A refused form (a missing criterion, a closed round) shows the page again with the
reason and the matching status; other refusals become the error page through
``DomainErrorMiddleware``. No page a learner sees names another learner.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.community import review_services as services
from upskill.community.reviewing import Rubric
from upskill.core.errors import DomainError, Invalid


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


def _scores(request: HttpRequest, rubric: Rubric) -> dict[str, str]:
    """The rubric choices posted as ``c-<criterion key>``; missing ones are left out, so the
    service names the first criterion without an answer."""
    chosen = {}
    for criterion in rubric.criteria:
        value = request.POST.get(f"c-{criterion.key}")
        if value:
            chosen[criterion.key] = str(value)
    return chosen


def _int(raw: object, what: str) -> int:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        raise Invalid(_("%s must be a whole number.") % what) from None


@login_required
@require_GET
def activity(request: HttpRequest, slug: str) -> HttpResponse:
    """The round: prompt, rubric, the learner's write-up, training and reviews owed."""
    page = services.activity_page(_user(request), services.get_activity(slug))
    return render(request, "community/review_activity.html", {"page": page})


@login_required
@require_POST
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    user = _user(request)
    round_ = services.get_activity(slug)
    text = str(request.POST.get("text", ""))
    group = request.POST.get("study_group") or None
    try:
        services.submit_write_up(user, round_, text, study_group_id=(
            _int(group, _("The study group")) if group else None),
            shared=request.POST.get("shared") == "1")
    except DomainError as refused:
        page = services.activity_page(user, round_)
        return render(request, "community/review_activity.html", {
            "page": page, "error": refused.detail, "text": text}, status=refused.status)
    messages.success(request, _("Your write-up is submitted."))
    return redirect("peer_review:activity", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def training(request: HttpRequest, slug: str) -> HttpResponse:
    """One training example at a time; after a try, which criteria were off and why."""
    user = _user(request)
    round_ = services.get_activity(slug)
    if request.method == "POST":
        example_id = _int(request.POST.get("example"), _("The example"))
        try:
            attempt = services.submit_training(user, round_, example_id,
                                               _scores(request, services.rubric_of(round_)))
        except DomainError as refused:
            return render(request, "community/review_training.html", {
                "page": services.training_page(user, round_), "activity": round_,
                "rubric": services.rubric_of(round_), "error": refused.detail},
                status=refused.status)
        if attempt.passed:
            messages.success(request, _("That matches the staff scores."))
        return redirect("peer_review:training", slug=slug)
    return render(request, "community/review_training.html", {
        "page": services.training_page(user, round_), "activity": round_,
        "rubric": services.rubric_of(round_)})


@login_required
@require_POST
def next_review(request: HttpRequest, slug: str) -> HttpResponse:
    """Hand the learner a write-up to review (their open one first)."""
    assignment = services.request_review(_user(request), services.get_activity(slug))
    if assignment is None:
        messages.info(request, _("There is no write-up for you to review right now."))
        return redirect("peer_review:activity", slug=slug)
    return redirect("peer_review:review", assignment_id=assignment.pk)


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """The write-up (no author's name) beside the rubric form."""
    user = _user(request)
    page = services.assignment_page(user, assignment_id)
    if request.method == "POST":
        comment = str(request.POST.get("comment", ""))
        try:
            services.submit_review(user, assignment_id, _scores(request, page.rubric), comment)
        except DomainError as refused:
            return render(request, "community/review_form.html", {
                "page": page, "error": refused.detail, "comment": comment},
                status=refused.status)
        messages.success(request, _("Thank you: your review is in."))
        return redirect("peer_review:activity", slug=page.activity.slug)
    return render(request, "community/review_form.html", {"page": page,
                                                          "comment": page.comment})


@login_required
@require_GET
def feedback(request: HttpRequest, slug: str) -> HttpResponse:
    """The learner's grade (median of the peers) and the reviews they received, anonymous."""
    page = services.feedback_page(_user(request), services.get_activity(slug))
    return render(request, "community/review_feedback.html", {"page": page})


@login_required
@require_GET
def write_up(request: HttpRequest, write_up_id: int) -> HttpResponse:
    view = services.read_write_up(_user(request), write_up_id)
    return render(request, "community/review_write_up.html", {"view": view})


@login_required
@require_GET
def staff(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff: every write-up with names, reviews, accuracy, grades and escalations."""
    overview = services.staff_overview(_user(request), services.get_activity(slug))
    return render(request, "community/review_staff.html", {"overview": overview})


@login_required
@require_POST
def resolve(request: HttpRequest, slug: str, escalation_id: int) -> HttpResponse:
    user = _user(request)
    round_ = services.get_activity(slug)
    services.resolve_escalation(user, escalation_id, _scores(request, services.rubric_of(round_)),
                                str(request.POST.get("note", "")))
    messages.success(request, _("The write-up is graded."))
    return redirect("peer_review:staff", slug=slug)
