"""Acceptance: a worker SIGKILLed in the middle of a job loses nothing, and a
worker whose database connections were dropped goes on running jobs.

On both task backends, the job is run again after its lease expires and its
result is recorded exactly once. The workers are real ``manage.py worker``
processes sharing the test database; "killed" means every process of the
worker (whatever it started: a sandbox, a subprocess) gets SIGKILL at once,
as if the machine died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import override_settings

from tests.conftest import require
from tests.support.models import RecordedOutcome
from tests.support.polling import wait_until
from upskill.core import jobs
from upskill.core.models import Job

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE_S = 3
REAP_INTERVAL_S = 0.5
# Long enough that the first run is certainly still sleeping when it is killed;
# the rerun is short so the test does not wait for it.
FIRST_RUN_SLEEP_S = 60
RERUN_SLEEP_S = 0.5
# Generous bounds that only stop a hung test (startup of a Django process, the
# lease running out, a reaper pass, the rerun).
STARTUP_TIMEOUT_S = 60
RERUN_TIMEOUT_S = 90

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
RQ_TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}


def redis_url_for_tests() -> str:
    """The pass's own Redis, else the one ``make test-sqlite`` names for this test.

    The SQLite pass runs beside the PostgreSQL + Redis pass; sharing its Redis
    database would share the ``default`` queue, and each pass's worker would run
    the other's jobs against the wrong database.
    """
    return (
        os.environ.get("REDIS_URL")
        or os.environ.get("UPSKILL_TEST_RQ_URL")
        or "redis://127.0.0.1:6379/14"
    )


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@contextmanager
def transport(backend: str) -> Iterator[dict[str, str]]:
    """Enqueue through ``backend`` in this process; yield the environment a
    worker subprocess needs to use the same backend."""
    if backend == "database":
        with override_settings(TASKS=DATABASE_TASKS):
            # Without REDIS_URL the worker's settings pick the database backend.
            yield {}
        return
    url = redis_url_for_tests()
    require(redis_reachable(url), f"Redis is not reachable at {url}")
    with override_settings(
        TASKS=RQ_TASKS,
        REDIS_URL=url,
        RQ_QUEUES={"default": {"URL": url, "DEFAULT_TIMEOUT": 3600}},
    ):
        yield {"REDIS_URL": url}


def database_env() -> dict[str, str]:
    """Point a subprocess at the database this test uses (the test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"UPSKILL_SQLITE_PATH": str(db["NAME"])}
    if connection.vendor == "postgresql":
        user = quote(str(db.get("USER") or ""), safe="")
        password = quote(str(db.get("PASSWORD") or ""), safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = quote(str(db.get("HOST") or ""), safe="")
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return {"DATABASE_URL": f"postgres://{credentials}{host}{port}/{quote(str(db['NAME']))}"}
    pytest.fail(f"No worker subprocess support for database vendor {connection.vendor!r}")


def worker_env(transport_env: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "UPSKILL_SQLITE_PATH"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONUNBUFFERED="1",
        UPSKILL_JOBS_LEASE_S=str(LEASE_S),
        UPSKILL_JOBS_REAP_INTERVAL_S=str(REAP_INTERVAL_S),
    )
    env.update(database_env())
    env.update(transport_env)
    return env


class Worker:
    """One ``manage.py worker`` process, its own session, its output in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "worker"],
                cwd=settings.BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def session_id(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return f"--- {self.log_path.name} ---\n{self.log_path.read_text(errors='replace')[-4000:]}"

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(
                f"worker exited with status {self.process.returncode}\n{self.log()}"
            )

    def kill(self) -> None:
        """SIGKILL every process of the worker, as if its machine died.

        What the worker started may run in process groups of its own but stays
        in the worker's session, so the whole session is killed: the worker
        first (so it cannot start more), then whatever is left.
        """
        if self.process.poll() is None:  # once reaped, its id may belong to someone else
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in processes_in_session(self.session_id):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        wait_until(
            lambda: not processes_in_session(self.session_id),
            timeout_s=30,
            what=f"every process of session {self.session_id} to die",
        )


def processes_in_session(session_id: int) -> list[int]:
    """Live (non-zombie) processes whose session is ``session_id`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited while we looked
            continue
        # The command name may contain spaces and parentheses; fields follow the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == session_id and state != "Z":
            found.append(int(entry.name))
    return found


def starts(marker: Path) -> int:
    return marker.read_text().count("started") if marker.exists() else 0


@pytest.mark.parametrize("backend", ["database", "rq"])
def test_killed_worker_job_reruns_after_lease_expiry_and_records_once(
    backend: str, tmp_path: Path
) -> None:
    marker = tmp_path / "starts"
    workers: list[Worker] = []
    try:
        with transport(backend) as transport_env:
            env = worker_env(transport_env)
            job = jobs.enqueue(
                "test.slow_square",
                {
                    "n": 7,
                    "marker": str(marker),
                    "first_run_sleep_s": FIRST_RUN_SLEEP_S,
                    "sleep_s": RERUN_SLEEP_S,
                },
                max_attempts=3,  # whatever UPSKILL_JOBS_MAX_ATTEMPTS says; the rerun is attempt 2
            )

            first = Worker(env, tmp_path / "worker-1.log")
            workers.append(first)

            def first_run_started() -> bool:
                first.assert_alive()
                return starts(marker) >= 1

            wait_until(
                first_run_started,
                timeout_s=STARTUP_TIMEOUT_S,
                what="the first worker to start the job",
                explain=first.log,
            )
            first.kill()

            job.refresh_from_db()
            assert job.state == Job.State.RUNNING, "the killed run must not have finished"
            assert job.attempts == 1
            assert starts(marker) == 1
            assert not RecordedOutcome.objects.filter(job=job).exists()
            killed_holder = job.claimed_by

            second = Worker(env, tmp_path / "worker-2.log")
            workers.append(second)

            def job_finished() -> bool:
                second.assert_alive()
                job.refresh_from_db()
                return job.state in {Job.State.DONE, Job.State.FAILED}

            wait_until(
                job_finished,
                timeout_s=RERUN_TIMEOUT_S,
                what="the second worker to rerun the job",
                explain=lambda: f"{first.log()}\n{second.log()}",
            )

        assert job.state == Job.State.DONE, job.last_error
        assert job.attempts == 2
        assert starts(marker) == 2
        assert job.claimed_by != killed_holder
        # Jobs run in the worker's own process (RQ's SimpleWorker forks nothing per job), so
        # what it prepared when it started serves them.
        assert job.claimed_by.split(":")[1] == str(second.process.pid)
        assert job.result == {"value": 49}
        assert list(RecordedOutcome.objects.filter(job=job).values_list("value", flat=True)) == [49]
    finally:
        for worker in workers:
            worker.kill()


@pytest.mark.parametrize("backend", ["database", "rq"])
def test_a_worker_whose_database_connection_was_dropped_runs_its_next_job(
    backend: str, tmp_path: Path
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL can drop a worker's connection from the server's side")
    workers: list[Worker] = []

    def finishes(job: Job, worker: Worker) -> None:
        def finished() -> bool:
            worker.assert_alive()
            job.refresh_from_db()
            return job.state in {Job.State.DONE, Job.State.FAILED}

        wait_until(finished, timeout_s=RERUN_TIMEOUT_S, what=f"job {job.pk} to finish",
                   explain=worker.log)

    try:
        with transport(backend) as transport_env:
            worker = Worker(worker_env(transport_env), tmp_path / "worker.log")
            workers.append(worker)
            first = jobs.enqueue("test.slow_square", {"n": 3})
            finishes(first, worker)
            # The server drops the worker's connections, as a restart or a proxy would.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                [(dropped,)] = cursor.fetchall()
            assert dropped >= 1
            second = jobs.enqueue("test.slow_square", {"n": 4})
            finishes(second, worker)
        assert (first.state, first.result) == (Job.State.DONE, {"value": 9})
        assert (second.state, second.result) == (Job.State.DONE, {"value": 16}), second.last_error
    finally:
        for worker in workers:
            worker.kill()
