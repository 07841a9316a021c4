"""Background jobs of labs: grading a submission in the sandbox.

Imported at startup by ``core.apps`` (``autodiscover_modules("tasks")``), so every worker
knows the handler. The run step grades (and may run twice); the record step stores the result
once, in the job's completion transaction.
"""

from __future__ import annotations

from typing import Any

from upskill.core.jobs import register_job
from upskill.core.models import Job
from upskill.labs import services


def _record(job: Job, result: dict[str, Any]) -> None:
    services.record_grading(job, result)


@register_job(services.GRADE_JOB, record=_record)
def grade_submission(payload: dict[str, Any]) -> dict[str, Any]:
    return services.grade_submission(int(payload["submission_id"]))
