"""The catalog: what there is to learn, imported from content packages.

Skills, roles and programs are the shared taxonomy and are updated in place
by each release of their package. Courses (with their modules, lessons and
practice questions) belong to one ``Release`` of their package: a new release
adds a new copy, so a learner pinned to an older release keeps seeing exactly
what they started with.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContentPackage(models.Model):
    package_id = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.package_id

    @property
    def current_release(self) -> Release | None:
        return self.releases.filter(is_current=True).first()


class Release(models.Model):
    package = models.ForeignKey(ContentPackage, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=40)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the package's files")
    changelog = models.JSONField(default=list)
    is_current = models.BooleanField(default=False)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "version"], name="one_release_per_version"),
            models.UniqueConstraint(fields=["package"], condition=models.Q(is_current=True),
                                    name="one_current_release"),
        ]
        ordering = ["package_id", "-imported_at"]

    def __str__(self) -> str:
        return f"{self.package.package_id} {self.version}"


class Skill(models.Model):
    class Category(models.TextChoices):
        FOUNDATIONS = "foundations", _("AI foundations")
        DATA = "data", _("Data and analysis")
        ML = "ml", _("Machine learning")
        FORECASTING = "forecasting", _("Forecasting and operations")
        GENAI = "genai", _("Generative AI engineering")
        MLOPS = "mlops", _("MLOps")
        RESPONSIBLE_AI = "responsible-ai", _("Responsible AI")
        MARKETING = "marketing", _("Marketing")
        PRODUCT = "product", _("Product")

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=160)
    description = models.TextField()
    category = models.CharField(max_length=20, choices=Category.choices)
    esco_uri = models.URLField(blank=True)
    prerequisites = models.ManyToManyField("self", symmetrical=False, blank=True,
                                           related_name="unlocks")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=160)
    for_whom = models.TextField()
    tasks = models.JSONField(default=list)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class RoleSkill(models.Model):
    """A skill a role requires, at a target level: 1 aware, 2 assisted, 3 independent, 4 expert."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="required_skills")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="required_by")
    level = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "skill"], name="one_level_per_role_skill"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=4),
                                   name="role_skill_level_1_to_4"),
        ]

    def __str__(self) -> str:
        return f"{self.role_id}: {self.skill_id} ≥ {self.level}"


class Program(models.Model):
    """The role's certification program: its courses in order (later an exam and a credential)."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    role = models.OneToOneField(Role, on_delete=models.CASCADE, related_name="program")
    course_slugs = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.title


class Course(models.Model):
    class Level(models.TextChoices):
        FOUNDATIONS = "foundations", _("Foundations")
        INTERMEDIATE = "intermediate", _("Intermediate")
        ADVANCED = "advanced", _("Advanced")

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="courses")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    summary = models.TextField()
    level = models.CharField(max_length=20, choices=Level.choices)
    audience = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "slug"], name="one_course_slug_per_release")
        ]

    def __str__(self) -> str:
        return self.title


class Module(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    class Kind(models.TextChoices):
        READING = "reading", _("Reading")
        LECTURE = "lecture", _("Recorded lecture")
        PRACTICE = "practice", _("Practice")
        LAB = "lab", _("Hands-on lab")
        SIMULATION = "simulation", _("Simulation")
        LIVE = "live", _("Live session")

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    slug = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    minutes = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    body_markdown = models.TextField()
    body_html = models.TextField()
    ref = models.CharField(max_length=120, blank=True)
    video_url = models.CharField(max_length=300, blank=True)
    captions_url = models.CharField(max_length=300, blank=True)
    skills = models.ManyToManyField(Skill, related_name="lessons")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(condition=models.Q(minutes__gte=1, minutes__lte=15),
                                   name="lesson_is_bite_sized"),
        ]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """A practice question of a lesson (multiple choice, one correct option)."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="questions")
    key = models.CharField(max_length=60)
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="questions")
    stem = models.TextField()
    options = models.JSONField()
    answer = models.PositiveSmallIntegerField()
    explanation = models.TextField()
    irt_a = models.FloatField(null=True, blank=True)
    irt_b = models.FloatField(null=True, blank=True)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.key


class SearchDocument(models.Model):
    """One searchable thing (role, skill or lesson of a current release).

    Rebuilt after every import. Full-text matching uses SQLite FTS5 in embedded
    mode and PostgreSQL full-text search when on PostgreSQL (see search.py).
    """

    class Kind(models.TextChoices):
        ROLE = "role", _("Role")
        SKILL = "skill", _("Skill")
        LESSON = "lesson", _("Lesson")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"
