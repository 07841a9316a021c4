"""The one transport task (wake a worker to run a durable job) and core's own jobs."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from upskill.core import jobs, notifications
from upskill.core.jobs import register_job


@task()
def run_job_task(job_id: int) -> str:
    return jobs.run_job(job_id)


@register_job(notifications.EMAIL_JOB)
def notification_email(payload: dict[str, Any]) -> dict[str, Any]:
    return notifications.send_notification_email(int(payload["notification"]))
