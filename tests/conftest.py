"""Shared fixtures: people, logged-in clients, and the service-availability rule.

A test that needs PostgreSQL, Redis or Chromium skips with a reason on a
developer laptop without it; with ``CI=true`` a missing service is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.test import Client

from upskill.accounts import services
from upskill.accounts.models import User

pytest_plugins = ["tests.content_fixtures"]

IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_PASSWORD = "correct-horse-battery-9"


def require(condition: bool, reason: str) -> None:
    """Skip (laptop) or fail (CI) when something the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a required service is missing: {reason}")
    pytest.skip(reason)


def _engine_line() -> str:
    from django.conf import settings

    return (
        f"upskill: database engine {settings.DATABASES['default']['ENGINE']}, "
        f"task backend {settings.TASKS['default']['BACKEND']}, "
        f"cache {settings.CACHES['default']['BACKEND']}"
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [_engine_line()]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Printed at the end of every run, so CI's log shows which engines were used.
    terminalreporter.write_line(_engine_line())


@pytest.fixture
def quick_exam_preparation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Preparing an exam simulates 2,000 candidates for its expected decision accuracy and, for
    an adaptive one, tunes exposure control on 400 (seconds each time, and most exam tests
    prepare one). Tests that look at neither use a few hundred; the sizes' statistics are
    measured in bench/exam_simulation.py."""
    from upskill.assessment import certification

    monkeypatch.setattr(certification, "CLASSIFICATION_SIMULEES", 200)
    monkeypatch.setattr(certification, "EXPOSURE_SIMULEES", 100)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, password: str = DEFAULT_PASSWORD,
             display_name: str = "Test Person") -> User:
        address = email or f"person{next(counter)}@example.test"
        return services.sign_up(email=address, password=password, display_name=display_name)

    return make


@pytest.fixture
def learner(make_user: Callable[..., User]) -> User:
    return make_user("ada@example.test", display_name="Ada")


@pytest.fixture
def other_learner(make_user: Callable[..., User]) -> User:
    return make_user("grace@example.test", display_name="Grace")


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def login(user: User) -> Client:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return login
