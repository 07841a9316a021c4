"""``/api/v1/diagnostic``: the adaptive skills diagnostic for the signed-in learner.

Items come one at a time and without their keys; an answer names the item it answers, so a
stale or repeated submission is refused (409) instead of being recorded twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import services

router = Router(tags=["diagnostic"])

ExperienceLevel = Literal["none", "some", "professional"]


def caller(request: HttpRequest) -> User:
    return accounts.person(getattr(request, "auth", None))


class StartIn(Schema):
    role: str = Field(max_length=80, description="role slug, e.g. data-analyst")
    experience: dict[str, ExperienceLevel] = Field(
        default_factory=dict,
        description="per skill category of the role (e.g. data, ml): none, some or professional; "
                    "missing categories count as none")


class QuestionOut(Schema):
    item: str = Field(description="send this back with the answer")
    kind: Literal["single", "multi", "numeric", "code"]
    stem_html: str
    code_html: str
    options_html: list[str]
    unit: str
    skill: str
    area: str


class AttemptOut(Schema):
    id: int
    role: str
    status: Literal["in_progress", "finished", "abandoned"]
    answered: int
    min_items: int
    max_items: int
    stop_reason: str
    started_at: datetime
    finished_at: datetime | None
    question: QuestionOut | None


class AnswerIn(Schema):
    item: str = Field(max_length=80, description="the item being answered")
    answer: list[str] | None = Field(
        None, max_length=10,
        description="option indices as strings (one for single and code items, any number "
                    "for multi) or one number for numeric items; null means \"I don't know\"")


def _attempt(state: services.DiagnosticState) -> dict[str, Any]:
    attempt = state.attempt
    question = state.question
    return {
        "id": attempt.pk, "role": attempt.role.slug, "status": attempt.status,
        "answered": state.answered, "min_items": state.min_items, "max_items": state.max_items,
        "stop_reason": attempt.stop_reason, "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "question": None if question is None else {
            "item": question.key, "kind": question.kind, "stem_html": question.stem_html,
            "code_html": question.code_html, "options_html": question.options_html,
            "unit": question.unit, "skill": question.skill_name, "area": question.category_name,
        },
    }


@router.post("/attempts", response={201: AttemptOut},
             summary="Start the diagnostic for a role (or get the open one back)")
def start(request: HttpRequest, body: StartIn) -> Status[dict[str, Any]]:
    state = services.start_diagnostic(caller(request), body.role, body.experience)
    return Status(201, _attempt(state))


@router.get("/attempts/{attempt_id}", response=AttemptOut,
            summary="An attempt and the question to answer now (resume)")
def get_attempt(request: HttpRequest, attempt_id: int) -> dict[str, Any]:
    return _attempt(services.state_of(caller(request), attempt_id))


@router.post("/attempts/{attempt_id}/answer", response=AttemptOut,
             summary="Answer the current question; returns the next one or the finished attempt")
def answer(request: HttpRequest, attempt_id: int, body: AnswerIn) -> dict[str, Any]:
    return _attempt(services.answer_item(caller(request), attempt_id, body.item, body.answer))


@router.post("/attempts/{attempt_id}/finish", response=AttemptOut,
             summary="Finish now with the answers given so far")
def finish(request: HttpRequest, attempt_id: int) -> dict[str, Any]:
    return _attempt(services.finish_diagnostic(caller(request), attempt_id))


class ReviewOptionOut(Schema):
    html: str
    is_key: bool
    chosen: bool


class ReviewOut(Schema):
    position: int
    skill: str
    kind: str
    stem_html: str
    code_html: str
    options: list[ReviewOptionOut]
    given: str
    expected: str
    unit: str
    skipped: bool
    correct: bool
    explanation_html: str


@router.get("/attempts/{attempt_id}/review", response=list[ReviewOut],
            summary="A finished attempt's questions, answers, keys and explanations")
def review(request: HttpRequest, attempt_id: int) -> list[dict[str, Any]]:
    return [
        {**row.__dict__, "skill": row.skill_name,
         "options": [option.__dict__ for option in row.options]}
        for row in services.review(caller(request), attempt_id)
    ]
