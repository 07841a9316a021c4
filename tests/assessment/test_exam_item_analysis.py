"""Item analysis and recalibration of certification exam items by the calibration job
(upskill.assessment.calibration): statistics from simulated exam sittings, drift flags,
retirement of overexposed items, new bank versions for the exams, and the authors' page.

The simulated sittings (``simulate_sittings`` from test_fairness) answer from known true
parameters: the items' provisional ones, in the model family the job fits (3PL with the
provisional guessing for single-answer and code items, 2PL for the others), except where a test
plants a different difficulty.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.assessment.test_fairness import (
    fresh_exam_banks,  # noqa: F401 - autouse fixture
    import_exam,
    make_candidates,
    simulate_sittings,
)
from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import calibration, certification
from upskill.assessment.models import CalibrationRun, Exam, Item, ItemStatistics
from upskill.core import jobs
from upskill.core.models import Job

pytestmark = pytest.mark.django_db

DRIFTING_SHIFT = 1.2  # true b minus provisional b of the drifting item


def true_parameters(items: list[Item]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.array([item.irt_a for item in items])
    b = np.array([item.irt_b for item in items])
    c = np.array([item.irt_c if item.kind in ("single", "code") else 0.0 for item in items])
    return a, b, c


def exam_items() -> list[Item]:
    return list(Item.objects.filter(pool=Item.Pool.EXAM).order_by("pk"))


def run_calibration() -> Job:
    job = calibration.schedule_calibration()
    assert jobs.run_job(job.pk) == "done", Job.objects.get(pk=job.pk).last_error
    job.refresh_from_db()
    return job


@pytest.fixture(autouse=True)
def _quick_exam_preparation(quick_exam_preparation: None) -> None:
    """Preparing an adaptive exam simulates thousands of candidates; a few hundred do here."""


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    person = make_user("author@example.test")
    accounts.grant_role(None, person, "author")
    return person


def test_the_job_recalibrates_exam_items_and_flags_the_one_that_drifted(content_root: Path):
    exam = import_exam(content_root, "fixed")
    items = exam_items()
    a, b, c = true_parameters(items)
    drifting = next(j for j, item in enumerate(items)
                    if item.kind == "numeric" and item.irt_b == 0.0)
    b[drifting] += DRIFTING_SHIFT
    users = make_candidates([None] * 1000)
    simulate_sittings(exam, users, np.random.default_rng(31), a=a, b=b, c=c)

    run_calibration()

    after = {item.pk: item for item in exam_items()}
    statistics = {s.item_id: s for s in ItemStatistics.objects.filter(item__pool="exam")}
    assert set(statistics) == set(after), "every exam item with responses has statistics"
    for item in items:
        stats = statistics[item.pk]
        assert stats.n_responses == 1000
        assert 0.0 < stats.p_value < 1.0
        assert stats.point_biserial is not None and stats.point_biserial > 0.1
        assert stats.infit is not None and abs(stats.infit - 1.0) < 0.15
        assert after[item.pk].status == Item.Status.CALIBRATED
        assert after[item.pk].calibration_responses == 1000
    # The drifting item: b recovered near its true value, flagged; no other item is.
    moved = after[items[drifting].pk]
    assert moved.irt_b == pytest.approx(DRIFTING_SHIFT, abs=0.3)
    flagged = {pk for pk, stats in statistics.items() if "drift" in stats.flags}
    assert flagged == {moved.pk}
    # Seed 31: the drifting item's b went 0 -> 1.13. One clean item moved more than DRIFT_B
    # on noise: x-data-literacy-1, an easy 3PL item (b -1.8 -> -2.58) whose b is uncertain;
    # the standard-error half of the rule keeps it unflagged.
    noisy = [item for j, item in enumerate(items) if j != drifting
             and abs(after[item.pk].irt_b - item.irt_b) > calibration.DRIFT_B]
    assert noisy and all(item.kind in ("single", "code") for item in noisy)
    assert not flagged & {item.pk for item in noisy}

    run = CalibrationRun.objects.get()
    assert run.summary["exam"]["n_attempts"] == 1000
    assert run.summary["exam"]["n_responses"] == 40_000
    assert {g["status"] for g in run.summary["exam"]["groups"]} == {"calibrated"}
    assert run.n_items_calibrated == 40
    # New parameters: a new bank version and forms; the Angoff cut stays.
    refreshed = Exam.objects.get(pk=exam.pk)
    assert refreshed.bank_version == exam.bank_version + 1
    assert refreshed.cut_theta == exam.cut_theta
    assert Job.objects.filter(kind=certification.PREPARE_JOB,
                              payload__bank_version=refreshed.bank_version).exists()


def test_an_overexposed_adaptive_item_is_retired_and_the_exam_gets_a_new_bank(
    content_root: Path, author: User, client_for: Callable[[User], Client],
):
    exam = import_exam(content_root, "adaptive")
    items = exam_items()
    a, b, c = true_parameters(items)
    favourite = 5
    users = make_candidates([None] * 300)
    # Each sitting: 8 items at random (exposure about 8/39 = 0.21) and always the favourite.
    simulate_sittings(exam, users, np.random.default_rng(5), a=a, b=b, c=c,
                      items_per_sitting=8, always=[favourite])

    run_calibration()

    retired = Item.objects.get(pk=items[favourite].pk)
    assert retired.status == Item.Status.RETIRED
    assert retired.retired_reason == (
        "overexposed: seen by 100% of the 300 candidates of Data analyst certification exam "
        "in the last 90 days (cap 35%)")
    assert not Item.objects.filter(pool="exam", status=Item.Status.RETIRED
                                   ).exclude(pk=retired.pk).exists()
    rates = [rate or 0.0 for rate in ItemStatistics.objects.exclude(item=retired)
             .values_list("exposure_rate", flat=True)]
    assert 0.0 < max(rates) < certification.EXPOSURE_CAP
    assert "overexposed" in ItemStatistics.objects.get(item=retired).flags

    refreshed = Exam.objects.get(pk=exam.pk)
    assert refreshed.bank_version == exam.bank_version + 1
    certification.prepare_exam(refreshed.pk, refreshed.bank_version)
    assert retired.pk not in certification.exam_bank(refreshed).item_ids
    assert retired.pk not in Exam.objects.get(pk=exam.pk).opening_items

    page = client_for(author).get(reverse("assessment:item_analysis")).content.decode()
    assert "Certification exam items" in page and "Retired exam items" in page
    assert retired.retired_reason in page
    assert all(item.key in page for item in items)


def test_fixed_form_items_are_retired_by_lifetime_uses_not_by_rate(
    content_root: Path, monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(calibration, "EXAM_ITEM_MAX_USES", 150)
    exam = import_exam(content_root, "fixed")
    items = exam_items()
    a, b, c = true_parameters(items)
    users = make_candidates([None] * 200)
    simulate_sittings(exam, users, np.random.default_rng(6), a=a, b=b, c=c,
                      items_per_sitting=8, always=[0])

    run_calibration()

    # Shown in every sitting, but a fixed form shows its items to everyone who gets it: only
    # the 200 uses beyond the cap of 150 retire it. The others have about 40 uses each.
    retired = list(Item.objects.filter(status=Item.Status.RETIRED))
    assert [item.pk for item in retired] == [items[0].pk]
    assert retired[0].retired_reason == \
        "overexposed: seen in 200 finished exams in total (cap 150)"
    assert Exam.objects.get(pk=exam.pk).bank_version == exam.bank_version + 1


def test_exposure_counts_only_the_recent_window(content_root: Path):
    exam = import_exam(content_root, "adaptive")
    # The questions are as old as the sittings (the import just now would otherwise make
    # every older response one to an earlier version).
    Item.objects.filter(pool=Item.Pool.EXAM).update(content_changed_at=None)
    items = exam_items()
    a, b, c = true_parameters(items)
    users = make_candidates([None] * 300)
    simulate_sittings(exam, users, np.random.default_rng(7), a=a, b=b, c=c,
                      items_per_sitting=8, always=[5],
                      finished_at=timezone.now() - timedelta(days=120))

    run_calibration()

    assert not Item.objects.filter(status=Item.Status.RETIRED).exists()
    assert ItemStatistics.objects.get(item=items[5]).exposure_rate is None
    # Item 5 was recalibrated (300 responses), so the exam still gets a new bank version.
    assert Item.objects.get(pk=items[5].pk).status == Item.Status.CALIBRATED
    assert Exam.objects.get(pk=exam.pk).bank_version == exam.bank_version + 1


def test_without_exam_sittings_the_exam_is_left_alone(content_root: Path):
    exam = import_exam(content_root, "fixed")

    run_calibration()

    assert Exam.objects.get(pk=exam.pk).bank_version == exam.bank_version
    assert not ItemStatistics.objects.exists()
    assert CalibrationRun.objects.get().summary["exam"]["n_responses"] == 0
