"""Learner pages: dashboard, course outline, lesson player, enrolment and progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import services as assessment
from upskill.catalog.models import Lesson, Skill
from upskill.learning import profile as profiles
from upskill.learning import services
from upskill.learning.services import CourseState, Mastery
from upskill.mentoring import services as mentoring


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The learner's home: where they stand and the one next thing to do."""
    user = _user(request)
    profile = accounts.get_profile(user, user)
    return render(request, "learning/dashboard.html", {
        "profile": profile,
        "memberships": accounts.list_organizations(user),
        "roles": accounts.roles_of(user),
        "enrollments": services.enrollments(user),
        "continue_lesson": services.continue_point(user),
        "week": services.weekly_progress(user, profile.weekly_learning_minutes),
        "skills": _skills_summary(user),
    })


def _skills_summary(user: User) -> dict[str, object]:
    """What the dashboard says about the skill gap: an open diagnostic, or the profile's
    headline for the learner's role, or an invitation to measure."""
    open_attempt = assessment.open_attempt(user)
    role = profiles.profile_role(user)
    profile = profiles.skill_profile(user, role) if role is not None else None
    measured = profile is not None and any(row.source != "none" for row in profile.rows)
    return {"open_attempt": open_attempt, "profile": profile if measured else None}


@login_required
@require_POST
def enrol(request: HttpRequest, program_slug: str) -> HttpResponse:
    enrollment = services.enrol(_user(request), program_slug)
    messages.success(request, _("You are enrolled in %s.") % enrollment.program.title)
    first = enrollment.program.course_slugs[0] if enrollment.program.course_slugs else None
    return redirect("learning:course", slug=first) if first else redirect("dashboard")


@require_GET
def course(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user if isinstance(request.user, User) else None
    state = services.course_for(user, slug)
    blocks = services.outline(state)
    lessons = services.ordered_lessons(blocks)
    next_lesson = next((item.lesson for block in blocks for item in block.items
                        if not item.done), None)
    return render(request, "learning/course.html", {
        "state": state,
        "course": state.course,
        "outline": blocks,
        "total_minutes": sum(lesson.minutes for lesson in lessons),
        "lesson_count": len(lessons),
        "next_lesson": next_lesson,
    })


@login_required
@require_GET
def lesson(request: HttpRequest, slug: str, lesson_slug: str) -> HttpResponse:
    state, current = services.open_lesson(_user(request), slug, lesson_slug)
    return _render_lesson(request, state, current, feedback=None)


def _render_lesson(request: HttpRequest, state: CourseState, current: Lesson,
                   feedback: dict[int, dict[str, object]] | None,
                   mastery: list[tuple[Skill, Mastery]] | None = None) -> HttpResponse:
    ordered = services.ordered_lessons(services.outline(state))
    index = next(i for i, item in enumerate(ordered) if item.pk == current.pk)
    return render(request, "learning/lesson.html", {
        "state": state,
        "course": state.course,
        "lesson": current,
        "done": current.slug in state.completed,
        "previous": ordered[index - 1] if index > 0 else None,
        "next": ordered[index + 1] if index + 1 < len(ordered) else None,
        "position": index + 1,
        "count": len(ordered),
        "feedback": feedback,
        "mastery": mastery,
        # A live lesson shows its session, and once published its recording.
        "live": mentoring.live_for_lesson(_user(request), current.ref)
        if current.kind == Lesson.Kind.LIVE else None,
    })


@login_required
@require_POST
def complete(request: HttpRequest, slug: str, lesson_slug: str) -> HttpResponse:
    user = _user(request)
    services.complete_lesson(user, slug, lesson_slug)
    state = services.course_for(user, slug)
    slugs = [lesson.slug for lesson in services.ordered_lessons(services.outline(state))]
    position = slugs.index(lesson_slug)
    if position + 1 < len(slugs):
        messages.success(request, _("Lesson complete. On to the next one."))
        return redirect("learning:lesson", slug=slug, lesson_slug=slugs[position + 1])
    messages.success(request, _("You finished the last lesson of this course."))
    return redirect("learning:course", slug=slug)


@login_required
@require_POST
def practice(request: HttpRequest, slug: str, lesson_slug: str) -> HttpResponse:
    """Check the practice answers, show what was right with explanations, record the answers
    as evidence of the signed-in learner's skills and show their mastery of each."""
    user = _user(request)
    state, current = services.open_lesson(user, slug, lesson_slug)
    questions = list(current.questions.select_related("skill"))
    answers = [(question, _chosen_option(request.POST.get(f"q{question.pk}", ""),
                                         len(question.options)))
               for question in questions]
    masteries = services.record_practice(user, answers)
    feedback: dict[int, dict[str, object]] = {
        question.pk: {"chosen": chosen, "correct": chosen == question.answer}
        for question, chosen in answers}
    skills = sorted({question.skill for question in questions}, key=lambda skill: skill.name)
    return _render_lesson(request, state, current, feedback=feedback,
                          mastery=[(skill, masteries[skill.pk]) for skill in skills])


def _chosen_option(raw: str, n_options: int) -> int | None:
    """The option index sent for a question, or None when it is missing or not one of the
    options (anything a browser would not send counts as unanswered)."""
    # isascii: str.isdigit accepts digits such as "²" that int() refuses; the length cap
    # keeps int() away from its limit on very long digit strings.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
        return None
    chosen = int(raw)
    return chosen if chosen < n_options else None


@login_required
@require_POST
def move_release(request: HttpRequest, slug: str) -> HttpResponse:
    state = services.move_to_current_release(_user(request), slug)
    messages.success(request, _("You are now on version %s of this course.")
                     % state.course.release.version)
    return redirect("learning:course", slug=slug)
