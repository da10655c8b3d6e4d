"""What crosses the trust boundary between the suite and the worker that runs
the judged code (see :mod:`conformance.judging.boundary`): plain data only.

A message is one frame on a pipe: ``!II`` (the JSON header's length, the
buffers' total length), the header (UTF-8 JSON), then the raw buffers, each
padded with zeros to a multiple of ``ALIGN`` bytes (the header's ``sizes``
are their unpadded lengths), so that the arrays rebuilt in place from the
one buffer a frame is read into are aligned. The
header holds the message's fields; a value in it is a tree of JSON:

* ``null``, booleans, numbers (``NaN`` and ``Infinity`` as Python's JSON
  writes them) and strings stand for themselves;
* ``{"a": [i, dtype, shape]}`` an array: buffer ``i`` holds its bytes, C
  order; ``{"n": [i, dtype]}`` a NumPy scalar of that dtype;
* ``{"t": [...]}`` a tuple, ``{"l": [...]}`` a list, ``{"d": [[k, v], ...]}``
  a dict with string keys, ``{"c": [re, im]}`` a complex number;
* ``{"g": state}`` a NumPy Generator, by its bit generator's state;
* ``{"o": [type, message]}`` anything else: never rebuilt, only named
  (:class:`Opaque`).

Decoding never runs code of the sender: arrays are rebuilt with
``numpy.frombuffer`` from a dtype of a few plain kinds (no objects, no
structured dtypes), their sizes checked against their buffers; a frame whose
header or buffers exceed the limits is refused before it is read
(:class:`FrameTooLargeError`). This module needs NumPy and the standard library
only: the worker imports it beside the judged code.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

import numpy as np

# Names both sides read: the module attribute that declares unsupported
# corners, and the variable that counts a judged notebook's own check() calls.
DECLARATION = "CONFORMANCE_UNSUPPORTED"
NESTED = "REFCNN_CONFORMANCE_NESTED_CHECKS"

FRAME = struct.Struct("!II")
ALIGN = 64  # bytes: each buffer starts at a multiple of it
HEADER_LIMIT = 4 * 2**20  # bytes of a frame's JSON header
DTYPE_KINDS = "biufcUS"  # the dtypes rebuilt: booleans, numbers, strings
REPR_LIMIT = 400  # characters of an opaque value's description


class ProtocolError(Exception):
    """A frame that does not follow the protocol (a forged or cut message)."""


class FrameTooLargeError(ProtocolError):
    """A frame over the limits, refused unread; ``size`` its declared bytes."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a message of {size} bytes, over the limit of {limit}")
        self.size, self.limit = size, limit


class Opaque:
    """A value the worker could not send as plain data (an object array, an
    object of its own type): its type's name and what the comparison says of
    it (``message``, e.g. ``"an object array: array(...)"``)."""

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name, self.message = type_name, message

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.message}>"


def memory_of(value: Any) -> np.ndarray | None:
    """A NumPy array over ``value``'s own memory, without copying, for any
    array type that exposes it (NumPy, DLPack: torch, JAX, CuPy on the CPU;
    ``__array_interface__``; the buffer protocol); None when it does not."""
    if isinstance(value, np.ndarray):
        return value
    if value is None or isinstance(value, (int, float, complex, str)):
        return None
    candidates = [value]
    if callable(getattr(value, "detach", None)):  # torch refuses DLPack with autograd
        try:
            candidates.append(value.detach())
        except Exception:
            pass
    for candidate in candidates:
        if hasattr(candidate, "__dlpack__"):
            try:
                return np.from_dlpack(candidate)
            except Exception:
                continue
    if hasattr(value, "__array_interface__"):
        try:
            return np.asarray(value)
        except Exception:
            return None
    try:
        return np.asarray(memoryview(value))
    except TypeError:
        return None


# --- encoding (both sides) ---------------------------------------------------------


def _describe(value: Any) -> Opaque:
    name = type(value).__name__
    try:
        array = np.asarray(value)
    except Exception as exc:
        return Opaque(name, f"{name}, not an array ({str(exc)[:200]})")
    return Opaque(name, f"an object array: {array!r:.200}")


def _array_like(value: Any) -> np.ndarray | None:
    """A plain ndarray of ``value``'s data, if it is an array of another type
    (a subclass, a torch tensor, anything NumPy reads) of a plain dtype."""
    array = memory_of(value)
    if array is None:
        try:
            array = np.asarray(value)
        except Exception:
            return None
    if array.dtype.kind not in DTYPE_KINDS or array.dtype.fields is not None:
        return None
    return array


class Encoder:
    """Turns a value into a header tree and buffers (see the module doc)."""

    def __init__(self) -> None:
        self.buffers: list[bytes] = []

    def _buffer(self, array: np.ndarray) -> int:
        # its bytes as a view, not a copy: the frame is written at once
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        self.buffers.append(memoryview(data))
        return len(self.buffers) - 1

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):
            if value.dtype.kind in DTYPE_KINDS:
                return {"n": [self._buffer(np.asarray(value)), value.dtype.str]}
            opaque = _describe(value)
            return {"o": [opaque.type_name, opaque.message[:REPR_LIMIT]]}
        if type(value) in (int, float):
            return value
        if isinstance(value, complex):
            return {"c": [value.real, value.imag]}
        if isinstance(value, tuple):
            return {"t": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return {"l": [self.encode(v) for v in value]}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"d": [[k, self.encode(v)] for k, v in value.items()]}
        if isinstance(value, np.random.Generator):
            return {"g": value.bit_generator.state}
        if isinstance(value, (int, float)):  # subclasses (a bool-like int): plain numbers
            return float(value) if isinstance(value, float) else int(value)
        array = value if type(value) is np.ndarray else _array_like(value)
        if isinstance(array, np.ndarray) and array.dtype.kind in DTYPE_KINDS:
            array = np.asarray(array)  # a subclass: its plain data
            return {"a": [self._buffer(array), array.dtype.str, list(array.shape)]}
        opaque = _describe(value)
        return {"o": [opaque.type_name, opaque.message[:REPR_LIMIT]]}


def encode(value: Any) -> tuple[Any, list[bytes]]:
    encoder = Encoder()
    tree = encoder.encode(value)
    return tree, encoder.buffers


# --- decoding ----------------------------------------------------------------------


def _dtype(text: Any) -> np.dtype:
    if not isinstance(text, str) or len(text) > 16:
        raise ProtocolError(f"a dtype that is not a short string: {text!r:.40}")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ProtocolError(f"an unknown dtype {text!r}") from None
    if dtype.kind not in DTYPE_KINDS or dtype.fields is not None or dtype.hasobject:
        raise ProtocolError(f"a dtype of a kind not sent as data: {text!r}")
    return dtype


class Decoder:
    """Rebuilds a tree against its buffers; ``ProtocolError`` for anything
    that does not fit (see the module doc)."""

    def __init__(self, buffers: list, generators: bool = False) -> None:
        self.buffers, self.generators = buffers, generators
        self.used: set[int] = set()

    def _bytes(self, index: Any) -> Any:
        """Buffer ``index``; a copy of it when it was used already, so that
        no two values decoded share memory."""
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise ProtocolError(f"a buffer index out of range: {index!r:.40}")
        if index in self.used:
            return memoryview(bytearray(self.buffers[index]))
        self.used.add(index)
        return self.buffers[index]

    def decode(self, tree: Any, depth: int = 0) -> Any:
        if depth > 64:
            raise ProtocolError("a value nested more than 64 deep")
        if tree is None or type(tree) in (bool, int, float, str):
            return tree
        if type(tree) is list:
            raise ProtocolError("a bare list in a value tree")
        if type(tree) is not dict or len(tree) != 1:
            raise ProtocolError(f"a value node that is not one tagged field: {tree!r:.60}")
        ((tag, body),) = tree.items()
        if tag in ("t", "l") and type(body) is list:
            items = [self.decode(v, depth + 1) for v in body]
            return tuple(items) if tag == "t" else items
        if tag == "d" and type(body) is list:
            if not all(type(p) is list and len(p) == 2 and type(p[0]) is str for p in body):
                raise ProtocolError("a dict node whose entries are not [key, value]")
            return {k: self.decode(v, depth + 1) for k, v in body}
        if tag == "c" and type(body) is list and len(body) == 2:
            if not all(type(x) in (int, float) for x in body):
                raise ProtocolError("a complex node that is not two numbers")
            return complex(*body)
        if tag == "a" and type(body) is list and len(body) == 3:
            return self._array(*body)
        if tag == "n" and type(body) is list and len(body) == 2:
            return self._array(body[0], body[1], [])[()]
        if tag == "o" and type(body) is list and len(body) == 2:
            if not all(type(x) is str for x in body):
                raise ProtocolError("an opaque node that is not two strings")
            return Opaque(body[0][:REPR_LIMIT], body[1][:REPR_LIMIT])
        if tag == "g" and self.generators and type(body) is dict:
            return _generator(body)
        raise ProtocolError(f"an unknown value node {tag!r:.20}")

    def _array(self, index: Any, dtype_text: Any, shape: Any) -> np.ndarray:
        dtype = _dtype(dtype_text)
        if type(shape) is not list or len(shape) > 32:
            raise ProtocolError(f"a shape that is not a short list: {shape!r:.60}")
        if not all(type(n) is int and n >= 0 for n in shape):
            raise ProtocolError(f"a shape of other than non-negative ints: {shape!r:.60}")
        data = self._bytes(index)
        size = 1
        for n in shape:
            size *= n
        if size * dtype.itemsize != len(data):
            raise ProtocolError(
                f"an array of shape {tuple(shape)} and dtype {dtype} in {len(data)} bytes"
            )
        # In place only in a buffer of the decoder's own (what read_frame
        # read): bytes, or a sender's array (an encoder's buffers decoded
        # directly), get a writable copy that shares nothing.
        if not (isinstance(data, memoryview) and isinstance(data.obj, bytearray)):
            data = bytearray(data)
        return np.frombuffer(data, dtype=dtype).reshape(shape)


def _generator(state: dict) -> np.random.Generator:
    name = state.get("bit_generator")
    if name not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
        raise ProtocolError(f"an unknown bit generator {name!r:.40}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError) as exc:
        raise ProtocolError(f"a bit generator state that does not load ({exc})") from None
    return np.random.Generator(bit_generator)


def decode(tree: Any, buffers: list[bytes], generators: bool = False) -> Any:
    return Decoder(buffers, generators).decode(tree)


# --- frames ------------------------------------------------------------------------


def _padded(size: int) -> int:
    return -(-size // ALIGN) * ALIGN


def write_frame(fd: int, header: dict, buffers: list = ()) -> None:
    """One message: ``header`` (with the buffers' lengths) and its buffers
    (bytes-like, written as they are, without joining them first)."""
    views = [memoryview(b).cast("B") for b in buffers]
    header = {**header, "sizes": [len(v) for v in views]}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pieces = [FRAME.pack(len(text), sum(_padded(len(v)) for v in views)) + text]
    for view in views:
        pieces += [view, bytes(_padded(len(view)) - len(view))]
    pieces = [memoryview(p) for p in pieces if len(p)]
    while pieces:
        written = os.writev(fd, pieces[:1024])  # IOV_MAX
        while pieces and written >= len(pieces[0]):
            written -= len(pieces.pop(0))
        if written:
            pieces[0] = pieces[0][written:]


SPIN = 100e-6  # seconds a reader polls an empty pipe before it sleeps in select


def read_into_spinning(fd: int, view: memoryview, wait: Any = None) -> int:
    """Read what ``fd`` (non-blocking) has into ``view``: polling it for
    ``SPIN`` seconds first (a reply often comes sooner than a sleeping
    process wakes up), then waiting in select for at most ``wait()`` seconds
    (None: no limit); TimeoutError when that passed."""
    spin_end = None
    while True:
        try:
            return os.readv(fd, [view])
        except BlockingIOError:
            pass
        now = time.perf_counter()
        if spin_end is None:
            spin_end = now + SPIN
        if now < spin_end:
            continue
        ready, _, _ = select.select([fd], [], [], None if wait is None else wait())
        if not ready:
            raise TimeoutError


def _read_into(fd: int, view: memoryview) -> int:
    return os.readv(fd, [view])


def read_exactly(fd: int, size: int, read_into: Any = _read_into) -> bytearray:
    """``size`` bytes, read into one buffer; EOFError if the other end closed
    first. ``read_into(fd, view)`` fills the start of ``view`` and returns
    how many bytes it read (0: the end)."""
    data = bytearray(size)
    view, got = memoryview(data), 0
    while got < size:
        count = read_into(fd, view[got:])
        if not count:
            raise EOFError(f"the pipe closed {got} bytes into {size}")
        got += count
    return data


def read_frame(fd: int, buffer_limit: int, read_into: Any = _read_into) -> tuple[dict, list]:
    """The next message: its header and buffers (views of the one buffer the
    frame was read into). FrameTooLargeError (unread) for one over
    ``buffer_limit`` bytes of buffers or ``HEADER_LIMIT`` of header;
    ProtocolError for one that does not parse. ``read_into``: as for
    :func:`read_exactly` (the boundary's has a deadline)."""
    header_size, buffers_size = FRAME.unpack(read_exactly(fd, FRAME.size, read_into))
    if header_size > HEADER_LIMIT:
        raise FrameTooLargeError(header_size, HEADER_LIMIT)
    if buffers_size > buffer_limit:
        raise FrameTooLargeError(buffers_size, buffer_limit)
    try:
        header = json.loads(read_exactly(fd, header_size, read_into).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"a header that is not JSON ({exc})") from None
    sizes = header.get("sizes") if isinstance(header, dict) else None
    if type(sizes) is not list or not all(type(s) is int and s >= 0 for s in sizes):
        raise ProtocolError("a header without the sizes of its buffers")
    if sum(_padded(s) for s in sizes) != buffers_size:
        raise ProtocolError(f"buffers of {sum(sizes)} bytes (padded) declared as {buffers_size}")
    data = memoryview(read_exactly(fd, buffers_size, read_into))
    buffers, position = [], 0
    for size in sizes:
        buffers.append(data[position : position + size])
        position += _padded(size)
    return header, buffers
