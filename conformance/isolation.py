"""Each test of the suite runs in a forked child process, under a time limit.

The implementation under test is somebody else's code: it may segfault, call
``os._exit``, be killed by the OOM killer, hang, or print without end. None
of that may take the verdict with it. So the process that records the
verdict (pytest's, or a pytest-xdist worker's) never calls the
implementation: it forks a child (a *sandbox*) and hands it the suite's
tests one at a time, by node id; the child runs each (setup, call, teardown)
and sends back pytest's reports through a pipe. The parent waits up to the
time limit for each test; a child that dies without the test's reports is
reported in that test's (op, check, corner) cell as ``crashed`` (with its
signal or exit code), one that outlives the limit is killed and reported as
``timed out``, each naming the call the test was in; a fresh child then takes
the next test. pytest-xdist's workers never run the implementation either,
so they are never lost, and its distribution mode does not matter.

One child serves many tests because forking one per test would repeat each
process's one-time work (hypothesis' and torch's caches) for every test:
the default run took 74 s so, against 33 s in pytest's own process (35 s
with one child per pytest process).

The child sits in a process group of its own, so that Ctrl-C reaches the
parent alone, which kills the child (and whatever it started) and stops the
run as interrupted. The child's output goes through a pipe whose last
``OUTPUT_LIMIT`` bytes per test phase are kept: an op that prints without end
cannot fill the memory or the disk.

Needs ``os.fork`` (Linux, macOS); elsewhere, and under ``--pdb`` or
``--refcnn-no-isolation``, the tests run in pytest's own process as usual
(a crash then ends the run, with pytest's own exit code).
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import gc
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.capture import CaptureResult
from _pytest.runner import runtestprotocol

from . import options as opts
from . import verdict as vd

OUTPUT_LIMIT = 64 * 1024  # bytes of a test phase's output kept (the last ones)
# Seconds per test: generous. The slowest test of tests/impls/article_loops
# takes 0.3 s on 2 cores; an implementation 100 times slower still fits.
DEFAULT_TIMEOUT = opts.DEFAULT_TIMEOUT
_REPORTS, _ERROR = b"R", b"E"
_HEADER = struct.Struct("!cQ")
_PR_SET_PDEATHSIG = 1


class Notes:
    """What the child is doing, in memory it shares with the parent (written
    at every call of the implementation, read only after a crash or a
    time-out: no system call, no wake-up of the parent): the call in
    progress (the snippet's call and the test's context) and the name of the
    implementation's function running, empty once it returned."""

    CALL, FUNCTION = slice(0, 3840), slice(3840, 4096)

    def __init__(self) -> None:
        self.memory = mmap.mmap(-1, 4096)  # shared with the forked child

    def write(self, field: slice, text: str) -> None:
        data = text.encode("utf-8", "replace")[: field.stop - field.start - 2]
        self.memory[field.start : field.start + 2] = len(data).to_bytes(2, "little")
        self.memory[field.start + 2 : field.start + 2 + len(data)] = data

    def read(self, field: slice) -> str:
        size = min(int.from_bytes(self.memory[field.start : field.start + 2], "little"),
                   field.stop - field.start - 2)  # fmt: skip
        return self.memory[field.start + 2 : field.start + 2 + size].decode("utf-8", "replace")

    def clear(self) -> None:
        self.write(self.CALL, "")
        self.write(self.FUNCTION, "")


# In the child: the notes shared with the parent.
_notes: Notes | None = None


def available() -> bool:
    return hasattr(os, "fork")


def note_call(text: str) -> None:
    """Tell the parent which call of the implementation is in progress (named
    in the verdict if the test crashes or times out there)."""
    if _notes is not None:
        _notes.write(Notes.CALL, text)
        _notes.write(Notes.FUNCTION, "")


def note_function(name: str) -> None:
    """Tell the parent which of the implementation's functions is running
    (``""``: none, it returned)."""
    if _notes is not None:
        _notes.write(Notes.FUNCTION, name)


def _send(fd: int, kind: bytes, payload: bytes) -> None:
    data = _HEADER.pack(kind, len(payload)) + payload
    while data:
        data = data[os.write(fd, data) :]


def _frames(buffer: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """The whole frames at the start of ``buffer``: (kind, payload, end)."""
    position = 0
    while position + _HEADER.size <= len(buffer):
        kind, size = _HEADER.unpack_from(buffer, position)
        start = position + _HEADER.size
        if start + size > len(buffer):
            return  # not all here yet (or cut off: the child died while writing)
        position = start + size
        yield kind, buffer[start:position], position


# --- in the child ------------------------------------------------------------------


def _flush_python_streams() -> None:
    """What Python's own buffers hold goes to file descriptors 1 and 2 now."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


class BoundedOutput:
    """File descriptors 1 and 2 go to a pipe that a thread drains, keeping the
    last ``limit`` bytes; stands in for pytest's global capture."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()
        self.read_end, write_end = os.pipe()
        os.set_blocking(self.read_end, False)
        _flush_python_streams()
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            select.select([self.read_end], [], [])
            if not self._read_available():
                return  # every writer closed its end

    def _read_available(self) -> bool:
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

    def read(self) -> CaptureResult[str]:
        _flush_python_streams()
        self._read_available()
        with self.lock:
            text = self.data.decode("utf-8", "replace")
            if self.dropped:
                text = f"[{self.dropped} earlier bytes of output dropped]\n{text}"
            self.data.clear()
            self.dropped = 0
        return CaptureResult(text, "")


def _bound_output(config: pytest.Config) -> None:
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None or capman._method == "no":
        return  # -s: the output goes to the terminal as the user asked
    output = BoundedOutput()
    # pytest's capture resumes and reads its own files around each phase; in
    # the child those calls go to the bounded pipe instead.
    capman.resume_global_capture = lambda: None
    capman.suspend_global_capture = lambda in_=False: None
    capman.read_global_capture = output.read


def _die_with(parent: int) -> None:
    """End this child when the parent dies, even by SIGKILL (Linux; elsewhere
    the closed command pipe ends it, unless a test hangs)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(0)


def _serve(config: pytest.Config, parent: int, commands: int, replies: int, notes: Notes) -> None:
    """The child's loop: read a node id (and the next test's), run that test,
    send its reports; until the parent closes the command pipe."""
    global _notes
    _die_with(parent)
    os.setpgid(0, 0)  # Ctrl-C at the terminal reaches the parent, which ends us
    faulthandler.disable()  # its dump would go to the terminal; the parent reports the signal
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    _notes = notes
    _bound_output(config)
    if "torch" in sys.modules:
        # If the parent ran torch (tests outside the suite in the same run), its
        # OpenMP threads are not in this child: one thread, the pool unused.
        sys.modules["torch"].set_num_threads(1)
    session = config._refcnn_session
    items = {item.nodeid: item for item in session.items}
    lines = os.fdopen(commands, "r", encoding="utf-8")
    for line in lines:
        nodeid, _, next_id = line.rstrip("\n").partition("\t")
        item = items[nodeid]
        notes.clear()
        # The previous test was told its successor, but the parent may have
        # reported that one as not run without sending it: tear down what
        # this test does not share, as pytest would have after that test.
        session._setupstate.teardown_exact(item)
        reports = runtestprotocol(item, log=False, nextitem=items.get(next_id))
        data = [config.hook.pytest_report_to_serializable(config=config, report=r) for r in reports]
        _send(replies, _REPORTS, pickle.dumps(data))


class Outcome:
    """What the parent saw of one test in the child."""

    def __init__(self) -> None:
        self.reports: list[Any] | None = None
        self.last_call = ""
        self.last_function = ""
        self.status: int | None = None
        self.timed_out = False
        self.error = ""  # what the child raised out of pytest's own runner
        self.seconds = 0.0


def _warm_up() -> None:
    """One-time work that each child would otherwise repeat: hypothesis
    registers its PRNG on first use (a full ``gc.collect`` of a heap that
    holds torch, 0.1 s); frozen objects are not scanned again by the
    children's collections (and stay shared, not copied on write)."""
    from hypothesis.internal.entropy import deterministic_PRNG

    with deterministic_PRNG():
        pass
    gc.freeze()


class Sandbox:
    """The parent's side: the child process that runs the tests, started on
    demand and replaced after a crash or a time-out."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.pid: int | None = None
        self.commands = self.replies = -1
        self.buffer = bytearray()

    def _start(self) -> None:
        _warm_up()
        command_read, command_write = os.pipe()
        reply_read, reply_write = os.pipe()
        self.notes = Notes()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: serve tests, and leave at once, skipping atexit
            code = 0
            try:
                os.close(command_write)
                os.close(reply_read)
                _serve(self.config, parent, command_read, reply_write, self.notes)
            except BaseException as exc:
                code = 70
                with contextlib.suppress(BaseException):
                    text = f"{type(exc).__name__}: {exc}"[:500]
                    _send(reply_write, _ERROR, text.encode("utf-8", "replace"))
            finally:
                os._exit(code)
        with contextlib.suppress(OSError):  # the child does it too; whichever is first
            os.setpgid(pid, pid)
        os.close(command_read)
        os.close(reply_write)
        self.pid, self.commands, self.replies = pid, command_write, reply_read
        self.buffer = bytearray()

    def run(self, item: pytest.Item, nextitem: pytest.Item | None, timeout: float | None):
        """Run ``item`` in the child; what the parent saw."""
        if self.pid is None:
            self._start()
        outcome = Outcome()
        start = time.monotonic()
        next_id = nextitem.nodeid if nextitem is not None else ""
        try:
            os.write(self.commands, f"{item.nodeid}\t{next_id}\n".encode())
        except BrokenPipeError:
            pass  # the child is gone already: reported below as a crash
        deadline = start + timeout if timeout else None
        try:
            while outcome.reports is None:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([self.replies], [], [], wait)
                if not ready:
                    outcome.timed_out = True
                    break
                chunk = os.read(self.replies, 1 << 16)
                if not chunk:
                    break  # the child died
                self.buffer += chunk
                self._take_frames(outcome)
        except BaseException:  # Ctrl-C or SIGTERM in the parent: end the child first
            self.close(kill=True)
            raise
        if outcome.reports is None:
            outcome.last_call = self.notes.read(Notes.CALL)
            outcome.last_function = self.notes.read(Notes.FUNCTION)
            if not outcome.timed_out:
                with contextlib.suppress(ChildProcessError):
                    _, outcome.status = os.waitpid(self.pid, 0)
                self.pid = None
            self.close(kill=True)
        outcome.seconds = time.monotonic() - start
        return outcome

    def _take_frames(self, outcome: Outcome) -> None:
        position = 0
        for kind, payload, end in _frames(bytes(self.buffer)):
            position = end
            if kind == _ERROR:
                outcome.error = payload.decode("utf-8", "replace")
            elif kind == _REPORTS:
                outcome.reports = pickle.loads(payload)
        del self.buffer[:position]

    def close(self, kill: bool = False) -> None:
        """End the child: closing its command pipe lets it leave; ``kill``
        for one that may be stuck."""
        for fd in (self.commands, self.replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.commands = self.replies = -1
        if self.pid is not None:
            if kill:
                _kill(self.pid)
            else:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, 0)
            self.pid = None


def _kill(pid: int) -> None:
    """SIGKILL the child's process group (what it started too), and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def death(status: int | None) -> str:
    """How a child that sent no reports ended, in words."""
    if status is None:
        return "ended"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        extra = " (as the OOM killer does)" if number == signal.SIGKILL else ""
        return f"was killed by {name}{extra}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def failure_reports(
    item: pytest.Item, kind: str, message: str, seconds: float, call: str = ""
) -> list:
    """Reports for a test whose child crashed or timed out: setup passed, the
    call failed with ``kind``, teardown passed."""
    from _pytest.reports import TestReport

    keywords = {name: 1 for name in item.keywords}
    failure = {
        "kind": kind,
        "exception": "",
        "message": message,
        "call": call,
        "params": {},
        "snippet": "",
    }

    def report(when: str, outcome: str, longrepr: str | None, extra: list) -> TestReport:
        return TestReport(
            item.nodeid,
            item.location,
            keywords,
            outcome,
            longrepr,
            when,
            duration=seconds if when == "call" else 0.0,
            user_properties=[*item.user_properties, *extra],
        )

    return [
        report("setup", "passed", None, []),
        report("call", "failed", f"{kind}: {message}\n{call}", [("failure", failure)]),
        report("teardown", "passed", None, []),
    ]


def not_run_reports(item: pytest.Item, reason: str) -> list:
    """Reports for a test that is not run: skipped in its setup, with the
    verdict status ``not run`` and ``reason``."""
    from _pytest.reports import TestReport

    keywords = {name: 1 for name in item.keywords}
    text = f"{vd.NOT_RUN}{reason}"
    path, line = str(item.location[0]), item.location[1] or 0
    return [
        TestReport(
            item.nodeid, item.location, keywords, "skipped", (path, line, f"Skipped: {text}"),
            "setup", user_properties=[*item.user_properties, ("skip", ("not run", text))],
        ),
        TestReport(item.nodeid, item.location, keywords, "passed", None, "teardown",
                   user_properties=list(item.user_properties)),
    ]  # fmt: skip


def run_isolated(
    sandbox: Sandbox, item: pytest.Item, nextitem: pytest.Item | None, timeout: float | None
) -> list:
    """The reports of ``item`` run in the sandbox's child process."""
    outcome = sandbox.run(item, nextitem, timeout)
    where = f" in {outcome.last_function}()" if outcome.last_function else ""
    if outcome.last_call and not outcome.last_function:
        where = " outside the implementation's functions (in the suite's own code)"
    if not outcome.last_function and not outcome.last_call:
        where = " before it called the implementation"
    call = f"last call: {outcome.last_call}" if outcome.last_call else ""
    if outcome.timed_out:
        message = f"no result after {timeout:g} s (--timeout){where}; the test was stopped"
        return failure_reports(item, "timed out", message, outcome.seconds, call)
    if outcome.reports is None:
        how = f"raised {outcome.error} and " if outcome.error else ""
        message = f"the test's process {how}{death(outcome.status)}{where}"
        return failure_reports(item, "crashed", message, outcome.seconds, call)
    hook = item.config.hook
    return [
        hook.pytest_report_from_serializable(config=item.config, data=data)
        for data in outcome.reports
    ]


def in_suite(item: pytest.Item, suite: Path) -> bool:
    try:
        return Path(item.path).resolve().is_relative_to(suite)
    except (AttributeError, OSError):
        return False
