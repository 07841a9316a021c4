"""Browser fixtures: one Chromium for the whole session, a fresh context per test.

The pages are served by pytest-django's ``live_server`` (a thread of this process
on the same test database), so a test can prepare data with the services and
then watch a person use it in a real browser. Chromium is Debian's; nothing is
downloaded. Without it the tests skip on a laptop and fail in CI (``require``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from tests.browser.content import import_catalog, write_catalog
from tests.browser.screens import LEARNER, Screen, furnish, visit
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, watch
from tests.conftest import require
from upskill.accounts.models import User

PageFactory = Callable[..., Page]

# Assertions wait for the page to reach a state (an autosave saying "Saved at ...") for up to
# 15 s instead of Playwright's 5: in CI two test passes, Chromium and the live server share two
# CPUs, and a save answered after 5 s is slow, not wrong. Nothing here times anything.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    require(CHROMIUM.exists(), f"Chromium is not installed at {CHROMIUM} (apt install chromium)")
    # Playwright's sync API keeps an event loop alive in this thread, and Django
    # refuses ORM calls when it sees one; the tests' own ORM calls are plain sync.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser: Browser, live_server: LiveServer) -> Iterator[PageFactory]:
    """Open a page in a fresh browser context, optionally signed in as ``user``.

    Signing in puts a real session cookie in the context (made with the test
    client), so only the journey test spends time typing passwords.
    """
    contexts = []

    def open_page(viewport: ViewportSize = DESKTOP, user: User | None = None,
                  javascript: bool = True) -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, device_scale_factor=1, locale="en-US",
            java_script_enabled=javascript,
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
            )
        return watch(context.new_page())

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MEDIA_ROOT for the whole session, so a lecture is narrated once, not per test."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def catalog(content_root: Path, media_root: Path, settings: Settings,
            transactional_db: None) -> Path:
    """Roles, a course with reading and narrated lecture lessons, imported; its root."""
    require(all(shutil.which(tool) for tool in ("espeak-ng", "ffmpeg")),
            "espeak-ng and ffmpeg are needed to narrate the lecture")
    settings.MEDIA_ROOT = media_root
    settings.ROOT_URLCONF = "tests.browser.urls"  # serves /media/ from media_root
    import_catalog(write_catalog(content_root))
    return content_root


@pytest.fixture
def ada(learner: User, other_learner: User) -> User:
    """The signed-in person of the page tests, with tokens and a team she manages."""
    furnish(learner, other_learner)
    return learner


@pytest.fixture
def open_screen(new_page: PageFactory, request: pytest.FixtureRequest) -> Callable[..., Page]:
    """Arrive on a screen as the person it is for: nobody, or Ada (made only when needed),
    with the catalog imported and Ada's learning arranged when the screen needs them."""

    def open_(screen: Screen, viewport: ViewportSize = DESKTOP) -> Page:
        root = request.getfixturevalue("catalog") if screen.catalog else None
        # A public page about Ada's things (her credential, her portfolio) is prepared with
        # her account and opened by a visitor who is not signed in.
        ada = request.getfixturevalue("ada") if screen.who == LEARNER or screen.prepare \
            else None
        if screen.prepare is not None:
            assert root is not None and ada is not None, f"{screen}: prepare needs both"
            screen.prepare(ada, root)
        user = ada if screen.who == LEARNER else None
        return visit(new_page(viewport=viewport, user=user), screen)

    return open_
