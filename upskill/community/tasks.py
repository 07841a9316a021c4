"""Background jobs of the discussion boards: sending a question nobody answered for a day
to the mentors who know its skills.

Imported at startup by ``core.apps`` (``autodiscover_modules("tasks")``). The run step finds
the mentors (and may run twice); the record step marks the thread routed and notifies them
once, in the job's completion transaction.
"""

from __future__ import annotations

from typing import Any

from upskill.community import services
from upskill.core.jobs import register_job
from upskill.core.models import Job


def _record(job: Job, result: dict[str, Any]) -> None:
    services.record_routing(job, result)


@register_job(services.ROUTE_JOB, record=_record)
def route_unanswered(payload: dict[str, Any]) -> dict[str, Any]:
    return services.route_unanswered_question(int(payload["thread"]))
