"""A reading lesson is a light page: it works with JavaScript off and a first visit
transfers under 100 KB (acceptance item "light page").
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import PageFactory
from tests.browser.content import COURSE, NEXT_READING, NEXT_READING_TITLE, READING, READING_TITLE
from tests.browser.screens import answer_practice
from upskill.accounts.models import User

pytestmark = pytest.mark.browser

READING_URL = f"/courses/{COURSE}/{READING}/"
PAGE_BUDGET_BYTES = 100_000


def test_reading_lesson_works_with_javascript_off(new_page: PageFactory, catalog: Path,
                                                  learner: User):
    """Read, check answers and move on, all by plain links and forms the server renders."""
    page = new_page(user=learner, javascript=False)
    page.goto(READING_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(READING_TITLE)
    expect(page.get_by_text("keeps the rows for which its condition is true")).to_be_visible()
    expect(page.get_by_role("table")).to_be_visible()

    answer_practice(page)
    expect(page).to_have_url(re.compile(r"/practice/#practice-heading$"))
    expect(page.get_by_role("status").filter(has_text="Correct.")).to_contain_text(
        "WHERE keeps the rows")
    expect(page.get_by_role("status").filter(has_text="Not quite.")).to_contain_text(
        "ORDER BY sorts")

    page.get_by_role("button", name="Mark complete").click()
    expect(page).to_have_url(re.compile(rf"/courses/{COURSE}/{NEXT_READING}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(NEXT_READING_TITLE)
    expect(page.get_by_role("status")).to_contain_text("Lesson complete")
    # Had a script run after all, htmx would have defined itself.
    assert page.evaluate("typeof window.htmx") == "undefined"


@dataclass(frozen=True)
class Transfer:
    url: str
    kind: str
    headers_bytes: int
    body_bytes: int  # as sent by the test server (static files uncompressed)
    gzip_body_bytes: int
    encoding: str

    @property
    def sent_bytes(self) -> int:
        return self.headers_bytes + self.body_bytes

    @property
    def production_bytes(self) -> int:
        """What production sends: static files from whitenoise's pre-compressed
        variants (gzip; Brotli is smaller still), pages from Django as they are."""
        if self.kind in {"stylesheet", "script", "image", "font"} and not self.encoding:
            return self.headers_bytes + self.gzip_body_bytes
        return self.sent_bytes


def record_transfers(page: Page) -> list[Transfer]:
    transfers: list[Transfer] = []

    def finished(request: Request) -> None:
        response = request.response()
        # Chromium asks for /favicon.ico on its own; the site declares none.
        if response is None or request.url.endswith("/favicon.ico"):
            return
        sizes = request.sizes()
        body = response.body()
        transfers.append(Transfer(
            url=request.url,
            kind=request.resource_type,
            headers_bytes=sizes["responseHeadersSize"],
            body_bytes=sizes["responseBodySize"],
            gzip_body_bytes=len(gzip.compress(body, compresslevel=9)),
            encoding=response.headers.get("content-encoding", ""),
        ))

    page.on("requestfinished", finished)
    return transfers


def weight_report(transfers: list[Transfer]) -> str:
    """Bytes per response: as sent here, as production sends them, and all gzipped."""
    rows = [(t.sent_bytes, t.production_bytes, t.headers_bytes + t.gzip_body_bytes,
             f"{t.kind} {t.url}") for t in transfers]
    rows.append((sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows),
                 "total"))
    return "\n".join([f"{'sent':>8} {'prod':>8} {'gzip':>8}  what"] + [
        f"{sent:>8} {production:>8} {gzipped:>8}  {what}"
        for sent, production, gzipped, what in rows])


def test_reading_lesson_transfers_under_100_kb(new_page: PageFactory, catalog: Path,
                                               learner: User):
    """A first visit to a reading lesson (empty cache, JavaScript on) transfers under
    100 KB: the page, its stylesheets and scripts, each response's headers included.

    The test server sends static files uncompressed (Pico alone is 83 KB raw), so
    each static file is counted at its gzip size (level 9), which is what whitenoise's
    pre-compressed files in production send to every browser; the HTML page is
    counted as sent, since Django does not compress it. Every total is in the
    failure message."""
    page = new_page(user=learner)
    transfers = record_transfers(page)
    page.goto(READING_URL, wait_until="networkidle")
    expect(page.get_by_role("heading", level=1)).to_have_text(READING_TITLE)

    kinds = {item.kind for item in transfers}
    assert {"document", "stylesheet", "script"} <= kinds, weight_report(transfers)
    assert not [item for item in transfers if item.kind == "media"], "the page loaded media"
    total = sum(item.production_bytes for item in transfers)
    print(weight_report(transfers))  # shown with pytest -s
    assert total < PAGE_BUDGET_BYTES, f"{total} bytes:\n{weight_report(transfers)}"
