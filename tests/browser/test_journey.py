"""A new learner's first visits, walked in a real browser the way a person does it.

Sign up from the landing page, tell the profile about time zone and
accessibility needs, see them kept, log out, log back in, and find the site
already showing larger text. And: browse the roles, enrol in one, watch a
captioned lecture, come back another day and resume at the same lesson.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.conftest import PageFactory
from tests.browser.content import (
    COURSE,
    COURSE_TITLE,
    LECTURE,
    LECTURE_SENTENCE,
    LECTURE_TITLE,
    ROLE_TITLE,
)
from tests.browser.support import DESKTOP, PHONE, screenshot
from upskill.accounts.models import Profile, User

pytestmark = pytest.mark.browser

EMAIL = "lin.chen@example.test"
PASSWORD = "Lanterns-at-dusk-42"


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def html_classes(page: Page) -> list[str]:
    return (page.locator("html").get_attribute("class") or "").split()


def sign_up(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Learn to work with AI")
    main_nav(page).get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/account/signup/$"))
    page.get_by_label("Your name").fill("Lin Chen")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Lin Chen")
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")


def set_accessibility_needs(page: Page) -> None:
    main_nav(page).get_by_role("link", name="Profile").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_label("Extended exam time").select_option(label="50% extra time")
    page.get_by_label("Always show captions").check()
    page.get_by_label("Larger text").check()
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Your profile was saved.")


def expect_needs_kept(page: Page) -> None:
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    expect(page.get_by_label("Extended exam time")).to_have_value("1.50")
    expect(page.get_by_label("Always show captions")).to_be_checked()
    expect(page.get_by_label("Larger text")).to_be_checked()
    expect(page.get_by_label("Reduce motion")).not_to_be_checked()


def log_out(page: Page) -> None:
    main_nav(page).get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(main_nav(page).get_by_role("link", name="Log in")).to_be_visible()
    assert "larger-text" not in html_classes(page), "an anonymous page kept the preference"


def log_in(page: Page) -> None:
    main_nav(page).get_by_role("link", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account/login/$"))
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_new_learner_signs_up_sets_needs_and_finds_them_after_logging_in_again(
    new_page: PageFactory, viewport: ViewportSize
):
    page = new_page(viewport=viewport)
    sign_up(page)
    assert "larger-text" not in html_classes(page)

    set_accessibility_needs(page)
    page.reload()
    expect_needs_kept(page)
    assert "larger-text" in html_classes(page), "the saved preference is not applied"
    kept = Profile.objects.get(user=User.objects.get(email=EMAIL))
    assert (kept.timezone, kept.exam_time_multiplier, kept.captions, kept.larger_text) == (
        "Europe/Berlin", "1.50", True, True
    )

    log_out(page)
    log_in(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Lin Chen")
    plan = page.get_by_role("region", name="Your plan")
    expect(plan).to_contain_text("Europe/Berlin")
    expect(plan).to_contain_text("50% extra time")
    expect(page.locator("html")).to_have_class(re.compile(r"(^|\s)larger-text(\s|$)"))
    screenshot(page, f"journey-dashboard-{viewport['width']}")


# Switch the captions on as a person does with the player's CC button, then wait
# for the track's cues and the video's metadata (so its codecs were understood).
CAPTIONS_JS = """async () => {
  const video = document.querySelector('video');
  const element = video.querySelector('track[kind="captions"]');
  const track = video.textTracks[0];
  if (!track) return {track: false};
  track.mode = 'showing';
  const settle = (ready, target, ok, bad) => ready() ? Promise.resolve() : new Promise(
    (resolve, reject) => {
      target.addEventListener(ok, resolve, {once: true});
      target.addEventListener(bad, () => reject(new Error(bad + ' on ' + target.tagName)),
                              {once: true});
    });
  const timeout = new Promise((_, reject) => setTimeout(
    () => reject(new Error('no captions or metadata after 15 s')), 15000));
  await Promise.race([Promise.all([
    settle(() => element.readyState === 2, element, 'load', 'error'),
    settle(() => video.readyState >= 1, video, 'loadedmetadata', 'error'),
  ]), timeout]);
  return {
    track: true,
    kind: track.kind,
    cues: [...track.cues].map(cue => cue.text),
    duration_s: video.duration,
  };
}"""


def expect_captioned_lecture(page: Page) -> None:
    """The lecture's video carries a captions track that loads and says what the
    transcript on the page says."""
    expect(page.get_by_role("heading", level=1)).to_have_text(LECTURE_TITLE)
    track = page.locator("video > track[kind=captions]")
    expect(track).to_have_count(1)
    captions = page.request.get(track.get_attribute("src") or "")
    assert captions.status == 200, captions.url
    assert captions.text().startswith("WEBVTT")
    expect(page.get_by_role("region", name="Transcript")).to_contain_text(LECTURE_SENTENCE)

    player = page.evaluate(CAPTIONS_JS)
    assert player["track"] and player["kind"] == "captions"
    assert LECTURE_SENTENCE in player["cues"], player["cues"]
    assert player["duration_s"] > 10, f"the video did not load: {player}"


def enrol_from_the_roles(page: Page) -> None:
    main_nav(page).get_by_role("link", name="Roles").click()
    expect(page).to_have_url(re.compile(r"/roles/$"))
    page.get_by_role("link", name=ROLE_TITLE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ROLE_TITLE)
    page.get_by_role("button", name="Enrol in this program").click()
    expect(page).to_have_url(re.compile(rf"/courses/{COURSE}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(COURSE_TITLE)
    expect(page.get_by_role("status")).to_contain_text("You are enrolled in")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_new_learner_enrols_watches_a_captioned_lecture_and_resumes_there_next_time(
    new_page: PageFactory, catalog: Path, viewport: ViewportSize
):
    page = new_page(viewport=viewport)
    sign_up(page)
    enrol_from_the_roles(page)

    page.get_by_role("link", name=LECTURE_TITLE).click()
    lecture_url = re.compile(rf"/courses/{COURSE}/{LECTURE}/$")
    expect(page).to_have_url(lecture_url)
    expect_captioned_lecture(page)
    screenshot(page, f"journey-lecture-{viewport['width']}")

    log_out(page)
    log_in(page)
    learning = page.get_by_role("region", name="Your learning")
    expect(learning).to_contain_text("Continue where you left off")
    resume = learning.get_by_role("button", name=LECTURE_TITLE)
    expect(resume).to_have_attribute("href", f"/courses/{COURSE}/{LECTURE}/")
    resume.click()
    expect(page).to_have_url(lecture_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(LECTURE_TITLE)
