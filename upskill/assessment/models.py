"""The item banks (diagnostic and exam), diagnostic attempts and the skill estimates they
produce, certification exams with their attempts, and fairness audits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from upskill.catalog.models import Program, Release, Role, Skill


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

    class Pool(models.TextChoices):
        DIAGNOSTIC = "diagnostic", "Diagnostic (key shown after the diagnostic)"
        EXAM = "exam", "Certification exam (secure: key never shown)"

    key = models.SlugField(max_length=80, unique=True, help_text="the item id in its package")
    pool = models.CharField(max_length=10, choices=Pool.choices, default=Pool.DIAGNOSTIC)
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
    retired_reason = models.CharField(
        max_length=200, blank=True, help_text="why the item was retired or pulled from exams "
        "(overexposed, DIF class C, ...)")

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


# ----------------------------------------------------------------------------- certification


class Purpose(models.TextChoices):
    """What a sitting (and a fixed form) is for: the full exam, or a holder's shorter renewal."""

    CERTIFICATION = "certification", "Certification"
    RENEWAL = "renewal", "Renewal"


class Exam(models.Model):
    """A program's certification exam, as its exam package defines it (see docs/authoring.md).

    Items come from the exam pool (``Item.pool == "exam"``) for the program role's skills.
    ``bank_version`` changes whenever the usable items or their parameters change: forms and
    cached banks are keyed by it. ``renewal_*`` are null when the exam offers no shorter
    recertification.
    """

    class Form(models.TextChoices):
        FIXED = "fixed", "Fixed forms"
        ADAPTIVE = "adaptive", "Adaptive"

    program = models.OneToOneField(Program, on_delete=models.CASCADE, related_name="exam")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="exams")
    title = models.CharField(max_length=200)
    summary = models.TextField()
    form_kind = models.CharField(max_length=10, choices=Form.choices)
    min_items = models.PositiveSmallIntegerField()
    max_items = models.PositiveSmallIntegerField()
    time_limit_seconds = models.PositiveIntegerField()
    confidence = models.FloatField(help_text="adaptive: stop when this sure of pass or fail")
    blueprint = models.JSONField(help_text="[{area, weight, min_items, skills}]")
    cut_theta = models.FloatField(help_text="the passing standard on the ability scale")
    cut_expected_raw = models.FloatField(help_text="expected score of a minimally competent "
                                         "candidate on the rated items")
    cut_standard_error = models.FloatField(null=True, blank=True,
                                           help_text="between raters; null with one rater")
    cut_rater_thetas = models.JSONField(default=list)
    cut_method = models.CharField(max_length=40)
    cut_panel = models.TextField()
    cut_ratings = models.JSONField(help_text="item key -> one rating per rater")
    eligible_labs = models.JSONField(default=list)
    max_attempts = models.PositiveSmallIntegerField(help_text="per attempt window")
    attempt_window_days = models.PositiveSmallIntegerField(default=365)
    wait_days = models.PositiveSmallIntegerField()
    valid_months = models.PositiveSmallIntegerField()
    renewal_min_items = models.PositiveSmallIntegerField(null=True, blank=True)
    renewal_max_items = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="renewal: length limits (fixed: the form's length)")
    renewal_window_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="holders may renew this many days before expiry")
    bank_version = models.PositiveIntegerField(default=1)
    opening_items = models.JSONField(
        default=list, help_text="adaptive: item ids a first question is drawn from (computed "
        "with the bank, so that starting an attempt does no item selection)")
    classification = models.JSONField(
        default=dict, help_text="expected decision accuracy and consistency from simulation")
    exposure_control = models.JSONField(
        default=dict, help_text="adaptive: Sympson-Hetter probability per item id (absent: 1), "
        "tuned by simulation when the exam is prepared")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.title


class ExamForm(models.Model):
    """One assembled fixed form: items in the order shown (before per-candidate shuffling of
    options). Assembled by the ``assessment.assemble_exam_forms`` job, never at exam start."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="forms")
    purpose = models.CharField(max_length=13, choices=Purpose.choices,
                               default=Purpose.CERTIFICATION)
    number = models.PositiveSmallIntegerField()
    bank_version = models.PositiveIntegerField()
    item_ids = models.JSONField()
    information_at_cut = models.FloatField()
    active = models.BooleanField(default=True)
    assembled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["exam", "number"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "bank_version", "purpose", "number"],
                                    name="one_form_number_per_bank_version_purpose"),
        ]
        indexes = [models.Index(fields=["exam", "active"], name="exam_active_forms")]

    def __str__(self) -> str:
        return f"{self.exam_id} form {self.number} (bank {self.bank_version})"


class ExamAttempt(models.Model):
    """One candidate's sitting. The server owns the clock: ``deadline`` is fixed at start
    (time limit x the accommodation's factor) and an attempt past it is submitted by the server
    with the answers saved so far."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        FINISHED = "finished", "Finished"

    class Finish(models.TextChoices):
        SUBMITTED = "submitted", "Submitted by the candidate"
        TIME_EXPIRED = "time_expired", "Time ran out (submitted by the server)"
        CONFIDENT = "confident", "Decision reached with the required confidence"
        MAX_ITEMS = "max_items", "Maximum length reached"
        BANK_EXHAUSTED = "bank_exhausted", "No more suitable questions"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="exam_attempts")
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="attempts")
    form = models.ForeignKey(ExamForm, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="attempts")
    bank_version = models.PositiveIntegerField()
    purpose = models.CharField(
        max_length=13, choices=Purpose.choices, default=Purpose.CERTIFICATION,
        help_text="renewal: a holder's shorter recertification (no lab or retake rules)")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    seed = models.BigIntegerField()
    time_factor = models.DecimalField(max_digits=3, decimal_places=2, default=1)
    time_limit_seconds = models.PositiveIntegerField(help_text="after the accommodation")
    accommodation = models.CharField(max_length=100, blank=True,
                                     help_text="what was applied, as recorded at start")
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    position = models.PositiveSmallIntegerField(default=1, help_text="1-based item on screen")
    n_shown = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    finish_reason = models.CharField(max_length=20, choices=Finish.choices, blank=True)
    theta = models.FloatField(null=True, blank=True)
    standard_error = models.FloatField(null=True, blank=True)
    p_above_cut = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    n_items = models.PositiveSmallIntegerField(null=True, blank=True)
    n_correct = models.PositiveSmallIntegerField(null=True, blank=True)
    area_scores = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "exam"],
                                    condition=models.Q(status="in_progress"),
                                    name="one_open_exam_attempt"),
        ]
        indexes = [models.Index(fields=["user", "exam", "-started_at"], name="exam_attempt_recent"),
                   models.Index(fields=["status", "deadline"], name="exam_attempt_due")]

    def __str__(self) -> str:
        return f"exam attempt {self.pk} of {self.user_id}"


class ExamResponse(models.Model):
    """An item as shown to one candidate (its options in this candidate's order) and the
    answer saved for it. ``response`` is in the item's own option numbering."""

    attempt = models.ForeignKey(ExamAttempt, on_delete=models.CASCADE, related_name="responses")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="exam_responses")
    position = models.PositiveSmallIntegerField()
    option_order = models.JSONField(default=list, help_text="item option index per shown slot")
    response = models.JSONField(null=True, blank=True)
    correct = models.BooleanField(null=True, blank=True, help_text="set when scored")
    confirmed = models.BooleanField(default=False, help_text="adaptive: the candidate moved on")
    shown_at = models.DateTimeField()
    saved_at = models.DateTimeField(null=True, blank=True)
    seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "item"], name="exam_item_once"),
            models.UniqueConstraint(fields=["attempt", "position"], name="exam_one_per_position"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}#{self.position}"


class IntegrityEvent(models.Model):
    """A signal logged during an attempt for a human reviewer; never used to fail anyone."""

    class Kind(models.TextChoices):
        FOCUS_LOST = "focus_lost", "Left the exam window"
        PASTE = "paste", "Pasted into an answer"
        FAST_ANSWER = "fast_answer", "Answered unusually fast"
        RESUMED = "resumed", "Resumed after leaving"
        SECOND_TAB = "second_tab", "Answered from a stale page (second tab?)"

    attempt = models.ForeignKey(ExamAttempt, on_delete=models.CASCADE,
                                related_name="integrity_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.kind} in {self.attempt_id}"


class FairnessAudit(models.Model):
    """One run of the DIF audit over the exam items' responses (the job
    ``assessment.audit_fairness``). Per-person demographics are read and dropped; only these
    aggregates are stored."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(default=timezone.now)
    n_attempts = models.PositiveIntegerField()
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-finished_at", "-pk"]

    def __str__(self) -> str:
        return f"fairness audit {self.pk}"


class DifFinding(models.Model):
    """One item against one focal group in one audit."""

    audit = models.ForeignKey(FairnessAudit, on_delete=models.CASCADE, related_name="findings")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="dif_findings")
    variable = models.CharField(max_length=20, help_text="gender or age_band")
    reference = models.CharField(max_length=20)
    focal = models.CharField(max_length=20)
    n_reference = models.PositiveIntegerField()
    n_focal = models.PositiveIntegerField()
    status = models.CharField(max_length=20, help_text="analysed, not_enough_data, "
                              "not_estimable")
    ets_class = models.CharField(max_length=1, blank=True)
    mh_d_dif = models.FloatField(null=True, blank=True)
    mh_p_value = models.FloatField(null=True, blank=True)
    lr_chi2 = models.FloatField(null=True, blank=True)
    lr_p_value = models.FloatField(null=True, blank=True)
    lr_delta_r2 = models.FloatField(null=True, blank=True)
    lr_effect = models.CharField(max_length=1, blank=True)
    favours = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["audit", "item", "variable", "focal"]
        indexes = [models.Index(fields=["audit", "ets_class"], name="dif_by_class")]

    def __str__(self) -> str:
        return f"{self.item_id} {self.variable}:{self.focal} {self.ets_class or self.status}"
