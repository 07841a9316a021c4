"""Peer-review assignments as content: templates imported from content packages, and which
template each round was opened from.

A template is the part of a round that is authored and reviewed like code (prompt, rubric,
training examples with staff scores, k and n); staff or instructors open a round from it with
a deadline (``review_content.open_round``). Like lessons, labs and scenarios, a template
belongs to the release it was imported with; a new package version adds new rows and older
ones stay, so a round keeps the template it was opened from.

Imported at the end of ``community/models.py`` so Django registers these models with the
``community`` app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from upskill.catalog.models import Release
from upskill.community.review_models import PeerReviewActivity

__all__ = ["PeerReviewTemplate", "TemplateRound"]


class PeerReviewTemplate(models.Model):
    """``peer-reviews/<slug>.yaml`` of a package release, as checked at import."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT,
                                related_name="peer_review_templates")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    lab_slug = models.SlugField(max_length=80, blank=True,
                                help_text="the project the write-ups are about; empty: standalone")
    prompt_markdown = models.TextField()
    prompt_html = models.TextField(help_text="sanitized at import")
    rubric = models.JSONField(help_text="reviewing.Rubric.to_dict()")
    examples = models.JSONField(help_text="[{text, scores, explanation}], in order")
    reviews_per_submission = models.PositiveSmallIntegerField()
    reviews_required = models.PositiveSmallIntegerField()
    lease_hours = models.PositiveSmallIntegerField()
    training_tolerance_steps = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "slug"],
                                    name="one_peer_review_template_per_slug_release"),
        ]
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.slug

    def round_settings(self) -> dict[str, Any]:
        """The keyword arguments of ``review_services.create_activity`` this template fixes
        (everything but the actor, slug and deadline)."""
        return {
            "title": self.title, "rubric": self.rubric, "prompt": self.prompt_markdown,
            "lab_slug": self.lab_slug or None,
            "reviews_per_submission": self.reviews_per_submission,
            "reviews_required": self.reviews_required, "lease_hours": self.lease_hours,
            "training_tolerance_steps": self.training_tolerance_steps,
            "examples": [(e["text"], e["scores"], e["explanation"]) for e in self.examples],
        }


class TemplateRound(models.Model):
    """A round opened from a template: which release's template, who opened it, when."""

    activity = models.OneToOneField(PeerReviewActivity, on_delete=models.CASCADE,
                                    related_name="template_source")
    template = models.ForeignKey(PeerReviewTemplate, on_delete=models.PROTECT,
                                 related_name="rounds")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opened_at", "pk"]

    def __str__(self) -> str:
        return f"{self.activity_id} from {self.template_id}"
