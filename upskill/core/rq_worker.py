"""The RQ worker ``manage.py worker`` runs with ``REDIS_URL``.

RQ's ``SimpleWorker``: each job runs in the worker's own process, as on the database
transport, so what the apps prepared when the worker started (``jobs.on_worker_start``)
serves it. A long-lived process must not keep a database connection the server dropped
(a restart, a proxy's idle timeout): like django-tasks-db's worker, this one checks its
connections before and after every job, and Django reconnects when a job needs one.
"""

from __future__ import annotations

from typing import Any

from django.db import close_old_connections
from rq.worker import SimpleWorker

__all__ = ["Worker"]


class Worker(SimpleWorker):
    def execute_job(self, job: Any, queue: Any) -> None:
        close_old_connections()
        try:
            super().execute_job(job, queue)
        finally:
            close_old_connections()
