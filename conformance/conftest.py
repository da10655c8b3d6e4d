"""pytest setup of the conformance suite: options, hypothesis profiles, the
implementation under test and the oracle."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

from . import implementation as impl_mod
from . import oracle as orc

# "ci" (default): deterministic, so a run is reproducible and CI never flakes;
# "thorough": random and many more examples, for hunting bugs.
settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
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


def pytest_report_header(config: pytest.Config) -> list[str]:
    name = impl_mod.resolve_name(config.getoption("--impl"))
    oracle = "torch" if orc.torch_available() else "refcnn (torch is not installed)"
    strict = config.getoption("--strict-policies") or name == impl_mod.REFERENCE
    policies = "checked" if strict else "not checked (use --strict-policies)"
    return [
        f"refcnn conformance: implementation under test = {name}; oracle = {oracle}; "
        f"policies (dtype, validation) {policies}"
    ]


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> impl_mod.Implementation:
    name = impl_mod.resolve_name(pytestconfig.getoption("--impl"))
    return impl_mod.load(name, pytestconfig.getoption("--strict-policies"))


@pytest.fixture(scope="session")
def oracle() -> orc.TorchOracle | orc.RefcnnOracle:
    return orc.make_oracle()
