"""Peer-review assignments as content: read, check and import ``peer-reviews/<slug>.yaml``,
and open a round from an imported template.

A package may hold a ``peer-reviews/`` folder with one YAML file per assignment (the format is
in docs/authoring.md, "Peer reviews"): the prompt, the rubric, k and n, and the training
examples with staff's scores and why. :func:`check_peer_reviews` is registered as a catalog
content check, so ``content validate`` and every import name the file and field of each
problem; the rubric rules are :class:`reviewing.Rubric`'s own, applied one criterion at a time
so each problem points at its criterion. :func:`write_peer_reviews` is registered as a package
writer and stores a :class:`PeerReviewTemplate` per file with the package's release.

:func:`open_round` turns the current release's template into a round
(``review_services.create_activity``) with a deadline; the round is a copy, so a later
package version never changes a round that is running.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import yaml
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.catalog.models import Release
from upskill.catalog.services import Package, Problem, Tree
from upskill.community import review_services, reviewing
from upskill.community.review_content_models import PeerReviewTemplate, TemplateRound
from upskill.community.review_models import PeerReviewActivity
from upskill.core.errors import Invalid, NotFound, PermissionDenied
from upskill.core.markdown import render_markdown
from upskill.labs import services as labs

__all__ = [
    "FOLDER",
    "MAX_DEADLINE",
    "MIN_DEADLINE",
    "RESERVED_SLUGS",
    "TemplateCard",
    "TemplateFiles",
    "TemplateSpec",
    "can_open_rounds",
    "check_peer_reviews",
    "get_template",
    "list_templates",
    "open_round",
    "read_templates",
    "write_peer_reviews",
]

FOLDER = "peer-reviews"
# Path segments of the peer-review pages that sit where a round's slug would.
RESERVED_SLUGS = frozenset({"open", "assignments", "write-ups"})
MIN_DEADLINE = timedelta(hours=24)  # time to write, train and review
MAX_DEADLINE = timedelta(days=365)

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_KEY = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"
Slug = Annotated[str, Field(pattern=_SLUG, max_length=80)]
Key = Annotated[str, Field(pattern=_KEY, max_length=40)]


# --------------------------------------------------------------------------- the format


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionSpec(_Strict):
    key: Key
    label: str = Field(min_length=1, max_length=200)
    points: int = Field(ge=0, le=100)
    explanation: str = ""


class CriterionSpec(_Strict):
    key: Key
    label: str = Field(min_length=1, max_length=120)
    prompt: str = ""
    options: list[OptionSpec] = Field(min_length=2, max_length=7)


class ExampleSpec(_Strict):
    text: str = Field(min_length=1, max_length=review_services.MAX_WRITE_UP_CHARS)
    scores: dict[Key, Key] = Field(min_length=1)
    explanation: str = Field(min_length=1)


class TemplateSpec(_Strict):
    slug: Slug
    title: str = Field(min_length=1, max_length=200)
    summary: str = ""
    lab: Slug | None = None
    prompt: str = Field(min_length=1)
    rubric: list[CriterionSpec] = Field(min_length=1, max_length=10)
    reviews_per_submission: int = Field(3, ge=1, le=10)
    reviews_required: int = Field(3, ge=1, le=10)
    lease_hours: int = Field(8, ge=1, le=72)
    training_tolerance_steps: int = Field(0, ge=0, le=3)
    examples: list[ExampleSpec] = Field(min_length=1, max_length=10)

    def criteria(self) -> tuple[reviewing.Criterion, ...]:
        return tuple(
            reviewing.Criterion(key=c.key, label=c.label, prompt=c.prompt, options=tuple(
                reviewing.Option(key=o.key, label=o.label, points=o.points,
                                 explanation=o.explanation) for o in c.options))
            for c in self.rubric)


@dataclass(frozen=True)
class TemplateFiles:
    templates: dict[str, TemplateSpec]  # file stem -> spec, for the files that parsed
    problems: list[Problem]


def _where(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(document)"


def read_templates(package: Package) -> TemplateFiles:
    """Parse the package's ``peer-reviews/*.yaml`` (schema only); problems name file and
    field."""
    templates: dict[str, TemplateSpec] = {}
    problems: list[Problem] = []
    for path in sorted((package.path / FOLDER).glob("*.yaml")):
        where_file = f"{package.meta.id}/{FOLDER}/{path.name}"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            problems.append(Problem(where_file, f"line {mark.line + 1}" if mark else "(file)",
                                    f"not valid YAML: {getattr(error, 'problem', error)}"))
            continue
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(where_file, "(file)", f"cannot be read: {error}"))
            continue
        try:
            spec = TemplateSpec.model_validate(data)
        except ValidationError as error:
            problems.extend(Problem(where_file, _where(e), e["msg"]) for e in error.errors())
            continue
        if spec.slug != path.stem:
            problems.append(Problem(where_file, "slug", f"must equal the file name {path.stem!r}"))
        templates[path.stem] = spec
    return TemplateFiles(templates, problems)


def _rubric_problems(spec: TemplateSpec) -> tuple[reviewing.Rubric | None, list[tuple[str, str]]]:
    """The rubric, or why not: reviewing.Rubric's rules, one criterion at a time."""
    found: list[tuple[str, str]] = []
    criteria = spec.criteria()
    for index, criterion in enumerate(criteria):
        try:
            reviewing.Rubric((criterion,))
        except reviewing.InvalidRubric as error:
            found.append((f"rubric.{index}", str(error)))
    if found:
        return None, found
    try:
        return reviewing.Rubric(criteria), []
    except reviewing.InvalidRubric as error:  # the rules across criteria (unique keys)
        return None, [("rubric", str(error))]


def _template_problems(spec: TemplateSpec) -> list[tuple[str, str]]:
    """(field, reason) for the rules of one template that need no other file."""
    rubric, found = _rubric_problems(spec)
    if spec.reviews_required < spec.reviews_per_submission:
        # As ORA2: with fewer reviews owed than wanted, some write-ups can never get k.
        found.append(("reviews_required", f"must be at least reviews_per_submission "
                                          f"({spec.reviews_per_submission}), or some write-ups "
                                          f"can never receive that many reviews"))
    texts: dict[str, int] = {}
    for index, example in enumerate(spec.examples):
        normalized = " ".join(example.text.split())
        if normalized in texts:
            found.append((f"examples.{index}.text",
                          f"the same text as example {texts[normalized]}"))
        texts.setdefault(normalized, index)
        if rubric is None:
            continue
        try:
            rubric.points(example.scores)
        except reviewing.InvalidScores as error:
            found.append((f"examples.{index}.scores", str(error)))
    if rubric is not None:
        for index, criterion in enumerate(rubric.criteria):
            if spec.training_tolerance_steps >= len(criterion.options) - 1:
                found.append(("training_tolerance_steps",
                              f"with {len(criterion.options)} options, a tolerance of "
                              f"{spec.training_tolerance_steps} accepts every answer on "
                              f"rubric.{index} “{criterion.label}”"))
    return found


def check_peer_reviews(tree: Tree) -> list[Problem]:
    """Every ``peer-reviews/*.yaml`` of ``tree`` (registered as a catalog content check): the
    schema, the rubric (reviewing.Rubric's rules), the training examples' staff scores against
    it, k and n, the lab it names (imported or in the tree) and that its slug is used once."""
    known_labs = labs.lab_slugs() | {slug for p in tree.packages for slug in p.labs}
    in_tree = {p.meta.id for p in tree.packages}
    elsewhere = dict(PeerReviewTemplate.objects.filter(release__is_current=True)
                     .exclude(release__package__package_id__in=in_tree)
                     .values_list("slug", "release__package__package_id"))
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for package in tree.packages:
        read = read_templates(package)
        problems.extend(read.problems)
        for stem, spec in read.templates.items():
            where_file = f"{package.meta.id}/{FOLDER}/{stem}.yaml"
            problems.extend(Problem(where_file, where, reason)
                            for where, reason in _template_problems(spec))
            if spec.lab is not None and spec.lab not in known_labs:
                problems.append(Problem(where_file, "lab", f"unknown lab {spec.lab!r}"))
            owner = seen.get(spec.slug) or elsewhere.get(spec.slug)
            if owner is not None:
                problems.append(Problem(where_file, "slug", f"peer review {spec.slug!r} is also "
                                                            f"defined in package {owner}"))
            seen.setdefault(spec.slug, package.meta.id)
    return problems


def write_peer_reviews(release: Release, package: Package) -> None:
    """Import a package's peer-review templates (registered as a catalog package writer): one
    :class:`PeerReviewTemplate` per file, belonging to ``release``. Runs after the check, so a
    problem here is a bug and aborts the import."""
    read = read_templates(package)
    if read.problems:
        raise ValueError("; ".join(str(p) for p in read.problems))
    for spec in read.templates.values():
        rubric = reviewing.Rubric(spec.criteria())
        PeerReviewTemplate.objects.create(
            release=release, slug=spec.slug, title=spec.title, summary=spec.summary,
            lab_slug=spec.lab or "", prompt_markdown=spec.prompt,
            prompt_html=render_markdown(spec.prompt), rubric=rubric.to_dict(),
            examples=[{"text": e.text, "scores": dict(e.scores), "explanation": e.explanation}
                      for e in spec.examples],
            reviews_per_submission=spec.reviews_per_submission,
            reviews_required=spec.reviews_required, lease_hours=spec.lease_hours,
            training_tolerance_steps=spec.training_tolerance_steps)


# --------------------------------------------------------------------------- opening rounds


def can_open_rounds(user: User) -> bool:
    """Staff and instructors (the author platform role) open peer-review rounds."""
    return any(accounts.has_role(user, role) for role in (PlatformRole.STAFF,
                                                           PlatformRole.AUTHOR))


def _require_opener(actor: User) -> None:
    if not can_open_rounds(actor):
        raise PermissionDenied(_("Only staff and instructors open peer review rounds."))


@dataclass(frozen=True)
class TemplateCard:
    """What the page for opening rounds shows of one template."""

    template: PeerReviewTemplate
    package_id: str
    version: str
    rubric: reviewing.Rubric
    examples: int
    rounds: list[PeerReviewActivity]  # opened from any release of this slug, newest first


def list_templates(actor: User) -> list[TemplateCard]:
    """The current releases' templates by title, each with the rounds opened from it (staff
    and instructors only)."""
    _require_opener(actor)
    templates = list(PeerReviewTemplate.objects.filter(release__is_current=True)
                     .select_related("release__package"))
    rounds: dict[str, list[PeerReviewActivity]] = {}
    for link in (TemplateRound.objects.filter(template__slug__in=[t.slug for t in templates])
                 .select_related("activity", "template").order_by("-opened_at", "-pk")):
        rounds.setdefault(link.template.slug, []).append(link.activity)
    return [TemplateCard(template=t, package_id=t.release.package.package_id,
                         version=t.release.version, rubric=reviewing.Rubric.from_dict(t.rubric),
                         examples=len(t.examples), rounds=rounds.get(t.slug, []))
            for t in templates]


def get_template(slug: str) -> PeerReviewTemplate:
    """The current release's template ``slug``, or ``NotFound``."""
    template = (PeerReviewTemplate.objects.filter(release__is_current=True, slug=slug)
                .select_related("release__package").first())
    if template is None:
        raise NotFound(_("There is no peer review assignment %s.") % slug)
    return template


def _round_slug(template: PeerReviewTemplate, deadline: datetime, slug: str | None) -> str:
    chosen = (slug or "").strip() or f"{template.slug}-{deadline.astimezone(UTC):%Y-%m-%d}"
    if not re.fullmatch(_SLUG, chosen) or len(chosen) > 80:
        raise Invalid(_("A round's address uses lower-case letters, digits and single "
                        "hyphens, at most 80 characters."))
    if chosen in RESERVED_SLUGS:
        raise Invalid(_("“%s” is reserved; choose another address for the round.") % chosen)
    return chosen


def open_round(actor: User, template_slug: str, *, deadline: datetime, slug: str | None = None,
               now: datetime | None = None) -> PeerReviewActivity:
    """Open a peer-review round from the current release's template (staff and instructors).

    The deadline must carry its time zone and lie between a day and a year ahead; the round's
    slug defaults to ``<template>-<deadline's UTC date>``. The round copies the template's
    prompt, rubric, k, n and training examples (``review_services.create_activity``, which
    checks them again) and records which template release it came from. One transaction;
    ``Conflict`` when the slug is taken.
    """
    _require_opener(actor)
    template = get_template(template_slug)
    if deadline.tzinfo is None:
        raise Invalid(_("Give the deadline with its time zone."))
    now = now or timezone.now()
    if not now + MIN_DEADLINE <= deadline <= now + MAX_DEADLINE:
        raise Invalid(_("Set the deadline between a day and a year from now."))
    round_slug = _round_slug(template, deadline, slug)
    with transaction.atomic():
        activity = review_services.create_activity(
            actor, slug=round_slug, deadline=deadline, **template.round_settings())
        TemplateRound.objects.create(activity=activity, template=template, opened_by=actor,
                                     opened_at=now)
    return activity
