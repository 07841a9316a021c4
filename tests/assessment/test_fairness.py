"""The fairness audit of exam items (upskill.assessment.fairness) through the database: simulated
candidates with opt-in demographics sit the fixture exam, the ``assessment.audit_fairness`` job
finds the item with planted DIF, and authors pull it from the exam forms on the page.

The planted item. As in tests/assessment/test_dif.py: women's difficulty is 0.6 higher on the
normal-ogive metric for one item with a = 1.0 there, which is a = 1.7 on the logistic metric
``irt`` uses: a logit shift of 1.02, so the expected MH D-DIF is -2.35 * 1.02 = -2.40 (class C,
favouring men). Every other item is answered from the same parameters in every group, and the
groups have the same ability distribution, so any other flag would be a false alarm.

``simulate_sittings`` is shared with tests/assessment/test_exam_item_analysis.py.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.content_fixtures import exam_yaml, write_exam_bank
from upskill.accounts import services as accounts
from upskill.accounts.models import FairnessDemographics, User
from upskill.assessment import certification, fairness, irt
from upskill.assessment.models import (
    DifFinding,
    Exam,
    ExamAttempt,
    ExamForm,
    ExamResponse,
    FairnessAudit,
    Item,
)
from upskill.catalog import services as catalog
from upskill.core import jobs
from upskill.core.errors import Conflict, PermissionDenied
from upskill.core.models import Job

pytestmark = pytest.mark.django_db

SEED = 2025
N_PER_GENDER = 1_200
N_NON_BINARY = 30
PLANTED_A = 1.7  # = 1.0 on the normal-ogive metric
SHIFT_B = 0.6


@pytest.fixture(autouse=True)
def fresh_exam_banks(monkeypatch: pytest.MonkeyPatch) -> None:
    """certification keeps exam banks per (exam id, bank version) in the process; the test
    database reuses ids after each rollback, so every test starts with an empty cache."""
    monkeypatch.setattr(certification, "_BANKS", OrderedDict())


# ----------------------------------------------------------------------------- simulation


def import_exam(root: Path, form: str = "fixed") -> Exam:
    length = {"min_items": 10, "max_items": 10} if form == "fixed" else \
        {"min_items": 6, "max_items": 12}
    write_exam_bank(root, exam_yaml(form, **length))  # type: ignore[arg-type]
    report = catalog.import_content(root)
    assert report.ok, report.problems
    exam = Exam.objects.get()
    certification.prepare_exam(exam.pk)
    exam.refresh_from_db()
    return exam


Answers = tuple[str, str] | None  # (gender, age band) or never answered


def make_candidates(answers: Sequence[Answers], tag: str = "c") -> list[User]:
    """One user per entry; a FairnessDemographics row for those who answered."""
    users = User.objects.bulk_create(
        [User(email=f"{tag}{i}@candidates.test") for i in range(len(answers))])
    FairnessDemographics.objects.bulk_create([
        FairnessDemographics(user=user, gender=answer[0], age_band=answer[1])
        for user, answer in zip(users, answers, strict=True) if answer is not None])
    return users


@dataclass(frozen=True)
class Sittings:
    items: list[Item]
    attempts: list[ExamAttempt]
    shown: np.ndarray  # (N, J) bool
    responses: np.ndarray  # (N, J) 1/0/NaN


def simulate_sittings(
    exam: Exam,
    users: Sequence[User],
    rng: np.random.Generator,
    *,
    a: np.ndarray,
    b: np.ndarray,
    b_shift: np.ndarray | None = None,
    c: np.ndarray | None = None,
    items_per_sitting: int | None = None,
    always: Sequence[int] = (),
    finished_at: datetime | None = None,
) -> Sittings:
    """Finished sittings of ``exam``'s items (ordered by pk), one per user, answered from a 2PL
    (3PL with ``c``) with the given true a and b (``b_shift``: per user and item, added to b).
    Each sitting sees every item, or ``items_per_sitting`` drawn at random plus the item
    indices in ``always``. The attempt's theta is the EAP under the true parameters, as the
    exam's scoring would give with calibrated items."""
    items = list(Item.objects.filter(pool=Item.Pool.EXAM).order_by("pk"))
    n, n_items = len(users), len(items)
    guess = c if c is not None else np.zeros(n_items)
    theta = rng.standard_normal(n)
    logit = a[np.newaxis, :] * (theta[:, np.newaxis] - b[np.newaxis, :]
                                - (b_shift if b_shift is not None else 0.0))
    p_correct = guess + (1.0 - guess) / (1.0 + np.exp(-logit))
    answers = (rng.random((n, n_items)) < p_correct).astype(float)
    shown = np.ones((n, n_items), dtype=bool)
    if items_per_sitting is not None:
        shown[:] = False
        others = np.setdiff1d(np.arange(n_items), list(always))
        for row in range(n):
            shown[row, rng.choice(others, items_per_sitting, replace=False)] = True
        shown[:, list(always)] = True
    responses = np.where(shown, answers, np.nan)
    estimate = irt.estimate_eap_many(responses, irt.ItemParameters.from_difficulty(a, b, guess))
    end = finished_at or timezone.now()
    attempts = ExamAttempt.objects.bulk_create([
        ExamAttempt(user=user, exam=exam, bank_version=exam.bank_version,
                    status=ExamAttempt.Status.FINISHED, seed=0, time_limit_seconds=1800,
                    started_at=end - timedelta(minutes=30), deadline=end, finished_at=end,
                    finish_reason=ExamAttempt.Finish.SUBMITTED, theta=float(estimate.theta[i]),
                    standard_error=float(estimate.standard_error[i]),
                    n_items=int(shown[i].sum()), n_correct=int(np.nansum(responses[i])),
                    passed=bool(estimate.theta[i] >= exam.cut_theta))
        for i, user in enumerate(users)])
    shown_at = connection.ops.adapt_datetimefield_value(end)
    insert_rows(ExamResponse, ["attempt", "item", "position", "option_order", "correct",
                               "confirmed", "shown_at"],
                [(attempt.pk, items[j].pk, position, "[]", bool(answers[i, j]), True, shown_at)
                 for i, attempt in enumerate(attempts)
                 for position, j in enumerate(np.flatnonzero(shown[i]).tolist(), start=1)])
    return Sittings(items, attempts, shown, responses)


def insert_rows(model: type[Model], fields: Sequence[str], rows: Sequence[tuple[Any, ...]]
                ) -> None:
    """A plain multi-row INSERT: ~10x faster than bulk_create for the 100,000 responses of a
    simulated exam, which made the simulation most of these tests' time. Values must already
    be in the database's form (JSON as text, adapted datetimes)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(model._meta.get_field(name).column)) for name in fields)
    # Names come from the model's own metadata, values are parameters: nothing to inject.
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def run_job(job: Job) -> Job:
    assert jobs.run_job(job.pk) == "done", Job.objects.get(pk=job.pk).last_error
    job.refresh_from_db()
    return job


@dataclass(frozen=True)
class Planted:
    exam: Exam
    item: Item
    sittings: Sittings
    job: Job
    audit: FairnessAudit


def the_population(rng: np.random.Generator) -> list[Answers]:
    """1,200 men and 1,200 women (aged 25-34 or 35-44 at random), 30 non-binary candidates,
    40 who describe themselves, 100 who preferred not to say, 60 who never answered."""
    def aged(gender: str, n: int) -> list[Answers]:
        return [(gender, str(band)) for band in rng.choice(["25_34", "35_44"], n)]

    return [*aged("man", N_PER_GENDER), *aged("woman", N_PER_GENDER),
            *aged("non_binary", N_NON_BINARY), *aged("self_described", 40),
            *[("no_answer", "no_answer")] * 100, *[None] * 60]


@pytest.fixture
def planted(content_root: Path) -> Planted:
    rng = np.random.default_rng(SEED)
    exam = import_exam(content_root)
    items = list(Item.objects.filter(pool=Item.Pool.EXAM).order_by("pk"))
    a = rng.lognormal(0.0, 0.25, len(items))
    b = np.array([item.irt_b for item in items])
    target = int(np.argmin(np.abs(b)))  # a central item: the most power to see DIF
    a[target] = PLANTED_A
    answers = the_population(rng)
    users = make_candidates(answers)
    shift = np.zeros((len(users), len(items)))
    shift[[i for i, answer in enumerate(answers) if answer and answer[0] == "woman"],
          target] = SHIFT_B
    sittings = simulate_sittings(exam, users, rng, a=a, b=b, b_shift=shift)
    job = run_job(fairness.schedule_audit())
    return Planted(exam, items[target], sittings, job, FairnessAudit.objects.get())


# ----------------------------------------------------------------------------- the audit


def test_the_audit_flags_the_planted_item_and_reports_the_small_group(planted: Planted):
    """The issue's acceptance test, on one simulated population (building it is the slow part):
    the planted item is C, the clean ones A, the small group "not enough data"; and what is
    stored is aggregates only."""
    assert_the_planted_item_is_c_and_the_clean_items_a(planted)
    assert_a_small_group_is_not_enough_data_without_a_class(planted)
    assert_only_people_who_answered_count_and_only_aggregates_are_stored(planted)


def assert_the_planted_item_is_c_and_the_clean_items_a(planted: Planted) -> None:
    findings = DifFinding.objects.filter(audit=planted.audit)
    gender = findings.filter(variable="gender", focal="woman")
    assert gender.count() == 40

    flagged = gender.get(item=planted.item)
    # Seed 2025: D = -2.06 (expected -2.40: matching on deciles of an estimated theta blurs
    # it a little), MH p = 6e-17, logistic chi2(2) = 73 with delta R^2 = 0.028.
    assert (flagged.status, flagged.ets_class, flagged.favours) == ("analysed", "C", "man")
    assert flagged.mh_d_dif is not None and flagged.mh_p_value is not None
    assert -3.0 < flagged.mh_d_dif < -1.9
    assert flagged.mh_p_value < 1e-10
    assert (flagged.n_reference, flagged.n_focal) == (N_PER_GENDER, N_PER_GENDER)
    assert flagged.lr_p_value is not None and flagged.lr_delta_r2 is not None
    assert flagged.lr_p_value < 1e-10 and flagged.lr_delta_r2 > 0.01

    clean = gender.exclude(item=planted.item)
    assert sorted(set(clean.values_list("ets_class", flat=True))) == ["A"]
    assert set(clean.values_list("favours", flat=True)) == {""}
    # Seed 2025: mean |D| = 0.24, largest 0.56, mean D = +0.08.
    d_values = np.array(clean.values_list("mh_d_dif", flat=True))
    assert np.max(np.abs(d_values)) < 1.0 and abs(np.mean(d_values)) < 0.2

    # Age is independent of everything here: every analysed age finding is A.
    age = findings.filter(variable="age_band", status="analysed")
    assert age.exists() and set(age.values_list("ets_class", flat=True)) == {"A"}


def assert_a_small_group_is_not_enough_data_without_a_class(planted: Planted) -> None:
    non_binary = DifFinding.objects.filter(audit=planted.audit, variable="gender",
                                           focal="non_binary")
    assert non_binary.count() == 40
    assert set(non_binary.values_list("status", "ets_class")) == {("not_enough_data", "")}
    assert set(non_binary.values_list("n_focal", flat=True)) == {N_NON_BINARY}
    assert all(f.mh_d_dif is None for f in non_binary)
    # Age bands nobody chose: not enough data either, with no one in them.
    under_25 = DifFinding.objects.filter(audit=planted.audit, focal="under_25")
    assert set(under_25.values_list("status", "n_focal")) == {("not_enough_data", 0)}


def assert_only_people_who_answered_count_and_only_aggregates_are_stored(
        planted: Planted) -> None:
    audit = planted.audit
    assert audit.n_attempts == len(planted.sittings.attempts)
    gender = next(v for v in audit.summary["variables"] if v["variable"] == "gender")
    assert gender["group_sizes"] == {"man": N_PER_GENDER, "woman": N_PER_GENDER,
                                     "non_binary": N_NON_BINARY}
    # Self-described, "prefer not to say" and never answered are left out, not guessed.
    assert gender["not_compared"] == 40 + 100 + 60
    assert audit.summary["classes"]["C"] == 1

    # Nothing about a person is kept: no list as long as the candidates, no user, no email.
    stored = json.dumps({"summary": audit.summary, "result": planted.job.result})
    assert "@candidates.test" not in stored and '"user' not in stored
    assert not any(isinstance(value, list) and len(value) >= N_PER_GENDER
                   for value in _all_values(planted.job.result))


def _all_values(value: object) -> list[object]:
    found = [value]
    if isinstance(value, dict):
        for inner in value.values():
            found += _all_values(inner)
    elif isinstance(value, list):
        for inner in value:
            found += _all_values(inner)
    return found


def test_each_candidate_counts_once_with_their_latest_sitting(content_root: Path):
    exam = import_exam(content_root)
    rng = np.random.default_rng(1)
    users = make_candidates([("man", "25_34")] * 120 + [("woman", "25_34")] * 120)
    b = np.array([item.irt_b for item in Item.objects.filter(pool=Item.Pool.EXAM)
                  .order_by("pk")])
    simulate_sittings(exam, users, rng, a=np.ones(b.size), b=b)
    # The first 30 women retake: their earlier sittings must not count a second time.
    retake = simulate_sittings(exam, users[120:150], rng, a=np.ones(b.size), b=b,
                               finished_at=timezone.now() + timedelta(days=30))

    run_job(fairness.schedule_audit())

    audit = FairnessAudit.objects.get()
    assert audit.n_attempts == 240
    assert audit.summary["n_responses"] == 240 * b.size
    finding = DifFinding.objects.get(audit=audit, item=retake.items[0], focal="woman")
    assert (finding.n_reference, finding.n_focal) == (120, 120)


def test_an_audit_that_started_before_a_stored_one_is_not_stored():
    older = fairness.run_audit()
    newer = fairness.run_audit()
    assert fairness.store_audit(newer) is not None
    assert fairness.store_audit(older) is None
    assert FairnessAudit.objects.count() == 1


# ----------------------------------------------------------------------------- the page


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    person = make_user("author@example.test", display_name="Ann Author")
    accounts.grant_role(None, person, "author")
    return person


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    person = make_user("staff@example.test", display_name="Sam Staff")
    accounts.grant_role(None, person, "staff")
    return person


def test_authors_see_the_evidence_and_pull_only_the_c_item(
    planted: Planted, learner: User, author: User, staff: User,
    client_for: Callable[[User], Client],
):
    """One walk on one simulated population: the page, refusing an A item, pulling the C item
    (retired, new bank version, new forms without it), putting it back."""
    url = reverse("assessment:fairness")
    assert client_for(learner).get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]

    page = client_for(author).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert planted.item.key in html
    assert "Harder for women than for men of the same ability." in html
    assert html.count("Pull from exam forms") == 1, "only the C item can be pulled"
    assert "Non-binary" in html and f"{N_NON_BINARY} candidates" in html
    assert "Run the audit now" in html
    # Aggregates only: no candidate is named on the page.
    assert "@candidates.test" not in html

    version = planted.exam.bank_version
    clean = next(item for item in planted.sittings.items if item.pk != planted.item.pk)
    refused = client_for(author).post(reverse("assessment:pull_item"),
                                      {"item": clean.key, "reason": "looks odd"})
    assert refused.status_code == 409
    assert Item.objects.get(pk=clean.pk).status != Item.Status.RETIRED
    assert Exam.objects.get(pk=planted.exam.pk).bank_version == version

    assert_pulling_retires_the_item_and_new_forms_leave_it_out(planted, author, client_for)
    assert_staff_can_put_it_back(planted, author, staff)


def assert_pulling_retires_the_item_and_new_forms_leave_it_out(
        planted: Planted, author: User, client_for: Callable[[User], Client]) -> None:
    version = planted.exam.bank_version
    answer = client_for(author).post(reverse("assessment:pull_item"),
                                     {"item": planted.item.key, "reason": "Idiom in the stem"})
    assert answer.status_code == 302

    item = Item.objects.get(pk=planted.item.pk)
    assert item.status == Item.Status.RETIRED
    assert item.retired_reason.startswith("DIF class C (gender: woman) — pulled by Ann Author")
    assert item.retired_reason.endswith(": Idiom in the stem")
    exam = Exam.objects.get(pk=planted.exam.pk)
    assert exam.bank_version == version + 1
    assert Job.objects.filter(kind=certification.PREPARE_JOB,
                              payload__bank_version=version + 1).exists()
    certification.prepare_exam(exam.pk, exam.bank_version)
    forms = ExamForm.objects.filter(exam=exam, bank_version=exam.bank_version, active=True)
    assert forms.exists()
    assert all(item.pk not in form.item_ids for form in forms)
    assert not ExamForm.objects.filter(exam=exam, bank_version=version, active=True).exists()

    page = client_for(author).get(reverse("assessment:fairness")).content.decode()
    assert "Items pulled for DIF" in page and "Pull from exam forms" not in page
    # Pulling twice is refused; nothing changes.
    with pytest.raises(Conflict):
        fairness.pull_item(author, item.key, "again")
    assert Exam.objects.get(pk=exam.pk).bank_version == version + 1


def assert_staff_can_put_it_back(planted: Planted, author: User, staff: User) -> None:
    version = Exam.objects.get(pk=planted.exam.pk).bank_version
    with pytest.raises(PermissionDenied):
        fairness.restore_item(author, planted.item.key)

    restored = fairness.restore_item(staff, planted.item.key)

    assert restored.status == Item.Status.PROVISIONAL and restored.retired_reason == ""
    assert Exam.objects.get(pk=planted.exam.pk).bank_version == version + 1
    with pytest.raises(Conflict):
        fairness.restore_item(staff, planted.item.key)


# ----------------------------------------------------------------------------- without data


def test_an_audit_on_no_sittings_records_an_empty_audit():
    run_job(fairness.schedule_audit())
    audit = FairnessAudit.objects.get()
    assert audit.n_attempts == 0 and not audit.findings.exists()


def test_requests_for_the_audit_are_for_authors_and_staff_and_queue_one_job(
    learner: User, author: User, client_for: Callable[[User], Client],
):
    url = reverse("assessment:run_fairness_audit")
    assert client_for(learner).post(url).status_code == 403
    with pytest.raises(PermissionDenied):
        fairness.fairness_report(learner)
    assert not Job.objects.exists()

    assert client_for(author).post(url)["Location"] == reverse("assessment:fairness")
    client_for(author).post(url)
    assert Job.objects.filter(kind=fairness.AUDIT_JOB).count() == 1
    page = client_for(author).get(reverse("assessment:fairness")).content.decode()
    assert "An audit is queued" in page and "No audit has run yet." in page
    assert client_for(author).get(url).status_code == 405


@pytest.mark.parametrize(("data", "status"), [
    ({}, 400),  # no reason
    ({"item": "x-data-literacy-1"}, 400),
    ({"item": "x-data-literacy-1", "reason": "   "}, 400),
    ({"item": "x-data-literacy-1", "reason": "x" * 500}, 400),
    ({"item": "no-such-item", "reason": "because"}, 404),
    ({"item": "x" * 5000, "reason": "because"}, 404),
    ({"item": "x-data-literacy-1", "reason": "because"}, 409),  # no audit flags it
])
def test_junk_posts_are_refused_with_a_4xx(
    content_root: Path, author: User, staff: User, client_for: Callable[[User], Client],
    data: dict[str, str], status: int,
):
    import_exam(content_root)
    assert client_for(author).post(reverse("assessment:pull_item"), data).status_code == status
    assert not Item.objects.filter(status=Item.Status.RETIRED).exists()
    restore = client_for(staff).post(reverse("assessment:restore_item"), data)
    assert restore.status_code in (404, 409)
