"""Background jobs of simulations: playing a code-mode run with the policy in the sandbox,
and, when a worker starts, the warm sandbox its first run takes.

Imported at startup by ``core.apps`` (``autodiscover_modules("tasks")``). The run step plays
the episode (and may run twice); the record step stores the outcome once, in the job's
completion transaction.
"""

from __future__ import annotations

from typing import Any

from upskill.core.jobs import on_worker_start, register_job
from upskill.core.models import Job
from upskill.simulations import services


def _record(job: Job, result: dict[str, Any]) -> None:
    services.record_code_run(job, result)


@register_job(services.CODE_JOB, record=_record)
def run_code(payload: dict[str, Any]) -> dict[str, Any]:
    return services.play_code_run(int(payload["run_id"]))


@on_worker_start("simulations.warm_start")
def warm_start() -> None:
    services.prepare_code_runs()
