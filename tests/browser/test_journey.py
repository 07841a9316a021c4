"""A new learner's first visit, walked in a real browser the way a person does it.

Sign up from the landing page, tell the profile about time zone and
accessibility needs, see them kept, log out, log back in, and find the site
already showing larger text.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.conftest import PageFactory
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
