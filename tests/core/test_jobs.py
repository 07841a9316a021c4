"""The durable job mechanism (upskill.core.jobs) against the real database.

Each test plays the part of one or two workers by calling the mechanism's
steps (claim, renew, complete, fail, reap) directly, so lease takeovers and
lost wake-ups happen exactly when the test says. Wake-ups go through the
database transport, where a test can count them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.support.models import RecordedOutcome
from tests.support.polling import wait_until
from upskill.core import jobs
from upskill.core.errors import Invalid
from upskill.core.models import Job

SQUARE = "test.slow_square"
FAILS = "test.always_fails"
UNRECORDABLE = "test.unrecordable"
TRANSPORT_TASK = "upskill.core.tasks.run_job_task"
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture(autouse=True)
def database_transport() -> Iterator[None]:
    """Wake-ups become rows a test can count (and none leak into a shared Redis)."""
    with override_settings(TASKS=DATABASE_TASKS):
        yield


def wakeups(job: Job) -> list[DBTaskResult]:
    return [
        task
        for task in DBTaskResult.objects.filter(task_path=TRANSPORT_TASK)
        if task.args_kwargs["args"] == [job.pk]
    ]


def new_job(kind: str = SQUARE, payload: dict[str, Any] | None = None, **options: Any) -> Job:
    """A queued job whose wake-up was delivered (as if its transaction had committed)."""
    job = jobs.enqueue(kind, payload if payload is not None else {"n": 4}, **options)
    Job.objects.filter(pk=job.pk).update(woken_at=timezone.now())
    job.refresh_from_db()
    return job


def expire_lease(job: Job) -> None:
    """Let the lease run out, as if its holder stopped renewing it (e.g. died)."""
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def make_due(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(available_at=timezone.now() - timedelta(seconds=1))


def outcomes(job: Job) -> list[int]:
    return list(RecordedOutcome.objects.filter(job=job).values_list("value", flat=True))


# --- enqueue -----------------------------------------------------------------


@pytest.mark.django_db
def test_enqueue_creates_a_queued_job_and_wakes_a_worker_only_after_commit(
    django_capture_on_commit_callbacks: Callable[..., Any], settings: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = jobs.enqueue(SQUARE, {"n": 3})

    job.refresh_from_db()
    assert job.kind == SQUARE
    assert job.payload == {"n": 3}
    assert job.state == Job.State.QUEUED
    assert job.attempts == 0
    assert job.max_attempts == settings.JOBS_MAX_ATTEMPTS
    assert job.available_at <= timezone.now()
    assert job.woken_at is None, "nothing may wake a worker before the commit"
    assert wakeups(job) == []

    assert len(callbacks) == 1
    callbacks[0]()  # the commit

    job.refresh_from_db()
    assert job.woken_at is not None
    assert len(wakeups(job)) == 1


@pytest.mark.django_db
def test_enqueue_in_a_rolled_back_transaction_leaves_no_job_and_no_wakeup(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    def enqueue_then_fail() -> None:
        with transaction.atomic():
            jobs.enqueue(SQUARE, {"n": 3})
            raise RuntimeError("the caller's work failed")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        enqueue_then_fail()

    assert callbacks == []
    assert not Job.objects.exists()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_enqueue_with_the_same_dedupe_key_returns_the_existing_job(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = jobs.enqueue(SQUARE, {"n": 2}, dedupe_key="grade:42")
        again = jobs.enqueue(SQUARE, {"n": 99}, dedupe_key="grade:42")
        other = jobs.enqueue(SQUARE, {"n": 2}, dedupe_key="grade:43")

    assert again.pk == first.pk
    assert other.pk != first.pk
    assert Job.objects.filter(dedupe_key="grade:42").count() == 1
    first.refresh_from_db()
    assert first.payload == {"n": 2}, "a repeated enqueue must not overwrite the job"
    assert len(callbacks) == 2, "the repeated enqueue must not wake a worker again"


@pytest.mark.django_db
def test_enqueue_rejects_an_unknown_kind_and_a_zero_attempt_budget() -> None:
    with pytest.raises(Invalid, match=r"no\.such\.kind"):
        jobs.enqueue("no.such.kind", {})
    with pytest.raises(Invalid, match="max_attempts"):
        jobs.enqueue(SQUARE, {"n": 1}, max_attempts=0)
    assert not Job.objects.exists()


# --- claim, renew, complete --------------------------------------------------


@pytest.mark.django_db
def test_claim_takes_the_lease_once() -> None:
    job = new_job()
    before = timezone.now()

    first = jobs.claim(job.pk)
    second = jobs.claim(job.pk)

    assert first is not None
    assert second is None, "two workers must never hold the lease together"
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING
    assert job.attempts == 1
    assert job.lease_token == first.token
    assert job.lease_until is not None and job.lease_until > before
    assert job.claimed_by


@pytest.mark.django_db
def test_claim_refuses_a_job_that_is_not_yet_due_or_already_finished() -> None:
    later = new_job()
    Job.objects.filter(pk=later.pk).update(available_at=timezone.now() + timedelta(hours=1))
    finished = new_job()
    held = jobs.claim(finished.pk)
    assert held is not None
    assert jobs.complete(finished.pk, held.token, {"value": 16})
    expire_lease(finished)

    assert jobs.claim(later.pk) is None
    assert jobs.claim(finished.pk) is None
    later.refresh_from_db()
    assert later.attempts == 0


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over_and_only_the_new_holder_records_a_result() -> None:
    job = new_job(payload={"n": 5})
    stale = jobs.claim(job.pk)
    assert stale is not None
    assert jobs.claim(job.pk) is None

    expire_lease(job)
    fresh = jobs.claim(job.pk)

    assert fresh is not None
    assert fresh.token != stale.token
    assert fresh.job.attempts == 2
    assert jobs.complete(job.pk, stale.token, {"value": 999}) is False
    assert outcomes(job) == []
    assert Job.objects.get(pk=job.pk).state == Job.State.RUNNING

    assert jobs.complete(job.pk, fresh.token, {"value": 25}) is True
    # A duplicate delivery, and the stale holder finishing late: both record nothing.
    assert jobs.complete(job.pk, fresh.token, {"value": 25}) is False
    assert jobs.complete(job.pk, stale.token, {"value": 999}) is False

    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert job.result == {"value": 25}
    assert job.lease_until is None
    assert job.finished_at is not None
    assert outcomes(job) == [25]


@pytest.mark.django_db
def test_renew_extends_a_held_lease_and_fails_after_a_takeover() -> None:
    job = new_job()
    stale = jobs.claim(job.pk, lease_s=1)
    assert stale is not None
    short_lease = Job.objects.get(pk=job.pk).lease_until
    assert short_lease is not None

    assert jobs.renew(job.pk, stale.token, lease_s=600) is True
    renewed = Job.objects.get(pk=job.pk).lease_until
    assert renewed is not None and renewed > short_lease

    expire_lease(job)
    fresh = jobs.claim(job.pk)
    assert fresh is not None
    fresh_lease = Job.objects.get(pk=job.pk).lease_until

    assert jobs.renew(job.pk, stale.token, lease_s=600) is False
    assert Job.objects.get(pk=job.pk).lease_until == fresh_lease, "a stale renew moved the lease"
    assert jobs.renew(job.pk, fresh.token) is True


# --- running: retries and giving up -------------------------------------------


@pytest.mark.django_db
@override_settings(JOBS_RETRY_BACKOFF_S=10)
def test_a_failing_job_retries_with_growing_backoff_then_gives_up(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    job = new_job(FAILS, {"message": "disk on fire"}, max_attempts=3)
    backoffs = []
    for attempt in (1, 2):
        make_due(job)
        failed_at = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs.run_job(job.pk) == "retry"
        job.refresh_from_db()
        assert job.state == Job.State.QUEUED
        assert job.attempts == attempt
        assert job.last_error == "RuntimeError: disk on fire"
        assert job.lease_token == ""
        assert job.lease_until is None
        backoffs.append(job.available_at - failed_at)
        # Not due yet: a wake-up that arrives early runs nothing.
        assert jobs.run_job(job.pk) == "skipped"
        retry_wakeups = wakeups(job)
        assert len(retry_wakeups) == attempt
        assert job.available_at in {task.run_after for task in retry_wakeups}, (
            "the retry wake-up must be deferred to when the job is due"
        )

    assert timedelta(seconds=10) <= backoffs[0] < timedelta(seconds=20)
    assert timedelta(seconds=20) <= backoffs[1] < timedelta(seconds=40)

    make_due(job)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert jobs.run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.attempts == 3
    assert job.last_error.startswith("Gave up after 3 attempts")
    assert "RuntimeError: disk on fire" in job.last_error
    assert job.finished_at is not None
    assert callbacks == [], "a job that gave up must not be woken again"

    make_due(job)
    assert jobs.run_job(job.pk) == "skipped"
    assert Job.objects.get(pk=job.pk).attempts == 3


@pytest.mark.django_db
def test_a_failing_record_step_records_nothing_and_retries_with_its_error(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    job = new_job(UNRECORDABLE, {"n": 3}, max_attempts=2)

    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run_job(job.pk) == "retry"

    job.refresh_from_db()
    assert job.state == Job.State.QUEUED, "the result must not stay recorded without its record"
    assert job.result is None
    assert "cannot store the result" in job.last_error
    assert job.attempts == 1


@pytest.mark.django_db
def test_a_job_of_an_unregistered_kind_fails_with_a_reason() -> None:
    job = new_job()
    Job.objects.filter(pk=job.pk).update(kind="retired.kind")

    assert jobs.run_job(job.pk) == "failed"

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "retired.kind" in job.last_error
    assert job.lease_token == ""


@pytest.mark.django_db
def test_run_job_records_the_result_once_per_job() -> None:
    job = new_job(payload={"n": 9})

    assert jobs.run_job(job.pk) == "done"
    assert jobs.run_job(job.pk) == "skipped", "a second wake-up must not run a done job"

    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert job.result == {"value": 81}
    assert job.attempts == 1
    assert outcomes(job) == [81]


# --- reap ----------------------------------------------------------------------


@pytest.mark.django_db
def test_reap_requeues_an_expired_lease_and_leaves_live_ones(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    abandoned = new_job(max_attempts=3)
    dead_holder = jobs.claim(abandoned.pk)
    assert dead_holder is not None
    expire_lease(abandoned)
    alive = new_job()
    live_holder = jobs.claim(alive.pk)
    assert live_holder is not None

    with django_capture_on_commit_callbacks(execute=True):
        touched = jobs.reap()

    assert touched == 1
    abandoned.refresh_from_db()
    assert abandoned.state == Job.State.QUEUED
    assert abandoned.available_at <= timezone.now()
    assert abandoned.lease_token == ""
    assert "lease expired" in abandoned.last_error
    assert dead_holder.job.claimed_by in abandoned.last_error
    assert len(wakeups(abandoned)) == 1
    alive.refresh_from_db()
    assert alive.state == Job.State.RUNNING
    assert alive.lease_token == live_holder.token
    assert wakeups(alive) == []

    # The dead holder, should it come back, can no longer record anything.
    assert jobs.complete(abandoned.pk, dead_holder.token, {"value": 1}) is False
    rerun = jobs.claim(abandoned.pk)
    assert rerun is not None
    assert rerun.job.attempts == 2


@pytest.mark.django_db
def test_reap_gives_up_on_an_expired_lease_when_attempts_are_exhausted(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    job = new_job(max_attempts=2)
    for _ in range(2):
        assert jobs.claim(job.pk) is not None
        expire_lease(job)
        with django_capture_on_commit_callbacks(execute=True):
            jobs.reap()

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.last_error.startswith("Gave up after 2 attempts")
    assert "lease expired" in job.last_error
    assert job.finished_at is not None
    assert len(wakeups(job)) == 1, "only the first expiry may wake a worker"
    assert jobs.claim(job.pk) is None


@pytest.mark.django_db
def test_reap_rewakes_due_jobs_whose_wakeup_was_lost(settings: Any) -> None:
    with transaction.atomic():
        never_woken = jobs.enqueue(SQUARE, {"n": 1})  # its on-commit wake-up never runs here
    woken_long_ago = new_job()
    Job.objects.filter(pk=woken_long_ago.pk).update(
        woken_at=timezone.now() - timedelta(seconds=settings.JOBS_LEASE_S + 1)
    )
    woken_recently = new_job()
    not_due = jobs.enqueue(SQUARE, {"n": 1})
    Job.objects.filter(pk=not_due.pk).update(available_at=timezone.now() + timedelta(hours=1))

    touched = jobs.reap()

    assert touched == 2
    assert len(wakeups(never_woken)) == 1
    assert len(wakeups(woken_long_ago)) == 1
    assert wakeups(woken_recently) == []
    assert wakeups(not_due) == []
    never_woken.refresh_from_db()
    assert never_woken.woken_at is not None
    assert jobs.reap() == 0, "a job just re-woken must not be woken again at once"


# --- the heartbeat, with a real worker thread ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_the_lease_while_a_long_handler_runs(
    settings: Any, tmp_path: Path
) -> None:
    settings.JOBS_LEASE_S = 2  # renewed every ~0.7 s
    marker = tmp_path / "starts"
    job = jobs.enqueue(SQUARE, {"n": 6, "sleep_s": 4, "marker": str(marker)})
    outcome: dict[str, str] = {}

    def work() -> None:
        try:
            outcome["run"] = jobs.run_job(job.pk)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work, name="test-worker")
    worker.start()
    try:
        wait_until(marker.exists, timeout_s=30, what="the handler to start")
        first_lease = Job.objects.get(pk=job.pk).lease_until
        assert first_lease is not None
        # Wait past the lease the claim took; only renewals keep it alive now.
        wait_until(
            lambda: timezone.now() > first_lease + timedelta(seconds=0.5),
            timeout_s=30,
            what="the first lease to run out",
        )
        assert jobs.claim(job.pk) is None, "the lease lapsed while its holder was working"
    finally:
        worker.join(timeout=60)

    assert outcome == {"run": "done"}
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert job.attempts == 1
    assert outcomes(job) == [36]


# --- an invariant over every interleaving of two workers ---------------------------

WORKERS = ("a", "b")
# Claims, completions and expiries make the interesting races, so they are
# listed twice (drawn twice as often) as renewals, failures and reaps.
STEP = st.sampled_from(
    [(action, worker) for action in ("claim", "complete") for worker in WORKERS] * 2
    + [(action, worker) for action in ("renew", "fail") for worker in WORKERS]
    + [("expire", None)] * 2
    + [("reap", None)]
)


@pytest.mark.django_db
@override_settings(JOBS_RETRY_BACKOFF_S=0)
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, min_size=4, max_size=12))
# The races known to matter run every time; hypothesis explores around them.
@example(steps=[("claim", "a"), ("expire", None), ("claim", "b"), ("complete", "a"),
                ("complete", "b")])
@example(steps=[("claim", "a"), ("claim", "b"), ("complete", "b"), ("complete", "a")])
@example(steps=[("claim", "a"), ("expire", None), ("reap", None), ("claim", "b"),
                ("fail", "a"), ("renew", "a"), ("complete", "a"), ("complete", "b")])
def test_any_interleaving_of_two_workers_records_at_most_one_result(
    steps: list[tuple[str, str | None]],
) -> None:
    # Each example in its own savepoint, rolled back, so examples do not see each other's jobs.
    with transaction.atomic():
        check_two_workers(steps)
        transaction.set_rollback(True)


def check_two_workers(steps: list[tuple[str, str | None]]) -> None:
    job = new_job(payload={"n": 2}, max_attempts=3)
    tokens: dict[str, str] = {}
    value_of = {"a": 101, "b": 202}
    recorded_by: list[str] = []
    finished_state = None

    for action, worker in steps:
        before = job  # as refreshed after the previous step
        if action == "claim" and worker is not None:
            lease_was_live = (
                before.state == Job.State.RUNNING
                and before.lease_until is not None
                and before.lease_until > timezone.now()
            )
            held = jobs.claim(job.pk)
            if held is not None:
                assert not lease_was_live, "a claim took a lease that was still live"
                tokens[worker] = held.token
        elif action == "renew" and worker in tokens:
            jobs.renew(job.pk, tokens[worker])
        elif action == "complete" and worker in tokens:
            if jobs.complete(job.pk, tokens[worker], {"value": value_of[worker]}):
                assert before.lease_token == tokens[worker], "a stale holder recorded a result"
                recorded_by.append(worker)
        elif action == "fail" and worker in tokens:
            jobs.fail_attempt(job.pk, tokens[worker], "RuntimeError: flaky")
        elif action == "expire":
            expire_lease(job)
        elif action == "reap":
            jobs.reap()

        job = Job.objects.get(pk=job.pk)
        recorded = outcomes(job)
        assert len(recorded_by) <= 1
        assert len(recorded) == len(recorded_by)
        assert job.attempts <= job.max_attempts
        if finished_state is not None:
            assert job.state == finished_state, "a finished job changed state"
        if job.state in {Job.State.DONE, Job.State.FAILED}:
            finished_state = job.state
        if job.state == Job.State.DONE:
            assert recorded == [value_of[recorded_by[0]]]
            assert job.result == {"value": value_of[recorded_by[0]]}
        else:
            assert recorded == []


def test_a_worker_runs_every_start_hook_and_one_that_fails_keeps_none_from_running(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []
    monkeypatch.setattr(jobs, "_worker_start_hooks", {})

    @jobs.on_worker_start("test.broken")
    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("no sandbox here")

    @jobs.on_worker_start("test.warm")
    def warm() -> None:
        ran.append("warm")

    jobs.worker_started()
    assert ran == ["broken", "warm"]
    assert "worker start: test.broken failed" in caplog.text
