"""Mentors, learners' requests for one, the mentorships that follow, and their sessions.

A request is a snapshot: the learner's gap skills (from ``learning``'s skill profile for the
target role, weighted by how far below target they are), languages, time zone and weekly
availability as they were when asked; matching (``matching.py``) reads only these rows.
Availability is stored as windows in the person's own zone (``schedule.Window.as_dict``) and
turned into UTC only for a concrete week, so daylight-saving changes are handled where they
happen. Session times are UTC.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from upskill.catalog.models import Role, Skill

MAX_CAPACITY = 10


class MentorProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="mentor_profile")
    bio = models.TextField(blank=True)
    skills = models.ManyToManyField(Skill, related_name="mentors", blank=True)
    industries = models.JSONField(default=list, help_text="free-text industry names")
    languages = models.JSONField(default=list, help_text="language codes, e.g. en, es")
    timezone = models.CharField(max_length=64, default="UTC")
    availability = models.JSONField(default=list, help_text="weekly windows, local time")
    capacity = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(MAX_CAPACITY)])
    changed_careers = models.BooleanField(default=False)
    accepting = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mentor {self.user_id}"


class MentorshipRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for a match")
        PROPOSED = "proposed", _("Proposed to a mentor")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("No mentor available")
        CLOSED = "closed", _("Closed")

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="mentorship_requests")
    goals = models.TextField()
    target_role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="+")
    gap_skills = models.JSONField(default=dict, help_text="skill slug -> weight (0, 1]")
    languages = models.JSONField(default=list)
    timezone = models.CharField(max_length=64, default="UTC")
    availability = models.JSONField(default=list, help_text="weekly windows, local time")
    industry = models.CharField(max_length=80, blank=True)
    wants_career_changer = models.BooleanField(default=False)
    wants_same_industry = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    declined_by = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                         related_name="declined_mentorship_requests")
    proposed_mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                        null=True, blank=True, related_name="proposals")
    proposal_score = models.FloatField(null=True, blank=True)
    proposal_reasons = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner"], name="one_pending_mentorship_request",
                condition=models.Q(status__in=["open", "proposed"])),
        ]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.status})"


class Mentorship(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    request = models.OneToOneField(MentorshipRequest, on_delete=models.CASCADE,
                                   related_name="mentorship")
    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="mentees")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="mentorships")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    shares_progress = models.BooleanField(
        default=False, help_text="the learner lets the mentor see their skill profile and path")
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"mentorship {self.pk}"


class MentoringSession(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE,
                                   related_name="sessions")
    start = models.DateTimeField(help_text="UTC")
    end = models.DateTimeField(help_text="UTC")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, related_name="+")
    notes = models.TextField(blank=True, help_text="the mentor's notes; the learner reads them")
    action_items = models.JSONField(default=list)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                   name="mentoring_session_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"session {self.pk}"


class AdviceNote(models.Model):
    """Career advice a mentor writes for their mentee (the learner reads it)."""

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE,
                                   related_name="advice")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"advice {self.pk}"


class LiveSession(models.Model):
    """A scheduled group session (a talk, office hours, a workshop) by a mentor or an
    instructor: learners register up to the capacity, get a reminder, join through the link
    (which records their attendance)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="hosted_live_sessions")
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    start = models.DateTimeField(help_text="UTC")
    end = models.DateTimeField(help_text="UTC")
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1),
                                                       MaxValueValidator(1000)])
    join_url = models.URLField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A course's `live` lesson names its session by this slug (the lesson's `ref`); the lesson
    # shows the session, and afterwards its recording as a recorded lecture.
    lesson_ref = models.SlugField(max_length=120, null=True, blank=True, unique=True)
    # After the session: the recording, its WebVTT captions and the transcript built from them.
    recording = models.FileField(upload_to="live-recordings/", blank=True)
    captions = models.FileField(upload_to="live-recordings/", blank=True)
    transcript = models.JSONField(default=list, blank=True)  # paragraphs of plain text
    recording_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                   name="live_session_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.title


class LiveRegistration(models.Model):
    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE,
                                related_name="registrations")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="live_registrations")
    registered_at = models.DateTimeField(auto_now_add=True)
    attended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registered_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "learner"],
                                    name="one_registration_per_live_session"),
        ]

    def __str__(self) -> str:
        return f"registration {self.pk}"
