"""Waiting for something another thread or process does, without fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.1,
    explain: Callable[[], str] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy and return that.

    Fails with ``AssertionError`` naming ``what`` (plus ``explain()``, e.g. a
    worker's log) after ``timeout_s``; the bound only stops a hung test, it is
    not a performance assertion.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(f"Timed out after {timeout_s:g} s waiting for {what}.{detail}")
        time.sleep(interval_s)
