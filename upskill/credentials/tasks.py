"""Background jobs of credentials: signing the credential of a passed exam, and the daily
renewal reminders.

Imported at startup by ``core.apps`` (``autodiscover_modules("tasks")``), so every worker
knows the handlers.
"""

from __future__ import annotations

from typing import Any

from upskill.core.jobs import register_job
from upskill.credentials import renewal, services


@register_job(services.ISSUE_JOB)
def issue(payload: dict[str, Any]) -> dict[str, Any]:
    """Sign and store the credential of one passed attempt. Idempotent (one credential per
    attempt), so a run repeated after a lost lease stores nothing twice."""
    credential = services.issue_credential(int(payload["attempt"]))
    return {"credential": str(credential.public_id)}


@register_job(renewal.REMINDER_JOB)
def send_renewal_reminders(payload: dict[str, Any]) -> dict[str, Any]:
    """The daily run: enqueue tomorrow's, then email the reminders due (one per credential
    and step, so a repeated run sends nothing twice)."""
    return dict(renewal.run_daily_reminders())
