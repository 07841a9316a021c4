"""Acceptance: a worker SIGKILLed in the middle of grading a submission loses nothing.

A real ``manage.py worker`` starts grading (the learner's code is running in the sandbox) and
is killed with every process of its session, as if its machine died. After the lease expires a
second worker grades the submission again; the submission is graded once and its skill
evidence recorded once. The durable-job mechanism itself is tested on both task backends in
tests/core/test_worker_kill.py; this test proves the labs job keeps to it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.core.test_worker_kill import (
    RERUN_TIMEOUT_S,
    STARTUP_TIMEOUT_S,
    Worker,
    transport,
    worker_env,
)
from tests.support.polling import wait_until
from upskill.catalog import services as catalog
from upskill.core.models import Job
from upskill.labs import services
from upskill.labs.models import Submission
from upskill.learning.models import PracticeAnswer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Slow enough to be killed mid-run; a plain model, so the rerun is graded.
SLEEPY = """
import time
from sklearn.linear_model import LogisticRegression

def train(df):
    time.sleep(4)
    return LogisticRegression().fit(df[["tenure"]], df["churn"] == "Yes")

def predict(model, X):
    return model.predict_proba(X[["tenure"]])[:, 1]
"""


def scratch_runs() -> set[Path]:
    root = settings.VAR_DIR / "labs" / "scratch"
    return set(root.glob("run-*")) if root.is_dir() else set()


def test_a_worker_killed_mid_grading_grades_once_and_records_once(
        labs_root, learner, secure_sandbox, tmp_path):
    report = catalog.import_content(labs_root)
    assert report.ok, report.problems
    services.training_data("telco-churn")  # prepared now, so the first run starts at once
    before = scratch_runs()
    workers: list[Worker] = []
    try:
        with transport("database") as transport_env:
            env = worker_env(transport_env)
            submission = services.submit(learner, "telco-churn", SLEEPY, "editor")
            job = submission.job
            assert job is not None
            first = Worker(env, tmp_path / "worker-1.log")
            workers.append(first)

            def learner_code_started() -> bool:
                first.assert_alive()
                return bool(scratch_runs() - before)

            wait_until(learner_code_started, timeout_s=STARTUP_TIMEOUT_S,
                       what="the first worker to start the sandboxed run", explain=first.log)
            wait_until(lambda: services.submission_status(learner, submission.pk).status
                       == "running", timeout_s=10, what="the submission to show as running")
            first.kill()

            job.refresh_from_db()
            submission.refresh_from_db()
            assert job.state == Job.State.RUNNING and job.attempts == 1
            assert submission.status == Submission.Status.QUEUED
            assert not PracticeAnswer.objects.filter(user=learner).exists()

            second = Worker(env, tmp_path / "worker-2.log")
            workers.append(second)

            def graded() -> bool:
                second.assert_alive()
                job.refresh_from_db()
                return job.state in {Job.State.DONE, Job.State.FAILED}

            wait_until(graded, timeout_s=RERUN_TIMEOUT_S, what="the second worker to regrade",
                       explain=lambda: f"{first.log()}\n{second.log()}")
    finally:
        for worker in workers:
            worker.kill()
        for leftover in scratch_runs() - before:  # the killed run had no chance to clean up
            shutil.rmtree(leftover, ignore_errors=True)

    assert job.state == Job.State.DONE, job.last_error
    assert job.attempts == 2
    submission.refresh_from_db()
    assert submission.status == Submission.Status.GRADED, submission.feedback
    assert submission.public_score is not None and submission.graded_at is not None
    evidence = PracticeAnswer.objects.filter(user=learner, source="lab")
    assert sorted(evidence.values_list("skill__slug", flat=True)) == [
        "churn-prediction", "classification-models", "feature-engineering"]
    assert Submission.objects.filter(user=learner).count() == 1
