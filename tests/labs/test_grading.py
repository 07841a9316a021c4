"""The pure grading module: metrics against scikit-learn, splits, reading learner code, and the
checks that turn a run's outputs into feedback. No database, no sandbox."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from upskill.catalog.packages import LAB_METRICS, LAB_VISIBLE_CHECKS
from upskill.labs import grading
from upskill.labs.grading import RunSummary, Truth

# Scores drawn from a few values, so ties (which the metrics must handle like sklearn) are
# common.
labels_and_scores = st.integers(min_value=2, max_value=60).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < len(y)),
    st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.9, 1.0]), min_size=n, max_size=n)))


class TestMetrics:
    @settings(max_examples=200, deadline=None)
    @given(labels_and_scores)
    def test_roc_auc_equals_sklearn_with_ties(self, data):
        y, scores = data
        assert grading.roc_auc(y, scores) == pytest.approx(roc_auc_score(y, scores))

    @settings(max_examples=200, deadline=None)
    @given(labels_and_scores)
    def test_average_precision_equals_sklearn_with_ties(self, data):
        y, scores = data
        assert grading.average_precision(y, scores) == pytest.approx(
            average_precision_score(y, scores))

    def test_metrics_refuse_a_holdout_with_one_class(self):
        with pytest.raises(ValueError, match="positive"):
            grading.roc_auc([0, 0, 0], [0.1, 0.2, 0.3])
        with pytest.raises(ValueError, match="positive"):
            grading.average_precision([0, 0], [0.1, 0.2])

    def test_cost_score_counts_missed_fraud_and_every_review(self):
        y = [1, 1, 0, 0]
        amount = [100.0, 10.0, 50.0, 5.0]
        # Reviewed when p * amount >= 20: the 100 fraud (cost 20) and the 50 legit one (cost 20);
        # the 10 fraud is missed (cost 10). At stake: 110.
        p = [0.5, 0.5, 0.5, 0.5]
        assert grading.cost_score(y, p, amount, 20.0) == pytest.approx(1 - (20 + 20 + 10) / 110)
        assert grading.cost_score(y, [0, 0, 0, 0], amount, 20.0) == 0.0
        assert grading.cost_score(y, [1, 1, 0, 0], amount, 5.0) == pytest.approx(1 - 10 / 110)

    def test_mase_scales_by_the_in_sample_seasonal_naive_error(self):
        history = np.array([1, 2, 3, 4, 3, 4, 5, 6], dtype=float)  # season 4: every step +2
        assert grading.mase([10, 10], [9, 12], history, season=4) == pytest.approx(1.5 / 2)
        with pytest.raises(ValueError, match="longer than the season"):
            grading.mase([1], [1], history[:4], season=4)

    def test_the_metric_registry_matches_the_content_schema(self):
        assert {name: m.kind for name, m in grading.METRICS.items()} == LAB_METRICS
        assert tuple(grading.VISIBLE_CHECKS) == LAB_VISIBLE_CHECKS
        assert grading.METRICS["mase"].higher_is_better is False
        assert grading.METRICS["cost_score"].needs_probabilities is True


class TestSplits:
    def test_uniforms_depend_only_on_seed_and_key(self):
        keys = [str(i) for i in range(100)]
        first = grading.row_uniforms(keys, "7:holdout")
        assert np.array_equal(first, grading.row_uniforms(keys, "7:holdout"))
        shuffled = grading.row_uniforms(keys[::-1], "7:holdout")[::-1]
        assert np.array_equal(first, shuffled)
        assert not np.array_equal(first, grading.row_uniforms(keys, "8:holdout"))
        assert ((first >= 0) & (first < 1)).all()

    @settings(max_examples=50, deadline=None)
    @given(st.lists(st.integers(0, 2), min_size=1, max_size=300),
           st.floats(0.05, 0.95), st.integers(0, 10**6))
    def test_stratified_pick_keeps_each_class_share(self, labels, fraction, seed):
        y = np.array(labels)
        picked = grading.stratified_pick(y, fraction, grading.row_uniforms(
            [str(i) for i in range(y.size)], str(seed)))
        for value in np.unique(y):
            members = y == value
            assert picked[members].sum() == round(fraction * members.sum())


class TestReadingCode:
    def notebook(self, cells: list[dict], nbformat: int = 4) -> bytes:
        return json.dumps({"nbformat": nbformat, "nbformat_minor": 5, "metadata": {},
                           "cells": cells}).encode()

    def test_code_cells_are_extracted_in_order_with_magics_commented_out(self):
        data = self.notebook([
            {"cell_type": "markdown", "source": ["# Title"]},
            {"cell_type": "code", "source": ["%matplotlib inline\n", "import numpy as np"]},
            {"cell_type": "code", "source": "!pip install x\ndef train(df):\n    return 1"},
        ])
        code = grading.extract_notebook_code(data)
        assert "# Title" not in code
        assert code.index("import numpy") < code.index("def train")
        assert "# In[2]" in code and "# In[3]" in code
        assert grading.syntax_problem(code) is None
        assert "# (not run in the grader) %matplotlib inline" in code

    @pytest.mark.parametrize(("data", "reason"), [
        (b"\xff\xfe not text", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "no list of cells"),
        (json.dumps({"nbformat": 3, "cells": []}).encode(), "nbformat 4"),
        (json.dumps({"nbformat": 4, "cells": [{"cell_type": "markdown", "source": "x"}]})
         .encode(), "no code cells"),
        (json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": 5}]}).encode(),
         "cell 1 has no readable source"),
    ])
    def test_a_malformed_notebook_says_why(self, data, reason):
        with pytest.raises(grading.NotebookError, match=reason):
            grading.extract_notebook_code(data)

    def test_syntax_problem_names_the_line(self):
        problem = grading.syntax_problem("x = 1\ndef train(df)\n    return df\n")
        assert problem is not None and problem.line == 2
        assert "line 2" in problem.describe() and "def train(df)" in problem.describe()
        assert grading.syntax_problem("x = 1\n") is None

    def test_missing_entry_points(self):
        code = "from helpers import predict\ndef train(df):\n    pass\n"
        assert grading.missing_entry_points(code, ("train", "predict")) == []
        assert grading.missing_entry_points("def train(df): pass", ("train", "predict")) == [
            "predict"]


RULES = grading.LabRules.from_spec({
    "kind": "classification", "runtime_limit_s": 10,
    "scored": [
        {"id": "ap", "title": "AP", "metric": "average_precision", "params": {},
         "baseline": {"name": "guess", "score": 0.5}, "pass_score": 0.6,
         "feedback": {"passed": "Well done.", "failed": "Try trees."}},
        {"id": "cost", "title": "Cost", "metric": "cost_score",
         "params": {"review_cost": 1.0, "amount_column": "Amount"},
         "baseline": {"name": "nothing", "score": 0.0}, "pass_score": None,
         "feedback": {"passed": "Saves money.", "failed": "Correct the probabilities."}},
    ]})
TRUTH = Truth(ids=("0", "1", "2", "3"), target=np.array([1.0, 0.0, 1.0, 0.0]),
              public=np.array([True, True, False, False]),
              columns={"Amount": np.array([10.0, 10.0, 10.0, 10.0])})
OK_RUN = RunSummary(exit_code=0, killed_by=None, message="the program finished normally",
                    wall_seconds=2.0, stdout="training...\n")


def outputs(predictions: str, report: dict | None = None) -> dict[str, bytes]:
    files = {"predictions.csv": predictions.encode()}
    files["report.json"] = json.dumps(report or {"status": "ok", "timings": {"train": 0.5}}
                                      ).encode()
    return files


class TestGrade:
    def test_good_predictions_are_scored_on_both_parts_and_passed_on_public(self):
        result = grading.grade(OK_RUN, outputs("id,prediction\n0,0.9\n1,0.1\n2,0.2\n3,0.8\n"),
                               TRUTH, RULES)
        assert result.status == "graded"
        assert [c.passed for c in result.checks] == [True, True, True, True]
        # Public rows 0 and 1: both have p * 10 >= 1, so both are reviewed (cost 2 of 10).
        assert [s.score for s in result.public] == [1.0, pytest.approx(1 - 2 / 10)]
        assert result.public[0].passed and "Well done." in result.public[0].message
        assert result.private[0].score == pytest.approx(0.5)  # the fraud scored below the legit
        assert result.public_score == 1.0 and result.private_score == pytest.approx(0.5)
        assert result.passed and result.passed_checks() >= {"runs", "ap", "cost"}

    @pytest.mark.parametrize(("csv", "check", "message"), [
        ("id,prediction\n0,0.9\n1,0.1\n2,0.2\n", "output-shape", "Expected 4 predictions"),
        ("id,prediction\n1,0.9\n0,0.1\n2,0.2\n3,0.1\n", "output-shape", "expected '0'"),
        ("prediction\n0.9\n0.1\n0.2\n0.1\n", "output-shape", "header id,prediction"),
        ("id,prediction\n0,high\n1,0.1\n2,0.2\n3,0.1\n", "output-shape", "not a number"),
        ("id,prediction\n0,nan\n1,0.1\n2,0.2\n3,0.1\n", "valid-values", "1 predictions are"),
        ("id,prediction\n0,3.5\n1,0.1\n2,0.2\n3,0.1\n", "valid-values", "between 0 and 1"),
    ])
    def test_bad_predictions_fail_a_visible_check_and_are_not_scored(self, csv, check, message):
        result = grading.grade(OK_RUN, outputs(csv), TRUTH, RULES)
        failed = next(c for c in result.checks if c.passed is False)
        assert result.status == "failed" and not result.public and not result.private
        assert failed.id == check and message in failed.message
        assert all(c.passed is None for c in result.checks[result.checks.index(failed) + 1:])

    def test_an_exception_in_the_learners_code_is_explained_with_their_frames(self):
        report = {"status": "error", "stage": "train", "error": {
            "type": "KeyError", "message": "'tenure'", "line": 7,
            "traceback": "line 7, in train\n    df['tenure']\nKeyError: 'tenure'\x1b[31m"}}
        result = grading.grade(RunSummary(1, None, "exited with status 1", 1.0),
                               outputs("", report), TRUTH, RULES)
        runs = result.checks[0]
        assert result.status == "failed" and runs.passed is False
        assert runs.message == "train(df) failed (line 7 of your code): KeyError: 'tenure'"
        assert "\x1b" not in runs.detail and "line 7, in train" in runs.detail

    def test_a_limit_is_named_with_what_to_try(self):
        run = RunSummary(None, "memory", "memory limit of 1024 MB exceeded", 3.0)
        result = grading.grade(run, {}, TRUTH, RULES)
        assert "memory limit of 1024 MB exceeded" in result.checks[0].message
        assert "float32" in result.checks[0].message

    def test_outputs_the_grader_refused_are_a_failed_run(self):
        result = grading.grade(OK_RUN, "out/predictions.csv is a symbolic link", TRUTH, RULES)
        assert result.checks[0].passed is False and "symbolic link" in result.checks[0].message

    def test_over_the_time_budget_fails_the_runtime_check(self):
        slow = RunSummary(0, None, "ok", wall_seconds=11.0)
        result = grading.grade(slow, outputs("id,prediction\n0,1\n1,0\n2,1\n3,0\n"), TRUTH,
                               RULES)
        assert result.status == "failed" and result.checks[3].passed is False
        assert "over the budget of 10 s" in result.checks[3].message

    def test_a_forged_report_does_not_replace_missing_predictions(self):
        forged = {"report.json": b'{"status": "ok"}'}
        result = grading.grade(OK_RUN, forged, TRUTH, RULES)
        assert result.status == "failed" and "no predictions were written" in (
            result.checks[0].message)

    def test_the_output_excerpt_is_capped_and_free_of_control_characters(self):
        run = RunSummary(0, None, "ok", 1.0, stdout="x" * 10_000 + "\x1b[2Jend\x07",
                         stderr="Warning\n", stdout_truncated=True)
        excerpt = grading.output_excerpt(run, limit=1000)
        assert len(excerpt) < 1100 and excerpt.count("x") <= 500
        assert "end" in excerpt and "\x1b" not in excerpt and "\x07" not in excerpt
        assert "--- errors ---\nWarning" in excerpt and "(shortened)" in excerpt
