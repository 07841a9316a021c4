"""Certification exam pages and ``/api/v1/exams``: both form kinds end to end, privacy between
candidates, the no-JavaScript and htmx paths, conflicts and junk, and the key scan: nothing
sent before an attempt is finished carries an item's key, explanation or original option order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.content_fixtures import exam_yaml, write_exam_bank
from upskill.accounts.models import Profile, User
from upskill.assessment import certification
from upskill.assessment.models import (
    Exam,
    ExamAttempt,
    ExamForm,
    ExamResponse,
    IntegrityEvent,
    Item,
)
from upskill.catalog import services as catalog

pytestmark = pytest.mark.django_db

PROGRAM = "data-analyst-certificate"
JSON = "application/json"
FIXED_LENGTH = 8
# Field names that would give an answer away if a response before the end carried them.
SECRET_FIELDS = {"answer", "key", "correct", "explanation", "explanation_html", "option_order",
                 "is_key", "expected"}


@pytest.fixture(autouse=True)
def _quick_exam_preparation(quick_exam_preparation: None) -> None:
    """The expected-consistency simulation is not what these tests look at."""


def import_exam(root: Path, form: str) -> Exam:
    text = (exam_yaml(form=form, min_items=FIXED_LENGTH, max_items=FIXED_LENGTH)
            if form == "fixed" else exam_yaml(form=form))
    write_exam_bank(root, text)
    report = catalog.import_content(root)
    assert report.ok, report.problems
    certification.prepare_exam(Exam.objects.get().pk)
    return Exam.objects.get()


@pytest.fixture(params=["fixed", "adaptive"])
def exam(request: pytest.FixtureRequest, content_root: Path) -> Exam:
    return import_exam(content_root, request.param)


@pytest.fixture
def fixed_exam(content_root: Path) -> Exam:
    return import_exam(content_root, "fixed")


@pytest.fixture
def adaptive_exam(content_root: Path) -> Exam:
    return import_exam(content_root, "adaptive")


# --- answering on purpose, through the candidate's shuffled options ------------------------

def on_screen(attempt_id: int) -> ExamResponse:
    attempt = ExamAttempt.objects.get(pk=attempt_id)
    return ExamResponse.objects.select_related("item").get(attempt=attempt,
                                                          position=attempt.position)


def shown_slots(response: ExamResponse, originals: list[int]) -> list[str]:
    return [str(list(response.option_order).index(original)) for original in originals]


def right_answer(response: ExamResponse) -> list[str]:
    """The fixture items' keys: original option 0 (single, code), 0 and 1 (multi), 42."""
    kind = response.item.kind
    if kind == Item.Kind.NUMERIC:
        return ["42"]
    return shown_slots(response, [0, 1] if kind == Item.Kind.MULTI else [0])


def wrong_answer(response: ExamResponse) -> list[str]:
    return ["7"] if response.item.kind == Item.Kind.NUMERIC else shown_slots(response, [2])


def positions_of_kind(form: ExamForm, kind: str) -> list[int]:
    kinds = dict(Item.objects.filter(pk__in=form.item_ids).values_list("pk", "kind"))
    return [p for p, item_id in enumerate(form.item_ids, 1) if kinds[item_id] == kind]


def start_showing(client: Client, learner: User, kind: str) -> int:
    """Start a fixed form that has an item of ``kind`` (candidates get one of the parallel
    forms at random) and put that item on screen."""
    forms = ExamForm.objects.filter(active=True)
    chosen = next(form for form in forms if positions_of_kind(form, kind))
    forms.exclude(pk=chosen.pk).update(active=False)
    attempt_id = start_in_pages(client)
    certification.move_to(learner, attempt_id, positions_of_kind(chosen, kind)[0])
    return attempt_id


# --- what must never leave the server before the end ----------------------------------------

def field_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for name, inner in value.items():
            yield name
            yield from field_names(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from field_names(inner)


def assert_no_secret_fields(body: Any) -> None:
    leaked = {name for name in field_names(body)
              if name in SECRET_FIELDS or name.startswith("irt_")}
    assert not leaked, leaked


def assert_item_kept_secret(content: bytes, response: ExamResponse) -> None:
    """No explanation, and the options (if any) only in this candidate's shuffled order."""
    item = response.item
    text = content.decode()
    assert item.explanation_html.strip() not in text
    assert "Because item" not in text  # the fixture's explanations all start so
    if item.options_html:
        shown = [item.options_html[i] for i in response.option_order]
        positions = [text.index(f"<span>{html}</span>") for html in shown]
        assert positions == sorted(positions), (shown, response.option_order)


def assert_api_item_kept_secret(body: dict[str, Any], response: ExamResponse) -> None:
    assert_no_secret_fields(body)
    assert response.item.explanation_html.strip() not in json.dumps(body)
    question = body["question"]
    assert question["item"] == response.item.key
    assert question["options_html"] == [response.item.options_html[i]
                                        for i in response.option_order]


# --- pages ----------------------------------------------------------------------------------

def sitting_url(attempt_id: int) -> str:
    return f"/exams/attempts/{attempt_id}/"


def start_in_pages(client: Client) -> int:
    started = client.post(f"/exams/{PROGRAM}/start/")
    assert started.status_code == 302, started.content
    match = re.fullmatch(r"/exams/attempts/(\d+)/", started["Location"])
    assert match, started["Location"]
    return int(match.group(1))


def form_of(response: ExamResponse, answer: list[str], **buttons: str) -> dict[str, Any]:
    return {"position": response.position, "item": response.item.key, "answer": answer,
            **buttons}


def test_pages_need_login(client: Client, fixed_exam: Exam, learner: User) -> None:
    attempt = certification.start_exam(learner, PROGRAM)
    for url in ["/exams/", f"/exams/{PROGRAM}/", sitting_url(attempt.pk),
                f"/exams/attempts/{attempt.pk}/review/", f"/exams/attempts/{attempt.pk}/report/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/account/login/" in response["Location"], url
    for url in [f"/exams/{PROGRAM}/start/", f"/exams/attempts/{attempt.pk}/save/",
                f"/exams/attempts/{attempt.pk}/finish/", f"/exams/attempts/{attempt.pk}/signal/"]:
        assert "/account/login/" in client.post(url)["Location"], url
    assert ExamAttempt.objects.get().status == ExamAttempt.Status.IN_PROGRESS


def test_list_and_overview_say_what_the_exam_is(exam: Exam, learner: User,
                                                client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    listing = client.get("/exams/").content.decode()
    assert "Data analyst certification exam" in listing and "Data analyst certificate" in listing
    assert "30 minutes" in listing
    page = client.get(f"/exams/{PROGRAM}/").content.decode()
    if exam.form_kind == "fixed":
        assert "8 questions" in listing and "Fixed" in listing
        assert "8 questions. You can move between them" in page
    else:
        assert "6 to 12 questions" in listing and "Adaptive" in listing
        assert "6 to 12, one at a time" in page and "it is 95% sure" in page
    assert re.search(r"Reading data</th><td>40%</td><td>Data literacy", page)
    assert re.search(r"Querying data</th><td>60%</td><td>Querying data with SQL", page)
    consistency = round(Exam.objects.get().classification["expected_consistency"] * 100)
    assert f"Expected decision consistency: {consistency}%" in page
    assert "How the passing standard was set</summary>" in page
    assert "Three test authors rated each item independently." in page
    assert "never fail anyone automatically" in page
    assert "3 of 3 in any 365 days" in page and "14 days after a finished attempt" in page
    assert "Start the exam" in page and "extended-time" not in page


def test_extended_time_is_stated_and_applied(fixed_exam: Exam, learner: User,
                                             client_for: Callable[[User], Client]) -> None:
    Profile.objects.filter(user=learner).update(exam_time_multiplier="1.50")
    client = client_for(learner)
    page = client.get(f"/exams/{PROGRAM}/").content.decode()
    assert "Your extended-time accommodation (×1.5) is applied: 45 minutes" in page
    attempt_id = start_in_pages(client)
    assert "45 min left" in client.get(sitting_url(attempt_id)).content.decode()


def test_missing_labs_block_the_start_with_links(fixed_exam: Exam, learner: User,
                                                client_for: Callable[[User], Client]) -> None:
    Exam.objects.update(eligible_labs=["telco-churn"])
    client = client_for(learner)
    page = client.get(f"/exams/{PROGRAM}/").content.decode()
    assert "Pass the program&#x27;s labs first: telco-churn." in page
    assert 'href="/labs/telco-churn/"' in page and "Start the exam" not in page
    refused = client.post(f"/exams/{PROGRAM}/start/", follow=True)
    assert refused.status_code == 200 and b"labs first" in refused.content
    assert not ExamAttempt.objects.exists()


def test_a_full_sitting_in_pages_never_shows_a_key(exam: Exam, learner: User,
                                                 client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    left_blank = 2  # fixed form: leave one question unanswered, to see it listed in the review
    for _step in range(40):
        page = client.get(sitting_url(attempt_id))
        if page.status_code == 302:
            break
        assert page.status_code == 200
        response = on_screen(attempt_id)
        assert_item_kept_secret(page.content, response)
        assert 'role="timer"' in page.content.decode()
        state = certification.state_of(learner, attempt_id)
        answer = [] if response.position == left_blank and not state.adaptive \
            else right_answer(response)
        if state.adaptive:
            assert f"Question {response.position} (at most 12)" in page.content.decode()
            buttons = {"action": "next"}
        else:
            assert f"Question {response.position} of {FIXED_LENGTH}" in page.content.decode()
            assert "not answered" in page.content.decode()  # the navigator says it in words
            last = response.position == FIXED_LENGTH
            buttons = {"action": "review"} if last else {"go": str(response.position + 1)}
        moved = client.post(sitting_url(attempt_id), form_of(response, answer, **buttons))
        assert moved.status_code == 302, moved.content
        if not state.adaptive and response.position == FIXED_LENGTH:
            assert moved["Location"].endswith("/review/")
            review = client.get(moved["Location"]).content.decode()
            assert "You have answered 7 of 8 questions." in review
            assert re.search(rf"Go to </span>Question {left_blank}<", review)
            client.post(f"/exams/attempts/{attempt_id}/finish/")
    attempt = ExamAttempt.objects.get(pk=attempt_id)
    assert attempt.status == ExamAttempt.Status.FINISHED
    after = client.get(sitting_url(attempt_id))
    assert after.status_code == 302 and after["Location"].endswith("/report/")
    report = client.get(after["Location"]).content.decode()
    assert 'class="decision-word">PASS<' in report and "500 is the passing standard" in report
    assert re.search(r"Your score: <strong>\d{3}</strong> \(likely range \d{3}–\d{3}\)", report)
    assert "Reading data" in report and "Querying data" in report
    assert re.search(r"(Strength|On track|Work on this)</strong>", report)
    assert "expected decision consistency" in report
    for response in ExamResponse.objects.filter(attempt=attempt).select_related("item"):
        assert response.item.stem_html not in report
        assert response.item.explanation_html not in report


def test_a_weak_candidate_gets_not_yet_with_lessons(adaptive_exam: Exam, learner: User,
                                                   client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    for _step in range(20):
        if ExamAttempt.objects.get(pk=attempt_id).status == ExamAttempt.Status.FINISHED:
            break
        response = on_screen(attempt_id)
        client.post(sitting_url(attempt_id),
                    form_of(response, wrong_answer(response), action="next"))
    report = client.get(f"/exams/attempts/{attempt_id}/report/").content.decode()
    assert 'class="decision-word">NOT YET<' in report and "Work on this" in report
    assert 'href="/courses/sql-basics/where-clause/"' in report
    assert "stopped as soon as it was sure" in report or "maximum number" in report
    overview = client.get(f"/exams/{PROGRAM}/").content.decode()
    assert f'href="/exams/attempts/{attempt_id}/report/"' in overview
    assert "Not yet passed" in overview and "2 of 3" in overview and "next attempt from" in overview


def test_a_full_sitting_through_the_api_never_sends_a_key(
        exam: Exam, learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    listing = client.get("/api/v1/exams")
    assert listing.status_code == 200 and listing.json()[0]["program"] == PROGRAM
    overview = client.get(f"/api/v1/exams/{PROGRAM}")
    assert overview.status_code == 200 and overview.json()["eligible"] is True
    for body in (listing.json(), overview.json()):
        assert_no_secret_fields(body)
    started = client.post(f"/api/v1/exams/{PROGRAM}/attempts")
    assert started.status_code == 201, started.content
    body = started.json()
    url = f"/api/v1/exams/attempts/{body['id']}"
    assert client.post(f"/api/v1/exams/{PROGRAM}/attempts").json()["id"] == body["id"]
    for _step in range(40):
        if body["status"] == "finished":
            break
        response = on_screen(body["id"])
        assert_api_item_kept_secret(body, response)
        answer = {"position": body["position"], "item_key": body["question"]["item"],
                  "answer": right_answer(response)}
        saved = client.put(url + "/answer", json.dumps(answer), content_type=JSON)
        assert saved.status_code == 200, saved.content
        assert_api_item_kept_secret(saved.json(), response)
        assert saved.json()["question"]["saved"] == sorted(answer["answer"]) or \
            response.item.kind == Item.Kind.NUMERIC
        again = client.get(url).json()
        assert again["question"] == saved.json()["question"]  # a reload shows the saved answer
        assert again["seconds_left"] <= body["seconds_left"]
        if body["form"] == "adaptive":
            moved = client.post(url + "/next", json.dumps(
                {"position": body["position"], "item_key": body["question"]["item"]}),
                content_type=JSON)
        elif body["position"] < body["length"]:
            moved = client.post(url + "/move", json.dumps({"position": body["position"] + 1}),
                                content_type=JSON)
            assert [e["answered"] for e in moved.json()["navigator"]][:body["position"]] == \
                [True] * body["position"]
        else:
            moved = client.post(url + "/finish")
        assert moved.status_code == 200, moved.content
        body = moved.json()
        assert_no_secret_fields(body)
    assert body["status"] == "finished" and body["question"] is None
    report = client.get(url + "/report")
    assert report.status_code == 200, report.content
    result = report.json()
    assert result["passed"] is True and result["passing_score"] == 500
    assert result["scale_low"] <= result["scale_score"] <= result["scale_high"]
    assert {area["name"] for area in result["areas"]} == {"Reading data", "Querying data"}
    text = report.content.decode()
    assert "stem_html" not in text and "Because item" not in text


def test_the_report_waits_for_the_end(fixed_exam: Exam, learner: User,
                                      client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    assert client.get(f"/api/v1/exams/attempts/{attempt_id}/report").status_code == 409
    page = client.get(f"/exams/attempts/{attempt_id}/report/", follow=True)
    assert page.status_code == 200 and b"ready when the exam is finished" in page.content


# --- another candidate's attempt ----------------------------------------------------------

def test_another_candidates_attempt_is_404_on_every_page_and_endpoint(
        exam: Exam, learner: User, other_learner: User,
        client_for: Callable[[User], Client]) -> None:
    attempt = certification.start_exam(learner, PROGRAM)
    response = on_screen(attempt.pk)
    other = client_for(other_learner)
    base = sitting_url(attempt.pk)
    form = form_of(response, right_answer(response), action="next", go="2")
    pages = [("get", base, {}), ("post", base, form), ("post", base + "save/", form),
             ("post", base + "move/", {"go": "2"}), ("get", base + "review/", {}),
             ("post", base + "finish/", {}), ("get", base + "report/", {}),
             ("post", base + "signal/", {"kind": "focus_lost"})]
    for method, url, data in pages:
        answer = getattr(other, method)(url, data)
        assert answer.status_code == 404, (method, url, answer.status_code)
    api = f"/api/v1/exams/attempts/{attempt.pk}"
    answer_body = {"position": 1, "item_key": response.item.key, "answer": ["0"]}
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
             ("get", api, None), ("put", api + "/answer", answer_body),
             ("post", api + "/next", {"position": 1, "item_key": response.item.key}),
             ("post", api + "/move", {"position": 2}), ("post", api + "/finish", None),
             ("post", api + "/signals", {"kind": "paste"}), ("get", api + "/report", None)]
    for method, url, body in calls:
        kwargs: dict[str, Any] = {} if body is None else {
            "data": json.dumps(body), "content_type": JSON}
        answer = getattr(other, method)(url, **kwargs)
        assert answer.status_code == 404, (method, url, answer.content)
        assert answer.json()["error"] == "not_found"
        assert response.item.key not in answer.content.decode()
    attempt.refresh_from_db()
    assert attempt.status == ExamAttempt.Status.IN_PROGRESS and attempt.position == 1
    assert ExamResponse.objects.get(pk=response.pk).response is None
    assert not IntegrityEvent.objects.exists()


# --- saving: without JavaScript and with htmx ------------------------------------------------

def test_without_javascript_save_redirects_back_with_the_answer_kept(
        exam: Exam, learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    response = on_screen(attempt_id)
    answer = right_answer(response)
    saved = client.post(sitting_url(attempt_id), form_of(response, answer, action="save"))
    assert saved.status_code == 302 and saved["Location"] == sitting_url(attempt_id)
    page = client.get(saved["Location"]).content.decode()
    assert re.search(r"Saved at \d\d:\d\d\.", page) and "Your answer is saved." in page
    if response.item.kind == Item.Kind.NUMERIC:
        assert 'value="42"' in page
    else:
        for slot in answer:
            assert re.search(rf'value="{slot}"[^>]* checked', page), slot
    assert ExamResponse.objects.get(pk=response.pk).response is not None


def test_htmx_autosave_answers_with_the_status_fragment(
        fixed_exam: Exam, learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    response = on_screen(attempt_id)
    url = f"/exams/attempts/{attempt_id}/save/"
    saved = client.post(url, form_of(response, right_answer(response)), HTTP_HX_REQUEST="true")
    assert saved.status_code == 200
    fragment = saved.content.decode().strip()
    assert re.fullmatch(r"Saved at \d\d:\d\d\.", fragment), fragment
    stored = ExamResponse.objects.get(pk=response.pk).response
    assert stored == (42.0 if response.item.kind == "numeric"
                      else [0, 1] if response.item.kind == "multi" else 0)
    junk = client.post(url, form_of(response, ["not a thing"]), HTTP_HX_REQUEST="true")
    assert junk.status_code == 200 and 'class="form-errors"' in junk.content.decode()
    assert ExamResponse.objects.get(pk=response.pk).response == stored
    plain = client.post(url, form_of(response, right_answer(response)))
    assert plain.status_code == 302 and plain["Location"] == sitting_url(attempt_id)


def test_the_sitting_page_loads_its_script_and_reports_signals(
        fixed_exam: Exam, learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    page = client.get(sitting_url(attempt_id)).content.decode()
    assert re.search(r'<script src="[^"]*upskill/exam\.js" defer>', page)
    assert f'data-signal-url="/exams/attempts/{attempt_id}/signal/"' in page
    assert f'hx-post="/exams/attempts/{attempt_id}/save/"' in page
    signal = client.post(f"/exams/attempts/{attempt_id}/signal/",
                         {"kind": "focus_lost", "position": "1"})
    assert signal.status_code == 204
    event = IntegrityEvent.objects.get()
    assert (event.kind, event.position) == ("focus_lost", 1)
    assert client.post(f"/exams/attempts/{attempt_id}/signal/",
                       {"kind": "cheated"}).status_code == 400
    api = client.post(f"/api/v1/exams/attempts/{attempt_id}/signals",
                      json.dumps({"kind": "paste", "position": 1}), content_type=JSON)
    assert api.status_code == 204 and IntegrityEvent.objects.count() == 2
    assert ExamAttempt.objects.get().status == ExamAttempt.Status.IN_PROGRESS


# --- conflicts and junk ------------------------------------------------------------------------

def test_a_stale_tab_gets_a_message_and_the_current_question(
        adaptive_exam: Exam, learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    first = on_screen(attempt_id)
    form = form_of(first, right_answer(first), action="next")
    assert client.post(sitting_url(attempt_id), form).status_code == 302
    second = on_screen(attempt_id)
    assert second.position == 2
    stale = client.post(sitting_url(attempt_id), form, follow=True)
    assert stale.status_code == 200
    assert b"no longer on screen" in stale.content or b"already answered" in stale.content
    assert f'value="{second.item.key}"'.encode() in stale.content
    htmx = client.post(f"/exams/attempts/{attempt_id}/save/", form, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 409 and htmx["HX-Redirect"] == sitting_url(attempt_id)
    api = client.post(f"/api/v1/exams/attempts/{attempt_id}/next", json.dumps(
        {"position": 1, "item_key": first.item.key}), content_type=JSON)
    assert api.status_code == 409 and api.json()["error"] == "conflict"
    assert on_screen(attempt_id).position == 2
    back = client.post(f"/api/v1/exams/attempts/{attempt_id}/move",
                       json.dumps({"position": 1}), content_type=JSON)
    assert back.status_code == 409  # an adaptive exam never goes back


def test_time_up_submits_the_saved_answers_and_says_so(
        fixed_exam: Exam, learner: User, client_for: Callable[[User], Client],
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    response = on_screen(attempt_id)
    client.post(sitting_url(attempt_id), form_of(response, right_answer(response)))
    later = timezone.now() + timedelta(minutes=31)
    monkeypatch.setattr(certification, "now", lambda: later)
    late = client.post(sitting_url(attempt_id), form_of(response, wrong_answer(response)),
                       follow=True)
    assert late.status_code == 200 and late.redirect_chain[-1][0].endswith("/report/")
    page = late.content.decode()
    assert "Time is up" in page and "Time ran out" in page
    attempt = ExamAttempt.objects.get(pk=attempt_id)
    assert attempt.finish_reason == ExamAttempt.Finish.TIME_EXPIRED
    assert attempt.n_correct == 1  # the answer saved in time, not the late one


def test_a_finished_attempt_refuses_more_answers_politely(
        fixed_exam: Exam, learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_in_pages(client)
    response = on_screen(attempt_id)
    assert client.post(f"/exams/attempts/{attempt_id}/finish/").status_code == 302
    again = client.post(f"/exams/attempts/{attempt_id}/finish/")
    assert again.status_code == 302 and again["Location"].endswith("/report/")
    late = client.post(sitting_url(attempt_id), form_of(response, right_answer(response)),
                       follow=True)
    assert late.status_code == 200 and b"This exam attempt is finished." in late.content
    assert late.redirect_chain[-1][0].endswith("/report/")
    assert client.get(f"/exams/attempts/{attempt_id}/review/")["Location"].endswith("/report/")


@pytest.mark.parametrize(("field", "value", "message", "saved"), [
    ("answer", ["forty"], "Type a number", None),
    ("answer", ["nan"], "Type a number", None),
    ("go", "99", "There is no question 99", 42.0),  # the answer is kept, the move refused
    ("position", "abc", "not part of this exam", None),
])
def test_junk_in_the_sitting_form_gets_a_message(
        fixed_exam: Exam, learner: User, client_for: Callable[[User], Client],
        field: str, value: Any, message: str, saved: float | None) -> None:
    client = client_for(learner)
    attempt_id = start_showing(client, learner, "numeric")
    response = on_screen(attempt_id)
    form = {**form_of(response, ["42"], action="save"), field: value}
    page = client.post(sitting_url(attempt_id), form)
    assert page.status_code == 422 and message in page.content.decode()
    assert 'id="answer-error"' in page.content.decode()
    assert ExamResponse.objects.get(pk=response.pk).response == saved
    assert on_screen(attempt_id).pk == response.pk


def test_an_option_that_is_not_there_is_refused(
        fixed_exam: Exam, learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    attempt_id = start_showing(client, learner, "single")
    response = on_screen(attempt_id)
    page = client.post(sitting_url(attempt_id), form_of(response, ["9"], action="save"))
    assert page.status_code == 422 and b"not one of the options" in page.content
    url = f"/api/v1/exams/attempts/{attempt_id}"
    api = client.put(url + "/answer", json.dumps(
        {"position": response.position, "item_key": response.item.key, "answer": ["9"]}),
        content_type=JSON)
    assert api.status_code == 400 and api.json()["error"] == "invalid"
    far = client.post(url + "/move", json.dumps({"position": 99}), content_type=JSON)
    assert far.status_code == 400 and "no question 99" in far.json()["detail"]
    zero = client.post(url + "/move", json.dumps({"position": 0}), content_type=JSON)
    assert zero.status_code == 422
    assert ExamResponse.objects.get(pk=response.pk).response is None
