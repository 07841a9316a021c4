"""Lab pages: browsing, submitting (and being refused clearly), following grading,
leaderboards and the portfolio, as a learner's browser sees them (no JavaScript)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.labs.test_services import GOOD_CODE, notebook, record
from upskill.labs import services
from upskill.labs.models import Submission

pytestmark = pytest.mark.django_db

LAB = "/labs/telco-churn/"


def submitted(client: Client, **data: object) -> Submission:
    response = client.post(f"{LAB}submit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    submission = Submission.objects.latest("pk")
    assert response["Location"] == f"{LAB}submissions/{submission.pk}/"
    return submission


def test_the_list_shows_every_lab_with_data_and_my_best_score(imported_labs, learner,
                                                              client_for):
    client = client_for(learner)
    record(submitted(client, code=GOOD_CODE), score=0.8512)
    page = client.get("/labs/").content.decode()
    for title in ("Customer churn", "fraud", "demand"):
        assert title.lower() in page.lower()
    assert "ROC AUC 0.851" in page
    assert "not graded yet" in page  # the two other labs


def test_the_lab_page_has_brief_licence_hints_downloads_and_the_starter(imported_labs,
                                                                        learner, client_for):
    client = client_for(learner)
    response = client.get(LAB)
    page = response.content.decode()
    lab = services.get_lab("telco-churn")
    assert response.status_code == 200
    assert lab.brief_html[:80] in page and lab.source_url in page
    assert "<details class=\"hint\">" in page and "data-code-editor" in page
    assert 'for="code">Your solution (Python)</label>' in page
    assert "def train" in page  # the starter fills the editor before the first submission
    assert "You have 5 submissions left today" in page or "submissions left today" in page
    assert client.get(f"{LAB}starter.py")["Content-Disposition"] == \
        'attachment; filename="telco-churn.py"'
    notebook_file = client.get(f"{LAB}starter.ipynb")
    assert notebook_file.status_code == 200 and b'"nbformat"' in notebook_file.content
    assert client.get("/labs/no-such-lab/").status_code == 404


def test_the_training_data_downloads_without_the_holdout(imported_labs, learner, client_for):
    response = client_for(learner).get(f"{LAB}data.csv")
    assert response.status_code == 200
    assert 'filename="telco-churn-train.csv"' in response["Content-Disposition"]
    header = next(iter(response.streaming_content)).split(b"\n")[0]
    assert b"," in header


def test_submitting_from_the_editor_follows_grading_to_feedback(imported_labs, learner,
                                                                client_for):
    client = client_for(learner)
    submission = submitted(client, code=GOOD_CODE)
    url = f"{LAB}submissions/{submission.pk}/"
    waiting = client.get(url).content.decode()
    assert 'role="status"' in waiting and 'hx-trigger="every 2s"' in waiting
    assert f'hx-get="{url}status/"' in waiting and ">Refresh</a>" in waiting
    record(submission)
    page = client.get(url).content.decode()
    assert "hx-trigger" not in page  # polling stops once graded
    assert "Passed:</strong> Your code runs" in page and "0.8500" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the output excerpt is escaped
    assert "private part of the holdout" in page and "0.8400" not in page
    fragment = client.get(f"{url}status/").content.decode()
    assert 'hx-swap-oob="true"' in fragment and "Feedback" in fragment
    lab_page = client.get(LAB).content.decode()
    assert GOOD_CODE.splitlines()[0] in lab_page and f"#{submission.pk}</a>" in lab_page


def test_another_learners_submission_is_not_found(imported_labs, learner, other_learner,
                                                  client_for):
    submission = submitted(client_for(learner), code=GOOD_CODE)
    other = client_for(other_learner)
    assert other.get(f"{LAB}submissions/{submission.pk}/").status_code == 404
    assert other.get(f"{LAB}submissions/{submission.pk}/status/").status_code == 404
    wrong_lab = f"/labs/card-fraud/submissions/{submission.pk}/"
    assert client_for(learner).get(wrong_lab).status_code == 404


def test_an_uploaded_notebook_is_graded_on_its_code(imported_labs, learner, client_for):
    upload = SimpleUploadedFile("work.ipynb", notebook(GOOD_CODE))
    submission = submitted(client_for(learner), code="", upload=upload)
    assert submission.source_kind == "ipynb" and "def predict" in submission.code


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"code": "   \n"}, 400, "Your code is empty"),
    ({"code": "", "upload": ("bad.py", b"x = '\xff\xfe'\n")}, 400, "is not UTF-8 text"),
    ({"code": "", "upload": ("bad.ipynb", b"{not json")}, 400, "The notebook cannot be read"),
    ({"code": "", "upload": ("big.py", b"#" * 2_000_000)}, 400, "the limit is 200 KB"),
    ({"code": "", "upload": ("notes.txt", GOOD_CODE.encode())}, 400, "Upload a .py file"),
])
def test_junk_is_refused_with_a_message_and_earlier_work_kept(imported_labs, learner,
                                                              client_for, data, status,
                                                              message):
    client = client_for(learner)
    earlier = record(submitted(client, code=GOOD_CODE))
    if "upload" in data:
        name, content = data["upload"]
        data = {**data, "upload": SimpleUploadedFile(name, content)}
    typed = "# what I typed\n" if data["code"] == "" else data["code"]
    response = client.post(f"{LAB}submit/", {**data, "code": typed})
    page = response.content.decode()
    assert response.status_code == status
    assert message in page and 'role="alert"' in page
    assert "# what I typed" in page or data["code"] in page  # the learner's text is kept
    assert list(Submission.objects.filter(user=learner)) == [earlier]
    earlier.refresh_from_db()
    assert earlier.status == "graded" and earlier.public_score == 0.85


def test_a_50_mb_request_is_refused_before_it_is_read(imported_labs, learner, client_for):
    client = client_for(learner)
    huge = SimpleUploadedFile("big.ipynb", b" " * 50_000_000)
    response = client.post(f"{LAB}submit/", {"code": "", "upload": huge})
    assert response.status_code == 413
    assert "larger than 10 MB" in response.content.decode()
    assert not Submission.objects.exists()


def test_a_notebook_over_its_limit_within_the_request_limit_is_refused(imported_labs, learner,
                                                                       client_for):
    client = client_for(learner)
    upload = SimpleUploadedFile("big.ipynb", b" " * (services.MAX_NOTEBOOK_BYTES + 1000))
    response = client.post(f"{LAB}submit/", {"code": "", "upload": upload})
    assert response.status_code == 400
    assert "The notebook is 10.0 MB; the limit is 10.0 MB." in response.content.decode()


def test_the_daily_limit_is_a_429_with_the_time_it_resets(imported_labs, learner, client_for):
    client = client_for(learner)
    lab = services.get_lab("telco-churn")
    for _n in range(lab.daily_limit):
        submitted(client, code=GOOD_CODE)
    response = client.post(f"{LAB}submit/", {"code": GOOD_CODE})
    assert response.status_code == 429
    assert "You have used all" in response.content.decode()
    assert "You have 0 submissions left today" in response.content.decode()


def test_a_syntax_error_is_stored_as_failed_with_the_reason(imported_labs, learner, client_for):
    client = client_for(learner)
    submission = submitted(client, code="def train(df)\n    return 1\n")
    page = client.get(f"{LAB}submissions/{submission.pk}/").content.decode()
    assert "A check failed" in page and "Failed:</strong>" in page
    assert "does not count toward your daily limit" in page
    assert "Read the lab&#x27;s hints" in page or "Read the lab's hints" in page


def test_leaderboard_marks_me_and_shows_my_name_only_after_opting_in(imported_labs, learner,
                                                                     other_learner,
                                                                     client_for):
    client = client_for(learner)
    record(submitted(client, code=GOOD_CODE), score=0.9)
    record(submitted(client_for(other_learner), code=GOOD_CODE), score=0.86)
    page = client.get(f"{LAB}leaderboard/").content.decode()
    assert page.count("<td>Anonymous learner") == 2 and "(you)" in page
    assert "The final ranking, on the private part of the holdout" in page or \
        "no final ranking" in page
    refused = client.post(f"{LAB}leaderboard/", {"show": "on", "public_name": "A"})
    assert refused.status_code == 400 and "Choose a public name" in refused.content.decode()
    saved = client.post(f"{LAB}leaderboard/", {"show": "on", "public_name": "Ada  L."})
    assert saved.status_code == 302
    page = client.get(f"{LAB}leaderboard/").content.decode()
    assert "Ada L. <strong>(you)</strong>" in page and page.count("<td>Anonymous learner") == 1
    assert client_for(other_learner).get(f"{LAB}leaderboard/").content.decode().count(
        "(you)") == 1
    client.post(f"{LAB}leaderboard/", {"public_name": "Ada L."})  # opt out
    assert "Ada L. <strong>" not in client.get(f"{LAB}leaderboard/").content.decode()


def test_the_portfolio_lists_my_graded_labs_only(imported_labs, learner, other_learner,
                                                 client_for):
    client = client_for(learner)
    assert "No graded labs yet." in client.get("/labs/portfolio/").content.decode()
    submission = record(submitted(client, code=GOOD_CODE), score=0.87)
    page = client.get("/labs/portfolio/").content.decode()
    assert "0.8700" in page and f"/submissions/{submission.pk}/" in page
    assert "comes with credentials" in page
    assert "No graded labs yet." in client_for(other_learner).get(
        "/labs/portfolio/").content.decode()


def test_pages_need_a_signed_in_learner(imported_labs):
    response = Client().get("/labs/")
    assert response.status_code == 302 and "/account/login/" in response["Location"]
