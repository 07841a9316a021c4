"""A learner builds a churn model in a real browser: opens the lab, writes the solution in the
CodeMirror editor, submits, watches it grade in the real sandbox, reads the feedback, and
finds it on the leaderboard and in their portfolio. Every page passes axe with no serious or
critical violation, at phone width.

No worker runs in tests: the grading job is run from the test thread, as a worker would,
while the page polls the live server for its status.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings

from tests.browser.conftest import PageFactory
from tests.browser.screens import import_labs
from tests.browser.support import PHONE, screenshot
from tests.browser.test_pages import assert_no_blocking_axe_violations
from tests.conftest import require
from tests.labs.conftest import lab_file, sandbox_problem
from upskill.accounts.models import User
from upskill.core import jobs
from upskill.labs.models import Submission

pytestmark = pytest.mark.browser

LAB_TITLE = "Predict which telecom customers will leave"


@pytest.fixture
def labs_ready(transactional_db: None, tmp_path: Path, settings: Settings) -> Iterator[None]:
    """The labs imported and a scratch folder the sandbox's host user can enter."""
    problem = sandbox_problem()
    require(problem is None, problem or "")
    scratch = Path(tempfile.mkdtemp(prefix="upskill-lab-journey-"))
    scratch.chmod(0o755)  # not pytest's tmp_path: its 0700 parents shut the sandbox out
    settings.LABS_SCRATCH_DIR = scratch
    (tmp_path / "catalog").mkdir()
    import_labs(tmp_path / "catalog")
    yield
    shutil.rmtree(scratch, ignore_errors=True)


def check(page: Page, name: str) -> None:
    assert_no_blocking_axe_violations(page, name)
    screenshot(page, f"lab-journey-{name}-360")


PASTE_JS = """(text) => {
  const data = new DataTransfer();
  data.setData("text/plain", text);
  document.activeElement.dispatchEvent(
    new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
}"""


def write_in_the_editor(page: Page, code: str) -> None:
    """Clear the editor, type a first line, and paste ``code`` below it, as a learner who
    wrote the model in a notebook would. (Chromium's insertText turns runs of spaces in a
    contenteditable into no-break spaces, so the body is pasted rather than typed.)"""
    editor = page.get_by_role("textbox", name="Your solution (Python)")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.type("# My churn model\n")
    page.evaluate(PASTE_JS, code)


def test_a_learner_builds_grades_and_shows_a_churn_model(
    labs_ready: None, new_page: PageFactory, learner: User,
) -> None:
    page = new_page(viewport=PHONE, user=learner)
    page.goto("/dashboard/")
    page.get_by_role("button", name="Open the labs").click()  # a link that looks like one
    expect(page.get_by_role("heading", name="Project labs", level=1)).to_be_visible()
    check(page, "list")

    page.get_by_role("link", name=LAB_TITLE).click()
    expect(page.get_by_role("heading", name=LAB_TITLE, level=1)).to_be_visible()
    expect(page.locator(".cm-editor")).to_be_visible()  # the island enhanced the textarea
    check(page, "lab")

    solution = lab_file("telco-churn", "reference.py")
    write_in_the_editor(page, solution)
    sent = page.locator("textarea#code").input_value()
    expected = "# My churn model\n" + solution
    diff = [(a, b) for a, b in zip(sent.splitlines(), expected.splitlines(), strict=False)
            if a != b]
    assert sent == expected, diff[:3]  # the form posts what the learner sees
    page.get_by_role("button", name="Submit for grading").click()

    expect(page.get_by_role("heading", name=re.compile(r"^Submission \d+$"))).to_be_visible()
    status = page.get_by_role("status").filter(has_text="Status:")
    expect(status).to_contain_text("Queued")
    check(page, "queued")
    submission = Submission.objects.get(user=learner)
    assert submission.code.startswith("# My churn model\n") and submission.job_id is not None
    assert jobs.run_job(submission.job_id) == "done"  # the worker's part, while the page polls

    expect(status).to_contain_text("Graded", timeout=15_000)  # htmx replaced the status
    expect(page.get_by_role("link", name="Refresh")).to_have_count(0)
    feedback = page.locator(".lab-feedback")
    expect(feedback).to_contain_text("Passed: Your code runs")
    expect(feedback).to_contain_text("Baseline")
    submission.refresh_from_db()
    assert submission.status == "graded" and submission.passed
    expect(feedback).to_contain_text(f"{submission.public_score:.4f}")
    check(page, "graded")

    page.get_by_role("link", name="Leaderboard").click()
    page.get_by_role("switch", name="Show my public name on leaderboards").check()
    page.get_by_label("Public name", exact=True).fill("Ada L.")
    page.get_by_role("button", name="Save").click()
    row = page.get_by_role("row").filter(has_text="(you)")
    expect(row).to_contain_text("Ada L.")
    expect(row).to_contain_text(f"{submission.public_score:.4f}")
    check(page, "leaderboard")

    page.goto(f"/labs/telco-churn/submissions/{submission.pk}/")
    page.get_by_role("link", name="My lab portfolio").click()
    item = page.get_by_role("article").filter(has_text=LAB_TITLE)
    expect(item).to_contain_text(f"{submission.public_score:.4f}")
    expect(item).to_contain_text("passed")
    check(page, "portfolio")
