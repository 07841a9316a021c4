"""Background jobs of mentoring: matching runs, session and live-session reminders.

Imported at startup by ``core.apps`` (``autodiscover_modules("tasks")``). Both jobs do their
work in the record step, inside the job's completion transaction, so a job delivered twice
changes state once: matching proposes only requests still open, and a reminder is sent only
while the session has none recorded.
"""

from __future__ import annotations

from typing import Any

from upskill.core.jobs import register_job
from upskill.core.models import Job
from upskill.mentoring import services


def _record_matching(job: Job, result: dict[str, Any]) -> None:
    services.run_matching()


@register_job(services.MATCH_JOB, record=_record_matching)
def match(payload: dict[str, Any]) -> dict[str, Any]:
    return {"request": payload.get("request")}


def _record_reminder(job: Job, result: dict[str, Any]) -> None:
    services.send_session_reminder(int(job.payload["session"]))


@register_job(services.REMINDER_JOB, record=_record_reminder)
def remind(payload: dict[str, Any]) -> dict[str, Any]:
    return {"session": int(payload["session"])}


def _record_live_reminder(job: Job, result: dict[str, Any]) -> None:
    services.send_live_reminder(int(job.payload["live"]))


@register_job(services.LIVE_REMINDER_JOB, record=_record_live_reminder)
def remind_live(payload: dict[str, Any]) -> dict[str, Any]:
    return {"live": int(payload["live"])}
