"""``/api/v1/labs``: the same rules as the services, in the API's error shape."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.labs.test_services import GOOD_CODE, notebook, record
from upskill.labs import services
from upskill.labs.models import Lab, Submission

pytestmark = pytest.mark.django_db


def test_labs_are_listed_with_brief_licence_and_what_is_left_today(imported_labs, learner,
                                                                   client_for):
    client = client_for(learner)
    listed = client.get("/api/v1/labs").json()
    assert {lab["slug"] for lab in listed} == {"telco-churn", "card-fraud", "souvenir-demand"}
    detail = client.get("/api/v1/labs/card-fraud").json()
    assert detail["metric"] == "Average precision" and detail["higher_is_better"]
    assert "ODbL" in detail["licence"] and detail["submissions_left_today"] == 10
    assert client.get("/api/v1/labs/souvenir-demand").json()["higher_is_better"] is False
    starter = client.get("/api/v1/labs/telco-churn/starter/ipynb")
    assert starter.status_code == 200 and json.loads(starter.content)["nbformat"] == 4
    assert 'filename="telco-churn.ipynb"' in starter["Content-Disposition"]
    assert client.get("/api/v1/labs/nope").status_code == 404


def test_submitting_and_polling_only_my_own_submission(imported_labs, learner, other_learner,
                                                       client_for):
    response = client_for(learner).post("/api/v1/labs/telco-churn/submissions",
                                        {"code": GOOD_CODE}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["finished"] is False
    record(Submission.objects.get(pk=body["id"]))
    mine = client_for(learner).get(f"/api/v1/labs/submissions/{body['id']}").json()
    assert mine["status"] == "graded" and mine["public_score"] == 0.85
    assert mine["private"] is None and mine["private_score"] is None
    assert mine["output_excerpt"].endswith("<script>alert(1)</script>")  # plain text, as is
    other = client_for(other_learner).get(f"/api/v1/labs/submissions/{body['id']}")
    assert other.status_code == 404 and other.json()["error"] == "not_found"
    assert client_for(other_learner).get("/api/v1/labs/telco-churn/submissions").json() == []


def test_uploads_notebooks_and_refuses_oversized_files(imported_labs, learner, client_for):
    client = client_for(learner)
    upload = SimpleUploadedFile("work.ipynb", notebook(GOOD_CODE))
    response = client.post("/api/v1/labs/telco-churn/submissions/upload", {"file": upload})
    assert response.status_code == 201 and response.json()["source_kind"] == "ipynb"
    huge = SimpleUploadedFile("big.ipynb", b" " * 50_000_000)
    response = client.post("/api/v1/labs/telco-churn/submissions/upload", {"file": huge})
    assert response.status_code == 400
    assert response.json()["detail"] == "The notebook is 50.0 MB; the limit is 10.0 MB."
    wrong = SimpleUploadedFile("notes.txt", GOOD_CODE.encode())
    response = client.post("/api/v1/labs/telco-churn/submissions/upload", {"file": wrong})
    assert response.status_code == 400 and ".ipynb" in response.json()["detail"]
    assert Submission.objects.count() == 1


def test_the_daily_limit_answers_429(imported_labs, learner, client_for):
    Lab.objects.update(daily_limit=1)
    client = client_for(learner)
    url = "/api/v1/labs/telco-churn/submissions"
    assert client.post(url, {"code": GOOD_CODE}, content_type="application/json"
                       ).status_code == 201
    refused = client.post(url, {"code": GOOD_CODE}, content_type="application/json")
    assert refused.status_code == 429 and refused.json()["error"] == "throttled"


def test_leaderboard_preferences_and_portfolio(imported_labs, learner, client_for):
    client = client_for(learner)
    record(services.submit(learner, "telco-churn", GOOD_CODE, "editor"))
    response = client.put("/api/v1/labs/preferences",
                          {"show_on_leaderboard": True, "public_name": "Ada"},
                          content_type="application/json")
    assert response.json() == {"show_on_leaderboard": True, "public_name": "Ada"}
    board = client.get("/api/v1/labs/telco-churn/leaderboard").json()
    assert board["public"][0]["name"] == "Ada" and board["public"][0]["is_you"]
    assert board["final"] is None
    portfolio = client.get("/api/v1/labs/portfolio").json()
    assert portfolio[0]["lab"] == "telco-churn" and portfolio[0]["private_score"] is None


def test_anonymous_callers_are_refused(imported_labs, client):
    assert client.get("/api/v1/labs").status_code == 401
