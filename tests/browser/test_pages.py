"""Every page passes the checks a person with a phone, a keyboard or a screen
reader puts it through, anonymous or signed in (the pages: ``screens.SCREENS``).

Each test opens its page once and runs a few related checks on it: a browser
context and a database flush per test cost more than the checks themselves.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.screens import LEARNER, SCREENS, Screen, visit
from tests.browser.support import DESKTOP, PHONE, screenshot
from upskill.accounts import services

pytestmark = pytest.mark.browser

OpenScreen = Callable[..., Page]
BLOCKING_IMPACTS = {"serious", "critical"}
AXE = Axe()
# Desktop screenshots of the pages with the most kinds of element on them.
DESKTOP_SHOTS = {"landing", "signup-errors", "dashboard", "profile", "tokens-new-secret",
                 "organization", "roles-guide", "lesson-reading", "lesson-lecture",
                 "course-new-version", "simulation-two-runs", "simulation-compare"}


# --- axe-core ------------------------------------------------------------------

def axe_report(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.append(f"    {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


def assert_no_blocking_axe_violations(page: Page, what: str, rules: list[str] | None = None):
    options: dict = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = rules
    violations = [
        violation for violation in AXE.run(page, options=options).response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
    assert not violations, f"axe on {what} ({page.url}):\n{axe_report(violations)}"


def switch_colour_scheme(page: Page, scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    # Pico fades colours over 0.2 s: measure contrast after the fade, not in the middle.
    page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")


# --- keyboard ------------------------------------------------------------------

FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    element: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
             + (el.classList.length ? '.' + [...el.classList].join('.') : ''),
    text: (el.innerText || el.value || '').trim().slice(0, 40),
    isSkipLink: el.classList.contains('skip-link'),
    isMain: el.id === 'main',
    inHeader: !!el.closest('header'),
    inMain: !!el.closest('main'),
    outline: `${style.outlineStyle} ${style.outlineWidth}`,
    outlineVisible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < window.innerHeight
              && box.right > 0 && box.left < window.innerWidth,
  };
}"""
# The keyboard at the top of the document, as on a page that focuses nothing on load.
FOCUS_TOP_JS = """() => {
  document.body.tabIndex = -1;
  document.body.focus();
  document.body.removeAttribute('tabindex');
  window.scrollTo(0, 0);
}"""
MAX_TAB_STOPS = 30


def focused(page: Page) -> dict | None:
    return page.evaluate(FOCUS_JS)


def tab_from_top(page: Page) -> dict | None:
    page.evaluate(FOCUS_TOP_JS)
    page.keyboard.press("Tab")
    return focused(page)


def assert_skip_link_moves_focus_to_main(page: Page, name: str) -> None:
    skip = tab_from_top(page)
    assert skip is not None and skip["isSkipLink"], (
        f"{name}: the first Tab reached {skip}, not the skip link"
    )
    assert skip["onScreen"], f"{name}: the focused skip link cannot be seen: {skip}"
    page.keyboard.press("Enter")
    target = focused(page)
    assert target is not None and target["isMain"], (
        f"{name}: Enter on the skip link left focus on {target}"
    )
    page.keyboard.press("Tab")
    after = focused(page)
    assert after is None or not (after["inHeader"] or after["isSkipLink"]), (
        f"{name}: the Tab after skipping went back to the header: {after}"
    )


def assert_every_tab_stop_shows_focus(page: Page, name: str) -> None:
    stops = [tab_from_top(page)]
    for _stop in range(MAX_TAB_STOPS):
        page.keyboard.press("Tab")
        stop = focused(page)
        if stop is None or stop["isSkipLink"]:
            break  # past the end of the page, or around again
        stops.append(stop)
    reached = [stop for stop in stops if stop is not None]
    assert len(reached) >= 3, f"{name}: the keyboard reached only {reached}"
    invisible = [stop for stop in reached if not stop["outlineVisible"]]
    assert not invisible, f"{name}: focus cannot be seen on {invisible}"


@pytest.mark.parametrize("screen", SCREENS, ids=str)
def test_page_works_with_a_screen_reader_and_a_keyboard(open_screen: OpenScreen, screen: Screen):
    """axe-core finds no serious or critical violation, in light and in dark colours
    (Pico follows the system setting); the first Tab from the top reaches a visible
    skip link, Enter on it puts focus on the main content, and every keyboard stop
    shows a focus outline."""
    page = open_screen(screen)
    autofocused = focused(page)
    assert autofocused is None or autofocused["inMain"], (
        f"{screen.name}: the page focuses something outside the main content: {autofocused}"
    )
    assert_no_blocking_axe_violations(page, screen.name)
    switch_colour_scheme(page, "dark")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    assert_no_blocking_axe_violations(page, f"{screen.name} in dark mode", ["color-contrast"])
    switch_colour_scheme(page, "light")

    assert_skip_link_moves_focus_to_main(page, screen.name)
    assert_every_tab_stop_shows_focus(page, screen.name)


# --- layout --------------------------------------------------------------------

# What makes a page wider than the window: every element whose box passes the
# right edge, and which of them no scrolling box around them is meant to hold.
WIDTH_REPORT_JS = """() => {
  const limit = window.innerWidth;
  const inScroller = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const x = getComputedStyle(a).overflowX;
      if (x === 'auto' || x === 'scroll' || x === 'hidden' || x === 'clip') return true;
    }
    return false;
  };
  const wide = [];
  const loose = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= limit + 0.5) continue;
    const cls = el.classList.length ? '.' + [...el.classList].join('.') : '';
    const name = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls}`;
    wide.push(`${name} right=${Math.round(box.right)}`);
    if (!inScroller(el) && !el.closest('.visually-hidden')) loose.push(name);
  }
  return {
    innerWidth: limit,
    htmlScrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    pastTheEdge: wide.slice(0, 12),
    outsideAnyScroller: loose.slice(0, 12),
  };
}"""


def assert_fits_width(page: Page, name: str) -> None:
    report = page.evaluate(WIDTH_REPORT_JS)
    width = report["innerWidth"]
    assert report["htmlScrollWidth"] <= width, f"{name} scrolls sideways: {report}"
    assert report["bodyScrollWidth"] <= width, f"{name} scrolls sideways: {report}"
    # Content cut off at the window's edge (say by overflow: hidden) is as bad.
    assert not report["outsideAnyScroller"], f"{name} sticks out past {width}px: {report}"


@pytest.mark.parametrize("screen", SCREENS, ids=str)
def test_page_fits_a_360px_phone_without_sideways_scrolling(
    open_screen: OpenScreen, screen: Screen, request: pytest.FixtureRequest
):
    """At 360 CSS px nothing makes the page scroll sideways, also with the profile's
    larger text on (people who ask for it often read on a phone); nor on a desktop.
    Screenshots go to var/screenshots/ for people to look at."""
    page = open_screen(screen, viewport=PHONE)
    assert page.evaluate("window.innerWidth") == PHONE["width"]
    screenshot(page, f"{screen.name}-360")
    assert_fits_width(page, f"{screen.name} at 360px")

    page.set_viewport_size(DESKTOP)
    if screen.name in DESKTOP_SHOTS:
        screenshot(page, f"{screen.name}-{DESKTOP['width']}")
    assert_fits_width(page, f"{screen.name} at {DESKTOP['width']}px")

    if screen.who == LEARNER:
        ada = request.getfixturevalue("ada")
        services.update_profile(ada, ada, {"larger_text": True})
        page.set_viewport_size(PHONE)
        visit(page, screen)
        assert "larger-text" in (page.locator("html").get_attribute("class") or "").split()
        screenshot(page, f"{screen.name}-larger-text-360")
        assert_fits_width(page, f"{screen.name} at 360px with larger text")
