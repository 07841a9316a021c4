"""Reading what the learner left in scratch without following anything the learner planted,
and removing scratch directories nobody will remove any more.

Every directory is opened relative to its parent's descriptor with ``O_NOFOLLOW``, every file
with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat`` after opening, so a symbolic link
swapped in at any moment can neither lead outside scratch nor make the grader block on a pipe.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from upskill.sandbox.spec import OutputRejected

__all__ = ["collect_outputs", "disk_usage", "remove_stale_scratch"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_MAX_DEPTH = 16


def collect_outputs(
    scratch: Path, relative_dir: str, *, max_files: int, max_bytes: int
) -> dict[str, bytes]:
    """The regular files under ``scratch/relative_dir``, keyed by their path relative to it
    (``"plots/roc.svg"``), for the trusted grader to read after the run.

    Guarantees: nothing outside ``scratch`` is read (symbolic links are refused wherever they
    are, including in ``relative_dir`` itself); only regular files are opened; at most
    ``max_files`` files and ``max_bytes`` bytes are read. Anything else raises
    :class:`OutputRejected` with a sentence for the learner. A missing directory gives ``{}``.
    """
    parts = _relative_parts(relative_dir)
    root_fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    with contextlib.ExitStack() as stack:
        stack.callback(os.close, root_fd)
        directory_fd = root_fd
        for index, part in enumerate(parts):
            shown = "/".join(parts[: index + 1])
            try:
                directory_fd = os.open(part, _DIR_FLAGS, dir_fd=directory_fd)
            except FileNotFoundError:
                return {}
            except OSError as error:
                raise OutputRejected(_not_a_directory(shown, error)) from error
            stack.callback(os.close, directory_fd)
        collected: dict[str, bytes] = {}
        budget = _Budget(max_bytes)
        _collect(directory_fd, relative_dir.strip("/"), "", collected, max_files, budget, 0)
        return collected


def disk_usage(scratch: Path, *, max_entries: int) -> tuple[int, int]:
    """(bytes allocated, entries) under ``scratch``, counting at most ``max_entries`` entries;
    links are counted, never followed."""
    used = entries = 0
    try:
        root_fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return 0, 0
    pending = [root_fd]
    try:
        while pending and entries <= max_entries:
            directory_fd = pending.pop()
            try:
                for name, info in _entries(directory_fd):
                    entries += 1
                    used += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode) and entries <= max_entries:
                        with contextlib.suppress(OSError):
                            pending.append(os.open(name, _DIR_FLAGS, dir_fd=directory_fd))
            finally:
                os.close(directory_fd)
    finally:
        for fd in pending:
            os.close(fd)
    return used, entries


def remove_stale_scratch(scratch_root: Path, *, prefix: str, older_than_s: float) -> int:
    """Delete the directories directly under ``scratch_root`` whose name starts with ``prefix``
    and that were last modified more than ``older_than_s`` ago: scratch left behind by a worker
    that was killed before it could remove its own. Returns how many were removed.

    ``older_than_s`` must exceed the longest a live run keeps its scratch (its wall limit, or
    how long a run started ahead may wait). Symbolic links are neither followed nor removed;
    what cannot be removed is left for the next sweep.
    """
    deadline = time.time() - older_than_s
    removed = 0
    try:
        entries = list(os.scandir(scratch_root))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False) and (
                    entry.stat(follow_symlinks=False).st_mtime < deadline):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
    return removed


def _collect(directory_fd: int, shown_dir: str, prefix: str, collected: dict[str, bytes],
             max_files: int, budget: _Budget, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise OutputRejected(f"{shown_dir}/{prefix} is nested too deeply")
    for name, info in sorted(_entries(directory_fd)):
        key = f"{prefix}{name}"
        shown = f"{shown_dir}/{key}"
        if stat.S_ISDIR(info.st_mode):
            try:
                child_fd = os.open(name, _DIR_FLAGS, dir_fd=directory_fd)
            except OSError as error:
                raise OutputRejected(_not_a_directory(shown, error)) from error
            try:
                _collect(child_fd, shown_dir, f"{key}/", collected, max_files, budget, depth + 1)
            finally:
                os.close(child_fd)
            continue
        if not stat.S_ISREG(info.st_mode):
            raise OutputRejected(f"{shown} is {_kind(info.st_mode)}; only regular files are "
                                 f"collected")
        if len(collected) >= max_files:
            raise OutputRejected(f"{shown_dir} holds more than {max_files} files")
        collected[key] = _read_regular(directory_fd, name, shown, budget)


def _read_regular(directory_fd: int, name: str, shown: str, budget: _Budget) -> bytes:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=directory_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OutputRejected(f"{shown} is a symbolic link; only regular files are "
                                 f"collected") from error
        raise OutputRejected(f"{shown} cannot be read ({error.strerror})") from error
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped between listing and opening
            raise OutputRejected(f"{shown} is {_kind(info.st_mode)}; only regular files are "
                                 f"collected")
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, min(1 << 20, budget.remaining + 1))
            if not chunk:
                break
            chunks.append(chunk)
            budget.remaining -= len(chunk)
            if budget.remaining < 0:
                raise OutputRejected(f"the output files hold more than {budget.limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.remaining = limit


def _entries(directory_fd: int) -> Iterator[tuple[str, os.stat_result]]:
    for name in os.listdir(directory_fd):
        try:
            yield name, os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue


def _relative_parts(relative_dir: str) -> list[str]:
    path = PurePosixPath(relative_dir)
    parts = [part for part in path.parts if part != "."]
    if path.is_absolute() or not parts or ".." in parts:
        raise ValueError(f"relative_dir must be a relative path inside scratch, not "
                         f"{relative_dir!r}")
    return parts


def _not_a_directory(shown: str, error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        return f"{shown} is not a directory (symbolic links are not followed)"
    return f"{shown} cannot be opened ({error.strerror})"


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
