"""A learner plays the inventory scenario in a real browser at phone width: finds it from the
dashboard, runs it once, moves the reorder point slider with the keyboard (htmx re-runs the
scenario and swaps the results in place), sees the key figures and the charts change, reads
the debrief and compares the two runs. Every page passes axe with no serious or critical
violation. Without JavaScript the same form still plays a run (post, redirect, results).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PageFactory
from tests.browser.screens import (
    FIRST_REORDER_POINT,
    SCENARIO,
    SCENARIO_TITLE,
    SECOND_REORDER_POINT,
    import_simulations,
)
from tests.browser.support import PHONE, screenshot
from tests.browser.test_pages import assert_no_blocking_axe_violations
from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.simulations.models import Run

pytestmark = pytest.mark.browser

REORDER_POINT = "Reorder point (weeks of demand)"
SLIDER_STEP = 0.5  # weeks; the inventory engine's step for weekly scenarios
STEPS = round((SECOND_REORDER_POINT - FIRST_REORDER_POINT) / SLIDER_STEP)


@pytest.fixture
def simulations_ready(transactional_db: None, content_root: Path) -> None:
    """The small course tree (its course is the one the scenarios' role programs list), then
    the real simulations package next to it."""
    report = catalog.import_content(content_root)
    assert report.ok, report.problems
    import_simulations(content_root)


def check(page: Page, name: str) -> None:
    screenshot(page, f"simulation-journey-{name}-360")  # first, so a failure leaves a picture
    assert_no_blocking_axe_violations(page, f"simulation journey: {name}")


def weeks(value: float) -> str:
    return f"{value:g} weeks"


def kpi_cell(results: Locator, measure: str, column: str) -> str:
    """The figure in the key-figures table's cell for ``measure`` (a row) in ``column``
    (without the "best" mark)."""
    table = results.get_by_role("table", name=re.compile("^Key figures"))
    headers = table.locator("thead th").all_inner_texts()
    row = table.get_by_role("row").filter(has=table.page.get_by_role(
        "rowheader", name=re.compile(f"^{re.escape(measure)}")))
    text = row.locator("th, td").nth(headers.index(column)).inner_text()
    return re.sub(r"\s*best$", "", text.strip())


def total_cost_line(results: Locator) -> str:
    """The points of the current run's line in the total cost chart."""
    chart = results.get_by_role("img", name=re.compile("^Total cost per week"))
    points = chart.locator("polyline.line-current").get_attribute("points")
    assert points, "the total cost chart draws no line for the run"
    return points


def test_a_learner_tunes_the_reorder_point_and_compares_two_runs(
    simulations_ready: None, new_page: PageFactory, learner: User,
) -> None:
    page = new_page(viewport=PHONE, user=learner)
    page.goto("/dashboard/")
    page.get_by_role("region", name="Business simulations").get_by_role(
        "link", name="Open the simulations").click()
    expect(page.get_by_role("heading", name="Business simulations", level=1)).to_be_visible()
    check(page, "catalog")

    page.get_by_role("link", name=SCENARIO_TITLE).click()
    expect(page.get_by_role("heading", name=SCENARIO_TITLE, level=1)).to_be_visible()
    results = page.locator("#results")
    expect(results).to_contain_text("No runs yet")
    slider = page.get_by_role("slider", name=REORDER_POINT, exact=True)
    expect(slider).to_have_value(f"{FIRST_REORDER_POINT:g}")  # the textbook value
    check(page, "scenario")

    page.get_by_role("button", name="Run the simulation").click()
    expect(results).to_contain_text("Run 1")
    first_cost = kpi_cell(results, "Total cost", "Run 1")
    first_line = total_cost_line(results)
    # The controls start at the textbook (s, S) settings, which is the goal's baseline.
    assert first_cost == kpi_cell(results, "Total cost", "Baseline")

    slider.focus()
    for _step in range(STEPS):
        page.keyboard.press("ArrowRight")
    expect(page.locator(f"output[for={slider.get_attribute('id')}]")).to_have_text(
        weeks(SECOND_REORDER_POINT))
    expect(results).to_contain_text("Run 2")  # htmx played it on change and swapped it in

    runs = Run.objects.filter(user=learner).order_by("number")
    assert [run.settings["reorder_point"] for run in runs] == [FIRST_REORDER_POINT,
                                                               SECOND_REORDER_POINT]
    second_cost = kpi_cell(results, "Total cost", "Run 2")
    assert kpi_cell(results, "Total cost", "Run 1") == first_cost
    assert second_cost != first_cost, "a different reorder point cost exactly the same"
    assert total_cost_line(results) != first_line, "the chart still shows run 1"
    expect(results).to_contain_text(f"{REORDER_POINT}: {weeks(SECOND_REORDER_POINT)}")
    expect(page.locator("#runs").get_by_role("link", name="Run 2")).to_be_visible()

    debrief = results.get_by_role("region", name="Debrief: why the numbers moved")
    expect(debrief).to_contain_text(f"Total cost was {second_cost}")  # run 2's, not run 1's
    expect(debrief.get_by_role("listitem")).not_to_have_count(0)
    check(page, "two-runs")

    page.get_by_role("link", name="Compare runs 1 and 2").click()
    expect(page.get_by_role("heading", name="Compare runs", level=1)).to_be_visible()
    settings = page.get_by_role("table", name="What each run decided")
    reorder_row = settings.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=REORDER_POINT, exact=True))
    expect(reorder_row.get_by_role("cell")).to_have_text(
        [weeks(FIRST_REORDER_POINT), weeks(SECOND_REORDER_POINT)])
    compared = page.get_by_role("region", name="Why run 2 differs from run 1")
    expect(compared).to_contain_text(second_cost)
    check(page, "compare")

    settings.get_by_role("link", name="Run 2").click()
    expect(page.get_by_role("heading", name=f"Run 2: {SCENARIO_TITLE}", level=1)).to_be_visible()
    expect(page.locator("#run-status")).to_contain_text("Finished.")
    expect(page.get_by_role("region", name="Debrief: why the numbers moved")).to_contain_text(
        f"Total cost was {second_cost}")
    check(page, "run")


def test_without_javascript_the_form_plays_a_run_and_shows_it(
    simulations_ready: None, new_page: PageFactory, learner: User,
) -> None:
    """The slider moves without script (the browser's own control); the form posts, the
    server redirects to the scenario page, which shows the run and keeps the chosen value."""
    page = new_page(viewport=PHONE, user=learner, javascript=False)
    page.goto(f"/simulations/{SCENARIO}/")
    slider = page.get_by_role("slider", name=REORDER_POINT, exact=True)
    slider.focus()
    for _step in range(STEPS):
        page.keyboard.press("ArrowRight")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Run the simulation").click()
    response = navigation.value
    assert response is not None and response.ok
    assert f"/simulations/{SCENARIO}/?run=1" in page.url
    assert [run.settings["reorder_point"] for run in Run.objects.filter(user=learner)] == [
        SECOND_REORDER_POINT]

    results = page.locator("#results")
    expect(results).to_contain_text("Run 1")
    expect(results).to_contain_text(f"{REORDER_POINT}: {weeks(SECOND_REORDER_POINT)}")
    expect(results.get_by_role("table", name=re.compile("^Key figures"))).to_be_visible()
    expect(slider).to_have_value(f"{SECOND_REORDER_POINT:g}")  # the form keeps the choice
    screenshot(page, "simulation-journey-no-javascript-360")
