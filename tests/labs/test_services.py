"""Submitting to a lab, following the grading, leaderboards, portfolio and skill evidence.

Most tests record a grading outcome the way the job's record step does, without running the
sandbox; one runs the whole path (submit, job, sandbox, record) for real.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.labs.conftest import lab_file
from upskill.core.errors import Invalid, NotFound
from upskill.core.models import Job
from upskill.labs import services
from upskill.labs.models import Lab, LabPreference, Submission
from upskill.learning.models import PracticeAnswer

pytestmark = pytest.mark.django_db

GOOD_CODE = "def train(df):\n    return None\n\ndef predict(model, X):\n    return [0.5] * len(X)\n"


def notebook(*sources: str) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": source, "metadata": {}, "outputs": [],
         "execution_count": None} for source in sources]}).encode()


def result_for(submission: Submission, *, status: str = "graded", score: float = 0.85,
               private: float = 0.84, passed: bool = True) -> dict[str, Any]:
    """What the grading job returns, for a churn submission (one scored check, roc-auc)."""
    scored = {"id": "roc-auc", "title": "ROC AUC", "metric": "roc_auc", "label": "ROC AUC",
              "baseline": 0.8133, "baseline_name": "LR", "pass_score": 0.823,
              "higher_is_better": True, "message": "..."}
    graded = status == "graded"
    checks = [{"id": "runs", "title": "Your code runs", "passed": status != "failed",
               "message": "ran", "detail": ""}]
    return {
        "submission_id": submission.pk, "status": status, "message": "",
        "checks": checks,
        "public": [scored | {"score": score, "passed": passed}] if graded else [],
        "private": [scored | {"score": private, "passed": private >= 0.823}] if graded else [],
        "public_score": score if graded else None, "private_score": private if graded else None,
        "passed": passed if graded else None,
        "passed_checks": (["runs", "output-shape", "valid-values", "runtime"]
                          + (["roc-auc"] if passed else [])) if graded else [],
        "output_excerpt": "--- output ---\n<script>alert(1)</script>", "runtime_s": 2.5,
    }


def record(submission: Submission, **kwargs: Any) -> Submission:
    assert submission.job is not None
    services.record_grading(submission.job, result_for(submission, **kwargs))
    submission.refresh_from_db()
    return submission


class TestSubmitting:
    def test_a_submission_is_queued_with_one_grading_job(self, imported_labs, learner):
        submission = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        assert submission.status == Submission.Status.QUEUED and submission.job is not None
        assert submission.job.kind == services.GRADE_JOB
        assert submission.job.dedupe_key == f"labs.grade_submission:{submission.pk}"
        view = services.submission_status(learner, submission.pk)
        assert view.status == "queued" and not view.finished

    def test_a_notebook_is_graded_on_its_code_cells(self, imported_labs, learner):
        data = notebook("%matplotlib inline\nimport numpy as np", GOOD_CODE)
        submission = services.submit(learner, "telco-churn", data, "ipynb")
        assert submission.source_kind == "ipynb" and "def predict" in submission.code
        assert "# (not run in the grader) %matplotlib inline" in submission.code

    @pytest.mark.parametrize(("content", "kind", "message"), [
        (b"", "py", "The file is empty"),
        (b"   \n\n", "py", "The file is empty"),
        (b"# only a comment\n", "py", "no code to grade"),
        (b"x = 1\n" * 40_000, "py", "The file is 240 KB; the limit is 200 KB"),
        (b"#" * 50_000_000, "ipynb", "The notebook is 50.0 MB; the limit is 10.0 MB"),
        ("x = '\ud800'", "editor", "not UTF-8"),
        (b"print('caf\xe9')\n", "py", "not UTF-8 text (byte 0xe9 at position 11)"),
        (b"{\"cells\": [", "ipynb", "The notebook cannot be read: the notebook is not valid"),
        (json.dumps({"nbformat": 4, "cells": []}).encode(), "ipynb", "has no code cells"),
        (GOOD_CODE.encode(), "docx", "a .py file or a .ipynb notebook"),
    ])
    def test_bad_input_is_refused_clearly_and_earlier_work_stays(
            self, imported_labs, learner, content, kind, message):
        earlier = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        with pytest.raises(Invalid, match=message.replace("(", r"\(").replace(")", r"\)")):
            services.submit(learner, "telco-churn", content, kind)
        assert list(Submission.objects.values_list("pk", "code")) == [(earlier.pk, GOOD_CODE)]

    def test_a_syntax_error_is_reported_at_once_without_running_or_counting(
            self, imported_labs, learner):
        submission = services.submit(learner, "telco-churn",
                                     "def train(df)\n    return df\n", "py")
        assert submission.status == Submission.Status.FAILED and submission.job is None
        view = services.submission_status(learner, submission.pk)
        assert view.finished and view.checks[0]["passed"] is False
        assert "Syntax error at line 1" in view.checks[0]["message"]
        assert "does not count" in view.checks[0]["message"]
        assert all(check["passed"] is None for check in view.checks[1:])
        assert services.submissions_left_today(learner, "telco-churn") == 10

    def test_code_that_cannot_run_has_its_own_daily_cap(self, imported_labs, learner,
                                                         monkeypatch):
        monkeypatch.setattr(services, "MAX_REFUSED_PER_DAY", 2)
        for _ in range(2):
            services.submit(learner, "telco-churn", "def train(:\n", "editor")
        with pytest.raises(services.LimitReached, match="could not run"):
            services.submit(learner, "telco-churn", "def train(:\n", "editor")
        assert services.submit(learner, "telco-churn", GOOD_CODE, "editor").job is not None

    def test_missing_entry_points_are_named_before_running(self, imported_labs, learner):
        submission = services.submit(learner, "telco-churn", "def train(df):\n    pass\n",
                                     "editor")
        assert submission.status == Submission.Status.FAILED and submission.job is None
        assert "does not define predict()" in submission.feedback["checks"][0]["message"]

    def test_the_daily_limit_counts_only_what_ran_today(self, imported_labs, learner,
                                                        other_learner):
        Lab.objects.update(daily_limit=3)
        first = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        second = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        record(second, status="error")  # our fault: does not count
        third = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        assert third.job is not None
        Job.objects.filter(pk=third.job.pk).update(state=Job.State.FAILED)  # gave up: ours
        services.submit(learner, "telco-churn", "def train(:\n", "editor")  # syntax: free
        services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        with pytest.raises(services.LimitReached, match="all 3 submissions") as refused:
            services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        assert refused.value.status == 429 and "midnight UTC" in refused.value.detail
        assert services.submissions_left_today(other_learner, "telco-churn") == 3
        yesterday = timezone.now().astimezone(UTC) - timedelta(days=1)
        Submission.objects.filter(pk=first.pk).update(created_at=yesterday)
        assert services.submit(learner, "telco-churn", GOOD_CODE, "editor").pk

    def test_an_unknown_lab_is_not_found(self, imported_labs, learner):
        with pytest.raises(NotFound):
            services.submit(learner, "no-such-lab", GOOD_CODE, "editor")


class TestFollowing:
    def test_another_learners_submission_is_not_found(self, imported_labs, learner,
                                                      other_learner):
        mine = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        with pytest.raises(NotFound):
            services.submission_status(other_learner, mine.pk)
        assert services.history(other_learner, "telco-churn") == []
        assert [v.submission.pk for v in services.history(learner, "telco-churn")] == [mine.pk]

    def test_running_and_given_up_jobs_show_as_such(self, imported_labs, learner):
        submission = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        assert submission.job is not None
        Job.objects.filter(pk=submission.job.pk).update(state=Job.State.RUNNING)
        assert services.submission_status(learner, submission.pk).status == "running"
        Job.objects.filter(pk=submission.job.pk).update(state=Job.State.FAILED)
        view = services.submission_status(learner, submission.pk)
        assert view.status == "error" and "does not count" in view.message

    def test_private_scores_stay_hidden_until_the_window_opens(self, imported_labs, learner):
        submission = record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"))
        view = services.submission_status(learner, submission.pk)
        assert view.status == "graded" and view.public[0]["score"] == 0.85
        assert view.private is None
        assert services.leaderboard("telco-churn").final is None
        assert services.portfolio_items(learner)[0].private_score is None
        Lab.objects.update(private_visible_after=timezone.now() - timedelta(minutes=1))
        view = services.submission_status(learner, submission.pk)
        assert view.private is not None and view.private[0]["score"] == 0.84
        final = services.leaderboard("telco-churn").final
        assert final is not None and final[0].score == 0.84
        assert services.portfolio_items(learner)[0].private_score == 0.84

    def test_recording_twice_changes_nothing(self, imported_labs, learner):
        submission = record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"))
        graded_at = submission.graded_at
        assert submission.job is not None
        services.record_grading(submission.job, result_for(submission, score=0.99))
        submission.refresh_from_db()
        assert submission.public_score == 0.85 and submission.graded_at == graded_at
        assert PracticeAnswer.objects.filter(user=learner).count() == 3


class TestEvidence:
    def skills_evidence(self, user) -> list[tuple[str, bool]]:
        return sorted(PracticeAnswer.objects.filter(user=user, source="lab")
                      .values_list("skill__slug", "correct"))

    def test_a_pass_is_evidence_for_every_rubric_skill_once(self, imported_labs, learner):
        record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"))
        assert self.skills_evidence(learner) == [
            ("churn-prediction", True), ("classification-models", True),
            ("feature-engineering", True)]
        record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"))
        assert len(self.skills_evidence(learner)) == 3  # passing again adds nothing

    def test_a_score_below_the_mark_is_evidence_against(self, imported_labs, learner):
        record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"),
               score=0.80, passed=False)
        # classification-models needs runs and roc-auc; the others roc-auc alone.
        assert self.skills_evidence(learner) == [
            ("churn-prediction", False), ("classification-models", False),
            ("feature-engineering", False)]

    def test_failed_and_error_submissions_are_no_evidence(self, imported_labs, learner):
        record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"), status="failed")
        record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"), status="error")
        assert self.skills_evidence(learner) == []


class TestLeaderboard:
    def test_best_public_score_per_learner_with_opt_in_names(self, imported_labs, learner,
                                                             other_learner, make_user):
        third = make_user()
        record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"), score=0.83)
        record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"), score=0.86,
               private=0.80)
        record(services.submit(other_learner, "telco-churn", GOOD_CODE, "editor"), score=0.84,
               private=0.85)
        record(services.submit(third, "telco-churn", GOOD_CODE, "editor"), status="failed")
        services.set_leaderboard_preference(learner, show=True, public_name="  Ada   L. ")
        board = services.leaderboard("telco-churn", viewer=other_learner)
        assert [(e.rank, e.name, e.score, e.is_you) for e in board.public] == [
            (1, "Ada L.", 0.86, False), (2, services.ANONYMOUS, 0.84, True)]
        assert board.metric_label == "ROC AUC" and board.higher_is_better
        Lab.objects.update(private_visible_after=timezone.now() - timedelta(days=1))
        final = services.leaderboard("telco-churn").final
        # The private score of each learner's best public submission decides.
        assert [(e.name, e.score) for e in final] == [(services.ANONYMOUS, 0.85),
                                                      ("Ada L.", 0.80)]
        services.set_leaderboard_preference(learner, show=False)
        assert services.leaderboard("telco-churn").public[0].name == services.ANONYMOUS

    @pytest.mark.parametrize(("name", "message"), [("A", "2 to 60"), ("x" * 61, "2 to 60"),
                                                   ("bad\u200bname", "printable")])
    def test_a_public_name_must_be_reasonable(self, learner, name, message):
        with pytest.raises(Invalid, match=message):
            services.set_leaderboard_preference(learner, show=True, public_name=name)
        assert not LabPreference.objects.exists()

    def test_portfolio_lists_each_graded_lab_once_with_its_best_score(self, imported_labs,
                                                                       learner):
        record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"), score=0.80,
               passed=False)
        best = record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"), score=0.9)
        items = services.portfolio_items(learner)
        assert len(items) == 1 and items[0].submission.pk == best.pk
        assert items[0].passed and items[0].metric_label == "ROC AUC"
        assert set(items[0].skills) == set(best.lab.skills.values_list("name", flat=True))
        assert len(items[0].skills) == 3


class TestGradingUnavailable:
    @override_settings(LABS_SANDBOX_MODE="insecure-dev", DEBUG=False)
    def test_the_insecure_mode_is_refused_without_debug_and_nothing_runs(self, imported_labs,
                                                                         learner):
        submission = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
        result = services.grade_submission(submission.pk)
        assert result["status"] == "error" and "DEBUG is off" in result["message"]
        assert submission.job is not None
        services.record_grading(submission.job, result)
        submission.refresh_from_db()
        assert submission.status == "error" and not submission.counts_toward_limit
        assert "your code was not run" in submission.feedback["message"]


def test_without_bubblewrap_grading_refuses_and_nothing_runs(imported_labs, learner,
                                                             monkeypatch):
    monkeypatch.setenv("UPSKILL_SANDBOX_BWRAP", "/nonexistent/bwrap")
    submission = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
    result = services.grade_submission(submission.pk)
    assert result["status"] == "error" and result["checks"] == []
    assert "your code was not run" in result["message"]
    assert "bubblewrap is not installed" in result["message"]


def test_a_submission_deleted_before_grading_is_skipped(imported_labs, learner):
    submission = services.submit(learner, "telco-churn", GOOD_CODE, "editor")
    job = submission.job
    assert job is not None
    learner.delete()  # account deletion takes the learner's submissions with it
    result = services.grade_submission(submission.pk)
    assert result == {"submission_id": submission.pk, "status": "gone"}
    services.record_grading(job, result)
    assert not Submission.objects.exists() and not PracticeAnswer.objects.exists()


@pytest.mark.slow
def test_a_reference_solution_is_graded_end_to_end(imported_labs, learner, secure_sandbox,
                                                    grade):
    submission = services.submit(learner, "telco-churn", lab_file("telco-churn",
                                                                  "reference.py"), "py")
    submission = grade(submission)
    view = services.submission_status(learner, submission.pk)
    assert view.status == "graded", (view.message, view.checks, submission.output_excerpt)
    assert [check["passed"] for check in view.checks] == [True] * 4
    assert view.public[0]["passed"] and submission.passed
    assert submission.public_score > 0.823 and submission.private_score is not None
    assert view.private is None  # the window of the real lab is in the future
    assert PracticeAnswer.objects.filter(user=learner, source="lab", correct=True).count() == 3
    assert services.leaderboard("telco-churn", viewer=learner).public[0].is_you
    assert services.portfolio_items(learner)[0].submission.pk == submission.pk


def test_the_window_date_is_midnight_utc(imported_labs):
    lab = services.get_lab("telco-churn")
    assert lab.private_visible_after == datetime(2027, 6, 30, tzinfo=UTC)
    assert not services.private_visible(lab, datetime(2027, 6, 29, 23, 59, tzinfo=UTC))
    assert services.private_visible(lab, datetime(2027, 6, 30, tzinfo=UTC))
