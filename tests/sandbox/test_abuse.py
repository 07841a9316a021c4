"""The abuse suite: hostile learner code, each case contained and explained in one sentence.

Every test runs real code in the real sandbox (bubblewrap, the lab runtime, the run's cgroup)
and checks two things: the host is untouched (nothing leaked, nothing written, nothing left
running) and ``Result.message()`` says what happened in words a learner understands.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import upskill
from tests.sandbox.conftest import (
    FAST,
    RunPython,
    assert_all_gone,
    new_marker,
    processes_with,
)
from upskill import sandbox
from upskill.sandbox import Mode, Mount, OutputRejected, SandboxUnavailable

pytestmark = pytest.mark.usefixtures("secure")

PROJECT_ROOT = Path(upskill.__file__).resolve().parent.parent


@pytest.fixture
def host_listener() -> Iterator[tuple[int, list[object]]]:
    """A TCP server on the host's 127.0.0.1, recording every connection it accepts."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, address = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(address)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


# -- network ---------------------------------------------------------------------------------

def test_no_connection_to_services_on_the_hosts_loopback(
        run_python: RunPython, host_listener: tuple[int, list[object]]) -> None:
    port, accepted = host_listener
    result = run_python(f"""
        import socket
        for port in (5432, 6379, {port}):   # PostgreSQL, Redis, a listener the test runs
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2)
                print("CONNECTED", port)
            except OSError as error:
                print("failed", port, error.errno)
        socket.create_connection(("127.0.0.1", {port}), timeout=2)
    """)
    assert "CONNECTED" not in result.stdout
    assert accepted == []
    assert result.stdout.count("failed") == 3
    assert f"failed {port} {errno.ECONNREFUSED}" in result.stdout  # an empty namespace's lo
    assert "ConnectionRefusedError" in result.stderr
    assert result.exit_code == 1
    assert result.message() == "the program exited with status 1"


def test_no_route_to_the_outside_world(run_python: RunPython) -> None:
    result = run_python("""
        import socket
        print("interfaces", [name for _, name in socket.if_nameindex()])
        try:
            socket.getaddrinfo("pypi.org", 443)
            print("RESOLVED")
        except OSError as error:
            print("no dns", type(error).__name__)
        socket.create_connection(("1.1.1.1", 443), timeout=2)
    """)
    assert "interfaces ['lo']" in result.stdout
    assert "RESOLVED" not in result.stdout
    assert "Network is unreachable" in result.stderr
    assert result.message() == "the program exited with status 1"


# -- reading what is not the learner's ---------------------------------------------------------

def test_host_files_and_secrets_do_not_exist_inside(run_python: RunPython) -> None:
    secrets = [Path("/etc/shadow"), Path("/root"), PROJECT_ROOT / "upskill" / "settings.py",
               PROJECT_ROOT / "var", PROJECT_ROOT / "pyproject.toml"]
    for path in secrets:  # the paths are real on the host, so the test means something
        assert path.exists(), path
    result = run_python(f"""
        import os
        for path in {[str(path) for path in secrets]!r} + ["/home", "/usr/local/etc"]:
            print(path, "VISIBLE" if os.path.exists(path) else "absent")
        print("etc:", sorted(os.listdir("/etc")))
        print("root:", sorted(os.listdir("/")))
        open("/etc/shadow").read()
    """)
    assert "VISIBLE" not in result.stdout
    assert "etc: ['group', 'passwd']" in result.stdout
    assert ("root: ['bin', 'dev', 'etc', 'lib', 'lib64', 'opt', 'proc', 'sbin', 'tmp', 'usr', "
            "'work']") in result.stdout
    assert "FileNotFoundError" in result.stderr
    assert result.message() == "the program exited with status 1"


def test_another_jobs_scratch_is_out_of_reach(run_python: RunPython, workdir: Path) -> None:
    other = workdir / "other-job"
    other.mkdir()
    (other / "answers.csv").write_text("id,label\n1,SECRET-LABEL\n")
    result = run_python(f"""
        import os
        for path in ({str(other / "answers.csv")!r}, "/work/../other-job/answers.csv",
                     "/work/../../other-job/answers.csv"):
            print(path, os.path.exists(path))
        found = []
        for top in ("/work", "/tmp", "/opt", "/etc", "/dev"):
            for root, dirs, files in os.walk(top):
                found += [os.path.join(root, name) for name in files if name == "answers.csv"]
        print("found", found)
        open({str(other / "answers.csv")!r})
    """)
    assert "True" not in result.stdout
    assert "found []" in result.stdout
    assert "SECRET-LABEL" not in result.stdout + result.stderr
    assert result.message() == "the program exited with status 1"


def test_the_workers_environment_does_not_leak(run_python: RunPython,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "django-insecure-SECRET-123")
    monkeypatch.setenv("DATABASE_URL", "postgres://upskill:SECRET-PW@db/upskill")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET-AWS")
    result = run_python("""
        import os
        print(sorted(os.environ))
        for path in ("/proc/self/environ", "/proc/1/environ"):
            print(open(path, "rb").read())
    """, env={"LAB_SEED": "7"})
    assert "SECRET" not in result.stdout
    assert "LAB_SEED" in result.stdout
    assert "'OPENBLAS_NUM_THREADS'" in result.stdout
    assert result.message() == "the program finished normally"


# -- writing where it should not ---------------------------------------------------------------

def test_nothing_outside_scratch_is_writable(run_python: RunPython, scratch: Path) -> None:
    runtime = sandbox.lab_runtime()
    result = run_python("""
        import os
        for path in ("/usr/evil", "/opt/lab-runtime/evil", "/etc/passwd", "/evil",
                     "/usr/local/evil", "/proc/sys/kernel/hostname", "/work/../evil"):
            try:
                with open(path, "a") as handle:
                    handle.write("x")
                print("WROTE", path)
            except OSError as error:
                print("refused", path, error.strerror)
        os.chmod("/opt/lab-runtime/pyvenv.cfg", 0o777)
    """)
    assert "WROTE" not in result.stdout
    assert result.stdout.count("refused") == 7
    assert not (runtime / "evil").exists()
    assert oct((runtime / "pyvenv.cfg").stat().st_mode & 0o777) == "0o644"
    assert "Read-only file system" in result.stderr
    assert result.message() == "the program exited with status 1"


def test_writes_inside_scratch_land_in_the_scratch_directory(run_python: RunPython,
                                                            scratch: Path) -> None:
    result = run_python("""
        open("/work/model.txt", "w").write("weights")
        open("/tmp/private.txt", "w").write("gone after the run")
    """)
    assert result.ok, result.stderr
    assert (scratch / "model.txt").read_text() == "weights"
    assert not Path("/tmp/private.txt").exists()


# -- exhausting resources ----------------------------------------------------------------------

def test_fork_bomb_is_stopped_and_leaves_nothing_behind(run_python: RunPython) -> None:
    marker = new_marker()
    result = run_python("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, marker)
    assert result.killed_by == "processes"
    assert result.exit_code is None
    assert result.wall_seconds < FAST.wall_seconds
    assert result.message() == "process limit of 32 processes and threads exceeded"
    assert_all_gone(marker)


def test_memory_bomb_is_stopped(run_python: RunPython) -> None:
    result = run_python("""
        chunks = []
        while True:
            chunks.append(b"x" * (16 << 20))
    """)
    assert result.killed_by == "memory"
    assert result.max_rss_mb is not None and result.max_rss_mb <= FAST.memory_mb
    assert result.message() == "memory limit of 256 MB exceeded"


def test_infinite_loop_is_stopped_by_the_cpu_limit(run_python: RunPython) -> None:
    # A wall limit far above the CPU limit: on a busy machine 2 s of CPU take longer than 5 s.
    limits = replace(FAST, wall_seconds=30)
    result = run_python("while True: pass", limits=limits)
    assert result.killed_by == "cpu"
    assert result.cpu_seconds >= 0.9 * limits.cpu_seconds  # cgroup and rlimit clocks differ
    assert result.wall_seconds < limits.wall_seconds
    assert result.message() == "CPU time limit of 2 s exceeded"


def test_sleeping_past_the_wall_limit_is_stopped(run_python: RunPython) -> None:
    marker = new_marker()
    result = run_python("""
        import os, time
        os.fork()   # a second sleeper, which must go too
        time.sleep(60)
    """, marker)
    assert result.killed_by == "wall"
    assert FAST.wall_seconds <= result.wall_seconds < FAST.wall_seconds + 2
    assert result.message() == "time limit of 5 s exceeded"
    assert_all_gone(marker)


def test_printing_gigabytes_is_stopped_and_truncated(run_python: RunPython) -> None:
    result = run_python("""
        import sys
        while True:
            sys.stdout.write("x" * 65536)
            sys.stderr.write("e" * 65536)
    """)
    assert result.killed_by == "output"
    assert result.stdout == "x" * FAST.output_bytes
    assert result.stderr == "e" * FAST.output_bytes
    assert result.stdout_truncated and result.stderr_truncated
    assert result.wall_seconds < FAST.wall_seconds
    assert result.message() == "output limit exceeded: the program printed more than 1 MB"


def test_filling_the_disk_is_stopped(run_python: RunPython, scratch: Path) -> None:
    result = run_python("""
        import os
        block = b"x" * (1 << 20)
        for number in range(1000):
            with open(f"/work/fill-{number}.bin", "wb") as handle:
                for _ in range(15):
                    handle.write(block)
    """)
    assert result.killed_by == "disk"
    assert result.message() == ("disk limit of 64 MB exceeded (files written to the working "
                                "directory)")
    # Measured every 50 ms, so the program overshoots by what it writes in that time.
    written_mb = sum(path.stat().st_size for path in scratch.glob("fill-*.bin")) / (1 << 20)
    assert written_mb < 4 * FAST.scratch_mb


def test_one_huge_file_is_refused(run_python: RunPython) -> None:
    result = run_python("""
        with open("/work/huge.bin", "wb") as handle:
            handle.write(b"x" * (17 << 20))
    """)
    assert "File too large" in result.stderr
    assert result.message() == "the program exited with status 1"


# -- escaping ------------------------------------------------------------------------------------

def test_symlinks_planted_in_the_output_directory_are_refused(run_python: RunPython,
                                                              scratch: Path) -> None:
    result = run_python("""
        import os
        os.makedirs("/work/outputs")
        open("/work/outputs/predictions.csv", "w").write("id,p\\n1,0.9\\n")
        os.symlink("/etc/shadow", "/work/outputs/leak.txt")
    """)
    assert result.ok, result.stderr
    # On the host the link points at the real /etc/shadow: a naive grader would read it.
    assert os.readlink(scratch / "outputs" / "leak.txt") == "/etc/shadow"
    with pytest.raises(OutputRejected) as rejected:
        sandbox.collect_outputs(scratch, "outputs", max_files=10, max_bytes=100_000)
    assert str(rejected.value) == ("outputs/leak.txt is a symbolic link; only regular files "
                                   "are collected")


def test_an_output_directory_that_is_a_symlink_is_refused(run_python: RunPython,
                                                          scratch: Path) -> None:
    result = run_python("""
        import os
        os.symlink("/etc", "/work/outputs")
        os.mkfifo("/work/pipe")
    """)
    # Once (2026-11-26, CI under heavy load) this run ended by a signal: say which, if again.
    assert result.ok, (result.message(), result.signal_number, result.wall_seconds,
                       result.cpu_seconds, result.stderr)
    with pytest.raises(OutputRejected, match="outputs is not a directory"):
        sandbox.collect_outputs(scratch, "outputs", max_files=10, max_bytes=100_000)
    (scratch / "outputs").unlink()
    (scratch / "outputs").mkdir()
    os.replace(scratch / "pipe", scratch / "outputs" / "pipe")
    with pytest.raises(OutputRejected, match="outputs/pipe is a named pipe"):
        sandbox.collect_outputs(scratch, "outputs", max_files=10, max_bytes=100_000)


def test_killing_the_parent_harms_nothing(run_python: RunPython) -> None:
    sentinel = subprocess.Popen(["sleep", "30"])
    try:
        result = run_python(f"""
            import os, signal
            print("parent inside:", os.getppid())
            for pid in (os.getppid(), 1, {sentinel.pid}, {os.getpid()}):
                try:
                    os.kill(pid, signal.SIGKILL)
                    print("sent", pid)
                except OSError as error:
                    print("refused", pid, error.strerror)
            try:
                os.kill(-1, signal.SIGKILL)   # every process this one may signal
            except OSError as error:
                print("kill -1:", error.strerror)   # there is none
            print("still here")
        """)
        assert sentinel.poll() is None  # the host process it named is alive
    finally:
        sentinel.kill()
        sentinel.wait()
    assert "parent inside: 1" in result.stdout
    assert f"refused {sentinel.pid} No such process" in result.stdout
    assert "still here" in result.stdout
    assert result.message() == "the program finished normally"


def test_a_worker_killed_mid_run_takes_its_sandbox_with_it(scratch: Path) -> None:
    marker = new_marker()
    worker_script = f"""
import sys
from pathlib import Path
from upskill import sandbox
print("started", flush=True)
sandbox.run(["python", "-c", "import time; time.sleep(60)", {marker!r}],
            scratch=Path({str(scratch)!r}))
"""
    worker = subprocess.Popen([sys.executable, "-c", worker_script], cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE)
    try:
        # Killed once the program runs (mid-run), not while bubblewrap is still starting it: a
        # CI run once killed the worker when both bubblewrap processes had the marker and the
        # program had not started, and the sandbox lived on (decision 0004, "What it does not
        # protect against").
        deadline = time.monotonic() + 30
        while not program_started(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert program_started(marker), "the sandboxed program never started"
        worker.kill()
        worker.wait()
        assert_all_gone(marker, within_s=5)
    finally:
        worker.kill()
        worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()


def program_started(marker: str) -> bool:
    """Whether a process with ``marker`` on its command line is the sandboxed program itself
    rather than one of bubblewrap's."""
    for pid in processes_with(marker):
        try:
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if not program.endswith(b"bwrap"):
            return True
    return False


def test_grader_files_cannot_be_tampered_with(run_python: RunPython, workdir: Path) -> None:
    # The grader's trusted files live outside scratch; what the learner may read is mounted
    # read-only. After the run the grader re-reads them from where it put them.
    grader = workdir / "grader"
    grader.mkdir()
    (grader / "result.json").write_text('{"score": null}')
    (grader / "features.csv").write_text("id,x\n1,0.5\n")
    before = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
              for path in grader.iterdir()}
    result = run_python("""
        import os
        attempts = [
            lambda: open("/work/grader/result.json", "w").write('{"score": 1.0}'),
            lambda: os.remove("/work/grader/result.json"),
            lambda: os.rename("/work/grader", "/work/moved"),
            lambda: os.chmod("/work/grader/result.json", 0o666),
            lambda: open("/work/grader/features.csv", "a").write("2,0.7\\n"),
        ]
        for attempt in attempts:
            try:
                attempt()
                print("CHANGED")
            except OSError as error:
                print("refused", error.strerror)
        print(open("/work/grader/features.csv").read())
    """, mounts=[Mount(source=grader, target="/work/grader")])
    assert "CHANGED" not in result.stdout
    assert result.stdout.count("refused") == 5
    assert "1,0.5" in result.stdout  # reading what it was given works
    after = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
             for path in grader.iterdir()}
    assert after == before
    assert result.message() == "the program finished normally"


def test_new_namespaces_and_mounts_are_refused(run_python: RunPython) -> None:
    result = run_python("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        for name, flag in (("user", 0x10000000), ("mount", 0x00020000), ("net", 0x40000000)):
            refused = libc.unshare(flag) != 0
            print(name, "refused" if refused else "ALLOWED", os.strerror(ctypes.get_errno()))
        mounted = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0
        print("mount", "ALLOWED" if mounted else "refused")
    """)
    assert "ALLOWED" not in result.stdout
    assert result.stdout.count("refused") == 4
    assert result.message() == "the program finished normally"


# -- failing closed ------------------------------------------------------------------------------

@pytest.fixture
def nothing_ran(scratch: Path) -> Iterator[str]:
    """Code that would leave a file in scratch if it ran; the test checks it did not."""
    yield "open('/work/RAN', 'w').write('ran')"
    assert not (scratch / "RAN").exists()


@pytest.mark.usefixtures("secure")
def test_without_bubblewrap_nothing_runs(run_python: RunPython, nothing_ran: str,
                                         monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    missing = tmp_path / "no-such-bwrap"
    monkeypatch.setenv("UPSKILL_SANDBOX_BWRAP", str(missing))
    assert sandbox.availability() == (
        f"bubblewrap is not installed ({missing} is missing): install the Debian package "
        f"'bubblewrap' (scripts/install-system-deps.sh) or set UPSKILL_SANDBOX_BWRAP")
    with pytest.raises(SandboxUnavailable, match="bubblewrap is not installed"):
        run_python(nothing_ran)


def test_refused_user_namespaces_mean_nothing_runs(run_python: RunPython, nothing_ran: str,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   workdir: Path) -> None:
    # What bwrap says inside an unprivileged Docker container.
    fake = workdir / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: Creating new namespace failed: Operation not "
                    "permitted' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("UPSKILL_SANDBOX_BWRAP", str(fake))
    reason = sandbox.availability()
    assert reason is not None
    assert "cannot create the sandbox's namespaces here" in reason
    assert "Creating new namespace failed: Operation not permitted" in reason
    with pytest.raises(SandboxUnavailable, match="Operation not permitted"):
        run_python(nothing_ran)


def test_the_insecure_mode_is_refused_in_production(run_python: RunPython, nothing_ran: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSKILL_ENV", "production")
    with pytest.raises(SandboxUnavailable, match="refused when UPSKILL_ENV=production"):
        run_python(nothing_ran, mode=Mode.INSECURE_DEV)


def test_without_a_cgroup_rlimits_still_contain_the_program(
        run_python: RunPython, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fallback for machines without writable cgroups: RLIMIT_AS and RLIMIT_NPROC, which
    # the kernel enforces because the sandbox's host user is never root.
    monkeypatch.setenv("UPSKILL_SANDBOX_CGROUP", "off")
    assert sandbox.availability() is None
    limits = replace(FAST, memory_mb=512)  # address space: the libraries alone map ~400 MB
    bomb = run_python("""
        chunks = []
        while True:
            chunks.append(b"x" * (16 << 20))
    """, limits=limits)
    assert bomb.killed_by == "memory"
    assert bomb.message() == "memory limit of 512 MB exceeded"
    marker = new_marker()
    forks = run_python("""
        import os, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(60)
                children += 1
        except OSError as error:
            print("refused after", children, error.strerror)
    """, marker)
    assert "refused after" in forks.stdout
    assert int(forks.stdout.split()[2]) < FAST.processes
    assert_all_gone(marker)


def test_signals_from_inside_reach_only_the_sandbox(run_python: RunPython) -> None:
    result = run_python("""
        import os, signal
        os.kill(os.getpid(), signal.SIGSEGV)
    """)
    assert result.killed_by == "signal"
    assert result.signal_number == signal.SIGSEGV
    assert result.message() == "the program was stopped by signal SIGSEGV (segmentation fault)"
