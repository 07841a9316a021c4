"""Public operations of learning: enrol, study a course on a pinned release, track progress.

Every function acts for ``user`` on that user's own rows only; nothing here
accepts another learner's id. A learner studies the release of a course they
started; ``move_to_current_release`` is the only way to change it, and it
carries completed lessons over by lesson slug.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.catalog.models import Course, Lesson, Program, Release
from upskill.core.errors import Conflict, NotFound
from upskill.learning.mastery import (
    FIT_KNOWLEDGE_JOB,
    MASTERED_AT,
    Mastery,
    fit_knowledge,
    is_mastered,
    knowledge_params,
    mastery_for,
    record_evidence,
    record_practice,
    schedule_knowledge_fit,
    store_knowledge_fit,
)
from upskill.learning.models import CoursePin, Enrollment, LessonProgress

if TYPE_CHECKING:
    from upskill.catalog.models import Role
    from upskill.learning.planning import PathView
    from upskill.learning.profile import SkillProfile

__all__ = [
    "FIT_KNOWLEDGE_JOB",
    "MASTERED_AT",
    "CourseState",
    "Mastery",
    "OutlineBlock",
    "OutlineItem",
    "complete_lesson",
    "continue_point",
    "course_for",
    "enrol",
    "enrollments",
    "fit_knowledge",
    "is_mastered",
    "knowledge_params",
    "learning_path",
    "mastery_for",
    "move_to_current_release",
    "open_lesson",
    "ordered_lessons",
    "outline",
    "record_evidence",
    "record_practice",
    "schedule_knowledge_fit",
    "skill_profile",
    "store_knowledge_fit",
    "weekly_progress",
]


def enrol(user: User, program_slug: str) -> Enrollment:
    """Enrol in a program (idempotent: enrolling twice returns the same enrolment)."""
    program = Program.objects.filter(slug=program_slug).first()
    if program is None:
        raise NotFound(_("There is no program %s.") % program_slug)
    try:
        with transaction.atomic():
            enrollment, _created = Enrollment.objects.get_or_create(user=user, program=program)
    except IntegrityError:
        enrollment = Enrollment.objects.get(user=user, program=program)
    return enrollment


def enrollments(user: User) -> list[Enrollment]:
    return list(Enrollment.objects.filter(user=user).select_related("program__role")
                .order_by("enrolled_at"))


@dataclass(frozen=True)
class CourseState:
    course: Course
    pinned: bool
    newer_release: Release | None
    completed: frozenset[str]

    @property
    def changes_since(self) -> list[dict[str, object]]:
        """Changelog entries newer than the learner's release, newest first."""
        if self.newer_release is None:
            return []
        mine = self.course.release.version
        entries: list[dict[str, object]] = []
        for entry in self.newer_release.changelog:
            if entry["version"] == mine:
                break
            entries.append(entry)
        return entries


@dataclass(frozen=True)
class OutlineItem:
    lesson: Lesson
    done: bool


@dataclass(frozen=True)
class OutlineBlock:
    title: str
    items: list[OutlineItem]


def outline(state: CourseState) -> list[OutlineBlock]:
    """The course's modules and lessons in order, each lesson marked done or not."""
    return [
        OutlineBlock(module.title, [OutlineItem(lesson, lesson.slug in state.completed)
                                    for lesson in module.lessons.all()])
        for module in catalog.course_outline(state.course)
    ]


def ordered_lessons(blocks: list[OutlineBlock]) -> list[Lesson]:
    return [item.lesson for block in blocks for item in block.items]


def _pin(user: User, course_slug: str) -> CoursePin | None:
    return CoursePin.objects.select_related("release").filter(
        user=user, course_slug=course_slug).first()


def course_for(user: User | None, course_slug: str) -> CourseState:
    """The course as this learner sees it: their pinned release, or the current one."""
    current = catalog.current_course(course_slug)
    pin = _pin(user, course_slug) if user is not None else None
    if pin is None or pin.release_id == current.release_id:
        course, newer = current, None
    else:
        course = catalog.get_course_in_release(course_slug, pin.release_id)
        newer = current.release
    completed: frozenset[str] = frozenset()
    if user is not None:
        completed = frozenset(LessonProgress.objects.filter(
            user=user, lesson__module__course=course, completed_at__isnull=False,
        ).values_list("lesson__slug", flat=True))
    return CourseState(course=course, pinned=pin is not None, newer_release=newer,
                       completed=completed)


def open_lesson(user: User, course_slug: str, lesson_slug: str) -> tuple[CourseState, Lesson]:
    """Open a lesson on the learner's release, pinning the course on first visit and
    remembering it as the place to continue from."""
    state = course_for(user, course_slug)
    lesson = catalog.get_lesson(state.course, lesson_slug)
    now = timezone.now()
    with transaction.atomic():
        if not state.pinned:
            CoursePin.objects.get_or_create(
                user=user, course_slug=course_slug, defaults={"release": state.course.release})
        seen_before = LessonProgress.objects.filter(user=user, lesson=lesson).update(
            last_opened_at=now)
        if not seen_before:
            LessonProgress.objects.get_or_create(
                user=user, lesson=lesson, defaults={"first_opened_at": now, "last_opened_at": now})
    return replace(state, pinned=True), lesson


def complete_lesson(user: User, course_slug: str, lesson_slug: str) -> Lesson:
    """Mark a lesson of the learner's release complete (idempotent)."""
    _state, lesson = open_lesson(user, course_slug, lesson_slug)
    LessonProgress.objects.filter(user=user, lesson=lesson, completed_at__isnull=True).update(
        completed_at=timezone.now())
    return lesson


@transaction.atomic
def move_to_current_release(user: User, course_slug: str) -> CourseState:
    """Move the learner to the newest release, keeping completed lessons that still exist."""
    pin = _pin(user, course_slug)
    current = catalog.current_course(course_slug)
    if pin is None:
        raise Conflict(_("You have not started this course yet."))
    if pin.release_id == current.release_id:
        return course_for(user, course_slug)
    old_done = LessonProgress.objects.filter(
        user=user, lesson__module__course__release_id=pin.release_id,
        lesson__module__course__slug=course_slug, completed_at__isnull=False,
    ).values_list("lesson__slug", "completed_at")
    done_at = dict(old_done)
    for lesson in Lesson.objects.filter(module__course=current, slug__in=list(done_at)):
        LessonProgress.objects.get_or_create(
            user=user, lesson=lesson, defaults={"completed_at": done_at[lesson.slug]})
    pin.release = current.release
    pin.pinned_at = timezone.now()
    pin.save(update_fields=["release", "pinned_at"])
    return course_for(user, course_slug)


def continue_point(user: User) -> Lesson | None:
    """The lesson the learner opened most recently, to continue where they left off."""
    progress = (LessonProgress.objects.select_related("lesson__module__course")
                .filter(user=user).order_by("-last_opened_at").first())
    return progress.lesson if progress else None


def week_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    monday = local - timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def weekly_progress(user: User, goal_minutes: int) -> dict[str, int]:
    """Minutes of lessons completed since Monday (learner's time zone) against the goal."""
    since = week_start(timezone.now())
    done = LessonProgress.objects.filter(user=user, completed_at__gte=since).aggregate(
        minutes=Sum("lesson__minutes"))["minutes"] or 0
    percent = min(100, round(100 * done / goal_minutes)) if goal_minutes else 0
    return {"done_minutes": int(done), "goal_minutes": goal_minutes, "percent": percent}


def skill_profile(user: User, role: Role) -> SkillProfile:
    """The learner's skill profile for ``role`` (estimates, gaps, readiness); read-only. The
    caller has checked that whoever sees it may (mentoring: the learner's consent)."""
    from upskill.learning.profile import skill_profile as build  # profile imports services

    return build(user, role)


def learning_path(user: User, role: Role) -> PathView:
    """The learner's planned path for ``role``; read-only (the caller checks who may see it)."""
    from upskill.learning.planning import learning_path as build  # planning imports services

    return build(user, role)
