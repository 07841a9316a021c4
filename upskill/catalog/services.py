"""Public operations of the catalog: importing content, browsing, searching.

Importing is all-or-nothing: every package under the given folder is read and
checked first, and if anything is wrong nothing is written and every problem
is returned (file, field, reason). An unchanged package (same digest) creates
no release; a changed one must carry a new version and becomes the current
release, while older releases stay for the learners pinned to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Prefetch, Sum
from django.utils.translation import gettext as _

from upskill.catalog import lecture_media
from upskill.catalog import search as search_index
from upskill.catalog.models import (
    ContentPackage,
    Course,
    Lesson,
    Module,
    Program,
    Question,
    Release,
    Role,
    RoleSkill,
    SearchDocument,
    Skill,
)
from upskill.catalog.packages import (
    ItemSpec,
    LessonDoc,
    Package,
    Problem,
    RoleSpec,
    SkillSpec,
    Tree,
    check_references,
    load_tree,
)
from upskill.core import jobs
from upskill.core.errors import NotFound
from upskill.core.markdown import plain_text, render_markdown

__all__ = [
    "LECTURE_MEDIA_JOB",
    "ImportReport",
    "ItemSpec",
    "Package",
    "Problem",
    "Tree",
    "attach_lecture_media",
    "build_lecture_media",
    "course_outline",
    "current_course",
    "current_lessons",
    "get_course_in_release",
    "get_lesson",
    "get_role",
    "get_skill",
    "import_content",
    "lectures_needing_media",
    "list_roles",
    "list_skills",
    "register_content_check",
    "register_known_labs",
    "register_package_writer",
    "schedule_lecture_media",
    "search",
    "validate_content",
]


PackageWriter = Callable[[Release, Package], None]
_package_writers: list[PackageWriter] = []


def register_package_writer(writer: PackageWriter) -> None:
    """Let another app import its part of a package (diagnostic items, labs, scenarios).

    Writers run inside the import transaction, after the package's skills, course and roles
    are written, once per changed package; an exception rolls the whole import back.
    """
    if writer not in _package_writers:
        _package_writers.append(writer)


_known_lab_sources: list[Callable[[], set[str]]] = []


def register_known_labs(source: Callable[[], set[str]]) -> None:
    """Let the labs app tell the validator which lab slugs are imported already (exams name
    the labs a candidate must pass)."""
    if source not in _known_lab_sources:
        _known_lab_sources.append(source)


ContentCheck = Callable[[Tree], list[Problem]]
_content_checks: list[ContentCheck] = []


def register_content_check(check: ContentCheck) -> None:
    """Let another app check its part of the content (scenarios against their engines) in
    ``content validate`` and before every import; its problems block the import like the
    catalog's own."""
    if check not in _content_checks:
        _content_checks.append(check)


@dataclass
class ImportReport:
    problems: list[Problem] = field(default_factory=list)
    released: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _known_skills() -> set[str]:
    return set(Skill.objects.values_list("slug", flat=True))


def _known_courses() -> set[str]:
    return set(Course.objects.filter(release__is_current=True).values_list("slug", flat=True))


def _known_programs() -> dict[str, set[str]]:
    programs: dict[str, set[str]] = {}
    for program_slug, skill_slug in RoleSkill.objects.values_list("role__program__slug",
                                                                  "skill__slug"):
        if program_slug is not None:
            programs.setdefault(program_slug, set()).add(skill_slug)
    return programs


def _known_labs() -> set[str]:
    return set().union(*(source() for source in _known_lab_sources))


def _version_problems(packages: list[Package]) -> tuple[list[Problem], list[Package]]:
    """Which packages changed, and problems where content changed without a new version."""
    problems: list[Problem] = []
    changed: list[Package] = []
    for package in packages:
        pid, version = package.meta.id, package.meta.version
        current = Release.objects.filter(package__package_id=pid, is_current=True).first()
        if current is not None and current.digest == package.digest:
            continue
        if Release.objects.filter(package__package_id=pid, version=version).exists():
            problems.append(Problem(
                f"{pid}/package.yaml", "version",
                f"the content changed but version {version} was already imported; "
                "bump the version and add a changelog entry",
            ))
            continue
        changed.append(package)
    return problems, changed


def validate_content(root: Path) -> ImportReport:
    """Check every package under ``root`` without writing anything."""
    tree = load_tree(root)
    check_references(tree, _known_skills(), _known_courses(), _known_programs(), _known_labs())
    for check in _content_checks:
        tree.problems.extend(check(tree))
    version_problems, changed = _version_problems(tree.packages)
    report = ImportReport(problems=tree.problems + version_problems)
    report.released = [(p.meta.id, p.meta.version) for p in changed]
    report.unchanged = sorted({p.meta.id for p in tree.packages} - {p.meta.id for p in changed})
    return report


def import_content(root: Path) -> ImportReport:
    """Validate, then import every changed package in one transaction (or nothing)."""
    report = validate_content(root)
    if not report.ok:
        report.released = []
        return report
    tree = load_tree(root)
    changed_ids = {pid for pid, _version in report.released}
    # Skills first (lessons and roles refer to them), then courses, then roles.
    ordered = sorted(
        (p for p in tree.packages if p.meta.id in changed_ids),
        key=lambda p: (not p.skills, p.course is None),
    )
    with transaction.atomic():
        for package in ordered:
            release = _new_release(package)
            _write_skills(package.skills)
            if package.course is not None:
                _write_course(release, package)
            _write_roles(package.roles)
            for writer in _package_writers:
                writer(release, package)
        if ordered:
            _rebuild_search_documents()
            schedule_lecture_media()
    return report


def _new_release(package: Package) -> Release:
    meta = package.meta
    pkg, _created = ContentPackage.objects.update_or_create(
        package_id=meta.id, defaults={"title": meta.title}
    )
    pkg.releases.filter(is_current=True).update(is_current=False)
    return Release.objects.create(
        package=pkg,
        version=meta.version,
        digest=package.digest,
        changelog=[entry.model_dump() for entry in meta.changelog],
        is_current=True,
    )


def _write_skills(specs: list[SkillSpec]) -> None:
    for spec in specs:
        Skill.objects.update_or_create(slug=spec.slug, defaults={
            "name": spec.name, "description": spec.description, "category": spec.category,
            "esco_uri": spec.esco or "",
        })
    by_slug = {s.slug: s for s in Skill.objects.filter(slug__in=[spec.slug for spec in specs])}
    all_skills = {s.slug: s for s in Skill.objects.all()}
    for spec in specs:
        by_slug[spec.slug].prerequisites.set([all_skills[p] for p in spec.prerequisites])


def _write_roles(specs: list[RoleSpec]) -> None:
    skills = {s.slug: s for s in Skill.objects.all()}
    for spec in specs:
        role, _created = Role.objects.update_or_create(slug=spec.slug, defaults={
            "title": spec.title, "for_whom": spec.for_whom, "tasks": list(spec.tasks),
        })
        role.required_skills.all().delete()
        RoleSkill.objects.bulk_create(
            RoleSkill(role=role, skill=skills[slug], level=level)
            for slug, level in spec.skills.items()
        )
        Program.objects.update_or_create(role=role, defaults={
            "slug": spec.program.slug, "title": spec.program.title,
            "course_slugs": list(spec.program.courses),
        })


def _write_course(release: Release, package: Package) -> None:
    spec = package.course
    assert spec is not None
    skills = {s.slug: s for s in Skill.objects.all()}
    course = Course.objects.create(
        release=release, slug=spec.slug, title=spec.title, summary=spec.summary,
        level=spec.level, audience=spec.audience,
    )
    position = 0
    for m_index, module_spec in enumerate(spec.modules):
        module = Module.objects.create(course=course, slug=module_spec.slug,
                                       title=module_spec.title, position=m_index)
        for slug in module_spec.lessons:
            position += 1
            _write_lesson(module, package.lessons[slug], position, skills)


def _write_lesson(module: Module, doc: LessonDoc, position: int,
                  skills: dict[str, Skill]) -> None:
    meta = doc.meta
    lesson = Lesson.objects.create(
        module=module, slug=meta.slug, title=meta.title, kind=meta.kind,
        minutes=meta.minutes, position=position, body_markdown=doc.body,
        body_html=render_markdown(doc.body), ref=meta.ref or "",
        video_url=meta.video or "", captions_url=meta.captions or "",
    )
    lesson.skills.set([skills[s] for s in meta.skills])
    Question.objects.bulk_create(
        Question(
            lesson=lesson, key=q.id, skill=skills[q.skill], stem=q.stem,
            options=list(q.options), answer=q.answer, explanation=q.explanation,
            irt_a=q.irt.a if q.irt else None, irt_b=q.irt.b if q.irt else None,
            position=index,
        )
        for index, q in enumerate(doc.questions)
    )


def _rebuild_search_documents() -> None:
    SearchDocument.objects.all().delete()
    # A role's document names the skills it needs, so searching a skill finds its roles.
    documents = [
        SearchDocument(kind="role", object_id=r.pk, title=r.title, body=" ".join(
            [r.for_whom, *r.tasks, *(rs.skill.name for rs in r.required_skills.all())]))
        for r in Role.objects.prefetch_related("required_skills__skill")
    ]
    documents += [
        SearchDocument(kind="skill", object_id=s.pk, title=s.name,
                       body=f"{s.slug.replace('-', ' ')} {s.description}")
        for s in Skill.objects.all()
    ]
    documents += [
        SearchDocument(kind="lesson", object_id=lesson.pk, title=lesson.title,
                       body=plain_text(lesson.body_markdown))
        for lesson in Lesson.objects.filter(module__course__release__is_current=True)
    ]
    SearchDocument.objects.bulk_create(documents, batch_size=200)
    search_index.rebuild_index()


# --- browsing ---------------------------------------------------------------

def list_roles() -> list[Role]:
    return list(Role.objects.select_related("program").annotate(skill_count=Count(
        "required_skills")).order_by("title"))


def get_role(slug: str) -> Role:
    role = (Role.objects.select_related("program")
            .prefetch_related(Prefetch("required_skills",
                                       queryset=RoleSkill.objects.select_related("skill")
                                       .order_by("-level", "skill__name")))
            .filter(slug=slug).first())
    if role is None:
        raise NotFound(_("There is no role %s.") % slug)
    return role


def list_skills(*, with_prerequisites: bool = False) -> list[Skill]:
    skills = Skill.objects.order_by("category", "name")
    if with_prerequisites:
        skills = skills.prefetch_related("prerequisites")
    return list(skills)


def get_skill(slug: str) -> Skill:
    skill = Skill.objects.prefetch_related("prerequisites", "required_by__role").filter(
        slug=slug).first()
    if skill is None:
        raise NotFound(_("There is no skill %s.") % slug)
    return skill


def current_course(slug: str) -> Course:
    course = Course.objects.select_related("release__package").filter(
        slug=slug, release__is_current=True).first()
    if course is None:
        raise NotFound(_("There is no course %s.") % slug)
    return course


def get_course_in_release(slug: str, release_id: int) -> Course:
    course = Course.objects.select_related("release__package").filter(
        slug=slug, release_id=release_id).first()
    if course is None:
        raise NotFound(_("There is no course %s in that release.") % slug)
    return course


def course_outline(course: Course) -> list[Module]:
    """Modules with their lessons, in order (two queries)."""
    return list(course.modules.prefetch_related(
        Prefetch("lessons", queryset=Lesson.objects.order_by("position"))))


def course_minutes(course: Course) -> int:
    total = Lesson.objects.filter(module__course=course).aggregate(total=Sum("minutes"))["total"]
    return int(total or 0)


def get_lesson(course: Course, lesson_slug: str, *, with_skills: bool = False) -> Lesson:
    """A lesson of ``course`` with its questions (and skills, when asked)."""
    lessons = Lesson.objects.select_related("module__course__release").prefetch_related(
        "questions")
    if with_skills:
        lessons = lessons.prefetch_related("skills", "questions__skill")
    lesson = (lessons
              .filter(module__course=course, slug=lesson_slug).first())
    if lesson is None:
        raise NotFound(_("There is no lesson %(lesson)s in %(course)s.")
                       % {"lesson": lesson_slug, "course": course.title})
    return lesson


def search(query: str, *, limit: int = 30) -> list[search_index.Hit]:
    return search_index.search(query, limit=limit)


def program_courses(program: Program) -> list[tuple[Course, int]]:
    """The program's current courses in order, each with its total minutes."""
    courses = {
        c.slug: c for c in Course.objects.filter(
            slug__in=program.course_slugs, release__is_current=True
        ).annotate(total_minutes=Sum("modules__lessons__minutes"))
    }
    return [(courses[slug], int(getattr(courses[slug], "total_minutes", 0) or 0))
            for slug in program.course_slugs if slug in courses]


def current_lessons() -> list[Lesson]:
    """Every lesson of every course's current release, with its course and skills (3 queries),
    in catalog order (course slug, module, lesson)."""
    return list(
        Lesson.objects.filter(module__course__release__is_current=True)
        .select_related("module__course").prefetch_related("skills")
        .order_by("module__course__slug", "module__position", "position")
    )


def lessons_teaching(skill: Skill) -> list[Lesson]:
    return list(Lesson.objects.select_related("module__course").filter(
        skills=skill, module__course__release__is_current=True).order_by(
        "module__course__title", "position"))


@dataclass(frozen=True)
class LinkedHit:
    kind: str
    title: str
    snippet: str
    url: str
    context: str


def search_with_links(query: str, *, limit: int = 30) -> list[LinkedHit]:
    """Search hits with the page each one opens (one query per kind, not per hit)."""
    from django.urls import reverse

    hits = search(query, limit=limit)
    ids: dict[str, list[int]] = {}
    for hit in hits:
        ids.setdefault(hit.kind, []).append(hit.object_id)
    roles = {r.pk: r for r in Role.objects.filter(pk__in=ids.get("role", []))}
    skills = {s.pk: s for s in Skill.objects.filter(pk__in=ids.get("skill", []))}
    lessons = {lesson.pk: lesson for lesson in Lesson.objects.select_related(
        "module__course").filter(pk__in=ids.get("lesson", []))}
    linked = []
    for hit in hits:
        if hit.kind == "role" and hit.object_id in roles:
            url = reverse("catalog:role", args=[roles[hit.object_id].slug])
            context = "Role"
        elif hit.kind == "skill" and hit.object_id in skills:
            url = reverse("catalog:skill", args=[skills[hit.object_id].slug])
            context = "Skill"
        elif hit.kind == "lesson" and hit.object_id in lessons:
            lesson = lessons[hit.object_id]
            course = lesson.module.course
            url = reverse("learning:lesson", args=[course.slug, lesson.slug])
            context = f"Lesson in {course.title}"
        else:
            continue
        linked.append(LinkedHit(hit.kind, hit.title, hit.snippet, url, context))
    return linked


# --- narrated lectures ------------------------------------------------------

LECTURE_MEDIA_JOB = "catalog.build_lecture_media"


def _lecture_key(lesson: Lesson) -> str:
    digest = hashlib.sha256(f"{lesson.title}\n{lesson.body_markdown}".encode()).hexdigest()
    return f"lectures/{digest[:32]}"


def lectures_needing_media() -> list[Lesson]:
    """Lecture lessons of current releases that have no video yet."""
    return list(Lesson.objects.filter(
        kind=Lesson.Kind.LECTURE, video_url="", module__course__release__is_current=True))


def schedule_lecture_media() -> int:
    """Queue one durable job per lecture without media (idempotent per lesson)."""
    lessons = lectures_needing_media()
    for lesson in lessons:
        jobs.enqueue(LECTURE_MEDIA_JOB, {"lesson_id": lesson.pk},
                     dedupe_key=f"{LECTURE_MEDIA_JOB}:{lesson.pk}")
    return len(lessons)


def build_lecture_media(lesson_id: int) -> dict[str, str]:
    """Narrate one lecture into storage (content-addressed, so rebuilding is harmless).

    Raises MediaToolMissing when espeak-ng or ffmpeg is not installed."""
    lesson = Lesson.objects.filter(pk=lesson_id).first()
    if lesson is None:
        raise NotFound(_("There is no lesson %d.") % lesson_id)
    key = _lecture_key(lesson)
    video_name, captions_name = f"{key}.webm", f"{key}.vtt"
    if not (default_storage.exists(video_name) and default_storage.exists(captions_name)):
        media = lecture_media.build_lecture(lesson.title, plain_text(lesson.body_markdown))
        default_storage.save(captions_name, ContentFile(media.captions.encode()))
        default_storage.save(video_name, ContentFile(media.video))
    return {"video": video_name, "captions": captions_name}


def attach_lecture_media(lesson_id: int, files: dict[str, str]) -> None:
    Lesson.objects.filter(pk=lesson_id).update(
        video_url=default_storage.url(files["video"]),
        captions_url=default_storage.url(files["captions"]),
    )
