"""Lab pages: the list, a lab with its submit form, a submission's grading, leaderboards and
the learner's portfolio. Thin: each view calls :mod:`upskill.labs.services` and renders."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.core.errors import DomainError, Invalid, NotFound
from upskill.labs import services
from upskill.labs.models import Lab

# The whole submit request may hold at most a notebook at its limit plus the form around it;
# anything longer is refused from its Content-Length, before its body is read.
MAX_REQUEST_BYTES = services.MAX_NOTEBOOK_BYTES + 64_000
UPLOAD_KINDS = {".py": "py", ".ipynb": "ipynb"}


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


@login_required
@require_GET
def lab_list(request: HttpRequest) -> HttpResponse:
    """Every lab of the catalog with the learner's best score on it."""
    best = {item.lab.slug: item for item in services.portfolio_items(_user(request))}
    return render(request, "labs/list.html", {
        "rows": [(lab, best.get(lab.slug)) for lab in services.list_labs()],
    })


def _lab_page(request: HttpRequest, lab: Lab, *, code: str | None = None, error: str = "",
              status: int = 200) -> HttpResponse:
    user = _user(request)
    history = services.history(user, lab.slug)
    if code is None:
        code = history[0].submission.code if history else lab.starter_py
    return render(request, "labs/detail.html", {
        "lab": lab, "metric": services.primary_metric(lab), "code": code, "error": error,
        "history": history, "left": services.submissions_left_today(user, lab.slug),
        "private_visible": services.private_visible(lab),
    }, status=status)


@login_required
@require_GET
def lab_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The brief, data, hints, downloads, the submit form and the learner's history."""
    return _lab_page(request, services.get_lab(slug))


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt  # checked in _submit, after the size check, so a huge body is never parsed
@login_required
@require_POST
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    """Send code (from the editor or an uploaded file) to grading; back to the lab page with
    the reason and a 4xx status when it is refused."""
    lab = services.get_lab(slug)
    if _content_length(request) > MAX_REQUEST_BYTES:
        return _lab_page(request, lab, status=413, error=_(
            "What you sent is larger than %(limit)d MB; the limit for a notebook is %(limit)d "
            "MB and for a .py file 200 KB. Remove outputs and data from the file and try "
            "again.") % {"limit": services.MAX_NOTEBOOK_BYTES // 1_000_000})
    try:
        request.POST  # noqa: B018 -- parsed here so that an oversized form gets this page
    except RequestDataTooBig:
        return _lab_page(request, lab, status=413, error=_(
            "Your code is too long to send; the limit is 200 KB."))
    return _submit(request, lab)


@csrf_protect
def _submit(request: HttpRequest, lab: Lab) -> HttpResponse:
    typed = request.POST.get("code", "").replace("\r\n", "\n")  # forms send CRLF
    try:
        content, kind = _what_was_sent(request, typed)
        submission = services.submit(_user(request), lab.slug, content, kind)
    except DomainError as refused:
        if not isinstance(refused, Invalid | services.LimitReached):
            raise
        return _lab_page(request, lab, code=typed, error=refused.detail,
                         status=refused.status)
    return redirect("labs:submission", slug=lab.slug, submission_id=submission.pk)


def _what_was_sent(request: HttpRequest, typed: str) -> tuple[str | bytes, str]:
    """(content, source kind): the uploaded file if there is one, else the editor's text."""
    upload = request.FILES.get("upload")
    if upload is None:
        return typed, "editor"
    name = (upload.name or "").lower()
    kind = next((k for suffix, k in UPLOAD_KINDS.items() if name.endswith(suffix)), None)
    if kind is None:
        raise Invalid(_("Upload a .py file or a .ipynb notebook."))
    services.check_size(upload.size or 0, kind)  # before reading it
    return upload.read(), kind


def _submission_context(request: HttpRequest, slug: str, submission_id: int) -> dict[str, Any]:
    view = services.submission_status(_user(request), submission_id)
    if view.lab.slug != slug:
        raise NotFound(_("There is no submission %d of yours.") % submission_id)
    return {"view": view, "lab": view.lab, "submission": view.submission}


@login_required
@require_GET
def submission(request: HttpRequest, slug: str, submission_id: int) -> HttpResponse:
    """A submission: live status while it grades, then feedback per check."""
    return render(request, "labs/submission.html",
                  _submission_context(request, slug, submission_id))


@login_required
@require_GET
def submission_status(request: HttpRequest, slug: str, submission_id: int) -> HttpResponse:
    """The status region alone, for htmx polling; once finished it is the whole feedback."""
    return render(request, "labs/_status.html",
                  {**_submission_context(request, slug, submission_id), "oob": True})


@login_required
def leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    """The public board, the final ranking once open, and the learner's name preference."""
    user = _user(request)
    error = ""
    if request.method == "POST":
        try:
            services.set_leaderboard_preference(
                user, show=request.POST.get("show") == "on",
                public_name=request.POST.get("public_name", ""))
        except Invalid as invalid:
            error = invalid.detail
        else:
            return redirect("labs:leaderboard", slug=slug)
    preference = services.leaderboard_preference(user)
    return render(request, "labs/leaderboard.html", {
        "board": services.leaderboard(slug, viewer=user), "preference": preference,
        "error": error,
        "public_name": request.POST.get("public_name", "") if error else preference.public_name,
    }, status=400 if error else 200)


@login_required
@require_GET
def starter(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    name, text = services.starter_file(slug, kind)
    content_type = "application/x-ipynb+json" if kind == "ipynb" else "text/x-python"
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def training_data(request: HttpRequest, slug: str) -> FileResponse:
    name, path = services.training_data(slug)
    return FileResponse(path.open("rb"), as_attachment=True, filename=name,
                        content_type="text/csv")


@login_required
@require_GET
def portfolio(request: HttpRequest) -> HttpResponse:
    """The learner's graded labs, best submission each."""
    return render(request, "labs/portfolio.html",
                  {"items": services.portfolio_items(_user(request))})
