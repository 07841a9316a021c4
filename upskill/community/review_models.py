"""Calibrated peer review of project write-ups: activities, write-ups, training, reviews, grades.

The rules (who reviews what, when a write-up is final, the grade, reviewer accuracy) live in
the pure module :mod:`upskill.community.reviewing`; these tables hold what happened.
Anonymity is a rule of the pages and services, not of the tables: staff can always see who
wrote and who reviewed.

Imported at the end of ``community/models.py`` so Django registers these models with the
``community`` app.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from upskill.labs.models import Lab

__all__ = [
    "PeerGrade",
    "PeerReview",
    "PeerReviewActivity",
    "ReviewAssignment",
    "StaffEscalation",
    "TrainingAttempt",
    "TrainingExample",
    "WriteUp",
]


class PeerReviewActivity(models.Model):
    """A round of peer review: write-ups about a lab project (or a standalone prompt)."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    lab = models.ForeignKey(Lab, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="peer_review_activities",
                            help_text="the project the write-ups are about; empty: standalone")
    prompt_markdown = models.TextField(blank=True)
    prompt_html = models.TextField(blank=True, help_text="sanitized at save time")
    rubric = models.JSONField(help_text="criteria with ordered options and points "
                              "(see reviewing.Rubric.from_dict)")
    reviews_per_submission = models.PositiveSmallIntegerField(
        default=3, help_text="k: reviews each write-up should receive")
    reviews_required = models.PositiveSmallIntegerField(
        default=3, help_text="n: reviews each author must give")
    deadline = models.DateTimeField(help_text="write-ups and the reviews owed are due")
    lease_hours = models.PositiveSmallIntegerField(
        default=8, help_text="an unfinished review stops holding its write-up after this")
    training_tolerance_steps = models.PositiveSmallIntegerField(
        default=0, help_text="how many options away from staff's a training answer may be")
    spread_threshold = models.FloatField(default=0.5)
    mad_threshold = models.FloatField(default=0.2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-deadline", "pk"]
        verbose_name_plural = "peer review activities"

    def __str__(self) -> str:
        return self.slug

    @property
    def lease(self) -> timedelta:
        return timedelta(hours=self.lease_hours)

    @property
    def closes_at(self) -> datetime:
        """No new reviews are handed out from then on (the deadline plus one lease)."""
        return self.deadline + self.lease


class TrainingExample(models.Model):
    """A sample write-up staff have scored; reviewers practise on it before reviewing."""

    activity = models.ForeignKey(PeerReviewActivity, on_delete=models.CASCADE,
                                 related_name="training_examples")
    position = models.PositiveSmallIntegerField(default=0)
    text_markdown = models.TextField()
    text_html = models.TextField()
    staff_scores = models.JSONField(help_text="criterion key -> option key")
    explanation = models.TextField(blank=True, help_text="why staff scored it so; shown on a "
                                   "miss")

    class Meta:
        ordering = ["activity", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.activity.slug} example {self.position}"


class WriteUp(models.Model):
    """An author's write-up in a round (one per author), or a study group's shared one."""

    activity = models.ForeignKey(PeerReviewActivity, on_delete=models.CASCADE,
                                 related_name="write_ups")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="peer_write_ups")
    study_group = models.ForeignKey("community.StudyGroup", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="peer_write_ups",
                                    help_text="its members never review it")
    shared = models.BooleanField(
        default=False, help_text="the group's one shared write-up: any member edits it until "
        "reviewing starts, every member sees its grade; ``author`` is who submitted it first")
    text_markdown = models.TextField()
    text_html = models.TextField(help_text="sanitized at save time; the only form shown")
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["activity", "author"],
                                    name="one_write_up_per_author_and_activity"),
            models.UniqueConstraint(fields=["activity", "study_group"],
                                    condition=models.Q(shared=True),
                                    name="one_shared_write_up_per_group_and_activity"),
            models.CheckConstraint(condition=models.Q(shared=False)
                                   | models.Q(study_group__isnull=False),
                                   name="a_shared_write_up_has_a_group"),
        ]
        ordering = ["submitted_at", "pk"]

    def __str__(self) -> str:
        return f"write-up {self.pk} in {self.activity_id}"


class TrainingAttempt(models.Model):
    activity = models.ForeignKey(PeerReviewActivity, on_delete=models.CASCADE,
                                 related_name="training_attempts")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="peer_training_attempts")
    example = models.ForeignKey(TrainingExample, on_delete=models.CASCADE,
                                related_name="attempts")
    scores = models.JSONField()
    passed = models.BooleanField()
    misses = models.JSONField(default=list, help_text="criteria that were off, for the page")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["activity", "reviewer"])]

    def __str__(self) -> str:
        return f"{self.reviewer_id} on example {self.example_id}: {self.passed}"


class ReviewAssignment(models.Model):
    """A reviewer's turn at a write-up. Open until completed or ``expires_at``; a reviewer
    given the same write-up again after expiry reuses the row."""

    class Status(models.TextChoices):
        OPEN = "open", _("In progress")
        COMPLETED = "completed", _("Completed")

    write_up = models.ForeignKey(WriteUp, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="peer_review_assignments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["write_up", "reviewer"],
                                    name="one_assignment_per_reviewer_and_write_up"),
        ]
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.reviewer_id} reviews {self.write_up_id} ({self.status})"


class PeerReview(models.Model):
    assignment = models.OneToOneField(ReviewAssignment, on_delete=models.CASCADE,
                                      related_name="review")
    scores = models.JSONField(help_text="criterion key -> option key")
    comment_markdown = models.TextField(blank=True)
    comment_html = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"review {self.pk}"


class PeerGrade(models.Model):
    """The computed grade of a write-up: medians of its peer reviews (or staff's scores)."""

    write_up = models.OneToOneField(WriteUp, on_delete=models.CASCADE, related_name="grade")
    criteria = models.JSONField(help_text="criterion key -> median points")
    total = models.FloatField()
    max_total = models.PositiveIntegerField()
    reviews = models.PositiveSmallIntegerField()
    short = models.BooleanField(default=False, help_text="graded with fewer than k reviews")
    by_staff = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.total}/{self.max_total} for {self.write_up_id}"


class StaffEscalation(models.Model):
    """A write-up staff must grade: the peers disagreed too much, or none reviewed it."""

    write_up = models.OneToOneField(WriteUp, on_delete=models.CASCADE,
                                    related_name="escalation")
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"escalation of {self.write_up_id}"
