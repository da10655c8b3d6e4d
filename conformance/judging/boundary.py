"""The trust boundary, the suite's side: the judged code runs in a worker
process of its own (:mod:`conformance.judged.worker`), never in the suite's.

The suite's process (pytest's, or a pytest-xdist worker's) draws the inputs,
computes the expected values, compares and records. It calls the
implementation's functions through :class:`Boundary`: each call sends the
arguments to the worker as plain data and reads back the result as plain
data (:mod:`conformance.judged.protocol`: arrays rebuilt from their bytes and a
dtype of a few plain kinds, nothing unpickled, nothing of the worker's code
run here), within the test's time limit. So no value the judged code
returns can lie to a comparison (an ndarray subclass arrives as its data), and
nothing it patches in its own process (NumPy, torch, the suite's modules)
reaches the one that decides.

A call ends in one of:

* its result;
* the exception it raised, as :class:`ImplementationError` (an Exception)
  or :class:`ImplementationExit` (``SystemExit``, a ``KeyboardInterrupt`` of
  its own), with its type's name, first line and where it was raised;
* :class:`WorkerLost`: the worker died (a signal, an exit), outlived the
  test's time limit (killed), or sent what does not follow the protocol. It
  is a BaseException, so that hypothesis does not retry the call; the
  plugin reports it in the test's cell as ``crashed`` or ``timed out``,
  naming the call. The next call starts a fresh worker.

The worker runs inside bubblewrap (``bwrap``) where it is installed: no
network, a pid namespace that ends with it (nothing it starts outlives it),
a read-only view of the filesystem with a private ``/tmp``; without it, in
a session of its own (a hang or a crash still ends one call; a daemon that
leaves its session, and the network, are not stopped). See
docs/user-guide.md, "What runs where".
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.util
import inspect
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from refcnn.i18n import tr

from ..judged import loading as ld
from ..judged import protocol as pr
from ..judged import worker as wk

FROM_IMPLEMENTATION = "_refcnn_from_implementation"
OUTPUT_FLOOR = 16 * 2**20  # bytes a reply may always hold
OUTPUT_FACTOR = 64  # ... and this many times the bytes of the call's inputs
SANDBOX_VAR = "REFCNN_SANDBOX"  # "none": no bubblewrap even where it is installed
LIMITS_VAR = "REFCNN_WORKER_LIMITS"  # grading: "uid,memory MB,file MB,processes"
WRITABLE_VAR = "REFCNN_SANDBOX_WRITABLE"  # folders the worker may write too (":"-separated)
UIDS_FIRST = 61000  # refcnn grade's first user id (conformance.grading.judge.UIDS)
PIPE_SIZE = 2**20  # bytes of each pipe's buffer (Linux's limit for a user)
STATS_VAR = "REFCNN_BOUNDARY_STATS"  # a file each session appends its calls and seconds to
CHECKED_VAR = "REFCNN_BWRAP_CHECKED"  # grading: the bwrap its process found working
FORBID_VAR = "REFCNN_WORKER_FORBID"  # grading: modules the judged code may not import (",")
_WORKER_DIR = str(Path(wk.__file__).resolve().parent)  # the modules the worker imports


def _describe(exc: BaseException, info: dict) -> None:
    """The fields of a remote exception, from the worker's description."""
    exc.type_name = str(info.get("type", "Exception"))[:100]
    exc.text = str(info.get("message", ""))[:300]
    exc.origin = str(info.get("origin", ""))[:300]
    exc.trace = str(info.get("traceback", ""))[-4000:]
    BaseException.__init__(exc, f"{exc.type_name}: {exc.text}{exc.origin}")
    setattr(exc, FROM_IMPLEMENTATION, True)


class ImplementationError(Exception):
    """An Exception the judged code raised: ``type_name``, ``text`` (its
    first line), ``origin`` (`` (at file.py:12 in f)`` or empty)."""

    def __init__(self, info: dict) -> None:
        _describe(self, info)

    def __str__(self) -> str:
        return self.text


class ImplementationExit(BaseException):
    """What the judged code raised that is no Exception (``SystemExit``, a
    ``KeyboardInterrupt`` of its own); same fields."""

    __init__ = ImplementationError.__init__  # no super(): it is shared
    __str__ = ImplementationError.__str__


# What a remote exception may also be, so that the suite's ``except
# ValueError`` (or ``pytest.raises``) sees the judged code's ValueError.
_BUILTIN_BASES = {
    c.__name__: c
    for c in (TypeError, ValueError, ArithmeticError, ZeroDivisionError, OverflowError,
              FloatingPointError, LookupError, IndexError, KeyError, AttributeError,
              RuntimeError, NotImplementedError, RecursionError, MemoryError, AssertionError,
              NameError, UnboundLocalError, ImportError, ModuleNotFoundError)
}  # fmt: skip


@functools.cache
def _exception_class(name: str, base: str) -> type:
    """``ImplementationError`` that also is the builtin ``base``, named
    ``name`` (what the verdict says of it)."""
    bases = (ImplementationError, _BUILTIN_BASES[base]) if base in _BUILTIN_BASES else (
        ImplementationError,)  # fmt: skip
    cls = type(name if name.isidentifier() else "ImplementationError", bases, {})
    cls.__str__ = ImplementationError.__str__
    return cls


def remote_exception(info: dict) -> BaseException:
    """The exception the worker described, rebuilt as plain data."""
    if not info.get("exception", True):
        return ImplementationExit(info)
    builtins = info.get("builtins") if isinstance(info.get("builtins"), list) else []
    base = next((str(b) for b in builtins if str(b) in _BUILTIN_BASES), "")
    return _exception_class(str(info.get("type", "Exception"))[:100], base)(info)


class WorkerLost(BaseException):
    """The worker ended during a call, or was stopped: ``kind`` (``crashed``
    or ``timed out``), the ``message`` of the test's cell, the ``call``."""

    def __init__(self, kind: str, message: str, call: str, how: str = "") -> None:
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.call = kind, message, call
        self.how = how  # how the worker ended, for a crash ("was killed by SIGSEGV")

    def as_failure(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "exception": "",
            "message": self.message,
            "call": tr("last call: {call}", call=self.call) if self.call else "",
            "params": {},
            "snippet": "",
        }


class LoadFailedError(Exception):
    """The implementation did not load in the worker; the message says why
    (``not_importable``: its module could not be imported)."""

    def __init__(self, message: str, not_importable: bool = False) -> None:
        super().__init__(message)
        self.not_importable = not_importable


@dataclass
class Loaded:
    """What the worker said of the implementation it loaded."""

    name: str
    label: str
    notes: list[str]
    provided: dict[str, list | None]  # article name -> its parameters ([name, kind])
    not_callable: dict[str, str]  # article name -> the type bound to it
    has_all: bool
    public: list[str]
    declaration: Any  # {"value": ...}, {"type": name} or None
    sandbox: str = ""  # how it ran, for people
    sandboxed: bool = False  # in bubblewrap's namespaces


def bwrap() -> str | None:
    """bubblewrap's path, when it is installed and may be used."""
    if os.environ.get(SANDBOX_VAR) == "none" or not sys.platform.startswith("linux"):
        return None
    return shutil.which("bwrap")


@functools.cache
def bwrap_works(path: str) -> str:
    """Empty when ``path`` can make the sandbox here, else why not (a kernel
    without user namespaces, a container that forbids them). A grade's
    session is told that its grader found ``path`` working (CHECKED_VAR)
    and does not try it again."""
    if os.environ.get(CHECKED_VAR) == path:
        return ""
    try:
        result = subprocess.run(
            [path, *_BWRAP_FLAGS, "--", sys.executable, "-c", "pass"],
            capture_output=True, timeout=30, text=True,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if result.returncode == 0 else (result.stderr.strip() or f"exit {result.returncode}")


_BWRAP_FLAGS = (
    "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
    "--new-session", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
    "--tmpfs", "/dev/shm",
)  # fmt: skip


def _traversable(folder: str, uid: int) -> bool:
    """Whether ``uid`` (no groups but its own) may enter ``folder``."""
    try:
        st = os.stat(folder)
    except OSError:
        return True  # nothing to show
    if st.st_uid == uid:
        return bool(st.st_mode & 0o100)
    if st.st_gid == uid:
        return bool(st.st_mode & 0o010)
    return bool(st.st_mode & 0o001)


def blocked_folders(uid: int, paths: list[str]) -> list[str]:
    """The folders above ``paths`` that ``uid`` may not enter (``/root``,
    mode 0700), outermost first."""
    found: list[str] = []
    for path in paths:
        real = Path(os.path.realpath(path))
        for parent in reversed(real.parents):
            folder = str(parent)
            if folder != "/" and not _traversable(folder, uid) and folder not in found:
                found.append(folder)
    return sorted(found, key=lambda f: f.count("/"))


def reachable(uid: int, paths: list[str]) -> list[str]:
    """bwrap arguments that let ``uid`` read ``paths`` whatever the folders
    above them allow: each folder it may not enter is covered by an empty
    one it may (a tmpfs, nothing else of it is seen), and the paths are bound
    back, read-only, outermost first."""
    blocked = blocked_folders(uid, paths)
    if not blocked:
        return []
    real = {os.path.realpath(p) for p in paths if os.path.exists(p)}
    binds = sorted(
        (p for p in real if any(p.startswith(f + "/") for f in blocked)),
        key=lambda p: p.count("/"),
    )
    steps = {(f.count("/"), 0, f) for f in blocked}
    for path in binds:
        steps.add((path.count("/"), 2, path))
        # the folders between the cover and the path: bwrap would make them 0700
        for parent in Path(path).parents:
            folder = str(parent)
            if folder in blocked or any(folder.startswith(b + "/") or folder == b for b in binds):
                break
            if any(folder.startswith(f + "/") for f in blocked):
                steps.add((folder.count("/"), 1, folder))
    arguments: list[str] = []
    for _, kind, folder in sorted(steps):
        if kind == 0:
            arguments += ["--perms", "0755", "--tmpfs", folder]
        elif kind == 1:
            arguments += ["--perms", "0755", "--dir", folder]
        else:
            arguments += ["--ro-bind", folder, folder]
    return arguments


def forbidden_message(name: str) -> str:
    return f"imports {name}, which this grading forbids"


def forbidden_view(names: list[str], stubs: str) -> list[str]:
    """bwrap arguments that put, where each module of ``names`` lies, a
    module of that name whose import raises ImportError (saying so): the
    judged code sees no file of it, whatever name it computes."""
    arguments: list[str] = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        stub = os.path.join(stubs, name)
        os.makedirs(stub, exist_ok=True)
        source = f"raise ImportError({forbidden_message(name)!r}, name={name!r})\n"
        Path(stub, "__init__.py").write_text(source)
        Path(stub + ".py").write_text(source)
        for location in spec.submodule_search_locations or []:
            if os.path.isdir(location):
                arguments += ["--ro-bind", stub, os.path.realpath(location)]
        if not spec.submodule_search_locations and spec.origin and os.path.isfile(spec.origin):
            arguments += ["--ro-bind", stub + ".py", os.path.realpath(spec.origin)]
    return arguments


def sandbox_description(reason: str = "") -> str:
    path = bwrap()
    if path and not (reason := reason or bwrap_works(path)):
        return tr("bubblewrap (no network, its own pids, read-only files but a scratch folder)")
    why = reason or tr("bwrap is not installed")
    if os.environ.get(SANDBOX_VAR) == "none":
        why = f"{SANDBOX_VAR}=none"
    return tr("no sandbox ({why}): the worker is a process of its own, with network and files",
              why=why)  # fmt: skip


def death(status: int | None) -> str:
    """How a worker ended, in words, from its wait status."""
    if status is None:
        return tr("ended")
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = tr("signal {number}", number=number)
        if number == signal.SIGKILL:
            return tr("was killed by {signal} (as the OOM killer does)", signal=name)
        return tr("was killed by {signal}", signal=name)
    return tr("exited with code {code}", code=os.WEXITSTATUS(status))


def _input_bytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_input_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_input_bytes(v) for v in value.values())
    return 0


def _leaf(value: Any, path: list) -> Any:
    for index in path:
        value = value[index]
    return value


@dataclass(frozen=True)
class Confinement:
    """What confines the worker besides the sandbox: the user id it runs as
    (None: this process's), its rlimits (``memory`` MB of address space,
    ``file_size`` MB per file, ``processes`` of its user id; 0: the worker's
    defaults), the modules it may not import, the folders it may write
    besides its scratch folder, and variables it gets besides this process's.
    A grade's session takes it from its environment (``from_environment``:
    what ``as_environment`` wrote)."""

    uid: int | None = None
    memory: int = 0
    file_size: int = 0
    processes: int = 0
    forbid: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)

    def as_environment(self) -> dict[str, str]:
        user = -1 if self.uid is None else self.uid
        return {
            LIMITS_VAR: f"{user},{self.memory},{self.file_size},{self.processes}",
            FORBID_VAR: ",".join(self.forbid),
            WRITABLE_VAR: ":".join(self.writable),
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Confinement:
        fields = ((environ.get(LIMITS_VAR) or "-1,0,0,0").split(",") + ["0"] * 4)[:4]
        uid, memory, file_size, processes = (int(value or 0) for value in fields)
        return cls(
            uid=None if uid == -1 else uid,
            memory=memory,
            file_size=file_size,
            processes=processes,
            forbid=tuple(n for n in environ.get(FORBID_VAR, "").split(",") if n.isidentifier()),
            writable=tuple(filter(None, environ.get(WRITABLE_VAR, "").split(":"))),
        )


class Boundary:
    """The worker of one pytest process, started on demand and again after a
    loss; ``spec`` is what it loads (see :mod:`conformance.judged.loading`),
    ``confinement`` what confines it (default: what this process's
    environment says, :meth:`Confinement.from_environment`)."""

    def __init__(
        self,
        spec: str,
        names: list[str],
        sandbox: bool = True,
        confinement: Confinement | None = None,
    ) -> None:
        self.spec, self.names, self.sandbox = spec, names, sandbox
        self.sandboxed = False  # set where the command is built
        self.confinement = confinement or Confinement.from_environment()
        self.process: subprocess.Popen | None = None
        self.loaded: Loaded | None = None
        # The time limit counts the seconds spent waiting for the worker in
        # the running test, not the suite's own work (drawing, the oracle),
        # which a loaded machine slows: see begin_test.
        self.allowance: float | None = None
        self.used = 0.0
        self.timeout: float | None = None
        self.call_text = ""  # the call in progress, for the verdict
        self.function = ""
        self.seq = 0
        self.observe = self.keep = False
        self.changed: dict[int, np.ndarray] = {}  # id(argument) -> its value after the call
        # id(output) -> (output, its path in the result, the argument it is,
        # the argument it shares memory with, its type if no ndarray, call seq)
        self.facts: dict[int, tuple] = {}
        self.calls = 0
        self.seconds = 0.0  # spent waiting for replies
        self._began = 0.0  # when the read in progress began
        self.scratch: str | None = None  # the worker's own folder (its TMPDIR)
        self.stubs: str | None = None  # what stands for the forbidden modules

    # --- the worker's life ------------------------------------------------------

    def _command(self, requests: int, replies: int, status: int) -> tuple[list[str], dict]:
        confined = self.confinement
        forbid = list(confined.forbid)

        def bootstrap(suite: str) -> list[str]:
            """The worker's command: its pipes, limits, user id (-1: this
            process's), where its modules are, the forbidden modules."""
            uid = -1 if confined.uid is None else confined.uid
            fields = (requests, replies, status, confined.memory, confined.file_size,
                      confined.processes, uid, suite, ",".join(forbid))  # fmt: skip
            return [sys.executable, "-c", wk.BOOTSTRAP, *map(str, fields)]

        self.scratch = tempfile.mkdtemp(prefix="refcnn-worker-")
        if confined.uid is not None:
            os.chown(self.scratch, confined.uid, confined.uid)
        env = {**os.environ, **confined.environment, "TMPDIR": self.scratch}
        if confined.uid is not None:
            env["HOME"] = self.scratch
        path = bwrap() if self.sandbox else None
        self.sandboxed = path is not None and not bwrap_works(path)
        if not self.sandboxed:
            return bootstrap(_WORKER_DIR), env
        # the worker's modules at a path of their own (they may lie inside a
        # forbidden package: refcnn's wheel holds refcnn.conformance)
        suite = os.path.join(self.scratch, ".worker")
        os.mkdir(suite)
        arguments = [path, *_BWRAP_FLAGS]
        if confined.uid is not None:
            arguments += reachable(confined.uid, self._needed())
        writable = [a for p in confined.writable if os.path.isdir(p) for a in ("--bind", p, p)]
        # the files it reads (under /tmp too) stay where they are, read-only;
        # it writes only to its scratch folder (TMPDIR) and the writable ones
        arguments += ["--bind", self.scratch, self.scratch, *writable,
                      "--ro-bind", _WORKER_DIR, suite]  # fmt: skip
        if forbid:
            self.stubs = tempfile.mkdtemp(prefix="refcnn-forbidden-")
            arguments += forbidden_view(forbid, self.stubs)
        return [*arguments, "--chdir", os.getcwd(), "--", *bootstrap(suite)], env

    def _needed(self) -> list[str]:
        """What the worker reads: the interpreter, the import path, the
        working folder, the implementation."""
        paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable),
                 _WORKER_DIR, os.getcwd(), *sys.path,
                 *os.environ.get("PYTHONPATH", "").split(os.pathsep)]  # fmt: skip
        if not self.spec.startswith("functions:"):
            paths.append(os.path.abspath(self.spec))
        return [p for p in paths if p]

    def start(self) -> None:
        request_read, self.requests = os.pipe()
        self.replies, reply_write = os.pipe()
        self.status_read, status_write = os.pipe()
        command, env = self._command(request_read, reply_write, status_write)
        self.process = subprocess.Popen(
            command,
            env=env,
            pass_fds=(request_read, reply_write, status_write),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        for fd in (request_read, reply_write, status_write):
            os.close(fd)
        for fd in (self.requests, self.replies):  # fewer switches for large arrays
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        os.set_blocking(self.replies, False)
        self.seq = 0
        self.loaded = self._load()
        self.loaded.sandbox = (
            sandbox_description() if self.sandbox else tr("no sandbox (--no-isolation)")
        )
        self.loaded.sandboxed = self.sandboxed

    def _load(self) -> Loaded:
        # Starting and loading have a limit of their own (a notebook runs), and
        # their time does not count against the running test's: on a loaded
        # machine a fresh worker can take seconds to import numpy.
        allowance, used = self.allowance, self.used
        self.allowance, self.used = max(self.timeout or 0, 600), 0.0
        try:
            self._send({"request": "load", "spec": self.spec, "names": self.names})
            reply, _ = self._read()
        except WorkerLost as lost:
            self.close()
            if lost.how:
                message = tr("{spec}: the implementation's process {how} while loading",
                             spec=self.spec, how=lost.how)  # fmt: skip
            else:  # no result in time: the lost message says so
                message = tr("{spec}: {message}", spec=self.spec, message=lost.message)
            raise LoadFailedError(message) from None
        finally:
            self.allowance, self.used = allowance, used
        return self._load_reply(reply, [])

    def _load_reply(self, reply: dict, buffers: list[bytes]) -> Loaded:
        if "load_error" in reply:
            self.close()
            raise LoadFailedError(str(reply["load_error"]))
        if "import_error" in reply:
            self.close()
            error = ImplementationError(reply["import_error"])
            raise LoadFailedError(
                tr("{spec}: cannot import the implementation module ({error})", spec=self.spec,
                   error=f"{error.type_name}: {error.text}") + error.origin,
                not_importable=True,
            )  # fmt: skip
        try:
            return Loaded(
                name=str(reply["name"]),
                label=str(reply["label"]),
                notes=[str(n) for n in reply["notes"]],
                provided={str(k): v for k, v in dict(reply["provided"]).items() if k in self.names},
                not_callable={str(k): str(v) for k, v in dict(reply["not_callable"]).items()},
                has_all=bool(reply["has_all"]),
                public=[str(n) for n in reply["public"]][:1000],
                declaration=reply["declaration"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            self.close()
            message = f"{self.spec}: the worker's reply does not parse ({exc})"
            raise LoadFailedError(message) from None

    def close(self) -> None:
        """End the worker (closing its pipe lets it leave; then kill whatever
        is left of its session) and forget it."""
        process, self.process = self.process, None
        for name in ("requests", "replies", "status_read"):
            with contextlib.suppress(OSError, AttributeError):
                os.close(getattr(self, name))
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
            _kill(process)
        for name in ("scratch", "stubs"):
            if getattr(self, name):
                shutil.rmtree(getattr(self, name), ignore_errors=True)
                setattr(self, name, None)

    def ensure(self) -> Loaded:
        if self.process is None:
            self.start()
        assert self.loaded is not None
        return self.loaded

    # --- sending, and reading with the test's deadline --------------------------------

    def _send(self, header: dict, buffers: list = ()) -> None:
        try:
            pr.write_frame(self.requests, header, buffers)
        except OSError:
            pass  # the worker is gone: the read says how

    def begin_test(self, timeout: float | None) -> None:
        """A test begins: its calls may wait ``timeout`` seconds for the
        worker in all (None: no limit)."""
        self.allowance, self.used = timeout, 0.0

    def _read_into(self, fd: int, view: memoryview) -> int:
        return pr.read_into_spinning(fd, view, self._wait)

    def _wait(self) -> float | None:
        if self.allowance is None:
            return None
        return max(0.0, self.allowance - self.used - (time.monotonic() - self._began))

    def _read(self, limit: int = OUTPUT_FLOOR) -> tuple[dict, list[bytes]]:
        """The next reply; WorkerLost for a death, a time-out, a broken frame
        (the worker is ended then)."""
        start = self._began = time.monotonic()
        try:
            header, buffers = pr.read_frame(self.replies, limit, self._read_into)
        except TimeoutError:
            self._lose()
            raise self._lost("timed out") from None
        except EOFError:
            status = self._status()
            self._lose()
            raise self._lost("crashed", death(status)) from None
        except pr.FrameTooLargeError as exc:
            self._lose()
            raise self._lost("crashed", f"sent {exc} (a reply is capped; not read)") from None
        except pr.ProtocolError as exc:
            self._lose()
            raise self._lost("crashed", f"sent a reply that breaks the protocol ({exc})") from None
        except BaseException:  # Ctrl-C, SIGTERM, an alarm of the suite's: the worker goes
            self._lose()
            raise
        finally:
            elapsed = time.monotonic() - start
            self.seconds += elapsed
            self.used += elapsed
        if not isinstance(header, dict):
            self._lose()
            raise self._lost("crashed", "sent a reply that is not a JSON object")
        output = header.get("output")
        if isinstance(output, str) and output:
            with contextlib.suppress(Exception):
                sys.stdout.write(output[-wk.OUTPUT_LIMIT :])
        return header, buffers

    def _status(self) -> int | None:
        """The worker's wait status, from its first process (or bubblewrap's)."""
        try:
            ready, _, _ = select.select([self.status_read], [], [], 5)
            data = os.read(self.status_read, 4) if ready else b""
        except OSError:
            data = b""
        if len(data) == 4:
            return struct.unpack("!i", data)[0]
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.process.wait(timeout=5)
                return (code & 0x7F) if code < 0 else (code << 8)
        return None

    def _lose(self) -> None:
        if self.process is not None:
            _kill(self.process)
        self.close()

    def _lost(self, kind: str, how: str = "") -> WorkerLost:
        seconds = f"{self.timeout:g}" if self.timeout else ""
        if kind == "timed out" and self.function:
            message = tr("no result after {seconds} s (--timeout) in {function}(); the test was "
                         "stopped", seconds=seconds, function=self.function)  # fmt: skip
        elif kind == "timed out":
            message = tr("no result after {seconds} s (--timeout) while loading; the test was "
                         "stopped", seconds=seconds)  # fmt: skip
        elif self.function:
            message = tr("the test's process {how} in {function}()", how=how,
                         function=self.function)  # fmt: skip
        else:
            message = tr("the test's process {how} while loading", how=how)
        return WorkerLost(kind, message, self.call_text, how)

    # --- calls ----------------------------------------------------------------------

    def call(self, function: str, args: tuple, kwargs: dict) -> Any:
        """``function(*args, **kwargs)`` in the worker (see the module doc)."""
        self.ensure()
        self.seq += 1
        self.calls += 1
        encoder = pr.Encoder()
        args_tree = encoder.encode(tuple(args))
        kwargs_tree = encoder.encode(dict(kwargs))
        limit = max(OUTPUT_FLOOR, OUTPUT_FACTOR * (_input_bytes(args) + _input_bytes(kwargs)))
        header = {"request": "call", "function": function, "args": args_tree,
                  "kwargs": kwargs_tree, "seq": self.seq, "observe": self.observe,
                  "keep": self.keep}  # fmt: skip
        self.function = function
        self._send(header, encoder.buffers)
        reply, buffers = self._read(limit)
        self.function = ""
        raised = None
        try:
            self._take_changes(reply, buffers, args, kwargs)
            if "raised" in reply:
                raised = remote_exception(dict(reply["raised"]))
            else:
                result = pr.decode(reply["result"], buffers)
                if self.observe:
                    self._take_facts(reply.get("facts"), result, args, kwargs)
        except (pr.ProtocolError, KeyError, TypeError, ValueError, IndexError) as exc:
            self._lose()
            self.function = function
            lost = self._lost("crashed", f"sent a reply that breaks the protocol ({exc})")
            self.function = ""
            raise lost from None
        if raised is not None:
            raise raised
        return result

    def _argument(self, key: str, args: tuple, kwargs: dict) -> Any:
        if key.startswith("k:"):
            return kwargs[key[2:]]
        return args[int(key)]

    def _take_changes(self, reply: dict, buffers: list[bytes], args: tuple, kwargs: dict) -> None:
        for key, tree in dict(reply.get("changed") or {}).items():
            value = pr.decode(tree, buffers)
            self.changed[id(self._argument(key, args, kwargs))] = value

    def _take_facts(self, facts: Any, result: Any, args: tuple, kwargs: dict) -> None:
        for path, same, shares, kind in facts or []:
            leaf = _leaf(result, path)
            self.facts[id(leaf)] = (
                leaf,
                path,
                None if same is None else self._argument(same, args, kwargs),
                None if shares is None else self._argument(shares, args, kwargs),
                str(kind)[:100],
                self.seq,
            )

    def reread(self, output: Any) -> Any:
        """A kept output (see :attr:`keep`) as the worker holds it now, or
        None when the worker does not hold it (it was restarted)."""
        fact = self.facts.get(id(output))
        if fact is None or self.process is None:
            return None
        self._send({"request": "reread", "seq": fact[5]})
        reply, buffers = self._read()
        try:
            return _leaf(pr.decode(reply["result"], buffers), fact[1])
        except (pr.ProtocolError, KeyError, TypeError, IndexError):
            return None

    @contextlib.contextmanager
    def observing(self):
        """Calls inside report what only the worker sees of their outputs
        (:attr:`facts`), and keep them for :meth:`reread`."""
        self.observe = self.keep = True
        try:
            yield
        finally:
            self.observe = self.keep = False

    def forget(self) -> None:
        """Forget what the last test's calls left (between tests)."""
        self.changed.clear()
        self.facts.clear()
        self.call_text = self.function = ""


class _Replies:
    """What an in-process worker replies, kept for the next read."""

    def __init__(self) -> None:
        self.frames: list[tuple[dict, list[bytes]]] = []

    def take(self) -> str:
        return ""


class InProcess(Boundary):
    """The same requests and replies, served in this process by a
    :class:`conformance.judged.worker.Worker` over ``module``, for the suite's own
    tests of trusted code (mutants of refcnn's functions). Never for judged
    code: the plugin always starts a worker process."""

    def __init__(self, module: Any, names: list[str]) -> None:
        super().__init__(getattr(module, "__name__", "module"), names, sandbox=False)
        self.module = module
        self.worker: wk.Worker | None = None

    def start(self) -> None:
        replies = _Replies()
        self.worker = wk.Worker(-1, -1, output=replies)
        self.worker.reply = lambda header, buffers=(): replies.frames.append(
            (json.loads(json.dumps(header)), [bytes(b) for b in buffers])
        )  # the header as JSON would carry it
        self.process = self.worker  # type: ignore[assignment]  # "started"
        self.seq = 0
        name = getattr(self.module, "__name__", "module")
        self.worker.describe(ld.Loaded(self.module, name, name), self.names)
        self.loaded = self._load_reply(*replies.frames.pop())
        self.loaded.sandbox = tr("none (in the suite's own process: trusted code only)")

    def _send(self, header: dict, buffers: list = ()) -> None:
        assert self.worker is not None
        self.worker.handle(json.loads(json.dumps(header)), [bytes(b) for b in buffers])

    def _read(self, limit: int = OUTPUT_FLOOR) -> tuple[dict, list[bytes]]:
        assert self.worker is not None
        return self.worker.output.frames.pop(0)

    def close(self) -> None:
        self.process = self.worker = None


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker's session (what it started too), and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(ChildProcessError, subprocess.TimeoutExpired):
        process.wait(timeout=10)


def proxy(boundary: Boundary, name: str) -> Any:
    """A callable that calls the implementation's ``name`` in the worker,
    with its parameters' names (for ``inspect.signature``)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return boundary.call(name, args, kwargs)

    call.__name__ = call.__qualname__ = name
    parameters = (boundary.loaded.provided.get(name) if boundary.loaded else None) or []
    with contextlib.suppress(ValueError, TypeError, KeyError):
        call.__signature__ = inspect.Signature(
            [inspect.Parameter(str(n), getattr(inspect.Parameter, str(k))) for n, k in parameters]
        )
    return call
