"""Durable background jobs: the mechanism grading, simulations, calibration and email use.

Guarantees:
- ``enqueue`` writes the job row in the caller's transaction and wakes a worker
  only after commit, so a job never runs against data that was rolled back.
- ``run_job`` claims the job by taking a lease in one conditional UPDATE; while
  the handler runs, a heartbeat extends the lease. A worker that dies stops
  renewing, the lease expires and ``reap`` puts the job back in the queue.
- A result is recorded once per job: completion is a conditional UPDATE on the
  lease token, and the handler's ``record`` step runs in that same transaction,
  so a late duplicate run (whose lease was taken over) records nothing.
- A job that keeps failing stops after ``max_attempts`` and says why in
  ``last_error``.

The transport is the Django Tasks API (database backend by default, RQ when
``REDIS_URL`` is set); it is at-least-once and may deliver a wake-up twice.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from upskill.core.errors import Invalid, NotFound
from upskill.core.models import Job

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]
RunFn = Callable[[JsonDict], JsonDict]
RecordFn = Callable[[Job, JsonDict], None]


@dataclass(frozen=True)
class JobHandler:
    """What a job kind does: ``run`` computes (may take long, should not write
    domain state); ``record`` writes the outcome, inside the completion transaction."""

    kind: str
    run: RunFn
    record: RecordFn | None = None


_handlers: dict[str, JobHandler] = {}


def register_job(kind: str, *, record: RecordFn | None = None) -> Callable[[RunFn], RunFn]:
    """Register ``run`` as the handler for ``kind`` (used as a decorator in an app's tasks.py)."""

    def decorate(run: RunFn) -> RunFn:
        existing = _handlers.get(kind)
        if existing is not None and existing.run is not run:
            raise ValueError(f"Job kind {kind!r} is already registered.")
        _handlers[kind] = JobHandler(kind=kind, run=run, record=record)
        return run

    return decorate


def handler_for(kind: str) -> JobHandler | None:
    return _handlers.get(kind)


_worker_start_hooks: dict[str, Callable[[], object]] = {}


def on_worker_start(name: str) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register what a worker process prepares before it takes its first job (used as a
    decorator in an app's tasks.py): something every job of a kind would otherwise start
    itself, such as code mode's warm sandbox. Runs once per ``manage.py worker``, in the
    process that runs the jobs."""

    def decorate(prepare: Callable[[], object]) -> Callable[[], object]:
        _worker_start_hooks[name] = prepare
        return prepare

    return decorate


def worker_started() -> None:
    """(``manage.py worker``, before taking jobs.) Run the :func:`on_worker_start` hooks; one
    that fails is logged and skipped: the jobs it would have helped still run without it."""
    for name, prepare in _worker_start_hooks.items():
        try:
            prepare()
        except Exception:  # a hook never keeps the worker from working
            logger.exception("worker start: %s failed; its jobs will prepare for themselves",
                             name)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def enqueue(
    kind: str,
    payload: JsonDict | None = None,
    *,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
    run_after: datetime | None = None,
) -> Job:
    """Create a job and wake a worker after the surrounding transaction commits.

    With ``dedupe_key``, enqueueing the same key again returns the existing job
    (idempotent). With ``run_after`` the job is not due (not claimed, not re-woken by the
    reaper) before that time. Raises ``Invalid`` for an unknown kind.
    """
    if kind not in _handlers:
        raise Invalid(f"Unknown job kind {kind!r}.")
    attempts = max_attempts if max_attempts is not None else settings.JOBS_MAX_ATTEMPTS
    if attempts < 1:
        raise Invalid("max_attempts must be at least 1.")
    fields: dict[str, Any] = {"kind": kind, "payload": payload or {}, "max_attempts": attempts}
    if run_after is not None:
        fields["available_at"] = run_after
    with transaction.atomic():
        if dedupe_key is not None:
            job, created = Job.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)
            if not created:
                return job
        else:
            job = Job.objects.create(**fields)
        job_id = job.pk
        wake_after_commit(job_id, run_after=run_after)
    return job


def wake_after_commit(job_id: int, *, run_after: datetime | None = None) -> None:
    """Wake a worker once the surrounding transaction commits.

    Robust: if the transport is down the error is logged, not raised into the
    caller whose transaction already committed; ``woken_at`` then stays old and
    ``reap`` sends the wake-up again.
    """
    transaction.on_commit(lambda: wake(job_id, run_after=run_after), robust=True)


def wake(job_id: int, *, run_after: datetime | None = None) -> None:
    """Send a wake-up through the task transport. Safe to call more than once."""
    from upskill.core.tasks import run_job_task

    task = run_job_task
    if run_after is not None and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    task.enqueue(job_id)
    Job.objects.filter(pk=job_id).update(woken_at=timezone.now())


@dataclass(frozen=True)
class Claim:
    job: Job
    token: str


def claim(job_id: int, *, lease_s: int | None = None) -> Claim | None:
    """Take the lease on a job that is due, or on one whose previous lease expired.

    One conditional UPDATE, so two workers can never both hold the lease.
    Returns None when the job is done, failed, not yet due or leased to another.
    """
    now = timezone.now()
    token = secrets.token_hex(16)
    lease = timedelta(seconds=lease_s if lease_s is not None else settings.JOBS_LEASE_S)
    due = Q(state=Job.State.QUEUED, available_at__lte=now)
    abandoned = Q(state=Job.State.RUNNING, lease_until__lt=now)
    taken = (
        Job.objects.filter(Q(pk=job_id) & (due | abandoned), attempts__lt=F("max_attempts"))
        .update(
            state=Job.State.RUNNING,
            lease_token=token,
            lease_until=now + lease,
            attempts=F("attempts") + 1,
            claimed_by=worker_id(),
            updated_at=now,
        )
    )
    if taken != 1:
        return None
    return Claim(job=Job.objects.get(pk=job_id), token=token)


def renew(job_id: int, token: str, *, lease_s: int | None = None) -> bool:
    """Extend a lease we still hold. False means another worker took it over."""
    lease = timedelta(seconds=lease_s if lease_s is not None else settings.JOBS_LEASE_S)
    now = timezone.now()
    return (
        Job.objects.filter(pk=job_id, state=Job.State.RUNNING, lease_token=token).update(
            lease_until=now + lease, updated_at=now
        )
        == 1
    )


def complete(job_id: int, token: str, result: JsonDict) -> bool:
    """Record the result once: only the current lease holder's result is kept.

    The handler's ``record`` step runs in the same transaction as the state
    change, so a domain result is written exactly once or not at all.
    """
    now = timezone.now()
    with transaction.atomic():
        won = Job.objects.filter(pk=job_id, state=Job.State.RUNNING, lease_token=token).update(
            state=Job.State.DONE,
            result=result,
            lease_until=None,
            finished_at=now,
            updated_at=now,
        )
        if won != 1:
            logger.warning("job %s: lease lost before completion; result discarded", job_id)
            return False
        job = Job.objects.get(pk=job_id)
        handler = _handlers.get(job.kind)
        if handler is not None and handler.record is not None:
            handler.record(job, result)
    return True


def fail_attempt(job_id: int, token: str, error: str) -> None:
    """Record a failed attempt: retry later with backoff, or give up after max_attempts."""
    now = timezone.now()
    with transaction.atomic():
        # Locked, so the lease cannot be taken over between this read and the update.
        job = (
            Job.objects.select_for_update()
            .filter(pk=job_id, state=Job.State.RUNNING, lease_token=token)
            .first()
        )
        if job is None:
            return  # the lease was taken over; the new holder decides what happens
        if job.attempts >= job.max_attempts:
            _give_up(job_id, token, f"Gave up after {job.attempts} attempts. Last error: {error}",
                     now)
            return
        delay = settings.JOBS_RETRY_BACKOFF_S * (2 ** (job.attempts - 1))
        retry_at = now + timedelta(seconds=delay)
        Job.objects.filter(pk=job_id, lease_token=token).update(
            state=Job.State.QUEUED,
            last_error=error,
            available_at=retry_at,
            lease_until=None,
            lease_token="",
            updated_at=now,
        )
        wake_after_commit(job_id, run_after=retry_at)


def _give_up(job_id: int, token: str, reason: str, now: datetime) -> None:
    """Mark the job failed, if ``token`` still holds its lease."""
    Job.objects.filter(pk=job_id, state=Job.State.RUNNING, lease_token=token).update(
        state=Job.State.FAILED,
        last_error=reason,
        lease_until=None,
        lease_token="",
        finished_at=now,
        updated_at=now,
    )


class _Heartbeat(threading.Thread):
    """Renews the lease while the handler runs; dies with the worker process.

    A database error does not stop it (the lease would lapse and the job run
    twice): it drops the connection and tries again at the next beat. It closes
    its own connection when done, so a long-lived worker does not leak one
    connection per job (``close_old_connections`` keeps a healthy one open
    for ``CONN_MAX_AGE``).
    """

    def __init__(self, job_id: int, token: str) -> None:
        super().__init__(daemon=True, name=f"job-heartbeat-{job_id}")
        self.job_id = job_id
        self.token = token
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(settings.JOBS_LEASE_S / 3, 0.2)
        try:
            while not self.stopped.wait(interval):
                try:
                    if not renew(self.job_id, self.token):
                        logger.warning("job %s: lease lost to another worker", self.job_id)
                        return
                except DatabaseError:
                    logger.exception("job %s: could not renew the lease; retrying", self.job_id)
                    connections.close_all()  # this thread's connections only
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def run_job(job_id: int) -> str:
    """Claim, run and record one job; the body of the transport task.

    Returns what happened, for logs: ``done``, ``retry``, ``failed``, or
    ``skipped`` (not due, finished, leased to another worker, or the lease was
    lost before the result could be recorded).
    """
    claimed = claim(job_id)
    if claimed is None:
        return "skipped"
    job, token = claimed.job, claimed.token
    handler = _handlers.get(job.kind)
    if handler is None:
        _give_up(job.pk, token, f"No handler is registered for job kind {job.kind!r}.",
                 timezone.now())
        return "failed"
    heartbeat = _Heartbeat(job.pk, token)
    heartbeat.start()
    try:
        result = handler.run(job.payload)
    except Exception as error:  # noqa: BLE001 - any handler failure is recorded, not lost
        heartbeat.stop()
        return _record_failure(job, token, error)
    finally:
        # Also on SystemExit/KeyboardInterrupt: a worker that survives them
        # (db_worker catches BaseException) must not keep renewing a dead run's
        # lease, or the job would never be reaped.
        heartbeat.stop()
    try:
        completed = complete(job.pk, token, result)
    except Exception as error:  # noqa: BLE001 - a failing record step is an attempt that failed
        # complete() rolled back: nothing is recorded, the job is still ours.
        return _record_failure(job, token, error)
    return "done" if completed else "skipped"


def _record_failure(job: Job, token: str, error: Exception) -> str:
    detail = f"{type(error).__name__}: {error}"
    logger.warning("job %s (%s) failed: %s\n%s", job.pk, job.kind, detail, traceback.format_exc())
    fail_attempt(job.pk, token, detail)
    state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).get()
    return "failed" if state == Job.State.FAILED else "retry"


def reap(*, batch: int = 500) -> int:
    """Put jobs whose lease expired back in the queue (or give up on them),
    and re-wake due jobs whose wake-up was lost. Returns how many it touched.
    """
    now = timezone.now()
    touched = 0
    expired = list(
        Job.objects.filter(state=Job.State.RUNNING, lease_until__lt=now)
        .values_list("pk", "attempts", "max_attempts", "claimed_by")[:batch]
    )
    for job_id, attempts, max_attempts, claimed_by in expired:
        with transaction.atomic():
            still_expired = Job.objects.filter(
                pk=job_id, state=Job.State.RUNNING, lease_until__lt=now
            )
            note = f"Worker {claimed_by or '?'} stopped before finishing (lease expired)."
            if attempts >= max_attempts:
                changed = still_expired.update(
                    state=Job.State.FAILED,
                    last_error=f"Gave up after {attempts} attempts. {note}",
                    lease_until=None,
                    lease_token="",
                    finished_at=now,
                    updated_at=now,
                )
            else:
                changed = still_expired.update(
                    state=Job.State.QUEUED,
                    last_error=note,
                    available_at=now,
                    lease_until=None,
                    lease_token="",
                    updated_at=now,
                )
                if changed:
                    wake_after_commit(job_id)
            touched += changed
    stale_before = now - timedelta(seconds=settings.JOBS_LEASE_S)
    lost = list(
        Job.objects.filter(state=Job.State.QUEUED, available_at__lte=now)
        .filter(Q(woken_at__isnull=True) | Q(woken_at__lt=stale_before))
        .values_list("pk", flat=True)[:batch]
    )
    for job_id in lost:
        wake(job_id)
        touched += 1
    return touched


def get_job(job_id: int) -> Job:
    try:
        return Job.objects.get(pk=job_id)
    except Job.DoesNotExist as missing:
        raise NotFound(f"No job {job_id}.") from missing


def transport_is_rq() -> bool:
    """True when wake-ups travel through Redis/RQ, False for the database backend."""
    return str(settings.TASKS["default"]["BACKEND"]).endswith("RQBackend")


def queue_reachable() -> tuple[bool, str]:
    """Whether the task transport can accept work (for /readyz)."""
    if transport_is_rq():
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        except redis.RedisError as error:
            return False, f"redis: {error}"
        return True, "redis"
    # The database backend's queue is a table in the default database.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.exists()
    return True, "database"
