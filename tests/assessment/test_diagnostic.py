"""The diagnostic item bank and the adaptive diagnostic, through services, pages and the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from tests.content_fixtures import bank_items, package_yaml, write
from upskill.accounts.models import User
from upskill.assessment import services
from upskill.assessment.models import DiagnosticAttempt, DiagnosticResponse, Item, SkillEstimate
from upskill.catalog import services as catalog
from upskill.core.errors import Conflict, Invalid, NotFound

pytestmark = pytest.mark.django_db

RIGHT = {"single": ["0"], "code": ["0"], "multi": ["0", "1"], "numeric": ["42"]}
WRONG = {"single": ["1"], "code": ["2"], "multi": ["0", "2"], "numeric": ["7"]}
EXPERIENCE = {"foundations": "some", "data": "some"}


@pytest.fixture
def bank(diagnostic_root: Path) -> Path:
    report = catalog.import_content(diagnostic_root)
    assert report.ok, report.problems
    return diagnostic_root


def answer_all(user: User, state: services.DiagnosticState, right: bool
               ) -> services.DiagnosticState:
    while not state.finished:
        assert state.question is not None
        answers = RIGHT if right else WRONG
        state = services.answer_item(user, state.attempt.pk, state.question.key,
                                     answers[state.question.kind])
    return state


class TestItemBankImport:
    def test_items_arrive_with_provisional_parameters_from_the_rating(self, bank):
        items = Item.objects.filter(in_bank=True)
        assert items.count() == 16
        assert set(items.values_list("kind", flat=True)) == {"single", "multi", "numeric",
                                                             "code"}
        easy = Item.objects.get(key="sql-querying-1")  # rating 1, single, 4 options
        assert easy.status == Item.Status.PROVISIONAL
        assert (easy.irt_a, easy.irt_b, easy.irt_c) == pytest.approx((1.0, -1.8, 0.25))
        numeric = Item.objects.get(key="sql-querying-3")
        assert numeric.irt_c == 0.0
        assert numeric.answer == {"value": 42.0, "tolerance": 0.5}
        code = Item.objects.get(key="sql-querying-4")
        assert "highlight" in code.code_html and "<code" in easy.stem_html

    def test_a_changed_question_loses_its_calibration_an_unchanged_one_keeps_it(self, bank):
        Item.objects.update(status=Item.Status.CALIBRATED, irt_a=1.7, irt_b=0.3, irt_c=0.1)
        items = bank / "diagnostic-bank" / "items" / "sql-querying.yaml"
        text = items.read_text().replace("Question 1 about", "Reworded question 1 about")
        text = text.replace("Because item 2 of", "Better explained, item 2 of")
        items.write_text(text)
        write(bank / "diagnostic-bank" / "package.yaml", package_yaml("diagnostic-bank", "1.1.0"))
        report = catalog.import_content(bank)
        assert report.ok and report.released == [("diagnostic-bank", "1.1.0")]
        changed = Item.objects.get(key="sql-querying-1")
        assert changed.status == Item.Status.PROVISIONAL and changed.irt_b == pytest.approx(-1.8)
        explained = Item.objects.get(key="sql-querying-2")
        assert explained.status == Item.Status.CALIBRATED and explained.irt_a == 1.7
        assert "Better explained" in explained.explanation_html

    def test_an_item_dropped_from_the_bank_leaves_it(self, bank):
        items = bank / "diagnostic-bank" / "items" / "sql-querying.yaml"
        items.write_text(bank_items("sql-querying", count=6))
        write(bank / "diagnostic-bank" / "package.yaml", package_yaml("diagnostic-bank", "1.1.0"))
        assert catalog.import_content(bank).ok
        assert not Item.objects.get(key="sql-querying-8").in_bank
        assert Item.objects.get(key="sql-querying-6").in_bank

    @pytest.mark.parametrize(("item", "field", "reason"), [
        ("kind: single\n  options: [A, B, C]\n  answer: 3", "answer", "only 3 options"),
        ("kind: multi\n  options: [A, B, C]\n  answer: [0, 1, 2]", "answer", "one wrong"),
        ("kind: numeric\n  options: [A, B, C]\n  answer: 3", "options", "no options"),
        ("kind: code\n  options: [A, B, C]\n  answer: 0", "code", "needs code"),
        ("kind: single\n  options: [A, A, C]\n  answer: 0", "options", "identical"),
        ("kind: numeric\n  answer: 3\n  difficulty: 9", "difficulty", "less than or equal"),
    ])
    def test_broken_items_are_reported_with_file_field_and_reason(
            self, diagnostic_root, item, field, reason):
        items = diagnostic_root / "diagnostic-bank" / "items" / "sql-querying.yaml"
        text = f"- id: broken-1\n  {item}\n  stem: Which?\n  explanation: Because.\n"
        if "difficulty" not in item:
            text += "  difficulty: 3\n"
        items.write_text(text)
        report = catalog.import_content(diagnostic_root)
        assert not report.ok and not Item.objects.exists()
        messages = [str(p) for p in report.problems]
        assert any("sql-querying.yaml" in m and field in m and reason in m for m in messages), (
            messages)

    def test_an_items_file_must_be_named_after_a_skill(self, diagnostic_root):
        write(diagnostic_root / "diagnostic-bank" / "items" / "no-such-skill.yaml",
              bank_items("no-such-skill", 1))
        report = catalog.import_content(diagnostic_root)
        assert any("unknown skill 'no-such-skill'" in str(p) for p in report.problems)


class TestDiagnostic:
    def test_a_strong_learner_is_measured_ready_and_a_weak_one_is_not(
            self, bank, learner, other_learner):
        strong = answer_all(learner, services.start_diagnostic(learner, "data-analyst",
                                                               EXPERIENCE), right=True)
        weak = answer_all(other_learner, services.start_diagnostic(
            other_learner, "data-analyst", EXPERIENCE), right=False)
        assert strong.attempt.stop_reason and weak.attempt.stop_reason
        high = SkillEstimate.objects.filter(user=learner)
        low = SkillEstimate.objects.filter(user=other_learner)
        assert high.count() == low.count() == 2
        assert min(e.theta for e in high) > 0.5 > -0.5 > max(e.theta for e in low)

    def test_never_the_same_item_twice_and_within_the_length_limits(self, bank, learner):
        state = answer_all(learner, services.start_diagnostic(learner, "data-analyst",
                                                              EXPERIENCE), right=True)
        keys = list(DiagnosticResponse.objects.filter(attempt=state.attempt)
                    .values_list("item__key", flat=True))
        assert len(keys) == len(set(keys)) == state.attempt.n_answered
        assert len(keys) <= services.POLICY["max_items"]

    def test_self_reported_experience_sets_where_the_test_starts(self, bank, make_user):
        def first_difficulty(level: str) -> float:
            user = make_user()
            state = services.start_diagnostic(user, "data-analyst",
                                              {"foundations": level, "data": level})
            assert state.question is not None
            return Item.objects.get(key=state.question.key).irt_b

        newcomers = [first_difficulty("none") for _ in range(6)]
        professionals = [first_difficulty("professional") for _ in range(6)]
        assert max(newcomers) < min(professionals)

    def test_leaving_and_coming_back_resumes_at_the_same_question(self, bank, learner):
        state = services.start_diagnostic(learner, "data-analyst", EXPERIENCE)
        assert state.question is not None
        state = services.answer_item(learner, state.attempt.pk, state.question.key,
                                     RIGHT[state.question.kind])
        again = services.start_diagnostic(learner, "data-analyst", EXPERIENCE)
        assert again.attempt.pk == state.attempt.pk
        assert again.question == state.question and again.answered == 1
        assert services.open_attempt(learner, "data-analyst").pk == state.attempt.pk

    def test_a_second_submission_of_the_same_question_changes_nothing(self, bank, learner):
        state = services.start_diagnostic(learner, "data-analyst", EXPERIENCE)
        assert state.question is not None
        key = state.question.key
        services.answer_item(learner, state.attempt.pk, key, RIGHT[state.question.kind])
        with pytest.raises(Conflict):
            services.answer_item(learner, state.attempt.pk, key, WRONG[state.question.kind])
        assert DiagnosticResponse.objects.filter(attempt=state.attempt).count() == 1

    def test_i_dont_know_is_recorded_as_not_correct(self, bank, learner):
        state = services.start_diagnostic(learner, "data-analyst", EXPERIENCE)
        assert state.question is not None
        services.answer_item(learner, state.attempt.pk, state.question.key, None)
        response = DiagnosticResponse.objects.get(attempt=state.attempt)
        assert response.response is None and response.correct is False

    @pytest.mark.parametrize(("kind", "raw", "message"), [
        ("single", ["9"], "not one of the options"),
        ("single", ["0", "1"], "Choose one option"),
        ("single", ["x"], "not one of the options"),
        ("numeric", ["forty"], "Type a number"),
        ("numeric", ["nan"], "Type a number"),
        ("multi", [], "Choose an answer"),
    ])
    def test_malformed_answers_are_refused_with_a_reason(self, kind, raw, message):
        with pytest.raises(Invalid, match=message):
            services.parse_response(kind, raw, 4)

    def test_numeric_answers_accept_commas_and_percent_signs(self):
        assert services.parse_response("numeric", ["62,5 %"], 0) == 62.5

    def test_finish_early_and_start_over(self, bank, learner):
        state = services.start_diagnostic(learner, "data-analyst", EXPERIENCE)
        with pytest.raises(Conflict):
            services.finish_diagnostic(learner, state.attempt.pk)
        assert state.question is not None
        services.answer_item(learner, state.attempt.pk, state.question.key,
                             RIGHT[state.question.kind])
        done = services.finish_diagnostic(learner, state.attempt.pk)
        assert done.finished and done.attempt.stop_reason == "finished_early"
        assert SkillEstimate.objects.filter(user=learner).count() == 2
        other = services.start_diagnostic(learner, "data-analyst", EXPERIENCE)
        services.abandon_diagnostic(learner, other.attempt.pk)
        assert services.open_attempt(learner) is None

    def test_unknown_role_or_experience_is_a_clear_error(self, bank, learner):
        with pytest.raises(NotFound):
            services.start_diagnostic(learner, "astronaut", {})
        with pytest.raises(Invalid, match="no skill area"):
            services.start_diagnostic(learner, "data-analyst", {"marketing": "some"})
        with pytest.raises(Invalid, match="none, some or professional"):
            services.start_diagnostic(learner, "data-analyst", {"data": "guru"})

    def test_one_learner_cannot_see_or_answer_anothers_diagnostic(
            self, bank, learner, other_learner):
        state = services.start_diagnostic(learner, "data-analyst", EXPERIENCE)
        assert state.question is not None
        with pytest.raises(NotFound):
            services.state_of(other_learner, state.attempt.pk)
        with pytest.raises(NotFound):
            services.answer_item(other_learner, state.attempt.pk, state.question.key, ["0"])
        with pytest.raises(NotFound):
            services.review(other_learner, state.attempt.pk)
        assert not DiagnosticResponse.objects.exists()


class TestPagesAndApi:
    def test_the_page_flow_never_sends_an_answer_key(self, bank, learner,
                                                    client_for: Callable[[User], Client]):
        client = client_for(learner)
        assert client.get("/diagnostic/").status_code == 200
        page = client.get("/diagnostic/data-analyst/")
        assert page.status_code == 200 and b"Start the diagnostic" in page.content
        missing = client.post("/diagnostic/data-analyst/", {"data": "some"})
        assert missing.status_code == 422 and b"Tell us your experience" in missing.content
        started = client.post("/diagnostic/data-analyst/", EXPERIENCE)
        assert started.status_code == 302
        url = started["Location"]
        for _ in range(40):
            page = client.get(url)
            if page.status_code == 302:
                break
            attempt = DiagnosticAttempt.objects.get(user=learner)
            item = attempt.current_item
            assert item is not None
            assert item.explanation_html.encode() not in page.content
            junk = client.post(url, {"item": item.key, "answer": ["nonsense"]})
            assert junk.status_code == 422 and b"answer-error" in junk.content
            client.post(url, {"item": item.key, "answer": RIGHT[item.kind]})
        assert page.status_code == 302 and "/my/skills/" in page["Location"]
        profile = client.get(page["Location"])
        assert profile.status_code == 200
        assert b'role="img"' in profile.content and b"In short" in profile.content
        attempt = DiagnosticAttempt.objects.get(user=learner)
        review = client.get(f"/diagnostic/attempts/{attempt.pk}/review/")
        # "(correct answer)" after an option, or "Correct answer: 42" for a numeric item
        assert review.status_code == 200 and b"orrect answer" in review.content

    def test_another_learners_attempt_is_404_on_pages_and_api(
            self, bank, learner, other_learner, client_for):
        state = services.start_diagnostic(learner, "data-analyst", EXPERIENCE)
        other = client_for(other_learner)
        assert other.get(f"/diagnostic/attempts/{state.attempt.pk}/").status_code == 404
        assert other.get(f"/api/v1/diagnostic/attempts/{state.attempt.pk}").status_code == 404

    def test_api_start_answer_resume_finish(self, bank, learner, client_for):
        client = client_for(learner)
        started = client.post("/api/v1/diagnostic/attempts", json.dumps(
            {"role": "data-analyst", "experience": EXPERIENCE}), content_type="application/json")
        assert started.status_code == 201, started.content
        body = started.json()
        question = body["question"]
        assert set(question) == {"item", "kind", "stem_html", "code_html", "options_html",
                                 "unit", "skill", "area"}
        url = f"/api/v1/diagnostic/attempts/{body['id']}"
        assert client.get(url).json()["question"] == question
        bad = client.post(url + "/answer", json.dumps({"item": question["item"],
                                                       "answer": ["zzz"]}),
                          content_type="application/json")
        assert bad.status_code == 400 and bad.json()["error"] == "invalid"
        while body["status"] == "in_progress":
            question = body["question"]
            reply = client.post(url + "/answer", json.dumps(
                {"item": question["item"], "answer": RIGHT[question["kind"]]}),
                content_type="application/json")
            assert reply.status_code == 200, reply.content
            body = reply.json()
        stale = client.post(url + "/answer", json.dumps({"item": question["item"],
                                                         "answer": ["0"]}),
                            content_type="application/json")
        assert stale.status_code == 409
        review = client.get(url + "/review").json()
        assert len(review) == body["answered"] and all(row["correct"] for row in review)
