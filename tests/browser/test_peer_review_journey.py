"""A peer review round completes in a real browser at phone width: Ada submits her write-up,
Grace practises on the staff example (a miss is explained, the retry passes), reviews Ada's
write-up with the rubric, another peer reviews it too, and Ada, once she has given the review
she owes, sees the median grade and the two reviews, labelled "Reviewer 1" and "Reviewer 2",
with no name anywhere. Every page passes axe with no serious or critical violation, and
nothing is wider than the phone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageFactory
from tests.browser.support import PHONE, screenshot
from tests.browser.test_pages import assert_no_blocking_axe_violations
from tests.community.test_review_services import NEAR, make_staff
from tests.community.test_review_services import (
    urlpatterns as urlpatterns,  # re-exported: this module is the URLconf of its tests
)
from upskill.accounts.models import User
from upskill.community import review_services as services
from upskill.community.review_models import PeerGrade, WriteUp

pytestmark = [pytest.mark.browser, pytest.mark.urls(__name__)]

RUBRIC = {"criteria": [
    {"key": "clarity", "label": "Clarity", "options": [
        {"key": "poor", "label": "Hard to follow", "points": 0},
        {"key": "fair", "label": "Mostly clear", "points": 2},
        {"key": "good", "label": "Crystal clear", "points": 4}]},
    {"key": "evidence", "label": "Evidence", "options": [
        {"key": "none", "label": "No evidence", "points": 0},
        {"key": "some", "label": "Some numbers", "points": 1},
        {"key": "solid", "label": "Solid numbers", "points": 3}]},
]}
ADA_TEXT = "I set the churn threshold at 0.3 because recall mattered most."


def check(page: Page, name: str) -> None:
    screenshot(page, f"peer-review-journey-{name}-360")  # first, so a failure leaves a picture
    assert_no_blocking_axe_violations(page, f"peer review journey: {name}")
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= PHONE["width"], f"{name}: the page is {overflow}px wide at 360px"


def choose(page: Page, criterion: str, option: str) -> None:
    page.get_by_role("group", name=criterion).get_by_role("radio", name=option).check()


def test_a_round_completes_and_the_author_sees_the_median_and_anonymous_feedback(
    transactional_db: None, new_page: PageFactory, learner: User, other_learner: User,
    make_user: Callable[..., User],
) -> None:
    staff = make_staff(make_user)
    activity = services.create_activity(
        staff, slug="churn-write-up", title="Churn model write-up", rubric=RUBRIC,
        deadline=timezone.now() + timedelta(days=3), reviews_per_submission=2,
        reviews_required=1, prompt="Explain how you chose the **threshold**.",
        examples=[("We picked 0.3 because recall mattered; precision was 0.41.",
                   {"clarity": "fair", "evidence": "solid"},
                   "Clear enough, and the numbers back the choice.")])
    ben = make_user("ben@example.test", display_name="Ben Okonkwo")
    url = f"/community/reviews/{activity.slug}/"

    # Ada writes it up on her phone.
    ada = new_page(viewport=PHONE, user=learner)
    ada.goto(url)
    expect(ada.get_by_role("heading", name="Churn model write-up", level=1)).to_be_visible()
    check(ada, "round")
    ada.get_by_label("Your write-up (Markdown)").fill(ADA_TEXT)
    ada.get_by_role("button", name="Submit write-up").click()
    expect(ada.get_by_text("Your write-up is submitted.")).to_be_visible()
    assert WriteUp.objects.get(author=learner).text_markdown == ADA_TEXT
    services.submit_write_up(other_learner, activity, "Grace's notes on the churn model.")
    services.submit_write_up(ben, activity, "Ben's notes on the churn model.")

    # Grace trains: a miss is explained, the retry passes, then she reviews.
    grace = new_page(viewport=PHONE, user=other_learner)
    grace.goto(url)
    grace.get_by_role("button", name="Go to training").click()
    expect(grace.get_by_role("heading", name="Practise scoring", level=1)).to_be_visible()
    choose(grace, "Clarity", "Crystal clear")
    choose(grace, "Evidence", "Solid numbers")
    grace.get_by_role("button", name="Check my scores").click()
    misses = grace.get_by_role("alert")
    expect(misses).to_contain_text("Clarity: you chose “Crystal clear”, staff chose "
                                   "“Mostly clear” (you were more lenient than staff).")
    expect(misses).to_contain_text("the numbers back the choice")
    check(grace, "training-miss")
    choose(grace, "Clarity", "Mostly clear")
    choose(grace, "Evidence", "Solid numbers")
    grace.get_by_role("button", name="Check my scores").click()
    expect(grace.get_by_text("Training complete")).to_be_visible()
    grace.get_by_role("button", name="Back to the round").click()
    grace.get_by_role("button", name="Review a write-up").click()
    expect(grace.get_by_role("heading", name="Review a peer's write-up", level=1)
           ).to_be_visible()
    expect(grace.get_by_role("article")).to_contain_text(ADA_TEXT)  # the oldest goes first
    check(grace, "review-form")
    grace.get_by_role("button", name="Submit review").click()  # nothing chosen yet
    expect(grace.get_by_role("alert")).to_contain_text("Choose an option for “Clarity”")
    choose(grace, "Clarity", "Crystal clear")
    choose(grace, "Evidence", "Solid numbers")
    grace.get_by_label("Comment for the author").fill("Great reasoning; *plot* the recall.")
    grace.get_by_role("button", name="Submit review").click()
    expect(grace.get_by_text("Thank you: your review is in.")).to_be_visible()
    expect(grace.get_by_text("You have reviewed 1 of the 1 write-ups you owe.")).to_be_visible()

    # Ben reviews too: first Grace's write-up (fewest reviews), then Ada's.
    services.submit_training(ben, activity, activity.training_examples.get().pk,
                             {"clarity": "fair", "evidence": "solid"})
    for _turn in range(2):
        assignment = services.request_review(ben, activity)
        assert assignment is not None
        services.submit_review(ben, assignment.pk, NEAR, "Add the confusion matrix.")
    grade = PeerGrade.objects.get(write_up__author=learner)
    assert (grade.total, grade.reviews) == (6, 2)  # median of 7 and 5

    # Ada is told (without names) and reads her grade and the anonymous feedback.
    ada.goto("/notifications/")
    expect(ada.get_by_role("heading", name="Your write-up for “Churn model write-up” has a grade")
           ).to_be_visible()
    expect(ada.locator("main")).not_to_contain_text("Grace")
    expect(ada.locator("main")).not_to_contain_text("Ben")
    check(ada, "notifications")
    ada.goto(url)
    ada.get_by_role("link", name="Your grade and feedback").click()
    # As in ORA2, the grade waits until she has given the review she owes.
    expect(ada.locator("main")).to_contain_text(
        "once you have reviewed the write-ups you owe: 0 of 1")
    expect(ada.locator("main")).not_to_contain_text("Grade:")
    check(ada, "feedback-owed")
    services.submit_training(learner, activity, activity.training_examples.get().pk,
                             {"clarity": "fair", "evidence": "solid"})
    owed = services.request_review(learner, activity)
    assert owed is not None
    services.submit_review(learner, owed.pk, NEAR, "")
    ada.reload()
    expect(ada.get_by_text("Grade: 6 of 7")).to_be_visible()
    expect(ada.get_by_text("The median of 2 peer reviews.")).to_be_visible()
    expect(ada.get_by_role("heading", name="Reviewer 1", level=3)).to_be_visible()
    expect(ada.get_by_role("heading", name="Reviewer 2", level=3)).to_be_visible()
    expect(ada.locator("main")).to_contain_text("plot the recall")
    expect(ada.locator("main em")).to_have_text("plot")
    expect(ada.locator("main")).to_contain_text("Add the confusion matrix.")
    body = ada.locator("body").inner_text()
    for identity in ("Grace", "grace@example.test", "Ben", "Okonkwo", "ben@example.test"):
        assert identity not in body, f"Ada's feedback names {identity}"
    check(ada, "feedback")
