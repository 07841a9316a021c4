"""The code-mode harness: runs INSIDE the sandbox, with the lab runtime's Python, as ``harness.py``.

It is copied into the run's scratch directory (and nothing else: the learner's code arrives
in the first frame and the harness writes it to ``policy.py`` itself). That code must define
``act(observation) -> dict`` and may define ``reset(info)``. The engine stays outside
(:mod:`upskill.simulations.codemode`); this file only carries observations in and actions out,
one period at a time, over the program's stdin and stdout:

- at start it keeps private copies of stdin and stdout for the protocol and points fd 0 at
  ``/dev/null`` and fd 1 at stderr, so ``print()`` and ``input()`` in the learner's code
  cannot corrupt the conversation (prints end up on stderr, which the trusted side shows as
  the learner's output);
- with numpy imported it says ``waiting`` and blocks until the ``start`` frame comes: that is
  all a *warm* harness, started ahead of the learner's run, has done — no learner code has run
  in it, so the trusted side may start the run's clock when it sends ``start``;
- ``start`` carries ``code`` (the learner's source), ``info`` (engine name and horizon),
  ``max_action_values``, ``cpu`` (the CPU to run on, or null) and ``poll_s``: the harness
  moves to that CPU, writes ``policy.py``, loads it, calls ``reset(info)`` if defined and
  answers ``ready``, with ``polling``: whether it waits for each observation by polling its
  stdin for up to ``poll_s`` seconds before it blocks (only once it is on the CPU asked for:
  codemode's ``_Handover`` says why);
- then, for every ``observation`` frame: ``act(observation)``, the result encoded as an
  ``action`` frame of float64 arrays (a number or a list becomes an array; anything else is an
  ``error`` frame saying what was wrong). An exception in the learner's code is an ``error``
  frame with its type, message and a traceback of the learner's own frames, and the harness
  exits; an ``end`` frame or end-of-file on stdin means the episode is over (exit status 0).
  A ``handover`` frame (``cpu``, ``poll_s``, as in ``start``) may come before an observation:
  the harness moves and waits as it says from then on, and answers nothing to it.

Frames (both directions): the 4 bytes ``USF2``, the header's length and the body's length
(little-endian uint32 each), the header (UTF-8 JSON: ``kind``, ``scalars`` — ``[name, "i" or
"f"]`` —, ``arrays`` — ``[name, dtype, shape]`` — and a few kind-specific fields), then the
body: each scalar as 8 little-endian bytes (int64 or float64), then the arrays' raw
little-endian bytes, back to back. The header describes only the layout, so it is the same
every period: both sides build or parse it once per layout (:class:`FrameWriter` remembers the
last one; the reader, a small cache keyed by the exact header bytes), and a period costs one
copy of the arrays on each side, one ``write`` and (usually) one ``read``. An observation's
constant arrays (the engine's fixed facts: read-only, owning their memory) travel once: an
array entry with a fourth element ``"fixed"`` is in the body and the harness keeps it; one
with ``"kept"`` is not in the body, and the harness hands out the one it kept under that name
(read-only, as the engine hands its facts to any policy). Action frames never carry marks.

Everything here is untrusted once the learner's code has run in this process: it could write
any bytes to the protocol fd. The trusted side therefore decodes frames with the same strict
:func:`decode_frame` used here, into arrays of its own memory, checks every action with the
engine's ``check_action``, and computes the score itself. Standard library and numpy only;
never imports Upskill.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import math
import os
import select
import struct
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "ACTION_DTYPES",
    "MAGIC",
    "OBSERVATION_DTYPES",
    "PREFIX",
    "Frame",
    "FrameError",
    "FrameWriter",
    "NotAnAction",
    "action_arrays",
    "decode_frame",
    "encode_frame",
    "frame_lengths",
    "main",
]

MAGIC: Final = b"USF2"
PREFIX: Final = struct.Struct("<4sII")  # magic, header bytes, body bytes
# What may travel: observations in any of these (the engine's arrays as they are), actions
# only as float64.
OBSERVATION_DTYPES: Final = frozenset({"<f8", "<f4", "<i8", "<i4", "<u8", "<u4", "|u1", "|b1",
                                       "|i1"})
ACTION_DTYPES: Final = frozenset({"<f8"})
MAX_ARRAYS: Final = 64
MAX_DIMENSIONS: Final = 4
MAX_NAME_CHARS: Final = 100
# Frames the harness reads come from trusted code (the start frame carries the learner's
# source); these bound what it accepts anyway.
MAX_OBSERVATION_HEADER_BYTES: Final = 64_000_000
MAX_OBSERVATION_BODY_BYTES: Final = 1_000_000_000
TRACEBACK_CHARS: Final = 2000
MESSAGE_CHARS: Final = 500
POLICY_FILE: Final = "policy.py"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
# Headers up to this size are remembered by their bytes (observations and actions are a few
# hundred bytes); a start frame with the learner's source is parsed once and forgotten.
_CACHED_HEADER_BYTES: Final = 4096
_SCALAR_CODES: Final = {"i": "q", "f": "d"}
# The first read of a frame asks for the last frame's size (at least this much), so a whole
# observation usually arrives in one read into a buffer no bigger than it.
_FIRST_READ_BYTES: Final = 4096
_MAX_GUESS_BYTES: Final = 16 * 1024 * 1024

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

@dataclass(frozen=True)
class _Encoding:
    header: bytes
    scalars: struct.Struct


def encode_frame(kind: str, values: Mapping[str, object] | None = None,
                 **fields: Any) -> bytes:
    """One frame: numbers in ``values`` (int64 or float64) and numpy arrays (of
    :data:`OBSERVATION_DTYPES`, any shape) go into the body in their order; ``fields`` are
    extra JSON-serializable header entries (``info``, ``message``...). The frame is a copy:
    changing the arrays afterwards does not change it."""
    return _encode(kind, values or {}, fields, None)[0]


# How the fast way checks a value against the remembered layout: a number's exact type, an
# array sent (its dtype object and shape), or an array kept (the very object sent before).
_Slot: TypeAlias = tuple[Literal[0], type] | tuple[Literal[1], np.dtype[Any], tuple[int, ...]] \
    | tuple[Literal[2], npt.NDArray[Any]]


def _encode(kind: str, values: Mapping[str, object], fields: Mapping[str, Any],
            fixed: dict[str, npt.NDArray[Any]] | None) -> tuple[bytes, list[_Slot] | None]:
    """The frame, and the slots a frame with the same values in the same layout would check
    (None: such a frame cannot take the fast way). With ``fixed`` (a writer's: the constant
    arrays sent so far, by name), a constant array is sent ``fixed`` and, when the same
    object comes again, ``kept`` instead of its bytes; ``fixed`` is brought up to date."""
    scalar_layout: list[tuple[str, str]] = []
    numbers: list[Scalar] = []
    array_layout: list[tuple[str, str, tuple[int, ...], str]] = []
    arrays: list[memoryview] = []
    slots: list[_Slot] | None = []
    for name, value in values.items():
        # The usual values first, tested the cheapest way.
        if isinstance(value, np.ndarray):
            if fixed is not None and value is fixed.get(name):
                array_layout.append((name, value.dtype.str, value.shape, "kept"))
                if slots is not None:
                    slots.append((2, value))
                continue
            usable = value.flags.c_contiguous and value.dtype.str in OBSERVATION_DTYPES
            array = value if usable else _wire_array(name, value)
            mark = ""
            if fixed is not None and usable and _constant(value):
                fixed[name] = value
                mark = "fixed"
                slots = None  # the next frame keeps it: another layout
            array_layout.append((name, array.dtype.str, array.shape, mark))
            arrays.append(array.data)
            if slots is not None:
                if usable:
                    slots.append((1, value.dtype, value.shape))
                else:
                    slots = None
        elif isinstance(value, int | float):  # a bool is an int, numpy's float64 a float
            is_float = isinstance(value, float)
            scalar_layout.append((name, "f" if is_float else "i"))
            numbers.append(value)
            if slots is not None:
                slots.append((0, type(value)))
        elif isinstance(value, np.floating):
            scalar_layout.append((name, "f"))
            numbers.append(float(value))
            slots = None
        elif isinstance(value, np.integer | np.bool_):
            scalar_layout.append((name, "i"))
            numbers.append(int(value))
            slots = None
        else:
            raise TypeError(f"cannot send {name!r}: {type(value).__name__} is neither a number "
                            f"nor a numpy array")
    layout = (kind, tuple(scalar_layout), tuple(array_layout))
    encoding = _encoding(layout, fields) if fields else _cached_encoding(layout)
    try:
        scalar_bytes = encoding.scalars.pack(*numbers)
    except struct.error:
        raise TypeError(f"cannot send the numbers {numbers!r:.200}: an integer does not fit in "
                        f"64 bits") from None
    body_bytes = len(scalar_bytes) + sum(array.nbytes for array in arrays)
    # One copy of everything, straight from the arrays' memory.
    return b"".join((PREFIX.pack(MAGIC, len(encoding.header), body_bytes), encoding.header,
                     scalar_bytes, *arrays)), slots


def _constant(array: npt.NDArray[Any]) -> bool:
    """Whether ``array`` is one the engine does not change: read-only, and the owner of its
    memory (so no other array writes it). Engines hand out their fixed facts so."""
    return not array.flags.writeable and array.base is None


class FrameWriter:
    """Encodes a stream of frames of one kind whose values keep their layout from one frame to
    the next (a period's observation, an action), at a fraction of :func:`encode_frame`'s cost
    once the layout is known; for a reader that keeps what was sent (``decode_frame``'s
    ``kept``).

    - A constant array (read-only and the owner of its memory: :func:`_constant`) is sent once
      marked ``fixed``; when the very same object comes again it is sent ``kept``: named in
      the header, not in the body, and the reader hands out the one it kept.
    - It remembers the last frame's layout: the names in order, each number's exact type, each
      array's dtype object and shape, each kept array's identity. A frame whose values match it
      is the remembered prefix and header, the numbers packed and the arrays' bytes, joined in
      one copy; any other goes the long way and its layout is remembered, if a later frame can
      repeat it (numpy scalars, arrays that need converting and a frame that sends a constant
      never take the fast way)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._names: tuple[str, ...] | None = None
        self._slots: tuple[_Slot, ...] = ()
        self._head = b""  # prefix and header: the body's length is the layout's
        self._scalars = struct.Struct("<")
        self._fixed: dict[str, npt.NDArray[Any]] = {}

    def encode(self, values: Mapping[str, object]) -> bytes:
        if self._names is not None and tuple(values) == self._names:
            numbers: list[object] = []
            arrays: list[npt.NDArray[Any]] = []
            for value, slot in zip(values.values(), self._slots, strict=True):
                tag = slot[0]
                if tag == 1:
                    if not (type(value) is np.ndarray and value.dtype is slot[1]
                            and value.shape == slot[-1] and value.flags.c_contiguous):
                        break
                    arrays.append(value)
                elif tag == 0:
                    if type(value) is not slot[1]:
                        break
                    numbers.append(value)
                elif value is not slot[1]:
                    break
            else:
                with contextlib.suppress(struct.error):  # else the long way says what is wrong
                    return b"".join((self._head, self._scalars.pack(*numbers),
                                     *(array.data for array in arrays)))
        frame, slots = _encode(self.kind, values, {}, self._fixed)
        self._names = None
        if slots is not None:
            _magic, header_bytes, _body_bytes = PREFIX.unpack_from(frame)
            self._names = tuple(values)
            self._slots = tuple(slots)
            self._head = frame[:PREFIX.size + header_bytes]
            codes = "".join("d" if issubclass(slot[1], float) else "q"
                            for slot in slots if slot[0] == 0)
            self._scalars = struct.Struct(f"<{codes}")
        return frame


def _wire_array(name: str, value: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A copy of ``value`` that can travel (C order, little-endian), for an array that cannot
    as it is (the encoders send those as they are)."""
    array = np.asarray(value, order="C")  # (ascontiguousarray makes 0-d 1-d)
    array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    if array.dtype.str not in OBSERVATION_DTYPES:
        raise TypeError(f"cannot send {name!r}: arrays of {array.dtype} cannot travel (only "
                        f"{', '.join(sorted(OBSERVATION_DTYPES))})")
    return array


Layout: TypeAlias = tuple[str, tuple[tuple[str, str], ...],
                          tuple[tuple[str, str, tuple[int, ...], str], ...]]


@functools.lru_cache(maxsize=64)
def _cached_encoding(layout: Layout) -> _Encoding:
    return _encoding(layout, {})


def _encoding(layout: Layout, fields: Mapping[str, Any]) -> _Encoding:
    kind, scalar_layout, array_layout = layout
    header = json.dumps({"kind": kind, "scalars": [list(entry) for entry in scalar_layout],
                         "arrays": [[name, dtype, list(shape), *([mark] if mark else [])]
                                    for name, dtype, shape, mark in array_layout], **fields},
                        separators=(",", ":")).encode("utf-8")
    codes = "".join(_SCALAR_CODES[tag] for _name, tag in scalar_layout)
    return _Encoding(header=header, scalars=struct.Struct(f"<{codes}"))


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


@dataclass(frozen=True)
class _Decoding:
    """What a header says about its frame's body, checked."""

    kind: str
    scalar_names: tuple[str, ...]
    scalars: struct.Struct
    # Each array as a slice of one view of the whole body per type (a slice costs a fifth of
    # a np.frombuffer): name, dtype, first and last index + 1 in that view, and the shape
    # (None: 1-d, the slice as it is).
    aligned: tuple[tuple[str, np.dtype[Any], int, int, tuple[int, ...] | None], ...]
    views: tuple[np.dtype[Any], ...]  # the types of the aligned arrays, once each
    # One that does not start on a multiple of its item size gets its own: name, dtype,
    # offset, number of values, shape.
    misaligned: tuple[tuple[str, np.dtype[Any], int, int, tuple[int, ...]], ...]
    names: tuple[str, ...]  # the arrays' names in the header's order
    fixed: tuple[str, ...]  # arrays sent to be kept (read-only) ...
    kept: tuple[tuple[str, np.dtype[Any], tuple[int, ...]], ...]  # ... and arrays kept
    body_bytes: int


def decode_frame(header: bytes, body: bytearray | bytes | memoryview, *,
                 dtypes: frozenset[str],
                 kept: dict[str, npt.NDArray[Any]] | None = None) -> Frame:
    """A frame from its header and body, checked strictly (the bytes may come from hostile
    code): arrays only of ``dtypes``, numbers only as int64 or float64, exactly filling the
    body. The arrays are views of ``body`` (writable if it is), never copies.

    ``kept`` is a reader's store of the constant arrays sent so far (:class:`FrameWriter`): an
    array marked ``fixed`` is handed out read-only and stored, one marked ``kept`` is the one
    stored under its name (which must have its type and shape). Without ``kept``, a frame with
    either mark is refused."""
    decoding: _Decoding | None = None
    fields: dict[str, Any] = {}
    if len(header) <= _CACHED_HEADER_BYTES:
        decoding = _cached_decoding(bytes(header), dtypes)
    if decoding is None:  # a header with fields of its own (or a long one): parse it fresh
        decoding, fields = _decoding(header, dtypes)
    if len(body) != decoding.body_bytes:
        raise FrameError(f"its data holds {len(body)} bytes where its header describes "
                         f"{decoding.body_bytes}")
    values: Values = dict(zip(decoding.scalar_names, decoding.scalars.unpack_from(body),
                              strict=True))
    arrays: dict[str, npt.NDArray[Any]] = {}
    if decoding.aligned:
        whole = {dtype: np.frombuffer(body, dtype=dtype, count=len(body) // dtype.itemsize)
                 for dtype in decoding.views}
        for name, dtype, start, stop, shape in decoding.aligned:
            array = whole[dtype][start:stop]
            arrays[name] = array if shape is None else array.reshape(shape)
    for name, dtype, offset, count, shape in decoding.misaligned:
        arrays[name] = np.frombuffer(body, dtype=dtype, count=count,
                                     offset=offset).reshape(shape)
    if decoding.fixed or decoding.kept:
        if kept is None:
            raise FrameError("it refers to arrays kept from earlier frames, which are not "
                             "allowed here")
        for name, dtype, shape in decoding.kept:
            known = kept.get(name)
            if known is None or known.dtype != dtype or known.shape != shape:
                raise FrameError(f"it keeps an array {name!r} that was not sent before as "
                                 f"it describes it")
            arrays[name] = known
        for name in decoding.fixed:
            array = arrays[name]
            array.flags.writeable = False
            kept[name] = array
    for name in decoding.names:  # in the header's order
        values[name] = arrays[name]
    return Frame(kind=decoding.kind, values=values, fields=fields)


@functools.lru_cache(maxsize=64)
def _cached_decoding(header: bytes, dtypes: frozenset[str]) -> _Decoding | None:
    """The checked layout of a header without fields of its own; None for one with fields
    (their values are handed out, so they are parsed each time). A header that fails the
    checks raises and is not remembered."""
    decoding, fields = _decoding(header, dtypes)
    return None if fields else decoding


def _decoding(header: bytes, dtypes: frozenset[str]) -> tuple[_Decoding, dict[str, Any]]:
    try:
        parsed = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FrameError("its header is not JSON") from None
    if not isinstance(parsed, dict):
        raise FrameError("its header is not a JSON object")
    kind = parsed.pop("kind", None)
    scalars = parsed.pop("scalars", [])
    arrays = parsed.pop("arrays", [])
    if not isinstance(kind, str):
        raise FrameError("its header names no kind")
    if not isinstance(scalars, list) or not isinstance(arrays, list):
        raise FrameError("its header's scalars or arrays are malformed")
    if len(scalars) + len(arrays) > MAX_ARRAYS:
        raise FrameError(f"it has more than {MAX_ARRAYS} values")
    seen: set[str] = set()
    scalar_names: list[str] = []
    codes = ""
    for entry in scalars:
        if not (isinstance(entry, list) and len(entry) == 2 and entry[1] in _SCALAR_CODES):
            raise FrameError("a scalar entry of its header is malformed")
        _check_name(entry[0], seen)
        scalar_names.append(entry[0])
        codes += _SCALAR_CODES[entry[1]]
    offset = 8 * len(codes)
    aligned: list[tuple[str, np.dtype[Any], int, int, tuple[int, ...] | None]] = []
    misaligned: list[tuple[str, np.dtype[Any], int, int, tuple[int, ...]]] = []
    names: list[str] = []
    fixed: list[str] = []
    kept: list[tuple[str, np.dtype[Any], tuple[int, ...]]] = []
    for entry in arrays:
        name, dtype_name, shape, mark = _array_entry(entry, dtypes)
        _check_name(name, seen)
        names.append(name)
        dtype = np.dtype(dtype_name)
        if mark == "kept":
            kept.append((name, dtype, shape))
            continue
        if mark == "fixed":
            fixed.append(name)
        count = math.prod(shape)
        start, remainder = divmod(offset, dtype.itemsize)
        if remainder:
            misaligned.append((name, dtype, offset, count, shape))
        else:
            aligned.append((name, dtype, start, start + count,
                            None if len(shape) == 1 else shape))
        offset += count * dtype.itemsize
    decoding = _Decoding(kind=kind, scalar_names=tuple(scalar_names),
                         scalars=struct.Struct(f"<{codes}"), aligned=tuple(aligned),
                         views=tuple(dict.fromkeys(dtype for _n, dtype, *_rest in aligned)),
                         misaligned=tuple(misaligned), names=tuple(names), fixed=tuple(fixed),
                         kept=tuple(kept), body_bytes=offset)
    return decoding, parsed


def _array_entry(entry: object,
                 dtypes: frozenset[str]) -> tuple[str, str, tuple[int, ...], str]:
    """An array's name, type, shape and mark ("", "fixed" or "kept") from its header entry."""
    if not (isinstance(entry, list) and len(entry) in (3, 4)):
        raise FrameError("an array entry of its header is malformed")
    name, dtype, shape, *marks = entry
    mark = marks[0] if marks else ""
    if mark not in ("fixed", "kept") and marks:
        raise FrameError(f"its array {name!r:.100} has an unknown mark")
    if dtype not in dtypes:
        raise FrameError(f"its array {name!r} has the type {dtype!r}, not one of "
                         f"{', '.join(sorted(dtypes))}")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMENSIONS
            and all(type(n) is int and 0 <= n < 2**40 for n in shape)):
        raise FrameError(f"its array {name!r} has a malformed shape")
    return name, str(dtype), tuple(shape), mark


def _check_name(name: object, seen: set[str]) -> None:
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise FrameError("a value's name is not a short string")
    if name in seen:
        raise FrameError(f"it names {name!r} twice")
    seen.add(name)


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
        self._early = b""  # bytes read past the end of the last frame
        self._guess = _FIRST_READ_BYTES
        self.poll_s = 0.0
        self._poller = select.poll()
        self._poller.register(read_fd, select.POLLIN)
        self.actions = FrameWriter("action")
        self._kept: dict[str, npt.NDArray[Any]] = {}  # the engine's constants, sent once

    def wait_by_polling(self, seconds: float) -> None:
        """From now on wait for a frame by polling for up to ``seconds`` before blocking (0:
        block at once)."""
        self.poll_s = seconds if seconds > 0 else 0.0

    def read(self) -> Frame | None:
        """The next frame, or None at end-of-file (the episode is over).

        Each frame is read into a buffer of its own, big enough for the last frame, so one
        ``read`` usually brings all of it; its arrays are views of that buffer (no copy), and
        writable: the learner may keep or change them without touching another period's. The
        engine's constants (sent once, then kept) are read-only, as the engine hands them out
        to any policy."""
        buffer = bytearray(max(self._guess, len(self._early)))
        view = memoryview(buffer)
        got = len(self._early)
        view[:got] = self._early
        total: int | None = None
        while total is None or got < total:
            if total is None and got >= PREFIX.size:
                header_bytes, body_bytes = frame_lengths(
                    bytes(view[:PREFIX.size]), max_header_bytes=MAX_OBSERVATION_HEADER_BYTES,
                    max_body_bytes=MAX_OBSERVATION_BODY_BYTES)
                total = PREFIX.size + header_bytes + body_bytes
                if total > len(buffer):
                    buffer = bytearray(total)
                    buffer[:got] = view[:got]
                    view = memoryview(buffer)
                continue
            count = self._readinto(view[got:])
            if not count:
                return None
            got += count
        self._early = bytes(view[total:got])
        self._guess = min(max(_FIRST_READ_BYTES, total), _MAX_GUESS_BYTES)
        header_end = PREFIX.size + header_bytes
        return decode_frame(bytes(view[PREFIX.size:header_end]), view[header_end:total],
                            dtypes=OBSERVATION_DTYPES, kept=self._kept)

    def _readinto(self, view: memoryview) -> int:
        """Bytes into ``view`` as soon as there are some (0 at end-of-file), polling first
        when asked to."""
        if not self.poll_s:
            return self._reader.readinto(view) or 0
        # Polled with poll(), which does not take the pipe's lock: a read would, and would
        # slow down the engine writing its frame.
        poller = self._poller
        until = time.perf_counter() + self.poll_s
        while not poller.poll(0):
            if time.perf_counter() >= until:
                poller.poll()
                break
        return self._reader.readinto(view) or 0

    def send(self, frame: bytes) -> None:
        # The learner's prints go out before the frame, in the order of the periods.
        sys.stdout.flush()
        sys.stderr.flush()
        view = memoryview(frame)
        while view:
            written = os.write(self._write_fd, view)
            view = view[written:]


def main() -> int:
    channel = _take_protocol_fds()
    # Ready for a learner's code; a warm harness waits here, nobody's code loaded yet.
    channel.send(encode_frame("waiting"))
    start = channel.read()
    if start is None or start.kind == "end":
        return EXIT_OK
    if start.kind != "start":
        raise FrameError(f"the first frame must be 'start', not {start.kind!r}")
    _hand_over(channel, start.fields)
    policy_path = Path.cwd() / POLICY_FILE
    max_values = int(start.fields.get("max_action_values", 10_000_000))
    act = _start_policy(channel, policy_path, start.fields.get("code"),
                        start.fields.get("info", {}))
    if act is None:
        return EXIT_FAILED
    channel.send(encode_frame("ready", polling=channel.poll_s > 0))
    while True:
        frame = channel.read()
        if frame is None or frame.kind == "end":
            return EXIT_OK
        if frame.kind == "handover":
            _hand_over(channel, frame.fields)
            continue
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
        channel.send(channel.actions.encode(arrays))


def _hand_over(channel: _Channel, fields: Mapping[str, Any]) -> None:
    """Run on the CPU the engine asks for and wait for observations as it says (codemode's
    ``_Handover`` says why): by polling only on the CPU asked for, since polling on a CPU
    shared with the engine would keep the engine from its turn."""
    poll_s = fields.get("poll_s")
    moved = _move_to_cpu(fields.get("cpu"))
    channel.wait_by_polling(poll_s if moved and type(poll_s) is float else 0.0)


def _move_to_cpu(cpu: object) -> bool:
    """Whether this process now runs on ``cpu`` alone (where that is not allowed, or no CPU is
    named, it stays where it is)."""
    if type(cpu) is not int:
        return False
    try:
        os.sched_setaffinity(0, {cpu})
    except (OSError, ValueError):
        return False
    return True


def _start_policy(channel: _Channel, policy_path: Path, code: object,
                  info: object) -> Callable[[Values], object] | None:
    """The learner's act(), after writing ``code`` to policy.py, loading it and calling its
    reset(info); None (and an error frame sent) when any of that fails."""
    try:
        if not isinstance(code, str):
            raise TypeError("the start frame carries no code")  # a bug of the trusted side
        policy_path.write_text(code, encoding="utf-8")
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
