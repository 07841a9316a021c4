"""Learner pages for the skill profile, the personal learning path and testing out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog.models import Role
from upskill.core.errors import Invalid, NotFound
from upskill.learning import planning
from upskill.learning import profile as profiles


def _user(request: HttpRequest) -> User:
    return accounts.person(request.user)


def _role(request: HttpRequest, user: User) -> Role | None:
    slug = request.GET.get("role") or request.POST.get("role") or None
    return profiles.profile_role(user, slug)


def _path_url(role: Role) -> str:
    return reverse("learning:path") + f"?role={role.slug}"


@login_required
def skills(request: HttpRequest) -> HttpResponse:
    """Where the learner stands on each skill of the target role (chart, table, sentences)."""
    user = _user(request)
    role = _role(request, user)
    profile = profiles.skill_profile(user, role) if role is not None else None
    return render(request, "learning/skills.html", {"profile": profile})


@login_required
def path(request: HttpRequest) -> HttpResponse:
    """The ordered lessons that close the gap, with hours and a finish date."""
    user = _user(request)
    role = _role(request, user)
    if role is None:
        return render(request, "learning/path.html", {"view": None})
    return render(request, "learning/path.html", {"view": planning.learning_path(user, role)})


@login_required
@require_POST
def move(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    role = _role(request, user)
    if role is None:
        raise NotFound(_("Choose a role first."))
    key = request.POST.get("key", "")
    raw_index = request.POST.get("to", "")
    try:
        if not raw_index.lstrip("-").isdigit():
            raise Invalid(_("Say where to move the lesson."))
        planning.move_step(user, role, key, int(raw_index))
    except Invalid as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, _("Moved. Your path keeps this order from now on."))
    return redirect(_path_url(role) + f"#step-{key.replace('/', '-')}")


@login_required
def test_out(request: HttpRequest, skill_slug: str) -> HttpResponse:
    """A short quiz to skip a skill's lessons (GET shows it, POST grades it)."""
    user = _user(request)
    role = _role(request, user)
    if role is None:
        raise NotFound(_("Choose a role first."))
    if request.method == "POST":
        answers = {key[2:]: request.POST.getlist(key) for key in request.POST
                   if key.startswith("a-")}
        try:
            outcome = planning.submit_test_out(user, role, skill_slug, answers)
        except Invalid as error:
            questions = planning.test_out_quiz(user, role, skill_slug)
            return render(request, "learning/test_out.html", {
                "role": role, "skill_slug": skill_slug, "questions": questions,
                "error": error.detail, "answers": answers,
            }, status=422)
        result = outcome.result
        if result.passed:
            messages.success(request, _("You tested out of %(skill)s (%(correct)d of %(total)d "
                                        "right). Its lessons are off your path.")
                             % {"skill": outcome.skill.name, "correct": result.correct,
                                "total": result.total})
        else:
            messages.info(request, _("%(correct)d of %(total)d right; %(needed)d were needed to "
                                     "test out of %(skill)s. The lessons stay on your path.")
                          % {"skill": outcome.skill.name, "correct": result.correct,
                             "total": result.total, "needed": result.needed})
        return redirect(_path_url(role))
    return render(request, "learning/test_out.html", {
        "role": role, "skill_slug": skill_slug,
        "questions": planning.test_out_quiz(user, role, skill_slug), "answers": {},
    })
