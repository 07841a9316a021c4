"""The diagnostic item bank, diagnostic attempts and the skill estimates they produce."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from upskill.catalog.models import Release, Role, Skill


class Item(models.Model):
    """One diagnostic question. Its key (``answer``) stays on the server: pages and the API
    send the stem and options only, and score what comes back."""

    class Kind(models.TextChoices):
        SINGLE = "single", "Single answer"
        MULTI = "multi", "Select all that apply"
        NUMERIC = "numeric", "Numeric answer"
        CODE = "code", "Reading code"

    class Status(models.TextChoices):
        PROVISIONAL = "provisional", "Provisional (author's difficulty rating)"
        CALIBRATED = "calibrated", "Calibrated from responses"
        RETIRED = "retired", "Retired"

    key = models.SlugField(max_length=80, unique=True, help_text="the item id in its package")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="items",
                                help_text="the release that last changed this item")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="items")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    stem_html = models.TextField()
    code_html = models.TextField(blank=True)
    options_html = models.JSONField(default=list)
    answer = models.JSONField(help_text="index, list of indices, or {value, tolerance}")
    unit = models.CharField(max_length=20, blank=True)
    explanation_html = models.TextField()
    difficulty_rating = models.PositiveSmallIntegerField()
    content_digest = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROVISIONAL)
    irt_a = models.FloatField()
    irt_b = models.FloatField()
    irt_c = models.FloatField()
    calibrated_at = models.DateTimeField(null=True, blank=True)
    calibration_responses = models.PositiveIntegerField(default=0)
    exposure_k = models.FloatField(default=1.0, help_text="Sympson-Hetter administration "
                                   "probability once selected (1: no control)")
    times_shown = models.PositiveIntegerField(default=0)
    in_bank = models.BooleanField(default=True, help_text="false once a release drops it")
    content_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="when the question last changed; calibration reads "
        "only responses given since (null: every response is to the current question)")

    class Meta:
        ordering = ["skill__slug", "key"]
        constraints = [
            models.CheckConstraint(condition=models.Q(difficulty_rating__gte=1,
                                                      difficulty_rating__lte=5),
                                   name="item_rating_1_to_5"),
            models.CheckConstraint(condition=models.Q(irt_a__gt=0, irt_c__gte=0, irt_c__lt=1),
                                   name="item_irt_in_range"),
        ]

    def __str__(self) -> str:
        return self.key


class DiagnosticAttempt(models.Model):
    """One learner's adaptive diagnostic for a role. The administered items and answers live in
    :class:`DiagnosticResponse`; the CAT session is rebuilt from them, so an attempt can be
    left and resumed at any point on any device."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        FINISHED = "finished", "Finished"
        ABANDONED = "abandoned", "Abandoned"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="diagnostic_attempts")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="diagnostic_attempts")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    experience = models.JSONField(help_text="self-reported experience per skill category")
    seed = models.BigIntegerField()
    current_item = models.ForeignKey(Item, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    current_shown_at = models.DateTimeField(null=True, blank=True)
    n_answered = models.PositiveSmallIntegerField(default=0)
    stop_reason = models.CharField(max_length=30, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"],
                                    condition=models.Q(status="in_progress"),
                                    name="one_open_diagnostic_per_role"),
        ]
        indexes = [models.Index(fields=["user", "-started_at"], name="diagnostic_recent")]

    def __str__(self) -> str:
        return f"diagnostic {self.pk} of {self.user_id} for {self.role_id}"


class DiagnosticResponse(models.Model):
    attempt = models.ForeignKey(DiagnosticAttempt, on_delete=models.CASCADE,
                                related_name="responses")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="responses")
    position = models.PositiveSmallIntegerField()
    response = models.JSONField(null=True, help_text="what was submitted; null when skipped")
    correct = models.BooleanField()
    seconds = models.PositiveIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "item"], name="item_once_per_attempt"),
            models.UniqueConstraint(fields=["attempt", "position"], name="one_item_per_position"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}#{self.position}"


class SkillEstimate(models.Model):
    """The latest measured ability of a learner on a skill (the skill profile)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="skill_estimates")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="estimates")
    theta = models.FloatField()
    standard_error = models.FloatField()
    n_items = models.PositiveSmallIntegerField()
    attempt = models.ForeignKey(DiagnosticAttempt, on_delete=models.SET_NULL, null=True,
                                related_name="estimates")
    measured_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "skill"], name="one_estimate_per_skill"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.skill_id} {self.theta:.2f}±{self.standard_error:.2f}"


class TestOutAttempt(models.Model):
    """A short quiz a learner takes to skip the lessons of a skill they already know."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="test_out_attempts")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="test_out_attempts")
    items = models.JSONField(help_text="item keys in the order asked")
    outcomes = models.JSONField(help_text="correct or not, per item")
    passed = models.BooleanField()
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "skill", "-taken_at"], name="test_out_recent")]

    def __str__(self) -> str:
        return f"test-out {self.skill_id} by {self.user_id}"


class CalibrationRun(models.Model):
    """One recorded run of the calibration job (:mod:`upskill.assessment.calibration`): what it
    read, what it calibrated, and a summary of every calibration group and the exposure tuning."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(default=timezone.now)
    responses_through = models.PositiveBigIntegerField(
        help_text="the highest diagnostic response id the run read (0: none)")
    n_responses = models.PositiveIntegerField()
    n_attempts = models.PositiveIntegerField()
    n_items_calibrated = models.PositiveIntegerField()
    log_likelihood = models.FloatField(
        null=True, blank=True, help_text="summed marginal log-likelihood of the calibrated groups")
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-responses_through", "-pk"]
        indexes = [models.Index(fields=["-responses_through"], name="calibration_latest")]

    def __str__(self) -> str:
        return f"calibration {self.pk} through response {self.responses_through}"


class ItemStatistics(models.Model):
    """An item's statistics from the latest calibration run that saw responses to it."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="statistics")
    run = models.ForeignKey(CalibrationRun, on_delete=models.CASCADE,
                            related_name="item_statistics")
    n_responses = models.PositiveIntegerField()
    p_value = models.FloatField(help_text="proportion correct")
    point_biserial = models.FloatField(
        null=True, blank=True, help_text="correlation of the response with the rest ability")
    infit = models.FloatField(null=True, blank=True)
    outfit = models.FloatField(null=True, blank=True)
    exposure_rate = models.FloatField(
        null=True, blank=True, help_text="share of the diagnostics that could show it that did")
    flags = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"statistics of {self.item_id}"
