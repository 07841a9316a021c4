"""A learner asks a question on a lesson's discussion board in a real browser at phone width:
while she types the title, similar threads appear (htmx); the preview step shows them again
with her question as it will look; she posts it. A mentor, in a second browser, answers; the
learner accepts the answer. Every page passes axe with no serious or critical violation.
"""

from __future__ import annotations

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
from upskill.community.models import Thread

pytestmark = pytest.mark.browser

COURSE = "sql-basics"
LESSON = "where-clause"
BOARD = f"/community/boards/{COURSE}/lessons/{LESSON}/"
EARLIER_QUESTION = "How does WHERE filter rows with NULL values?"
QUESTION = "Why does my WHERE filter drop NULL rows?"


@pytest.fixture
def board_ready(transactional_db: None, content_root: Path,
                make_user: object) -> tuple[User, User]:
    """The small course tree imported, a mentor, and an earlier question on the lesson."""
    report = catalog.import_content(content_root)
    assert report.ok, report.problems
    earlier = make_user("grace@example.test", display_name="Grace")  # type: ignore[operator]
    community.start_thread(earlier, community.open_board(earlier, COURSE, LESSON),
                           kind="question", title=EARLIER_QUESTION,
                           body="Rows with NULL vanish from my results.")
    mentor = make_user("mentor@example.test", display_name="Marie Curie")  # type: ignore[operator]
    accounts.grant_role(None, mentor, "mentor")
    return earlier, mentor


def check(page: Page, name: str) -> None:
    screenshot(page, f"discussion-journey-{name}-360")  # first, so a failure leaves a picture
    assert_no_blocking_axe_violations(page, f"discussion journey: {name}")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{name}: the page is {width}px wide at a 360px viewport"


def test_a_learner_asks_a_mentor_answers_and_the_answer_is_accepted(
    board_ready: tuple[User, User], new_page: PageFactory, learner: User,
) -> None:
    _earlier, mentor = board_ready
    page = new_page(viewport=PHONE, user=learner)
    page.goto(BOARD)
    expect(page.get_by_role("heading", name="Discussions: Where Clause", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=EARLIER_QUESTION)).to_be_visible()
    check(page, "board")

    page.get_by_role("button", name="Ask a question").click()
    expect(page.get_by_role("heading", name="Ask about Where Clause", level=1)).to_be_visible()
    page.get_by_label("Question", exact=True).check()
    page.get_by_label("Title").press_sequentially(QUESTION, delay=10)
    similar = page.locator("#similar")
    # htmx asked the server while she typed: the earlier question is offered before she posts.
    expect(similar.get_by_role("link", name=EARLIER_QUESTION)).to_be_visible()
    page.get_by_label("Details").fill("I wrote `WHERE score <> 1` and the NULL rows are gone.")
    check(page, "ask-typing")

    page.get_by_role("button", name="Preview and check for similar threads").click()
    expect(page.get_by_role("heading", name="Check your question", level=1)).to_be_visible()
    expect(page.locator("#similar").get_by_role("link", name=EARLIER_QUESTION)).to_be_visible()
    preview = page.get_by_role("region", name="Preview")
    expect(preview.locator("code")).to_have_text("WHERE score <> 1")
    check(page, "preview")
    assert not Thread.objects.filter(title=QUESTION).exists()  # nothing posted yet

    page.get_by_role("button", name="Post my question").click()
    expect(page.get_by_role("heading", name=QUESTION, level=1)).to_be_visible()
    expect(page.get_by_text("No answers yet.")).to_be_visible()
    thread = Thread.objects.get(title=QUESTION)
    check(page, "question")

    # The mentor, in another browser, answers.
    mentor_page = new_page(viewport=PHONE, user=mentor)
    mentor_page.goto(f"/community/threads/{thread.pk}/")
    mentor_page.get_by_label("Write an answer").fill(
        "NULL is unknown, so `score <> 1` is unknown too: add `OR score IS NULL`.")
    mentor_page.get_by_role("button", name="Post my answer").click()
    answer = mentor_page.get_by_role("article", name="Answer by Marie Curie Mentor")
    expect(answer).to_contain_text("OR score IS NULL")
    expect(answer.locator(".badge")).to_have_text("Mentor")
    expect(answer.get_by_role("button", name="Accept this answer")).to_have_count(0)
    check(mentor_page, "mentor-answered")

    # The learner comes back and accepts it.
    page.reload()
    answer = page.get_by_role("article", name="Answer by Marie Curie Mentor")
    expect(answer).to_contain_text("OR score IS NULL")
    answer.get_by_role("button", name="Accept this answer").click()
    expect(page.get_by_role("region", name="Accepted answer")).to_contain_text(
        "The answer by Marie Curie solved it.")
    expect(page.get_by_role("article", name="Answer by Marie Curie Mentor Accepted answer")
           ).to_be_visible()
    check(page, "accepted")
    thread.refresh_from_db()
    assert thread.accepted_answer is not None and thread.accepted_answer.author == mentor


def test_a_learner_flags_a_post_and_a_mentor_hides_it(
    board_ready: tuple[User, User], new_page: PageFactory, learner: User,
) -> None:
    """The moderation pages at phone width: the flag form on a thread, the moderators' page
    with the flagged post, hiding it with a reason; the log records it."""
    earlier, mentor = board_ready
    thread = Thread.objects.get(title=EARLIER_QUESTION)
    page = new_page(viewport=PHONE, user=learner)
    page.goto(f"/community/threads/{thread.pk}/")
    question = page.get_by_role("article", name="Asked by Grace")
    question.get_by_text("Flag for moderators").click()
    question.get_by_label("Off topic").check()
    question.get_by_label("Anything the moderators should know (optional)").fill("Not SQL")
    check(page, "flagging")
    question.get_by_role("button", name="Send the flag").click()
    expect(page.get_by_role("status")).to_contain_text("the moderators will look at this post")

    mentor_page = new_page(viewport=PHONE, user=mentor)
    mentor_page.goto("/community/moderation/")
    flagged = mentor_page.get_by_role("region", name="Flagged posts")
    expect(flagged).to_contain_text("Off topic: Not SQL")
    check(mentor_page, "moderation")
    flagged.get_by_role("link", name=EARLIER_QUESTION).click()
    opening = mentor_page.get_by_role("article", name="Asked by Grace")
    opening.get_by_text("Hide this post").click()
    opening.get_by_label("Reason (kept in the moderation log)").fill("Off topic for SQL")
    opening.get_by_role("button", name="Hide", exact=True).click()
    expect(mentor_page.get_by_role("article", name="Asked by Grace")).to_contain_text(
        "Hidden by a moderator. Reason: Off topic for SQL")
    check(mentor_page, "hidden")
    mentor_page.goto("/community/moderation/")
    expect(mentor_page.get_by_role("region", name="Moderation log")).to_contain_text(
        "Hid a post")
    expect(mentor_page.get_by_role("region", name="Flagged posts")).to_contain_text(
        "No open flags.")
    assert earlier.pk != learner.pk


def test_a_learner_starts_a_study_group_and_another_joins(
    board_ready: tuple[User, User], new_page: PageFactory, learner: User,
) -> None:
    """The study group pages at phone width pass axe; joining shows the members."""
    earlier, _mentor = board_ready
    page = new_page(viewport=PHONE, user=learner)
    page.goto("/community/groups/")
    expect(page.get_by_text("No study groups yet.")).to_be_visible()
    check(page, "groups-empty")
    page.get_by_label("Name").fill("Evening SQL")
    page.get_by_label("Target role (optional)").select_option(label="Data analyst")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_label("Pace (hours a week)").fill("4")
    page.get_by_role("button", name="Start the group").click()
    expect(page.get_by_role("heading", name="Evening SQL", level=1)).to_be_visible()
    expect(page.get_by_role("region", name="Members")).to_contain_text("Ada")
    check(page, "group")

    other = new_page(viewport=PHONE, user=earlier)
    other.goto("/community/groups/")
    other.get_by_role("link", name="Evening SQL").click()
    expect(other.get_by_text("Members see each other's names once they join.")).to_be_visible()
    other.get_by_role("button", name="Join the group").click()
    expect(other.get_by_role("region", name="Members")).to_contain_text("Grace")
    check(other, "group-joined")


def test_without_javascript_the_preview_step_shows_similar_threads_first(
    board_ready: tuple[User, User], new_page: PageFactory, learner: User,
) -> None:
    page = new_page(viewport=PHONE, user=learner, javascript=False)
    page.goto(f"{BOARD}ask/")
    page.get_by_label("Title").fill(QUESTION)
    page.get_by_label("Details").fill("Plain form, no script.")
    expect(page.locator("#similar")).not_to_contain_text(EARLIER_QUESTION)  # nothing typed-in
    page.get_by_role("button", name="Preview and check for similar threads").click()
    expect(page.locator("#similar").get_by_role("link", name=EARLIER_QUESTION)).to_be_visible()
    # axe runs as a script in the page, so a page without JavaScript is only photographed.
    screenshot(page, "discussion-journey-preview-no-js-360")
    page.get_by_role("button", name="Post my question").click()
    expect(page.get_by_role("heading", name=QUESTION, level=1)).to_be_visible()
