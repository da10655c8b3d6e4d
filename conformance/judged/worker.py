"""The worker: the one process where the judged code runs (see
:mod:`conformance.judging.boundary` for the suite's side).

Started as ``python -c BOOTSTRAP`` (:func:`bootstrap`): before anything of
the judged code is imported it sets the limits, leaves root for the user id
it was given, and forks; the fork serves, the first process waits for it and
writes its wait status to the status pipe (inside bubblewrap's pid
namespace the suite cannot wait for it itself), then leaves.

It serves requests, one frame each (:mod:`conformance.judged.protocol`):

* ``load``: load the implementation (:mod:`conformance.judged.loading`), and say
  what it provides: the article's functions it binds (with their parameter
  names), the article names bound to what is not callable, its public
  names, its declaration of unsupported corners, how it was loaded;
* ``call``: call one function on the decoded arguments; reply with its result
  (plain data), or the exception it raised (type, first line, where), the
  inputs it changed (their new values), and, when asked, what only this
  process can see of its outputs: which is an input object itself, which
  shares memory with one (``observe``); ``keep`` keeps the result for a
  later ``reread`` (the reuse check: a buffer handed out again changes);
* ``reread``: a kept result as it is now.

What the judged code prints goes to a pipe of its own, of which the last
``OUTPUT_LIMIT`` bytes are sent with each reply.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import select
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from . import loading as ld
from . import protocol as pr

OUTPUT_LIMIT = 64 * 1024  # bytes of what one call printed sent back (the last ones)
REQUEST_LIMIT = 2**34  # bytes of arrays in one request (the suite's own)
_SUITE_DIR = str(Path(__file__).resolve().parent)
_KEPT_LIMIT = 8  # results kept for a reread (the latest ones)


class BoundedOutput:
    """File descriptors 1 and 2 into a pipe that a thread drains, keeping the
    last ``limit`` bytes: a flood of prints costs no memory."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.data, self.dropped = bytearray(), 0
        self.lock = threading.Lock()
        self.read_end, write_end = os.pipe()
        os.set_blocking(self.read_end, False)
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            select.select([self.read_end], [], [])
            if not self._read():
                return

    def _read(self) -> bool:
        with self.lock:
            while True:
                try:
                    chunk = os.read(self.read_end, 1 << 16)
                except BlockingIOError:
                    return True
                if not chunk:
                    return False
                self.data += chunk
                if len(self.data) > self.limit:
                    self.dropped += len(self.data) - self.limit
                    del self.data[: len(self.data) - self.limit]

    def take(self) -> str:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        self._read()
        with self.lock:
            text = self.data.decode("utf-8", "replace")
            if self.dropped:
                text = f"[{self.dropped} earlier bytes of output dropped]\n{text}"
            self.data.clear()
            self.dropped = 0
        return text


def _origin(exc: BaseException) -> str:
    """Where the implementation raised: the deepest frame outside NumPy and
    this suite, e.g. `` (at mylayers.py:42 in conv_forward)``."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(_SUITE_DIR) and "/numpy/" not in f.filename
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {Path(frame.filename).name}:{frame.lineno} in {frame.name})"


def _exception(exc: BaseException) -> dict[str, Any]:
    try:
        text = (str(exc).strip().splitlines() or [""])[0][:300]
        trace = "".join(traceback.format_exception(exc))[-4000:]
    except Exception:  # an exception whose text itself raises
        text, trace = "", ""
    builtin = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"]
    return {
        "type": type(exc).__name__,
        "builtins": builtin[:8],
        "message": text,
        "origin": _origin(exc),
        "exception": isinstance(exc, Exception),
        "traceback": trace,
    }


def _parameters(function: Any) -> list[list[str]] | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return [[p.name, p.kind.name] for p in signature.parameters.values()]


def _declaration(module: Any) -> Any:
    """The module's declaration of unsupported corners, as plain data (or
    the reason it is none)."""
    if not hasattr(module, pr.DECLARATION):
        return None
    value = getattr(module, pr.DECLARATION)
    try:
        if isinstance(value, dict):
            return {
                "value": {
                    str(k): [str(c) for c in ([v] if isinstance(v, str) else list(v))]
                    for k, v in value.items()
                }
            }
    except TypeError:
        pass
    return {"type": type(value).__name__}


def _leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(value, (tuple, list)):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [(path, value)]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    try:  # equal_nan costs 20 times more: only where NaNs make them differ
        if np.array_equal(a, b):
            return True
        return a.dtype.kind in "fc" and bool(np.array_equal(a, b, equal_nan=True))
    except Exception:
        return a.tobytes() == b.tobytes()


class Worker:
    """Serves the trusted side's requests (load, call, reread) on a pair of
    pipes, one frame each way (:mod:`conformance.judged.protocol`)."""

    def __init__(self, requests: int, replies: int, output: Any = None) -> None:
        self.requests, self.replies = requests, replies
        self.module: Any = None
        self.kept: dict[int, Any] = {}
        self.output = BoundedOutput() if output is None else output

    def reply(self, header: dict, buffers: list[bytes] = ()) -> None:
        pr.write_frame(self.replies, {**header, "output": self.output.take()}, buffers)

    def handle(self, header: dict, buffers: list[bytes]) -> None:
        kind = header.get("request")
        if kind == "load":
            self.load(header)
        elif kind == "call":
            self.call(header, buffers)
        elif kind == "reread":
            result = self.kept.get(header.get("seq"))
            tree, out = pr.encode(result)
            self.reply({"result": tree}, out)
        else:
            self.reply({"error": f"unknown request {kind!r:.40}"})

    def serve(self) -> None:
        os.set_blocking(self.requests, False)
        while True:
            try:
                header, buffers = pr.read_frame(self.requests, REQUEST_LIMIT, pr.read_into_spinning)
            except EOFError:
                return
            self.handle(header, buffers)

    def load(self, header: dict) -> None:
        try:
            loaded = ld.load(header["spec"])
        except ld.LoadError as exc:
            self.reply({"load_error": str(exc)})
            return
        except BaseException as exc:  # the import itself raised, or exited
            self.reply({"import_error": _exception(exc)})
            return
        self.describe(loaded, header["names"])

    def describe(self, loaded: ld.Loaded, names: list[str]) -> None:
        """Reply what the loaded implementation provides of ``names``."""
        module = self.module = loaded.module
        exported = getattr(module, "__all__", None)
        try:
            exported = None if exported is None else [str(n) for n in exported]
        except TypeError:
            exported = None
        visible = [n for n in names if exported is None or n in exported]
        provided = {n: _parameters(getattr(module, n)) for n in visible
                    if callable(getattr(module, n, None))}  # fmt: skip
        not_callable = {n: type(getattr(module, n)).__name__ for n in visible
                        if hasattr(module, n) and not callable(getattr(module, n))}  # fmt: skip
        self.reply(
            {
                "name": loaded.name,
                "label": loaded.label,
                "notes": [str(n) for n in loaded.notes],
                "provided": provided,
                "not_callable": not_callable,
                "has_all": exported is not None,
                "public": sorted(str(n) for n in vars(module) if not str(n).startswith("_")),
                "declaration": _declaration(module),
            }
        )

    def call(self, header: dict, buffers: list[bytes]) -> None:
        args_tree, kwargs_tree = header["args"], header["kwargs"]
        args = pr.decode(args_tree, buffers, generators=True)
        kwargs = pr.decode(kwargs_tree, buffers, generators=True)
        inputs = {str(i): v for i, v in enumerate(args)} | {f"k:{k}": v for k, v in kwargs.items()}
        before = {k: v.copy() for k, v in inputs.items() if isinstance(v, np.ndarray)}
        function = getattr(self.module, header["function"])
        try:
            result = function(*args, **kwargs)
        except BaseException as exc:
            changed, changed_buffers = self._changed(inputs, before)
            self.reply({"raised": _exception(exc), **changed}, changed_buffers)
            return
        changed, changed_buffers = self._changed(inputs, before)
        encoder = pr.Encoder()
        encoder.buffers = list(changed_buffers)
        tree = encoder.encode(result)
        reply: dict[str, Any] = {"result": tree, **changed}
        if header.get("observe"):
            reply["facts"] = self._facts(result, inputs)
        if header.get("keep"):
            self.kept[header["seq"]] = result
            for old in sorted(self.kept)[:-_KEPT_LIMIT]:
                del self.kept[old]
        self.reply(reply, encoder.buffers)

    def _changed(self, inputs: dict, before: dict) -> tuple[dict, list[bytes]]:
        """The inputs whose values the call changed, with their values now."""
        changed = {}
        encoder = pr.Encoder()
        for key, copy in before.items():
            now = inputs[key]
            if not _same(now, copy):
                changed[key] = encoder.encode(np.array(now))
        return ({"changed": changed} if changed else {}), encoder.buffers

    def _facts(self, result: Any, inputs: dict) -> list:
        """Per output (its path in the result): the input it is, the input it
        shares memory with, its type when it is not an ndarray."""
        facts = []
        for path, leaf in _leaves(result):
            memory = pr.memory_of(leaf)
            same = shares = None
            for key, value in inputs.items():
                if not isinstance(value, np.ndarray):
                    continue
                if leaf is value:
                    same = same or key
                elif memory is not None and memory.size and np.shares_memory(memory, value):
                    shares = shares or key
            kind = "" if isinstance(leaf, np.ndarray) else type(leaf).__name__
            facts.append([list(path), same, shares, kind])
        return facts


class Forbidden:
    """A finder that refuses the forbidden modules by name, with the message
    the sandbox's view gives (where bubblewrap hides their files, the import
    fails there first; without it, this is all, and judged code could
    remove it)."""

    def __init__(self, names: list[str]) -> None:
        self.names = set(names)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        top = fullname.partition(".")[0]
        if top in self.names:
            raise ImportError(f"imports {top}, which this grading forbids", name=top)


def serve(requests: int, replies: int, forbid: str = "") -> None:
    names = [n for n in forbid.split(",") if n]
    if names:
        for name in names:
            sys.modules.pop(name, None)
        sys.meta_path.insert(0, Forbidden(names))
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    Worker(requests, replies).serve()


# The first code the worker's interpreter runs (``python -c``): limits, user
# id, the fork, then the suite's worker module. Only the standard library
# until the fork.
BOOTSTRAP = r"""
import os, resource, signal, struct, sys
requests, replies, status, memory, file_size, processes, uid, suite, forbid = sys.argv[1:10]
requests, replies, status = int(requests), int(replies), int(status)
MB = 2 ** 20
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
if int(memory):
    resource.setrlimit(resource.RLIMIT_AS, (int(memory) * MB, int(memory) * MB))
if int(file_size):
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(file_size) * MB, int(file_size) * MB))
if int(uid) >= 0 and os.geteuid() == 0:
    if int(processes):
        resource.setrlimit(resource.RLIMIT_NPROC, (int(processes), int(processes)))
    os.setgroups([])
    os.setgid(int(uid))
    os.setuid(int(uid))
pid = os.fork()
if pid:
    os.close(requests)
    os.close(replies)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            _, code = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    try:
        os.write(status, struct.pack("!i", code))
    except OSError:
        pass  # the suite is not waiting for it (it ended the worker)
    os._exit(0)
os.close(status)
sys.argv = [sys.argv[0]]
# the worker's modules as a bare package: no refcnn, no suite in this process
import importlib, types
package = types.ModuleType("_refcnn_worker")
package.__path__ = [suite]
sys.modules[package.__name__] = package
importlib.import_module("_refcnn_worker.worker").serve(requests, replies, forbid)
os._exit(0)
"""
