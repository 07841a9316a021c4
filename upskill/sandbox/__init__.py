"""Runs untrusted code: learner submissions for labs, under bubblewrap with resource limits.

Plain Python; imports neither Django nor any other Upskill package (checked by import-linter).
Decision 0004 (``docs/decisions/0004-sandbox.md``) explains the design and its limits.

Typical use by a trusted grader::

    from upskill import sandbox

    result = sandbox.run(["python", "solution.py"], scratch=job_dir,
                         limits=sandbox.Limits(wall_seconds=60),
                         mounts=[sandbox.Mount(train_dir, "/data")])
    if not result.ok:
        feedback = result.message()        # "memory limit of 1024 MB exceeded", ...
    outputs = sandbox.collect_outputs(job_dir, "outputs", max_files=10, max_bytes=10_000_000)

A run can also be a conversation: ``sandbox.run(..., dialogue=d)`` gives the program a stdin
pipe and hands what it writes on stdout to ``d`` (a :class:`Dialogue`), whose replies are
written back to its stdin (simulations' code mode steps a learner's policy this way).
"""

from upskill.sandbox.files import collect_outputs, remove_stale_scratch
from upskill.sandbox.runner import availability, environment_settings, run
from upskill.sandbox.runtime import lab_runtime
from upskill.sandbox.spec import (
    RUNTIME_DIR,
    SCRATCH_DIR,
    Dialogue,
    DialogueChannel,
    DialogueReply,
    KilledBy,
    Limits,
    Mode,
    Mount,
    OutputRejected,
    Result,
    SandboxUnavailable,
)

__all__ = [
    "RUNTIME_DIR",
    "SCRATCH_DIR",
    "Dialogue",
    "DialogueChannel",
    "DialogueReply",
    "KilledBy",
    "Limits",
    "Mode",
    "Mount",
    "OutputRejected",
    "Result",
    "SandboxUnavailable",
    "availability",
    "collect_outputs",
    "environment_settings",
    "lab_runtime",
    "remove_stale_scratch",
    "run",
]
