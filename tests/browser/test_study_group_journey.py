"""A study group forms for people in a real browser at phone width: Ada asks "Find me a group"
for the data analyst role and waits; Grace asks too; when Hedy asks, the three form a cohort
and Hedy lands on the new group's page. Ada finds her group, starts a discussion on the
group's board, and Hedy replies. An outsider cannot open the discussion. Every page passes
axe with no serious or critical violation, and nothing is wider than the phone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageFactory
from tests.browser.support import PHONE, screenshot
from tests.browser.test_pages import assert_no_blocking_axe_violations
from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.community import services as community
from upskill.community.models import StudyGroup, Thread

pytestmark = pytest.mark.browser

TOPIC = "Our first session: SQL joins"


def check(page: Page, name: str) -> None:
    screenshot(page, f"study-group-journey-{name}-360")  # first, so a failure leaves a picture
    assert_no_blocking_axe_violations(page, f"study group journey: {name}")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page is {width}px wide at a 360px viewport"


@pytest.fixture
def people(transactional_db: None, content_root: Path, learner: User, other_learner: User,
           make_user: Callable[..., User]) -> tuple[User, User, User]:
    """The small catalog (the data analyst role) and three learners in Berlin."""
    report = catalog.import_content(content_root)
    assert report.ok, report.problems
    hedy = make_user("hedy@example.test", display_name="Hedy")
    for person in (learner, other_learner, hedy):
        accounts.update_profile(person, person, {"timezone": "Europe/Berlin",
                                                 "weekly_learning_minutes": 240})
    return learner, other_learner, hedy


def find_a_group(page: Page) -> None:
    page.goto("/community/groups/")
    finder = page.get_by_role("region", name="Find me a group")
    finder.get_by_label("Role you are aiming for").select_option(label="Data analyst")
    expect(finder.get_by_label("Hours a week you can study")).to_have_value("4")
    finder.get_by_role("button", name="Find me a group").click()


def test_a_cohort_forms_and_its_members_talk_on_the_group_board(
    people: tuple[User, User, User], new_page: PageFactory, make_user: Callable[..., User],
) -> None:
    ada, grace, hedy = people
    page = new_page(viewport=PHONE, user=ada)
    page.goto("/community/groups/")
    expect(page.get_by_text("Your time zone is Europe/Berlin (from your profile).")
           ).to_be_visible()
    check(page, "find")
    find_a_group(page)
    expect(page.get_by_role("status").filter(has_text="You are waiting")).to_contain_text(
        "You are waiting for a group (0 others waiting for Data analyst).")
    check(page, "waiting")

    # Grace asks (through the service, as the page would), then Hedy in her own browser.
    assert community.find_study_group(grace, role_slug="data-analyst",
                                      pace_hours_per_week=4).group is None
    page.reload()
    expect(page.get_by_text("(1 other waiting for Data analyst)")).to_be_visible()
    hedy_page = new_page(viewport=PHONE, user=hedy)
    find_a_group(hedy_page)
    group = StudyGroup.objects.get()
    expect(hedy_page.get_by_role("heading", name=group.name, level=1)).to_be_visible()
    expect(hedy_page.get_by_role("region", name="Members")).to_contain_text("Ada")
    expect(hedy_page.get_by_text("No discussions yet.")).to_be_visible()
    check(hedy_page, "group-formed")

    # Ada is no longer waiting; her group is on the list, and she opens it.
    page.goto("/community/groups/")
    expect(page.get_by_text("You are waiting")).to_have_count(0)
    page.get_by_role("link", name=group.name).click()
    board = page.get_by_role("region", name="Group discussions")
    board.get_by_label("Title").fill(TOPIC)
    board.get_by_label("Message (Markdown)").fill("Shall we meet on **Tuesday** at 19:00?")
    board.get_by_role("button", name="Post to the group").click()
    expect(page.get_by_role("heading", name=TOPIC, level=1)).to_be_visible()
    thread = Thread.objects.get(title=TOPIC)
    check(page, "discussion")

    hedy_page.goto(f"/community/groups/{group.slug}/")
    hedy_page.get_by_role("region", name="Group discussions").get_by_role(
        "link", name=TOPIC).click()
    hedy_page.get_by_label("Write a reply").fill("Tuesday works for me. I will bring questions.")
    hedy_page.get_by_role("button", name="Post my reply").click()
    expect(hedy_page.get_by_role("article", name="Reply by Hedy")).to_contain_text(
        "Tuesday works for me.")
    check(hedy_page, "reply")

    page.reload()
    expect(page.get_by_role("article", name="Reply by Hedy")).to_contain_text(
        "I will bring questions.")
    check(page, "replied")

    # Someone outside the group gets "not found", not the discussion.
    outsider = new_page(viewport=PHONE, user=make_user("eve@example.test", display_name="Eve"))
    response = outsider.goto(f"/community/threads/{thread.pk}/")
    assert response is not None and response.status == 404
    expect(outsider.get_by_text(TOPIC)).to_have_count(0)
