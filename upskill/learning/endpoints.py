"""``/api/v1/learning``: the signed-in learner's enrolments and progress."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog.models import Role
from upskill.core.errors import NotFound
from upskill.learning import planning, services
from upskill.learning import profile as profiles

router = Router(tags=["learning"])


def caller(request: HttpRequest) -> User:
    return accounts.person(getattr(request, "auth", None))


class EnrollmentOut(Schema):
    program: str
    title: str
    role: str
    enrolled_at: datetime


def _enrollment(enrollment: Any) -> dict[str, Any]:
    return {"program": enrollment.program.slug, "title": enrollment.program.title,
            "role": enrollment.program.role.slug, "enrolled_at": enrollment.enrolled_at}


@router.get("/enrollments", response=list[EnrollmentOut], summary="My enrolments")
def list_enrollments(request: HttpRequest) -> list[dict[str, Any]]:
    return [_enrollment(e) for e in services.enrollments(caller(request))]


@router.post("/programs/{program_slug}/enrol", response={201: EnrollmentOut},
             summary="Enrol in a program (idempotent)")
def enrol(request: HttpRequest, program_slug: str) -> Status[dict[str, Any]]:
    return Status(201, _enrollment(services.enrol(caller(request), program_slug)))


class CourseProgressOut(Schema):
    course: str
    version: str
    newer_version: str | None
    completed: list[str]
    lessons: list[str]


def _progress(user: User, course_slug: str) -> dict[str, Any]:
    state = services.course_for(user, course_slug)
    return {
        "course": course_slug,
        "version": state.course.release.version,
        "newer_version": state.newer_release.version if state.newer_release else None,
        "completed": sorted(state.completed),
        "lessons": [lesson.slug for lesson in services.ordered_lessons(services.outline(state))],
    }


@router.get("/courses/{course_slug}/progress", response=CourseProgressOut,
            summary="My progress in a course, on the release I study")
def course_progress(request: HttpRequest, course_slug: str) -> dict[str, Any]:
    return _progress(caller(request), course_slug)


@router.post("/courses/{course_slug}/lessons/{lesson_slug}/complete",
             response=CourseProgressOut, summary="Mark a lesson complete (idempotent)")
def complete_lesson(request: HttpRequest, course_slug: str,
                    lesson_slug: str) -> dict[str, Any]:
    user = caller(request)
    services.complete_lesson(user, course_slug, lesson_slug)
    return _progress(user, course_slug)


@router.post("/courses/{course_slug}/move", response=CourseProgressOut,
             summary="Move to the course's newest release, keeping completed lessons")
def move(request: HttpRequest, course_slug: str) -> dict[str, Any]:
    user = caller(request)
    services.move_to_current_release(user, course_slug)
    return _progress(user, course_slug)


# --------------------------------------------------------------------------- profile and path


class SkillRowOut(Schema):
    skill: str
    name: str
    area: str
    target_level: int
    theta: float | None
    standard_error: float | None
    level: int | None
    mastery: float
    source: Literal["practice", "diagnostic", "none"]
    status: Literal["ready", "gap", "unmeasured"]


class ProfileOut(Schema):
    role: str
    measured_at: datetime | None
    summary: list[str]
    skills: list[SkillRowOut]


def _role_or_404(user: User, role: str | None) -> Role:
    found = profiles.profile_role(user, role)
    if found is None:
        raise NotFound("No role yet: pass ?role=<slug>, take a diagnostic or enrol in a program.")
    return found


@router.get("/profile", response=ProfileOut,
            summary="My skill profile for a role (default: my last diagnostic's role)")
def skill_profile(request: HttpRequest, role: str | None = None) -> dict[str, Any]:
    user = caller(request)
    profile = profiles.skill_profile(user, _role_or_404(user, role))
    return {
        "role": profile.role.slug, "measured_at": profile.measured_at,
        "summary": profile.sentences,
        "skills": [{
            "skill": row.skill.slug, "name": row.skill.name, "area": row.category_name,
            "target_level": row.target_level, "theta": row.theta,
            "standard_error": row.standard_error, "level": row.level,
            "mastery": round(row.mastery, 4), "source": row.source, "status": row.status,
        } for row in profile.rows],
    }


class StepOut(Schema):
    key: str
    title: str
    course: str
    lesson: str
    minutes: int
    week: int
    teaches: list[str]
    reason: Literal["gap", "prerequisite"]
    prerequisite_of: list[str]
    can_move_up: bool
    can_move_down: bool


class PathOut(Schema):
    role: str
    total_minutes: int
    weekly_minutes: int
    weeks: int
    finish_date: date
    steps: list[StepOut]
    uncovered: list[str]
    tested_out: list[str]


def _path(user: User, role: Role) -> dict[str, Any]:
    view = planning.learning_path(user, role)
    return {
        "role": role.slug, "total_minutes": view.schedule.total_minutes,
        "weekly_minutes": view.weekly_minutes, "weeks": view.schedule.weeks,
        "finish_date": view.schedule.finish_date,
        "steps": [{
            "key": item.step.key, "title": item.step.title, "course": item.step.course_slug,
            "lesson": item.lesson_slug, "minutes": item.step.minutes, "week": item.week,
            "teaches": list(item.step.teaches), "reason": item.step.reason,
            "prerequisite_of": list(item.step.prerequisite_of),
            "can_move_up": item.can_move_up, "can_move_down": item.can_move_down,
        } for item in view.steps],
        "uncovered": [skill.slug for skill in view.uncovered],
        "tested_out": [skill.slug for skill in view.tested_out],
    }


@router.get("/path", response=PathOut,
            summary="My learning path for a role: ordered lessons, hours and finish date")
def learning_path(request: HttpRequest, role: str | None = None) -> dict[str, Any]:
    user = caller(request)
    return _path(user, _role_or_404(user, role))


class MoveIn(Schema):
    role: str = Field(max_length=80)
    key: str = Field(max_length=200, description="the step's key, course/lesson")
    to: int = Field(ge=0, le=10_000, description="the new 0-based position")


@router.post("/path/move", response=PathOut,
             summary="Move a step of my path (refused with the reason if prerequisites forbid it)")
def move_step(request: HttpRequest, body: MoveIn) -> dict[str, Any]:
    user = caller(request)
    role = _role_or_404(user, body.role)
    planning.move_step(user, role, body.key, body.to)
    return _path(user, role)
