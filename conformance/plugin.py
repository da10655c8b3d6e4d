"""The suite's pytest plugin: options, hypothesis profiles, the
implementation under test, the oracle, and the verdict at the end of the run.

Loaded by the suite's ``conftest.py``, or up front with ``-p
refcnn.conformance.plugin`` (needed for ``pytest --pyargs refcnn.conformance``,
where pytest parses the options before it finds the conftest). No entry point
is registered: the options exist only in runs of the suite. Each option has a
``--refcnn-`` name, and its short name (``--impl``, ...) too unless another
plugin of the run already took it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky

from refcnn import i18n
from refcnn.i18n import N_, tr, tr_marked

from .expected import oracle as orc
from .judging import boundary as bd
from .judging import calls as cl
from .judging import checks as ch
from .running import implementation as impl_mod
from .running import options as opts
from .running.options import PROFILE_VAR, TRANSPORT
from .verdict import record as vd
from .verdict import render as rd
from .verdict import reports
from .verdict import verdict_json as vj
from .verdict.files import write_whole

SUITE_DIR = Path(__file__).resolve().parent

# "ci" (default): deterministic, so a run is reproducible and CI never flakes;
# "thorough": random and many more examples, for hunting bugs.
# max_examples is the budget of one op, check and dtype, which its corners share
# (conformance.tests.test_ops.examples); report_multiple_bugs=False: one failure per
# corner, shrunk.
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    report_multiple_bugs=False,
    database=None,  # no replay of examples saved by earlier runs: every run is the same
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("ci"),
    max_examples=1000,
    derandomize=False,
    database=settings.default.database,  # remember failures between thorough runs
)


def profile_name() -> str:
    return os.environ.get(PROFILE_VAR, "ci")


def option(config: pytest.Config, name: str):
    """The value of an option by its namespaced name, e.g. ``"impl"``."""
    return config.getoption(f"refcnn_{name.replace('-', '_')}")


def _taken(parser: pytest.Parser) -> set[str]:
    """Option names other plugins registered (pytest keeps them per group)."""
    groups = [getattr(parser, "_anonymous", None), *getattr(parser, "_groups", [])]
    return {name for g in groups if g for opt in g.options for name in opt.names()}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("refcnn conformance")
    taken = _taken(parser)
    # the options' help (pytest --help) in the language the command line asks for
    with i18n.speaking(i18n.lang_in(sys.argv, ("--lang", "--refcnn-lang"))):
        for option in opts.OPTIONS:
            names = [option.long] + ([option.short] if option.short not in taken else [])
            kwargs = {**option.kwargs, "help": opts.help_text(option)}
            group.addoption(*names, dest=opts.dest(option.long), **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "verdict(check, op=None): the check a test makes, and the op it judges (default: "
        "from its op, example, case or name parameter)",
    )
    settings.load_profile(profile_name())
    language = i18n.choose(option(config, "lang"))  # the messages made in this process too
    controller = not hasattr(config, "workerinput")
    timeout = option(config, "timeout")
    if timeout is None or not timeout >= 0:
        raise pytest.UsageError(
            tr("--timeout {value}: give the seconds per test, 0 for none", value=timeout)
        )
    config._refcnn_timeout = timeout or None
    budget = option(config, "budget")
    if budget is None or not budget >= 0:
        raise pytest.UsageError(
            tr("--budget {value}: give the seconds of the whole run, 0 for none", value=budget)
        )
    config._refcnn_budget, config._refcnn_started = budget or None, time.monotonic()
    config._refcnn_timed_out = {}  # (op, corner) -> the test that timed out there
    if controller:  # paths first: a bad one is said at once, not after the run
        config._refcnn_outputs = reports.Outputs(
            option(config, "report"), option(config, "failures"), option(config, "html")
        )
    config._refcnn_impl = impl_mod.load(
        impl_mod.resolve_name(option(config, "impl")),
        option(config, "strict-policies"),
        option(config, "unsupported"),
        sandbox=not option(config, "no-isolation"),
    )
    config._refcnn_impl.boundary.timeout = config._refcnn_timeout
    config._refcnn_verdict = vd.Record()
    config._refcnn_verdict.language = language
    config._refcnn_xfails = _read_xfails(option(config, "xfails-file"))
    if controller:
        _stop_on_sigterm()


def _stop_on_sigterm() -> None:
    """SIGTERM stops the run as Ctrl-C does: interrupted, never a pass."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    with contextlib.suppress(ValueError):  # not the main thread: leave the handler be
        signal.signal(signal.SIGTERM, interrupt)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test is not run (and says why) once the run's budget is spent, or
    once a test of its (op, corner) timed out: a hang costs one time limit
    per (op, corner), not one per test (in each pytest process). The time
    limit of the calls to the worker (their time in all) counts from here."""
    config = item.config
    if not in_suite(item):
        return
    impl = getattr(config, "_refcnn_impl", None)
    if impl is not None:
        impl.boundary.forget()
        impl.boundary.begin_test(config._refcnn_timeout or None)
    reason = _not_run(item)
    if reason is not None:
        impl_mod.skip("not run", f"{vd.NOT_RUN}{reason}")


def in_suite(item: pytest.Item) -> bool:
    try:
        return Path(item.path).resolve().is_relative_to(SUITE_DIR)
    except (AttributeError, OSError):
        return False


def _not_run(item: pytest.Item) -> str | None:
    """Why ``item`` is not run: the run's budget is spent, or a test of its
    (op, corner) timed out (None: it runs)."""
    config = item.config
    budget = config._refcnn_budget
    if budget and time.monotonic() - config._refcnn_started > budget:
        return f"the run's budget ({budget:g} s, --budget) was spent"
    key = vd.key_of(item)
    if key is None:
        return None
    culprit = config._refcnn_timed_out.get((key[0], key[2]))
    if culprit is None:
        return None
    where = f"{key[0]} [{key[2]}]" if key[2] else key[0]
    test = culprit.rpartition("::")[2]
    return f"{test} timed out in {where}: the same time limit is not waited again"


def _read_xfails(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    entries: dict[str, str] = {}
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise pytest.UsageError(tr("--xfails-file {path}: {error}", path=path, error=exc)) from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            raise pytest.UsageError(
                f"--xfails-file {path}, line {number}: give a reason after the test id: {line!r}"
            )
        entries[parts[0]] = parts[1].strip()
    return entries


def _xfail_reason(item: pytest.Item, entries: dict[str, str]) -> tuple[str, str] | None:
    """An entry matches the full node id, or the id from the test name on;
    ``*`` matches any characters (``test_forward[flatten2d-*]``: every
    corner and dtype)."""
    for test_id, reason in entries.items():
        if _matches(test_id, item.nodeid):
            return test_id, reason
    return None


def _matches(test_id: str, nodeid: str) -> bool:
    pattern = re.compile(re.escape(test_id).replace(r"\*", ".*"))
    return bool(pattern.fullmatch(nodeid) or pattern.fullmatch(nodeid.rpartition("::")[2]))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    entries = config._refcnn_xfails
    for item in items:
        key = vd.key_of(item)
        if key is not None:
            item.user_properties.append(("verdict", key))
        match = _xfail_reason(item, entries)
        if match is not None:
            item.add_marker(pytest.mark.xfail(reason=f"--xfails-file: {match[1]}", strict=False))


def unused_xfails(entries: dict[str, str], nodeids: set[str]) -> list[str]:
    """The ``--xfails-file`` entries that match none of the tests that ran
    (computed where the reports arrive, so also under pytest-xdist)."""
    return [t for t in entries if not any(_matches(t, nodeid) for nodeid in nodeids)]


TALLY = pytest.StashKey[vd.Tally]()


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> vd.Tally:
    """What a property test drew, for the verdict (kept on the test's item, so
    it reaches the controller under pytest-xdist through the report)."""
    request.node.stash[TALLY] = vd.Tally()
    return request.node.stash[TALLY]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    skipped = call.excinfo.value if call.excinfo is not None else None
    if isinstance(skipped, impl_mod.StatusSkip):
        item.user_properties.append(("skip", (skipped.status, skipped.msg)))
    if call.when in ("setup", "call") and in_suite(item):
        if call.when == "call" and TALLY in item.stash:
            item.user_properties.append(("tally", item.stash[TALLY].as_dict()))
        if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
            failure = failure_of(call.excinfo.value, call.when)
            item.user_properties.append(("failure", failure))
            key = vd.key_of(item)
            if failure.get("kind") == "timed out" and key is not None:
                item.config._refcnn_timed_out.setdefault((key[0], key[2]), item.nodeid)
    yield


NUMPY_WORDS = {"Arrays are not equal": N_("Arrays are not equal")}


def failure_of(exc: BaseException, when: str = "call") -> dict:
    """The verdict's record of a failure: the suite's own failures know their
    kind; what the implementation raised where no check wrapped the call is
    ``raised``; hypothesis' Flaky means the implementation did not give the
    same result twice; another AssertionError in a test's call is a value
    check of a test without corners; anything else (an AssertionError in
    the setup too: pytest's own, the implementation is not called there) is
    an error of the suite itself."""
    if isinstance(exc, ch.ConformanceError):
        return exc.as_dict()
    if isinstance(exc, bd.WorkerLost):
        return exc.as_failure()
    name, message, _ = cl.exception_fields(exc)
    if cl.from_implementation(exc):
        if not isinstance(exc, Exception):  # called where no check wrapped the call
            return {"kind": "crashed", "exception": name, "message": cl.ending_the_run(exc)}
        return {"kind": "raised", "exception": name, "message": f"{name}: {message}"}
    if isinstance(exc, Flaky):
        return {
            "kind": "wrong values",
            "exception": name,
            "message": tr(
                "the implementation did not fail the same way twice on the same input "
                "(nondeterministic, or state kept between calls): {message}",
                message=message,
            ),
        }
    if isinstance(exc, AssertionError) and when == "call":
        # numpy's comparison (the semantics tests) says it in its own English
        if message in NUMPY_WORDS:
            message = tr_marked(NUMPY_WORDS[message])
        return {"kind": "wrong values", "message": message}
    return {
        "kind": "suite error",
        "exception": name,
        "message": tr(
            "{exception}: {message} (an error in the suite's own code, not in the implementation)",
            exception=name,
            message=message,
        ),
    }


def pytest_runtest_logstart(nodeid: str, location) -> None:
    config = _CONFIG.get("config")
    if config is not None and not hasattr(config, "workerinput"):
        config._refcnn_verdict.started(nodeid)


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    config = _CONFIG.get("config")
    if config is not None and not hasattr(config, "workerinput"):
        config._refcnn_verdict.finished(nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG.get("config")
    if config is not None and not hasattr(config, "workerinput"):
        config._refcnn_verdict.record(report)


def pytest_keyboard_interrupt(excinfo) -> None:
    config = _CONFIG.get("config")
    if config is not None and not hasattr(config, "workerinput"):
        config._refcnn_verdict.interrupted = str(excinfo.value) or "Ctrl-C"


def pytest_internalerror(excrepr, excinfo) -> None:
    config = _CONFIG.get("config")
    if config is not None and not hasattr(config, "workerinput"):
        config._refcnn_verdict.internal_error = str(excinfo.value)[:300] or excinfo.typename


_CONFIG: dict = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config
    session.config._refcnn_session = session
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and not hasattr(session.config, "workerinput"):
        reporter.write_line(header(session.config))  # also under -q


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The exit code says what the verdict says: 1 for a failure, 2 when the
    run was interrupted, 3 for an error of the suite itself; 0 only when
    every provided op truly passed."""
    config = session.config
    impl = getattr(config, "_refcnn_impl", None)
    if impl is not None:
        impl.boundary.close()
        stats = os.environ.get(bd.STATS_VAR)
        if stats:  # benchmarks/boundary.py: what the boundary cost this process
            with open(stats, "a") as handle:
                handle.write(f"{impl.boundary.calls} {impl.boundary.seconds:.6f}\n")
    if hasattr(config, "workerinput") or not hasattr(config, "_refcnn_verdict"):
        return
    verdict: vd.Record = config._refcnn_verdict
    if verdict.interrupted is None and exitstatus == pytest.ExitCode.INTERRUPTED:
        verdict.interrupted = "the run was stopped"
    if verdict.suite_errors():
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
    elif verdict.interrupted is not None:
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    elif (verdict.failed or verdict.not_run) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    outputs: reports.Outputs = config._refcnn_outputs
    verdict.implementation, verdict.notes = config._refcnn_impl.label, config._refcnn_impl.notes
    loaded = config._refcnn_impl.boundary.loaded
    if loaded is not None and not loaded.sandboxed:
        ran = tr("the judged code ran with {sandbox}", sandbox=loaded.sandbox)
        verdict.notes = [*verdict.notes, ran]
    verdict.oracle, verdict.environment = orc.describe(), environment()
    config._refcnn_output_lines = outputs.write(verdict)
    transport = os.environ.get(TRANSPORT)
    if transport:  # for conformance.running.api.check, which started this session
        write_whole(Path(transport), vj.json_text(verdict))
    if outputs.error and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    verdict: vd.Record = config._refcnn_verdict
    if not verdict.cells and not verdict.status_lines():
        return
    name = config._refcnn_impl.label
    oracle = "torch" if orc.torch_available() else tr("golden fixtures + refcnn (no torch)")
    terminalreporter.section(tr("conformance verdict: {name} (oracle: {oracle})", name=name,
                                oracle=oracle))  # fmt: skip
    terminalreporter.write_line(rd.table(verdict))
    for line in rd.causes_summary(verdict) + rd.notes_lines(verdict):
        terminalreporter.write_line(line)
    if option(config, "explain") and verdict.failed:
        terminalreporter.section(
            tr("conformance explanations: each cause once, its smallest example")
        )
        for line in rd.explanations(verdict):
            terminalreporter.write_line(line)
    if option(config, "coverage"):
        terminalreporter.section(tr("conformance coverage: what the run drew"))
        terminalreporter.write_line(rd.coverage_table(verdict))
    for test_id in unused_xfails(config._refcnn_xfails, verdict.nodeids):
        terminalreporter.write_line(
            tr("warning: --xfails-file entry {test} matches no test", test=test_id)
        )
    for line in getattr(config, "_refcnn_output_lines", []):
        terminalreporter.write_line(line)
    if verdict.suite_errors():
        terminalreporter.write_line(
            tr(
                "refcnn conformance: the suite's own code failed (see 'suite error' above); the "
                "verdict is incomplete. Please report it with the failures file to refcnn's "
                "issue tracker."
            )
        )


def header(config: pytest.Config) -> str:
    name = config._refcnn_impl.label
    strict = config._refcnn_impl.strict
    policies = tr("checked") if strict else tr("not checked (use --strict-policies)")
    text = tr(
        "refcnn conformance: implementation under test = {name}; oracle = {oracle}; "
        "policies (dtype, validation) {policies}",
        name=name, oracle=orc.describe(), policies=policies,
    )  # fmt: skip
    text += f"\n{versions()}"
    found = config._refcnn_impl.found()
    shown = found if config.get_verbosity() > 0 or len(found) <= 16 else [*found[:16], "..."]
    listed = ", ".join(shown) or tr("none")
    text += "\n" + tr("article functions found ({n}): {functions}", n=len(found), functions=listed)
    loaded = config._refcnn_impl.boundary.loaded
    sandbox = loaded.sandbox if loaded else "-"
    text += "\n" + tr("judged code in a worker process; sandbox: {sandbox}", sandbox=sandbox)
    if config._refcnn_timeout:
        limit = f"{config._refcnn_timeout:g}"
        text += tr("; time limit {seconds} s per test", seconds=limit)
    text += "".join(f"\n{note}" for note in config._refcnn_impl.notes)
    declared = config._refcnn_impl.unsupported
    if declared:
        corners = "; ".join(f"{op}: {', '.join(sorted(c))}" for op, c in sorted(declared.items()))
        text += "\n" + tr("declared unsupported (not run): {corners}", corners=corners)
    return text


def environment() -> dict[str, str]:
    import hypothesis
    import numpy

    import refcnn

    return {
        "refcnn": refcnn.__version__,
        "numpy": numpy.__version__,
        "torch": orc.torch_version() or "not installed",
        "hypothesis": hypothesis.__version__,
        "profile": profile_name(),
    }


def versions() -> str:
    """The examples the ci profile draws depend on the hypothesis version."""
    env = environment()
    return tr(
        "refcnn {refcnn}, numpy {numpy}, torch {torch}, hypothesis {hypothesis} (profile "
        "{profile}; the examples drawn depend on its version)",
        **env,
    )


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> impl_mod.Implementation:
    return pytestconfig._refcnn_impl


@pytest.fixture(scope="session")
def oracle() -> orc.TorchOracle | orc.RefcnnOracle:
    return orc.make_oracle()
