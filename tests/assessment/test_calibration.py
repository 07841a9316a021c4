"""Item calibration and item analysis (upskill.assessment.calibration): the statistics on data
small enough to check by hand, parameter recovery from simulated adaptive data through the
durable job, scheduling, and the authors' page.

This module is also the URL configuration of its page tests (``pytest.mark.urls``): the
project's URLs with the two item-analysis routes added to the assessment namespace, the same
lines ``upskill/assessment/urls.py`` is to carry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import include, path, reverse
from django.utils import timezone

from upskill import urls as project_urls
from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import analysis_views, calibration, cat, irt
from upskill.assessment import urls as assessment_urls
from upskill.assessment.models import (
    CalibrationRun,
    DiagnosticAttempt,
    DiagnosticResponse,
    Item,
    ItemStatistics,
)
from upskill.catalog.models import ContentPackage, Release, Role, RoleSkill, Skill
from upskill.core import jobs
from upskill.core.errors import PermissionDenied
from upskill.core.models import Job

ANALYSIS_URLS = [
    path("authoring/item-analysis/", analysis_views.item_analysis, name="item_analysis"),
    path("authoring/item-analysis/recalibrate/", analysis_views.schedule_calibration,
         name="schedule_calibration"),
]
urlpatterns = [
    *(pattern for pattern in project_urls.urlpatterns
      if getattr(pattern, "app_name", None) != "assessment"),
    path("", include(([*ANALYSIS_URLS, *assessment_urls.urlpatterns], "assessment"))),
]

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture(autouse=True)
def database_transport() -> Iterator[None]:
    with override_settings(TASKS=DATABASE_TASKS):
        yield


@pytest.fixture(autouse=True)
def quick_exposure_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few simulees are enough to see exposure control happen; 500 would take seconds."""
    monkeypatch.setattr(calibration, "EXPOSURE_SIMULEES", 20)
    monkeypatch.setattr(calibration, "EXPOSURE_ITERATIONS", 2)


# ----------------------------------------------------------------------------- statistics


def test_item_statistics_on_a_hand_computable_data_set() -> None:
    # Item 0: right for the two stronger learners, wrong for the two weaker ones.
    # Item 1: the reverse. Item 2: one response only. Item 3: never shown.
    item = [0, 0, 0, 0, 1, 1, 1, 1, 2]
    correct = [1, 1, 0, 0, 0, 0, 1, 1, 1]
    rest = [1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, -1.0, 0.3]
    predicted = [0.9, 0.5, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5, 0.6]

    stats = calibration.item_statistics(item, correct, rest, predicted, n_items=4)

    assert stats.n.tolist() == [4, 4, 1, 0]
    assert stats.p_value[:3].tolist() == [0.5, 0.5, 1.0]
    # cov(u, rest) = 0.25, var(u) = 0.25, var(rest) = 0.5: r = 0.25 / sqrt(0.125).
    assert stats.point_biserial[0] == pytest.approx(0.7071068, abs=1e-6)
    assert stats.point_biserial[1] == pytest.approx(-0.7071068, abs=1e-6)
    assert np.isnan(stats.point_biserial[2])  # no variance in one response
    # Squared residuals .01 .25 .25 .01 over variances .09 .25 .25 .09.
    assert stats.infit[0] == pytest.approx(0.52 / 0.68)
    assert stats.outfit[0] == pytest.approx((0.01 / 0.09 * 2 + 2.0) / 4)
    # Predicting 0.5 everywhere: every standardized residual is exactly 1.
    assert stats.infit[1] == pytest.approx(1.0)
    assert stats.outfit[1] == pytest.approx(1.0)
    assert np.isnan(stats.p_value[3]) and np.isnan(stats.infit[3])


def test_leave_one_out_is_the_eap_of_the_other_answers_in_the_same_group() -> None:
    items = irt.ItemParameters.from_difficulty([1.2, 0.8, 1.5, 1.0], [-0.5, 0.3, 1.0, 0.0],
                                               [0.0, 0.0, 0.2, 0.0])
    group = [0, 0, 0, 1, 1, 2]
    item = [0, 1, 2, 0, 3, 2]
    correct = [1, 0, 1, 1, 1, 0]

    loo = calibration.leave_one_out(group, item, correct, items)

    def reference(others: list[tuple[int, int]]) -> float:
        vector = np.full(4, np.nan)
        for j, u in others:
            vector[j] = u
        return irt.estimate_eap(vector, items).theta

    assert loo.rest_theta[0] == pytest.approx(reference([(1, 0), (2, 1)]), abs=1e-9)
    assert loo.rest_theta[1] == pytest.approx(reference([(0, 1), (2, 1)]), abs=1e-9)
    assert loo.rest_theta[3] == pytest.approx(reference([(3, 1)]), abs=1e-9)
    assert loo.rest_theta[5] == pytest.approx(0.0, abs=1e-9), "alone: the N(0, 1) prior"
    # A learner whose other answer was right is predicted to do better than the prior says.
    prior_prediction = float(
        irt.probability(irt.Quadrature.normal().nodes, items.take([0]))[:, 0]
        @ irt.Quadrature.normal().weights)
    assert loo.predicted[3] > prior_prediction


def test_infit_is_about_one_for_items_that_follow_the_model_and_high_for_a_noise_item() -> None:
    rng = np.random.default_rng(11)
    n_people, n_items = 1500, 12
    items = irt.ItemParameters.from_difficulty(np.full(n_items, 1.5),
                                               np.linspace(-1.5, 1.5, n_items))
    theta = rng.standard_normal(n_people)
    answers = (rng.random((n_people, n_items)) < irt.probability(theta, items)).astype(float)
    person, item = np.divmod(np.arange(n_people * n_items), n_items)

    def statistics() -> calibration.ItemStatisticsArrays:
        correct = answers.reshape(-1)
        loo = calibration.leave_one_out(person, item, correct, items)
        return calibration.item_statistics(item, correct, loo.rest_theta, loo.predicted,
                                           n_items)

    following = statistics()
    assert np.all(np.abs(following.infit - 1.0) < 0.1), following.infit
    assert np.all(np.abs(following.outfit - 1.0) < 0.15), following.outfit

    answers[:, 0] = rng.random(n_people) < 0.5  # item 0 is now answered at random
    noisy = statistics()
    assert noisy.infit[0] > calibration.INFIT_RANGE[1]
    assert abs(noisy.point_biserial[0]) < 0.1
    # Its noise reaches the others' predictions a little, not enough to flag them.
    low, high = calibration.INFIT_RANGE
    assert np.all((noisy.infit[1:] > low) & (noisy.infit[1:] < high)), noisy.infit
    assert np.all(noisy.point_biserial[1:] > 0.3)


@pytest.mark.parametrize(("arguments", "expected"), [
    ((100, 0.97, 0.3, 1.0, 0.1, 100), ["too_easy"]),
    ((100, 0.02, 0.3, 1.0, 0.1, 100), ["too_hard"]),
    ((100, 0.5, -0.2, 1.0, 0.1, 100), ["negative_discrimination"]),
    ((100, 0.5, 0.05, 1.0, 0.1, 100), ["low_discrimination"]),
    ((100, 0.5, 0.3, 1.45, 0.1, 100), ["misfit"]),
    ((100, 0.5, 0.3, 0.6, 0.1, 100), ["misfit"]),
    ((100, 0.5, 0.3, 1.0, 0.6, 100), ["overexposed"]),
    ((100, 0.5, 0.3, 1.0, 0.1, 100), []),
    ((10, 0.0, -0.9, 3.0, 0.1, 100), []),  # too few responses to judge
    ((100, 0.5, float("nan"), float("nan"), None, 0), []),
])
def test_flags(arguments: tuple[Any, ...], expected: list[str]) -> None:
    assert calibration.flags_of(*arguments) == expected


# ----------------------------------------------------------------------------- a bank with data


@dataclasses.dataclass
class Bank:
    role: Role
    items: list[Item]
    a: np.ndarray
    b: np.ndarray


def make_bank(rng: np.random.Generator, *, n_skills: int = 4, per_skill: int = 8,
              kind: str = "numeric", slug: str = "analyst") -> Bank:
    """Skills of one area with numeric items (2PL) whose true parameters are drawn here; their
    provisional parameters come from a rating that only roughly matches the truth."""
    package, _ = ContentPackage.objects.get_or_create(package_id="bank", title="Bank")
    release, _ = Release.objects.get_or_create(package=package, version="1.0.0", digest="x",
                                               is_current=True)
    role = Role.objects.create(slug=slug, title=slug.title(), for_whom="x")
    a = rng.lognormal(0.0, 0.25, n_skills * per_skill)
    b = rng.normal(0.0, 1.0, n_skills * per_skill)
    rating = np.clip(np.round(b / 0.9) + 3 + rng.integers(-1, 2, b.size), 1, 5).astype(int)
    items = []
    for s in range(n_skills):
        skill = Skill.objects.create(slug=f"{slug}-skill-{s}", name=f"Skill {s}",
                                     description="x", category=Skill.Category.DATA)
        RoleSkill.objects.create(role=role, skill=skill, level=3)
        for k in range(per_skill):
            j = s * per_skill + k
            items.append(Item.objects.create(
                key=f"{slug}-{s}-{k}", release=release, skill=skill, kind=kind,
                stem_html="<p>?</p>", options_html=["x", "y", "z", "w"] if kind != "numeric"
                else [], answer=0, explanation_html="<p>.</p>",
                difficulty_rating=int(rating[j]), content_digest=f"digest-{slug}-{j}",
                irt_a=1.0, irt_b=float((rating[j] - 3) * 0.9),
                irt_c=0.25 if kind != "numeric" else 0.0))
    return Bank(role, items, a, b)


def simulate_diagnostics(rng: np.random.Generator, bank: Bank, user: User, n_people: int,
                         *, per_skill: int = 3) -> np.ndarray:
    """Adaptive sessions like the diagnostic's: per skill in turn, the unseen item most
    informative at the current EAP under the PROVISIONAL parameters (with some randomness),
    answered from the TRUE parameters. Selection depends on the answers only, as in the CAT.
    Stores finished attempts and their responses; returns how often each item was given."""
    skills = np.array([item.skill_id for item in bank.items])
    skill_ids = sorted(set(skills.tolist()))
    guide = irt.ItemParameters.from_difficulty([i.irt_a for i in bank.items],
                                               [i.irt_b for i in bank.items])
    truth = irt.ItemParameters.from_difficulty(bank.a, bank.b)
    grid = irt.Quadrature.normal(41)
    guide_at_nodes = irt.probability(grid.nodes, guide)
    log_posterior = np.tile(np.log(grid.weights), (n_people, 1))
    theta = rng.standard_normal(n_people)
    seen = np.zeros((n_people, len(bank.items)), dtype=bool)
    everyone = np.arange(n_people)
    attempts = DiagnosticAttempt.objects.bulk_create([
        DiagnosticAttempt(user=user, role=bank.role, experience={}, seed=0,
                          status=DiagnosticAttempt.Status.FINISHED) for _ in everyone])
    attempt_ids = [attempt.pk for attempt in attempts]
    item_ids = [item.pk for item in bank.items]
    responses = []
    for step in range(per_skill * len(skill_ids)):
        posterior = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
        estimate = (posterior / posterior.sum(axis=1, keepdims=True)) @ grid.nodes
        score = irt.item_information(estimate, guide) * rng.uniform(0.6, 1.0, seen.shape)
        score[:, skills != skill_ids[step % len(skill_ids)]] = -np.inf
        score[seen] = -np.inf
        chosen = score.argmax(axis=1)
        correct = rng.random(n_people) < irt.probability(theta, truth)[everyone, chosen]
        seen[everyone, chosen] = True
        at_nodes = guide_at_nodes[:, chosen].T
        log_posterior += np.where(correct[:, None], np.log(at_nodes), np.log1p(-at_nodes))
        responses += [DiagnosticResponse(attempt_id=attempt_ids[e], item_id=item_ids[j],
                                         position=step + 1, correct=u)
                      for e, j, u in zip(everyone, chosen.tolist(), correct.tolist(),
                                         strict=True)]
    DiagnosticResponse.objects.bulk_create(responses)
    return seen.sum(axis=0)


def run_the_job() -> Job:
    """What a worker does with the queued calibration job."""
    job = calibration.schedule_calibration()
    assert jobs.run_job(job.pk) == "done", Job.objects.get(pk=job.pk).last_error
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_the_job_recovers_difficulties_and_calibrates_only_items_with_enough_responses(
    make_user: Callable[..., User],
) -> None:
    rng = np.random.default_rng(7)
    bank = make_bank(rng)
    shown = simulate_diagnostics(rng, bank, make_user(), 1200)
    enough = shown >= calibration.MIN_RESPONSES
    assert 0 < enough.sum() < len(bank.items), "the data must put items on both sides"

    job = run_the_job()

    assert job.state == Job.State.DONE
    items = [Item.objects.get(pk=item.pk) for item in bank.items]
    statuses = np.array([item.status for item in items])
    assert np.all(statuses[enough] == Item.Status.CALIBRATED)
    assert np.all(statuses[~enough] == Item.Status.PROVISIONAL)
    estimated_b = np.array([item.irt_b for item in items])[enough]
    assert np.corrcoef(bank.b[enough], estimated_b)[0, 1] > 0.9
    for item, n, ready in zip(items, shown, enough, strict=True):
        if ready:
            assert item.calibration_responses == n
            assert item.calibrated_at is not None
            assert item.irt_c == 0.0, "numeric items are 2PL"
        else:
            assert (item.irt_a, item.calibrated_at) == (1.0, None), "provisional stays"

    run = CalibrationRun.objects.get()
    assert run.n_responses == shown.sum()
    assert run.n_attempts == 1200
    assert run.n_items_calibrated == enough.sum()
    assert run.responses_through == DiagnosticResponse.objects.order_by("-pk").first().pk
    assert run.log_likelihood is not None and run.log_likelihood < 0
    assert [g["status"] for g in run.summary["groups"]] == ["calibrated"]

    statistics = {s.item_id: s for s in ItemStatistics.objects.filter(run=run)}
    for item, n in zip(items, shown, strict=True):
        if n:
            assert statistics[item.pk].n_responses == n
            point_biserial = statistics[item.pk].point_biserial
            assert point_biserial is not None and point_biserial > 0
    # Calibrated items fit their new parameters; the provisional ones fit their author's
    # rating worse, and infit sees it.
    infit = np.array([statistics[item.pk].infit if item.pk in statistics else np.nan
                      for item in items])
    assert np.all(np.abs(infit[enough] - 1.0) < 0.1), infit[enough]
    assert np.nanmax(infit[~enough]) > infit[enough].max()
    assert {item.pk for item, n in zip(items, shown, strict=True) if n} == set(statistics)
    # Three of eight items per skill in every diagnostic: the favourites exceed 25%.
    exposure = np.array([item.exposure_k for item in items])
    assert np.all((exposure > 0) & (exposure <= 1)) and exposure.min() < 1.0


@pytest.mark.django_db
def test_choice_items_are_calibrated_with_guessing(make_user: Callable[..., User]) -> None:
    rng = np.random.default_rng(3)
    bank = make_bank(rng, n_skills=2, per_skill=4, kind="single")
    simulate_diagnostics(rng, bank, make_user(), 500, per_skill=2)

    call_command("calibrate_items", "--now", stdout=open("/dev/null", "w"))  # noqa: SIM115

    calibrated = Item.objects.filter(status=Item.Status.CALIBRATED)
    assert calibrated.exists()
    assert all(0.0 < item.irt_c < 0.6 for item in calibrated), "3PL with a guessing prior"
    assert CalibrationRun.objects.get().summary["groups"][0]["model"] == "3PL"


@pytest.mark.django_db
def test_responses_to_an_earlier_version_of_a_question_do_not_count(
    make_user: Callable[..., User],
) -> None:
    rng = np.random.default_rng(5)
    bank = make_bank(rng)
    shown = simulate_diagnostics(rng, bank, make_user(), 600)
    assert shown.max() >= calibration.MIN_RESPONSES, "would be calibrated had it not changed"
    changed = bank.items[int(np.argmax(shown))]
    Item.objects.filter(pk=changed.pk).update(
        content_changed_at=timezone.now() + timedelta(seconds=1), content_digest="new")

    run_the_job()

    changed.refresh_from_db()
    assert changed.status == Item.Status.PROVISIONAL
    assert not ItemStatistics.objects.filter(item=changed).exists()
    assert CalibrationRun.objects.get().n_responses == shown.sum() - shown.max()


@pytest.mark.django_db
def test_an_item_in_several_roles_gets_the_smallest_exposure_parameter(
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch,
) -> None:
    bank = make_bank(np.random.default_rng(1), n_skills=2, per_skill=3)
    small = Role.objects.create(slug="small", title="Small", for_whom="x")
    RoleSkill.objects.create(role=small, skill=bank.items[0].skill, level=2)

    def by_bank_size(bank: cat.ItemBank, *args: Any, **kwargs: Any) -> np.ndarray:
        return np.full(bank.n_items, 0.5 if bank.n_items == 3 else 0.8)

    monkeypatch.setattr(cat, "tune_sympson_hetter", by_bank_size)
    call_command("calibrate_items", "--now", stdout=open("/dev/null", "w"))  # noqa: SIM115

    exposure = [Item.objects.get(pk=item.pk).exposure_k for item in bank.items]
    assert exposure == [0.5, 0.5, 0.5, 0.8, 0.8, 0.8]


@pytest.mark.django_db
def test_a_run_that_started_before_a_stored_one_is_not_stored(
    make_user: Callable[..., User],
) -> None:
    rng = np.random.default_rng(2)
    bank = make_bank(rng, n_skills=1, per_skill=4)
    simulate_diagnostics(rng, bank, make_user(), 50, per_skill=2)
    older = calibration.calibrate_items()
    newer = calibration.calibrate_items()

    assert calibration.store_calibration(newer) is not None
    assert calibration.store_calibration(older) is None
    assert CalibrationRun.objects.count() == 1


@pytest.mark.django_db
def test_a_run_on_no_responses_records_an_empty_run() -> None:
    call_command("calibrate_items", "--now", stdout=open("/dev/null", "w"))  # noqa: SIM115

    run = CalibrationRun.objects.get()
    assert (run.n_responses, run.n_attempts, run.n_items_calibrated) == (0, 0, 0)
    assert run.log_likelihood is None


# ----------------------------------------------------------------------------- scheduling


@pytest.mark.django_db
def test_schedule_function_waits_for_enough_new_responses_and_dedupes(
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(calibration, "RECALIBRATE_EVERY", 100)
    rng = np.random.default_rng(4)
    bank = make_bank(rng, n_skills=2, per_skill=4)
    user = make_user()
    simulate_diagnostics(rng, bank, user, 45, per_skill=1)  # 90 responses

    assert calibration.maybe_schedule_calibration() is None
    assert not Job.objects.exists()

    simulate_diagnostics(rng, bank, user, 5, per_skill=1)  # 100
    first = calibration.maybe_schedule_calibration()
    again = calibration.maybe_schedule_calibration()
    assert first is not None and again is not None
    assert again.pk == first.pk
    assert calibration.schedule_calibration().pk == first.pk
    assert Job.objects.filter(kind=calibration.CALIBRATION_JOB).count() == 1

    assert jobs.run_job(first.pk) == "done"
    assert calibration.maybe_schedule_calibration() is None, "counted from the last run"

    simulate_diagnostics(rng, bank, user, 50, per_skill=1)
    second = calibration.maybe_schedule_calibration()
    assert second is not None and second.pk != first.pk


@pytest.mark.django_db
def test_a_failed_calibration_job_does_not_block_the_next_one(
    monkeypatch: pytest.MonkeyPatch, settings: Any,
) -> None:
    settings.JOBS_MAX_ATTEMPTS = 1

    def broken() -> dict[str, Any]:
        raise RuntimeError("numerics exploded")

    monkeypatch.setattr(calibration, "calibrate_items", broken)
    failed = calibration.schedule_calibration()
    assert jobs.run_job(failed.pk) == "failed"

    assert calibration.schedule_calibration().pk != failed.pk


@pytest.mark.django_db
def test_the_command_queues_the_job_once() -> None:
    call_command("calibrate_items", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("calibrate_items", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Job.objects.filter(kind=calibration.CALIBRATION_JOB,
                              state=Job.State.QUEUED).count() == 1


# ----------------------------------------------------------------------------- the page


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    person = make_user("author@example.test")
    accounts.grant_role(None, person, "author")
    return person


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_item_analysis_is_for_authors_and_staff(
    learner: User, author: User, make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    rng = np.random.default_rng(6)
    bank = make_bank(rng, n_skills=2, per_skill=3)
    simulate_diagnostics(rng, bank, learner, 40, per_skill=2)
    call_command("calibrate_items", "--now", stdout=open("/dev/null", "w"))  # noqa: SIM115
    staff = make_user("staff@example.test")
    accounts.grant_role(None, staff, "staff")
    url = reverse("assessment:item_analysis")

    assert client_for(learner).get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        calibration.item_analysis(learner)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]

    for person in (author, staff):
        page = client_for(person).get(url)
        assert page.status_code == 200
    html = page.content.decode()
    for item in bank.items:
        assert item.key in html
    assert html.count("<caption") == 2
    assert 'scope="col"' in html and 'scope="row"' in html
    assert "overflow-auto" in html
    flagged = [s for s in ItemStatistics.objects.all() if s.flags]
    assert flagged, "this data set flags some items"
    for statistics in flagged:
        assert all(str(calibration.FLAG_LABELS[flag]) in html for flag in statistics.flags)
    assert "No calibration has run yet" not in html


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_recalibrate_button_queues_one_job_for_authors_only(
    learner: User, author: User, client_for: Callable[[User], Client],
) -> None:
    url = reverse("assessment:schedule_calibration")

    assert client_for(learner).post(url).status_code == 403
    assert not Job.objects.exists()

    answer = client_for(author).post(url)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("assessment:item_analysis")
    client_for(author).post(url)
    assert Job.objects.filter(kind=calibration.CALIBRATION_JOB).count() == 1
    page = client_for(author).get(reverse("assessment:item_analysis")).content.decode()
    assert "A recalibration is queued" in page
    assert client_for(author).get(url).status_code == 405


@pytest.mark.django_db
def test_statistics_of_an_earlier_version_are_not_shown(
    author: User, make_user: Callable[..., User],
) -> None:
    rng = np.random.default_rng(8)
    bank = make_bank(rng, n_skills=1, per_skill=3)
    simulate_diagnostics(rng, bank, make_user(), 40, per_skill=2)
    call_command("calibrate_items", "--now", stdout=open("/dev/null", "w"))  # noqa: SIM115
    changed = bank.items[0]
    Item.objects.filter(pk=changed.pk).update(content_changed_at=timezone.now())

    rows = {row.item.pk: row for group in calibration.item_analysis(author).skills
            for row in group.rows}

    assert rows[changed.pk].statistics is None
    assert all(rows[item.pk].statistics is not None for item in bank.items[1:]
               if ItemStatistics.objects.filter(item=item).exists())
    assert ItemStatistics.objects.filter(item__in=bank.items[1:]).exists()
