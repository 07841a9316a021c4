"""Certification exams: importing exam definitions, preparing forms, delivering attempts with a
server-owned clock, scoring, and the candidate's score report.

The psychometrics are in the pure module :mod:`upskill.assessment.exam` (blueprints, Angoff
cut scores, automated assembly of fixed forms, the adaptive classification test, scoring,
classification consistency); this module keeps the state in the database and enforces the
rules of a sitting:

- The server owns the clock. ``deadline`` is fixed at start (time limit x the candidate's
  extended-time factor, recorded on the attempt). Time left is always ``deadline - now``, so a
  candidate who reconnects resumes with the time that really remains; every request on an
  attempt past its deadline submits it first, and a deferred job submits attempts nobody
  comes back to.
- Answers autosave: each save replaces the saved answer of the item on screen. Option order is
  shuffled per candidate and item (stored on the response); the browser sends the shown slot and
  the server maps it back, so keys and original positions never leave this module.
- Adaptive exams show one item at a time and move on only forward; fixed forms let the
  candidate move between the form's items until they submit.
- Races between two tabs are settled by conditional updates (``position`` for moving on,
  ``status`` for finishing): exactly one request wins, the other gets a Conflict and changes
  nothing, so two submissions never make two results.
- Starting an attempt does a small constant number of queries: forms, opening items and the
  expected classification accuracy are computed by the ``assessment.prepare_exam`` job when an
  exam or its items change, never at start.
- Renewal: an exam may define a shorter recertification (``renewal`` in its file). A holder of
  a credential in good standing for the program may take it inside the window before expiry, or
  at once when the credential is marked for renewal (a major content release); whether they
  may is the credentials app's answer (``credentials.renewal_status``). A renewal attempt
  (``purpose="renewal"``) is not blocked by "you have passed" or the certification attempt
  limit, does not re-require the labs, has its own attempt limit (the exam's, counted since
  the pass that earned the credential) and waiting period, and uses the renewal length:
  adaptive exams the renewal min/max, fixed exams a renewal form of that length assembled to
  the blueprint's proportions. Its blueprint keeps the weights and scales each area's minimum
  by the renewal's minimum length over the exam's (rounded down); its time limit scales with
  the maximum length. Passing issues a new credential through the same job, which supersedes
  the old.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from threading import Lock
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.assessment import bank as bank_rules
from upskill.assessment import exam as psychometrics
from upskill.assessment import irt
from upskill.assessment.models import (
    Exam,
    ExamAttempt,
    ExamForm,
    ExamResponse,
    IntegrityEvent,
    Item,
    Purpose,
)
from upskill.assessment.services import key_of, kind_of, parse_response
from upskill.catalog import services as catalog
from upskill.catalog.models import Program, Release
from upskill.catalog.services import Package
from upskill.core import jobs
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.models import Job
from upskill.credentials import services as credentials
from upskill.labs import services as labs

__all__ = [
    "ATTEMPT_WINDOW_DAYS",
    "ExamOverview",
    "ExamQuestion",
    "ExamReport",
    "ExamState",
    "close_if_expired",
    "exam_overview",
    "finish_exam",
    "list_exams",
    "log_integrity",
    "move_to",
    "next_question",
    "now",
    "prepare_exam",
    "report",
    "save_answer",
    "start_exam",
    "state_of",
    "valid_until",
    "write_exams",
]

ATTEMPT_WINDOW_DAYS = 365
# Fixed forms assembled per bank version (parallel forms; candidates get one at random).
PARALLEL_FORMS = 2
# Simulated candidates for an exam's expected decision accuracy and consistency.
CLASSIFICATION_SIMULEES = 2000
# Adaptive exams' exposure control: the cap (see exposure_cap) and the tuning simulation.
EXPOSURE_CAP = 0.35
EXPOSURE_SIMULEES = 400
EXPOSURE_ITERATIONS = 5
# How many of the most informative items at the cut an adaptive exam's first item is drawn from.
OPENING_ITEMS = 6
# The server submits an expired attempt this long after its deadline at the latest (the
# deferred job); any request on the attempt submits it at once.
EXPIRY_GRACE = timedelta(seconds=5)
# An answer saved this soon after its item was shown is logged for review (never penalised).
FAST_ANSWER_SECONDS = 3
SCALE_PASS = psychometrics.SCALE_PASS

PREPARE_JOB = "assessment.prepare_exam"
CLOSE_JOB = "assessment.close_exam_attempt"


def now() -> datetime:
    """The server's clock (one place, so that tests can control it)."""
    return timezone.now()


# ----------------------------------------------------------------------------- the exam's bank


@dataclass(frozen=True)
class ExamBank:
    """An exam's usable items, in a fixed order, with what the psychometrics need."""

    exam_id: int
    bank_version: int
    item_ids: tuple[int, ...]
    parameters: irt.ItemParameters
    area_of_item: np.ndarray
    skill_of_item: np.ndarray
    blueprint: psychometrics.Blueprint
    index_of: Mapping[int, int]

    def design(self, exam: Exam, *, exposure: bool = True,
               purpose: str = Purpose.CERTIFICATION) -> psychometrics.AdaptiveDesign:
        """The adaptive design, with the exam's tuned Sympson-Hetter probabilities (unless
        ``exposure`` is False, as when tuning them); a renewal's is shorter (its lengths and
        the scaled blueprint)."""
        control = exam.exposure_control if exposure else {}
        k = np.array([float(control.get(str(pk), 1.0)) for pk in self.item_ids],
                     dtype=np.float64)
        blueprint, (min_items, max_items) = self.blueprint, (exam.min_items, exam.max_items)
        # A renewal attempt whose exam lost its renewal block mid-attempt runs to full length.
        if purpose == Purpose.RENEWAL and exam.renewal_max_items is not None:
            blueprint, (min_items, max_items) = renewal_blueprint(exam), _renewal_length(exam)
        return psychometrics.AdaptiveDesign(
            items=self.parameters, area_of_item=self.area_of_item, blueprint=blueprint,
            cut=exam.cut_theta, min_items=min_items, max_items=max_items,
            confidence=exam.confidence, skill_of_item=self.skill_of_item,
            exposure_k=k if control else None)


_BANKS: OrderedDict[tuple[int, int, str], ExamBank] = OrderedDict()
_BANKS_LOCK = Lock()
_BANKS_KEPT = 32


def _blueprint_of(exam: Exam) -> psychometrics.Blueprint:
    return psychometrics.Blueprint(tuple(
        psychometrics.Area(str(area["area"]), float(area["weight"]), int(area["min_items"]))
        for area in exam.blueprint))


def _renewal_length(exam: Exam) -> tuple[int, int]:
    if exam.renewal_min_items is None or exam.renewal_max_items is None:
        raise Conflict(_("This exam has no renewal."))
    return exam.renewal_min_items, exam.renewal_max_items


def renewal_blueprint(exam: Exam) -> psychometrics.Blueprint:
    """The renewal's blueprint: the same areas and weights, each area's minimum scaled by the
    renewal's minimum length over the exam's and rounded down, so that the minimums always
    fit the renewal (they fit the exam's minimum length, which the importer checks)."""
    shortest, _longest = _renewal_length(exam)
    return psychometrics.Blueprint(tuple(
        psychometrics.Area(str(area["area"]), float(area["weight"]),
                           int(area["min_items"]) * shortest // exam.min_items)
        for area in exam.blueprint))


def renewal_time_limit_seconds(exam: Exam) -> int:
    """The renewal's time limit: the exam's, scaled by the maximum lengths, in whole minutes
    rounded up."""
    _shortest, longest = _renewal_length(exam)
    return math.ceil(exam.time_limit_seconds * longest / exam.max_items / 60) * 60


def _usable_items(exam: Exam) -> list[Item]:
    skills = [slug for area in exam.blueprint for slug in area["skills"]]
    return list(Item.objects.filter(pool=Item.Pool.EXAM, in_bank=True, skill__slug__in=skills)
                .exclude(status=Item.Status.RETIRED).select_related("skill").order_by("pk"))


def exam_bank(exam: Exam) -> ExamBank:
    """The exam's bank for its current ``bank_version``, kept in this process (one query the
    first time)."""
    # updated_at too: ids and versions repeat when a database is rebuilt (tests, restores).
    key = (exam.pk, exam.bank_version, exam.updated_at.isoformat())
    with _BANKS_LOCK:
        cached = _BANKS.get(key)
        if cached is not None:
            _BANKS.move_to_end(key)
            return cached
    items = _usable_items(exam)
    area_of_skill = {slug: index for index, area in enumerate(exam.blueprint)
                     for slug in area["skills"]}
    skills = sorted({item.skill.slug for item in items})
    bank = ExamBank(
        exam_id=exam.pk,
        bank_version=exam.bank_version,
        item_ids=tuple(item.pk for item in items),
        parameters=irt.ItemParameters.from_difficulty(
            [item.irt_a for item in items], [item.irt_b for item in items],
            [item.irt_c for item in items]),
        area_of_item=np.array([area_of_skill[item.skill.slug] for item in items], dtype=np.int64),
        skill_of_item=np.array([skills.index(item.skill.slug) for item in items], dtype=np.int64),
        blueprint=_blueprint_of(exam),
        index_of={item.pk: index for index, item in enumerate(items)},
    )
    with _BANKS_LOCK:
        _BANKS[key] = bank
        while len(_BANKS) > _BANKS_KEPT:
            _BANKS.popitem(last=False)
    return bank


# ----------------------------------------------------------------------------- importing


def _cut_score(spec_ratings: Mapping[str, Sequence[float]], n_raters: int
               ) -> psychometrics.CutScore:
    items = {item.key: item for item in Item.objects.filter(key__in=list(spec_ratings))}
    keys = [key for key in spec_ratings if key in items]
    parameters = irt.ItemParameters.from_difficulty(
        [items[k].irt_a for k in keys], [items[k].irt_b for k in keys],
        [items[k].irt_c for k in keys])
    ratings = np.array([[spec_ratings[k][r] for k in keys] for r in range(n_raters)],
                       dtype=np.float64)
    return psychometrics.angoff_cut(ratings, parameters)


def write_exams(release: Release, package: Package) -> None:
    """Import a package's exam definitions (registered as a catalog package writer, after the
    items). The cut score is converted from the Angoff ratings to the ability scale with the
    items' current parameters; forms are assembled by the prepare job after the import."""
    for program_slug, spec in package.exams.items():
        program = Program.objects.get(slug=program_slug)
        cut = _cut_score(spec.cut_score.ratings, len(spec.cut_score.raters))
        fields: dict[str, Any] = {
            "release": release, "title": spec.title, "summary": spec.summary,
            "form_kind": spec.form, "min_items": spec.items.min, "max_items": spec.items.max,
            "time_limit_seconds": spec.time_limit_minutes * 60, "confidence": spec.confidence,
            "blueprint": [area.model_dump() for area in spec.blueprint],
            "cut_theta": cut.theta, "cut_expected_raw": cut.expected_raw,
            "cut_standard_error": cut.standard_error,
            "cut_rater_thetas": list(cut.rater_thetas), "cut_method": spec.cut_score.method,
            "cut_panel": spec.cut_score.panel,
            "cut_ratings": {key: list(values) for key, values in spec.cut_score.ratings.items()},
            "eligible_labs": list(spec.eligibility.labs), "max_attempts": spec.attempts.max,
            "attempt_window_days": ATTEMPT_WINDOW_DAYS, "wait_days": spec.attempts.wait_days,
            "valid_months": spec.valid_months, "updated_at": now(),
            "renewal_min_items": spec.renewal.items.min if spec.renewal else None,
            "renewal_max_items": spec.renewal.items.max if spec.renewal else None,
            "renewal_window_days": spec.renewal.window_days if spec.renewal else None,
        }
        exam, created = Exam.objects.get_or_create(program=program, defaults=fields)
        if not created:
            for name, value in fields.items():
                setattr(exam, name, value)
            exam.bank_version += 1
            exam.save()
        schedule_preparation(exam)


def bank_changed(exam_ids: Sequence[int]) -> None:
    """Items of these exams changed (recalibrated, retired, pulled): a new bank version, new
    forms. Attempts in progress keep the version they started with."""
    for exam in Exam.objects.filter(pk__in=list(exam_ids)):
        Exam.objects.filter(pk=exam.pk).update(bank_version=F("bank_version") + 1,
                                               updated_at=now())
        exam.refresh_from_db()
        schedule_preparation(exam)


def exams_using(item_ids: Sequence[int]) -> list[int]:
    """The exams whose bank holds any of these items."""
    slugs = set(Item.objects.filter(pk__in=list(item_ids)).values_list("skill__slug", flat=True))
    return [exam.pk for exam in Exam.objects.all()
            if slugs & {s for area in exam.blueprint for s in area["skills"]}]


def schedule_preparation(exam: Exam) -> Job:
    return jobs.enqueue(PREPARE_JOB, {"exam": exam.pk, "bank_version": exam.bank_version},
                        dedupe_key=f"{PREPARE_JOB}:{exam.pk}:{exam.bank_version}")


def prepare_exam(exam_id: int, bank_version: int | None = None) -> dict[str, Any]:
    """Assemble the fixed forms (or the adaptive exam's opening items) for the exam's current
    bank version and simulate its expected classification accuracy. Idempotent per version;
    a job for a version that is no longer current does nothing."""
    exam = Exam.objects.filter(pk=exam_id).first()
    if exam is None:
        return {"skipped": "no such exam"}
    if bank_version is not None and bank_version != exam.bank_version:
        return {"skipped": f"bank version {bank_version} is no longer current"}
    bank = exam_bank(exam)
    rng = np.random.default_rng([exam.pk, exam.bank_version])
    thetas = rng.standard_normal(CLASSIFICATION_SIMULEES)
    result: dict[str, Any] = {"exam": exam.pk, "bank_version": exam.bank_version}
    if exam.form_kind == Exam.Form.FIXED:
        forms = _assemble(exam, bank, bank.blueprint, exam.max_items)
        renewal_forms = (_assemble(exam, bank, renewal_blueprint(exam), _renewal_length(exam)[1])
                         if exam.renewal_max_items is not None else ())
        with transaction.atomic():
            ExamForm.objects.filter(exam=exam).exclude(bank_version=exam.bank_version
                                                       ).update(active=False)
            for purpose, assembled in ((Purpose.CERTIFICATION, forms),
                                       (Purpose.RENEWAL, renewal_forms)):
                for number, form in enumerate(assembled, start=1):
                    ExamForm.objects.update_or_create(
                        exam=exam, bank_version=exam.bank_version, purpose=purpose,
                        number=number,
                        defaults={"item_ids": [bank.item_ids[i] for i in form], "active": True,
                                  "information_at_cut": psychometrics.form_information(
                                      bank.parameters, form, exam.cut_theta)})
        simulated = psychometrics.simulate_fixed(bank.parameters, forms[0], thetas,
                                                 exam.cut_theta, rng)
        result["forms"] = len(forms)
    else:
        information = irt.item_information(exam.cut_theta, bank.parameters)
        first_area = _first_area(bank)
        in_area = [i for i in range(len(bank.item_ids)) if bank.area_of_item[i] == first_area]
        in_area.sort(key=lambda i: -float(information[i]))
        opening = [bank.item_ids[i] for i in in_area[:OPENING_ITEMS]]
        control = _tune_exposure(exam, bank, rng)
        Exam.objects.filter(pk=exam.pk).update(opening_items=opening, exposure_control=control)
        exam.exposure_control = control
        simulated = psychometrics.simulate_adaptive(bank.design(exam), thetas, rng)
        result["opening_items"] = len(opening)
    truth = thetas >= exam.cut_theta
    classification = psychometrics.rudner_indices(simulated.theta, simulated.standard_error,
                                                  exam.cut_theta)
    summary = {
        "max_exposure": simulated.max_exposure,
        "simulated_accuracy": float(np.mean(simulated.passed == truth)),
        "expected_accuracy": classification.accuracy,
        "expected_consistency": classification.consistency,
        "mean_items": float(np.mean(simulated.n_items)),
        "simulees": int(thetas.size),
        "bank_version": exam.bank_version,
    }
    Exam.objects.filter(pk=exam.pk).update(classification=summary)
    result["classification"] = summary
    return result


def exposure_cap(mean_items: float, pool_size: int) -> float:
    """The most any adaptive exam item should be seen: 0.35 of candidates, or 1.3 x the mean
    exposure when the pool is too small for that (each candidate sees mean_items of
    pool_size items, so the mean exposure is their ratio and no cap can go below it)."""
    return min(1.0, max(EXPOSURE_CAP, 1.3 * mean_items / max(pool_size, 1)))


def _tune_exposure(exam: Exam, bank: ExamBank, rng: np.random.Generator) -> dict[str, float]:
    free = bank.design(exam, exposure=False)
    thetas = rng.standard_normal(EXPOSURE_SIMULEES)
    mean_items = float(np.mean(psychometrics.simulate_adaptive(free, thetas, rng).n_items))
    cap = exposure_cap(mean_items, len(bank.item_ids))
    k = psychometrics.tune_sympson_hetter(free, thetas, rng, r_max=cap,
                                          iterations=EXPOSURE_ITERATIONS)
    return {str(pk): round(float(value), 4) for pk, value in zip(bank.item_ids, k, strict=True)
            if value < 1.0}


def _first_area(bank: ExamBank) -> int:
    """The area an adaptive exam starts in: the heaviest of the blueprint."""
    weights = [area.weight for area in bank.blueprint.areas]
    return int(np.argmax(weights))


def _assemble(exam: Exam, bank: ExamBank, blueprint: psychometrics.Blueprint,
              length: int) -> tuple[tuple[int, ...], ...]:
    kwargs: dict[str, Any] = {"skill_of_item": bank.skill_of_item}
    try:
        return psychometrics.assemble_forms(
            bank.parameters, bank.area_of_item, blueprint, length, exam.cut_theta,
            n_forms=PARALLEL_FORMS, **kwargs)
    except ValueError:
        # Not enough items for two disjoint forms: one form, still to the blueprint.
        return psychometrics.assemble_forms(
            bank.parameters, bank.area_of_item, blueprint, length, exam.cut_theta,
            n_forms=1, **kwargs)


# ----------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class ExamOverview:
    exam: Exam
    eligible: bool
    reasons: list[str]
    missing_labs: list[str]
    attempts_used: int
    attempts_left: int
    next_attempt_at: datetime | None
    open_attempt: ExamAttempt | None
    last_finished: ExamAttempt | None
    time_factor: Decimal
    time_limit_seconds: int
    ready: bool
    # Renewal (additive): the holder's standing (None: no renewal exam, or no credential in
    # force), whether they may start a renewal now and, if not, why; its length and time.
    renewal: credentials.RenewalStatus | None = None
    renewal_available: bool = False
    renewal_reasons: list[str] = field(default_factory=list)
    renewal_items: tuple[int, int] | None = None
    renewal_time_limit_seconds: int | None = None


def list_exams() -> list[Exam]:
    return list(Exam.objects.select_related("program__role").order_by("title"))


def _exam_for(program_slug: str) -> Exam:
    exam = Exam.objects.select_related("program__role").filter(program__slug=program_slug).first()
    if exam is None:
        raise NotFound(_("There is no exam for this program."))
    return exam


def _time_factor(user: User) -> Decimal:
    profile = getattr(user, "profile", None)
    return profile.exam_time_factor if profile is not None else Decimal("1.00")


def _is_ready(exam: Exam, purpose: str = Purpose.CERTIFICATION) -> bool:
    if exam.form_kind == Exam.Form.FIXED:
        return ExamForm.objects.filter(exam=exam, active=True, purpose=purpose,
                                       bank_version=exam.bank_version).exists()
    return bool(exam.opening_items)


def exam_overview(user: User, program_slug: str) -> ExamOverview:
    """What the candidate may do now: eligibility, attempts, waiting period, open attempt."""
    exam = _exam_for(program_slug)
    current = now()
    recent = list(ExamAttempt.objects.filter(
        user=user, exam=exam, started_at__gte=current - timedelta(days=exam.attempt_window_days)
    ).order_by("-started_at"))
    open_attempt = next((a for a in recent if a.status == ExamAttempt.Status.IN_PROGRESS), None)
    if open_attempt is not None and close_if_expired(open_attempt):
        open_attempt = None
    finished = [a for a in recent if a.status == ExamAttempt.Status.FINISHED]
    certifying = [a for a in recent if a.purpose == Purpose.CERTIFICATION]
    missing = sorted(set(exam.eligible_labs) - labs.passed_labs(user, exam.eligible_labs)) \
        if exam.eligible_labs else []
    reasons: list[str] = []
    if missing:
        reasons.append(_("Pass the program's labs first: %(labs)s.") % {"labs": ", ".join(missing)})
    used = len(certifying)  # renewal attempts have their own limit
    if used >= exam.max_attempts and open_attempt is None:
        reasons.append(_("You have used all %(n)d attempts of the last %(days)d days.")
                       % {"n": exam.max_attempts, "days": exam.attempt_window_days})
    next_at: datetime | None = None
    if finished and exam.wait_days:
        next_at = (finished[0].finished_at or finished[0].started_at) + timedelta(
            days=exam.wait_days)
        if next_at <= current:
            next_at = None
        elif open_attempt is None:
            reasons.append(_("You can take the exam again from %(date)s.")
                           % {"date": next_at.date().isoformat()})
    if finished and finished[0].passed and open_attempt is None:
        reasons.append(_("You have passed this exam."))
    factor = _time_factor(user)
    ready = _is_ready(exam)
    if not ready:
        reasons.append(_("This exam is being prepared; try again in a minute."))
    overview = ExamOverview(
        exam=exam, eligible=not reasons, reasons=reasons, missing_labs=missing,
        attempts_used=used, attempts_left=max(0, exam.max_attempts - used),
        next_attempt_at=next_at, open_attempt=open_attempt,
        last_finished=finished[0] if finished else None, time_factor=factor,
        time_limit_seconds=_limit_seconds(exam.time_limit_seconds, factor), ready=ready)
    if exam.renewal_window_days is None:
        return overview
    return _with_renewal(overview, user, current)


def _with_renewal(overview: ExamOverview, user: User, current: datetime) -> ExamOverview:
    """The overview with the holder's renewal options (an exam that offers a renewal)."""
    exam = overview.exam
    assert exam.renewal_window_days is not None
    status = credentials.renewal_status(user, exam.program, exam.renewal_window_days,
                                        now=current)
    reasons: list[str] = []
    if status is not None and not status.available:
        reasons.append(status.reason)
    elif status is not None:
        reasons.extend(_renewal_attempt_rules(user, exam, status.valid_from, current))
        if not _is_ready(exam, Purpose.RENEWAL):
            reasons.append(_("The renewal exam is being prepared; try again in a minute."))
    return dataclasses.replace(
        overview, renewal=status, renewal_available=status is not None and not reasons,
        renewal_reasons=reasons, renewal_items=_renewal_length(exam),
        renewal_time_limit_seconds=_limit_seconds(renewal_time_limit_seconds(exam),
                                                  overview.time_factor))


def _renewal_attempt_rules(user: User, exam: Exam, since: datetime,
                           current: datetime) -> list[str]:
    """The renewal's own retake rules: the exam's number of attempts, counted since the pass
    that earned the credential, and its waiting period after a failed renewal attempt."""
    renewals = list(ExamAttempt.objects.filter(
        user=user, exam=exam, purpose=Purpose.RENEWAL, started_at__gte=since,
        status=ExamAttempt.Status.FINISHED).order_by("-started_at"))
    reasons: list[str] = []
    if len(renewals) >= exam.max_attempts:
        reasons.append(_("You have used all %(n)d renewal attempts; after your credential "
                         "expires, take the full exam.") % {"n": exam.max_attempts})
    elif renewals and exam.wait_days:
        again_at = (renewals[0].finished_at or renewals[0].started_at) + timedelta(
            days=exam.wait_days)
        if again_at > current:
            reasons.append(_("You can take the renewal exam again from %(date)s.")
                           % {"date": again_at.date().isoformat()})
    return reasons


def _limit_seconds(base: int, factor: Decimal) -> int:
    return int((Decimal(base) * factor).to_integral_value())


# ----------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class ExamQuestion:
    """What the browser sees of an item: the options in this candidate's order, never a key."""

    key: str
    kind: str
    stem_html: str
    code_html: str
    options_html: list[str]
    unit: str
    saved: list[int] | float | None  # the saved answer in shown slots (numeric: the number)


@dataclass(frozen=True)
class NavEntry:
    position: int
    answered: bool
    current: bool


@dataclass(frozen=True)
class ExamState:
    attempt: ExamAttempt
    exam: Exam
    question: ExamQuestion | None
    position: int
    length: int | None  # fixed: the form's length; adaptive: None (it depends on the answers)
    max_items: int
    seconds_left: int
    navigator: list[NavEntry]

    @property
    def finished(self) -> bool:
        return self.attempt.status == ExamAttempt.Status.FINISHED

    @property
    def adaptive(self) -> bool:
        return self.exam.form_kind == Exam.Form.ADAPTIVE


def _option_order(attempt: ExamAttempt, item: Item) -> list[int]:
    n = len(item.options_html)
    if n == 0:
        return []
    rng = np.random.default_rng([attempt.seed, item.pk])
    return [int(i) for i in rng.permutation(n)]


def _attempt_for(user: User, attempt_id: int, *, lock: bool = False) -> ExamAttempt:
    query = ExamAttempt.objects.select_related("exam__program", "form")
    if lock:
        query = query.select_for_update(of=("self",))
    attempt = query.filter(pk=attempt_id, user=user).first()
    if attempt is None:
        raise NotFound(_("There is no such exam attempt."))
    return attempt


def start_exam(user: User, program_slug: str,
               purpose: str = Purpose.CERTIFICATION) -> ExamAttempt:
    """Start an attempt (or return the open one, whatever its purpose). ``purpose="renewal"``
    starts a holder's renewal attempt (Conflict with the reasons when it is not open to them:
    the credential checked is always the caller's own). A constant number of queries whatever
    the bank's size or the number of candidates: no item selection, no assembly, no
    simulation."""
    if purpose not in Purpose.values:
        raise Invalid(_("Unknown exam purpose."))
    overview = exam_overview(user, program_slug)
    if overview.open_attempt is not None:
        return overview.open_attempt
    renewing = purpose == Purpose.RENEWAL
    if renewing and not overview.renewal_available:
        raise Conflict(" ".join(overview.renewal_reasons) or
                       _("You hold no credential for this program that can be renewed."))
    if not renewing and not overview.eligible:
        raise Conflict(" ".join(overview.reasons))
    exam = overview.exam
    seed = secrets.randbits(62)
    rng = np.random.default_rng(seed)
    form: ExamForm | None = None
    if exam.form_kind == Exam.Form.FIXED:
        forms = list(ExamForm.objects.filter(exam=exam, active=True, purpose=purpose,
                                             bank_version=exam.bank_version))
        form = forms[int(rng.integers(len(forms)))]
        first_item_id = int(form.item_ids[0])
    else:
        first_item_id = int(exam.opening_items[int(rng.integers(len(exam.opening_items)))])
    started = now()
    factor = overview.time_factor
    limit = (overview.renewal_time_limit_seconds if renewing else None) \
        or overview.time_limit_seconds
    accommodation = ("" if factor == 1 else
                     _("extended time ×%(factor)s from the profile") % {"factor": factor})
    item = Item.objects.get(pk=first_item_id)
    try:
        with transaction.atomic():
            attempt = ExamAttempt.objects.create(
                user=user, exam=exam, form=form, bank_version=exam.bank_version, seed=seed,
                purpose=purpose,
                time_factor=factor, time_limit_seconds=limit, accommodation=accommodation,
                started_at=started, deadline=started + timedelta(seconds=limit), position=1,
                n_shown=1)
            ExamResponse.objects.create(attempt=attempt, item=item, position=1,
                                        option_order=_option_order(attempt, item),
                                        shown_at=started)
            jobs.enqueue(CLOSE_JOB, {"attempt": attempt.pk},
                         dedupe_key=f"{CLOSE_JOB}:{attempt.pk}",
                         run_after=attempt.deadline + EXPIRY_GRACE)
    except IntegrityError:
        # Two tabs pressed Start together: the other request's attempt is the one.
        open_attempt = ExamAttempt.objects.filter(
            user=user, exam=exam, status=ExamAttempt.Status.IN_PROGRESS).first()
        if open_attempt is None:
            raise
        return open_attempt
    return attempt


def _seconds_left(attempt: ExamAttempt, at: datetime) -> int:
    return max(0, math.ceil((attempt.deadline - at).total_seconds()))


def _form_length(attempt: ExamAttempt) -> int | None:
    return len(attempt.form.item_ids) if attempt.form is not None else None


def state_of(user: User, attempt_id: int) -> ExamState:
    """The attempt as the candidate sees it now (submitting it first if time ran out)."""
    attempt = _attempt_for(user, attempt_id)
    if close_if_expired(attempt):
        attempt = _attempt_for(user, attempt_id)
    return _state(attempt)


def _state(attempt: ExamAttempt) -> ExamState:
    exam = attempt.exam
    responses = {r.position: r for r in attempt.responses.select_related("item")}
    question = None
    if attempt.status == ExamAttempt.Status.IN_PROGRESS:
        current = responses.get(attempt.position)
        if current is None:
            current = _show_fixed_item(attempt, attempt.position)
            responses[current.position] = current
        question = _question(current)
    length = _form_length(attempt)
    navigator: list[NavEntry] = []
    if length is not None:
        navigator = [NavEntry(p, responses[p].response is not None if p in responses else False,
                              p == attempt.position) for p in range(1, length + 1)]
    return ExamState(attempt=attempt, exam=exam, question=question, position=attempt.position,
                     length=length, max_items=_max_items(attempt),
                     seconds_left=_seconds_left(attempt, now()), navigator=navigator)


def _max_items(attempt: ExamAttempt) -> int:
    if attempt.purpose == Purpose.RENEWAL and attempt.exam.renewal_max_items is not None:
        return attempt.exam.renewal_max_items
    return attempt.exam.max_items


def _question(response: ExamResponse) -> ExamQuestion:
    item = response.item
    order = list(response.option_order)
    saved: list[int] | float | None = None
    if response.response is not None:
        if item.kind == Item.Kind.NUMERIC:
            saved = float(response.response)
        else:
            chosen = response.response if isinstance(response.response, list) \
                else [response.response]
            saved = sorted(order.index(int(c)) for c in chosen)
    return ExamQuestion(
        key=item.key, kind=item.kind, stem_html=item.stem_html, code_html=item.code_html,
        options_html=[item.options_html[i] for i in order], unit=item.unit, saved=saved)


def _show_fixed_item(attempt: ExamAttempt, position: int) -> ExamResponse:
    """The response row of a fixed form's item, created the first time it is shown."""
    assert attempt.form is not None
    item = Item.objects.get(pk=int(attempt.form.item_ids[position - 1]))
    response, _created = ExamResponse.objects.get_or_create(
        attempt=attempt, position=position,
        defaults={"item": item, "option_order": _option_order(attempt, item),
                  "shown_at": now()})
    if _created:
        ExamAttempt.objects.filter(pk=attempt.pk).update(n_shown=F("n_shown") + 1)
    response.item = item
    return response


def _in_progress(attempt: ExamAttempt) -> None:
    """Inside a locked transaction: refuse a finished attempt, or one whose time ran out (the
    caller has already submitted an expired attempt through :func:`_open_for_writing`)."""
    if attempt.status != ExamAttempt.Status.IN_PROGRESS:
        raise Conflict(_("This exam attempt is finished."))
    if now() >= attempt.deadline:
        raise Conflict(_("Time is up: your saved answers were submitted."))


def _open_for_writing(user: User, attempt_id: int) -> None:
    """Before a change: submit the attempt if its time ran out (in its own transaction, so
    the submission stays when the change is refused) and refuse the change."""
    attempt = _attempt_for(user, attempt_id)
    if attempt.status == ExamAttempt.Status.IN_PROGRESS and close_if_expired(attempt):
        raise Conflict(_("Time is up: your saved answers were submitted."))


class _Stale(Exception):
    """Raised inside a transaction to roll it back; the caller logs the signal and refuses."""

    def __init__(self, attempt: ExamAttempt, position: int, action: str, message: str) -> None:
        super().__init__(message)
        self.attempt, self.position, self.action, self.message = (attempt, position, action,
                                                                  message)


def _refuse_stale(stale: _Stale) -> Conflict:
    _log(stale.attempt, IntegrityEvent.Kind.SECOND_TAB, stale.position,
         {"action": stale.action})
    return Conflict(stale.message)


def _parse(item: Item, order: Sequence[int], raw: Sequence[str]) -> object:
    parsed = parse_response(item.kind, raw, len(item.options_html))
    if item.kind == Item.Kind.NUMERIC:
        return parsed
    if isinstance(parsed, list):
        return sorted(int(order[slot]) for slot in parsed)
    assert isinstance(parsed, int)
    return int(order[parsed])


def save_answer(user: User, attempt_id: int, position: int, item_key: str,
                raw: Sequence[str]) -> ExamState:
    """Autosave the answer to the item at ``position`` (the one on screen). Saving again
    replaces it; an empty answer clears it. ``item_key`` guards against a stale page."""
    _open_for_writing(user, attempt_id)
    try:
        _save(user, attempt_id, position, item_key, raw)
    except _Stale as stale:
        raise _refuse_stale(stale) from None
    return state_of(user, attempt_id)


def _save(user: User, attempt_id: int, position: int, item_key: str,
          raw: Sequence[str]) -> None:
    with transaction.atomic():
        attempt = _attempt_for(user, attempt_id, lock=True)
        _in_progress(attempt)
        response = (ExamResponse.objects.select_related("item")
                    .filter(attempt=attempt, position=position).first())
        if response is None or response.item.key != item_key or (
                attempt.exam.form_kind == Exam.Form.ADAPTIVE
                and (position != attempt.position or response.confirmed)):
            raise _Stale(attempt, position, "save",
                         _("That question is no longer on screen; here is the current one."))
        answer = _parse(response.item, response.option_order, raw) if any(
            value.strip() for value in raw) else None
        saved_at = now()
        seconds = int((saved_at - response.shown_at).total_seconds())
        ExamResponse.objects.filter(pk=response.pk).update(response=answer, saved_at=saved_at,
                                                           seconds=seconds)
        if answer is not None and seconds < FAST_ANSWER_SECONDS and response.saved_at is None:
            _log(attempt, IntegrityEvent.Kind.FAST_ANSWER, position, {"seconds": seconds})


def move_to(user: User, attempt_id: int, position: int) -> ExamState:
    """Fixed forms: show the item at ``position`` (1..length)."""
    _open_for_writing(user, attempt_id)
    with transaction.atomic():
        attempt = _attempt_for(user, attempt_id, lock=True)
        _in_progress(attempt)
        length = _form_length(attempt)
        if length is None:
            raise Conflict(_("An adaptive exam moves forward one question at a time."))
        if not 1 <= position <= length:
            raise Invalid(_("There is no question %(n)d in this exam.") % {"n": position})
        ExamAttempt.objects.filter(pk=attempt.pk).update(position=position)
    return state_of(user, attempt_id)


def _scored(attempt: ExamAttempt) -> tuple[list[int], list[bool]]:
    """Bank indices and correctness of what counts for the score: every item of a fixed form
    (unanswered ones are wrong), the confirmed items of an adaptive exam plus the one on screen
    if it has a saved answer."""
    bank = _bank_of(attempt)
    responses = {r.position: r for r in attempt.responses.select_related("item")}
    if attempt.form is not None:
        ids = [int(i) for i in attempt.form.item_ids]
        answers = {r.item_id: r for r in responses.values()}
        chosen = [(item_id, answers.get(item_id)) for item_id in ids]
    else:
        chosen = [(r.item_id, r) for _p, r in sorted(responses.items())
                  if r.confirmed or r.response is not None]
    indices: list[int] = []
    correct: list[bool] = []
    for item_id, response in chosen:
        if item_id not in bank.index_of:
            continue  # pulled after the attempt started: it does not count either way
        indices.append(bank.index_of[item_id])
        correct.append(bool(response is not None and _is_correct(response)))
    return indices, correct


def _is_correct(response: ExamResponse) -> bool:
    if response.response is None:
        return False
    return bank_rules.score(kind_of(response.item), key_of(response.item), response.response)


def _bank_of(attempt: ExamAttempt) -> ExamBank:
    """The exam's current bank. If it changed during the attempt (an item pulled or
    recalibrated), the attempt is scored with the items still usable, at their current
    parameters: a pulled item counts neither way."""
    return exam_bank(attempt.exam)


def next_question(user: User, attempt_id: int, position: int, item_key: str) -> ExamState:
    """Adaptive: confirm the item at ``position`` (its saved answer; none is wrong) and show the
    next item, or finish when the exam is sure of the decision or at its maximum length. A
    second request for the same position (another tab) is a Conflict."""
    _open_for_writing(user, attempt_id)
    attempt = _attempt_for(user, attempt_id)
    if attempt.exam.form_kind != Exam.Form.ADAPTIVE:
        return move_to(user, attempt_id, position + 1)
    try:
        _advance(user, attempt_id, position, item_key)
    except _Stale as stale:
        raise _refuse_stale(stale) from None
    return state_of(user, attempt_id)


# Sympson-Hetter draws are made once per attempt from their own stream (distinct from the
# per-position selection streams), so every replay refuses the same items.
_EXPOSURE_STREAM = 2**31
_ALREADY_ANSWERED = "That question was already answered; here is the current one."


def _advance(user: User, attempt_id: int, position: int, item_key: str) -> None:
    with transaction.atomic():
        attempt = _attempt_for(user, attempt_id, lock=True)
        _in_progress(attempt)
        exam = attempt.exam
        response = (ExamResponse.objects.select_related("item")
                    .filter(attempt=attempt, position=position).first())
        if position != attempt.position or response is None or response.item.key != item_key:
            raise _Stale(attempt, position, "next", _(_ALREADY_ANSWERED))
        moved = ExamAttempt.objects.filter(pk=attempt.pk, position=position,
                                           status=ExamAttempt.Status.IN_PROGRESS
                                           ).update(position=position + 1)
        if not moved:
            raise _Stale(attempt, position, "next", _(_ALREADY_ANSWERED))
        ExamResponse.objects.filter(pk=response.pk).update(
            confirmed=True, correct=_is_correct(response))
        attempt.refresh_from_db()
        bank = _bank_of(attempt)
        design = bank.design(exam, purpose=attempt.purpose)
        administered, correct = _scored(attempt)
        refused = psychometrics.exposure_refusals(design, np.random.default_rng(
            [attempt.seed, _EXPOSURE_STREAM]))
        stop = psychometrics.stop_reason(design, administered, correct, passed_over=refused)
        if stop is None:
            rng = np.random.default_rng([attempt.seed, position])
            index = psychometrics.next_item(design, administered, correct, rng,
                                            passed_over=refused)
            if index is None:
                stop = psychometrics.StopReason.BANK_EXHAUSTED
            else:
                item = Item.objects.get(pk=bank.item_ids[index])
                ExamResponse.objects.create(attempt=attempt, item=item, position=position + 1,
                                            option_order=_option_order(attempt, item),
                                            shown_at=now())
                ExamAttempt.objects.filter(pk=attempt.pk).update(n_shown=F("n_shown") + 1)
        if stop is not None:
            ExamAttempt.objects.filter(pk=attempt.pk).update(position=position)
            attempt.refresh_from_db()
            _finish(attempt, _FINISH_OF_STOP[stop])


_FINISH_OF_STOP = {
    psychometrics.StopReason.CONFIDENT_PASS: ExamAttempt.Finish.CONFIDENT,
    psychometrics.StopReason.CONFIDENT_FAIL: ExamAttempt.Finish.CONFIDENT,
    psychometrics.StopReason.MAX_ITEMS: ExamAttempt.Finish.MAX_ITEMS,
    psychometrics.StopReason.BANK_EXHAUSTED: ExamAttempt.Finish.BANK_EXHAUSTED,
}


def finish_exam(user: User, attempt_id: int) -> ExamAttempt:
    """The candidate submits. Submitting twice (two tabs, a double click) gives one result: the
    second finds the attempt finished and returns it unchanged."""
    with transaction.atomic():
        attempt = _attempt_for(user, attempt_id, lock=True)
        if attempt.status == ExamAttempt.Status.IN_PROGRESS:
            reason = (ExamAttempt.Finish.TIME_EXPIRED if now() >= attempt.deadline
                      else ExamAttempt.Finish.SUBMITTED)
            _finish(attempt, reason)
    return _attempt_for(user, attempt_id)


def close_if_expired(attempt: ExamAttempt) -> bool:
    """Submit an attempt whose time ran out; True if this call (or an earlier one) closed it."""
    if attempt.status != ExamAttempt.Status.IN_PROGRESS or now() < attempt.deadline:
        return attempt.status == ExamAttempt.Status.FINISHED
    with transaction.atomic():
        locked = ExamAttempt.objects.select_for_update(of=("self",)).select_related(
            "exam", "form").get(pk=attempt.pk)
        if locked.status == ExamAttempt.Status.IN_PROGRESS:
            _finish(locked, ExamAttempt.Finish.TIME_EXPIRED)
    return True


def close_attempt_job(attempt_id: int) -> dict[str, Any]:
    """The deferred job started with each attempt: submit it if its time ran out."""
    attempt = ExamAttempt.objects.select_related("exam", "form").filter(pk=attempt_id).first()
    if attempt is None:
        return {"skipped": "no such attempt"}
    closed = close_if_expired(attempt)
    return {"attempt": attempt_id, "closed": closed}


def _finish(attempt: ExamAttempt, reason: str) -> None:
    """Score and close the attempt, once: the conditional update on ``status`` is the guard."""
    exam = attempt.exam
    bank = _bank_of(attempt)
    administered, correct = _scored(attempt)
    scored = psychometrics.score(bank.parameters, administered, correct, exam.cut_theta)
    areas = psychometrics.area_scores(bank.parameters, bank.area_of_item, administered, correct,
                                      exam.cut_theta, len(bank.blueprint.areas))
    finished_at = min(now(), attempt.deadline) if reason == ExamAttempt.Finish.TIME_EXPIRED \
        else now()
    closed = ExamAttempt.objects.filter(pk=attempt.pk, status=ExamAttempt.Status.IN_PROGRESS
                                        ).update(
        status=ExamAttempt.Status.FINISHED, finish_reason=reason, finished_at=finished_at,
        theta=scored.theta, standard_error=scored.standard_error,
        p_above_cut=scored.p_above_cut, passed=scored.passed, n_items=scored.n_items,
        n_correct=scored.n_correct,
        area_scores=[{"area": exam.blueprint[a.area]["area"], "n_items": a.n_items,
                      "n_correct": a.n_correct, "theta": a.theta,
                      "standard_error": a.standard_error, "band": a.band} for a in areas])
    if not closed:
        return
    answered = {r.item_id: r for r in attempt.responses.select_related("item")}
    for index, was_correct in zip(administered, correct, strict=True):
        item_id = bank.item_ids[index]
        if item_id in answered:
            ExamResponse.objects.filter(pk=answered[item_id].pk).update(correct=was_correct)
    Item.objects.filter(pk__in=[bank.item_ids[i] for i in administered]).update(
        times_shown=F("times_shown") + 1)
    attempt.refresh_from_db()
    if attempt.passed:
        # Signing happens in the job; finishing only records that it is due (once per attempt).
        credentials.issue_for_exam_attempt(attempt.pk)
    _after_sitting()


def _after_sitting() -> None:
    """Upkeep that new sittings trigger: recalibration and the fairness audit, each queued as
    a durable job once enough new data has come in (cheap checks below that)."""
    # Imported here: both modules build on this one (exam banks, bank_changed).
    from upskill.assessment import calibration, fairness

    transaction.on_commit(calibration.maybe_schedule_for_exams)
    transaction.on_commit(fairness.maybe_schedule_audit)


# ----------------------------------------------------------------------------- integrity


def _log(attempt: ExamAttempt, kind: str, position: int | None, detail: dict[str, Any]) -> None:
    IntegrityEvent.objects.create(attempt=attempt, kind=kind, position=position, detail=detail)


_BROWSER_SIGNALS = {IntegrityEvent.Kind.FOCUS_LOST, IntegrityEvent.Kind.PASTE,
                    IntegrityEvent.Kind.RESUMED}


def log_integrity(user: User, attempt_id: int, kind: str, position: int | None,
                  detail: Mapping[str, Any] | None = None) -> None:
    """A signal the exam page reports (focus lost, paste, resumed). Logged for a reviewer;
    nothing is decided from it."""
    if kind not in _BROWSER_SIGNALS:
        raise Invalid(_("Unknown signal."))
    attempt = _attempt_for(user, attempt_id)
    if attempt.status != ExamAttempt.Status.IN_PROGRESS:
        return
    clean: dict[str, Any] = {}
    for name, value in list((detail or {}).items())[:10]:
        if isinstance(value, str):
            clean[str(name)[:40]] = value[:200]
        elif isinstance(value, (int, float, bool)):
            clean[str(name)[:40]] = value
    try:
        with transaction.atomic():
            _log(attempt, kind, position, clean)
    except IntegrityError:
        # The attempt went away while the signal was on its way (its account was deleted).
        raise NotFound(_("No such exam attempt.")) from None


# ----------------------------------------------------------------------------- report


@dataclass(frozen=True)
class AreaReport:
    name: str
    n_items: int
    n_correct: int
    band: str
    lessons: list[tuple[str, str]]  # (title, url) to study, for areas to work on


@dataclass(frozen=True)
class ExamReport:
    attempt: ExamAttempt
    exam: Exam
    passed: bool
    scale_score: int
    scale_low: int
    scale_high: int
    p_above_cut: float
    areas: list[AreaReport]
    accuracy: float | None
    consistency: float | None
    valid_until: datetime | None  # a pass: when it lapses (the program's validity)


def report(user: User, attempt_id: int) -> ExamReport:
    """The candidate's score report: decision, ability on the reported scale with its range,
    areas (strengths, on track, to work on with lessons), and the exam's decision consistency.
    Never items or keys."""
    attempt = _attempt_for(user, attempt_id)
    close_if_expired(attempt)
    attempt = _attempt_for(user, attempt_id)
    if attempt.status != ExamAttempt.Status.FINISHED or attempt.theta is None:
        raise Conflict(_("The score report is ready when the exam is finished."))
    exam = attempt.exam
    assert attempt.standard_error is not None
    by_skill = _lessons_by_skill()
    areas = []
    for stored, area in zip(attempt.area_scores, exam.blueprint, strict=False):
        lessons: list[tuple[str, str]] = []
        if stored["band"] != "strength":
            for skill in area["skills"]:
                lessons.extend(by_skill.get(skill, [])[:2])
        areas.append(AreaReport(name=stored["area"], n_items=stored["n_items"],
                                n_correct=stored["n_correct"], band=stored["band"],
                                lessons=lessons[:6]))
    classification = exam.classification or {}
    return ExamReport(
        attempt=attempt, exam=exam, passed=bool(attempt.passed),
        scale_score=psychometrics.reported_score(attempt.theta, exam.cut_theta),
        scale_low=psychometrics.reported_score(attempt.theta - attempt.standard_error,
                                                exam.cut_theta),
        scale_high=psychometrics.reported_score(attempt.theta + attempt.standard_error,
                                                 exam.cut_theta),
        p_above_cut=float(attempt.p_above_cut or 0.0), areas=areas,
        accuracy=classification.get("expected_accuracy"),
        consistency=classification.get("expected_consistency"),
        valid_until=valid_until(attempt) if attempt.passed else None)


add_months = psychometrics.add_months


def valid_until(attempt: ExamAttempt) -> datetime:
    """When a pass from this attempt lapses: the exam's validity after it finished."""
    return add_months(attempt.finished_at or attempt.started_at, attempt.exam.valid_months)


def _lessons_by_skill() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for lesson in catalog.current_lessons():
        url = reverse("learning:lesson", args=[lesson.module.course.slug, lesson.slug])
        for skill in lesson.skills.all():
            out.setdefault(skill.slug, []).append((lesson.title, url))
    return out


def attempts_of(user: User) -> list[ExamAttempt]:
    return list(ExamAttempt.objects.filter(user=user).select_related("exam__program")
                .order_by("-started_at"))


def require_staff_or_author(actor: User) -> None:
    if not (accounts.has_role(actor, PlatformRole.AUTHOR)
            or accounts.has_role(actor, PlatformRole.STAFF)):
        raise PermissionDenied(_("Only authors and staff can see this."))
