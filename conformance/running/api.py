"""Check an implementation from Python: :func:`check` returns a
:class:`Verdict`.

``refcnn conformance`` is a thin layer over :func:`check`: both start the
suite's pytest session in a process of its own (:mod:`conformance.running.session`),
with the same sandbox (each test in a forked child, under a time limit), the
same exit semantics and the same verdict. The session is hermetic: pytest's
plugin autoloading is off and exactly the plugins the suite needs are loaded
(the suite's, hypothesis's, pytest-xdist's), with no configuration file but
its own, so that the user's other pytest plugins (ones that reorder or
reseed tests, trace coverage or write files) and their ``pytest.ini`` do not
change the run; it writes nothing to the working folder but the files asked
for. A crash of the session, an interrupt, a usage error: none ends in a
pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from refcnn import i18n
from refcnn.i18n import tr

from ..judged import loading as ld
from ..verdict import causes as cs
from ..verdict import page as pg
from ..verdict import render as rd
from ..verdict import verdict_json as vj
from ..verdict.causes import Cause
from ..verdict.files import write_whole
from ..verdict.record import Record
from . import options as opts
from .options import PARENT, PROFILE_VAR, SESSION, TRANSPORT

PROFILES = ("ci", "thorough")
# Exit codes: pytest's (0 pass, 1 failures, 2 interrupted, 3 an error of the suite,
# 4 a usage error); a session that ended without its verdict counts as 3.
USAGE_ERROR, INTERNAL_ERROR = 4, 3
INTERRUPT_GRACE = 60.0  # seconds the session gets to write its verdict after Ctrl-C


class UsageError(ValueError):
    """An argument the run cannot use (exit code 4 of the command): an
    implementation that does not load or provides none of the article's
    functions, a bad declaration, a path that cannot be written."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the run: ``verdict`` is what it had,
    marked interrupted, never a pass."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__("the conformance run was interrupted")
        self.verdict = verdict


@dataclass(frozen=True)
class Result:
    """One cell of the verdict: ``status`` (``pass``, ``FAIL``,
    ``unsupported``, ``not provided``, ``not checked``, ...), its first
    ``failure`` (the JSON's dict, or None) and that failure's
    ``explanation`` (the smallest failing example as matrices, the hint;
    ``""`` where there is none)."""

    status: str
    failure: dict[str, Any] | None = None
    explanation: str = ""


class Verdict:
    """The verdict of one run: what :func:`check` returns.

    * ``passed``: every provided op truly passed (nothing failed, the run
      finished, the suite raised nothing, the session ended with code 0);
    * ``exit_code``: the command's (0, 1 failures, 2 interrupted, 3 an error
      of the suite or a session that ended without its verdict);
    * ``cells``: ``(op, check, corner)`` -> :class:`Result`, ``corner`` None
      for the checks without corners (``defaults``, ``fixtures``, ...);
    * ``causes``: the failures grouped by cause (:mod:`conformance.verdict.causes`),
      wrong values first;
    * ``notes``: how the implementation was loaded (a notebook's cells that
      raised or were skipped);
    * ``to_json()``: the JSON report; ``write_html(path)``: the report page;
    * ``str()``: the terminal table; in Jupyter the page shows inline
      (``_repr_html_``: self-contained, no scripts), in IPython the table.
    """

    def __init__(
        self, record: Record, exit_code: int, output: str = "", complete: bool = True
    ) -> None:
        self.record = record
        self.exit_code = exit_code
        self.output = output  # the session's last lines, where they were not echoed
        self.complete = complete  # False: the session ended without writing its verdict

    @classmethod
    def from_json(cls, data: dict[str, Any] | str, exit_code: int | None = None) -> Verdict:
        """The verdict of a JSON report (a dict, or its text)."""
        data = json.loads(data) if isinstance(data, str) else data
        record = vj.record(data)
        if exit_code is None:
            exit_code = 0 if data["all_provided_pass"] else (2 if data["interrupted"] else 1)
        return cls(record, exit_code)

    @property
    def implementation(self) -> str:
        return self.record.implementation

    @property
    def notes(self) -> list[str]:
        return list(self.record.notes)

    @property
    def passed(self) -> bool:
        return self.complete and self.exit_code == 0 and self.record.passed

    @property
    def interrupted(self) -> bool:
        return self.record.interrupted is not None

    @property
    def language(self) -> str:
        """The language of the verdict's text for people (``"en"``, ``"ja"``)."""
        return self.record.language

    @property
    def cells(self) -> dict[tuple[str, str, str | None], Result]:
        found = {}
        with i18n.speaking(self.language):
            cs.of(self.record)  # numbers each failure's cause
            for (op, check), cell in self.record.cells.items():
                for corner, result in cell.corners.items():
                    failure = result.failures[0] if result.failures else None
                    explanation = rd.explanation_text(failure) if failure else ""
                    found[(op, check, corner)] = Result(result.status, failure, explanation)
        return found

    @property
    def causes(self) -> list[Cause]:
        with i18n.speaking(self.language):
            return cs.of(self.record)

    def to_json(self) -> dict[str, Any]:
        with i18n.speaking(self.language):
            return vj.as_json(self.record)

    def html(self) -> str:
        with i18n.speaking(self.language):
            return pg.html_text(self.record)

    def write_html(self, path: str | os.PathLike) -> Path:
        """The report page, written whole or not at all; its path."""
        path = Path(path)
        write_whole(path, self.html())
        return path

    def __str__(self) -> str:
        with i18n.speaking(self.language):
            lines = [rd.table(self.record), *rd.causes_summary(self.record)]
            return "\n".join(lines + rd.notes_lines(self.record))

    def __repr__(self) -> str:
        status = "pass" if self.passed else "FAIL"
        causes = len(self.causes)
        return f"<Verdict {self.implementation}: {status}, {causes} cause{'s' * (causes != 1)}>"

    def _repr_html_(self) -> str:
        with i18n.speaking(self.language):
            return pg.fragment(self.record)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else f"{self!r}\n{self}")


def _failed_run(label: str, code: int, output: str, interrupted: bool) -> Verdict:
    """The verdict of a session that ended without writing one."""
    record = Record()
    record.implementation = label
    tail = output.strip().splitlines()[-12:]
    if interrupted:
        record.interrupted = tr("Ctrl-C, before the suite could write its verdict")
    elif code < 0:
        record.internal_error = tr("the suite's process was killed by signal {signal} before "
                                   "it wrote its verdict", signal=-code)  # fmt: skip
    else:
        record.internal_error = tr("the suite's process exited with code {code} before it "
                                   "wrote its verdict", code=code)  # fmt: skip
    if tail and not interrupted:
        record.internal_error += tr("; its last output: {output}", output=" | ".join(tail))
    return Verdict(record, INTERNAL_ERROR if not interrupted else 2, output, complete=False)


# --- what the user points at ---------------------------------------------------------


@dataclass
class _Target:
    """What the session is pointed at: the ``--impl`` spec (empty: the
    default), what the verdict calls it, the folder to run in (None: the
    current one) and folders to make importable."""

    spec: str
    label: str
    cwd: Path | None = None
    paths: tuple[str, ...] = ()


def _target(impl: Any, scratch: Path) -> _Target:
    if impl is None:
        return _Target("", "")
    if isinstance(impl, types.ModuleType):
        path = Path(getattr(impl, "__file__", "") or "")
        root = _import_root(impl.__name__, path)
        if root is not None:
            return _Target(impl.__name__, impl.__name__, paths=root)
        if path.suffix == ".py" and path.is_file():
            return _Target(str(path), str(path))
        return _functions(vars(impl), impl.__name__, scratch)
    if isinstance(impl, Mapping):
        return _functions(impl, tr("the functions given to check()"), scratch)
    if isinstance(impl, (str, os.PathLike)):
        spec = os.fspath(impl)
        if ld.kind(spec) == "module":
            return _Target(spec, spec)
        path = Path(spec).expanduser().absolute()
        folder = path.parent if ld.kind(spec) == "notebook" else None  # as Jupyter runs it
        return _Target(str(path), spec, folder)
    raise TypeError(
        tr(
            "impl: give a module, a module name, the path of a .py file, a package folder or an "
            ".ipynb notebook, or a mapping of names to functions (globals()); got {type}",
            type=type(impl).__name__,
        )
    )


def _import_root(name: str, path: Path) -> tuple[str, ...] | None:
    """For a module the session can import by its name (one this process
    imported from a file, not one made in memory or ``__main__``): the
    folder to make importable for it (none for an installed one)."""
    if name == "__main__" or path.suffix not in (".py", ".pyc") or not path.is_file():
        return None
    import importlib.util

    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if found is None or not found.origin or Path(found.origin).resolve() != path.resolve():
        return None
    depth = len(name.split(".")) - (0 if path.stem == "__init__" else 1)
    root = path.resolve().parents[depth]
    return () if root.name in ("site-packages", "dist-packages") else (str(root),)


def _functions(namespace: Mapping[str, Any], label: str, scratch: Path) -> _Target:
    """The article's functions of ``namespace`` (and its declaration),
    pickled by value for the session (cloudpickle: functions defined in a
    notebook travel with what they use)."""
    import cloudpickle

    from .implementation import article_names

    names = set(article_names()) | {opts.DECLARATION}
    chosen = {
        n: v for n, v in namespace.items() if n in names and (callable(v) or n == opts.DECLARATION)
    }
    if not any(callable(v) for v in chosen.values()):
        raise UsageError(
            tr(
                "impl: {label} holds none of the article's functions (convolution2d, "
                "max_pooling2d, ...)",
                label=label,
            )
        )
    by_value = _modules_by_value(chosen.values())
    for module in by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        unsent = []
        for name, value in chosen.items():
            try:
                cloudpickle.dumps(value)
            except Exception as exc:
                unsent.append(f"{name} ({type(exc).__name__}: {exc})"[:200])
        if unsent:
            raise UsageError(
                tr(
                    "impl: these cannot be sent to the suite's worker process: {names}",
                    names="; ".join(unsent),
                )
            )
        path = scratch / "functions.pickle"
        path.write_bytes(cloudpickle.dumps((label, chosen)))
    finally:
        for module in by_value:
            cloudpickle.unregister_pickle_by_value(module)
    return _Target(ld.FUNCTIONS + str(path), label)


def _modules_by_value(values: Iterable[Any]) -> list[Any]:
    """The modules the functions come from that the worker may not be able
    to import (a folder the caller put on sys.path, ``os.pardir``): every
    one that is not an installed package, the standard library or refcnn;
    their functions travel by value, with what they use."""
    import sysconfig

    installed = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib", "platstdlib")}
    found: dict[str, Any] = {}
    for value in values:
        top = str(getattr(value, "__module__", "") or "").partition(".")[0]
        module = sys.modules.get(top)
        origin = getattr(module, "__file__", None)
        if module is None or top in ("__main__", "refcnn") or top in found or not origin:
            continue
        where = str(Path(origin).resolve())
        if not any(where.startswith(str(Path(p).resolve()) + os.sep) for p in installed):
            found[top] = module
    return list(found.values())


# --- the session ---------------------------------------------------------------------


def suite_dir() -> Path:
    """The suite's folder (its tests are in tests/)."""
    return Path(__file__).resolve().parents[1]


def _environment(profile: str, pythonpath: list[str], inherit: Mapping[str, str]) -> dict[str, str]:
    """The session's environment: what it inherits (but the user's pytest
    settings and plugins) and what makes it hermetic."""
    env = {
        k: v
        for k, v in inherit.items()
        if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_XDIST_WORKER")
    }
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        # no __pycache__ beside the user's files (the installed packages' bytecode
        # is read as ever; a PYTHONPYCACHEPREFIX would make every run compile it)
        PYTHONDONTWRITEBYTECODE="1",
        MPLBACKEND="Agg",
        **{SESSION: "1", PARENT: str(os.getpid()), PROFILE_VAR: profile},
    )
    env["PYTHONPATH"] = os.pathsep.join([*pythonpath, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _pytest_args(
    scratch: Path, options: dict[str, Any], workers: int | str, keyword: str | None,
    verbose: bool, tb: str, junitxml: str | None, exitfirst: bool = False,
) -> list[str]:  # fmt: skip
    ini = scratch / "pytest.ini"
    ini.write_text("[pytest]\n")  # the suite's own: not the user's, nor the repository's
    args = [
        str(suite_dir()),
        "-c", str(ini), "--rootdir", str(suite_dir().parent),
        "-p", "no:cacheprovider",  # the suite's own plugin: loaded by its conftest.py
        "-p", "_hypothesis_pytestplugin",
        # judged code runs in the worker, not here; the plugin's gc passes at
        # the end cost 0.2 s a session (a grade pays it per submission)
        "-p", "no:unraisableexception",
        "-v" if verbose else "-q", f"--tb={tb}",
        "-rN",  # no short summary: the verdict table is the summary
    ]  # fmt: skip
    args += opts.to_pytest(options)
    if junitxml:
        args.append(f"--junitxml={junitxml}")
    if keyword:
        args += ["-k", keyword]
    if exitfirst:
        args.append("-x")
    if str(workers) != "0":
        import importlib.util

        if importlib.util.find_spec("xdist") is not None:
            args += ["-p", "xdist.plugin", "-n", str(workers)]
    return args


_PROGRESS = re.compile(r"^[.FEsxX]+(\s+\[\s*\d+%\])?$")


class _Progress:
    """The session's output, read from its pipe: the last lines kept (for a
    run that ends badly), a progress line written to ``stream`` (tests done,
    failures so far) from pytest's dots."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream, self.lines, self.done, self.failed, self.total = stream, [], 0, 0, 0

    def feed(self, line: str) -> None:
        self.lines = [*self.lines[-199:], line]
        found = re.search(r"\[(\d+) items?\]|collected (\d+) items?", line)
        if found:
            self.total = int(found.group(1) or found.group(2))
        if _PROGRESS.match(line.strip()):
            marks = line.strip().split()[0]
            self.done += len(marks)
            self.failed += marks.count("F") + marks.count("E")
            if self.stream is not None:
                total = f"/{self.total}" if self.total else ""
                text = tr("refcnn conformance: {done}{total} tests, {failed} failed",
                          done=self.done, total=total, failed=self.failed)  # fmt: skip
                # a terminal redraws one line; a log (a file, a notebook's pipe) gets lines
                self.stream.write(f"\r{text}" if self._terminal() else f"{text}\n")
                self.stream.flush()

    def _terminal(self) -> bool:
        try:
            return bool(self.stream is not None and self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    def close(self) -> None:
        if self.stream is not None and self.done and self._terminal():
            self.stream.write("\n")
            self.stream.flush()


def check(
    impl: Any = None,
    *,
    unsupported: Iterable[str] | Mapping[str, Iterable[str]] = (),
    explain: bool = False,
    explain_budget: float = opts.DEFAULT_EXPLAIN_BUDGET,
    timeout: float = opts.DEFAULT_TIMEOUT,
    budget: float = 0.0,
    workers: int | str = "auto",
    profile: str = "ci",
    report: str | os.PathLike | None = None,
    page: str | os.PathLike | None = None,
    failures: str | os.PathLike | None = None,
    coverage: bool = False,
    strict_policies: bool = False,
    xfails_file: str | os.PathLike | None = None,
    gradient_check: str = "directional",
    isolation: bool = True,
    lang: str | None = None,
    keyword: str | None = None,
    exitfirst: bool = False,
    junitxml: str | os.PathLike | None = None,
    verbose: bool = False,
    tb: str = "no",
    echo: bool = False,
    progress: bool = True,
) -> Verdict:
    """Run the conformance suite on ``impl`` and return its verdict.

    ``impl``: a module, a module name, the path of a ``.py`` file, of a
    package folder or of an ``.ipynb`` notebook, or a mapping of names to
    functions (``globals()`` in a notebook, ``{"max_pooling2d": f, ...}``);
    None: ``$REFCNN_IMPL`` or refcnn. The options are the command's
    (``refcnn conformance --help``) under Python names: ``unsupported``
    (``"tuple params"``, ``"max_pooling2d:padding"``, or a dict like
    ``CONFORMANCE_UNSUPPORTED``), ``explain``, ``explain_budget`` (seconds
    per failing cell), ``timeout`` (seconds per test; after a time-out, the
    other tests of its op and corner are not run), ``budget`` (seconds for the
    whole run; the tests left then are not run), ``workers`` (``"auto"``,
    a number, 0 for none), ``profile`` (``"ci"``, ``"thorough"``), ``report``
    (JSON), ``page`` (HTML), ``failures`` (every failure in full), ...;
    ``lang`` (``"en"``, ``"ja"``; None: the locale's) is the language of the
    verdict's text, its JSON's messages and its page; ``keyword`` selects
    tests as ``pytest -k``; ``exitfirst`` stops at the first failure (``-x``:
    the verdict is then of the tests run).

    ``echo``: the session writes to this process's terminal as the command
    does; else, with ``progress``, one line says how far it is. Raises
    :class:`UsageError` for what the run cannot use (exit code 4 of the
    command) and :class:`Interrupted` (a KeyboardInterrupt, with the partial
    verdict) on Ctrl-C. Inside a notebook that the suite is judging, it runs
    nothing and returns None.
    """
    if os.environ.get(SESSION):  # the notebook calling it is being judged: run nothing
        os.environ[opts.NESTED] = str(int(os.environ.get(opts.NESTED, "0")) + 1)
        return None  # type: ignore[return-value]
    try:
        lang = i18n.resolve(lang)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with i18n.speaking(lang):  # its errors and progress in the verdict's language
        if profile not in PROFILES:
            raise UsageError(tr("profile {profile}: one of {profiles}", profile=repr(profile),
                                profiles=", ".join(PROFILES)))  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="refcnn-conformance-") as folder:
            scratch = Path(folder)
            target = _target(impl, scratch)
            elsewhere = target.cwd is not None
            options = {
                "impl": target.spec or None,
                "unsupported": _declarations(unsupported),
                "explain": explain,
                "explain_budget": explain_budget,
                "timeout": timeout,
                "budget": budget or None,
                "report": _path(report, elsewhere),
                "page": _path(page, elsewhere),
                "failures": _path(failures, elsewhere),
                "coverage": coverage,
                "strict_policies": strict_policies,
                "xfails_file": _path(xfails_file, elsewhere),
                "gradient_check": gradient_check,
                "isolation": isolation,
                "lang": lang,
            }
            command, env = session(
                scratch, options, workers=workers, keyword=keyword, verbose=verbose, tb=tb,
                junitxml=_path(junitxml, elsewhere), profile=profile, exitfirst=exitfirst,
                # the user's current folder stays importable (module names), as the command's
                pythonpath=[str(Path.cwd()), *target.paths],
            )  # fmt: skip
            env[opts.CHECK_CALL] = "1"
            code, output, interrupted = _run(command, target.cwd or Path.cwd(), env, echo, progress)
            label = target.label or os.environ.get(opts.ENV_VAR) or opts.REFERENCE
            verdict = _read(scratch / "verdict.json", code, output, interrupted, label, not echo)
            if not verdict.complete:
                verdict.record.language = lang
        if interrupted or verdict.interrupted:
            raise Interrupted(verdict)
        return verdict


def _in_python(message: str) -> str:
    """A usage error of the session, in check()'s terms."""
    # (the session words its advice for check() itself: options.CHECK_CALL)
    return re.sub(r"(^|; )--impl ", r"\1check(impl=...): ", message)


def _path(path: str | os.PathLike | None, elsewhere: bool) -> str | None:
    """A path as the session takes it: as given when it runs in this
    process's folder (its messages then say it as the user did), else
    absolute."""
    if path is None:
        return None
    return str(Path(path).expanduser().absolute()) if elsewhere else os.fspath(path)


def _declarations(unsupported: Iterable[str] | Mapping[str, Iterable[str]]) -> list[str]:
    """``--unsupported`` values from strings or a declaration dict."""
    if isinstance(unsupported, str):
        return [unsupported]
    if isinstance(unsupported, Mapping):
        return [
            f"{op}:{corner}" if op != "*" else corner
            for op, corners in unsupported.items()
            for corner in ([corners] if isinstance(corners, str) else corners)
        ]
    return list(unsupported)


def session(
    scratch: Path,
    options: dict[str, Any],
    *,
    workers: int | str = "auto",
    keyword: str | None = None,
    verbose: bool = False,
    tb: str = "no",
    junitxml: str | None = None,
    profile: str = "ci",
    pythonpath: Iterable[str] = (),
    inherit: Mapping[str, str] | None = None,
    exitfirst: bool = False,
) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a hermetic session (see the module
    doc) with ``options`` by Python name; it writes its verdict to
    ``scratch / "verdict.json"`` (and its configuration file in ``scratch``).
    ``inherit``: the variables it inherits (default: this process's)."""
    args = _pytest_args(scratch, options, workers, keyword, verbose, tb, junitxml, exitfirst)
    env = _environment(profile, list(pythonpath), os.environ if inherit is None else inherit)
    env[TRANSPORT] = str(scratch / "verdict.json")
    return [sys.executable, "-m", "refcnn.conformance.running.session", *args], env


def _run(
    command: list[str], cwd: Path, env: dict[str, str], echo: bool, progress: bool
) -> tuple[int, str, bool]:
    """The session's exit code, its output (when not echoed) and whether
    this process was interrupted. Ctrl-C here is passed on to the session
    (in a process group of its own, it does not get the terminal's), which
    stops and writes its verdict; a second Ctrl-C, or a session that
    outlives ``INTERRUPT_GRACE`` after the first, is killed."""
    pipe = None if echo else subprocess.PIPE
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=pipe, stderr=None if echo else subprocess.STDOUT,
        text=True, errors="replace", start_new_session=True,
    )  # fmt: skip
    reader = _Progress(sys.stdout if progress and not echo else None)
    thread = None
    if not echo:
        thread = threading.Thread(target=_pump, args=(process.stdout, reader), daemon=True)
        thread.start()
    interrupted, deadline = False, None
    previous = _forward_sigterm(process)
    try:
        while True:
            try:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                process.wait(timeout=left)
                break
            except subprocess.TimeoutExpired:
                _kill(process)
            except KeyboardInterrupt:
                if interrupted:
                    _kill(process)
                    continue
                interrupted, deadline = True, time.monotonic() + INTERRUPT_GRACE
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGINT)
    finally:
        _restore_sigterm(previous)
        if thread is not None:
            thread.join(timeout=5)
        reader.close()
    return process.returncode, "\n".join(reader.lines), interrupted


def _pump(stream: IO[str], reader: _Progress) -> None:
    for line in stream:
        reader.feed(line.rstrip("\n"))


def _kill(process: subprocess.Popen) -> None:
    """The session and what it started (its process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError, AttributeError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()


def _forward_sigterm(process: subprocess.Popen) -> Any:
    """SIGTERM to this process (in the main thread) is passed on: the
    session stops as interrupted and writes its verdict."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def forward(signum: int, frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)

    return signal.signal(signal.SIGTERM, forward)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _read(
    path: str | Path, code: int, output: str, interrupted: bool, label: str, python: bool = False
) -> Verdict:
    """The session's verdict: its JSON report, or a verdict that says how it
    ended without one; UsageError for a run that ended with a usage error
    (said to a Python caller, ``python``, in check()'s terms, not the
    command line's)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if code == USAGE_ERROR and not interrupted:
        errors = [line[7:] for line in output.splitlines() if line.startswith("ERROR: ")]
        message = "; ".join(errors) or output.strip()[-500:] or "usage error"
        raise UsageError(_in_python(message) if python else message)
    if data is None:
        return _failed_run(label, code, output, interrupted)
    return Verdict.from_json(data, exit_code=code)


__all__ = ["Interrupted", "Result", "UsageError", "Verdict", "check"]
