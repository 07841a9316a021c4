"""What the browser tests share: the Chromium to use, window sizes, screenshots,
and a watch on what goes wrong under the surface of a page."""

from __future__ import annotations

import weakref
from pathlib import Path

from django.conf import settings
from playwright.sync_api import ConsoleMessage, Page, Request, Response, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"  # var/ is not in git


class PageProblems:
    """What goes wrong under the surface of a page: broken assets, CSP refusals."""

    def __init__(self, page: Page) -> None:
        self.items: list[str] = []
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_failed)
        page.on("console", self._on_console)

    def _on_response(self, response: Response) -> None:
        # The document itself may be a 404 or 429 on purpose; its assets may not.
        # (Chromium asks for /favicon.ico on its own; the site declares none.)
        if (
            response.request.resource_type != "document"
            and response.status >= 400
            and not response.url.endswith("/favicon.ico")
        ):
            self.items.append(f"{response.status} for {response.url}")

    def _on_failed(self, request: Request) -> None:
        # A video player stops downloading once it has the metadata it preloads, or
        # when the page is left; that abort is the browser's choice, not a broken file.
        if request.resource_type == "media" and request.failure == "net::ERR_ABORTED":
            return
        self.items.append(f"failed: {request.url} ({request.failure})")

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.items.append(f"CSP: {message.text}")


_PROBLEMS: weakref.WeakKeyDictionary[Page, PageProblems] = weakref.WeakKeyDictionary()


def problems_of(page: Page) -> list[str]:
    """Everything that went wrong under the surface since the page was opened."""
    return _PROBLEMS[page].items


def watch(page: Page) -> Page:
    """Start recording broken assets and CSP refusals on a fresh page."""
    _PROBLEMS[page] = PageProblems(page)
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as var/screenshots/<name>.png for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
