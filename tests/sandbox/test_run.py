"""What a run gives a well-behaved program: the lab runtime, its files, its output, its exit
status; and how ``run()`` treats its inputs (mounts, environment, scratch, the runtime)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import require
from tests.sandbox.conftest import FAST, RunPython
from upskill import sandbox
from upskill.sandbox import Limits, Mode, Mount, Result, SandboxUnavailable, runner

REQUIREMENTS = Path(sandbox.__file__).parent / "runtime-requirements.txt"
# Importing the scientific stack alone takes seconds of CPU on a busy two-core machine.
ROOMY = Limits(cpu_seconds=60, wall_seconds=120, memory_mb=1024)


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[name.strip()] = version.strip()
    return pins


@pytest.mark.usefixtures("secure")
def test_the_lab_runtime_has_the_pinned_stack_and_nothing_of_the_project(
        run_python: RunPython) -> None:
    result = run_python("""
        import importlib.metadata, importlib.util, sys
        import threadpoolctl, sklearn, pandas
        for name in ("numpy", "pandas", "scikit-learn", "scipy", "joblib"):
            print(name, importlib.metadata.version(name))
        print("prefix", sys.prefix)
        for module in ("django", "upskill", "pip"):
            print(module, importlib.util.find_spec(module))
        import numpy as np
        np.linalg.inv(np.eye(50))   # loads OpenBLAS
        pools = threadpoolctl.threadpool_info()
        print("apis", sorted(info["internal_api"] for info in pools))
        print("threads", sorted({info["num_threads"] for info in pools}))
    """, limits=ROOMY)
    assert result.ok, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    pins = pinned_versions()
    for name in ("numpy", "pandas", "scikit-learn", "scipy", "joblib"):
        assert lines[name] == pins[name]
    assert lines["prefix"] == sandbox.RUNTIME_DIR
    assert lines["django"] == lines["upskill"] == lines["pip"] == "None"
    assert "'openblas'" in lines["apis"]
    assert lines["threads"] == "[1]"  # OpenBLAS and OpenMP pools alike


@pytest.mark.usefixtures("secure")
def test_a_scikit_learn_lab_runs_and_its_outputs_are_collected(run_python: RunPython,
                                                               scratch: Path) -> None:
    result = run_python("""
        import os
        import numpy as np, pandas as pd
        from sklearn.linear_model import LogisticRegression
        rng = np.random.default_rng(0)
        X = pd.DataFrame(rng.normal(size=(2000, 20)))
        y = (X[0] + X[1] > 0).astype(int)
        model = LogisticRegression(max_iter=200).fit(X, y)
        os.makedirs("outputs")
        pd.Series(model.predict_proba(X)[:, 1]).to_csv("outputs/predictions.csv", index=False)
        print("accuracy", round(model.score(X, y), 2))
    """, limits=ROOMY)
    assert result.ok, result.stderr
    assert float(result.stdout.split()[1]) > 0.9
    assert result.cpu_seconds > 0
    assert result.max_rss_mb is not None and 20 < result.max_rss_mb < ROOMY.memory_mb
    outputs = sandbox.collect_outputs(scratch, "outputs", max_files=5, max_bytes=1_000_000)
    assert list(outputs) == ["predictions.csv"]
    assert outputs["predictions.csv"].count(b"\n") == 2001


@pytest.mark.usefixtures("secure")
def test_exit_status_and_both_streams_are_reported(run_python: RunPython) -> None:
    result = run_python("""
        import sys
        print("to stdout")
        print("to stderr", file=sys.stderr)
        sys.stdout.flush()
        sys.stdout.buffer.write(b"bad bytes: \\xff\\xfe\\n")
        sys.exit(3)
    """)
    assert result.exit_code == 3
    assert result.killed_by is None
    assert not result.ok
    assert result.stdout == "to stdout\nbad bytes: \ufffd\ufffd\n"
    assert result.stderr == "to stderr\n"
    assert result.message() == "the program exited with status 3"


@pytest.mark.usefixtures("secure")
def test_output_beyond_the_cap_is_cut_but_the_run_goes_on(run_python: RunPython) -> None:
    result = run_python("print('y' * 10_000); print('done')")
    assert result.ok
    assert result.stdout == "y" * FAST.output_bytes
    assert result.stdout_truncated and not result.stderr_truncated


@pytest.mark.usefixtures("secure")
def test_the_environment_is_exactly_what_was_passed(run_python: RunPython) -> None:
    result = run_python("""
        import os
        print(os.environ["SEED"], os.environ["OMP_NUM_THREADS"], os.environ["HOME"],
              os.getcwd())
    """, env={"SEED": "42", "OMP_NUM_THREADS": "8"})
    assert result.stdout.split() == ["42", "1", sandbox.SCRATCH_DIR, sandbox.SCRATCH_DIR]


@pytest.mark.usefixtures("secure")
def test_mounts_are_read_only_unless_writable(run_python: RunPython, workdir: Path) -> None:
    data = workdir / "data"
    data.mkdir()
    (data / "train.csv").write_text("x,y\n1,2\n")
    shared = workdir / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # a writable mount must be writable by the sandbox's host user
    result = run_python("""
        print(open("/data/train.csv").read().splitlines()[1])
        open("/shared/note.txt", "w").write("written")
        open("/data/new.csv", "w")
    """, mounts=[Mount(data, "/data"), Mount(shared, "/shared", writable=True)])
    assert result.stdout == "1,2\n"
    assert (shared / "note.txt").read_text() == "written"
    assert "Read-only file system" in result.stderr
    assert not (data / "new.csv").exists()


@pytest.mark.usefixtures("secure")
@pytest.mark.parametrize("target", ["relative/path", "/", "/work", "/usr/share/x", "/etc",
                                    "/tmp/data", "/opt/lab-runtime/lib", "/data/../etc"])
def test_mount_targets_that_would_cover_the_sandbox_are_refused(
        run_python: RunPython, workdir: Path, target: str) -> None:
    with pytest.raises(ValueError, match="mount"):
        run_python("print(1)", mounts=[Mount(workdir, target)])


@pytest.mark.usefixtures("secure")
def test_runs_in_parallel_are_isolated_from_each_other(run_python: RunPython,
                                                       workdir: Path) -> None:
    scratches = [workdir / f"job-{number}" for number in range(2)]
    results: dict[int, Result] = {}

    def job(number: int) -> None:
        scratches[number].mkdir()
        results[number] = run_python(f"""
            import os, time
            open("mine-{number}.txt", "w").write("{number}")
            time.sleep(1)
            print(sorted(os.listdir(".")))
        """, directory=scratches[number])

    started = time.monotonic()
    threads = [threading.Thread(target=job, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 2.5  # they ran side by side
    for number in range(2):
        assert results[number].stdout == f"['mine-{number}.txt']\n"


@pytest.mark.usefixtures("secure")
def test_a_scratch_directory_the_sandbox_user_cannot_enter_is_refused(
        run_python: RunPython, tmp_path: Path) -> None:
    require(os.geteuid() == 0, "only a root launcher switches to the sandbox user")
    hidden = tmp_path / "scratch"  # pytest's tmp_path sits under a 0700 directory
    hidden.mkdir()
    with pytest.raises(SandboxUnavailable, match=r"cannot reach .*chmod o\+x"):
        run_python("print(1)", directory=hidden)


@pytest.mark.usefixtures("secure")
def test_inputs_the_grader_put_in_scratch_are_readable_and_scratch_is_writable(
        run_python: RunPython, scratch: Path) -> None:
    (scratch / "solution.py").write_text("print('from the learner')\n")
    (scratch / "inputs").mkdir()
    (scratch / "inputs" / "train.csv").write_text("a\n1\n")
    result = run_python("""
        import runpy
        runpy.run_path("solution.py")
        open("inputs/seen.txt", "w").write(open("inputs/train.csv").read())
    """)
    assert result.ok, result.stderr
    assert result.stdout == "from the learner\n"
    assert (scratch / "inputs" / "seen.txt").read_text() == "a\n1\n"


def test_a_missing_lab_runtime_is_explained(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("UPSKILL_LAB_RUNTIME", str(tmp_path / "nothing-here"))
    with pytest.raises(SandboxUnavailable,
                       match=r"lab runtime is not built at .*make lab-runtime"):
        sandbox.lab_runtime()


def test_a_lab_runtime_made_from_an_interpreter_outside_usr_is_refused(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    (runtime / "bin").mkdir(parents=True)
    (runtime / "bin" / "python").symlink_to(sys.executable)
    (runtime / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\n")
    (runtime / ".installed").touch()
    monkeypatch.setenv("UPSKILL_LAB_RUNTIME", str(runtime))
    if Path(sys.executable).resolve().is_relative_to("/usr") and not Path(
            sys.executable).resolve().is_relative_to("/usr/local"):
        pytest.skip("this interpreter lives under /usr; the refusal needs one that does not")
    with pytest.raises(SandboxUnavailable, match="only exposes interpreters under /usr"):
        sandbox.lab_runtime()


@pytest.mark.usefixtures("lab_runtime_built")
def test_the_insecure_mode_applies_the_rlimits(run_python: RunPython, scratch: Path) -> None:
    result = run_python("""
        import os
        print(os.getcwd(), flush=True)
        while True:
            pass
    """, mode=Mode.INSECURE_DEV, limits=replace(FAST, wall_seconds=30))
    assert result.stdout == f"{scratch}\n"
    assert result.killed_by == "cpu"
    assert result.message() == "CPU time limit of 2 s exceeded"


@pytest.mark.slow
@pytest.mark.usefixtures("secure")
def test_an_unprivileged_launcher_without_cgroups_still_sandboxes(workdir: Path) -> None:
    """A developer's machine: an ordinary user, no writable cgroup. Runs this package as
    nobody with Debian's python3 (the project venv may live under /root)."""
    runuser = shutil.which("runuser")
    require(os.geteuid() == 0 and runuser is not None and Path("/usr/bin/python3").exists(),
            "needs root, runuser and /usr/bin/python3 to act as an ordinary user")
    assert runuser is not None
    scratch = workdir / "scratch"
    scratch.mkdir()
    shutil.chown(scratch, "nobody")
    project = Path(sandbox.__file__).resolve().parents[2]
    script = f"""
import sys
sys.path.insert(0, {str(project)!r})
from pathlib import Path
from upskill import sandbox
assert sandbox.availability() is None, sandbox.availability()
limits = sandbox.Limits(cpu_seconds=2, wall_seconds=10, memory_mb=512)
result = sandbox.run(["python", "-c", "import os; print(os.getuid(), os.listdir('/'))"],
                     scratch=Path({str(scratch)!r}), limits=limits,
                     runtime=Path({str(sandbox.lab_runtime())!r}))
print(result.exit_code, result.stdout.strip())
bomb = sandbox.run(["python", "-c", "x = []\\nwhile True: x.append(b'x' * (16 << 20))"],
                   scratch=Path({str(scratch)!r}), limits=limits,
                   runtime=Path({str(sandbox.lab_runtime())!r}))
print(bomb.message())
"""
    completed = subprocess.run(
        [runuser, "-u", "nobody", "--", "/usr/bin/python3", "-I", "-c", script],
        capture_output=True, text=True, timeout=120, check=False, cwd="/")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("0 65534 [")
    assert "'work'" in lines[0] and "'root'" not in lines[0]
    assert lines[1] == "memory limit of 512 MB exceeded"


def waiting_launchers() -> list[int]:
    """Children of this process that are launchers waiting for a command line."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]
            command_line = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(parent) == os.getpid() and command_line.startswith(b"/bin/bash\0--noprofile"):
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.usefixtures("secure")
def test_a_waiting_launcher_that_was_killed_is_replaced(run_python: RunPython) -> None:
    if runner._secure_setup().controllers is None:
        pytest.skip("without cgroups no launcher waits")
    assert run_python("print(1)").ok  # leaves the next launcher waiting
    deadline = time.monotonic() + 10
    while not waiting_launchers() and time.monotonic() < deadline:
        time.sleep(0.02)
    launchers = waiting_launchers()
    assert launchers, "no launcher was left waiting"
    for pid in launchers:
        os.kill(pid, signal.SIGKILL)
    # Dead, not dying: a launcher killed at the very moment a run takes it can still accept
    # the command line (then the run is killed with it); this test is about one that died
    # while it waited.
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in launchers) and time.monotonic() < deadline:
        time.sleep(0.01)
    result = run_python("print(2)")
    assert result.ok, result.stderr
    assert result.stdout == "2\n"


@pytest.mark.usefixtures("secure")
def test_launchers_are_forked_by_one_thread_that_outlives_every_run(
        run_python: RunPython) -> None:
    # bubblewrap's --die-with-parent fires when the *thread* that forked it ends: a launcher
    # forked by a short-lived refill thread that was still finishing when its run started got
    # SIGKILLed a moment later (runs starting from several threads at once, under load).
    if runner._secure_setup().controllers is None:
        pytest.skip("without cgroups no launcher waits")
    results: list[Result] = []
    fillers: set[threading.Thread] = set()
    for number in range(3):
        thread = threading.Thread(target=lambda n=number: results.append(run_python(f"print({n})")))
        thread.start()
        thread.join()
        fillers.update(t for t in threading.enumerate() if t.name == "sandbox-launcher")
    assert [result.stdout for result in results] == ["0\n", "1\n", "2\n"]
    assert len(fillers) == 1
    assert all(filler.is_alive() and filler.daemon for filler in fillers)


def test_the_stale_sweep_kills_what_runs_in_a_dead_workers_groups_and_removes_them() -> None:
    # A worker SIGKILLed while bubblewrap was starting a sandbox leaves that sandbox running in
    # its run's cgroup (decision 0004): the next worker's sweep kills it and removes the group.
    # Groups whose owner lives are not touched.
    from upskill.sandbox import cgroups

    controllers, why_not = cgroups.find_controllers()
    require(controllers is not None, f"no writable cgroups here: {why_not}")
    assert controllers is not None
    gone = subprocess.Popen(["true"])  # a pid that no longer runs
    gone.wait()
    parents = {controller.parent for controller in controllers.all()}
    groups = {owner: [parent / f"{cgroups._PREFIX}{owner}-{time.monotonic_ns()}"
                      for parent in sorted(parents)] for owner in (gone.pid, os.getpid())}
    sleepers: dict[int, subprocess.Popen[bytes]] = {}
    try:
        for owner, directories in groups.items():
            sleepers[owner] = subprocess.Popen(["sleep", "60"])
            for directory in directories:
                directory.mkdir()
                (directory / "cgroup.procs").write_text(str(sleepers[owner].pid))
        cgroups._remove_stale_groups(parents)
        assert sleepers[gone.pid].wait(timeout=10) == -signal.SIGKILL
        assert not any(directory.exists() for directory in groups[gone.pid])
        assert sleepers[os.getpid()].poll() is None  # its owner (this process) lives
        assert all(directory.exists() for directory in groups[os.getpid()])
    finally:
        for sleeper in sleepers.values():
            sleeper.kill()
            sleeper.wait()
        for directories in groups.values():
            cgroups._kill_and_remove([d for d in directories if d.exists()])
