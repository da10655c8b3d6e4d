"""One submission judged: the suite's session (the trusted side, as the
grader's own user) on a copy of its files, the submission's code in the
session's worker (:mod:`conformance.judging.boundary`: bubblewrap's sandbox, its own
user id, its limits), within its budget; what the verdict was and how the
run ended.

Each run has a folder of its own: the session's (its configuration, its
``verdict.json``, its temporary files), which the submission cannot write,
and in it ``submission/``, the submission's files only, the session's
working folder. As root, the worker runs as a user id of its own for the
time of its run (claimed with a lock file, so that no two runs share one,
whichever grader started them), ``submission/`` is that user's (mode 0700),
and when the run is over every process of that user id is killed (what a
fork without end left) and the folder removed. The session runs one test at
a time (``-n 0``: the cores go to submissions judged side by side), with
``--timeout`` per test and ``--budget`` for the whole run; past the budget,
by a test's time limit and a grace period, the grader stops it (SIGTERM: it
writes what it has, the rest reported not run) and then kills it.

The worker may not import the forbidden modules (``Limits.forbid``: refcnn,
the answer key, and torch, the oracle): in the sandbox their files are not
there, and an import of them, by any name, raises ImportError saying so.

Endings: ``finished``; ``budget spent`` (tests not run for lack of time);
``crashed`` (the session ended without a verdict); ``unusable`` (it does not
load, imports a forbidden module, provides none of the article's functions,
or the submission itself could not be read); ``suite error`` (the suite's
own code failed).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from refcnn.i18n import N_, tr, tr_marked

from ..judging import boundary as bd
from ..running import api
from .submissions import Submission

UIDS = range(bd.UIDS_FIRST, 65000)  # the user ids submissions run as (as root), one per run
RUNNING: set[int] = set()  # the sessions running now (their pids: process groups)
VERDICT_LIMIT = 64 * 2**20  # bytes of a session's JSON verdict read back
_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "VIRTUAL_ENV", "REFCNN_HYPOTHESIS_PROFILE")
# How a submission's run ended (identifiers: the CSV's "ending"), in words
ENDINGS = {
    "finished": N_("finished"),
    "budget spent": N_("budget spent"),
    "crashed": N_("crashed"),
    "unusable": N_("unusable"),
    "suite error": N_("suite error"),
}
STOP_GRACE = 30.0  # seconds a stopped session gets to write its verdict


@dataclass(frozen=True)
class Limits:
    """What each submission may use: ``budget`` seconds for its whole run,
    ``timeout`` seconds per test, ``memory`` MB of address space per
    process, ``file_size`` MB per file, ``processes`` of its user id."""

    budget: float = 300.0  # docs/grading.md: the measured times these are set from
    timeout: float = 30.0
    memory: int = 4096
    file_size: int = 256
    processes: int = 256
    forbid: tuple[str, ...] = ("refcnn", "torch")  # modules a submission may not import

    def confinement(self, uid: int | None, **others: Any) -> bd.Confinement:
        """What confines a worker that runs as ``uid`` under these limits."""
        processes = 0 if uid is None else self.processes  # a shared user id: not its count
        return bd.Confinement(uid, self.memory, self.file_size, processes, self.forbid, **others)


@dataclass
class Judgement:
    """How one submission's run went: its verdict (the session's JSON, or
    None), how it ended and why, and what it took."""

    id: str
    fingerprint: str
    verdict: dict[str, Any] | None
    ending: str  # one of ENDINGS
    message: str = ""  # for people, in the grading's language
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_mb: float = 0.0
    exit_code: int | None = None
    output: list[str] = field(default_factory=list)
    note: str = ""  # which of the submission's candidates were judged (also in the message)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ending_text(ending: str) -> str:
    """An ending in the current language."""
    return tr_marked(ENDINGS[ending]) if ending in ENDINGS else ending


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def judge(
    submission: Submission,
    limits: Limits,
    session_options: dict[str, Any],
    keyword: str | None = None,
    pythonpath: tuple[str, ...] = (),
) -> Judgement:
    """Judge ``submission`` (see the module doc)."""
    if submission.problem:
        return Judgement(
            submission.id, submission.fingerprint, None, "unusable", submission.problem
        )
    with _run_folders(submission.id) as (uid, run, scratch):
        _write(submission, scratch, uid)
        return _run(submission, run, scratch, uid, limits, session_options, keyword, pythonpath)


@contextlib.contextmanager
def _run_folders(name: str) -> Iterator[tuple[int | None, Path, Path]]:
    """A user id for the run (as root), the session's folder and in it the
    submission's; removed, and the user id's processes killed, at the end."""
    base = Path(tempfile.gettempdir()) / "refcnn-grade"
    base.mkdir(exist_ok=True)
    with _user_id(base) as uid:
        if uid is not None:
            os.chmod(base, 0o711)  # others may enter their own folder, not list the others
        run = Path(tempfile.mkdtemp(prefix=f"{name[:40]}-", dir=base))
        try:
            if uid is not None:
                os.chmod(run, 0o711)  # the worker's user enters, lists nothing, writes nothing
            for folder in ("tmp", "home"):
                (run / folder).mkdir()
                os.chmod(run / folder, 0o711 if uid is not None else 0o700)
            yield uid, run, run / "submission"
        finally:
            if uid is not None:
                _kill_user(uid)
            shutil.rmtree(run, ignore_errors=True)


@contextlib.contextmanager
def _user_id(base: Path) -> Iterator[int | None]:
    """A user id no other run holds (as root; None otherwise), held until the
    run is over and its processes are gone."""
    if not _is_root():
        yield None
        return
    locks = base / "uids"
    locks.mkdir(mode=0o700, exist_ok=True)
    for uid in UIDS:
        handle = open(locks / f"{uid}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        try:
            yield uid
        finally:
            handle.close()
        return
    raise RuntimeError(f"every user id of {UIDS.start}..{UIDS.stop - 1} is in use")


def _write(submission: Submission, scratch: Path, uid: int | None) -> None:
    scratch.mkdir()
    for name, data in submission.files.items():
        path = scratch / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if uid is not None:
        for path in [scratch, *scratch.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)
    os.chmod(scratch, 0o700)


def _environment(run: Path, uid: int | None, limits: Limits) -> dict[str, str]:
    path = bd.bwrap()
    checked = {bd.CHECKED_VAR: path} if path and not bd.bwrap_works(path) else {}
    return {
        **checked,
        "HOME": str(run / "home"),
        "TMPDIR": str(run / "tmp"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **limits.confinement(uid).as_environment(),
    }


def _run(
    submission: Submission,
    run: Path,
    scratch: Path,
    uid: int | None,
    limits: Limits,
    session_options: dict[str, Any],
    keyword: str | None,
    pythonpath: tuple[str, ...],
) -> Judgement:
    options = {
        **session_options,
        "impl": str(scratch / submission.entry),
        "timeout": limits.timeout,
        "budget": limits.budget,
    }
    # the grader's environment stays out (its secrets, its PYTHONPATH)
    kept = {k: v for k, v in os.environ.items() if k in _KEPT}
    command, env = api.session(
        run, options, workers=0, keyword=keyword, pythonpath=pythonpath, inherit=kept
    )
    env.update(_environment(run, uid, limits))
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=scratch,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    RUNNING.add(process.pid)
    lines: list[str] = []
    reader = threading.Thread(target=_keep_tail, args=(process.stdout, lines), daemon=True)
    reader.start()
    deadline = start + limits.budget + limits.timeout + 30.0
    try:
        status, usage, stopped = _wait(process, deadline)
    finally:
        RUNNING.discard(process.pid)
    reader.join(timeout=5)
    seconds = time.monotonic() - start

    def local(text: str) -> str:
        return text.replace(str(scratch), ".").replace(str(run), ".")

    judgement = Judgement(
        submission.id,
        submission.fingerprint,
        None,
        "finished",
        seconds=round(seconds, 2),
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 2) if usage else 0.0,
        peak_memory_mb=round(usage.ru_maxrss / 1024, 1) if usage else 0.0,
        exit_code=status,
        output=[local(line) for line in lines[-40:]],
    )
    verdict = _read_verdict(run / "verdict.json", scratch, submission)
    if status == api.USAGE_ERROR and verdict is None:
        judgement.ending = "unusable"
        errors = [line[7:] for line in lines if line.startswith("ERROR: ")]
        message = "; ".join(errors) or tr("usage error")
        # the judged side raises it, in English (conformance.judging.boundary.forbidden_view)
        forbidden = re.search(r"imports (\w+), which this grading forbids", message)
        judgement.message = (
            tr("imports {module}, which this grading forbids", module=forbidden.group(1))
            if forbidden
            else local(message.replace(f"--impl {scratch}/", ""))
        )
        return _noted(judgement, submission)
    judgement.verdict = verdict
    if verdict is None:
        judgement.ending = "crashed"
        if status and status < 0:
            judgement.message = tr("the suite's process was killed by signal {signal} before "
                                   "it wrote its verdict", signal=-status)  # fmt: skip
        else:
            judgement.message = tr("the suite's process exited with {code} before it wrote its "
                                   "verdict", code=status)  # fmt: skip
        if stopped:
            judgement.message += tr(" (stopped after {seconds} s: its budget and time limit "
                                    "were spent)", seconds=f"{seconds:.0f}")  # fmt: skip
        return _noted(judgement, submission)
    if verdict.get("suite_errors") or status == api.INTERNAL_ERROR:
        judgement.ending = "suite error"
        judgement.message = tr(
            "the suite's own code failed in this run: the verdict is incomplete (the "
            "submission runs in a worker of its own: a bug of refcnn, please report it)"
        )
    elif stopped or _budget_spent(verdict):
        judgement.ending = "budget spent"
        judgement.message = tr("the budget of {seconds} s was spent; the tests left were not run",
                               seconds=f"{limits.budget:g}")  # fmt: skip
    return _noted(judgement, submission)


def _noted(judgement: Judgement, submission: Submission) -> Judgement:
    """The row says which of the submission's candidates were not judged."""
    if submission.not_judged:
        note = tr("judged {entry}; not judged: {others}", entry=submission.entry,
                  others=", ".join(submission.not_judged))  # fmt: skip
        judgement.note = note
        judgement.message = f"{judgement.message}; {note}" if judgement.message else note
    return judgement


PREFLIGHT = "def flatten2d(u):\n    return u.reshape(len(u), -1)\n"


def preflight(limits: Limits, weaker_sandbox: bool) -> str:
    """Why no submission could be judged here, or "": one trivial
    submission through the same sandbox, limits and user id as a real one
    (bubblewrap missing, a user id that cannot reach the interpreter, ...)."""
    path = bd.bwrap()
    missing = bd.bwrap_works(path) if path else tr("bwrap is not installed")
    if missing and not weaker_sandbox:
        return tr(
            "bubblewrap cannot make the sandbox here ({why}): without it a submission reaches "
            "the network and services on loopback (a Dask scheduler), and reads what its user "
            "id may. Install it (apt-get install bubblewrap), or pass --weaker-sandbox to grade "
            "with a worker process, limits and user id only",
            why=missing,
        )
    submission = Submission(
        "preflight", "<preflight>", {"preflight.py": PREFLIGHT.encode()}, "preflight.py"
    )
    with _run_folders("preflight") as (uid, run, scratch):
        _write(submission, scratch, uid)
        confinement = limits.confinement(uid, environment=_environment(run, uid, limits))
        boundary = bd.Boundary(str(scratch / "preflight.py"), ["flatten2d"], True, confinement)
        try:
            result = boundary.call("flatten2d", (np.zeros((2, 3, 4, 5)),), {})
            if getattr(result, "shape", None) != (2, 60):
                return tr("a trivial submission gave a wrong result in the sandbox ({result})",
                          result=f"{result!r:.80}")  # fmt: skip
        except (bd.LoadFailedError, bd.WorkerLost, Exception) as exc:
            user = tr("user id {uid}", uid=uid) if uid is not None else tr("this user")
            blocked = bd.blocked_folders(uid, boundary._needed()) if uid is not None else []
            fix = (
                tr("; {user} may not enter {folders}: {command}", user=user,
                   folders=", ".join(blocked), command=f"chmod o+x {' '.join(blocked)}")
                if blocked
                else ""
            )  # fmt: skip
            what = exc.message if isinstance(exc, bd.WorkerLost) else str(exc)
            text = tr("a trivial submission did not run as {user}: {error}", user=user, error=what)
            return (text + fix).replace(str(scratch), ".")
        finally:
            boundary.close()
    return ""


def _keep_tail(stream: Any, lines: list[str]) -> None:
    for raw in stream:
        lines.append(raw.decode("utf-8", "replace").rstrip("\n")[:500])
        del lines[:-200]


def _wait(process: subprocess.Popen, deadline: float) -> tuple[int, Any, bool]:
    """Wait for the session (``os.wait4``: its resource usage and its
    children's); at ``deadline`` stop it (SIGTERM to its group), and kill it
    ``STOP_GRACE`` seconds later."""
    stopped, killed_at = False, None
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage, stopped
        now = time.monotonic()
        if now > deadline and not stopped:
            stopped, killed_at = True, now + STOP_GRACE
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
        elif killed_at is not None and now > killed_at:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            killed_at = now + 3600
        time.sleep(0.01)  # a grade waits for each submission's end: 0.05 s each at 0.1


def _read_verdict(path: Path, scratch: Path, submission: Submission) -> dict[str, Any] | None:
    """The session's JSON verdict, or None where there is none to trust; the
    submission folder's path in it is the submission's id (so that a verdict
    does not depend on where it was judged)."""
    try:
        if path.is_symlink() or path.stat().st_size > VERDICT_LIMIT:
            return None
        text = path.read_text(encoding="utf-8").replace(str(scratch), submission.id)
        text = text.replace(str(path.parent), submission.id)
        data = json.loads(text)
    except (OSError, ValueError):
        return None
    keys = ("implementation", "ops", "causes", "all_provided_pass", "interrupted")
    return data if isinstance(data, dict) and all(k in data for k in keys) else None


def _budget_spent(verdict: dict[str, Any]) -> bool:
    return any(
        "--budget" in (corner.get("skip_reason") or "")
        for checks in verdict["ops"].values()
        for cell in checks.values()
        for corner in [cell, *cell.get("corners", {}).values()]
    )


def _kill_user(uid: int) -> None:
    """Every process of ``uid`` (what the submission left running), until
    none is left."""
    for _ in range(20):
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
        if not found:
            return
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
