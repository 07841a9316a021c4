"""Catalog pages: roles (with the "which role fits me" guide), skills, search."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from upskill.catalog import role_guide, services


@require_GET
def roles(request: HttpRequest) -> HttpResponse:
    all_roles = services.list_roles()
    answers = {q.key: request.GET.get(q.key, "") for q in role_guide.QUESTIONS}
    suggestions = role_guide.suggest_roles(answers) if any(answers.values()) else []
    by_slug = {role.slug: role for role in all_roles}
    matches = [(by_slug[s.role_slug], s) for s in suggestions[:3] if s.role_slug in by_slug]
    return render(request, "catalog/roles.html", {
        "roles": all_roles,
        "questions": role_guide.QUESTIONS,
        "answers": answers,
        "matches": matches,
        "asked": any(answers.values()),
    })


@require_GET
def role(request: HttpRequest, slug: str) -> HttpResponse:
    found = services.get_role(slug)
    program = getattr(found, "program", None)
    courses = services.program_courses(program) if program else []
    return render(request, "catalog/role.html", {
        "role": found,
        "program": program,
        "courses": courses,
        "total_minutes": sum(minutes for _course, minutes in courses),
    })


@require_GET
def skill(request: HttpRequest, slug: str) -> HttpResponse:
    found = services.get_skill(slug)
    return render(request, "catalog/skill.html", {
        "skill": found,
        "lessons": services.lessons_teaching(found),
    })


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    hits = services.search_with_links(query) if query else []
    return render(request, "catalog/search.html", {"query": query, "hits": hits})
