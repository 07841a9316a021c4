"""A learner earns a credential and shares it, in a real browser: passes the certification exam,
receives the credential (the ``credentials.issue`` job run here, as a worker would), opens My
credentials, downloads the PDF certificate and turns the public portfolio on. A visitor who is
not signed in opens the verification page and sees "Valid"; a staff member revokes the
credential through the staff page, with a reason; the visitor reloads and sees "Revoked".
Every page passes axe with no serious or critical violation, on a desktop and at phone width.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from pytest_django.fixtures import Settings

from tests.browser.conftest import PageFactory
from tests.browser.screens import EXAM_LENGTH, import_exam
from tests.browser.support import DESKTOP, PHONE, screenshot
from tests.browser.test_exam_journey import fill_in, go_on, on_screen
from tests.browser.test_pages import assert_no_blocking_axe_violations
from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.assessment.models import ExamAttempt
from upskill.core import jobs
from upskill.core.models import Job
from upskill.credentials import services as credentials
from upskill.credentials.models import Credential, Portfolio

pytestmark = pytest.mark.browser

PROGRAM_TITLE = "Data analyst certificate"
EXAM_TITLE = "Data analyst certification exam"
REASON = "The exam was taken by someone else (proctor report 2291)."


def pass_the_exam(page: Page) -> ExamAttempt:
    """Start the fixed-form exam from its page, answer every question rightly, submit."""
    page.goto("/exams/")
    page.get_by_role("link", name=EXAM_TITLE).click()
    page.get_by_role("button", name="Start the exam").click()
    for position in range(1, EXAM_LENGTH + 1):
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Question {position} of {EXAM_LENGTH}")
        fill_in(page, on_screen(page))
        go_on(page, "fixed", position)
    page.get_by_role("button", name="Submit the exam").click()
    expect(page.locator(".decision-word")).to_have_text("PASS")
    return ExamAttempt.objects.get(status=ExamAttempt.Status.FINISHED)


def status_of(page: Page) -> str:
    return page.locator(".credential-status .status-word").first.inner_text().strip()


@pytest.fixture
def staff_member(make_user: Callable[..., User]) -> User:
    person = make_user("desk@example.test", display_name="Certification desk")
    accounts.grant_role(None, person, PlatformRole.STAFF)
    return person


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_learner_earns_and_shares_a_credential_that_staff_then_revoke(
    new_page: PageFactory, catalog: Path, learner: User, staff_member: User,
    viewport: ViewportSize, settings: Settings, tmp_path: Path, quick_exam_preparation: None,
):
    settings.CREDENTIALS_KEY_DIR = tmp_path / "keys"
    width = viewport["width"]
    import_exam(catalog, "fixed")
    page = new_page(viewport=viewport, user=learner)

    # The pass queues the credentials.issue job; a worker would run it a moment later.
    attempt = pass_the_exam(page)
    expect(page.locator("main")).to_contain_text("Your credential is being signed")
    job = Job.objects.get(dedupe_key=f"{credentials.ISSUE_JOB}:attempt:{attempt.pk}")
    assert jobs.run_job(job.pk) == "done"
    credential = Credential.objects.get(exam_attempt=attempt)
    page.reload()
    expect(page.get_by_role("link", name="Your credential")).to_have_attribute(
        "href", f"/credentials/{credential.public_id}/")
    assert_no_blocking_axe_violations(page, "score report with the credential")

    page.get_by_role("link", name="My credentials").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My credentials")
    card = page.locator(f"#credential-{credential.public_id}")
    expect(card.get_by_role("heading", level=2)).to_have_text(PROGRAM_TITLE)
    expect(card.locator(".status-word")).to_have_text("Valid")
    linkedin = card.get_by_role("link", name=re.compile("Add to LinkedIn profile"))
    expect(linkedin).to_have_attribute("href", re.compile(
        rf"^https://www\.linkedin\.com/profile/add\?startTask=CERTIFICATION_NAME&name=Data%20"
        rf"analyst%20certificate&.*&certId={credential.public_id}$"))
    assert_no_blocking_axe_violations(page, "my credentials")
    screenshot(page, f"credential-journey-mine-{width}")

    with page.expect_download() as download:
        card.get_by_role("link", name="Certificate (PDF)").click()
    assert download.value.suggested_filename == f"certificate-{credential.public_id}.pdf"
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5_000

    page.get_by_role("link", name="Your public portfolio").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My public portfolio")
    page.get_by_label("Make my portfolio public").check()
    page.get_by_label("Headline").fill("Data analyst: SQL, dashboards and churn models")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Your portfolio is public.")
    assert Portfolio.objects.get(user=learner).public
    assert_no_blocking_axe_violations(page, "portfolio settings")
    screenshot(page, f"credential-journey-portfolio-settings-{width}")

    visitor = new_page(viewport=viewport)  # a new browser context: nobody signed in
    visitor.goto(f"/p/{Portfolio.objects.get(user=learner).handle}/")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Ada")
    expect(visitor.locator("main")).to_contain_text("SQL, dashboards and churn models")
    expect(visitor.locator("main")).not_to_contain_text(learner.email)
    assert_no_blocking_axe_violations(visitor, "public portfolio")
    screenshot(visitor, f"credential-journey-portfolio-{width}")
    visitor.get_by_role("link", name=re.compile("Verify this credential")).click()

    expect(visitor).to_have_url(re.compile(rf"/credentials/{credential.public_id}/$"))
    assert status_of(visitor) == "Valid"
    expect(visitor.locator("main")).to_contain_text("Held by Ada")
    expect(visitor.get_by_role("link", name="Manage status (staff)")).to_have_count(0)
    visitor.get_by_text("Verification details").click()
    expect(visitor.get_by_text("Signature (proof): verified.")).to_be_visible()
    assert_no_blocking_axe_violations(visitor, "verification page (valid)")
    screenshot(visitor, f"credential-journey-valid-{width}")

    desk = new_page(viewport=viewport, user=staff_member)
    desk.goto(f"/credentials/{credential.public_id}/")
    desk.get_by_role("link", name="Manage status (staff)").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Credential status")
    assert_no_blocking_axe_violations(desk, "staff status page")
    desk.get_by_label(re.compile("^Reason")).fill(REASON)
    desk.get_by_role("button", name="Revoke for good").click()
    expect(desk.locator(".messages")).to_contain_text("Done")
    expect(desk.locator(".audit-history")).to_contain_text(REASON)
    expect(desk.locator(".status-word")).to_have_text("Revoked")
    assert_no_blocking_axe_violations(desk, "staff status page after revoking")
    screenshot(desk, f"credential-journey-staff-{width}")

    visitor.reload()
    assert status_of(visitor) == "Revoked"
    expect(visitor.locator("main")).to_contain_text("Revoked by the issuer on")
    expect(visitor.locator("main")).not_to_contain_text("proctor report")
    assert_no_blocking_axe_violations(visitor, "verification page (revoked)")
    screenshot(visitor, f"credential-journey-revoked-{width}")

    # Anyone can check the downloaded JSON too: pasted into the verify form, it is revoked.
    visitor.goto("/credentials/verify/")
    visitor.get_by_label("The credential's JSON").fill(credential.document)
    visitor.get_by_role("button", name="Verify").click()
    assert status_of(visitor) == "Revoked"
    assert_no_blocking_axe_violations(visitor, "verify form result")
    screenshot(visitor, f"credential-journey-verify-{width}")
