"""``/api/v1/diagnostic``: the adaptive skills diagnostic for the signed-in learner;
``/api/v1/exams``: certification exams (``exams_router``).

Items come one at a time and without their keys; an answer names the item it answers, so a
stale or repeated submission is refused (409) instead of being recorded twice. Exam
questions come with their options in the candidate's shuffled order and never with a key,
an explanation or the original order; the score report shows no item at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import certification, services
from upskill.assessment.models import Exam

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


# ----------------------------------------------------------------------------- certification

exams_router = Router(tags=["exams"])

SignalKind = Literal["focus_lost", "paste", "resumed"]
FormKind = Literal["fixed", "adaptive"]


class ExamOut(Schema):
    program: str = Field(description="program slug: the exam's address")
    title: str
    summary: str
    form: FormKind
    min_items: int
    max_items: int
    time_limit_minutes: int


class BlueprintAreaOut(Schema):
    area: str
    weight: float = Field(description="share of the exam, 0 to 1")
    skills: list[str]


class ExamOverviewOut(ExamOut):
    blueprint: list[BlueprintAreaOut]
    confidence: float = Field(description="adaptive: stops when this sure of the decision")
    eligible: bool
    reasons: list[str] = Field(description="why the exam cannot be started now")
    missing_labs: list[str]
    attempts_used: int
    attempts_left: int
    next_attempt_at: datetime | None
    open_attempt: int | None
    time_factor: float = Field(description="the candidate's extended-time factor")
    your_time_limit_seconds: int
    cut_method: str
    cut_panel: str
    expected_consistency: float | None
    ready: bool


class ExamQuestionOut(Schema):
    item: str = Field(description="send this back with the answer")
    kind: Literal["single", "multi", "numeric", "code"]
    stem_html: str
    code_html: str
    options_html: list[str] = Field(description="in this candidate's order; answer with slots")
    unit: str
    saved: list[str] | None = Field(
        description="the saved answer: shown slots, or the number for numeric items")


class NavEntryOut(Schema):
    position: int
    answered: bool
    current: bool


class ExamStateOut(Schema):
    id: int
    program: str
    form: FormKind
    status: Literal["in_progress", "finished"]
    position: int
    length: int | None = Field(description="fixed forms: the number of questions")
    max_items: int
    seconds_left: int
    deadline: datetime
    question: ExamQuestionOut | None
    navigator: list[NavEntryOut]


class ExamAnswerIn(Schema):
    position: int = Field(ge=1, le=1000, description="the position of the question on screen")
    item_key: str = Field(max_length=80, description="the question's item, from the state")
    answer: list[Annotated[str, Field(max_length=40)]] = Field(
        max_length=10, description="shown option slots as strings, or one number for numeric "
                                   "items; an empty list clears the saved answer")


class ExamNextIn(Schema):
    position: int = Field(ge=1, le=1000)
    item_key: str = Field(max_length=80)


class ExamMoveIn(Schema):
    position: int = Field(ge=1, le=1000)


class ExamSignalIn(Schema):
    kind: SignalKind
    position: int | None = Field(None, ge=1, le=1000)


class LessonLinkOut(Schema):
    title: str
    url: str


class AreaReportOut(Schema):
    name: str
    n_items: int
    n_correct: int
    band: Literal["strength", "on_track", "work_on"]
    lessons: list[LessonLinkOut]


class ExamReportOut(Schema):
    id: int
    program: str
    passed: bool
    scale_score: int
    scale_low: int
    scale_high: int
    passing_score: int
    finish_reason: str
    accommodation: str
    finished_at: datetime | None
    areas: list[AreaReportOut]
    expected_accuracy: float | None
    expected_consistency: float | None


def _exam(exam: Exam) -> dict[str, Any]:
    return {"program": exam.program.slug, "title": exam.title, "summary": exam.summary,
            "form": exam.form_kind, "min_items": exam.min_items, "max_items": exam.max_items,
            "time_limit_minutes": exam.time_limit_seconds // 60}


def _saved(question: certification.ExamQuestion) -> list[str] | None:
    if question.saved is None:
        return None
    if isinstance(question.saved, list):
        return [str(slot) for slot in question.saved]
    return [format(question.saved, "g")]


def _exam_state(state: certification.ExamState) -> dict[str, Any]:
    attempt, question = state.attempt, state.question
    return {
        "id": attempt.pk, "program": state.exam.program.slug, "form": state.exam.form_kind,
        "status": attempt.status, "position": state.position, "length": state.length,
        "max_items": state.max_items, "seconds_left": state.seconds_left,
        "deadline": attempt.deadline,
        "question": None if question is None else {
            "item": question.key, "kind": question.kind, "stem_html": question.stem_html,
            "code_html": question.code_html, "options_html": question.options_html,
            "unit": question.unit, "saved": _saved(question)},
        "navigator": [entry.__dict__ for entry in state.navigator],
    }


@exams_router.get("", response=list[ExamOut], summary="Every certification exam")
def list_exams(request: HttpRequest) -> list[dict[str, Any]]:
    return [_exam(exam) for exam in certification.list_exams()]


@exams_router.get("/attempts/{attempt_id}", response=ExamStateOut,
                  summary="An attempt: the question on screen (no key), time left, navigator")
def exam_attempt(request: HttpRequest, attempt_id: int) -> dict[str, Any]:
    return _exam_state(certification.state_of(caller(request), attempt_id))


@exams_router.put("/attempts/{attempt_id}/answer", response=ExamStateOut,
                  summary="Autosave the answer to the question on screen")
def save_exam_answer(request: HttpRequest, attempt_id: int, body: ExamAnswerIn
                     ) -> dict[str, Any]:
    return _exam_state(certification.save_answer(caller(request), attempt_id, body.position,
                                                 body.item_key, body.answer))


@exams_router.post("/attempts/{attempt_id}/next", response=ExamStateOut,
                   summary="Adaptive: confirm the question on screen and get the next one")
def next_exam_question(request: HttpRequest, attempt_id: int, body: ExamNextIn
                       ) -> dict[str, Any]:
    return _exam_state(certification.next_question(caller(request), attempt_id, body.position,
                                                   body.item_key))


@exams_router.post("/attempts/{attempt_id}/move", response=ExamStateOut,
                   summary="Fixed forms: show the question at a position")
def move_in_exam(request: HttpRequest, attempt_id: int, body: ExamMoveIn) -> dict[str, Any]:
    return _exam_state(certification.move_to(caller(request), attempt_id, body.position))


@exams_router.post("/attempts/{attempt_id}/finish", response=ExamStateOut,
                   summary="Submit the exam (submitting twice gives one result)")
def finish_exam(request: HttpRequest, attempt_id: int) -> dict[str, Any]:
    user = caller(request)
    certification.finish_exam(user, attempt_id)
    return _exam_state(certification.state_of(user, attempt_id))


@exams_router.post("/attempts/{attempt_id}/signals", response={204: None},
                   summary="Report a browser signal, logged for human review only")
def exam_signal(request: HttpRequest, attempt_id: int, body: ExamSignalIn) -> Status[None]:
    certification.log_integrity(caller(request), attempt_id, body.kind, body.position)
    return Status(204, None)


@exams_router.get("/attempts/{attempt_id}/report", response=ExamReportOut,
                  summary="The score report of a finished attempt (never items or keys)")
def exam_report(request: HttpRequest, attempt_id: int) -> dict[str, Any]:
    result = certification.report(caller(request), attempt_id)
    attempt = result.attempt
    return {
        "id": attempt.pk, "program": result.exam.program.slug, "passed": result.passed,
        "scale_score": result.scale_score, "scale_low": result.scale_low,
        "scale_high": result.scale_high, "passing_score": certification.SCALE_PASS,
        "finish_reason": attempt.finish_reason, "accommodation": attempt.accommodation,
        "finished_at": attempt.finished_at,
        "areas": [{"name": area.name, "n_items": area.n_items, "n_correct": area.n_correct,
                   "band": area.band,
                   "lessons": [{"title": title, "url": url} for title, url in area.lessons]}
                  for area in result.areas],
        "expected_accuracy": result.accuracy, "expected_consistency": result.consistency,
    }


@exams_router.get("/{program}", response=ExamOverviewOut,
                  summary="An exam: blueprint, timing, eligibility, attempts left")
def exam_overview(request: HttpRequest, program: str) -> dict[str, Any]:
    view = certification.exam_overview(caller(request), program)
    exam = view.exam
    return {
        **_exam(exam),
        "blueprint": [{"area": a["area"], "weight": a["weight"], "skills": a["skills"]}
                      for a in exam.blueprint],
        "confidence": exam.confidence, "eligible": view.eligible, "reasons": view.reasons,
        "missing_labs": view.missing_labs, "attempts_used": view.attempts_used,
        "attempts_left": view.attempts_left, "next_attempt_at": view.next_attempt_at,
        "open_attempt": view.open_attempt.pk if view.open_attempt else None,
        "time_factor": float(view.time_factor),
        "your_time_limit_seconds": view.time_limit_seconds,
        "cut_method": exam.cut_method, "cut_panel": exam.cut_panel,
        "expected_consistency": (exam.classification or {}).get("expected_consistency"),
        "ready": view.ready,
    }


@exams_router.post("/{program}/attempts", response={201: ExamStateOut},
                   summary="Start the exam (or get the open attempt back)")
def start_exam(request: HttpRequest, program: str) -> Status[dict[str, Any]]:
    user = caller(request)
    attempt = certification.start_exam(user, program)
    return Status(201, _exam_state(certification.state_of(user, attempt.pk)))
