"""The explanation of a failing cell: the hints' mutants, the search for the
smallest failing example (never on a correct implementation), the matrices
as printed, and the search's budget against an implementation that hangs.

Which planted bug gets which hint, and how small its example is, is checked
where the suite runs on each of them: ``tests/test_harness.py``."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refcnn
from refcnn.conformance.expected import oracle as orc
from refcnn.conformance.inputs import op_table as ot
from refcnn.conformance.judging import checks as ch
from refcnn.conformance.judging import explain as ex
from refcnn.conformance.running import implementation as im
from refcnn.conformance.verdict import hints as hn
from refcnn.conformance.verdict import matrices as mx
from tests.test_harness import ROOT, run_suite

HINTED = [op for op in ot.OPS if any(op.name in rule.ops for rule in hn.RULES)]
BROKEN = ROOT / "tests" / "impls" / "broken"


def _reference(op: ot.Op, sample, dz) -> dict[str, np.ndarray]:
    """refcnn's outputs by name: z and the gradients by input name."""
    forward = ot.forward_params(op, sample)
    z = getattr(refcnn, op.forward)(*(sample.arrays[k] for k in op.inputs), **forward)
    if op.backward is None:
        return {"z": z}
    values = {**sample.arrays, "z": z, "dz": dz}
    grads = getattr(refcnn, op.backward)(*(values[k] for k in op.backward_args), **forward)
    grads = grads if isinstance(grads, tuple) else (grads,)
    return {"z": z, **dict(zip(op.grads, grads, strict=True))}


@pytest.mark.parametrize("op", HINTED, ids=str)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutants_without_a_mistake_are_the_article(op: ot.Op, data) -> None:
    """The hints' window loops, with no mistake switched on, give refcnn's
    outputs in every corner; and no rule fits an implementation that gives
    them (a correct implementation never gets a hint)."""
    corner = data.draw(st.sampled_from([c for c in op.corners if c != "empty batch"]))
    sample = data.draw(op.strategy("float64", corner))
    forward = ot.forward_params(op, sample)
    z = getattr(refcnn, op.forward)(*(sample.arrays[k] for k in op.inputs), **forward)
    dz = np.random.default_rng(0).standard_normal(np.shape(z))
    right = _reference(op, sample, dz)
    if op.name != "flatten2d":
        loops = hn._layer(op.name, sample.arrays, forward, dz)
        for name, value in right.items():
            assert hn._same(loops[name], value), (name, sample)
    for check in ("forward", "backward") if op.backward else ("forward",):
        names = ["z"] if check == "forward" else list(op.grads)
        case = hn.Case(
            sample.arrays, forward, dz, {k: right[k] for k in names}, {k: right[k] for k in names}
        )
        assert hn.match(op.name, check, [case]) is None


def test_every_rule_names_planted_bugs_that_exist() -> None:
    names = [rule.name for rule in hn.RULES]
    assert len(names) == len(set(names))
    for rule in hn.RULES:
        assert rule.planted and rule.text and rule.checks
        for module in rule.planted:
            assert (BROKEN / f"{module}.py").exists(), (rule.name, module)
        assert set(rule.ops) <= set(ot.BY_NAME), rule.name


@pytest.fixture(scope="module")
def refcnn_impl() -> im.Implementation:
    return im.load("refcnn", strict=False)


@pytest.mark.parametrize(
    ("op", "check", "params", "shapes"),
    [
        ("max_pooling2d", "backward", {"pool_size": 2, "strides": 1}, {"u": (2, 4, 5, 3)}),
        ("average_pooling2d", "forward", {"pool_size": 3, "padding": 1}, {"u": (1, 4, 4, 2)}),
        (
            "convolution2d",
            "backward",
            {"padding": (1, 0)},
            {"u": (2, 5, 4, 2), "W": (3, 2, 3, 2), "b": (3,)},
        ),
    ],
)
def test_a_correct_implementation_has_no_smaller_failing_example(
    op: str, check: str, params: dict, shapes: dict, refcnn_impl
) -> None:
    """Handed a failure that refcnn does not have, the search finds no
    example of it, and so no hint: it fires only where the implementation
    really differs."""
    entry = ot.BY_NAME[op]
    rng = np.random.default_rng(1)
    arrays = {k: rng.standard_normal(s) for k, s in shapes.items()}
    explainer = ex.Explainer(refcnn_impl, entry, orc.make_oracle(), "float64", None, 2.0)
    sample = ex.Sample(arrays, params, "test", "mixed")
    explainer.saw(sample)
    gradient = " du" if check == "backward" else ""
    failure = ch.ConformanceError("wrong values", f"{op} {check}{gradient} (test)", "made up")
    explainer.explain(failure, check)
    assert failure.minimal is None and failure.hint == "", failure.as_dict()


MINIMAL = {
    "check": "backward",
    "call": "max_pooling2d_back(dz, u, z, pool_size=2, strides=1)",
    "params": {"pool_size": 2, "strides": 1},
    "inputs": {"u": [[[[0], [1], [2]], [[3], [4], [5]]]]},
    "dz": [[[[1], [1]]]],
    "expected": {"du": [[[[0], [0], [0]], [[0], [1], [1]]]]},
    "got": {"du": [[[[0], [0], [0]], [[0], [0], [1]]]]},
    "message": "wrong values: worst element at index (0, 1, 1, 0)",
    "tried": 7,
    "seconds": 0.1,
}


def test_printed_matrices_mark_exactly_the_differing_cells() -> None:
    lines = mx.explanation_lines(MINIMAL, "a hint")
    text = "\n".join(lines)
    assert "u[0,:,:,0]" in text and "dz[0,:,:,0]" in text and "du[0,:,:,0] expected" in text
    assert "[ 0  1  2 ]" in text and "[ 3  4  5 ]" in text  # u, the article's way
    marked = re.findall(r"\*\s*-?\d+\*", text)
    expected = np.array(MINIMAL["expected"]["du"])
    got = np.array(MINIMAL["got"]["du"])
    assert len(marked) == int((expected != got).sum()) == 1
    assert "[ 0 *0* 1 ]" in text
    assert lines[-1] == "  looks like: a hint"


def test_matrices_of_other_shapes() -> None:
    """Filters per (filter, channel), vectors as one row, an output of the
    wrong shape shown whole beside the expected one."""
    lines = mx.inputs_lines({"W": np.arange(8).reshape(2, 2, 1, 2).tolist(), "b": [1, 2]})
    text = "\n".join(lines)
    for title in ("W[0,:,:,0]", "W[0,:,:,1]", "W[1,:,:,0]", "W[1,:,:,1]", "b"):
        assert title in text
    assert "[ 1  2 ]" in text
    padded = "\n".join(mx.padded_lines([[[[1]]]], {"pool_size": 2, "padding": (1, 0)}))
    assert "u padded[0,:,:,0]" in padded and padded.count("[ 0 ]") == 2 and "[ 1 ]" in padded
    assert mx.padded_lines([[[[1]]]], {"padding": 0}) == []
    raised = "\n".join(mx.outputs_lines({"du": [[[[0.25]]]]}, {}))  # it raised: nothing got
    assert "du[0,:,:,0] expected" in raised and "0.25" in raised and "got" not in raised
    lines = mx.outputs_lines({"z": [[[[1.5]]]]}, {"z": [[[[1.5], [0.0]]]]})
    assert "z: expected shape (1, 1, 1, 1), got shape (1, 1, 2, 1)" in lines[0]
    assert "1.5" in "\n".join(lines)


def test_small_lists_are_integers_where_whole() -> None:
    assert ex.small_list(np.array([[1.0, -2.0]], dtype=np.float32)) == [[1, -2]]
    assert ex.small_list(np.array([0.5, 1 / 3])) == [0.5, 0.333333]
    assert ex.small_list(None) is None
    # complex values keep their imaginary part (and raise no ComplexWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ex.small_list(np.array([1 + 2j, 0.5])) == ["1+2j", "0.5+0j"]


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_hang_in_the_search_keeps_the_cells_verdict(workers: str, tmp_path: Path) -> None:
    """An implementation that never returns on the search's integer inputs:
    the budget's timer interrupts it, the cell keeps its failure (wrong
    values, not timed out) and says the search found nothing in time."""
    budget = 1.0
    start = time.monotonic()
    code, verdict, output = run_suite(
        "tests.impls.hostile.hangs_on_integers", tmp_path, "-n", workers,
        "-k", "max_pooling2d and test_forward and plain",
        "--explain-budget", str(budget), "--timeout", "60",
    )  # fmt: skip
    seconds = time.monotonic() - start
    assert code == 1, output[-3000:]
    failure = verdict["ops"]["max_pooling2d"]["forward"]["corners"]["plain"]["failure"]
    assert failure["kind"] == "wrong values", failure
    assert "minimal" not in failure and "hint" not in failure
    assert "within its budget (1 s)" in failure["explanation_error"]
    assert seconds < 60, seconds  # two cells of 1.5 s at most each, not the 60 s timeout
