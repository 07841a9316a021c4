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
    """Appends "started" to the marker file on each start (so a test can see it
    began and count runs), then sleeps ``sleep_s``; ``first_run_sleep_s``, if
    given, replaces it on the first start, so a test can kill a long first run
    without waiting as long for the rerun."""
    sleep_s = float(payload.get("sleep_s", 0))
    marker = payload.get("marker")
    if marker:
        path = Path(marker)
        earlier_starts = path.read_text().count("started") if path.exists() else 0
        with path.open("a") as starts:
            starts.write("started\n")
        if earlier_starts == 0 and "first_run_sleep_s" in payload:
            sleep_s = float(payload["first_run_sleep_s"])
    time.sleep(sleep_s)
    return {"value": int(payload["n"]) ** 2}


@register_job("test.always_fails")
def always_fails(payload: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError(payload.get("message", "boom"))


def refuse_to_record(job: Job, result: dict[str, Any]) -> None:
    raise RuntimeError("cannot store the result")


@register_job("test.unrecordable", record=refuse_to_record)
def unrecordable(payload: dict[str, Any]) -> dict[str, Any]:
    """Computes fine; its record step fails (a constraint, a full disk...)."""
    return {"value": int(payload["n"])}
