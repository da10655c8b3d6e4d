"""pytest setup of the conformance suite: options, hypothesis profiles, the
implementation under test and the oracle."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

from . import implementation as impl_mod
from . import oracle as orc
from . import verdict as vd

# "ci" (default): deterministic, so a run is reproducible and CI never flakes;
# "thorough": random and many more examples, for hunting bugs.
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    database=None,  # no replay of examples saved by earlier runs: every run is the same
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("ci"),
    max_examples=1000,
    derandomize=False,
    database=settings.default.database,  # remember failures between thorough runs
)
settings.load_profile(os.environ.get("REFCNN_HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("refcnn conformance")
    group.addoption(
        "--impl",
        default=None,
        help=f"module under test (default: ${impl_mod.ENV_VAR} or {impl_mod.REFERENCE})",
    )
    group.addoption(
        "--strict-policies",
        action="store_true",
        help="also check refcnn's own policies (dtype preservation, input validation) "
        "for a module other than refcnn",
    )
    group.addoption(
        "--xfails-file",
        default=None,
        help="expected failures: one test id per line, then whitespace and the reason "
        "(required); '#' starts a comment",
    )
    group.addoption(
        "--conformance-report",
        default=None,
        metavar="PATH",
        help="write the verdict (op x check) as JSON to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "verdict(op, check): the op and check a test judges")
    config._refcnn_verdict = vd.Verdict()
    config._refcnn_xfails = _read_xfails(config.getoption("--xfails-file"))


def _read_xfails(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    entries: dict[str, str] = {}
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise pytest.UsageError(f"--xfails-file {path}: {exc}") from None
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
    """An entry matches the full node id, or the id from the test name on."""
    for test_id, reason in entries.items():
        if item.nodeid == test_id or item.nodeid.endswith("::" + test_id):
            return test_id, reason
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    entries = config._refcnn_xfails
    used = set()
    for item in items:
        key = vd.key_of(item)
        if key is not None:
            item.user_properties.append(("verdict", key))
        match = _xfail_reason(item, entries)
        if match is not None:
            used.add(match[0])
            item.add_marker(pytest.mark.xfail(reason=f"--xfails-file: {match[1]}", strict=False))
    unused = [test_id for test_id in entries if test_id not in used]
    if unused and not hasattr(config, "workerinput"):
        config._refcnn_unused_xfails = unused
        for test_id in unused:
            config.issue_config_time_warning(
                pytest.PytestConfigWarning(f"--xfails-file: {test_id} matches no test"),
                stacklevel=2,
            )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    if call.when == "call":
        item.user_properties.append(("examples", vd.examples_of(item.nodeid)))
    yield


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG.get("config")
    if config is not None and not hasattr(config, "workerinput"):
        config._refcnn_verdict.record(report)


_CONFIG: dict = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and not hasattr(session.config, "workerinput"):
        reporter.write_line(header(session.config))  # also under -q


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    verdict: vd.Verdict = config._refcnn_verdict
    if not verdict.cells:
        return
    name = impl_mod.resolve_name(config.getoption("--impl"))
    oracle = "torch" if orc.torch_available() else "golden fixtures + refcnn (no torch)"
    terminalreporter.section(f"conformance verdict: {name} (oracle: {oracle})")
    terminalreporter.write_line(verdict.table())
    for test_id in getattr(config, "_refcnn_unused_xfails", []):
        terminalreporter.write_line(f"warning: --xfails-file entry {test_id} matches no test")
    path = config.getoption("--conformance-report")
    if path:
        verdict.write_json(path, name, orc.describe())
        terminalreporter.write_line(f"verdict written to {path}")


def header(config: pytest.Config) -> str:
    name = impl_mod.resolve_name(config.getoption("--impl"))
    strict = config.getoption("--strict-policies") or name == impl_mod.REFERENCE
    policies = "checked" if strict else "not checked (use --strict-policies)"
    return (
        f"refcnn conformance: implementation under test = {name}; oracle = {orc.describe()}; "
        f"policies (dtype, validation) {policies}"
    )


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> impl_mod.Implementation:
    name = impl_mod.resolve_name(pytestconfig.getoption("--impl"))
    return impl_mod.load(name, pytestconfig.getoption("--strict-policies"))


@pytest.fixture(scope="session")
def oracle() -> orc.TorchOracle | orc.RefcnnOracle:
    return orc.make_oracle()
