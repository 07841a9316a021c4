"""What a learner is doing: enrolments, the release each course is pinned to, lesson progress,
and what the learner knows: evidence per skill, mastery by Bayesian Knowledge Tracing and the
fitted BKT parameters of each skill (the logic lives in :mod:`upskill.learning.mastery`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from upskill.catalog.models import Lesson, Program, Question, Release, Skill


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


class PracticeAnswer(models.Model):
    """One piece of evidence about a learner's skill: an answer that was right or wrong.

    Kept for good: the knowledge-tracing parameters are fitted from these rows. A correct
    answer repeated within minutes is not stored (see ``mastery.REPEAT_WINDOW``)."""

    class Source(models.TextChoices):
        PRACTICE = "practice", "Practice question"
        LAB = "lab", "Lab"
        SIMULATION = "simulation", "Simulation"
        TEST_OUT = "test_out", "Test-out"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="practice_answers")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="practice_answers")
    question = models.ForeignKey(Question, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="answers",
                                 help_text="the practice question, when the evidence is one")
    correct = models.BooleanField()
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.PRACTICE)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The fit reads each skill's answers learner by learner, in order.
            models.Index(fields=["skill", "user", "answered_at"], name="answers_by_learner"),
            # "How many answers since the last fit" after every submission.
            models.Index(fields=["skill", "answered_at"], name="answers_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.skill_id} {'right' if self.correct else 'wrong'}"


class SkillMastery(models.Model):
    """A learner's probability of knowing a skill before their next answer (BKT), once there
    is evidence. Without a row, the start value stands in (diagnostic or the skill's prior)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="skill_masteries")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="masteries")
    p_mastery = models.FloatField()
    n_evidence = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "skill"], name="one_mastery_per_skill"),
            models.CheckConstraint(condition=models.Q(p_mastery__gte=0, p_mastery__lte=1),
                                   name="mastery_is_a_probability"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.skill_id} {self.p_mastery:.2f}"


class KnowledgeParams(models.Model):
    """A skill's BKT parameters fitted by EM from the learners' answers. No row: the skill
    has too little data yet and ``bkt.DEFAULT_PARAMS`` apply."""

    skill = models.OneToOneField(Skill, on_delete=models.CASCADE,
                                 related_name="knowledge_params")
    p_init = models.FloatField(help_text="p(L0): knows the skill before the first answer")
    p_learn = models.FloatField(help_text="p(T): learns it at an answer")
    p_guess = models.FloatField(help_text="p(G): right without knowing")
    p_slip = models.FloatField(help_text="p(S): wrong despite knowing")
    fitted_at = models.DateTimeField(default=timezone.now)
    answers_through = models.DateTimeField(help_text="the fit used answers up to this time")
    n_answers = models.PositiveIntegerField()
    n_learners = models.PositiveIntegerField()
    log_likelihood = models.FloatField()
    converged = models.BooleanField()

    class Meta:
        verbose_name_plural = "knowledge params"

    def __str__(self) -> str:
        return (f"{self.skill_id}: L0 {self.p_init:.2f} T {self.p_learn:.2f} "
                f"G {self.p_guess:.2f} S {self.p_slip:.2f}")


class LearningPlan(models.Model):
    """A learner's own choices for their path towards a role: the order they prefer and the
    skills they tested out of. The path itself is planned afresh from the evidence each time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="learning_plans")
    role = models.ForeignKey("catalog.Role", on_delete=models.CASCADE, related_name="plans")
    preferred_order = models.JSONField(default=list, help_text="lesson keys course/lesson")
    tested_out = models.JSONField(default=list, help_text="skill slugs")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="one_plan_per_role"),
        ]

    def __str__(self) -> str:
        return f"plan of {self.user_id} for {self.role_id}"
