"""The personal learning path of a learner for a target role (services behind the path page).

The plan itself is pure (:mod:`upskill.learning.path`); this module gathers its inputs: the
skill graph, the gap from the skill profile, what the learner has mastered (profile, knowledge
tracing, tests-out), the current lessons and the learner's own order, and stores the learner's
choices in :class:`LearningPlan`. Re-planning is automatic: every page view plans again from
the current evidence, so a skill mastered through practice drops out of the path at once.

Testing out: a learner who believes they already know a skill answers a short quiz of
diagnostic items for that skill they have not seen yet (:func:`assessment.services.test_out_quiz`);
passing marks the skill as tested out, and every answer is knowledge-tracing evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import services as assessment
from upskill.catalog import services as catalog
from upskill.catalog.models import Role, Skill
from upskill.core.errors import Conflict, Invalid, NotFound
from upskill.learning import mastery as knowledge
from upskill.learning import path as planner
from upskill.learning import profile as profiles
from upskill.learning.models import LearningPlan, LessonProgress

__all__ = ["PathView", "learning_path", "move_step", "submit_test_out", "test_out_quiz"]

# A skill the profile has not measured is planned as if fully missing.
UNMEASURED_NEED = 1.0


@dataclass(frozen=True)
class StepView:
    step: planner.Step
    index: int
    week: int
    course_title: str
    lesson_slug: str
    skill_names: list[str]
    prerequisite_names: list[str]
    can_move_up: bool
    can_move_down: bool


@dataclass(frozen=True)
class PathView:
    role: Role
    profile: profiles.SkillProfile
    steps: list[StepView]
    schedule: planner.Schedule
    weekly_minutes: int
    uncovered: list[Skill]
    review: list[Skill]
    tested_out: list[Skill]
    done_count: int
    done_minutes: int
    gap_skills: list[Skill]

    @property
    def hours(self) -> float:
        return round(self.schedule.total_minutes / 60, 1)


def _key(course_slug: str, lesson_slug: str) -> str:
    return f"{course_slug}/{lesson_slug}"


def _plan_record(user: User, role: Role) -> LearningPlan:
    plan, _created = LearningPlan.objects.get_or_create(user=user, role=role)
    return plan


def _course_order(role: Role) -> dict[str, int]:
    program = getattr(role, "program", None)
    slugs: list[str] = list(program.course_slugs) if program is not None else []
    return {slug: index for index, slug in enumerate(slugs)}


def _inputs(user: User, role: Role, record: LearningPlan
            ) -> tuple[planner.Path, profiles.SkillProfile, dict[str, Skill], dict[str, str],
                       dict[str, str]]:
    profile = profiles.skill_profile(user, role)
    skills = catalog.list_skills(with_prerequisites=True)
    by_slug = {skill.slug: skill for skill in skills}
    graph = {skill.slug: [p.slug for p in skill.prerequisites.all()] for skill in skills}
    gap: dict[str, float] = {}
    mastered: set[str] = set()
    for row in profile.rows:
        if row.status == "ready":
            mastered.add(row.skill.slug)
        else:
            gap[row.skill.slug] = UNMEASURED_NEED if row.source == "none" else max(
                1.0 - row.mastery, 0.01)
    # Skills outside the role (prerequisites of its skills) count as mastered on evidence.
    others = [skill for skill in skills if skill.slug not in gap and skill.slug not in mastered]
    for skill_id, state in knowledge.mastery_for(user, [s.pk for s in others]).items():
        ready = state.p >= (knowledge.MASTERED_AT if state.source == "practice"
                            else profiles.DIAGNOSTIC_READY_AT)
        if ready and state.source != "default":
            mastered.add(next(s.slug for s in others if s.pk == skill_id))
    order = _course_order(role)
    lessons = catalog.current_lessons()
    course_titles: dict[str, str] = {}
    refs = []
    for lesson in lessons:
        course = lesson.module.course
        course_titles[course.slug] = course.title
        refs.append(planner.LessonRef(
            key=_key(course.slug, lesson.slug), title=lesson.title, course_slug=course.slug,
            skills=tuple(sorted(s.slug for s in lesson.skills.all())), minutes=lesson.minutes,
            kind=lesson.kind,
            # Program courses first, in the program's order; other courses after, by slug.
            order=(order.get(course.slug, len(order)), lesson.module.position, lesson.position),
        ))
    completed = {
        _key(course_slug, lesson_slug) for course_slug, lesson_slug in
        LessonProgress.objects.filter(user=user, completed_at__isnull=False)
        .values_list("lesson__module__course__slug", "lesson__slug")
    }
    path = planner.plan(
        skills=graph, gap=gap, mastered=mastered, lessons=refs, completed=completed,
        tested_out=set(record.tested_out), preferred_order=list(record.preferred_order),
    )
    names = {slug: skill.name for slug, skill in by_slug.items()}
    return path, profile, by_slug, course_titles, names


def learning_path(user: User, role: Role, *, today: date | None = None) -> PathView:
    record = _plan_record(user, role)
    path, profile, by_slug, course_titles, names = _inputs(user, role, record)
    weekly = accounts.get_profile(user, user).weekly_learning_minutes
    plan_schedule = planner.schedule(path.steps, weekly, today or timezone.localdate())
    week_of = {key: week for week, keys in enumerate(plan_schedule.week_steps, start=1)
               for key in keys}
    views = []
    for index, step in enumerate(path.steps):
        allowed = planner.allowed_positions(path, step.key)
        views.append(StepView(
            step=step, index=index, week=week_of[step.key],
            course_title=course_titles.get(step.course_slug, step.course_slug),
            lesson_slug=step.key.split("/", 1)[1],
            skill_names=[names.get(slug, slug) for slug in step.teaches],
            prerequisite_names=[names.get(slug, slug) for slug in step.prerequisite_of],
            can_move_up=index - 1 in allowed, can_move_down=index + 1 in allowed,
        ))
    return PathView(
        role=role, profile=profile, steps=views, schedule=plan_schedule, weekly_minutes=weekly,
        uncovered=[by_slug[slug] for slug in path.uncovered if slug in by_slug],
        review=[by_slug[slug] for slug in path.review if slug in by_slug],
        tested_out=[by_slug[slug] for slug in record.tested_out if slug in by_slug],
        done_count=len(path.done), done_minutes=path.done_minutes,
        gap_skills=[row.skill for row in profile.gaps + profile.unmeasured],
    )


def move_step(user: User, role: Role, key: str, new_index: int) -> None:
    """Move a step of the learner's path; Invalid with a readable reason if prerequisites forbid
    it (e.g. '"Joins" needs "Your first SELECT" first')."""
    with transaction.atomic():
        record = LearningPlan.objects.select_for_update().filter(pk=_plan_record(user, role).pk
                                                                 ).get()
        path = _inputs(user, role, record)[0]
        if key not in {step.key for step in path.steps}:
            raise NotFound(_("That lesson is not on your path."))
        try:
            order = planner.reorder(path, key, new_index)
        except planner.MoveBlocked as blocked:
            raise Invalid(str(blocked)) from None
        except ValueError as error:
            raise Invalid(str(error)) from None
        record.preferred_order = list(order)
        record.updated_at = timezone.now()
        record.save(update_fields=["preferred_order", "updated_at"])


def _skill_in_path(user: User, role: Role, skill_slug: str) -> Skill:
    skill = Skill.objects.filter(slug=skill_slug).first()
    if skill is None:
        raise NotFound(_("There is no such skill."))
    if not role.required_skills.filter(skill=skill).exists():
        path = _inputs(user, role, _plan_record(user, role))[0]
        if skill_slug not in path.needed:
            raise Conflict(_("This skill is not part of your path."))
    return skill


def test_out_quiz(user: User, role: Role, skill_slug: str) -> list[assessment.Question]:
    skill = _skill_in_path(user, role, skill_slug)
    return assessment.test_out_quiz(user, skill)


@dataclass(frozen=True)
class TestOutOutcome:
    result: assessment.TestOutResult
    skill: Skill


def submit_test_out(user: User, role: Role, skill_slug: str,
                    answers: Mapping[str, Sequence[str]]) -> TestOutOutcome:
    """Grade a test-out quiz; passing adds the skill to the learner's tested-out skills."""
    skill = _skill_in_path(user, role, skill_slug)
    result = assessment.grade_test_out(user, skill, answers)
    with transaction.atomic():
        for correct in result.outcomes:
            knowledge.record_evidence(user, skill, correct, "test_out")
        if result.passed:
            record = LearningPlan.objects.select_for_update().get(
                pk=_plan_record(user, role).pk)
            if skill.slug not in record.tested_out:
                record.tested_out = [*record.tested_out, skill.slug]
                record.updated_at = timezone.now()
                record.save(update_fields=["tested_out", "updated_at"])
    return TestOutOutcome(result, skill)
