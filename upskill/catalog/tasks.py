"""Background jobs of the catalog: narrating lectures after an import."""

from __future__ import annotations

from typing import Any

from upskill.catalog import services
from upskill.core.jobs import register_job
from upskill.core.models import Job


def _attach(job: Job, result: dict[str, Any]) -> None:
    services.attach_lecture_media(int(job.payload["lesson_id"]), result)


@register_job(services.LECTURE_MEDIA_JOB, record=_attach)
def build_lecture_media(payload: dict[str, Any]) -> dict[str, Any]:
    return services.build_lecture_media(int(payload["lesson_id"]))
