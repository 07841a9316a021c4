"""What a learner is doing: enrolments, the release each course is pinned to, lesson progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from upskill.catalog.models import Lesson, Program, Release


class Enrollment(models.Model):
    """A learner working towards a role's certification program."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="enrollments")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrollments")
    enrolled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "program"], name="one_enrollment_per_program")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.program_id}"


class CoursePin(models.Model):
    """The release of a course a learner studies. Set when they start; moves only when they
    choose to move to a newer release."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="course_pins")
    course_slug = models.SlugField(max_length=80)
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="pins")
    pinned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course_slug"], name="one_pin_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.course_slug} @ {self.release_id}"


class LessonProgress(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="lesson_progress")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    first_opened_at = models.DateTimeField(default=timezone.now)
    last_opened_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="one_progress_per_lesson")
        ]
        indexes = [models.Index(fields=["user", "-last_opened_at"], name="progress_recent")]

    def __str__(self) -> str:
        return f"{self.user_id}: lesson {self.lesson_id}"
