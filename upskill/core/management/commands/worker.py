"""Run one background worker: the task transport's worker plus the job reaper.

Embedded mode runs django-tasks-db's database worker; with ``REDIS_URL`` it
runs an RQ worker (``rq_worker.Worker``). Either way jobs run in this process
(RQ's ``SimpleWorker`` forks no process per job), so what the apps prepare when the worker
starts (``jobs.on_worker_start``, such as code mode's warm sandbox) serves
every job, and a reaper thread puts jobs whose lease expired (a worker died
mid-job) back in the queue every ``JOBS_REAP_INTERVAL_S``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from upskill.core import jobs

logger = logging.getLogger(__name__)


def reap_forever(stop: threading.Event, interval_s: float) -> None:
    while not stop.wait(interval_s):
        try:
            touched = jobs.reap()
            if touched:
                logger.info("reaper: re-queued or re-woke %d job(s)", touched)
        except DatabaseError:
            logger.exception("reaper: database unavailable; will retry")
        except Exception:  # e.g. Redis down: the reaper must outlive it, not die with it
            logger.exception("reaper: pass failed; will retry")
        finally:
            close_old_connections()


class Command(BaseCommand):
    help = "Run a background worker (database or RQ transport) with the job reaper."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-reaper", action="store_true", help="Do not run the reaper.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        if not options["no_reaper"]:
            reaper = threading.Thread(
                target=reap_forever,
                args=(stop, settings.JOBS_REAP_INTERVAL_S),
                daemon=True,
                name="job-reaper",
            )
            reaper.start()
        jobs.worker_started()
        try:
            if jobs.transport_is_rq():
                call_command(
                    "rqworker", "default", job_class="django_tasks_rq.Job",
                    worker_class="upskill.core.rq_worker.Worker", with_scheduler=True,
                )
            else:
                call_command(
                    "db_worker", queue_name="default", interval=0.5, reload=False,
                    startup_delay=False,
                )
        finally:
            stop.set()
