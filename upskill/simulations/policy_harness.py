"""The code-mode harness: runs INSIDE the sandbox, with the lab runtime's Python, as ``harness.py``.

It is copied into the run's scratch directory next to the learner's ``policy.py``, which must
define ``act(observation) -> dict`` and may define ``reset(info)``. The engine stays outside
(:mod:`upskill.simulations.codemode`); this file only carries observations in and actions out,
one period at a time, over the program's stdin and stdout:

- before loading the policy it keeps private copies of stdin and stdout for the protocol and
  points fd 0 at ``/dev/null`` and fd 1 at stderr, so ``print()`` and ``input()`` in the
  learner's code cannot corrupt the conversation (prints end up on stderr, which the trusted
  side shows as the learner's output);
- it reads the ``start`` frame (``info``: engine name and horizon), loads ``policy.py``, calls
  ``reset(info)`` if defined and answers ``ready``;
- then, for every ``observation`` frame: ``act(observation)``, the result encoded as an
  ``action`` frame of float64 arrays (a number or a list becomes an array; anything else is an
  ``error`` frame saying what was wrong). An exception in the learner's code is an ``error``
  frame with its type, message and a traceback of the learner's own frames, and the harness
  exits; end-of-file on stdin means the episode is over (exit status 0).

Frames (both directions): the 4 bytes ``USF1``, the header's length and the body's length
(little-endian uint32 each), the header (UTF-8 JSON: ``kind``, ``scalars`` — name to number —,
``arrays`` — ``[name, dtype, shape]`` in body order — and a few kind-specific fields), then the
body: the arrays' raw little-endian bytes, back to back. Numbers travel as binary, so a
1,000-value array costs 8 KB and one copy, not a JSON list.

Everything here is untrusted once the learner's code has run in this process: it could write
any bytes to the protocol fd. The trusted side therefore decodes frames with the same strict
:func:`decode_frame` used here, checks every action with the engine's ``check_action``, and
computes the score itself. Standard library and numpy only; never imports Upskill.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import struct
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "ACTION_DTYPES",
    "MAGIC",
    "OBSERVATION_DTYPES",
    "PREFIX",
    "Frame",
    "FrameError",
    "NotAnAction",
    "action_arrays",
    "decode_frame",
    "encode_frame",
    "frame_lengths",
    "main",
]

MAGIC: Final = b"USF1"
PREFIX: Final = struct.Struct("<4sII")  # magic, header bytes, body bytes
# What may travel: observations in any of these (the engine's arrays as they are), actions
# only as float64.
OBSERVATION_DTYPES: Final = frozenset({"<f8", "<f4", "<i8", "<i4", "<u8", "<u4", "|u1", "|b1",
                                       "|i1"})
ACTION_DTYPES: Final = frozenset({"<f8"})
MAX_ARRAYS: Final = 64
MAX_DIMENSIONS: Final = 4
MAX_NAME_CHARS: Final = 100
# Frames the harness reads come from trusted code; these bound what it accepts anyway.
MAX_OBSERVATION_HEADER_BYTES: Final = 1_000_000
MAX_OBSERVATION_BODY_BYTES: Final = 1_000_000_000
TRACEBACK_CHARS: Final = 2000
MESSAGE_CHARS: Final = 500
POLICY_FILE: Final = "policy.py"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1

Scalar: TypeAlias = int | float
Values: TypeAlias = dict[str, "Scalar | npt.NDArray[Any]"]


class FrameError(ValueError):
    """Bytes that are not a well-formed frame; the message says what is wrong with them."""


class NotAnAction(ValueError):
    """What act() returned cannot be sent as an action; the message is for the learner."""


@dataclass
class Frame:
    kind: str
    values: Values = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)  # the header's kind-specific entries


# -- frames ----------------------------------------------------------------------------------

def encode_frame(kind: str, values: Mapping[str, object] | None = None,
                 **fields: Any) -> bytes:
    """One frame: numbers in ``values`` go into the header, numpy arrays into the body.
    ``fields`` are extra JSON-serializable header entries (``info``, ``message``...)."""
    scalars: dict[str, Scalar] = {}
    arrays: list[list[Any]] = []
    chunks: list[bytes] = []
    for name, value in (values or {}).items():
        if isinstance(value, np.ndarray):
            array = np.asarray(value, order="C")  # (ascontiguousarray makes 0-d 1-d)
            array = array.astype(array.dtype.newbyteorder("<"), copy=False)
            arrays.append([name, array.dtype.str, list(array.shape)])
            chunks.append(array.tobytes())
        elif isinstance(value, bool | int | float | np.integer | np.floating | np.bool_):
            number = value.item() if isinstance(value, np.generic) else value
            scalars[name] = number  # a bool is an int here
        else:
            raise TypeError(f"cannot send {name!r}: {type(value).__name__} is neither a number "
                            f"nor a numpy array")
    header = json.dumps({"kind": kind, "scalars": scalars, "arrays": arrays, **fields},
                        separators=(",", ":")).encode("utf-8")
    body = b"".join(chunks)
    return b"".join((PREFIX.pack(MAGIC, len(header), len(body)), header, body))


def frame_lengths(prefix: bytes, *, max_header_bytes: int, max_body_bytes: int) -> tuple[int, int]:
    """The header and body lengths a frame's first :data:`PREFIX` bytes announce."""
    magic, header_bytes, body_bytes = PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise FrameError(f"it does not start like a frame (bytes {bytes(magic)!r})")
    if header_bytes > max_header_bytes:
        raise FrameError(f"its header announces {header_bytes} bytes, more than the "
                         f"{max_header_bytes} allowed")
    if body_bytes > max_body_bytes:
        raise FrameError(f"it announces {body_bytes} bytes of data, more than the "
                         f"{max_body_bytes} allowed")
    return header_bytes, body_bytes


def decode_frame(header: bytes, body: bytearray | bytes, *,
                 dtypes: frozenset[str]) -> Frame:
    """A frame from its header and body, checked strictly (the bytes may come from hostile
    code): arrays only of ``dtypes`` that exactly fill the body, numbers only as numbers."""
    try:
        parsed = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FrameError("its header is not JSON") from None
    if not isinstance(parsed, dict):
        raise FrameError("its header is not a JSON object")
    kind = parsed.pop("kind", None)
    scalars = parsed.pop("scalars", {})
    arrays = parsed.pop("arrays", [])
    if not isinstance(kind, str):
        raise FrameError("its header names no kind")
    if not isinstance(scalars, dict) or not isinstance(arrays, list):
        raise FrameError("its header's scalars or arrays are malformed")
    if len(scalars) + len(arrays) > MAX_ARRAYS:
        raise FrameError(f"it has more than {MAX_ARRAYS} values")
    values: Values = {}
    for name, number in scalars.items():
        _check_name(name, values)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise FrameError(f"its scalar {name!r} is not a number")
        values[name] = number
    view = memoryview(body)
    offset = 0
    for entry in arrays:
        name, dtype, shape = _array_entry(entry, dtypes)
        _check_name(name, values)
        count = math.prod(shape)
        size = count * np.dtype(dtype).itemsize
        if offset + size > len(body):
            raise FrameError(f"its array {name!r} runs past the end of the data")
        values[name] = np.frombuffer(view[offset:offset + size], dtype=dtype,
                                     count=count).reshape(shape)
        offset += size
    if offset != len(body):
        raise FrameError("its data is longer than its arrays")
    return Frame(kind=kind, values=values, fields=parsed)


def _array_entry(entry: object, dtypes: frozenset[str]) -> tuple[str, str, tuple[int, ...]]:
    if not (isinstance(entry, list) and len(entry) == 3):
        raise FrameError("an array entry of its header is malformed")
    name, dtype, shape = entry
    if dtype not in dtypes:
        raise FrameError(f"its array {name!r} has the type {dtype!r}, not one of "
                         f"{', '.join(sorted(dtypes))}")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMENSIONS
            and all(type(n) is int and 0 <= n < 2**40 for n in shape)):
        raise FrameError(f"its array {name!r} has a malformed shape")
    return name, str(dtype), tuple(shape)


def _check_name(name: object, seen: Mapping[str, object]) -> None:
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise FrameError("a value's name is not a short string")
    if name in seen:
        raise FrameError(f"it names {name!r} twice")


def action_arrays(action: object, *, max_values: int) -> dict[str, npt.NDArray[np.float64]]:
    """What ``act()`` returned as float64 arrays (a number becomes a 0-d array), or
    :class:`NotAnAction` saying in words why it cannot be. Sizes and ranges are the engine's
    business: it checks them outside."""
    if not isinstance(action, Mapping):
        raise NotAnAction(f"act() must return a dict of numbers or arrays, such as "
                          f"{{'order': [...]}}, not {_kind_of(action)}")
    if len(action) > MAX_ARRAYS:
        raise NotAnAction(f"the action has {len(action)} entries, more than {MAX_ARRAYS}")
    arrays: dict[str, npt.NDArray[np.float64]] = {}
    for name, value in action.items():
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
            raise NotAnAction(f"the action's keys must be names (short strings), not "
                              f"{name!r:.40}")
        try:
            array = np.asarray(value)
        except (TypeError, ValueError, OverflowError):  # ragged lists, odd objects
            raise NotAnAction(f"{name!r} must be a number or a list or array of numbers, not "
                              f"{_kind_of(value)}") from None
        if array.dtype.kind not in "biuf":
            raise NotAnAction(f"{name!r} must be a number or a list or array of numbers, not "
                              f"{_kind_of(value)}")
        if array.size > max_values or array.ndim > MAX_DIMENSIONS:
            raise NotAnAction(f"{name!r} has {array.size} values in {array.ndim} dimensions, "
                              f"more than the {max_values} values in at most "
                              f"{MAX_DIMENSIONS} dimensions an action may have")
        arrays[name] = np.asarray(array, dtype="<f8", order="C")
    return arrays


def _kind_of(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}"
    if isinstance(value, list | tuple) and value:
        kinds = sorted({type(item).__name__ for item in value})
        return f"a {type(value).__name__} of {', '.join(kinds[:3])}"
    return f"a {type(value).__name__}"


# -- the program -----------------------------------------------------------------------------

class _Channel:
    """The protocol's private copies of stdin and stdout."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = os.fdopen(read_fd, "rb", buffering=0)
        self._write_fd = write_fd

    def read(self) -> Frame | None:
        """The next frame, or None at end-of-file (the episode is over)."""
        prefix = self._read_exactly(PREFIX.size)
        if prefix is None:
            return None
        header_bytes, body_bytes = frame_lengths(
            bytes(prefix), max_header_bytes=MAX_OBSERVATION_HEADER_BYTES,
            max_body_bytes=MAX_OBSERVATION_BODY_BYTES)
        header = self._read_exactly(header_bytes)
        body = self._read_exactly(body_bytes)
        if header is None or body is None:
            return None
        # A bytearray body makes the observation's arrays writable for the learner.
        return decode_frame(bytes(header), body, dtypes=OBSERVATION_DTYPES)

    def send(self, frame: bytes) -> None:
        # The learner's prints go out before the frame, in the order of the periods.
        sys.stdout.flush()
        sys.stderr.flush()
        view = memoryview(frame)
        while view:
            written = os.write(self._write_fd, view)
            view = view[written:]

    def _read_exactly(self, size: int) -> bytearray | None:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = self._reader.readinto(view[got:])
            if not count:
                return None
            got += count
        return buffer


def main() -> int:
    channel = _take_protocol_fds()
    policy_path = Path.cwd() / POLICY_FILE
    start = channel.read()
    if start is None:
        return EXIT_OK
    max_values = int(start.fields.get("max_action_values", 10_000_000))
    act = _start_policy(channel, policy_path, start.fields.get("info", {}))
    if act is None:
        return EXIT_FAILED
    channel.send(encode_frame("ready"))
    while True:
        frame = channel.read()
        if frame is None:
            return EXIT_OK
        try:
            action = act(frame.values)
        except BaseException as error:  # noqa: BLE001 - SystemExit included: all reported
            channel.send(_error_frame("act", error, policy_path))
            return EXIT_FAILED
        try:
            arrays = action_arrays(action, max_values=max_values)
        except NotAnAction as problem:
            channel.send(encode_frame("error", stage="action", type="", message=str(problem)))
            return EXIT_FAILED
        channel.send(encode_frame("action", arrays))


def _start_policy(channel: _Channel, policy_path: Path,
                  info: object) -> Callable[[Values], object] | None:
    """The learner's act(), after loading policy.py and calling its reset(info); None (and
    an error frame sent) when either fails."""
    try:
        module = _load(policy_path)
    except BaseException as error:  # noqa: BLE001 - SystemExit included: all reported
        channel.send(_error_frame("load", error, policy_path))
        return None
    act = getattr(module, "act", None)
    if not callable(act):
        channel.send(encode_frame("error", stage="load", type="",
                                  message="your code does not define act(observation)"))
        return None
    reset = getattr(module, "reset", None)
    if callable(reset):
        try:
            reset(info)
        except BaseException as error:  # noqa: BLE001 - as above
            channel.send(_error_frame("reset", error, policy_path))
            return None
    return act  # type: ignore[no-any-return]


def _take_protocol_fds() -> _Channel:
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Line by line, so what a policy printed before it hung or was stopped is not lost.
        sys.stdout.reconfigure(line_buffering=True)
    return _Channel(read_fd, write_fd)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("policy", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{POLICY_FILE} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules["policy"] = module  # so dataclasses and pickling in the policy work
    spec.loader.exec_module(module)
    return module


def _error_frame(stage: str, error: BaseException, policy_path: Path) -> bytes:
    """The exception for the learner: type, message and only the frames of their own file
    (the harness's and numpy's frames say nothing to them)."""
    message = str(error)[:MESSAGE_CHARS]
    line: int | None = None
    text = ""
    if isinstance(error, SystemExit):
        message = f"your code called sys.exit({error.code!r:.40})"
    if isinstance(error, SyntaxError) and error.filename == str(policy_path):
        line = error.lineno
        message = str(error.msg)[:MESSAGE_CHARS]
        text = f"line {error.lineno}: {(error.text or '').rstrip()}\nSyntaxError: {error.msg}"
    else:
        own = [frame for frame in traceback.extract_tb(error.__traceback__)
               if frame.filename == str(policy_path)]
        if own:
            line = own[-1].lineno
            lines = [f"line {frame.lineno}, in {frame.name}\n    {(frame.line or '').strip()}"
                     for frame in own]
            text = "\n".join(lines) + f"\n{type(error).__name__}: {message}"
    return encode_frame("error", stage=stage, type=type(error).__name__, message=message,
                        line=line, traceback=text[-TRACEBACK_CHARS:])


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: threads the learner started must not keep the run alive after the episode.
    os._exit(status)
