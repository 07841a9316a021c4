"""The HTTP floor: how fast the real server answers its cheapest request, and
how close a real page comes to it, measured in the same run.

Starts gunicorn (the flags ``manage.py serve`` uses) on 127.0.0.1 against a
scratch SQLite database holding the demo people, logs in as the demo learner,
then puts the same bounded load on ``/healthz`` without cookies (the floor:
routing, the middleware stack and a tiny JSON body; no session, no database)
and on ``/dashboard/`` as the learner (session, user, profile, organizations,
templates). It prints requests per second, latency percentiles, server CPU
per request and the ratio page/floor (by req/s, and by CPU per request, which
other load on the machine disturbs less), and writes them to
``var/bench/http_floor.json``.

Absolute numbers depend on the machine; the ratio is what we compare. Later
benches reuse the machinery::

    from bench.http_floor import DEMO_LEARNER, log_in, measure_against_floor, ratio, scratch_site

    with scratch_site() as site:
        cookies = log_in(site, *DEMO_LEARNER)
        floor, page = measure_against_floor(site, ["/my/page/"], cookies)
        print(f"{ratio(page, floor):.3f}")

The load generator is ``wrk`` when installed (Debian package ``wrk``): on a
small machine a Python client would compete with the server for the CPU. The
fallback is a keep-alive ``http.client`` client on threads.

Exit status: 0 when every request answered 2xx, 1 otherwise (a benchmark that
measures error pages measures nothing), 2 when the site could not be set up.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
RESULT_PATH = BASE_DIR / "var" / "bench" / "http_floor.json"
LOOPBACK = "127.0.0.1"
DEMO_LEARNER = ("learner@demo.upskill.test", "demo-learner-2026")
FLOOR_PATH = "/healthz"
PAGE_PATH = "/dashboard/"

# Hard bounds: this is a local benchmark, never a load test of anything else.
MAX_REQUESTS = 100_000
MAX_DURATION_S = 60.0
MAX_CONCURRENCY = 64
REQUEST_TIMEOUT_S = 5.0
WARMUP_S = 2.0

# Settings read by upskill/settings.py that must not leak from the caller's
# shell into the scratch site (a DATABASE_URL would point migrate and
# load_demo at a real database).
_NOT_INHERITED = {
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL",
    "REDIS_URL", "DJANGO_SETTINGS_MODULE",
}


# --- pure helpers -----------------------------------------------------------

def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100); 0.0 when empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, not {q}")
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(len(sorted_values) * q / 100))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class LoadResult:
    """What one bounded load on one path measured."""

    path: str
    requests: int
    errors: int  # non-2xx answers plus connect/read/write/timeout failures
    duration_s: float
    p50_ms: float
    p95_ms: float
    generator: str
    # CPU time gunicorn (master and workers) spent per request in the run; None
    # where /proc is not available. Less disturbed by other load than req/s.
    server_cpu_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


def planned_duration_s(requests: int, warmup_rps: float, max_duration_s: float) -> float:
    """How long to load so that about ``requests`` requests are made at the warm-up's rate:
    whole seconds (wrk's unit), at least 1, at most ``max_duration_s``."""
    if warmup_rps <= 0:
        return max_duration_s
    return min(max_duration_s, float(max(1, math.ceil(requests / warmup_rps))))


def ratio(page: LoadResult, floor: LoadResult) -> float:
    """Requests per second of a page as a fraction of the floor's (1.0 = as fast as the floor)."""
    return page.rps / floor.rps if floor.rps > 0 else 0.0


def cpu_ratio(page: LoadResult, floor: LoadResult) -> float | None:
    """The same comparison by server CPU per request: floor CPU / page CPU."""
    if not page.server_cpu_ms or floor.server_cpu_ms is None:
        return None
    return floor.server_cpu_ms / page.server_cpu_ms


def format_table(results: Sequence[LoadResult]) -> str:
    """A plain-text table of results; the first row is the floor the others compare to."""
    width = max(len("URL"), *(len(r.path) for r in results))
    lines = [f"{'URL':<{width}}  {'requests':>8}  {'errors':>6}  {'req/s':>8}  "
             f"{'p50 ms':>7}  {'p95 ms':>7}  {'cpu ms/req':>10}  {'vs floor':>8}"]
    floor = results[0]
    for r in results:
        cpu = "-" if r.server_cpu_ms is None else f"{r.server_cpu_ms:.2f}"
        lines.append(f"{r.path:<{width}}  {r.requests:>8}  {r.errors:>6}  {r.rps:>8.1f}  "
                     f"{r.p50_ms:>7.2f}  {r.p95_ms:>7.2f}  {cpu:>10}  {ratio(r, floor):>8.3f}")
    return "\n".join(lines)


def parse_csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if match is None:
        raise BenchError("The login page has no csrfmiddlewaretoken field.")
    return match.group(1)


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def cookie_headers(cookies: dict[str, str] | None) -> dict[str, str]:
    """The request headers that carry ``cookies``: none at all for an anonymous request."""
    return {"Cookie": cookie_header(cookies)} if cookies else {}


class BenchError(Exception):
    """The site could not be set up or answered something unexpected."""


# --- the scratch site ---------------------------------------------------------

@dataclass
class Site:
    """A running gunicorn on loopback, with its scratch var dir."""

    port: int
    var_dir: Path
    env: dict[str, str]
    command: list[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(LOOPBACK, self.port, timeout=REQUEST_TIMEOUT_S)

    def server_cpu_s(self) -> float | None:
        return process_tree_cpu_s(self.process.pid) if self.process else None


def process_tree_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by ``pid`` and its live children,
    read from /proc; None where there is no /proc (not Linux)."""
    proc = Path("/proc")
    if not (proc / str(pid) / "stat").exists():
        return None
    ticks = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # Fields after the ")" that closes the command name: 1 = ppid,
            # 11 = utime, 12 = stime (proc(5) numbers them 4, 14 and 15).
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def scratch_env(var_dir: Path) -> dict[str, str]:
    """Embedded mode on a private SQLite file, DEBUG off, quiet logs."""
    env = {name: value for name, value in os.environ.items()
           if name not in _NOT_INHERITED and not name.startswith(("UPSKILL_", "EMAIL_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "upskill.settings",
        "UPSKILL_ENV": "development",  # production refuses load_demo's known passwords
        "DEBUG": "false",  # no query log, no debug pages: closer to what people run
        "UPSKILL_VAR_DIR": str(var_dir),
        "UPSKILL_SQLITE_PATH": str(var_dir / "bench.sqlite3"),
        "UPSKILL_LOG_LEVEL": "WARNING",
    })
    return env


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def gunicorn_command(port: int, workers: int, threads: int, log_path: Path) -> list[str]:
    # The same server flags as upskill/core/management/commands/serve.py, minus the access log.
    return [sys.executable, "-m", "gunicorn", "upskill.wsgi:application",
            "--bind", f"{LOOPBACK}:{port}", "--workers", str(workers), "--threads", str(threads),
            "--graceful-timeout", "10", "--error-logfile", str(log_path)]


def wait_until_healthy(site: Site, log_path: Path, timeout_s: float = 30.0) -> None:
    assert site.process is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if site.process.poll() is not None:
            raise BenchError(f"gunicorn exited with {site.process.returncode}:\n"
                             f"{log_path.read_text()[-3000:]}")
        try:
            status, _headers, _body = get(site, FLOOR_PATH)
            if status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass  # not listening yet
        time.sleep(0.1)
    raise BenchError(f"gunicorn did not answer {FLOOR_PATH} within {timeout_s:.0f} s.")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets gunicorn finish in-flight requests; kill only if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def scratch_site(*, web_workers: int = 2, threads: int = 4,
                 setup: Sequence[Sequence[str]] = ()) -> Iterator[Site]:
    """Migrate a scratch SQLite database, load the demo people, run any further
    ``setup`` management commands, serve it with gunicorn on 127.0.0.1 and stop the
    server (and delete the scratch dir) on the way out."""
    with tempfile.TemporaryDirectory(prefix="upskill-bench-") as scratch:
        var_dir = Path(scratch)
        env = scratch_env(var_dir)
        manage(env, "migrate", "--noinput")
        manage(env, "load_demo")
        for command in setup:
            manage(env, *command)
        port = free_port()
        log_path = var_dir / "gunicorn.log"
        site = Site(port=port, var_dir=var_dir, env=env,
                    command=gunicorn_command(port, web_workers, threads, log_path))
        site.process = subprocess.Popen(site.command, cwd=BASE_DIR, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_healthy(site, log_path)
            yield site
        finally:
            stop_server(site.process)


# --- talking to it ---------------------------------------------------------------

def get(site: Site, path: str, cookies: dict[str, str] | None = None
        ) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = site.connection()
    try:
        conn.request("GET", path, headers=cookie_headers(cookies))
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def set_cookies(headers: http.client.HTTPMessage) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for line in headers.get_all("Set-Cookie") or []:
        jar.load(line)
    return {name: morsel.value for name, morsel in jar.items()}


def log_in(site: Site, email: str, password: str) -> dict[str, str]:
    """Log in through the real login form; returns the cookies of the signed-in session."""
    status, headers, body = get(site, "/account/login/")
    if status != 200:
        raise BenchError(f"GET /account/login/ answered {status}.")
    cookies = set_cookies(headers)
    form = urlencode({"csrfmiddlewaretoken": parse_csrf_token(body.decode()),
                      "username": email, "password": password})
    conn = site.connection()
    try:
        conn.request("POST", "/account/login/", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie_header(cookies),
        })
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    cookies.update(set_cookies(response.headers))
    if response.status != 302 or "sessionid" not in cookies:
        raise BenchError(f"Logging in as {email} failed (status {response.status}).")
    return cookies


def check_answers_2xx(site: Site, path: str, cookies: dict[str, str]) -> None:
    """Fail before loading a path that answers a redirect or an error page."""
    status, headers, _body = get(site, path, cookies)
    if not 200 <= status < 300:
        where = headers.get("Location", "")
        raise BenchError(f"GET {path} answered {status} {where}".rstrip() + "; not measuring it.")


# --- load generators ----------------------------------------------------------------

# Counts non-2xx answers per thread and prints one machine-readable line at
# the end. wrk stops only on time (its reported duration is always -d, even if
# a script stops its threads early), so the request cap is applied by planning
# the run's length from the warm-up's rate: see planned_duration_s.
_WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d}\\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95)))
end
"""


def wrk_threads(concurrency: int) -> int:
    # One epoll thread drives dozens of connections; a second only steals the server's CPU.
    return 1 if concurrency < 16 else 2


def load_with_wrk(site: Site, path: str, cookies: dict[str, str], *, requests: int,
                  duration_s: float, concurrency: int) -> LoadResult:
    """Load ``path`` for ``duration_s`` (whole seconds, at least 1); ``requests`` is
    not enforced by wrk, ``measure`` plans the duration to approximate it."""
    del requests  # wrk has no request cap; see planned_duration_s
    seconds = max(1, math.ceil(duration_s))
    script = site.var_dir / "floor.lua"
    script.write_text(_WRK_SCRIPT)
    argv = ["wrk", f"-t{wrk_threads(concurrency)}", f"-c{concurrency}", f"-d{seconds}s",
            f"--timeout={REQUEST_TIMEOUT_S:.0f}s", "-s", str(script)]
    for name, value in cookie_headers(cookies).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"{site.base_url}{path}")
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          timeout=seconds + 30)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    return LoadResult(
        path=path, requests=data["requests"], errors=data["non2xx"] + data["socket_errors"],
        duration_s=data["duration_us"] / 1e6, p50_ms=data["p50_us"] / 1e3,
        p95_ms=data["p95_us"] / 1e3, generator="wrk",
    )


class _Tickets:
    """Hands out at most ``limit`` request tickets across client threads."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def _client_loop(site: Site, path: str, headers: dict[str, str], tickets: _Tickets,
                 deadline: float, latencies_s: list[float], errors: list[int]) -> None:
    conn = site.connection()  # keep-alive; http.client reconnects if the server closes
    try:
        while time.monotonic() < deadline and tickets.take():
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors.append(1)
                conn.close()
                continue
            latencies_s.append(time.perf_counter() - started)
            if not 200 <= response.status < 300:
                errors.append(1)
    finally:
        conn.close()


def load_with_python(site: Site, path: str, cookies: dict[str, str], *, requests: int,
                     duration_s: float, concurrency: int) -> LoadResult:
    headers = cookie_headers(cookies)
    tickets = _Tickets(requests)
    latencies_s: list[float] = []  # list.append is atomic; threads share these two lists
    errors: list[int] = []
    started = time.perf_counter()
    deadline = time.monotonic() + duration_s
    clients = [threading.Thread(target=_client_loop,
                                args=(site, path, headers, tickets, deadline, latencies_s, errors))
               for _ in range(concurrency)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    elapsed_s = time.perf_counter() - started
    ordered = sorted(latencies_s)
    return LoadResult(
        path=path, requests=len(ordered), errors=len(errors), duration_s=elapsed_s,
        p50_ms=percentile(ordered, 50) * 1e3, p95_ms=percentile(ordered, 95) * 1e3,
        generator="python",
    )


def pick_generator(preference: str = "auto") -> str:
    if preference == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if preference == "wrk" and not shutil.which("wrk"):
        raise BenchError("wrk is not installed (Debian package wrk).")
    return preference


def check_bounds(requests: int, duration_s: float, concurrency: int) -> None:
    if not 1 <= requests <= MAX_REQUESTS:
        raise ValueError(f"requests must be 1..{MAX_REQUESTS}")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration_s must be in (0, {MAX_DURATION_S}]")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be 1..{MAX_CONCURRENCY}")


def measure(site: Site, paths: Sequence[str], cookies: dict[str, str] | None = None, *,
            requests: int = 2000, duration_s: float = 10.0, concurrency: int = 8,
            warmup_requests: int = 200, generator: str = "auto") -> list[LoadResult]:
    """Put the same bounded load on each path in turn: ``concurrency`` connections, about
    ``requests`` requests and never more than ``duration_s`` seconds, after a warm-up of
    at most ``warmup_requests`` requests or 2 s that is not counted but sets the run's
    length (wrk can only stop on time).

    Each path is first fetched once and must answer 2xx, so a lost session or a
    broken page stops the bench instead of being measured.
    """
    check_bounds(requests, duration_s, concurrency)
    cookies = cookies or {}
    load = load_with_wrk if pick_generator(generator) == "wrk" else load_with_python
    results = []
    for path in paths:
        check_answers_2xx(site, path, cookies)
        warm = load(site, path, cookies, requests=warmup_requests,
                    duration_s=min(WARMUP_S, duration_s), concurrency=concurrency)
        run_s = planned_duration_s(requests, warm.rps, duration_s)
        cpu_before = site.server_cpu_s()
        result = load(site, path, cookies, requests=requests, duration_s=run_s,
                      concurrency=concurrency)
        cpu_after = site.server_cpu_s()
        if cpu_before is not None and cpu_after is not None and result.requests:
            cpu_ms = (cpu_after - cpu_before) * 1e3 / result.requests
            result = replace(result, server_cpu_ms=round(cpu_ms, 3))
        results.append(result)
    return results


def measure_against_floor(site: Site, page_paths: Sequence[str], cookies: dict[str, str], *,
                          requests: int = 2000, duration_s: float = 10.0, concurrency: int = 8,
                          generator: str = "auto") -> list[LoadResult]:
    """The floor (``/healthz`` without cookies: no session, no database) followed by each
    page with ``cookies``, all under the same load; compare with ``ratio(page, floor)``."""
    floor = measure(site, [FLOOR_PATH], None, requests=requests, duration_s=duration_s,
                    concurrency=concurrency, generator=generator)
    pages = measure(site, page_paths, cookies, requests=requests, duration_s=duration_s,
                    concurrency=concurrency, generator=generator)
    return [*floor, *pages]


# --- the floor bench ---------------------------------------------------------------

def report(site: Site, results: Sequence[LoadResult], args: argparse.Namespace,
           load_before: float) -> dict[str, object]:
    floor = results[0]
    return {
        "bench": "http_floor",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average_1m": {"before": round(load_before, 2),
                                        "after": round(os.getloadavg()[0], 2)}},
        "server": {"command": " ".join(site.command[1:]), "database": "sqlite (scratch, WAL)",
                   "debug": False},
        "load": {"generator": results[0].generator, "concurrency": args.concurrency,
                 "max_requests": args.requests, "max_duration_s": args.duration_s},
        "floor": {"path": floor.path, "cookies": False},
        "pages_signed_in_as": DEMO_LEARNER[0],
        "results": [{**asdict(r), "rps": round(r.rps, 1)} for r in results],
        "ratios": {r.path: round(ratio(r, floor), 4) for r in results[1:]},
        "cpu_ratios": {r.path: None if (c := cpu_ratio(r, floor)) is None else round(c, 4)
                       for r in results[1:]},
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="cap per URL (default 2000)")
    parser.add_argument("--duration-s", type=float, default=10.0,
                        help="time cap per URL in seconds (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (default 8)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per gunicorn worker (default 4)")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--output", type=Path, default=RESULT_PATH,
                        help="JSON result file (default var/bench/http_floor.json)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_bounds(args.requests, args.duration_s, args.concurrency)
        generator = pick_generator(args.generator)
        load_before = os.getloadavg()[0]
        if load_before > (os.cpu_count() or 1):
            print(f"warning: load average {load_before:.1f} on {os.cpu_count()} CPUs; other "
                  "work competes with the server and the numbers will be noisy", flush=True)
        with scratch_site(web_workers=args.web_workers, threads=args.threads) as site:
            cookies = log_in(site, *DEMO_LEARNER)
            results = measure_against_floor(
                site, [PAGE_PATH], cookies, requests=args.requests,
                duration_s=args.duration_s, concurrency=args.concurrency, generator=generator)
            summary = report(site, results, args, load_before)
    except (BenchError, ValueError) as error:
        print(f"http_floor: {error}", file=sys.stderr)
        return 2
    print(f"gunicorn {args.web_workers} workers x {args.threads} threads on {LOOPBACK}, "
          f"{generator}, {args.concurrency} connections, "
          f"about {args.requests} requests and at most {args.duration_s:g} s per URL")
    print(format_table(results))
    floor, page = results
    print(f"ratio {PAGE_PATH} / {FLOOR_PATH} by req/s: {ratio(page, floor):.3f}")
    by_cpu = cpu_ratio(page, floor)
    if by_cpu is not None:
        print(f"ratio {PAGE_PATH} / {FLOOR_PATH} by server CPU per request: {by_cpu:.3f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.output}")
    failed = [r for r in results if r.errors]
    if failed:
        print("FAILED: " + ", ".join(f"{r.path} had {r.errors} failed or non-2xx requests"
                                     for r in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
