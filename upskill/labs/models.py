"""Project labs, learners' submissions to them, and learners' leaderboard preferences.

A :class:`Lab` belongs to one release of its content package, like ``catalog.Course``: a new
release adds new rows, and submissions keep pointing at the lab (data split, checks, limits)
they were graded against.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from upskill.catalog.models import Release, Skill
from upskill.core.models import Job


class Lab(models.Model):
    class Kind(models.TextChoices):
        CLASSIFICATION = "classification", "Classification"
        FORECAST = "forecast", "Forecasting"

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="labs")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    summary = models.TextField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    minutes = models.PositiveIntegerField()
    brief_markdown = models.TextField()
    brief_html = models.TextField()
    hints_html = models.JSONField(default=list, help_text="one rendered hint per entry")
    dataset_title = models.CharField(max_length=200)
    licence = models.TextField(help_text="shown next to the lab")
    source_url = models.URLField(max_length=500)
    citation = models.TextField(blank=True)
    starter_py = models.TextField()
    starter_ipynb = models.TextField()
    daily_limit = models.PositiveSmallIntegerField()
    private_visible_after = models.DateTimeField(
        null=True, blank=True,
        help_text="private scores and the final ranking are shown from then on (never if null)")
    spec = models.JSONField(help_text="the lab.yaml it was imported from, as checked")
    skills = models.ManyToManyField(Skill, related_name="labs")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "slug"], name="one_lab_per_slug_release"),
        ]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.slug


class Submission(models.Model):
    """One attempt at a lab. Grading runs as the durable job ``labs.grade_submission``; its
    record step fills in the outcome exactly once. While the job runs, the stored status
    stays ``queued`` and :func:`upskill.labs.services.submission_status` reports it as
    ``running``."""

    class Source(models.TextChoices):
        EDITOR = "editor", "Written in the editor"
        PY = "py", "Uploaded .py file"
        IPYNB = "ipynb", "Uploaded notebook"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        GRADED = "graded", "Graded"
        FAILED = "failed", "A check failed"
        ERROR = "error", "Could not be graded (our side)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="lab_submissions")
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="submissions")
    code = models.TextField()
    source_kind = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    graded_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    counts_toward_limit = models.BooleanField(
        default=True, help_text="false when it was refused before running (syntax error) or "
        "could not be graded through our fault")
    passed = models.BooleanField(null=True, help_text="every scored check passed (public part)")
    public_score = models.FloatField(null=True, blank=True)
    private_score = models.FloatField(null=True, blank=True)
    feedback = models.JSONField(default=dict, help_text="visible checks and public scores")
    private_feedback = models.JSONField(default=list, help_text="private scores: not shown "
                                        "before the lab's private_visible_after")
    output_excerpt = models.TextField(blank=True, help_text="plain text, escaped when shown")
    runtime_s = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "lab", "created_at"])]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.lab.slug} #{self.pk} ({self.status})"


class LabPreference(models.Model):
    """Whether a learner appears by name on lab leaderboards (opt-in; anonymous otherwise)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="lab_preference")
    show_on_leaderboard = models.BooleanField(default=False)
    public_name = models.CharField(max_length=60, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {'shown' if self.show_on_leaderboard else 'anonymous'}"
