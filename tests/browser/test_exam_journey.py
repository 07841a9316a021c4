"""A candidate sits a timed certification exam in a real browser: reads the exam's page, starts,
answers a few questions, loses the page (a reload) and finds the same question with the saved
answer and less time left, finishes (a fixed form through "Review and submit", an adaptive one
until it stops by itself) and reads the score report. Every page passes axe with no serious or
critical violation, on a desktop and at phone width.

Time passing is simulated by moving the server's clock (``certification.now``) forward: the
live server is a thread of this process.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.conftest import PageFactory
from tests.browser.screens import EXAM_LENGTH, import_exam
from tests.browser.support import DESKTOP, PHONE, screenshot
from tests.browser.test_pages import assert_no_blocking_axe_violations
from upskill.accounts.models import User
from upskill.assessment import certification
from upskill.assessment.models import ExamAttempt, ExamResponse, IntegrityEvent, Item

pytestmark = pytest.mark.browser

EXAM_TITLE = "Data analyst certification exam"
AWAY = timedelta(minutes=4)


def right_answer(response: ExamResponse) -> list[str]:
    """The fixture items' keys (original option 0, or 0 and 1, or 42) in the shown slots."""
    if response.item.kind == Item.Kind.NUMERIC:
        return ["42"]
    originals = [0, 1] if response.item.kind == Item.Kind.MULTI else [0]
    return [str(list(response.option_order).index(i)) for i in originals]


def on_screen(page: Page) -> ExamResponse:
    position = int(page.locator("input[name=position]").get_attribute("value") or 0)
    key = page.locator("input[name=item]").get_attribute("value")
    response = ExamResponse.objects.select_related("item").get(
        attempt__status=ExamAttempt.Status.IN_PROGRESS, position=position)
    assert response.item.key == key
    return response


def fill_in(page: Page, response: ExamResponse) -> list[str]:
    """Answer the question on screen rightly, as a person does, and wait for the autosave."""
    answer = right_answer(response)
    if response.item.kind == Item.Kind.NUMERIC:
        field = page.get_by_label("Your answer")
        field.fill(answer[0])
        field.press("Tab")  # a text field reports its change when left
    else:
        for slot in answer:
            page.locator(f"input[name=answer][value='{slot}']").check()
    expect(page.locator("#save-status")).to_contain_text(re.compile(r"Saved at \d\d:\d\d"))
    return answer


def expect_answer_shown(page: Page, response: ExamResponse, answer: list[str]) -> None:
    if response.item.kind == Item.Kind.NUMERIC:
        expect(page.get_by_label("Your answer")).to_have_value(answer[0])
    else:
        for slot in answer:
            expect(page.locator(f"input[name=answer][value='{slot}']")).to_be_checked()


def heading(form: str, position: int) -> str:
    return (f"Question {position} of {EXAM_LENGTH}" if form == "fixed"
            else f"Question {position} (at most 12)")


def go_on(page: Page, form: str, position: int) -> None:
    button = "Save and continue" if form == "adaptive" else (
        "Review and submit" if position == EXAM_LENGTH else "Next")
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def minutes_on_timer(page: Page) -> int:
    text = page.get_by_role("timer").inner_text()
    match = re.fullmatch(r"(\d+) min left", text.strip())
    assert match, text
    return int(match.group(1))


@pytest.mark.parametrize(("viewport", "form"), [(DESKTOP, "fixed"), (PHONE, "adaptive")],
                         ids=["desktop-fixed", "phone-adaptive"])
def test_candidate_sits_a_timed_exam_survives_a_reload_and_reads_the_report(
    new_page: PageFactory, catalog: Path, learner: User, viewport: ViewportSize, form: str,
    monkeypatch: pytest.MonkeyPatch, quick_exam_preparation: None,
):
    import_exam(catalog, form)
    width = viewport["width"]
    page = new_page(viewport=viewport, user=learner)
    page.goto("/dashboard/")
    page.get_by_role("link", name="See the certification exams").click()
    assert_no_blocking_axe_violations(page, "exam list")
    page.get_by_role("link", name=EXAM_TITLE).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(EXAM_TITLE)
    expect(page.locator("main")).to_contain_text("never fail anyone automatically")
    page.get_by_text("How the passing standard was set").click()
    expect(page.get_by_text("Three test authors rated each item independently.")).to_be_visible()
    assert_no_blocking_axe_violations(page, "exam overview")
    screenshot(page, f"exam-journey-overview-{width}")
    page.get_by_role("button", name="Start the exam").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(heading(form, 1))
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"^(30|29) min left$"))
    assert_no_blocking_axe_violations(page, "first question")
    for position in (1, 2):
        expect(page.get_by_role("heading", level=1)).to_have_text(heading(form, position))
        fill_in(page, on_screen(page))
        go_on(page, form, position)

    # The third question is answered (autosaved), then the page is lost for four minutes.
    expect(page.get_by_role("heading", level=1)).to_have_text(heading(form, 3))
    third = on_screen(page)
    answer = fill_in(page, third)
    before = minutes_on_timer(page)
    page.evaluate("() => window.dispatchEvent(new Event('blur'))")  # left the window
    later = certification.now() + AWAY
    monkeypatch.setattr(certification, "now", lambda: later)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading(form, 3))
    assert on_screen(page).pk == third.pk
    expect_answer_shown(page, third, answer)
    expect(page.locator("#save-status")).to_have_text("Your answer is saved.")
    assert minutes_on_timer(page) <= before - 4
    if form == "fixed":
        expect(page.get_by_role("button", name="2 answered")).to_be_visible()
        expect(page.get_by_role("button", name="4 not answered")).to_be_visible()
    assert IntegrityEvent.objects.filter(kind="focus_lost").exists()
    assert_no_blocking_axe_violations(page, "question after a reload")
    screenshot(page, f"exam-journey-question-{width}")

    for position in range(3, 40):
        if "/report/" in page.url or "/review/" in page.url:
            break
        expect(page.get_by_role("heading", level=1)).to_have_text(heading(form, position))
        if position > 3:  # the third was answered before the reload
            fill_in(page, on_screen(page))
        go_on(page, form, position)

    if form == "fixed":
        expect(page).to_have_url(re.compile(r"/review/$"))
        expect(page.locator("main")).to_contain_text(
            f"You have answered {EXAM_LENGTH} of {EXAM_LENGTH} questions.")
        assert_no_blocking_axe_violations(page, "review and submit")
        screenshot(page, f"exam-journey-review-{width}")
        page.get_by_role("button", name="Submit the exam").click()

    expect(page).to_have_url(re.compile(r"/report/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your score report")
    expect(page.locator(".decision-word")).to_have_text("PASS")
    expect(page.locator("main")).to_contain_text("500 is the passing standard")
    attempt = ExamAttempt.objects.get(user=learner)
    assert attempt.passed and attempt.status == ExamAttempt.Status.FINISHED
    assert_no_blocking_axe_violations(page, "score report")
    screenshot(page, f"exam-journey-report-{width}")
