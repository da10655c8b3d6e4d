"""The judge held to near misses and near passes (``pytest -m judge``).

The planted bugs of ``tests/test_harness.py`` miss by far more than any
tolerance, so none of them sees a judge that got looser, or that stopped
comparing shapes before values, or counted a NaN as no difference. The near
misses of ``tests/impls/near_misses`` sit just past one line that the judge
draws, and each must fail in exactly its cells: the (op, check) cells, the
corners and the dtypes where its change applies (each reason is stated
beside it), with its kind and the function it blames. The near passes of
``tests/impls/near_passes`` sit just inside the documented tolerances and
policies, and must pass: the judge is not stricter than its docs.

Each runs the real command on the ops concerned, as ``tests/test_harness.py``
does; the unit tests of the comparisons are ``tests/test_comparisons.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from refcnn.conformance.inputs import op_table as ot
from tests.test_harness import failing, run_suite

pytestmark = pytest.mark.judge

F64, F32 = "float64", "float32"
BOTH = frozenset({F64, F32})
FLOAT64 = frozenset({F64})


def corners(op: str, *but: str) -> frozenset[str]:
    """The op's corners, but ``but``."""
    return frozenset(ot.BY_NAME[op].corners) - set(but)


def gradient_corners(op: str, *but: str) -> frozenset[str]:
    """The corners the gradient check runs (float64 only), but ``but``."""
    return frozenset(ot.BY_NAME[op].gradient_corners) - set(but)


@dataclass(frozen=True)
class Cell:
    """Where one (op, check) cell must fail: every test of ``corners`` (None:
    a check without corners, then every test of the cell) in each of
    ``dtypes`` and no other, each failure of ``kind``, blaming ``function``
    (``""``, or None where the failure has no function: a check that does
    not say)."""

    corners: frozenset[str] | None
    dtypes: frozenset[str] | None
    kind: str
    function: str | None


@dataclass(frozen=True)
class NearMiss:
    select: str  # -k: the ops concerned
    cells: dict[tuple[str, str], Cell]
    args: tuple[str, ...] = ()


def _wrong(op: str, function: str, kind: str = "wrong values", **checks) -> dict:
    """The cells of ``op`` by check: ``checks`` maps a check to (corners,
    dtypes); every one fails with ``kind`` blaming ``function``."""
    return {
        (op, check): Cell(where, dtypes, kind, function)
        for check, (where, dtypes) in checks.items()
    }


MAX, AVG, CONV = "max_pooling2d", "average_pooling2d", "convolution2d"

NEAR_MISSES = {
    # float32 roundings of float64 results, ~1e-8 away: past float64's 1e-10.
    # Not in ties (integer values, exact in float32), nor where there is no
    # value (the empty batch), nor in the golden cases of negative under
    # padding (every window there touches the padding: all outputs are 0).
    # The gradient check judges the forward first, and blames it.
    "float32_work_buffer": NearMiss(
        MAX,
        _wrong(
            MAX,
            "forward",
            forward=(corners(MAX, "ties", "empty batch"), FLOAT64),
            gradient=(gradient_corners(MAX), FLOAT64),
            golden=(corners(MAX, "ties", "empty batch", "negative under padding"), FLOAT64),
        ),
    ),
    # 1e-7 of the scale in float64, 5e-4 in float32: wherever there is an
    # output, and in every article array (1e-12 there).
    "one_element_off": NearMiss(
        CONV,
        _wrong(
            CONV,
            "forward",
            forward=(corners(CONV, "empty batch"), BOTH),
            gradient=(gradient_corners(CONV), FLOAT64),
            golden=(corners(CONV, "empty batch"), BOTH),
        )
        | {(CONV, "fixtures"): Cell(None, None, "wrong values", "")},
    ),
    # Twice the tolerance in z: wherever there is an output. The gradient
    # check judges the forward first.
    "just_past_tolerance": NearMiss(
        "affine",
        _wrong(
            "affine",
            "forward",
            forward=(corners("affine", "empty batch"), BOTH),
            gradient=(gradient_corners("affine"), FLOAT64),
            golden=(corners("affine", "empty batch"), BOTH),
        ),
    ),
    # Twice the tolerance in dW, which has elements (zeros) in the empty
    # batch too; 2e-10 is far inside finite differences' 1e-6.
    "gradient_just_past_tolerance": NearMiss(
        "affine",
        _wrong(
            "affine",
            "backward",
            backward=(corners("affine"), BOTH),
            golden=(corners("affine"), BOTH),
        ),
    ),
    # A NaN in du wherever du has elements; finite differences see it too.
    "nan_gradient": NearMiss(
        AVG,
        _wrong(
            AVG,
            "backward",
            backward=(corners(AVG, "empty batch"), BOTH),
            gradient=(gradient_corners(AVG), FLOAT64),
            golden=(corners(AVG, "empty batch"), BOTH),
        ),
    ),
    # One ulp of dz wherever dz has elements, in every check that calls the
    # backward: hygiene too.
    "input_moved_one_ulp": NearMiss(
        "flatten2d",
        _wrong(
            "flatten2d",
            "backward",
            "mutated input",
            backward=(corners("flatten2d", "empty batch"), BOTH),
            gradient=(gradient_corners("flatten2d"), FLOAT64),
            golden=(corners("flatten2d", "empty batch"), BOTH),
            hygiene=(frozenset({"plain"}), FLOAT64),
        ),
    ),
    # (1, n, zh, zw, c) for (n, zh, zw, c): a wrong shape everywhere, the
    # empty batch included.
    "extra_axis": NearMiss(
        AVG,
        _wrong(
            AVG,
            "forward",
            "wrong shape",
            forward=(corners(AVG), BOTH),
            gradient=(gradient_corners(AVG), FLOAT64),
            golden=(corners(AVG), BOTH),
        ),
    ),
    # float32 for float64, float16 for float32: values past each tolerance
    # wherever there are values. The gradient check blames the forward (at
    # the inputs' tolerance), not finite differences of the roundings.
    "dtype_narrowed": NearMiss(
        "tanh",
        _wrong(
            "tanh",
            "forward",
            forward=(corners("tanh", "empty batch"), BOTH),
            gradient=(gradient_corners("tanh"), FLOAT64),
            golden=(corners("tanh", "empty batch"), BOTH),
        ),
    ),
    # The same under --strict-policies: the dtype itself is wrong in the
    # forward check, which enforces the policy (the empty batch has a dtype
    # too); the golden and gradient checks judge values only.
    "dtype_narrowed --strict-policies": NearMiss(
        "tanh",
        _wrong("tanh", "forward", "wrong dtype", forward=(corners("tanh"), BOTH))
        | _wrong(
            "tanh",
            "forward",
            gradient=(gradient_corners("tanh"), FLOAT64),
            golden=(corners("tanh", "empty batch"), BOTH),
        ),
        ("--strict-policies",),
    ),
    # Booleans compare exactly: one flipped fails wherever there is an output.
    "step_one_flipped": NearMiss(
        "step",
        _wrong(
            "step",
            "forward",
            "wrong dtype",
            forward=(corners("step", "empty batch"), BOTH),
            gradient=(gradient_corners("step"), FLOAT64),
            golden=(corners("step", "empty batch"), BOTH),
        ),
    ),
    # Only mixed draws calc_du_flag=False (one sample in five); dW is then
    # the first image's, wrong wherever the batch has two. No golden case
    # of mixed has calc_du_flag=False with a batch of two.
    "wrong_without_du": NearMiss(
        CONV,
        _wrong(
            CONV,
            "backward",
            backward=(frozenset({"mixed"}), BOTH),
            gradient=(frozenset({"mixed"}), FLOAT64),
        ),
    ),
    # A new weight a relative 1e-9 off: the formula tests of the optimizers
    # (their closed form, at 1e-12) fail; they have no corners, nor dtypes.
    "optimizer_step_off": NearMiss(
        "test_adagrad_epsilon or test_adadelta_epsilon",
        {
            ("AdaGrad", "trajectory"): Cell(None, None, "wrong values", None),
            ("AdaDelta", "trajectory"): Cell(None, None, "wrong values", None),
        },
    ),
    # The same against torch.optim over 20 steps (1e-12, atol 1e-14).
    "optimizer_step_off (trajectories)": NearMiss(
        "test_optimizer_trajectory_matches_torch_optim and (AdaGrad or AdaDelta)",
        {
            ("AdaGrad", "trajectory"): Cell(None, None, "wrong values", None),
            ("AdaDelta", "trajectory"): Cell(None, None, "wrong values", None),
        },
    ),
    # Only the hygiene check calls the backward twice and then looks back.
    "view_of_reused_buffer": NearMiss(
        CONV,
        _wrong(CONV, "backward", "aliased output", hygiene=(frozenset({"plain"}), FLOAT64)),
    ),
}

NEAR_PASSES = {
    "summation_order": "convolution2d or affine",
    "float32_rounding": "batch_normalization or average_pooling2d",
    "just_inside_tolerance": "affine",
    "step_booleans": "step",
}


@pytest.mark.parametrize("name", list(NEAR_MISSES))
def test_a_near_miss_fails_in_exactly_its_cells(name: str, tmp_path: Path) -> None:
    miss = NEAR_MISSES[name]
    module = name.split()[0]
    code, verdict, output = run_suite(
        f"tests.impls.near_misses.{module}", tmp_path, "-k", miss.select, *miss.args
    )
    assert code == 1, output[-3000:]
    assert not verdict["all_provided_pass"]
    assert set(failing(verdict)) == set(miss.cells), output[-3000:]
    for (op, check), want in miss.cells.items():
        cell = verdict["ops"][op][check]
        failures = cell["failures"]
        where = (op, check)
        if want.corners is None:
            assert cell["passed"] == 0 and cell["failed"] == len(failures) > 0, where
            expected = {(None, None)}
        else:
            expected = {(c, d) for c in want.corners for d in want.dtypes}
        assert {(f.get("corner"), f.get("dtype")) for f in failures} == expected, where
        assert len(failures) == cell["failed"], where  # one failure per failing test
        assert {f["kind"] for f in failures} == {want.kind}, where
        assert {f.get("function") for f in failures} == {want.function}, where


@pytest.mark.parametrize("name", list(NEAR_PASSES))
def test_a_near_pass_passes(name: str, tmp_path: Path) -> None:
    code, verdict, output = run_suite(
        f"tests.impls.near_passes.{name}", tmp_path, "-k", NEAR_PASSES[name]
    )
    assert code == 0, output[-3000:]
    assert verdict["all_provided_pass"] and not failing(verdict)
    compared = [
        (op, check)
        for op, checks in verdict["ops"].items()
        for check, cell in checks.items()
        if cell["status"] == "pass" and check in ("forward", "backward", "golden")
    ]
    assert compared, "the selection judged nothing"


# (module, ops): a wrong value, a mutated input, a shape, a boolean flipped,
# an output that is not an array
TRACEBACK_RUNS = {
    "near_misses.just_past_tolerance": "affine",
    "near_misses.input_moved_one_ulp": "flatten2d",
    "near_misses.extra_axis": "average_pooling2d",
    "near_misses.step_one_flipped": "step",
    "hostile.none_output": "max_pooling2d",
}


@pytest.mark.parametrize("module", list(TRACEBACK_RUNS))
def test_a_long_traceback_shows_the_test_not_the_judges_helpers(
    module: str, tmp_path: Path
) -> None:
    """``--tb long`` shows where the test failed and why, not the source of
    the judge's helpers that raised (their ``__tracebackhide__``): no frame
    of ``conformance/judging/`` on the terminal or in the failures file."""
    code, verdict, output = run_suite(f"tests.impls.{module}", tmp_path, "-k",
                                      TRACEBACK_RUNS[module], "--tb", "long")  # fmt: skip
    assert code == 1 and failing(verdict), output[-3000:]
    trace = (tmp_path / "failures.txt").read_text()
    assert "conformance/tests/" in output and "conformance/tests/" in trace  # frames are shown
    for text in (output, trace):
        frames = [line for line in text.splitlines() if "conformance/judging/" in line]
        assert not frames, frames[:5]
