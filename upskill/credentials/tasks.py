"""Background jobs of credentials: signing the credential of a passed exam.

Imported at startup by ``core.apps`` (``autodiscover_modules("tasks")``), so every worker
knows the handler.
"""

from __future__ import annotations

from typing import Any

from upskill.core.jobs import register_job
from upskill.credentials import services


@register_job(services.ISSUE_JOB)
def issue(payload: dict[str, Any]) -> dict[str, Any]:
    """Sign and store the credential of one passed attempt. Idempotent (one credential per
    attempt), so a run repeated after a lost lease stores nothing twice."""
    credential = services.issue_credential(int(payload["attempt"]))
    return {"credential": str(credential.public_id)}
