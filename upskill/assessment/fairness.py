"""The fairness audit of certification exam items: differential item functioning (DIF) by gender
and age band, and pulling an item the audit flags from the exam forms.

The ``assessment.audit_fairness`` durable job (:data:`AUDIT_JOB`, handler in ``tasks.py``)
reads the exam responses and the candidates' opt-in :class:`FairnessDemographics`, runs the
pure :func:`upskill.assessment.dif.audit` per item and variable, and records one
:class:`FairnessAudit` with a :class:`DifFinding` per item and focal group.
:func:`run_audit` computes and only reads; :func:`store_audit` writes, in the job's completion
transaction, so a run that happens twice records one audit.

What is compared:

- Each candidate counts once per exam, with their latest finished sitting: a retake is the same
  person again, and counting both would weigh repeaters and break the independence the tests
  assume. Only scored responses (``correct`` set) to exam-pool items count, and only responses
  to the current version of a question (as in calibration).
- The matching variable is the sitting's ability estimate ``theta``, which is on one scale
  whether the exam was adaptive or a fixed form (raw scores are not comparable across adaptive
  sittings). Mantel-Haenszel stratifies it into deciles per item.
- Groups (:data:`VARIABLES`): gender, reference "man", focal "woman" and "non_binary"; age band,
  reference "25_34" (the largest band of working learners), focal every other band. "Prefer not
  to say" and "I describe myself another way" are not groups: a self-description is not one
  shared category, so those candidates (and those who never answered) are left out of the
  comparisons, never guessed.
- An item is analysed for a focal group only when both groups have at least
  :data:`MIN_GROUP` responses to it (and a few right and wrong answers each); otherwise the
  finding says "not_enough_data" and carries no class. 100 per group is the usual floor for
  Mantel-Haenszel (Zieky 1993); below it a class C is mostly noise.

Privacy: per-person demographics are read into memory, used for the arrays and dropped. The
job's result, the stored audit and the page hold aggregates only: counts per group and
statistics per item. Nobody sees which candidate is in which group.

Flags are for people to judge: nothing is pulled automatically. An author or staff member may
pull an item flagged C in the latest audit (:func:`pull_item`): it is retired, its reason
recorded, and the affected exams get a new bank version so new forms are assembled without it;
attempts in progress stop counting it either way (``certification`` scores with the usable
items). Staff may put a pulled item back (:func:`restore_item`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from upskill.accounts import services as accounts
from upskill.accounts.models import FairnessDemographics, PlatformRole, Profile, User
from upskill.assessment import calibration, certification, dif
from upskill.assessment.models import DifFinding, ExamAttempt, ExamResponse, FairnessAudit, Item
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.models import Job

__all__ = [
    "AUDIT_JOB",
    "MIN_GROUP",
    "VARIABLES",
    "FairnessReport",
    "FlaggedItem",
    "ThinGroup",
    "fairness_report",
    "pull_item",
    "request_audit",
    "restore_item",
    "run_audit",
    "schedule_audit",
    "store_audit",
]

JsonDict = dict[str, Any]

AUDIT_JOB: Final = "assessment.audit_fairness"
MIN_GROUP: Final = 100
MIN_PER_CELL: Final = 5
N_STRATA: Final = 10
ALPHA: Final = 0.05
# Counts of candidates under this are shown as "fewer than ..." on the page, so that a small
# group's size cannot be matched to the few people who might be in it.
SMALL_COUNT: Final = 10
# The start of the retired reason of an item pulled through :func:`pull_item`: what
# :func:`restore_item` may undo (an overexposed item is retired by calibration instead).
PULL_REASON_PREFIX: Final = "DIF class C"
MAX_REASON_CHARS: Final = 100


@dataclass(frozen=True)
class Variable:
    """A demographic variable compared: its reference group and focal groups (answers not in
    either are left out)."""

    name: str
    reference: str
    focal: tuple[str, ...]

    def group_of(self, answer: str) -> str | None:
        return answer if answer == self.reference or answer in self.focal else None


Gender = FairnessDemographics.Gender
AgeBand = FairnessDemographics.AgeBand

VARIABLES: Final = (
    Variable("gender", Gender.MAN.value, (Gender.WOMAN.value, Gender.NON_BINARY.value)),
    Variable("age_band", AgeBand.FROM_25_TO_34.value,
             (AgeBand.UNDER_25.value, AgeBand.FROM_35_TO_44.value, AgeBand.FROM_45_TO_54.value,
              AgeBand.FROM_55.value)),
)

# Group names in sentences ("Harder for women than for men of the same ability").
_PEOPLE: Final[Mapping[str, Mapping[str, Any]]] = {
    "gender": {
        Gender.MAN: gettext_lazy("men"),
        Gender.WOMAN: gettext_lazy("women"),
        Gender.NON_BINARY: gettext_lazy("non-binary candidates"),
    },
    "age_band": {
        AgeBand.UNDER_25: gettext_lazy("candidates under 25"),
        AgeBand.FROM_25_TO_34: gettext_lazy("candidates aged 25–34"),
        AgeBand.FROM_35_TO_44: gettext_lazy("candidates aged 35–44"),
        AgeBand.FROM_45_TO_54: gettext_lazy("candidates aged 45–54"),
        AgeBand.FROM_55: gettext_lazy("candidates aged 55 or older"),
    },
}
_VARIABLE_NAMES: Final[Mapping[str, Any]] = {
    "gender": gettext_lazy("Gender"),
    "age_band": gettext_lazy("Age band"),
}
_GROUP_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "gender": {str(value): str(label) for value, label in Gender.choices},
    "age_band": {str(value): str(label) for value, label in AgeBand.choices},
}


# ----------------------------------------------------------------------------- reading the data


@dataclass(frozen=True)
class _Sittings:
    """One row per response of the sittings read, and per sitting its theta and groups."""

    item_ids: list[int]  # distinct items, sorted
    item: np.ndarray  # dense item index per response
    sitting: np.ndarray  # dense sitting index per response
    correct: np.ndarray  # 1.0 / 0.0 per response
    theta: np.ndarray  # per sitting
    groups: Mapping[str, list[str | None]]  # variable -> label per sitting


def _latest_sittings() -> dict[int, tuple[int, float]]:
    """Attempt id -> (user id, theta) of each candidate's latest finished sitting per exam."""
    latest: dict[tuple[int, int], tuple[int, int, float]] = {}
    for pk, user_id, exam_id, theta in (
            ExamAttempt.objects.filter(status=ExamAttempt.Status.FINISHED, theta__isnull=False)
            .order_by("finished_at", "pk").values_list("pk", "user_id", "exam_id", "theta")):
        if theta is not None:  # filtered out above; this tells the type checker
            latest[(user_id, exam_id)] = (pk, user_id, float(theta))
    return {pk: (user_id, theta) for pk, user_id, theta in latest.values()}


def _read_sittings() -> _Sittings:
    sittings = _latest_sittings()
    current = (Q(item__content_changed_at__isnull=True)
               | Q(shown_at__gte=F("item__content_changed_at")))
    rows = np.array(
        [row for row in ExamResponse.objects.filter(
            current, attempt__status=ExamAttempt.Status.FINISHED, item__pool=Item.Pool.EXAM,
            correct__isnull=False).values_list("attempt_id", "item_id", "correct")
         if row[0] in sittings],
        dtype=np.int64).reshape(-1, 3)
    attempt_ids, sitting = np.unique(rows[:, 0], return_inverse=True)
    item_ids, item = np.unique(rows[:, 1], return_inverse=True)
    users = [sittings[int(pk)][0] for pk in attempt_ids]
    answers = {user_id: (gender, age_band) for user_id, gender, age_band in
               FairnessDemographics.objects.filter(user_id__in=set(users))
               .values_list("user_id", "gender", "age_band")}
    groups: dict[str, list[str | None]] = {}
    for position, variable in enumerate(VARIABLES):
        groups[variable.name] = [
            variable.group_of(answers[user][position]) if user in answers else None
            for user in users]
    return _Sittings(
        item_ids=[int(pk) for pk in item_ids], item=item.astype(np.int64),
        sitting=sitting.astype(np.int64), correct=rows[:, 2].astype(np.float64),
        theta=np.array([sittings[int(pk)][1] for pk in attempt_ids], dtype=np.float64),
        groups=groups)


# ----------------------------------------------------------------------------- the audit


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _finding(item_id: int, variable: Variable, result: dif.ItemDif) -> JsonDict:
    mh, logistic = result.mantel_haenszel, result.logistic
    favours = {"reference": result.reference, "focal": result.focal}.get(result.favours, "")
    return {
        "item_id": item_id, "variable": variable.name, "reference": result.reference,
        "focal": result.focal, "n_reference": result.n_reference, "n_focal": result.n_focal,
        "status": result.status, "ets_class": result.flag or "",
        "mh_d_dif": _finite(mh.d_dif) if mh else None,
        "mh_p_value": _finite(mh.p_value) if mh else None,
        "lr_chi2": _finite(logistic.chi2) if logistic else None,
        "lr_p_value": _finite(logistic.p_value) if logistic else None,
        "lr_delta_r2": _finite(logistic.delta_r2) if logistic else None,
        "lr_effect": logistic.effect if logistic else "",
        "favours": favours,
    }


def _audit_items(data: _Sittings) -> list[JsonDict]:
    """Every item against every focal group; one item at a time, so memory follows the number
    of responses, not sittings x items (each item's analysis reads only its own responses)."""
    order = np.argsort(data.item, kind="stable")
    bounds = np.searchsorted(data.item[order], np.arange(len(data.item_ids) + 1))
    labels = {name: np.array(values, dtype=object) for name, values in data.groups.items()}
    findings: list[JsonDict] = []
    for j, item_id in enumerate(data.item_ids):
        rows = order[bounds[j]:bounds[j + 1]]
        who = data.sitting[rows]
        for variable in VARIABLES:
            results = dif.audit(
                data.correct[rows][:, np.newaxis], list(labels[variable.name][who]),
                variable.reference, data.theta[who], focal=variable.focal,
                min_group=MIN_GROUP, min_per_cell=MIN_PER_CELL, n_strata=N_STRATA, alpha=ALPHA)
            findings.extend(_finding(item_id, variable, result) for result in results)
    return findings


def _group_sizes(data: _Sittings) -> list[JsonDict]:
    """Per variable, how many sittings are in each group (aggregates only)."""
    out = []
    for variable in VARIABLES:
        counts = Counter(data.groups[variable.name])
        out.append({
            "variable": variable.name, "reference": variable.reference,
            "focal": list(variable.focal),
            "group_sizes": {group: counts.get(group, 0)
                            for group in (variable.reference, *variable.focal)},
            "not_compared": counts.get(None, 0),
        })
    return out


def run_audit() -> JsonDict:
    """Compute a fairness audit from the exam responses so far (the job's ``run``).

    Reads only; the JSON result (aggregates only, no person) is written by
    :func:`store_audit`. Deterministic for the same data.
    """
    started_at = timezone.now()
    data = _read_sittings()
    return {
        "started_at": started_at.isoformat(),
        "n_attempts": int(data.theta.size),
        "n_responses": int(data.item.size),
        "n_items": len(data.item_ids),
        "rules": {"min_group": MIN_GROUP, "min_per_cell": MIN_PER_CELL, "n_strata": N_STRATA,
                  "alpha": ALPHA, "matching": "theta"},
        "variables": _group_sizes(data),
        "findings": _audit_items(data),
    }


def store_audit(result: Mapping[str, Any]) -> FairnessAudit | None:
    """Write a :func:`run_audit` result (the job's ``record`` step): the audit and its findings.

    One transaction. Returns None and writes nothing when an audit that started later is
    already stored (two runs finishing out of order). Findings about items deleted meanwhile
    are dropped. Never pulls an item.
    """
    started_at = datetime.fromisoformat(result["started_at"])
    with transaction.atomic():
        if FairnessAudit.objects.filter(started_at__gt=started_at).exists():
            return None
        findings = list(result["findings"])
        existing = set(Item.objects.filter(pk__in={f["item_id"] for f in findings})
                       .values_list("pk", flat=True))
        findings = [f for f in findings if f["item_id"] in existing]
        classes = Counter(f["ets_class"] for f in findings if f["ets_class"])
        audit = FairnessAudit.objects.create(
            started_at=started_at, finished_at=timezone.now(), n_attempts=result["n_attempts"],
            summary={"n_responses": result["n_responses"], "n_items": result["n_items"],
                     "rules": result["rules"], "variables": result["variables"],
                     "classes": {c: classes.get(c, 0) for c in ("A", "B", "C")},
                     "not_enough_data": sum(1 for f in findings
                                            if f["status"] == "not_enough_data"),
                     "not_estimable": sum(1 for f in findings if f["status"] == "not_estimable")})
        DifFinding.objects.bulk_create([DifFinding(audit=audit, **f) for f in findings])
    return audit


# ----------------------------------------------------------------------------- scheduling


def schedule_audit() -> Job:
    """Queue an audit unless one is already queued or running (then return that one).
    Idempotent under concurrency (the durable job's dedupe key)."""
    return calibration.enqueue_one_at_a_time(AUDIT_JOB)


# A new audit is queued once this many exam sittings have finished since the last one.
AUDIT_EVERY: Final = 500


def maybe_schedule_audit() -> Job | None:
    """After an exam sitting: queue an audit once :data:`AUDIT_EVERY` sittings have finished
    since the last recorded audit. Two indexed queries while below the threshold."""
    last = FairnessAudit.objects.order_by("-finished_at").values_list("started_at",
                                                                      flat=True).first()
    finished = ExamAttempt.objects.filter(status=ExamAttempt.Status.FINISHED)
    if last is not None:
        finished = finished.filter(finished_at__gt=last)
    if not list(finished.order_by("pk").values_list("pk", flat=True)[
            AUDIT_EVERY - 1:AUDIT_EVERY]):
        return None
    return schedule_audit()


def request_audit(actor: User) -> Job:
    """Queue an audit for an author or staff member (PermissionDenied otherwise); returns the
    queued or already running job."""
    certification.require_staff_or_author(actor)
    return schedule_audit()


# ----------------------------------------------------------------------------- pulling items


def _latest_audit() -> FairnessAudit | None:
    return FairnessAudit.objects.order_by("-started_at", "-pk").first()


def _name_of(actor: User) -> str:
    name = Profile.objects.filter(user=actor).values_list("display_name", flat=True).first()
    return name or actor.email


def _exam_item(item_key: str) -> Item:
    item = Item.objects.filter(key=str(item_key)[:80], pool=Item.Pool.EXAM).first()
    if item is None:
        raise NotFound(_("There is no exam item %(key)s.") % {"key": item_key})
    return item


def pull_item(actor: User, item_key: str, reason: str) -> Item:
    """Pull an exam item that the latest audit flags C from the exam forms (authors and staff;
    PermissionDenied otherwise).

    The item is retired with a reason naming the finding, the person and the date, and every
    exam using it gets a new bank version (new forms without it; attempts in progress no
    longer count it). One transaction. Invalid without a reason; NotFound for an unknown exam
    item; Conflict unless the latest audit flags it C, or when it is already retired.
    """
    certification.require_staff_or_author(actor)
    reason = " ".join(str(reason).split())
    if not reason:
        raise Invalid(_("Say why the item is pulled; the reason is kept with it."))
    if len(reason) > MAX_REASON_CHARS:
        raise Invalid(_("Keep the reason under %(n)d characters.") % {"n": MAX_REASON_CHARS})
    item = _exam_item(item_key)
    audit = _latest_audit()
    finding = (DifFinding.objects.filter(audit=audit, item=item, ets_class="C")
               .order_by("mh_d_dif").first() if audit is not None else None)
    if finding is None:
        raise Conflict(_("Only an item the latest audit flags C (large DIF) can be pulled "
                         "here; %(key)s is not one.") % {"key": item.key})
    why = (f"{PULL_REASON_PREFIX} ({finding.variable}: {finding.focal}) — pulled by "
           f"{_name_of(actor)} on {timezone.localdate():%Y-%m-%d}: {reason}")
    with transaction.atomic():
        pulled = (Item.objects.filter(pk=item.pk).exclude(status=Item.Status.RETIRED)
                  .update(status=Item.Status.RETIRED, retired_reason=why[:200]))
        if not pulled:
            raise Conflict(_("%(key)s is already retired.") % {"key": item.key})
        certification.bank_changed(certification.exams_using([item.pk]))
    item.refresh_from_db()
    return item


def restore_item(actor: User, item_key: str) -> Item:
    """Put an item pulled for DIF back into the exam forms (staff only; PermissionDenied
    otherwise). It returns to calibrated or provisional as its parameters are, and its exams
    get a new bank version. One transaction. Conflict unless it was pulled for DIF."""
    if not accounts.has_role(actor, PlatformRole.STAFF):
        raise PermissionDenied(_("Only staff can put a pulled item back."))
    item = _exam_item(item_key)
    status = Item.Status.CALIBRATED if item.calibrated_at is not None \
        else Item.Status.PROVISIONAL
    with transaction.atomic():
        restored = (Item.objects.filter(pk=item.pk, status=Item.Status.RETIRED,
                                        retired_reason__startswith=PULL_REASON_PREFIX)
                    .update(status=status, retired_reason=""))
        if not restored:
            raise Conflict(_("%(key)s was not pulled for DIF, so there is nothing to undo "
                             "here.") % {"key": item.key})
        certification.bank_changed(certification.exams_using([item.pk]))
    item.refresh_from_db()
    return item


# ----------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class FlaggedItem:
    """A B or C finding of the latest audit, with what the page says about it."""

    finding: DifFinding
    variable: str
    focal: str
    reference: str
    favours: str
    sentence: str
    pulled: bool

    @property
    def can_pull(self) -> bool:
        return self.finding.ets_class == "C" and not self.pulled


@dataclass(frozen=True)
class ThinGroup:
    """A focal group too small to analyse for some items: counts only."""

    variable: str
    group: str
    candidates: int
    items_not_analysed: int
    items: int

    @property
    def few(self) -> bool:
        return self.candidates < SMALL_COUNT


@dataclass(frozen=True)
class FairnessReport:
    audit: FairnessAudit | None
    pending: Job | None
    flagged: list[FlaggedItem]
    thin_groups: list[ThinGroup]
    pulled: list[Item]
    can_restore: bool
    min_group: int = MIN_GROUP
    small_count: int = SMALL_COUNT
    alpha: float = ALPHA


def _sentence(finding: DifFinding) -> str:
    people = _PEOPLE.get(finding.variable, {})
    focal = str(people.get(finding.focal, finding.focal))
    reference = str(people.get(finding.reference, finding.reference))
    harder, easier = (focal, reference) if finding.favours == finding.reference \
        else (reference, focal)
    return _("Harder for %(harder)s than for %(easier)s of the same ability.") % {
        "harder": harder, "easier": easier}


def _group_name(variable: str, group: str) -> str:
    return _GROUP_NAMES.get(variable, {}).get(group, group)


def _flagged(audit: FairnessAudit) -> list[FlaggedItem]:
    findings = (DifFinding.objects.filter(audit=audit, ets_class__in=["B", "C"])
                .select_related("item"))
    rows = [FlaggedItem(
        finding=f, variable=str(_VARIABLE_NAMES.get(f.variable, f.variable)),
        focal=_group_name(f.variable, f.focal), reference=_group_name(f.variable, f.reference),
        favours=_group_name(f.variable, f.favours), sentence=_sentence(f),
        pulled=f.item.status == Item.Status.RETIRED) for f in findings]
    rows.sort(key=lambda row: (row.finding.ets_class != "C",
                               -abs(row.finding.mh_d_dif or 0.0), row.finding.item.key))
    return rows


def _thin_groups(audit: FairnessAudit) -> list[ThinGroup]:
    sizes = {(v["variable"], group): n for v in audit.summary.get("variables", [])
             for group, n in v["group_sizes"].items()}
    per_group: Counter[tuple[str, str]] = Counter()
    items_per_group: Counter[tuple[str, str]] = Counter()
    for variable, focal, status in (DifFinding.objects.filter(audit=audit)
                                    .values_list("variable", "focal", "status")):
        items_per_group[(variable, focal)] += 1
        if status == "not_enough_data":
            per_group[(variable, focal)] += 1
    return [ThinGroup(variable=str(_VARIABLE_NAMES.get(variable, variable)),
                      group=_group_name(variable, focal),
                      candidates=int(sizes.get((variable, focal), 0)),
                      items_not_analysed=n, items=items_per_group[(variable, focal)])
            for (variable, focal), n in sorted(per_group.items())]


def fairness_report(actor: User) -> FairnessReport:
    """The latest audit's flagged items (C first, then B, largest DIF first) with their
    evidence, the groups too small to analyse (counts only), the items pulled for DIF and any
    queued audit. Authors and staff only (PermissionDenied otherwise). Never per person."""
    certification.require_staff_or_author(actor)
    audit = _latest_audit()
    return FairnessReport(
        audit=audit,
        pending=Job.objects.filter(kind=AUDIT_JOB, state__in=[Job.State.QUEUED,
                                                              Job.State.RUNNING])
        .order_by("pk").first(),
        flagged=_flagged(audit) if audit is not None else [],
        thin_groups=_thin_groups(audit) if audit is not None else [],
        pulled=list(Item.objects.filter(pool=Item.Pool.EXAM, status=Item.Status.RETIRED,
                                        retired_reason__startswith=PULL_REASON_PREFIX)
                    .order_by("key")),
        can_restore=accounts.has_role(actor, PlatformRole.STAFF),
    )
