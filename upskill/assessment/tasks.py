"""Background jobs of assessment: recalibrating the diagnostic's items from their responses.

Imported at startup by ``core.apps`` (``autodiscover_modules("tasks")``), so every worker
knows the handler.
"""

from __future__ import annotations

from typing import Any

from upskill.assessment import calibration
from upskill.core.jobs import register_job
from upskill.core.models import Job


def _store(job: Job, result: dict[str, Any]) -> None:
    calibration.store_calibration(result)


@register_job(calibration.CALIBRATION_JOB, record=_store)
def calibrate_items(payload: dict[str, Any]) -> dict[str, Any]:
    return calibration.calibrate_items()
