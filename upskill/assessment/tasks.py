"""Background jobs of assessment: recalibrating items from their responses, auditing exam items
for DIF, preparing exams (forms, opening items, expected classification accuracy) and closing
expired exam attempts.

Imported at startup by ``core.apps`` (``autodiscover_modules("tasks")``), so every worker
knows the handler.
"""

from __future__ import annotations

from typing import Any

from upskill.assessment import calibration, certification, fairness
from upskill.core.jobs import register_job
from upskill.core.models import Job


def _store(job: Job, result: dict[str, Any]) -> None:
    calibration.store_calibration(result)


@register_job(calibration.CALIBRATION_JOB, record=_store)
def calibrate_items(payload: dict[str, Any]) -> dict[str, Any]:
    return calibration.calibrate_items()


@register_job(certification.PREPARE_JOB)
def prepare_exam(payload: dict[str, Any]) -> dict[str, Any]:
    """Assemble an exam's forms (or opening items) and simulate its classification accuracy
    for one bank version; a stale version's job does nothing."""
    return certification.prepare_exam(int(payload["exam"]),
                                      bank_version=int(payload["bank_version"]))


@register_job(certification.CLOSE_JOB)
def close_exam_attempt(payload: dict[str, Any]) -> dict[str, Any]:
    return certification.close_attempt_job(int(payload["attempt"]))


def _store_audit(job: Job, result: dict[str, Any]) -> None:
    fairness.store_audit(result)


@register_job(fairness.AUDIT_JOB, record=_store_audit)
def audit_fairness(payload: dict[str, Any]) -> dict[str, Any]:
    """The DIF audit of the exam items; recorded once (aggregates only)."""
    return fairness.run_audit()
