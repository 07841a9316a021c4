"""Background jobs of learning: fitting the knowledge-tracing parameters of skills."""

from __future__ import annotations

from typing import Any

from upskill.core.jobs import register_job
from upskill.core.models import Job
from upskill.learning import services


def _store(job: Job, result: dict[str, Any]) -> None:
    services.store_knowledge_fit(result)


@register_job(services.FIT_KNOWLEDGE_JOB, record=_store)
def fit_knowledge(payload: dict[str, Any]) -> dict[str, Any]:
    skill_ids = payload.get("skill_ids")
    return services.fit_knowledge(None if skill_ids is None else [int(i) for i in skill_ids])
