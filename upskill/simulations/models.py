"""Business-simulation scenarios and learners' runs of them.

A :class:`Scenario` belongs to one release of its content package, like ``labs.Lab``: a new
release adds new rows, and runs keep pointing at the scenario (world, horizon, goal) they were
played against. Every run is stored with its settings and seed (decision 0007).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from upskill.catalog.models import Release, Role, Skill
from upskill.core.models import Job


class Scenario(models.Model):
    class Engine(models.TextChoices):
        INVENTORY = "inventory", "Inventory and supply chain"
        RECOMMENDER = "recommender", "Recommendation engine"
        FRAUD = "fraud", "Fraud operations"

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="scenarios")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    summary = models.TextField()
    engine = models.CharField(max_length=20, choices=Engine.choices)
    minutes = models.PositiveIntegerField()
    brief_html = models.TextField()
    spec = models.JSONField(help_text="the scenario.yaml it was imported from, as checked")
    baseline = models.JSONField(
        null=True, blank=True,
        help_text="the goal's baseline policy played on the scenario's world: KPIs and series, "
        "computed on first use (deterministic, so any process may fill it in)")
    skills = models.ManyToManyField(Skill, related_name="scenarios")
    roles = models.ManyToManyField(Role, related_name="scenarios")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "slug"],
                                    name="one_scenario_per_slug_release"),
        ]
        ordering = ["engine", "title"]

    def __str__(self) -> str:
        return self.slug


class Run(models.Model):
    """One play of a scenario. Parameter-mode runs are simulated in the request and stored
    finished; code-mode runs are stored ``queued`` and played by the durable job
    ``simulations.run_code``, whose record step fills in the outcome exactly once."""

    class Mode(models.TextChoices):
        PARAMETERS = "parameters", "Parameters"
        CODE = "code", "Code"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Your policy failed"
        ERROR = "error", "Could not run (our side)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="simulation_runs")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="runs")
    number = models.PositiveIntegerField(help_text="1, 2, 3 ... per learner and scenario slug")
    mode = models.CharField(max_length=12, choices=Mode.choices)
    settings = models.JSONField(default=dict, help_text="every control's value, as played")
    code = models.TextField(blank=True)
    seed = models.BigIntegerField()
    horizon = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    kpis = models.JSONField(default=dict)
    series = models.JSONField(default=dict, help_text="KPI name -> one value per period")
    events = models.JSONField(default=list)
    debrief = models.JSONField(default=list, help_text="sentences, plain text")
    goal_value = models.FloatField(null=True, blank=True, help_text="the goal KPI's value")
    improvement = models.FloatField(
        null=True, blank=True,
        help_text="fraction by which the goal KPI beat the baseline (negative: worse)")
    passed = models.BooleanField(null=True)
    message = models.TextField(blank=True, help_text="why a run failed, for the learner")
    output_excerpt = models.TextField(blank=True, help_text="plain text, escaped when shown")
    runtime_s = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scenario", "number"],
                                    name="one_run_number_per_learner_scenario"),
        ]
        indexes = [models.Index(fields=["user", "scenario", "created_at"])]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.scenario.slug} run {self.number} ({self.status})"
