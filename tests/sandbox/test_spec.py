"""The vocabulary of a run: limits are validated, and every way a run ends reads as a
sentence for the learner."""

from __future__ import annotations

import pytest

from upskill.sandbox import KilledBy, Limits, Result


def ended(killed_by: KilledBy | None, *, exit_code: int | None = None,
          signal_number: int | None = None, limits: Limits | None = None) -> Result:
    return Result(exit_code=exit_code, killed_by=killed_by, stdout="", stderr="",
                  stdout_truncated=False, stderr_truncated=False, cpu_seconds=0.0,
                  wall_seconds=0.0, max_rss_mb=None, signal_number=signal_number,
                  limits=limits or Limits())


@pytest.mark.parametrize(("killed_by", "sentence"), [
    ("cpu", "CPU time limit of 60 s exceeded"),
    ("wall", "time limit of 120 s exceeded"),
    ("memory", "memory limit of 1024 MB exceeded"),
    ("processes", "process limit of 64 processes and threads exceeded"),
    ("output", "output limit exceeded: the program printed more than 8 MB"),
    ("disk", "disk limit of 256 MB exceeded (files written to the working directory)"),
])
def test_each_limit_has_a_sentence_with_the_default_numbers(killed_by: KilledBy,
                                                            sentence: str) -> None:
    assert ended(killed_by).message() == sentence


def test_the_numbers_in_the_sentences_come_from_the_run_limits() -> None:
    limits = Limits(cpu_seconds=1.5, wall_seconds=30, memory_mb=512, output_kill_bytes=500_000)
    assert ended("cpu", limits=limits).message() == "CPU time limit of 1.5 s exceeded"
    assert ended("wall", limits=limits).message() == "time limit of 30 s exceeded"
    assert ended("memory", limits=limits).message() == "memory limit of 512 MB exceeded"
    assert ended("output", limits=limits).message() == (
        "output limit exceeded: the program printed more than 500 KB")


def test_normal_endings_and_signals_read_plainly() -> None:
    assert ended(None, exit_code=0).message() == "the program finished normally"
    assert ended(None, exit_code=0).ok
    assert ended(None, exit_code=2).message() == "the program exited with status 2"
    assert not ended(None, exit_code=2).ok
    assert ended("signal", signal_number=11).message() == (
        "the program was stopped by signal SIGSEGV (segmentation fault)")
    assert ended("signal", signal_number=200).message() == (
        "the program was stopped by signal 200")


@pytest.mark.parametrize("field", ["cpu_seconds", "wall_seconds", "memory_mb", "processes",
                                   "output_bytes", "output_kill_bytes", "file_size_mb",
                                   "scratch_mb"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=f"Limits.{field} must be positive"):
        Limits(**{field: 0})
