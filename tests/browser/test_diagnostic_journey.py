"""A new learner measures their skills for a role and gets a path, in a real browser.

The learner answers like a person of known ability would: an item is answered right exactly
when the item's response model gives that person better than even odds. Someone well below
the role's targets must then see both skills as "To learn", with estimates below the
targets, and a path that starts with the prerequisite lesson even though the course puts it
last. Every page on the way passes axe with no serious or critical violation.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.conftest import PageFactory
from tests.browser.content import ROLE_TITLE, TABLE_LESSON_TITLE
from tests.browser.support import DESKTOP, PHONE, screenshot
from tests.browser.test_journey import sign_up
from tests.browser.test_pages import assert_no_blocking_axe_violations
from upskill.assessment import irt
from upskill.assessment.models import Item, SkillEstimate

pytestmark = pytest.mark.browser

# The learner's true ability per skill: below "with help" (-0.25) and "independent" (0.5).
ABILITY = {"data-literacy": -1.5, "sql-querying": -1.2}
# The fixture bank's keys (tests/content_fixtures.bank_items).
RIGHT = {"single": ["0"], "code": ["0"], "multi": ["0", "1"], "numeric": "42"}
WRONG = {"single": ["1"], "code": ["2"], "multi": ["2"], "numeric": "7"}


def knows(item: Item) -> bool:
    parameters = irt.ItemParameters.from_difficulty([item.irt_a], [item.irt_b], [item.irt_c])
    p = float(irt.probability(np.array([ABILITY[item.skill.slug]]), parameters)[0, 0])
    return p > 0.5


def answer_as_the_learner(page: Page) -> None:
    key = page.locator("input[name=item]").get_attribute("value")
    item = Item.objects.select_related("skill").get(key=key)
    answer = (RIGHT if knows(item) else WRONG)[item.kind]
    if item.kind == "numeric":
        page.get_by_label("Your answer").fill(str(answer))
    else:
        for index in answer:
            page.locator(f"input[name=answer][value='{index}']").check()
    page.get_by_role("button", name="Submit answer").click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_new_learner_measures_skills_and_gets_a_path_that_starts_with_prerequisites(
    new_page: PageFactory, catalog: Path, viewport: ViewportSize
):
    page = new_page(viewport=viewport)
    sign_up(page)
    skills = page.get_by_role("region", name="Your skills")
    skills.get_by_role("button", name="Measure my skills").click()
    expect(page).to_have_url(re.compile(r"/diagnostic/$"))
    assert_no_blocking_axe_violations(page, "choose a role")
    page.get_by_role("link", name=ROLE_TITLE, exact=True).click()

    assert_no_blocking_axe_violations(page, "start")
    page.get_by_role("group", name="Foundations").get_by_label("New to this").check()
    page.get_by_role("group", name="Data").get_by_label("New to this").check()
    page.get_by_role("button", name="Start the diagnostic").click()

    expect(page.get_by_text("Question 1 ·")).to_be_visible()
    assert_no_blocking_axe_violations(page, "first question")
    screenshot(page, f"journey-diagnostic-question-{viewport['width']}")
    for number in range(1, 40):
        if "/my/skills/" in page.url:
            break
        expect(page.get_by_text(f"Question {number} ·")).to_be_visible()
        answer_as_the_learner(page)
        page.wait_for_load_state("load")
    expect(page).to_have_url(re.compile(r"/my/skills/"))

    # The profile agrees with the ability the answers came from.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Your skills for {ROLE_TITLE}")
    expect(page.get_by_role("img", name=re.compile("Estimated level and target"))).to_be_visible()
    table = page.get_by_role("table", name="Skill profile in numbers")
    for row in table.locator("tbody tr").all():
        expect(row).to_contain_text("To learn")
    for estimate in SkillEstimate.objects.select_related("skill"):
        target = -0.25 if estimate.skill.slug == "data-literacy" else 0.5
        assert estimate.theta < target, estimate
        assert abs(estimate.theta - ABILITY[estimate.skill.slug]) < 2.5 * estimate.standard_error
    expect(page.get_by_text(re.compile("^You need "))).to_be_visible()
    assert_no_blocking_axe_violations(page, "skill profile")
    screenshot(page, f"journey-skill-profile-{viewport['width']}")

    page.get_by_role("button", name="See my learning path").click()
    expect(page).to_have_url(re.compile(r"/my/path/"))
    steps = page.locator("ol.path-steps > li")
    expect(steps.first).to_contain_text(TABLE_LESSON_TITLE)
    expect(steps.first).to_contain_text("Teaches Data literacy")
    assert steps.count() == 4
    assert_no_blocking_axe_violations(page, "learning path")
    screenshot(page, f"journey-path-{viewport['width']}")

    # The prerequisite cannot be moved below the lessons that need it.
    expect(steps.first.get_by_role("button", name=re.compile("later"))).to_be_disabled()
