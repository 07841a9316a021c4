"""Shared pieces of the sandbox tests: small limits, scratch directories, a runner for Python
snippets and a check that nothing a run started is still alive."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tests.conftest import require
from upskill import sandbox
from upskill.sandbox import Limits, Mode, Mount, Result, SandboxUnavailable

# Small limits keep the suite fast: every limit is hit within a few seconds.
FAST = Limits(cpu_seconds=2, wall_seconds=5, memory_mb=256, processes=32, output_bytes=4000,
              output_kill_bytes=1_000_000, file_size_mb=16, scratch_mb=64)

RunPython = Callable[..., Result]


def runtime_problem() -> str | None:
    try:
        sandbox.lab_runtime()
    except SandboxUnavailable as error:
        return str(error)
    return None


@pytest.fixture
def secure() -> None:
    """The secure sandbox and the lab runtime work here (CI=true: or the test fails)."""
    reason = sandbox.availability()
    require(reason is None, f"the secure sandbox is unavailable: {reason}")
    problem = runtime_problem()
    require(problem is None, f"the lab runtime is missing: {problem}")


@pytest.fixture
def lab_runtime_built() -> None:
    problem = runtime_problem()
    require(problem is None, f"the lab runtime is missing: {problem}")


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory for a test's scratch, grader and other-job directories. Not pytest's
    tmp_path: that lives under a 0700 directory, which the sandbox's unprivileged host user
    could not enter (run() refuses such a scratch directory, see test_run.py)."""
    directory = Path(tempfile.mkdtemp(prefix="upskill-sandbox-test-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def scratch(workdir: Path) -> Path:
    directory = workdir / "scratch"
    directory.mkdir()
    return directory


@pytest.fixture
def run_python(scratch: Path) -> RunPython:
    """Run a Python snippet with the lab interpreter in ``scratch`` under :data:`FAST`."""

    def run(code: str, *args: str, limits: Limits = FAST, mounts: Sequence[Mount] = (),
            env: Mapping[str, str] | None = None, mode: Mode = Mode.SECURE,
            directory: Path | None = None) -> Result:
        return sandbox.run(["python", "-c", textwrap.dedent(code), *args],
                           scratch=directory or scratch, limits=limits, mounts=mounts, env=env,
                           mode=mode)

    return run


def new_marker() -> str:
    """A word to put on a command line, to find the run's processes afterwards."""
    return f"upskill-test-{uuid.uuid4().hex}"


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command_line = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in command_line:
            found.append(int(entry))
    return found


def assert_all_gone(marker: str, within_s: float = 2.0) -> None:
    """No process whose command line holds ``marker`` is left (SIGKILLed ones may take a
    moment to finish exiting)."""
    deadline = time.monotonic() + within_s
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []
