"""``/api/v1/labs``: project labs, submitting code, following its grading, leaderboards.

Every route acts for the caller; a submission of someone else is 404. Private scores appear
only once the lab's private window is open (``private_visible_after``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.core.errors import Invalid
from upskill.labs import services

router = Router(tags=["labs"])


def caller(request: HttpRequest) -> User:
    return accounts.person(getattr(request, "auth", None))


class LabOut(Schema):
    slug: str
    title: str
    summary: str
    kind: Literal["classification", "forecast"]
    minutes: int
    skills: list[str]
    dataset_title: str
    daily_limit: int


class LabDetailOut(LabOut):
    brief_html: str
    hints_html: list[str]
    licence: str
    source_url: str
    citation: str
    metric: str
    higher_is_better: bool
    private_visible_after: datetime | None
    submissions_left_today: int


def _lab(lab: Any) -> dict[str, Any]:
    return {"slug": lab.slug, "title": lab.title, "summary": lab.summary, "kind": lab.kind,
            "minutes": lab.minutes, "skills": [skill.slug for skill in lab.skills.all()],
            "dataset_title": lab.dataset_title, "daily_limit": lab.daily_limit}


@router.get("", response=list[LabOut], summary="The labs of the current catalog")
def list_labs(request: HttpRequest) -> list[dict[str, Any]]:
    caller(request)
    return [_lab(lab) for lab in services.list_labs()]


class CheckOut(Schema):
    id: str
    title: str
    passed: bool | None = Field(description="null: not reached, an earlier check failed")
    message: str
    detail: str = Field(description="a traceback of your own code's frames, if any")


class ScoreOut(Schema):
    id: str
    title: str
    metric: str
    label: str
    score: float
    baseline: float
    baseline_name: str
    pass_score: float
    higher_is_better: bool
    passed: bool
    message: str


class SubmissionOut(Schema):
    id: int
    lab: str
    status: Literal["queued", "running", "graded", "failed", "error"]
    finished: bool
    source_kind: Literal["editor", "py", "ipynb"]
    created_at: datetime
    graded_at: datetime | None
    message: str
    checks: list[CheckOut]
    public: list[ScoreOut]
    private: list[ScoreOut] | None = Field(
        description="null until the lab's private window opens")
    private_visible_after: datetime | None
    public_score: float | None
    private_score: float | None
    passed: bool | None
    output_excerpt: str = Field(description="plain text: escape it when you show it")
    runtime_s: float | None


def _submission(view: services.SubmissionView) -> dict[str, Any]:
    submission = view.submission
    return {
        "id": submission.pk, "lab": submission.lab.slug, "status": view.status,
        "finished": view.finished, "source_kind": submission.source_kind,
        "created_at": submission.created_at, "graded_at": submission.graded_at,
        "message": view.message, "checks": view.checks, "public": view.public,
        "private": view.private, "private_visible_after": view.private_visible_after,
        "public_score": submission.public_score,
        "private_score": submission.private_score if view.private is not None else None,
        "passed": submission.passed, "output_excerpt": submission.output_excerpt,
        "runtime_s": submission.runtime_s,
    }


class CodeIn(Schema):
    code: str = Field(description="the Python code (at most 200 KB)")
    source_kind: Literal["editor", "py"] = "editor"


@router.post("/{slug}/submissions", response={201: SubmissionOut},
             summary="Submit code written in the editor and queue its grading")
def submit(request: HttpRequest, slug: str, body: CodeIn) -> Status[dict[str, Any]]:
    user = caller(request)
    submission = services.submit(user, slug, body.code, body.source_kind)
    return Status(201, _submission(services.submission_status(user, submission.pk)))


@router.post("/{slug}/submissions/upload", response={201: SubmissionOut},
             summary="Upload a .py file or a .ipynb notebook and queue its grading")
def upload(request: HttpRequest, slug: str,
           file: File[UploadedFile]) -> Status[dict[str, Any]]:
    user = caller(request)
    name = (file.name or "").lower()
    kind = "ipynb" if name.endswith(".ipynb") else "py" if name.endswith(".py") else None
    if kind is None:
        raise Invalid("Upload a .py file or a .ipynb notebook.")
    services.check_size(file.size or 0, kind)  # before reading any of it
    submission = services.submit(user, slug, file.read(), kind)
    return Status(201, _submission(services.submission_status(user, submission.pk)))


@router.get("/submissions/{submission_id}", response=SubmissionOut,
            summary="One of my submissions: status, checks, scores (poll until finished)")
def submission_status(request: HttpRequest, submission_id: int) -> dict[str, Any]:
    return _submission(services.submission_status(caller(request), submission_id))


class PreferenceIn(Schema):
    show_on_leaderboard: bool
    public_name: str = Field("", max_length=200)


class PreferenceOut(Schema):
    show_on_leaderboard: bool
    public_name: str


@router.get("/preferences", response=PreferenceOut,
            summary="Whether I appear by name on leaderboards")
def get_preferences(request: HttpRequest) -> dict[str, Any]:
    preference = services.leaderboard_preference(caller(request))
    return {"show_on_leaderboard": preference.show_on_leaderboard,
            "public_name": preference.public_name}


@router.put("/preferences", response=PreferenceOut,
            summary="Opt in to (or out of) appearing by a public name on leaderboards")
def put_preferences(request: HttpRequest, body: PreferenceIn) -> dict[str, Any]:
    preference = services.set_leaderboard_preference(
        caller(request), show=body.show_on_leaderboard, public_name=body.public_name)
    return {"show_on_leaderboard": preference.show_on_leaderboard,
            "public_name": preference.public_name}


class PortfolioOut(Schema):
    lab: str
    title: str
    summary: str
    submission: int
    metric: str
    public_score: float
    private_score: float | None
    passed: bool
    graded_at: datetime
    skills: list[str]


@router.get("/portfolio", response=list[PortfolioOut],
            summary="My graded labs, best submission each, for a portfolio")
def portfolio(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"lab": item.lab.slug, "title": item.lab.title, "summary": item.lab.summary,
             "submission": item.submission.pk, "metric": item.metric_label,
             "public_score": item.public_score, "private_score": item.private_score,
             "passed": item.passed, "graded_at": item.graded_at, "skills": item.skills}
            for item in services.portfolio_items(caller(request))]


@router.get("/{slug}", response=LabDetailOut, summary="A lab: brief, hints, data licence")
def get_lab(request: HttpRequest, slug: str) -> dict[str, Any]:
    user = caller(request)
    lab = services.get_lab(slug)
    metric = services.primary_metric(lab)
    return {**_lab(lab), "brief_html": lab.brief_html, "hints_html": lab.hints_html,
            "licence": lab.licence, "source_url": lab.source_url, "citation": lab.citation,
            "metric": metric.label, "higher_is_better": metric.higher_is_better,
            "private_visible_after": lab.private_visible_after,
            "submissions_left_today": services.submissions_left_today(user, slug)}


@router.get("/{slug}/starter/{kind}", summary="The starter template: kind py or ipynb")
def starter(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    caller(request)
    name, text = services.starter_file(slug, kind)
    content_type = "application/x-ipynb+json" if kind == "ipynb" else "text/x-python"
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/{slug}/submissions", response=list[SubmissionOut],
            summary="My submissions to a lab, newest first")
def history(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return [_submission(view) for view in services.history(caller(request), slug)]


class EntryOut(Schema):
    rank: int
    name: str
    score: float
    submitted_at: datetime
    is_you: bool


class LeaderboardOut(Schema):
    lab: str
    metric: str
    higher_is_better: bool
    public: list[EntryOut]
    final: list[EntryOut] | None = Field(
        description="the private ranking; null until the lab's private window opens")


@router.get("/{slug}/leaderboard", response=LeaderboardOut,
            summary="Best public score per learner; the final ranking once it is open")
def leaderboard(request: HttpRequest, slug: str) -> dict[str, Any]:
    board = services.leaderboard(slug, viewer=caller(request))
    return {"lab": board.lab.slug, "metric": board.metric_label,
            "higher_is_better": board.higher_is_better,
            "public": [entry.__dict__ for entry in board.public],
            "final": None if board.final is None else [e.__dict__ for e in board.final]}
