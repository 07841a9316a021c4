"""Runs that talk: ``run(..., dialogue=...)`` feeds the program's stdin from a trusted
Dialogue and hands it the program's stdout, under the same limits as any run; a dialogue with
a prelude starts the limits' clock when the program's real work begins.

Each test uses the real secure sandbox (with the run's cgroup unless it says otherwise) and a
small Python program that reads lines from stdin and writes lines to stdout.
"""

from __future__ import annotations

import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.sandbox.conftest import FAST, assert_all_gone, new_marker
from upskill import sandbox
from upskill.sandbox import Dialogue, DialogueChannel, DialogueReply, Limits, Mode, Result

pytestmark = pytest.mark.usefixtures("secure")

ECHO = """
    import sys
    for line in sys.stdin:
        sys.stdout.write(line.upper())
        sys.stdout.flush()
    print("stdin closed", file=sys.stderr)
"""


class Lines(Dialogue):
    """Sends numbered lines, one after each line it gets back, and closes stdin after
    ``rounds`` answers; keeps every answer."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.answers: list[bytes] = []
        self._pending = b""

    def opening(self) -> DialogueReply:
        return DialogueReply(send=b"line 0\n")

    def received(self, data: bytes) -> DialogueReply:
        self._pending += data
        send = b""
        while b"\n" in self._pending:
            answer, _, self._pending = self._pending.partition(b"\n")
            self.answers.append(answer)
            if len(self.answers) < self.rounds:
                send += b"line %d\n" % len(self.answers)
        return DialogueReply(send=send, close_stdin=len(self.answers) >= self.rounds)


class Counting(Dialogue):
    """Opens with ``opening_bytes``, counts what comes back, stops the run past
    ``stop_after`` bytes (None: never)."""

    def __init__(self, opening_bytes: bytes = b"", stop_after: int | None = None) -> None:
        self.opening_bytes = opening_bytes
        self.stop_after = stop_after
        self.received_bytes = 0
        self.calls = 0

    def opening(self) -> DialogueReply:
        return DialogueReply(send=self.opening_bytes)

    def received(self, data: bytes) -> DialogueReply:
        self.calls += 1
        self.received_bytes += len(data)
        stop = self.stop_after is not None and self.received_bytes > self.stop_after
        return DialogueReply(stop=stop)


def talk(scratch: Path, code: str, dialogue: Dialogue, *args: str, limits: Limits = FAST,
         mode: Mode = Mode.SECURE) -> Result:
    return sandbox.run(["python", "-c", textwrap.dedent(code), *args], scratch=scratch,
                       limits=limits, mode=mode, dialogue=dialogue)


def test_a_message_goes_in_and_the_answer_comes_back(scratch: Path) -> None:
    lines = Lines(rounds=1)
    result = talk(scratch, ECHO, lines)
    assert result.ok, result.stderr
    assert lines.answers == [b"LINE 0"]
    # The answer went to the dialogue, not into the result; stderr is captured as ever.
    assert result.stdout == ""
    assert result.stderr == "stdin closed\n"


def test_thousands_of_round_trips_arrive_in_order(scratch: Path) -> None:
    lines = Lines(rounds=3000)
    result = talk(scratch, ECHO, lines)
    assert result.ok, result.stderr
    assert lines.answers == [b"LINE %d" % n for n in range(3000)]


@pytest.mark.parametrize("mode", [Mode.SECURE, Mode.INSECURE_DEV])
def test_each_mode_talks_with_and_without_a_cgroup(scratch: Path, mode: Mode,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSKILL_SANDBOX_CGROUP", "off")
    assert sandbox.availability() is None
    lines = Lines(rounds=50)
    result = talk(scratch, ECHO, lines, mode=mode)
    assert result.ok, result.stderr
    assert lines.answers[-1] == b"LINE 49"


def test_a_program_that_never_reads_cannot_stall_the_supervisor(scratch: Path) -> None:
    # 50 MB waiting for a program that sleeps: the pipe fills, the supervisor keeps watching
    # the clock and stops the run at the wall limit.
    marker = new_marker()
    limits = replace(FAST, wall_seconds=2)
    started = time.monotonic()
    result = talk(scratch, "import time; time.sleep(60)", Counting(b"x" * 50_000_000),
                  marker, limits=limits)
    assert result.killed_by == "wall"
    assert result.message() == "time limit of 2 s exceeded"
    assert time.monotonic() - started < 10
    assert_all_gone(marker)


def test_a_program_that_closes_its_stdin_while_we_write_ends_normally(scratch: Path) -> None:
    result = talk(scratch, """
        import os, sys
        os.read(0, 10)
        os.close(0)
        print("closed", file=sys.stderr)
    """, Counting(b"y" * 10_000_000))
    assert result.ok, result.stderr
    assert result.stderr == "closed\n"


def test_stdout_flooding_goes_to_the_dialogue_which_can_stop_it(scratch: Path) -> None:
    marker = new_marker()
    counting = Counting(stop_after=2_000_000)
    result = talk(scratch, """
        import sys
        block = b"z" * 65536
        while True:
            sys.stdout.buffer.write(block)
    """, counting, marker)
    assert result.killed_by == "dialogue"
    assert result.message() == "the program was stopped by the trusted program it was talking to"
    assert 2_000_000 < counting.received_bytes < 2_000_000 + 10 * 65536
    assert result.stdout == ""
    assert_all_gone(marker)


def test_stdout_for_the_dialogue_does_not_count_toward_the_output_limits(scratch: Path) -> None:
    counting = Counting()
    # Three times FAST's output_kill_bytes on stdout; stderr alone is capped as usual.
    result = talk(scratch, """
        import sys
        sys.stdout.buffer.write(b"o" * 3_000_000)
        sys.stderr.write("e" * 10_000)
    """, counting)
    assert result.ok, result.message()
    assert counting.received_bytes == 3_000_000
    assert len(result.stderr) == FAST.output_bytes
    assert result.stderr_truncated


def test_printing_too_much_on_stderr_still_stops_a_run_with_a_dialogue(scratch: Path) -> None:
    result = talk(scratch, """
        import sys
        while True:
            sys.stderr.write("e" * 65536)
    """, Counting())
    assert result.killed_by == "output"


def test_the_dialogue_can_stop_the_run_at_its_first_message(scratch: Path) -> None:
    marker = new_marker()

    class StopAtOnce(Dialogue):
        def received(self, data: bytes) -> DialogueReply:
            return DialogueReply(stop=True)

    started = time.monotonic()
    result = talk(scratch, """
        import sys, time
        print("hello", flush=True)
        time.sleep(60)
    """, StopAtOnce(), marker)
    assert result.killed_by == "dialogue"
    assert result.exit_code is None
    assert time.monotonic() - started < FAST.wall_seconds
    assert_all_gone(marker)


def test_end_of_file_on_stdin_ends_a_well_behaved_program(scratch: Path) -> None:
    class SendAndClose(Dialogue):
        def opening(self) -> DialogueReply:
            return DialogueReply(send=b"a" * 300_000, close_stdin=True)

        def received(self, data: bytes) -> DialogueReply:
            raise AssertionError("the program wrote nothing on stdout")

    result = talk(scratch, """
        import sys
        data = sys.stdin.buffer.read()
        print("read", len(data), file=sys.stderr)
    """, SendAndClose())
    assert result.ok, result.stderr
    assert result.stderr == "read 300000\n"


def test_a_dialogue_that_fails_ends_the_run_and_leaves_nothing_running(scratch: Path) -> None:
    marker = new_marker()

    class Broken(Dialogue):
        def received(self, data: bytes) -> DialogueReply:
            raise RuntimeError("a bug on the trusted side")

    with pytest.raises(RuntimeError, match="a bug on the trusted side"):
        talk(scratch, """
            import time
            print("hello", flush=True)
            time.sleep(60)
        """, Broken(), marker)
    assert_all_gone(marker)


def test_without_a_dialogue_stdin_is_still_dev_null(scratch: Path) -> None:
    result = sandbox.run(["python", "-c", textwrap.dedent("""
        import os, stat, sys
        print(stat.S_ISCHR(os.fstat(0).st_mode), repr(sys.stdin.read()))
    """)], scratch=scratch, limits=FAST)
    assert result.ok, result.stderr
    assert result.stdout == "True ''\n"


def test_a_program_cannot_reach_the_dialogues_pipe_ends(scratch: Path) -> None:
    # Inside, the program holds only its own ends: reading its stdout or writing its stdin
    # fails, so it cannot answer itself or read back what it sent.
    result = talk(scratch, """
        import os, sys
        for fd, attempt in ((0, lambda: os.write(0, b"x")), (1, lambda: os.read(1, 1))):
            try:
                attempt()
                print(fd, "usable the wrong way", file=sys.stderr)
            except OSError as error:
                print(fd, error.strerror, file=sys.stderr)
    """, Counting(b"", stop_after=None))
    assert result.ok, result.stderr
    assert "usable the wrong way" not in result.stderr
    assert len(result.stderr.splitlines()) == 2


# -- the prelude: trusted code gets ready before the clock starts ------------------------------

READY_THEN_WORK = """
    import sys, time
    print("prelude noise", file=sys.stderr, flush=True)
    print("ready", flush=True)
    sys.stdin.readline()             # waits for its work
    print("work", file=sys.stderr, flush=True)
    time.sleep(float(sys.argv[1]))
"""


class Prelude(Dialogue):
    """A run with a prelude: when the program says "ready" it starts the clock and sends the
    work at once, or (``wait``) leaves that to another thread (:meth:`start_from_thread`)."""

    def __init__(self, prelude_seconds: float | None, *, wait: bool = False,
                 start_twice: bool = False) -> None:
        self.prelude_seconds = prelude_seconds
        self.wait = wait
        self.start_twice = start_twice
        self.channel: DialogueChannel | None = None
        self.ready_at: float | None = None
        self.started_at: float | None = None

    def connected(self, channel: DialogueChannel) -> None:
        self.channel = channel

    def received(self, data: bytes) -> DialogueReply:
        if b"ready" not in data:
            return DialogueReply()
        self.ready_at = time.monotonic()
        if self.wait or (self.started_at is not None and not self.start_twice):
            return DialogueReply()
        self.started_at = time.monotonic()
        return DialogueReply(send=b"go\n", start_clock=True)

    def start_from_thread(self) -> bool:
        assert self.channel is not None
        self.started_at = time.monotonic()
        return self.channel.reply(DialogueReply(send=b"go\n", start_clock=True))


def start_after(dialogue: Prelude, seconds: float) -> threading.Thread:
    """Another thread starts the work ``seconds`` after the program said it was ready."""
    def start() -> None:
        deadline = time.monotonic() + 30
        while dialogue.ready_at is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(seconds)
        assert dialogue.start_from_thread()

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    return thread


def test_the_wall_limit_counts_from_the_reply_that_starts_the_clock(scratch: Path) -> None:
    # The program waits in its prelude for longer than the whole wall limit, then works (it
    # sleeps) past the limit: it is stopped a wall limit after the clock started, not before.
    limits = replace(FAST, wall_seconds=1.5)
    prelude = Prelude(prelude_seconds=30, wait=True)
    starter = start_after(prelude, 2.5)
    result = talk(scratch, READY_THEN_WORK, prelude, "60", limits=limits)
    ended = time.monotonic()
    starter.join()
    assert prelude.ready_at is not None and prelude.started_at is not None
    assert prelude.started_at - prelude.ready_at >= 2.5  # the prelude outlasted the limit ...
    assert result.killed_by == "wall"                      # ... and the work was stopped
    assert ended - prelude.started_at >= 1.5              # a full wall limit after the start
    assert 1.5 <= result.wall_seconds < 1.5 + 3           # measured from the start
    assert result.message() == "time limit of 1.5 s exceeded"


def test_what_the_prelude_printed_is_not_the_works_output(scratch: Path) -> None:
    prelude = Prelude(prelude_seconds=30)
    result = talk(scratch, READY_THEN_WORK, prelude, "0")
    assert result.ok, result.stderr
    assert result.stderr == "work\n"


def test_a_prelude_that_never_starts_the_clock_is_stopped_at_its_own_bound(
        scratch: Path) -> None:
    marker = new_marker()
    prelude = Prelude(prelude_seconds=1, wait=True)  # nobody starts it
    started = time.monotonic()
    result = talk(scratch, READY_THEN_WORK, prelude, "60", marker, limits=FAST)
    assert result.killed_by == "wall"
    assert prelude.started_at is None
    assert time.monotonic() - started < FAST.wall_seconds
    assert_all_gone(marker)


@pytest.mark.parametrize("prelude_seconds", [None, 30])
def test_the_clock_starts_once_and_only_after_a_prelude(scratch: Path,
                                                        prelude_seconds: float | None) -> None:
    # Without a prelude the clock is already running; with one, a second start would give
    # the program a fresh wall limit: either is a bug of the trusted side, and ends the run.
    marker = new_marker()
    prelude = Prelude(prelude_seconds, start_twice=True)
    code = """
        import sys
        print("ready", flush=True)
        sys.stdin.readline()
        print("ready", flush=True)
        sys.stdin.readline()
        import time; time.sleep(60)
    """
    with pytest.raises(ValueError, match="may start the clock once"):
        talk(scratch, code, prelude, marker)
    assert_all_gone(marker)


def test_other_threads_speak_through_the_channel_in_order(scratch: Path) -> None:
    # 4 MB of lines, more than the pipe holds: most go out at once from the sending thread,
    # the rest wait for the supervisor to write them; the order is kept either way, and a
    # reply after the run is refused.
    class Collect(Dialogue):
        def __init__(self) -> None:
            self.channel: DialogueChannel | None = None
            self.echoed = b""
            self.connected_at = threading.Event()

        def connected(self, channel: DialogueChannel) -> None:
            self.channel = channel
            self.connected_at.set()

        def received(self, data: bytes) -> DialogueReply:
            self.echoed += data
            return DialogueReply()

    collect = Collect()
    lines = [b"%d %s\n" % (number, b"x" * 20_000) for number in range(200)]

    def speak() -> None:
        assert collect.connected_at.wait(30) and collect.channel is not None
        for line in lines:
            assert collect.channel.reply(DialogueReply(send=line))
        assert collect.channel.reply(DialogueReply(close_stdin=True))

    speaker = threading.Thread(target=speak)
    speaker.start()
    result = talk(scratch, ECHO, collect)
    speaker.join()
    assert result.ok, result.stderr
    assert collect.echoed == b"".join(lines).upper()
    assert collect.channel is not None
    assert not collect.channel.reply(DialogueReply(send=b"too late\n"))


def test_a_thread_can_stop_the_run_through_the_channel(scratch: Path) -> None:
    marker = new_marker()
    prelude = Prelude(prelude_seconds=30, wait=True)

    def stop() -> None:
        deadline = time.monotonic() + 30
        while prelude.ready_at is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert prelude.channel is not None
        assert prelude.channel.reply(DialogueReply(stop=True))

    stopper = threading.Thread(target=stop)
    stopper.start()
    result = talk(scratch, READY_THEN_WORK, prelude, "60", marker, limits=FAST)
    stopper.join()
    assert result.killed_by == "dialogue"
    assert result.wall_seconds < FAST.wall_seconds
    assert_all_gone(marker)


# -- a dialogue that reads stdout itself -----------------------------------------------------

class Reader(Dialogue):
    """Reads the program's stdout from another thread (the supervisor does not)."""

    reads_stdout = True

    def __init__(self) -> None:
        self.channel: DialogueChannel | None = None
        self.connected_at = threading.Event()

    def connected(self, channel: DialogueChannel) -> None:
        self.channel = channel
        self.connected_at.set()


def ask_line(channel: DialogueChannel, line: bytes) -> bytes:
    """Send ``line`` and read the program's answer up to its newline."""
    assert channel.reply(DialogueReply(send=line))
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = channel.read()
        assert chunk, "the program ended early"
        answer += chunk
    return answer


def test_a_dialogue_can_read_stdout_itself_from_its_own_thread(scratch: Path) -> None:
    reader = Reader()
    seen: dict[str, object] = {}

    def converse() -> None:
        assert reader.connected_at.wait(30) and reader.channel is not None
        channel = reader.channel
        seen["nothing yet"] = channel.read(timeout_s=0.05)
        answers = []
        for number in range(300):
            answers.append(ask_line(channel, b"line %d\n" % number))
        channel.reply(DialogueReply(close_stdin=True))
        seen["answers"] = answers
        seen["after the end"] = channel.read()

    thread = threading.Thread(target=converse)
    thread.start()
    result = talk(scratch, ECHO, reader)
    thread.join()
    assert result.ok, result.stderr
    assert seen["nothing yet"] is None
    assert seen["answers"] == [b"LINE %d\n" % number for number in range(300)]
    assert seen["after the end"] == b""
    assert result.stdout == ""


def test_a_waiting_reader_is_released_when_the_run_is_stopped(scratch: Path) -> None:
    marker = new_marker()
    reader = Reader()
    released: list[float] = []

    def wait_for_output() -> None:
        assert reader.connected_at.wait(30) and reader.channel is not None
        assert reader.channel.read() == b""  # blocks until the run is over
        released.append(time.monotonic())

    thread = threading.Thread(target=wait_for_output)
    thread.start()
    started = time.monotonic()
    result = talk(scratch, "import time; time.sleep(60)", reader, marker,
                  limits=replace(FAST, wall_seconds=1))
    thread.join(10)
    assert result.killed_by == "wall"
    assert released and released[0] - started < FAST.wall_seconds
    assert_all_gone(marker)


def test_stderr_asked_for_holds_everything_written_before_the_last_answer(
        scratch: Path) -> None:
    # Each answer on stdout comes after a line on stderr: asked for right after reading an
    # answer, stderr holds that line, even when the supervisor has not read it yet.
    program = """
        import sys
        for line in sys.stdin:
            sys.stderr.write("note " + line)
            sys.stderr.flush()
            sys.stdout.write(line.upper())
            sys.stdout.flush()
    """
    reader = Reader()
    seen: list[tuple[str, bool]] = []

    def converse() -> None:
        assert reader.connected_at.wait(30) and reader.channel is not None
        channel = reader.channel
        for number in range(200):
            ask_line(channel, b"line %d\n" % number)
            seen.append(channel.stderr())
        channel.reply(DialogueReply(close_stdin=True))

    thread = threading.Thread(target=converse)
    thread.start()
    result = talk(scratch, program, reader, limits=replace(FAST, output_bytes=1_000_000))
    thread.join()
    assert result.ok, result.stderr
    for number, (text, truncated) in enumerate(seen):
        assert text == "".join(f"note line {n}\n" for n in range(number + 1)), number
        assert not truncated
    assert result.stderr == seen[-1][0]  # and the run's result agrees


def test_stderr_asked_for_is_capped_like_the_results(scratch: Path) -> None:
    reader = Reader()
    seen: list[tuple[str, bool]] = []

    def converse() -> None:
        assert reader.connected_at.wait(30) and reader.channel is not None
        channel = reader.channel
        assert channel.reply(DialogueReply(send=b"go\n"))
        assert channel.read() == b"done\n"
        seen.append(channel.stderr())
        channel.reply(DialogueReply(close_stdin=True))

    thread = threading.Thread(target=converse)
    thread.start()
    result = talk(scratch, """
        import sys
        sys.stdin.readline()
        sys.stderr.write("x" * 5000)
        sys.stderr.flush()
        sys.stdout.write("done\\n")
        sys.stdout.flush()
        sys.stdin.readline()
    """, reader, limits=replace(FAST, output_bytes=1000))
    thread.join()
    assert seen == [("x" * 1000, True)]
    assert (result.stderr, result.stderr_truncated) == seen[0]
