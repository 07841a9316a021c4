"""Exam start: a cohort of candidates starts and answers a certification exam at the same
moment, against the real server on loopback, compared with the /healthz floor of the same run,
on SQLite and on PostgreSQL.

For each database engine:

1. Setup (a child process with Django configured on a scratch database, so that both engines
   can run from one invocation): migrate; import ``content/`` when it validates and defines
   an exam, otherwise the test fixture's small taxonomy + adaptive exam bank
   (``tests/content_fixtures.py``, ``labs: []``, exactly ``--questions`` items per attempt);
   pick, per form kind (``--form fixed|adaptive|both``), the exam with the fewest required
   labs; ``certification.prepare_exam`` run synchronously; ``--candidates`` people with a
   profile and an API token each (plus a few for warming the server up), made eligible (a
   passing lab submission for every lab those exams require).
2. Queries per start, in process: ``certification.start_exam`` for a fresh person inside
   ``CaptureQueriesContext``, once before the cohorts (no attempt open) and once after them
   (every cohort's attempts and answers in the tables). The two counts must be equal.
3. gunicorn (the flags ``manage.py serve`` uses, 2 workers x 4 threads) on 127.0.0.1.
4. The floor: ``/healthz`` with as many connections as candidates (bench/http_floor.py's
   ``measure``, Python client: the same client as the cohort, so the ratios compare like
   with like).
5. One cohort per exam: one thread and one keep-alive connection per candidate, ``Authorization:
   Bearer`` (no session, no CSRF). A barrier releases every ``POST .../attempts`` (start) at
   the same moment; a second barrier waits until all have started; then each candidate
   answers ``--questions`` questions with no think time: ``PUT .../answer`` (autosave), then
   ``POST .../next`` (adaptive) or ``POST .../move`` to the next position (fixed form), and
   ``POST .../finish`` if the exam has not finished itself. The routes and shapes are those
   of ``upskill/assessment/endpoints.py`` (``exams_router``).
6. Reported per endpoint: requests, errors (answers outside 2xx other than 409, and connection
   failures), 409 Conflicts (counted apart: a second tab, a stale page), req/s over the
   phase, p50/p95 latency, server CPU per request over the phase; and the ratios
   p95(endpoint) / p95(floor) (how many times slower than the floor under this concurrency)
   and req/s(endpoint) / req/s(floor).

Run: ``.venv/bin/python -m bench.exam_start`` (``--engine sqlite|postgres|both``,
``--candidates 40``, ``--questions 10``). PostgreSQL is 127.0.0.1:5432, user postgres
(``--postgres-url``); a fresh database is created for the run and dropped afterwards. When it
is unreachable the PostgreSQL part is skipped with a message, unless ``--require-postgres``.

Bounds: only 127.0.0.1; at most 64 candidates, 30 questions each and 5,000 answers per
cohort; the load on each engine (floor and cohorts) stops after 120 s (``--time-cap-s``),
whatever is left unanswered.

Exit status: 0 when every request answered 2xx or 409 and the query count per start was
constant, 1 otherwise, 2 when a site could not be set up (or an argument was out of bounds).
"""

from __future__ import annotations

import argparse
import http.client
import inspect
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench.http_floor import (
    BASE_DIR,
    FLOOR_PATH,
    LOOPBACK,
    BenchError,
    LoadResult,
    Site,
    free_port,
    gunicorn_command,
    manage,
    measure,
    percentile,
    scratch_env,
    stop_server,
    wait_until_healthy,
)

RESULT_PATH = BASE_DIR / "var" / "bench" / "exam_start.json"
API = "/api/v1/exams"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
ENGINES = ("sqlite", "postgres")

# Hard bounds: a local benchmark, never a load test of anything else.
MAX_CANDIDATES = 64  # http_floor's connection cap: the floor runs at the same concurrency
MAX_QUESTIONS = 30
MAX_ANSWERS = 5000  # candidates x questions
MAX_TIME_CAP_S = 120.0
REQUEST_TIMEOUT_S = 30.0  # a start queued behind 63 others may wait; a hang is still an error
WARMUP_CANDIDATES = 4  # more connections than the 2 workers, so both are warm before the cohort
SETUP_TIMEOUT_S = 300


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """One request of a candidate: what it answered and when (perf_counter seconds)."""

    endpoint: str  # start, answer, next, finish, state
    status: int  # 0 = connection failure or timeout
    started: float
    ended: float
    error: str = ""

    @property
    def latency_s(self) -> float:
        return self.ended - self.started


@dataclass(frozen=True)
class EndpointResult:
    """One endpoint's calls in one phase of the cohort."""

    endpoint: str
    requests: int
    errors: int  # outside 2xx and not 409, plus connection failures
    conflicts: int  # 409
    duration_s: float  # from the phase's barrier to the phase's last answer
    p50_ms: float
    p95_ms: float
    server_cpu_ms: float | None  # the phase's server CPU per request (every endpoint of it)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


def summarize(endpoint: str, calls: Sequence[Call], phase_start: float, phase_end: float,
              cpu_ms: float | None) -> EndpointResult:
    """Count and time ``endpoint``'s calls; the rate is over the whole phase (other
    endpoints' calls of the phase share the server with these)."""
    mine = [c for c in calls if c.endpoint == endpoint]
    ordered = sorted(c.latency_s for c in mine if c.status)
    return EndpointResult(
        endpoint=endpoint, requests=len(mine),
        errors=sum(1 for c in mine if not (200 <= c.status < 300 or c.status == 409)),
        conflicts=sum(1 for c in mine if c.status == 409),
        duration_s=max(0.0, phase_end - phase_start),
        p50_ms=percentile(ordered, 50) * 1e3, p95_ms=percentile(ordered, 95) * 1e3,
        server_cpu_ms=cpu_ms)


def p95_ratio(result: EndpointResult, floor: LoadResult) -> float:
    """p95 latency of an endpoint in multiples of the floor's (1.0 = as fast as /healthz)."""
    return result.p95_ms / floor.p95_ms if floor.p95_ms > 0 else 0.0


def rps_ratio(result: EndpointResult, floor: LoadResult) -> float:
    """Requests per second of an endpoint as a fraction of the floor's."""
    return result.rps / floor.rps if floor.rps > 0 else 0.0


def cpu_ratio(result: EndpointResult, floor: LoadResult) -> float | None:
    """Server CPU per request, floor / endpoint (as http_floor's): steadier than req/s on a
    busy machine. The answer phase's CPU is shared by its endpoints (answer, next or move)."""
    if not result.server_cpu_ms or floor.server_cpu_ms is None:
        return None
    return floor.server_cpu_ms / result.server_cpu_ms


def format_engine_table(engine: str, floor: LoadResult,
                        endpoints: Sequence[EndpointResult]) -> str:
    lines = [f"{'engine':<9} {'endpoint':<9} {'requests':>8} {'errors':>6} {'409s':>5} "
             f"{'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms/req':>10} "
             f"{'req/s vs floor':>14} {'p95 vs floor':>12}"]
    cpu = "-" if floor.server_cpu_ms is None else f"{floor.server_cpu_ms:.2f}"
    lines.append(f"{engine:<9} {'/healthz':<9} {floor.requests:>8} {floor.errors:>6} "
                 f"{'-':>5} {floor.rps:>8.1f} {floor.p50_ms:>8.2f} {floor.p95_ms:>8.2f} "
                 f"{cpu:>10} {1.0:>14.3f} {1.0:>12.2f}")
    for r in endpoints:
        cpu = "-" if r.server_cpu_ms is None else f"{r.server_cpu_ms:.2f}"
        lines.append(f"{engine:<9} {r.endpoint:<9} {r.requests:>8} {r.errors:>6} "
                     f"{r.conflicts:>5} {r.rps:>8.1f} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} "
                     f"{cpu:>10} {rps_ratio(r, floor):>14.3f} {p95_ratio(r, floor):>12.2f}")
    return "\n".join(lines)


def check_bounds(candidates: int, questions: int, time_cap_s: float) -> None:
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise ValueError(f"--candidates must be 1..{MAX_CANDIDATES}")
    if not 1 <= questions <= MAX_QUESTIONS:
        raise ValueError(f"--questions must be 1..{MAX_QUESTIONS}")
    if candidates * questions > MAX_ANSWERS:
        raise ValueError(f"candidates x questions must be at most {MAX_ANSWERS}")
    if not 0 < time_cap_s <= MAX_TIME_CAP_S:
        raise ValueError(f"--time-cap-s must be in (0, {MAX_TIME_CAP_S:g}]")


# --- the API, as a candidate sees it -----------------------------------------------------------

@dataclass(frozen=True)
class Screen:
    """What the candidate has on screen after a request (``ExamStateOut``)."""

    attempt_id: int
    finished: bool
    adaptive: bool
    position: int
    length: int | None  # fixed forms: the number of questions
    item_key: str
    kind: str
    n_options: int

    @property
    def last_of_form(self) -> bool:
        return self.length is not None and self.position >= self.length


def read_screen(body: dict[str, Any]) -> Screen:
    """The attempt as ``upskill/assessment/endpoints.py`` returns it."""
    try:
        question = body["question"]
        return Screen(
            attempt_id=int(body["id"]), finished=body["status"] == "finished" or not question,
            adaptive=body["form"] == "adaptive", position=int(body["position"]),
            length=None if body["length"] is None else int(body["length"]),
            item_key="" if not question else str(question["item"]),
            kind="" if not question else str(question["kind"]),
            n_options=0 if not question else len(question["options_html"]))
    except (KeyError, TypeError, ValueError) as error:
        raise BenchError(f"Unexpected exam attempt shape ({error!r}): {body!r:.400}") from error


def answer_for(screen: Screen, rng: random.Random) -> list[str]:
    """A valid answer in shown slots: right or wrong does not matter for the load."""
    if screen.kind == "numeric":
        return [str(rng.choice([42, 7]))]
    if screen.kind == "multi":
        return [str(slot) for slot in sorted(rng.sample(range(screen.n_options),
                                                        min(2, screen.n_options)))]
    return [str(rng.randrange(max(1, screen.n_options)))]


class Candidate:
    """One simulated candidate: a keep-alive connection and a bearer token."""

    def __init__(self, site: Site, token: str, seed: int) -> None:
        self.site = site
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                        "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection(LOOPBACK, site.port, timeout=REQUEST_TIMEOUT_S)
        self.rng = random.Random(seed)
        self.calls: list[Call] = []

    def call(self, endpoint: str, method: str, path: str,
             body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=self.headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.conn.close()  # http.client reconnects on the next request
            self.calls.append(Call(endpoint, 0, started, time.perf_counter(), repr(error)))
            return 0, {}
        ended = time.perf_counter()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"raw": raw[:200].decode(errors="replace")}
        detail = "" if 200 <= response.status < 300 else str(parsed)[:300]
        self.calls.append(Call(endpoint, response.status, started, ended, detail))
        return response.status, parsed if isinstance(parsed, dict) else {"body": parsed}

    def start(self, program: str) -> Screen | None:
        status, body = self.call("start", "POST", f"{API}/{program}/attempts")
        return read_screen(body) if 200 <= status < 300 else None

    def state(self, attempt_id: int) -> Screen | None:
        status, body = self.call("state", "GET", f"{API}/attempts/{attempt_id}")
        return read_screen(body) if 200 <= status < 300 else None

    def answer_one(self, screen: Screen) -> Screen | None:
        """Autosave an answer to the question on screen, then move on: ``next`` (adaptive) or
        ``move`` to the following position (fixed; the last question stays on screen). None if
        the attempt was lost (an error: the candidate stops)."""
        attempt = f"{API}/attempts/{screen.attempt_id}"
        where = {"position": screen.position, "item_key": screen.item_key}
        status, body = self.call("answer", "PUT", f"{attempt}/answer",
                                 {**where, "answer": answer_for(screen, self.rng)})
        if status == 409:
            return self.state(screen.attempt_id)  # what a reloading page would do
        if not 200 <= status < 300:
            return None
        if screen.adaptive:
            status, body = self.call("next", "POST", f"{attempt}/next", where)
        elif not screen.last_of_form:
            status, body = self.call("move", "POST", f"{attempt}/move",
                                     {"position": screen.position + 1})
        if status == 409:
            return self.state(screen.attempt_id)
        return read_screen(body) if 200 <= status < 300 else None

    def finish(self, attempt_id: int) -> None:
        self.call("finish", "POST", f"{API}/attempts/{attempt_id}/finish")

    def close(self) -> None:
        self.conn.close()


# --- the cohort ----------------------------------------------------------------------------------

@dataclass
class Cohort:
    """Timestamps of the two phases (perf_counter) and everything the candidates did."""

    start_released: float = 0.0
    answers_released: float = 0.0
    ended: float = 0.0
    cpu_s: list[float | None] = field(default_factory=list)  # at the three moments above
    calls: list[Call] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)  # questions answered, per candidate
    finished_by_exam: int = 0  # attempts the exam itself closed (confident or max items)
    timed_out: int = 0  # candidates stopped by the time cap


def _candidate_run(candidate: Candidate, program: str, questions: int, deadline: float,
                   start_gate: threading.Barrier, answer_gate: threading.Barrier,
                   cohort: Cohort, lock: threading.Lock) -> None:
    answered = 0
    finished_by_exam = False
    timed_out = False
    screen: Screen | None = None
    try:
        start_gate.wait()
        try:
            screen = candidate.start(program)
        finally:
            answer_gate.wait()  # every candidate reaches it, so nobody waits for a failed one
        while screen is not None and not screen.finished and answered < questions:
            if time.monotonic() > deadline:
                timed_out = True
                break
            last = screen.last_of_form
            screen = candidate.answer_one(screen)
            answered += 1
            if last:
                break
        if screen is not None and screen.finished:
            finished_by_exam = True
        elif screen is not None and not timed_out:
            candidate.finish(screen.attempt_id)
    except threading.BrokenBarrierError:
        timed_out = True
    finally:
        candidate.close()
        with lock:
            cohort.calls.extend(candidate.calls)
            cohort.answered.append(answered)
            cohort.finished_by_exam += finished_by_exam
            cohort.timed_out += timed_out


def warm_up(site: Site, program: str, tokens: Sequence[str]) -> list[Call]:
    """A few candidates start and answer two questions at once before the measured cohort, so
    that no gunicorn worker meets its first exam request (imports, the bank's cache) in it."""
    calls: list[Call] = []

    def run(token: str, seed: int) -> None:
        candidate = Candidate(site, token, seed)
        screen = candidate.start(program)
        for _ in range(2):
            if screen is None or screen.finished:
                break
            screen = candidate.answer_one(screen)
        candidate.close()
        calls.extend(candidate.calls)

    threads = [threading.Thread(target=run, args=(token, n)) for n, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return calls


def run_cohort(site: Site, program: str, tokens: Sequence[str], questions: int,
               time_cap_s: float, seed: int) -> Cohort:
    """All candidates start at once, then all answer; see the module docstring."""
    cohort = Cohort()
    lock = threading.Lock()
    # The main thread passes both gates too: it notes the moments and the server's CPU.
    start_gate = threading.Barrier(len(tokens) + 1, timeout=time_cap_s)
    answer_gate = threading.Barrier(len(tokens) + 1, timeout=time_cap_s)
    deadline = time.monotonic() + time_cap_s
    threads = [threading.Thread(target=_candidate_run, args=(
        Candidate(site, token, seed + n), program, questions, deadline, start_gate,
        answer_gate, cohort, lock)) for n, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    cohort.cpu_s.append(site.server_cpu_s())
    start_gate.wait()
    cohort.start_released = time.perf_counter()
    answer_gate.wait()
    cohort.answers_released = time.perf_counter()
    cohort.cpu_s.append(site.server_cpu_s())
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + REQUEST_TIMEOUT_S))
    cohort.ended = time.perf_counter()
    cohort.cpu_s.append(site.server_cpu_s())
    return cohort


def cohort_results(cohort: Cohort) -> list[EndpointResult]:
    """Start over the start phase; answer, next or move, finish (and state, after a 409) over
    the answer phase, which ends with its last request."""
    starts = [c for c in cohort.calls if c.endpoint == "start"]
    later = [c for c in cohort.calls if c.endpoint != "start"]
    start_end = max((c.ended for c in starts), default=cohort.answers_released)
    answer_end = max((c.ended for c in later), default=cohort.ended)

    def cpu_ms(before: float | None, after: float | None, requests: int) -> float | None:
        if before is None or after is None or not requests:
            return None
        return round((after - before) * 1e3 / requests, 3)

    cpu = cohort.cpu_s
    start_cpu = cpu_ms(cpu[0], cpu[1], len(starts))
    answer_cpu = cpu_ms(cpu[1], cpu[2], len(later))
    results = [summarize("start", cohort.calls, cohort.start_released, start_end, start_cpu)]
    for endpoint in ("answer", "next", "move", "finish", "state"):
        if any(c.endpoint == endpoint for c in later):
            results.append(summarize(endpoint, later, cohort.answers_released, answer_end,
                                     answer_cpu))
    return results


# --- the scratch sites -------------------------------------------------------------------------

def postgres_admin_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.hostname not in {LOOPBACK, "localhost"}:
        raise ValueError("--postgres-url must point at 127.0.0.1")
    return parsed._replace(path="/postgres").geturl()


def postgres_reachable(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``; otherwise why not."""
    import psycopg

    try:
        with psycopg.connect(postgres_admin_url(url), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip()


@contextmanager
def scratch_database(engine: str, var_dir: Path, postgres_url: str) -> Iterator[dict[str, str]]:
    """The environment of a scratch site: a SQLite file in ``var_dir``, or a fresh PostgreSQL
    database (dropped on the way out)."""
    env = scratch_env(var_dir)
    if engine == "sqlite":
        yield env
        return
    import psycopg

    name = f"upskill_bench_exam_{os.getpid()}_{secrets.token_hex(3)}"
    admin = postgres_admin_url(postgres_url)
    with psycopg.connect(admin, connect_timeout=3, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env["DATABASE_URL"] = urlparse(admin)._replace(path=f"/{name}").geturl()
        yield env
    finally:
        with psycopg.connect(admin, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_child(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run this module's in-process part (Django on the scratch database) and read its
    JSON result."""
    done = subprocess.run([sys.executable, "-m", "bench.exam_start", "--child", *args],
                          cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=SETUP_TIMEOUT_S, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("CHILD_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"bench.exam_start --child {' '.join(args)} failed:\n"
                         f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    for shown in done.stdout.splitlines():
        if shown.startswith("NOTE "):
            print(shown.removeprefix("NOTE "), flush=True)
    result: dict[str, Any] = json.loads(line.removeprefix("CHILD_RESULT "))
    return result


@contextmanager
def serve(var_dir: Path, env: dict[str, str], web_workers: int, threads: int) -> Iterator[Site]:
    port = free_port()
    log_path = var_dir / "gunicorn.log"
    site = Site(port=port, var_dir=var_dir, env=env,
                command=gunicorn_command(port, web_workers, threads, log_path))
    # Django logs a failed request's traceback to stderr: kept to say why a request failed.
    with (var_dir / "gunicorn.stderr").open("wb") as stderr:
        site.process = subprocess.Popen(site.command, cwd=BASE_DIR, env=env,
                                        stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_until_healthy(site, log_path)
            yield site
        finally:
            stop_server(site.process)


def server_exceptions(stderr_text: str) -> dict[str, int]:
    """The exceptions that escaped in the server's stderr (the last line of each traceback;
    of a chain of tracebacks, the last one's), with how often each occurred."""
    seen: dict[str, int] = {}
    in_traceback = False
    chained = ""
    for line in stderr_text.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
        elif line.startswith(("The above exception", "During handling of the above")):
            if chained:  # the cause: only the exception that escaped counts
                seen[chained] -= 1
                if not seen[chained]:
                    del seen[chained]
        elif in_traceback and line and not line.startswith((" ", "\t")):
            in_traceback = False
            chained = line.strip()
            seen[chained] = seen.get(chained, 0) + 1
        elif not in_traceback and line:
            chained = ""
    return seen


# --- one engine --------------------------------------------------------------------------------

def exam_result(exam: dict[str, Any], floor: LoadResult, cohort: Cohort,
                warm_calls: Sequence[Call], queries_after: int | None, questions: int
                ) -> dict[str, Any]:
    """One exam's cohort on one engine, as written to the JSON file (plus ``_endpoints`` for
    the printed table)."""
    endpoints = cohort_results(cohort)
    warm_failures = [c for c in warm_calls if not 200 <= c.status < 300]
    failures = [c for c in cohort.calls if not (200 <= c.status < 300 or c.status == 409)]
    conflicts = [c for c in cohort.calls if c.status == 409]
    start_end = max((c.ended for c in cohort.calls if c.endpoint == "start"), default=0.0)
    return {
        "exam": {key: value for key, value in exam.items() if key != "queries_per_start"},
        "endpoints": [{**asdict(r), "rps": round(r.rps, 1),
                       "p95_vs_floor": round(p95_ratio(r, floor), 3),
                       "rps_vs_floor": round(rps_ratio(r, floor), 4),
                       "cpu_vs_floor": None if (c := cpu_ratio(r, floor)) is None
                       else round(c, 4)} for r in endpoints],
        "cohort": {
            "candidates": len(cohort.answered), "questions": questions,
            "answered_mean": round(sum(cohort.answered) / max(1, len(cohort.answered)), 2),
            "answered_min": min(cohort.answered, default=0),
            "finished_by_exam": cohort.finished_by_exam, "timed_out": cohort.timed_out,
            "start_phase_s": round(max(0.0, start_end - cohort.start_released), 3),
            "answer_phase_s": round(cohort.ended - cohort.answers_released, 3),
        },
        "queries_per_start": {"before_cohort": exam["queries_per_start"],
                              "after_cohort": queries_after},
        "warmup_failures": [asdict(c) for c in warm_failures[:5]],
        "failures": [asdict(c) for c in failures[:10]],
        "failure_count": len(failures) + len(warm_failures),
        "conflict_examples": [asdict(c) for c in conflicts[:5]],
        "_endpoints": endpoints,
    }


def check_warm_up(program: str, calls: Sequence[Call]) -> None:
    """Stop before the cohort if nobody could even start the exam."""
    if any(c.endpoint == "start" and 200 <= c.status < 300 for c in calls):
        return
    first = calls[0] if calls else None
    answered = f"{first.status}: {first.error}" if first else "nothing"
    raise BenchError(f"No warm-up candidate could start the exam ({API}/{program}/attempts "
                     f"answered {answered}); not measuring the cohort.")


def bench_engine(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    """Set up a scratch site on ``engine``, measure the floor, then one cohort per exam."""
    with tempfile.TemporaryDirectory(prefix="upskill-bench-exam-") as scratch:
        var_dir = Path(scratch)
        with scratch_database(engine, var_dir, args.postgres_url) as env:
            started_setup = time.perf_counter()
            manage(env, "migrate", "--noinput")
            setup = run_child(env, "prepare", str(var_dir), str(args.candidates),
                              str(args.questions), args.form)
            setup_s = time.perf_counter() - started_setup
            cohorts: list[tuple[dict[str, Any], list[Call], Cohort]] = []
            with serve(var_dir, env, args.web_workers, args.threads) as site:
                deadline = time.monotonic() + args.time_cap_s
                floor = measure(site, [FLOOR_PATH], None, requests=args.floor_requests,
                                duration_s=10.0, concurrency=args.candidates,
                                generator="python")[0]
                for exam in setup["exams"]:
                    program = exam["program"]
                    warm_calls = warm_up(site, program, setup["warmup_tokens"])
                    check_warm_up(program, warm_calls)
                    left_s = deadline - time.monotonic()
                    if left_s <= 1:
                        raise BenchError(f"The time cap ({args.time_cap_s:g} s) ran out "
                                         f"before the cohort of {program}.")
                    cohorts.append((exam, warm_calls, run_cohort(
                        site, program, setup["tokens"], args.questions, left_s, args.seed)))
                command = " ".join(site.command[1:])
            exceptions = server_exceptions(
                (var_dir / "gunicorn.stderr").read_text(errors="replace"))
            try:
                after = run_child(env, "probe", *(exam["program"] for exam in setup["exams"]))
            except BenchError as error:
                # The cohorts were measured; say why the second count is missing, keep them.
                print(f"{engine}: counting queries after the cohorts failed: "
                      f"{str(error).strip().splitlines()[-1]}", flush=True)
                after = {"queries_per_start": {}, "attempts": None}
    return {
        "engine": engine,
        "setup": {"source": setup["source"], "seconds": round(setup_s, 1)},
        "server": {"command": command, "debug": False},
        "floor": {**asdict(floor), "rps": round(floor.rps, 1)},
        "exams": [exam_result(exam, floor, cohort, warm_calls,
                              after["queries_per_start"].get(exam["program"]),
                              args.questions)
                  for exam, warm_calls, cohort in cohorts],
        "attempts_in_db_after": after["attempts"],
        "server_exceptions": exceptions,
        "_floor": floor,
    }


def print_engine(result: dict[str, Any]) -> None:
    floor: LoadResult = result["_floor"]
    engine = result["engine"]
    for exam_run in result["exams"]:
        exam = exam_run["exam"]
        cohort = exam_run["cohort"]
        endpoints: list[EndpointResult] = exam_run["_endpoints"]
        queries = exam_run["queries_per_start"]
        print(f"\n{engine}: exam {exam['program']!r} ({exam['form']}, {exam['items'][0]}.."
              f"{exam['items'][1]} of {exam['bank_items']} items, from "
              f"{result['setup']['source']}), {cohort['candidates']} candidates x "
              f"{cohort['questions']} questions")
        print(format_engine_table(engine, floor, endpoints))
        by_name = {r.endpoint: r for r in endpoints}
        for name in ("start", "answer"):
            r = by_name.get(name)
            if r is not None:
                by_cpu = cpu_ratio(r, floor)
                cpu = "" if by_cpu is None else f", by server CPU per request {by_cpu:.3f}"
                print(f"{name}: p95 {p95_ratio(r, floor):.2f}x the floor's; vs the floor by "
                      f"req/s {rps_ratio(r, floor):.3f}{cpu}")
        print(f"answered per candidate: mean {cohort['answered_mean']}, min "
              f"{cohort['answered_min']}; closed by the exam itself: "
              f"{cohort['finished_by_exam']}; stopped by the time cap: {cohort['timed_out']}")
        print(f"queries per start: {queries['before_cohort']} before the cohorts, "
              f"{queries['after_cohort']} after them ({result['attempts_in_db_after']} "
              "attempts in the database)")
        for failure in exam_run["failures"][:3] + exam_run["warmup_failures"][:3]:
            print(f"  failed: {failure['endpoint']} {failure['status']} {failure['error']}")
    for exception, count in result["server_exceptions"].items():
        print(f"  {engine} server exception x{count}: {exception}")


# --- the child: Django on the scratch database ----------------------------------------------------

def _child_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "upskill.settings")
    django.setup()


def _content_with_exam() -> tuple[Path | None, str]:
    """``content/`` if it validates and defines an exam; otherwise None and why not."""
    from upskill.catalog import services as catalog

    root = BASE_DIR / "content"
    if not any(root.glob("*/exams/*.yaml")):
        return None, "content/ defines no exam yet"
    report = catalog.validate_content(root)
    if not report.ok:
        shown = "; ".join(str(p) for p in report.problems[:3])
        return None, f"content/ does not validate ({len(report.problems)} problems: {shown})"
    return root, ""


def _fixture_content(var_dir: Path, questions: int) -> Path:
    """The test fixture's taxonomy and course plus its adaptive exam bank, set to show
    exactly ``questions`` items (at least the blueprint's 5) to every candidate."""
    from tests.content_fixtures import content_root, exam_yaml, write_exam_bank

    # content_root is a pytest fixture; the function it wraps writes the tree.
    root: Path = inspect.unwrap(content_root)(var_dir / "fixture")
    length = max(5, questions)
    per_skill = max(20, length)
    write_exam_bank(root, exam_yaml(min_items=length, max_items=length, per_skill=per_skill),
                    per_skill=per_skill)
    return root


def _make_candidates(exam_labs: Sequence[str], count: int, prefix: str) -> list[str]:
    """``count`` people with a profile and an API token, eligible for the exam; their tokens."""
    from django.utils import timezone

    from upskill.accounts import services as accounts
    from upskill.accounts.models import Profile, User
    from upskill.labs.models import Lab, Submission

    labs = list(Lab.objects.filter(slug__in=list(exam_labs), release__is_current=True))
    tokens = []
    for n in range(count):
        # No password (setting one costs an Argon2 hash each); tokens are all the load needs.
        user = User.objects.create_user(email=f"{prefix}-{n}@bench.upskill.test")
        Profile.objects.create(user=user, display_name=f"{prefix} {n}")
        for lab in labs:
            Submission.objects.create(user=user, lab=lab, code="# bench",
                                      source_kind=Submission.Source.EDITOR,
                                      status=Submission.Status.GRADED, passed=True,
                                      graded_at=timezone.now())
        _token, secret = accounts.create_token(user, name="exam bench")
        tokens.append(secret)
    return tokens


def _queries_per_start(program: str, label: str) -> int:
    """Queries of ``certification.start_exam`` for a fresh, eligible person."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from upskill.accounts.models import User
    from upskill.assessment import certification
    from upskill.assessment.models import Exam

    exam = Exam.objects.get(program__slug=program)
    prefix = f"probe-{label}-{program}"
    _make_candidates(exam.eligible_labs, 1, prefix)
    user = User.objects.get(email=f"{prefix}-0@bench.upskill.test")
    with CaptureQueriesContext(connection) as queries:
        certification.start_exam(user, program)
    return len(queries.captured_queries)


def _exams_to_bench(form: str) -> list[Any]:
    """Per form kind asked for, the exam with the fewest required labs."""
    from upskill.assessment.models import Exam

    exams = list(Exam.objects.select_related("program").order_by("pk"))
    if not exams:
        raise BenchError("No exam after importing the content.")
    kinds = [Exam.Form.FIXED, Exam.Form.ADAPTIVE] if form == "both" else [form]
    chosen = []
    for kind in kinds:
        of_kind = [exam for exam in exams if exam.form_kind == kind]
        if of_kind:
            chosen.append(min(of_kind, key=lambda e: (len(e.eligible_labs), e.pk)))
        else:
            print(f"NOTE note: no {kind} exam in the imported content", flush=True)
    if not chosen:
        raise BenchError(f"No {form} exam in the imported content.")
    return chosen


def child_prepare(var_dir: Path, candidates: int, questions: int, form: str
                  ) -> dict[str, Any]:
    from upskill.assessment import certification
    from upskill.assessment.models import Item
    from upskill.catalog import services as catalog

    root, why_not = _content_with_exam()
    source = "content/"
    if root is None:
        print(f"NOTE note: {why_not}; using the test fixture's exam "
              "(tests/content_fixtures.py)", flush=True)
        root = _fixture_content(var_dir, questions)
        source = "the test fixture"
    report = catalog.import_content(root)
    if not report.ok:
        raise BenchError("Importing the content failed: "
                         + "; ".join(str(p) for p in report.problems[:5]))
    exams = _exams_to_bench(form)
    for exam in exams:
        certification.prepare_exam(exam.pk)
        exam.refresh_from_db()
    labs = sorted({lab for exam in exams for lab in exam.eligible_labs})
    described = []
    for exam in exams:
        skills = [slug for area in exam.blueprint for slug in area["skills"]]
        described.append({
            "program": exam.program.slug, "form": exam.form_kind,
            "items": [exam.min_items, exam.max_items],
            "bank_items": Item.objects.filter(pool=Item.Pool.EXAM, in_bank=True,
                                              skill__slug__in=skills).count(),
            "eligible_labs": list(exam.eligible_labs),
            "queries_per_start": _queries_per_start(exam.program.slug, "before"),
        })
    return {
        "source": source, "exams": described,
        "tokens": _make_candidates(labs, candidates, "candidate"),
        "warmup_tokens": _make_candidates(labs, WARMUP_CANDIDATES, "warmup"),
    }


def child_probe(programs: Sequence[str]) -> dict[str, Any]:
    from upskill.assessment.models import ExamAttempt

    return {"queries_per_start": {program: _queries_per_start(program, "after")
                                  for program in programs},
            "attempts": ExamAttempt.objects.count()}


def child_main(argv: Sequence[str]) -> int:
    """The in-process part: ``prepare VAR_DIR CANDIDATES QUESTIONS FORM`` or
    ``probe PROGRAM...``; prints one ``CHILD_RESULT`` JSON line."""
    _child_django()
    action = argv[0]
    if action == "prepare":
        result = child_prepare(Path(argv[1]), int(argv[2]), int(argv[3]), argv[4])
    elif action == "probe":
        result = child_probe(argv[1:])
    else:
        raise ValueError(f"unknown child action {action!r}")
    print("CHILD_RESULT " + json.dumps(result), flush=True)
    return 0


# --- main --------------------------------------------------------------------------------------

def without_objects(value: Any) -> Any:
    """``value`` without the ``_``-prefixed keys that carry objects for printing."""
    if isinstance(value, dict):
        return {k: without_objects(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [without_objects(v) for v in value]
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--candidates", type=int, default=40,
                        help=f"simulated candidates, 1..{MAX_CANDIDATES} (default 40)")
    parser.add_argument("--questions", type=int, default=10,
                        help=f"questions each answers, 1..{MAX_QUESTIONS} (default 10)")
    parser.add_argument("--form", choices=["fixed", "adaptive", "both"], default="both",
                        help="which exams: per form kind, the one with the fewest required "
                             "labs (default both: one cohort each)")
    parser.add_argument("--floor-requests", type=int, default=2000,
                        help="/healthz requests of the floor (default 2000, at most 10 s)")
    parser.add_argument("--time-cap-s", type=float, default=MAX_TIME_CAP_S,
                        help="stop each engine's cohort after this long (default 120)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per gunicorn worker (default 4)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="a PostgreSQL on 127.0.0.1 where a scratch database may be created")
    parser.add_argument("--require-postgres", action="store_true",
                        help="fail (exit 2) instead of skipping an unreachable PostgreSQL")
    parser.add_argument("--seed", type=int, default=20261126, help="the candidates' answers")
    parser.add_argument("--output", type=Path, default=RESULT_PATH,
                        help="JSON result file (default var/bench/exam_start.json)")
    return parser.parse_args(argv)


def engines_to_run(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The engines to bench and, for each one skipped, why."""
    wanted = list(ENGINES) if args.engine == "both" else [args.engine]
    skipped: dict[str, str] = {}
    if "postgres" in wanted:
        why = postgres_reachable(args.postgres_url)
        if why is not None:
            if args.require_postgres:
                raise BenchError(f"PostgreSQL is not reachable: {why}")
            skipped["postgres"] = f"PostgreSQL is not reachable ({why}); skipped"
            wanted.remove("postgres")
    return wanted, skipped


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["--child"]:
        return child_main(raw[1:])
    args = parse_args(raw)
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    try:
        check_bounds(args.candidates, args.questions, args.time_cap_s)
        engines, skipped = engines_to_run(args)
        for engine, why in skipped.items():
            print(f"{engine}: {why}", flush=True)
        if load_before > (os.cpu_count() or 1):
            print(f"warning: load average {load_before:.1f} on {os.cpu_count()} CPUs; other "
                  "work competes with the server and the numbers will be noisy", flush=True)
        print(f"gunicorn {args.web_workers} workers x {args.threads} threads on {LOOPBACK}, "
              f"python client, {args.candidates} connections for the floor and the cohort",
              flush=True)
        for engine in engines:
            result = bench_engine(engine, args)
            print_engine(result)
            results.append(result)
    except (BenchError, ValueError) as error:
        print(f"exam_start: {error}", file=sys.stderr)
        return 2
    summary = {
        "bench": "exam_start",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average_1m": {"before": round(load_before, 2),
                                        "after": round(os.getloadavg()[0], 2)}},
        "load": {"client": "python http.client, one keep-alive connection per candidate",
                 "candidates": args.candidates, "questions": args.questions,
                 "floor_requests": args.floor_requests, "time_cap_s": args.time_cap_s},
        "skipped": skipped,
        "engines": [without_objects(r) for r in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    problems = []
    for r in results:
        if r["floor"]["errors"]:
            problems.append(f"{r['engine']}: {r['floor']['errors']} failed /healthz requests")
        for exam_run in r["exams"]:
            where = f"{r['engine']} {exam_run['exam']['program']}"
            if exam_run["failure_count"]:
                problems.append(f"{where}: {exam_run['failure_count']} failed requests")
            queries = exam_run["queries_per_start"]
            if queries["before_cohort"] != queries["after_cohort"]:
                problems.append(f"{where}: queries per start went from "
                                f"{queries['before_cohort']} to {queries['after_cohort']}")
    if problems:
        print("FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
