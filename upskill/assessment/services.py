"""Public operations of assessment: the diagnostic item bank and the adaptive diagnostic.

The diagnostic is a computerized adaptive test over the skills a role needs (see
:mod:`upskill.assessment.cat`). Its state lives in the database as the list of administered
items and answers; every request rebuilds the CAT session from them (at most a few dozen EAP
evaluations), so a learner can stop at any point and resume on another device. The item on
screen is stored on the attempt before it is shown, which makes reloading show the same item
and makes a second submission of an answered item (a second tab, a double click) a conflict
instead of a second answer. Answer keys never leave this module except in the feedback after
the attempt is finished.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts.models import User
from upskill.assessment import bank as bank_rules
from upskill.assessment import calibration, cat, irt
from upskill.assessment.bank import TARGET_THETA, level_of, mastery_probability
from upskill.assessment.exam import add_months, reported_score
from upskill.assessment.models import (
    DiagnosticAttempt,
    DiagnosticResponse,
    Item,
    SkillEstimate,
    TestOutAttempt,
)
from upskill.catalog import services as catalog
from upskill.catalog.models import Release, Role, Skill
from upskill.catalog.services import ItemSpec, Package
from upskill.core.errors import Conflict, Invalid, NotFound
from upskill.core.markdown import render_code, render_inline, render_markdown

__all__ = [
    "EXPERIENCE_CHOICES",
    "POLICY",
    "TARGET_THETA",
    "DiagnosticState",
    "Question",
    "TestOutResult",
    "abandon_diagnostic",
    "add_months",
    "answer_item",
    "attempt_for",
    "categories_of",
    "estimates_for",
    "finish_diagnostic",
    "grade_test_out",
    "key_of",
    "kind_of",
    "latest_finished_attempt",
    "level_of",
    "mastery_probability",
    "open_attempt",
    "parse_response",
    "reported_score",
    "review",
    "start_diagnostic",
    "state_of",
    "test_out_quiz",
    "test_out_wait",
    "write_bank_items",
]

EXPERIENCE_CHOICES: tuple[tuple[cat.Experience, str], ...] = (
    ("none", "New to this"),
    ("some", "Some experience"),
    ("professional", "I do this at work"),
)

# Diagnostic length and precision. Each area (skill category) is measured until its standard
# error falls to AREA_SE, within MIN_ITEMS..MAX_ITEMS questions in all; see bench/cat_simulation.
POLICY = cat.DIAGNOSTIC_POLICY_DEFAULTS

CATEGORY_NAMES: Mapping[str, str] = {value: str(name) for value, name in Skill.Category.choices}


# ----------------------------------------------------------------------------- importing items


def _item_digest(spec: ItemSpec) -> str:
    """What decides whether an item is still the same question (its calibration stays)."""
    meaningful = spec.model_dump(exclude={"explanation", "difficulty"})
    return hashlib.sha256(json.dumps(meaningful, sort_keys=True).encode()).hexdigest()


def _answer_of(spec: ItemSpec) -> Any:
    if spec.kind == "numeric":
        assert not isinstance(spec.answer, list)  # the validator allows one number only
        return {"value": float(spec.answer), "tolerance": spec.tolerance or 0.0}
    return spec.answer


def write_bank_items(release: Release, package: Package) -> None:
    """Import a package's diagnostic items (registered as a catalog package writer).

    A changed question (stem, options, key or code) loses its calibration and returns to
    provisional parameters from the author's rating; an unchanged one keeps its parameters and
    statistics. Items the new release no longer has leave the bank but keep their responses.
    """
    if not package.items:
        return
    skills = {s.slug: s for s in Skill.objects.filter(slug__in=list(package.items))}
    existing = {item.key: item for item in Item.objects.filter(
        key__in=[spec.id for specs in package.items.values() for spec in specs])}
    keys: list[str] = []
    for skill_slug, specs in package.items.items():
        for spec in specs:
            keys.append(spec.id)
            digest = _item_digest(spec)
            a, b, c = bank_rules.provisional_parameters(
                spec.kind, spec.difficulty, len(spec.options or []))
            fields: dict[str, Any] = {
                "release": release,
                "pool": package.meta.item_pool,
                "skill": skills[skill_slug],
                "kind": spec.kind,
                "stem_html": render_markdown(spec.stem),
                "code_html": render_code(spec.code, spec.language or "text") if spec.code else "",
                "options_html": [render_inline(option) for option in spec.options or []],
                "answer": _answer_of(spec),
                "unit": spec.unit or "",
                "explanation_html": render_markdown(spec.explanation),
                "difficulty_rating": spec.difficulty,
                "in_bank": True,
            }
            item = existing.get(spec.id)
            if item is None or item.content_digest != digest:
                fields |= {"content_digest": digest, "status": Item.Status.PROVISIONAL,
                           "content_changed_at": timezone.now(),
                           "irt_a": a, "irt_b": b, "irt_c": c, "calibrated_at": None,
                           "calibration_responses": 0, "exposure_k": 1.0}
            elif item.status == Item.Status.PROVISIONAL:
                fields |= {"irt_a": a, "irt_b": b, "irt_c": c}  # the rating may have changed
            Item.objects.update_or_create(key=spec.id, defaults=fields)
    (Item.objects.filter(release__package=release.package, in_bank=True)
     .exclude(key__in=keys).update(in_bank=False))


# ----------------------------------------------------------------------------- the CAT bank


@dataclass(frozen=True)
class _RoleBank:
    """The CAT's view of the items for one role: indices into ``items``, skills and areas."""

    role: Role
    items: list[Item]
    skills: list[Skill]
    levels: list[int]
    categories: list[str]
    bank: cat.ItemBank
    index_of_item: dict[int, int]


def categories_of(role: Role) -> list[tuple[str, str]]:
    """The skill categories a role needs, as (value, human name), in catalog order."""
    present = set(role.required_skills.values_list("skill__category", flat=True))
    return [(value, str(name)) for value, name in Skill.Category.choices if value in present]


def _role_bank(role: Role) -> _RoleBank:
    required = list(role.required_skills.select_related("skill").order_by("skill__slug"))
    skills = [rs.skill for rs in required]
    levels = [rs.level for rs in required]
    position = {skill.pk: i for i, skill in enumerate(skills)}
    items = list(
        Item.objects.filter(skill__in=skills, in_bank=True, pool=Item.Pool.DIAGNOSTIC)
        .exclude(status=Item.Status.RETIRED).order_by("pk")
    )
    categories = [value for value, _name in categories_of(role)]
    area_of_skill = np.array([categories.index(skill.category) for skill in skills],
                             dtype=np.int64)
    parameters = irt.ItemParameters.from_difficulty(
        [item.irt_a for item in items], [item.irt_b for item in items],
        [item.irt_c for item in items])
    bank = cat.ItemBank(
        parameters,
        np.array([position[item.skill_id] for item in items], dtype=np.int64),
        len(skills),
        area_of_skill=area_of_skill,
        exposure_k=np.array([item.exposure_k for item in items], dtype=np.float64),
    )
    return _RoleBank(role, items, skills, levels, categories, bank,
                     {item.pk: i for i, item in enumerate(items)})


def _policy(role_bank: _RoleBank) -> cat.CatPolicy:
    return cat.diagnostic_policy([float(level) for level in role_bank.levels])


def _experience_by_skill(role_bank: _RoleBank, experience: Mapping[str, str]
                         ) -> list[cat.Experience]:
    allowed = {value for value, _label in EXPERIENCE_CHOICES}
    out: list[cat.Experience] = []
    for skill in role_bank.skills:
        level = experience.get(skill.category, "none")
        out.append(level if level in allowed else "none")
    return out


def _session(role_bank: _RoleBank, attempt: DiagnosticAttempt,
             responses: Sequence[DiagnosticResponse]) -> cat.Session:
    policy = _policy(role_bank)
    # Sympson-Hetter draws are made once per attempt; the same stream on every replay keeps
    # the items passed over the same across requests.
    session = cat.start_session(role_bank.bank, policy,
                                _experience_by_skill(role_bank, attempt.experience),
                                rng=np.random.default_rng([attempt.seed, _EXPOSURE_STREAM]))
    for response in responses:
        index = role_bank.index_of_item.get(response.item_id)
        if index is None:  # the item left the bank after it was answered: keep the rest
            continue
        session = cat.record_response(role_bank.bank, policy, session, index, response.correct)
    return session


# ----------------------------------------------------------------------------- the diagnostic


@dataclass(frozen=True)
class Question:
    """What the browser may see of an item: never its key."""

    key: str
    kind: str
    stem_html: str
    code_html: str
    options_html: list[str]
    unit: str
    skill_name: str
    category_name: str


@dataclass(frozen=True)
class DiagnosticState:
    attempt: DiagnosticAttempt
    question: Question | None
    position: int  # 1-based number of the question on screen
    answered: int
    min_items: int
    max_items: int

    @property
    def finished(self) -> bool:
        return self.attempt.status == DiagnosticAttempt.Status.FINISHED


def _question(item: Item) -> Question:
    return Question(
        key=item.key, kind=item.kind, stem_html=item.stem_html, code_html=item.code_html,
        options_html=list(item.options_html), unit=item.unit, skill_name=item.skill.name,
        category_name=str(CATEGORY_NAMES.get(item.skill.category, item.skill.category)),
    )


def _state(attempt: DiagnosticAttempt) -> DiagnosticState:
    item = attempt.current_item
    return DiagnosticState(
        attempt=attempt,
        question=_question(item) if item is not None else None,
        position=attempt.n_answered + 1,
        answered=attempt.n_answered,
        min_items=POLICY["min_items"],
        max_items=POLICY["max_items"],
    )


def attempt_for(user: User, attempt_id: int) -> DiagnosticAttempt:
    """The learner's own attempt; another learner's attempt does not exist for them."""
    attempt = (DiagnosticAttempt.objects.select_related("role", "current_item__skill")
               .filter(pk=attempt_id, user=user).first())
    if attempt is None:
        raise NotFound(_("There is no such diagnostic."))
    return attempt


def open_attempt(user: User, role_slug: str | None = None) -> DiagnosticAttempt | None:
    """The learner's unfinished diagnostic (for a role, if given), to resume."""
    query = DiagnosticAttempt.objects.filter(user=user,
                                             status=DiagnosticAttempt.Status.IN_PROGRESS)
    if role_slug is not None:
        query = query.filter(role__slug=role_slug)
    return query.select_related("role", "current_item__skill").order_by("-updated_at").first()


def state_of(user: User, attempt_id: int) -> DiagnosticState:
    return _state(attempt_for(user, attempt_id))


def start_diagnostic(user: User, role_slug: str, experience: Mapping[str, str]
                     ) -> DiagnosticState:
    """Start (or resume, if one is open) the diagnostic for a role.

    ``experience`` maps each of the role's skill categories to none / some / professional;
    it sets where the test starts, so a career returner does not meet the hardest items first.
    """
    role = catalog.get_role(role_slug)
    allowed = {value for value, _label in EXPERIENCE_CHOICES}
    categories = [value for value, _name in categories_of(role)]
    unknown = sorted(set(experience) - set(categories))
    if unknown:
        raise Invalid(_("This role has no skill area %(area)s.") % {"area": unknown[0]})
    bad = sorted(value for value in experience.values() if value not in allowed)
    if bad:
        raise Invalid(_("Experience must be one of none, some or professional."))
    with transaction.atomic():
        existing = (DiagnosticAttempt.objects.select_for_update()
                    .filter(user=user, role=role, status=DiagnosticAttempt.Status.IN_PROGRESS)
                    .first())
        if existing is not None:
            return state_of(user, existing.pk)
        role_bank = _role_bank(role)
        if not role_bank.items:
            raise Conflict(_("The diagnostic for this role has no questions yet."))
        attempt = DiagnosticAttempt.objects.create(
            user=user, role=role, seed=secrets.randbits(62),
            experience={c: experience.get(c, "none") for c in categories},
        )
        _advance(role_bank, attempt, [])
    return state_of(user, attempt.pk)


_EXPOSURE_STREAM = 2**31  # distinct from the per-step selection streams (step < 2**31)


def _rng(attempt: DiagnosticAttempt, step: int) -> np.random.Generator:
    return np.random.default_rng([attempt.seed, step])


def _advance(role_bank: _RoleBank, attempt: DiagnosticAttempt,
             responses: Sequence[DiagnosticResponse]) -> None:
    """Choose the next item or finish; saves the attempt."""
    policy = _policy(role_bank)
    session = _session(role_bank, attempt, responses)
    now = timezone.now()
    reason = cat.stop_reason(role_bank.bank, policy, session)
    index = None if reason is not None else cat.select_item(
        role_bank.bank, policy, session, _rng(attempt, len(responses)))
    if index is None:
        _finish(role_bank, attempt, session, (reason or cat.StopReason.NO_ELIGIBLE_ITEMS).value)
        return
    item = role_bank.items[index]
    Item.objects.filter(pk=item.pk).update(times_shown=F("times_shown") + 1)
    attempt.current_item = item
    attempt.current_shown_at = now
    attempt.updated_at = now
    attempt.save(update_fields=["current_item", "current_shown_at", "updated_at"])


def _finish(role_bank: _RoleBank, attempt: DiagnosticAttempt, session: cat.Session,
            reason: str) -> None:
    policy = _policy(role_bank)
    estimates = cat.skill_estimates(role_bank.bank, policy, session)
    counts = np.bincount(role_bank.bank.skill[list(session.administered)],
                         minlength=len(role_bank.skills))
    now = timezone.now()
    for skill, estimate, count in zip(role_bank.skills, estimates, counts, strict=True):
        SkillEstimate.objects.update_or_create(user=attempt.user, skill=skill, defaults={
            "theta": float(estimate.theta), "standard_error": float(estimate.standard_error),
            "n_items": int(count), "attempt": attempt, "measured_at": now,
        })
    attempt.status = DiagnosticAttempt.Status.FINISHED
    attempt.stop_reason = reason
    attempt.current_item = None
    attempt.current_shown_at = None
    attempt.finished_at = now
    attempt.updated_at = now
    attempt.save(update_fields=["status", "stop_reason", "current_item", "current_shown_at",
                                "finished_at", "updated_at"])
    calibration.maybe_schedule_calibration()


def parse_response(kind: str, raw: Sequence[str], n_options: int) -> object:
    """The submitted form values as the scorer's response; Invalid with a reason otherwise."""
    values = [value.strip() for value in raw if value.strip()]
    if not values:
        raise Invalid(_("Choose an answer, or use “I don't know” to skip."))
    if kind == "numeric":
        text = values[0].replace(",", ".").replace(" ", "").rstrip("%")
        try:
            number = float(text)
        except ValueError:
            raise Invalid(_("Type a number, for example 12.5.")) from None
        if not np.isfinite(number):
            raise Invalid(_("Type a number, for example 12.5."))
        return number
    if not all(value.isdigit() and int(value) < n_options for value in values):
        raise Invalid(_("That is not one of the options."))
    chosen = sorted({int(value) for value in values})
    if kind == "multi":
        return chosen
    if len(chosen) != 1:
        raise Invalid(_("Choose one option."))
    return chosen[0]


def kind_of(item: Item) -> bank_rules.Kind:
    kind = item.kind
    if kind not in bank_rules.KINDS:
        raise ValueError(f"unknown item kind {kind!r}")
    return kind


def key_of(item: Item) -> int | list[int] | bank_rules.NumericKey:
    if item.kind == Item.Kind.NUMERIC:
        return bank_rules.NumericKey(float(item.answer["value"]),
                                     float(item.answer.get("tolerance", 0.0)))
    if item.kind == Item.Kind.MULTI:
        return [int(k) for k in item.answer]
    return int(item.answer)


def answer_item(user: User, attempt_id: int, item_key: str, raw: Sequence[str] | None,
                ) -> DiagnosticState:
    """Record the answer to the item on screen (``raw`` None: "I don't know", scored wrong),
    then choose the next item or finish.

    Answering an item that is not the one on screen (a second tab, a resubmitted form) is a
    Conflict and changes nothing.
    """
    with transaction.atomic():
        attempt = (DiagnosticAttempt.objects.select_for_update()
                   .filter(pk=attempt_id, user=user).first())
        if attempt is None:
            raise NotFound(_("There is no such diagnostic."))
        if attempt.status != DiagnosticAttempt.Status.IN_PROGRESS:
            raise Conflict(_("This diagnostic is already finished."))
        item = (Item.objects.select_related("skill").filter(pk=attempt.current_item_id).first()
                if attempt.current_item_id is not None else None)
        if item is None or item.key != item_key:
            raise Conflict(_("That question was already answered; here is the current one."))
        response: object = None
        if raw is not None:
            response = parse_response(item.kind, raw, len(item.options_html))
        correct = response is not None and bank_rules.score(kind_of(item), key_of(item), response)
        now = timezone.now()
        shown = attempt.current_shown_at
        DiagnosticResponse.objects.create(
            attempt=attempt, item=item, position=attempt.n_answered + 1,
            response=response, correct=correct, answered_at=now,
            seconds=int((now - shown).total_seconds()) if shown else None,
        )
        attempt.n_answered += 1
        attempt.save(update_fields=["n_answered"])
        responses = list(attempt.responses.all())
        _advance(_role_bank(attempt.role), attempt, responses)
    return state_of(user, attempt_id)


def finish_diagnostic(user: User, attempt_id: int) -> DiagnosticState:
    """Finish early with what has been answered so far (wider uncertainty)."""
    with transaction.atomic():
        attempt = (DiagnosticAttempt.objects.select_for_update()
                   .filter(pk=attempt_id, user=user).first())
        if attempt is None:
            raise NotFound(_("There is no such diagnostic."))
        if attempt.status == DiagnosticAttempt.Status.IN_PROGRESS:
            if attempt.n_answered == 0:
                raise Conflict(_("Answer at least one question before finishing."))
            role_bank = _role_bank(attempt.role)
            session = _session(role_bank, attempt, list(attempt.responses.all()))
            _finish(role_bank, attempt, session, "finished_early")
    return state_of(user, attempt_id)


def abandon_diagnostic(user: User, attempt_id: int) -> None:
    """Drop an unfinished attempt (to start over); its answers stay for calibration."""
    attempt = attempt_for(user, attempt_id)
    if attempt.status != DiagnosticAttempt.Status.IN_PROGRESS:
        raise Conflict(_("Only an unfinished diagnostic can be abandoned."))
    DiagnosticAttempt.objects.filter(pk=attempt.pk).update(
        status=DiagnosticAttempt.Status.ABANDONED, current_item=None, updated_at=timezone.now())


# ----------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class Estimate:
    skill_id: int
    theta: float
    standard_error: float
    n_items: int
    measured_at: Any


def estimates_for(user: User, skill_ids: Sequence[int] | None = None) -> dict[int, Estimate]:
    """The learner's latest measured abilities by skill id (one query)."""
    query = SkillEstimate.objects.filter(user=user)
    if skill_ids is not None:
        query = query.filter(skill_id__in=list(skill_ids))
    return {
        row.skill_id: Estimate(row.skill_id, row.theta, row.standard_error, row.n_items,
                               row.measured_at)
        for row in query
    }


@dataclass(frozen=True)
class ReviewOption:
    html: str
    is_key: bool
    chosen: bool


@dataclass(frozen=True)
class ReviewRow:
    position: int
    skill_name: str
    kind: str
    stem_html: str
    code_html: str
    options: list[ReviewOption]
    given: str  # a numeric answer as typed (after parsing), "" when skipped or a choice item
    expected: str  # a numeric key with its tolerance
    unit: str
    skipped: bool
    correct: bool
    explanation_html: str


def review(user: User, attempt_id: int) -> list[ReviewRow]:
    """A finished attempt's questions with the learner's answers; keys are shown only now."""
    attempt = attempt_for(user, attempt_id)
    if attempt.status != DiagnosticAttempt.Status.FINISHED:
        raise Conflict(_("Answers are shown once the diagnostic is finished."))
    rows = []
    for response in attempt.responses.select_related("item__skill").order_by("position"):
        item = response.item
        key = key_of(item)
        given = response.response
        chosen = set(given) if isinstance(given, list) else {given} if isinstance(
            given, int) else set()
        keys = set(key) if isinstance(key, list) else {key} if isinstance(key, int) else set()
        rows.append(ReviewRow(
            position=response.position, skill_name=item.skill.name, kind=item.kind,
            stem_html=item.stem_html, code_html=item.code_html,
            options=[ReviewOption(html, i in keys, i in chosen)
                     for i, html in enumerate(item.options_html)],
            given=f"{given:g}" if isinstance(given, float) else "",
            expected=(f"{key.value:g}" + (f" ± {key.tolerance:g}" if key.tolerance else "")
                      if isinstance(key, bank_rules.NumericKey) else ""),
            unit=item.unit, skipped=given is None, correct=response.correct,
            explanation_html=item.explanation_html,
        ))
    return rows


def latest_finished_attempt(user: User, role_slug: str | None = None
                            ) -> DiagnosticAttempt | None:
    query = DiagnosticAttempt.objects.filter(user=user,
                                             status=DiagnosticAttempt.Status.FINISHED)
    if role_slug is not None:
        query = query.filter(role__slug=role_slug)
    return query.select_related("role").order_by("-finished_at").first()


# ----------------------------------------------------------------------------- testing out

TEST_OUT_ITEMS = 4
TEST_OUT_PASS_SHARE = 0.75
TEST_OUT_RETRY_HOURS = 24


def _test_out_items(user: User, skill: Skill) -> list[Item]:
    """Up to TEST_OUT_ITEMS of the skill's items, those the learner has not met in a
    diagnostic first, harder ones first (passing should mean knowing the skill)."""
    items = list(Item.objects.select_related("skill")
                 .filter(skill=skill, in_bank=True, pool=Item.Pool.DIAGNOSTIC)
                 .exclude(status=Item.Status.RETIRED))
    seen = set(DiagnosticResponse.objects.filter(attempt__user=user, item__skill=skill)
               .values_list("item_id", flat=True))
    items.sort(key=lambda item: (item.pk in seen, -item.irt_b, item.key))
    return items[:TEST_OUT_ITEMS]


def _last_test_out(user: User, skill: Skill) -> TestOutAttempt | None:
    return (TestOutAttempt.objects.filter(user=user, skill=skill).order_by("-taken_at")
            .first())


def test_out_wait(user: User, skill: Skill) -> datetime | None:
    """When the learner may try this skill's test-out again, or None if they may now."""
    last = _last_test_out(user, skill)
    if last is None or last.passed:
        return None
    again = last.taken_at + timedelta(hours=TEST_OUT_RETRY_HOURS)
    return again if again > timezone.now() else None


def test_out_quiz(user: User, skill: Skill) -> list[Question]:
    """The questions of a test-out quiz for ``skill`` (never their keys)."""
    wait = test_out_wait(user, skill)
    if wait is not None:
        raise Conflict(_("You can try this test again after %(when)s.")
                       % {"when": timezone.localtime(wait).strftime("%d %B %Y, %H:%M")})
    items = _test_out_items(user, skill)
    if len(items) < 2:
        raise Conflict(_("There are not enough questions to test out of this skill yet."))
    return [_question(item) for item in items]


@dataclass(frozen=True)
class TestOutResult:
    passed: bool
    correct: int
    total: int
    needed: int
    outcomes: list[bool]


def grade_test_out(user: User, skill: Skill, answers: Mapping[str, Sequence[str]]
                   ) -> TestOutResult:
    """Score a test-out quiz. ``answers`` maps each quiz item's key to its raw form values;
    an unanswered item counts as not correct. Invalid if an answer is malformed (nothing is
    recorded then, so the learner can correct it)."""
    items = _test_out_items(user, skill)
    wait = test_out_wait(user, skill)
    if wait is not None:
        raise Conflict(_("You can try this test again after %(when)s.")
                       % {"when": timezone.localtime(wait).strftime("%d %B %Y, %H:%M")})
    if len(items) < 2:
        raise Conflict(_("There are not enough questions to test out of this skill yet."))
    outcomes = []
    for item in items:
        raw = [value for value in answers.get(item.key, []) if value.strip()]
        if not raw:
            outcomes.append(False)
            continue
        response = parse_response(item.kind, raw, len(item.options_html))
        outcomes.append(bank_rules.score(kind_of(item), key_of(item), response))
    needed = int(np.ceil(TEST_OUT_PASS_SHARE * len(items)))
    passed = sum(outcomes) >= needed
    TestOutAttempt.objects.create(user=user, skill=skill, items=[i.key for i in items],
                                  outcomes=outcomes, passed=passed)
    return TestOutResult(passed, sum(outcomes), len(items), needed, outcomes)
