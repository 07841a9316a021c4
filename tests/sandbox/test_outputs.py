"""collect_outputs: what the trusted grader reads back from a scratch directory the learner
controlled, and remove_stale_scratch: what is left of killed workers' runs. Plain file-system
tests, no sandbox needed."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import require
from upskill.sandbox import OutputRejected, collect_outputs, remove_stale_scratch


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    directory = tmp_path / "outputs"
    directory.mkdir()
    return directory


def collect(scratch: Path, relative_dir: str = "outputs", max_files: int = 10,
            max_bytes: int = 10_000) -> dict[str, bytes]:
    return collect_outputs(scratch, relative_dir, max_files=max_files, max_bytes=max_bytes)


def test_regular_files_are_collected_with_their_relative_paths(tmp_path: Path,
                                                               outputs: Path) -> None:
    (outputs / "predictions.csv").write_bytes(b"id,p\n")
    (outputs / "plots").mkdir()
    (outputs / "plots" / "roc.svg").write_bytes(b"<svg/>")
    (outputs / "empty.txt").write_bytes(b"")
    assert collect(tmp_path) == {"empty.txt": b"", "plots/roc.svg": b"<svg/>",
                                 "predictions.csv": b"id,p\n"}


def test_a_missing_output_directory_gives_nothing(tmp_path: Path) -> None:
    assert collect(tmp_path, "outputs/run-1") == {}


def test_a_symlink_to_a_host_file_is_refused(tmp_path: Path, outputs: Path) -> None:
    (outputs / "leak.txt").symlink_to("/etc/passwd")
    with pytest.raises(OutputRejected) as rejected:
        collect(tmp_path)
    assert str(rejected.value) == ("outputs/leak.txt is a symbolic link; only regular files "
                                   "are collected")


def test_a_symlinked_directory_anywhere_on_the_way_is_refused(tmp_path: Path,
                                                              outputs: Path) -> None:
    (outputs / "deep").symlink_to("/etc")
    with pytest.raises(OutputRejected, match="outputs/deep is a symbolic link"):
        collect(tmp_path)
    with pytest.raises(OutputRejected, match="outputs/deep is not a directory"):
        collect(tmp_path, "outputs/deep")


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path, outputs: Path) -> None:
    os.mkfifo(outputs / "pipe")
    with pytest.raises(OutputRejected, match="outputs/pipe is a named pipe"):
        collect(tmp_path)


def test_a_socket_is_refused(tmp_path: Path, outputs: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(outputs / "socket"))
    try:
        with pytest.raises(OutputRejected, match="outputs/socket is a socket"):
            collect(tmp_path)
    finally:
        server.close()


def test_a_device_is_refused(tmp_path: Path, outputs: Path) -> None:
    require(os.geteuid() == 0, "creating a device node needs root")
    os.mknod(outputs / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    with pytest.raises(OutputRejected, match="outputs/null is a device"):
        collect(tmp_path)


def test_too_many_files_are_refused(tmp_path: Path, outputs: Path) -> None:
    for number in range(3):
        (outputs / f"{number}.txt").write_text("x")
    with pytest.raises(OutputRejected, match="outputs holds more than 2 files"):
        collect(tmp_path, max_files=2)


def test_too_many_bytes_are_refused(tmp_path: Path, outputs: Path) -> None:
    (outputs / "a.bin").write_bytes(b"x" * 60)
    (outputs / "b.bin").write_bytes(b"x" * 60)
    assert len(collect(tmp_path, max_bytes=120)) == 2
    with pytest.raises(OutputRejected, match="the output files hold more than 100 bytes"):
        collect(tmp_path, max_bytes=100)


@pytest.mark.parametrize("relative_dir", ["/etc", "../outside", "outputs/../../x", "", "."])
def test_a_directory_outside_scratch_cannot_be_named(tmp_path: Path, relative_dir: str) -> None:
    with pytest.raises(ValueError, match="relative path inside scratch"):
        collect(tmp_path, relative_dir)


names = st.text(alphabet="abcdefghij_-.", min_size=1, max_size=8).filter(
    lambda name: name not in (".", ".."))


@settings(max_examples=30, deadline=None)
@given(tree=st.dictionaries(st.lists(names, min_size=1, max_size=3).map(tuple),
                            st.binary(max_size=50), max_size=8))
def test_any_tree_of_regular_files_is_read_back_exactly(tmp_path_factory: pytest.TempPathFactory,
                                                        tree: dict[tuple[str, ...], bytes]
                                                        ) -> None:
    scratch = tmp_path_factory.mktemp("scratch")
    expected: dict[str, bytes] = {}
    for parts, content in tree.items():
        path = scratch.joinpath("outputs", *parts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        except (FileExistsError, IsADirectoryError, NotADirectoryError):
            continue  # a name used both as a file and as a directory: keep the first
        expected = {key: value for key, value in expected.items()
                    if not key.startswith("/".join(parts) + "/")}
        expected["/".join(parts)] = content
    assert collect(scratch, max_files=100, max_bytes=100_000) == expected


# -- removing scratch directories killed workers left behind ---------------------------------

def test_only_old_scratch_directories_with_the_prefix_are_removed(tmp_path: Path) -> None:
    root = tmp_path / "scratch-root"
    root.mkdir()
    outside = tmp_path / "not-scratch"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    hours_ago = time.time() - 2 * 3600
    for name in ("run-old", "run-recent", "sim-old"):
        (root / name).mkdir()
        (root / name / "solution.py").write_text("")
    (root / "run-old" / "link").symlink_to(outside)  # removed as a link, not followed
    (root / "run-link").symlink_to(outside)          # an old link named like scratch
    for name in ("run-old", "sim-old", "run-link"):
        os.utime(root / name, (hours_ago, hours_ago), follow_symlinks=False)

    removed = remove_stale_scratch(root, prefix="run-", older_than_s=3600)

    assert removed == 1
    assert sorted(path.name for path in root.iterdir()) == ["run-link", "run-recent", "sim-old"]
    assert (outside / "keep.txt").read_text() == "keep"
    assert remove_stale_scratch(tmp_path / "missing", prefix="run-", older_than_s=3600) == 0
