"""The one transport task: wake a worker to run a durable job."""

from __future__ import annotations

from django_tasks import task

from upskill.core import jobs


@task()
def run_job_task(job_id: int) -> str:
    return jobs.run_job(job_id)
