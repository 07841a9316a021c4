"""``/api/v1/learning``: the signed-in learner's enrolments and progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.learning import services

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
