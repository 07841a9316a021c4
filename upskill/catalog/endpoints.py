"""``/api/v1/catalog``: read-only roles, skills, programs, courses, lessons and search."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from upskill.catalog import services

router = Router(tags=["catalog"])


class SkillRef(Schema):
    slug: str
    name: str


class SkillOut(SkillRef):
    category: str
    description: str
    esco_uri: str
    prerequisites: list[str]


class RequiredSkill(Schema):
    skill: SkillRef
    level: int


class ProgramOut(Schema):
    slug: str
    title: str
    courses: list[str]


class RoleSummary(Schema):
    slug: str
    title: str
    for_whom: str


class RoleOut(RoleSummary):
    tasks: list[str]
    skills: list[RequiredSkill]
    program: ProgramOut | None


class LessonSummary(Schema):
    slug: str
    title: str
    kind: str
    minutes: int


class ModuleOut(Schema):
    slug: str
    title: str
    lessons: list[LessonSummary]


class CourseOut(Schema):
    slug: str
    title: str
    summary: str
    level: str
    audience: str
    version: str
    modules: list[ModuleOut]


class QuestionOut(Schema):
    key: str
    skill: str
    stem: str
    options: list[str]


class LessonOut(LessonSummary):
    course: str
    version: str
    skills: list[str]
    body_html: str
    video_url: str
    captions_url: str
    questions: list[QuestionOut]


class SearchHit(Schema):
    kind: str
    title: str
    snippet: str
    url: str


class SearchQuery(Schema):
    q: str = Field(min_length=1, max_length=200)


def _program(role: Any) -> dict[str, Any] | None:
    program = getattr(role, "program", None)
    if program is None:
        return None
    return {"slug": program.slug, "title": program.title, "courses": program.course_slugs}


@router.get("/roles", response=list[RoleSummary], auth=None, summary="AI job roles")
def list_roles(request: HttpRequest) -> list[Any]:
    return services.list_roles()


@router.get("/roles/{slug}", response=RoleOut, auth=None, summary="One role with its skills")
def get_role(request: HttpRequest, slug: str) -> dict[str, Any]:
    role = services.get_role(slug)
    return {
        "slug": role.slug, "title": role.title, "for_whom": role.for_whom, "tasks": role.tasks,
        "skills": [{"skill": {"slug": rs.skill.slug, "name": rs.skill.name}, "level": rs.level}
                   for rs in role.required_skills.all()],
        "program": _program(role),
    }


def _skill(skill: Any) -> dict[str, Any]:
    return {"slug": skill.slug, "name": skill.name, "category": skill.category,
            "description": skill.description, "esco_uri": skill.esco_uri,
            "prerequisites": [p.slug for p in skill.prerequisites.all()]}


@router.get("/skills", response=list[SkillOut], auth=None, summary="All skills")
def list_skills(request: HttpRequest) -> list[dict[str, Any]]:
    return [_skill(s) for s in services.list_skills(with_prerequisites=True)]


@router.get("/skills/{slug}", response=SkillOut, auth=None, summary="One skill")
def get_skill(request: HttpRequest, slug: str) -> dict[str, Any]:
    return _skill(services.get_skill(slug))


@router.get("/courses/{slug}", response=CourseOut, auth=None,
            summary="A course's current release with its outline")
def get_course(request: HttpRequest, slug: str) -> dict[str, Any]:
    course = services.current_course(slug)
    return {
        "slug": course.slug, "title": course.title, "summary": course.summary,
        "level": course.level, "audience": course.audience, "version": course.release.version,
        "modules": [{"slug": m.slug, "title": m.title, "lessons": list(m.lessons.all())}
                    for m in services.course_outline(course)],
    }


@router.get("/courses/{slug}/lessons/{lesson_slug}", response=LessonOut, auth=None,
            summary="A lesson of the course's current release (answers are not included)")
def get_lesson(request: HttpRequest, slug: str, lesson_slug: str) -> dict[str, Any]:
    course = services.current_course(slug)
    lesson = services.get_lesson(course, lesson_slug, with_skills=True)
    return {
        "slug": lesson.slug, "title": lesson.title, "kind": lesson.kind,
        "minutes": lesson.minutes, "course": course.slug, "version": course.release.version,
        "skills": [s.slug for s in lesson.skills.all()], "body_html": lesson.body_html,
        "video_url": lesson.video_url, "captions_url": lesson.captions_url,
        "questions": [{"key": q.key, "skill": q.skill.slug, "stem": q.stem,
                       "options": q.options} for q in lesson.questions.all()],
    }


@router.get("/search", response=list[SearchHit], auth=None,
            summary="Full-text search over roles, skills and lessons")
def search(request: HttpRequest, params: Query[SearchQuery]) -> list[Any]:
    return services.search_with_links(params.q)
