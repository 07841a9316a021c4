"""Job kinds used by the tests of the durable job mechanism (not shipped)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from upskill.core.jobs import register_job
from upskill.core.models import Job


def record_outcome(job: Job, result: dict[str, Any]) -> None:
    from tests.support.models import RecordedOutcome

    RecordedOutcome.objects.create(job=job, value=result["value"])


@register_job("test.slow_square", record=record_outcome)
def slow_square(payload: dict[str, Any]) -> dict[str, Any]:
    """Marks each start in a file (so a test can see it began), then sleeps."""
    marker = payload.get("marker")
    if marker:
        with Path(marker).open("a") as starts:
            starts.write("started\n")
    time.sleep(float(payload.get("sleep_s", 0)))
    return {"value": int(payload["n"]) ** 2}


@register_job("test.always_fails")
def always_fails(payload: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError(payload.get("message", "boom"))
