"""A learner in Berlin asks for a mentor at phone width; matching runs; a mentor in New York
(a second browser) accepts; the learner books a slot in their shared time; each sees the
session in their own time zone. Every page passes axe with no serious or critical violation.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageFactory
from tests.browser.support import PHONE, screenshot
from tests.browser.test_pages import assert_no_blocking_axe_violations
from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.mentoring import schedule, services
from upskill.mentoring.models import MentoringSession

pytestmark = pytest.mark.browser

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.fixture
def mentoring_ready(transactional_db: None, content_root: Path) -> None:
    report = catalog.import_content(content_root)
    assert report.ok, report.problems


@pytest.fixture
def marcus(make_user, mentoring_ready: None) -> User:
    mentor = make_user("marcus@example.test", display_name="Marcus")
    accounts.update_profile(mentor, mentor, {"timezone": "America/New_York"})
    services.save_mentor_profile(
        mentor, bio="Analyst for ten years.", skill_slugs=["sql-querying"], industries=[],
        languages=["en"], timezone_name="America/New_York",
        availability="\n".join(f"{day} 12:00-14:00" for day in DAYS), capacity=2,
        changed_careers=True, accepting=True)
    return mentor


@pytest.fixture
def lena(make_user, mentoring_ready: None) -> User:
    learner = make_user("lena@example.test", display_name="Lena")
    accounts.update_profile(learner, learner, {"timezone": "Europe/Berlin"})
    return learner


def check(page: Page, name: str) -> None:
    screenshot(page, f"mentoring-journey-{name}-360")
    assert_no_blocking_axe_violations(page, f"mentoring journey: {name}")


def your_time(page: Page) -> str:
    return page.locator("dt", has_text="Your time").locator("xpath=following-sibling::dd[1]"
                                                            ).inner_text()


def test_a_learner_gets_a_mentor_and_books_a_session_in_their_shared_time(
    new_page: PageFactory, lena: User, marcus: User,
) -> None:
    learner = new_page(viewport=PHONE, user=lena)
    learner.goto("/mentoring/")
    expect(learner.get_by_role("heading", name="Mentoring", level=1)).to_be_visible()
    check(learner, "hub-empty")

    learner.get_by_role("button", name="Ask for a mentor").click()
    expect(learner.get_by_role("heading", name="Ask for a mentor", level=1)).to_be_visible()
    check(learner, "request-form")
    learner.get_by_role("button", name="Send my request").click()  # empty: errors, no 500
    expect(learner.get_by_text("This field is required.").first).to_be_visible()
    learner.get_by_label("Role you are working towards").select_option(label="Data analyst")
    learner.get_by_label("What would you like help with?").fill("Land my first analyst job.")
    learner.get_by_role("checkbox", name="English").check()
    learner.get_by_label("When you are free each week").fill(
        "\n".join(f"{day} 17:00-19:00" for day in DAYS))
    check(learner, "request-form-errors")
    learner.get_by_role("button", name="Send my request").click()
    expect(learner.get_by_text("Waiting for a match")).to_be_visible()
    check(learner, "hub-waiting")

    assert services.run_matching() == 1  # what the mentoring.match job does

    mentor = new_page(viewport=PHONE, user=marcus)
    mentor.goto("/mentoring/")
    proposal = mentor.get_by_role("article").filter(has_text="Lena would like you")
    expect(proposal).to_contain_text("covers 1 of your 2 gap skills: Querying data with SQL")
    expect(proposal).to_contain_text("both speak English")
    check(mentor, "mentor-proposal")
    proposal.get_by_role("button", name="Accept").click()
    expect(mentor.get_by_role("heading", name="Mentoring with Lena", level=1)).to_be_visible()
    check(mentor, "mentor-mentorship")

    learner.goto("/mentoring/")
    learner.get_by_role("link", name="Marcus, towards Data analyst").click()
    expect(learner.get_by_role("heading", name="Mentoring with Marcus", level=1)
           ).to_be_visible()
    slots = learner.get_by_role("group", name="Times when you and Marcus are both free")
    first = slots.get_by_role("radio").first
    expect(first).to_be_visible()
    check(learner, "learner-mentorship")
    first.check()  # 30 minutes, the default: the first free half hour may end a window
    learner.get_by_role("button", name="Book this time").click()
    expect(learner.get_by_role("heading", name="Mentoring session with Marcus", level=1)
           ).to_be_visible()
    check(learner, "learner-session")

    session = MentoringSession.objects.get()
    assert session.end - session.start == schedule.SLOT
    berlin, new_york = schedule.zone("Europe/Berlin"), schedule.zone("America/New_York")
    in_berlin = schedule.format_in_zone(session.start, berlin)
    in_new_york = schedule.format_in_zone(session.start, new_york)
    # Inside Berlin's evening and New York's lunchtime, whichever zone is on summer time.
    assert 17 <= session.start.astimezone(berlin).hour < 19
    assert 12 <= session.start.astimezone(new_york).hour < 14
    assert your_time(learner) == in_berlin
    expect(learner.get_by_text(in_new_york)).to_be_visible()

    mentor.goto("/mentoring/")
    mentor.get_by_role("link", name=in_new_york).click()
    expect(mentor.get_by_role("heading", name="Mentoring session with Lena", level=1)
           ).to_be_visible()
    assert your_time(mentor) == in_new_york
    expect(mentor.get_by_text(in_berlin)).to_be_visible()
    mentor.get_by_role("textbox", name="Notes", exact=True).fill("Good first talk.")
    mentor.get_by_label("Action items (one per line)").fill("Finish the joins lesson")
    mentor.get_by_role("button", name="Save notes").click()
    expect(mentor.get_by_text("Notes saved.")).to_be_visible()
    check(mentor, "mentor-session")

    learner.reload()
    expect(learner.get_by_text("Finish the joins lesson")).to_be_visible()
    with learner.expect_download() as download:
        learner.get_by_role("link", name="Add to my calendar (.ics)").click()
    assert download.value.suggested_filename == f"mentoring-{session.pk}.ics"
    ics = Path(download.value.path()).read_bytes()
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n") and b"METHOD:REQUEST" in ics


def test_the_other_mentoring_pages_pass_axe_at_phone_width(
    new_page: PageFactory, lena: User, marcus: User, make_user,
) -> None:
    """Becoming a mentor (with a refused form), the shared progress page, and the learner's
    read-only view of a session's notes."""
    newcomer = make_user("mia@example.test", display_name="Mia")
    page = new_page(viewport=PHONE, user=newcomer)
    page.goto("/mentoring/mentor/")
    expect(page.get_by_role("heading", name="Become a mentor", level=1)).to_be_visible()
    check(page, "become-mentor")
    page.get_by_role("checkbox", name="Querying data with SQL").check()
    page.get_by_role("checkbox", name="Spanish").check()
    page.get_by_label("When you are free each week").fill("Tuesday at six")
    page.get_by_role("button", name="Save my mentor profile").click()
    expect(page.get_by_role("alert")).to_contain_text("is not like")
    check(page, "become-mentor-refused")
    page.get_by_label("When you are free each week").fill("Tue 18:00-20:00")
    page.get_by_role("button", name="Save my mentor profile").click()
    expect(page.get_by_text("Your mentor profile is saved.")).to_be_visible()
    assert services.is_mentor(newcomer)

    request = services.submit_request(
        lena, goals="Land my first analyst job.", role_slug="data-analyst", languages=["en"],
        availability="\n".join(f"{day} 17:00-19:00" for day in DAYS))
    services.run_matching()
    mentorship = services.respond_to_proposal(marcus, request.pk, accept=True)
    assert mentorship is not None
    services.set_consent(lena, mentorship.pk, shares_progress=True)
    session = services.book_session(
        marcus, mentorship.pk, services.open_slots(marcus, mentorship.pk)[0].start)
    services.write_session_notes(marcus, session.pk, notes="Good first talk.",
                                 action_items=["Finish the joins lesson"])

    mentor = new_page(viewport=PHONE, user=marcus)
    mentor.goto(f"/mentoring/{mentorship.pk}/")
    mentor.get_by_role("link", name="See Lena's skill profile and path").click()
    expect(mentor.get_by_role("heading", name="Lena's skills for Data analyst", level=1)
           ).to_be_visible()
    expect(mentor.get_by_role("table", name="Skill profile")).to_contain_text(
        "Querying data with SQL")
    check(mentor, "shared-progress")

    learner = new_page(viewport=PHONE, user=lena)
    learner.goto(f"/mentoring/sessions/{session.pk}/")
    expect(learner.get_by_text("Finish the joins lesson")).to_be_visible()
    expect(learner.get_by_role("textbox")).to_have_count(0)  # the learner only reads
    check(learner, "learner-notes")
    learner.goto("/mentoring/")
    expect(learner.get_by_role("region", name="Upcoming sessions")).to_contain_text("Marcus")
    check(learner, "hub-with-mentor")


def test_a_live_session_is_scheduled_and_a_learner_registers_in_their_own_zone(
    new_page: PageFactory, lena: User, marcus: User,
) -> None:
    host = new_page(viewport=PHONE, user=marcus)  # a mentor may host; he lives in New York
    host.goto("/mentoring/live/")
    host.get_by_role("button", name="Schedule a live session").click()
    expect(host.get_by_role("heading", name="Schedule a live session", level=1)).to_be_visible()
    check(host, "live-new")
    host.get_by_label("Title").fill("Office hours: SQL joins")
    day = date.today() + timedelta(days=30)
    host.get_by_label("Starts (your time zone)").fill(f"{day.isoformat()}T12:00")
    host.get_by_label("Join link (https://…)").fill("https://meet.example.test/sql")
    host.get_by_role("button", name="Schedule").click()
    expect(host.get_by_role("heading", name="Office hours: SQL joins", level=1)).to_be_visible()
    new_york = schedule.zone("America/New_York")
    start = datetime.combine(day, time(12), tzinfo=new_york)
    expect(host.get_by_text(schedule.format_in_zone(start, new_york))).to_be_visible()
    check(host, "live-host")

    learner = new_page(viewport=PHONE, user=lena)
    learner.goto("/mentoring/live/")
    card = learner.get_by_role("article").filter(has_text="Office hours: SQL joins")
    expect(card).to_contain_text(  # Berlin time
        schedule.format_in_zone(start, schedule.zone("Europe/Berlin")))
    check(learner, "live-list")
    card.get_by_role("link", name="Office hours: SQL joins").click()
    learner.get_by_role("button", name="Register").click()
    expect(learner.get_by_text("You are registered.")).to_be_visible()
    expect(learner.get_by_text("The join button appears here 15 minutes before")
           ).to_be_visible()
    check(learner, "live-registered")
    host.reload()
    expect(host.get_by_role("region", name="Registrations and attendance")).to_contain_text(
        "Lena: registered")
