"""Unit tests of the judge's comparisons (``pytest -m judge``): the value
comparison at its documented line (``|got - expected| <= rtol * max(1,
max|expected|)``, rtol 1e-10 in float64 and 1e-4 in float32, batch
normalization 1e-3 in float32; docs/reference.md), shapes before values,
NaN, non-numeric outputs, dtypes, the gradients' bookkeeping, input
hygiene to the bit, outputs of their own, finite differences and the
reproduction snippet. The expected values here come from the docs and
from arithmetic, not from the code under test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refcnn.conformance.expected import tolerances as tol
from refcnn.conformance.inputs import op_table as ot
from refcnn.conformance.judging import checks as ch
from refcnn.conformance.judging import finite_differences as fd
from refcnn.conformance.judging import hygiene as hy
from refcnn.conformance.judging.checks import ConformanceError
from refcnn.conformance.verdict import snippets as sn

pytestmark = pytest.mark.judge


def _repro() -> str:
    return "snippet"


def close(got, expected, rtol=1e-10, **kwargs) -> bool:
    return ch.assert_close(got, np.asarray(expected, dtype=float), rtol, "op forward", _repro,
                           **kwargs)  # fmt: skip


def failure(got, expected, rtol=1e-10, **kwargs) -> ConformanceError:
    with pytest.raises(ConformanceError) as info:
        close(got, expected, rtol, **kwargs)
    return info.value


# --- the documented tolerances ---------------------------------------------------


def test_the_documented_tolerances() -> None:
    assert tol.rtol_for("float64") == 1e-10 and tol.rtol_for(np.float32) == 1e-4
    batch_norm = ot.BY_NAME["batch_normalization"].rtol
    assert tol.rtol_for("float32", batch_norm) == 1e-3
    assert tol.rtol_for("float64", batch_norm) == 1e-10  # no override in float64
    for op in ot.OPS:  # every other op uses the defaults
        if op.name not in ("batch_normalization", "batch_normalization_inference"):
            assert tol.rtol_for("float32", op.rtol) == 1e-4, op.name


@pytest.mark.parametrize("rtol", [1e-10, 1e-4, 1e-3])
@pytest.mark.parametrize("top", [0.25, 1.0, 8.0, 1e6])
def test_the_line_is_rtol_times_the_larger_of_one_and_the_largest_expected(rtol, top) -> None:
    expected = np.array([0.0, -top, top / 2])
    scale = max(1.0, top)
    line = rtol * scale
    inside = expected.copy()
    inside[0] = 0.99 * line  # the first element, where expected is 0
    assert close(inside, expected, rtol) is True
    past = expected.copy()
    past[2] += 1.01 * line
    message = failure(past, expected, rtol).message
    assert failure(past, expected, rtol).kind == "wrong values"
    assert "worst element at index (2,)" in message and f"tolerance {line:.3g}" in message


def test_the_largest_difference_decides_wherever_it_is() -> None:
    expected = np.zeros((3, 4, 5))
    got = expected.copy()
    got[2, 3, 4] = 3e-10  # the last element
    got[0, 0, 0] = 5e-11  # inside the line: not the worst
    error = failure(got, expected)
    assert error.message.startswith("worst element at index (2, 3, 4): expected 0.0, got 3e-10")
    assert ch.worst_element(got, expected) == ((2, 3, 4), pytest.approx(3e-10))


def test_a_nan_where_none_is_expected_is_the_worst_difference() -> None:
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] = np.nan
    got[0, 0] = 100.0
    assert ch.worst_element(got, expected) == ((1, 2), np.inf)
    error = failure(got, expected)
    assert error.kind == "wrong values" and "index (1, 2)" in error.message
    assert "got nan" in error.message


def test_infinities_are_differences_too() -> None:
    expected = np.ones(3)
    got = expected.copy()
    got[1] = np.inf
    assert failure(got, expected).kind == "wrong values"
    assert ch.worst_element(-got, -expected) == ((1,), np.inf)


# --- shapes, types and dtypes ----------------------------------------------------


@pytest.mark.parametrize(
    "got",
    [np.zeros((1, 2, 3)), np.zeros((2, 1)), np.zeros((3, 2)), np.zeros(6), np.zeros(())],
    ids=["extra axis", "broadcasts", "transposed", "flat", "scalar"],
)
def test_a_shape_that_is_not_the_expected_one_fails_before_values(got) -> None:
    error = failure(got, np.zeros((2, 3)))
    assert error.kind == "wrong shape"
    assert error.message.startswith(f"shape {got.shape}, expected (2, 3)")


@pytest.mark.parametrize(
    ("got", "says"),
    [
        (None, "returned None (a missing return?)"),
        (np.array([object(), object()]), "returned an object array"),
        (object(), "returned an object array"),
        ([[1.0, 2.0], [3.0]], "returned list, not an array"),
    ],
)
def test_what_is_not_an_array_of_numbers_is_a_wrong_shape(got, says) -> None:
    error = failure(got, np.zeros(2))
    assert error.kind == "wrong shape" and error.message.startswith(says), error.message


def test_lists_and_python_floats_are_compared_as_arrays() -> None:
    assert close([1.0, 2.0], [1.0, 2.0]) is True
    assert close(2.0, np.float64(2.0), dtype="float64") is True  # a loss: no dtype to check
    assert failure([1.0, 2.5], [1.0, 2.0]).kind == "wrong values"


def test_booleans_and_other_non_numbers_must_equal_exactly() -> None:
    expected = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert close(expected > 0.5, expected) is True
    flipped = expected > 0.5
    flipped[1, 1] = True
    error = failure(flipped, expected)
    assert error.kind == "wrong dtype"
    assert "first at index (1, 1): expected 0.0, got True" in error.message
    complex_ = expected.astype(complex)
    assert close(complex_, expected) is True
    complex_[0, 0] = 1e-12j  # complex values are not rounded into a pass
    assert failure(complex_, expected).kind == "wrong dtype"
    assert failure(expected.astype(str), expected).kind == "wrong dtype"


def test_a_required_dtype_is_checked_before_values() -> None:
    expected = np.ones(3)
    error = failure(expected.astype(np.float32), expected, dtype="float64")
    assert error.kind == "wrong dtype" and error.message == "dtype float32, expected float64"
    assert close(expected.astype(np.float32), expected, rtol=1e-4) is True  # no policy: values
    narrowed = failure(np.full(3, 1 / 3, np.float32), np.full(3, 1 / 3), input_dtype="float64")
    assert narrowed.message.endswith("(output dtype float32, input dtype float64)")


def test_empty_outputs_compare_shapes_only() -> None:
    assert close(np.zeros((0, 3)), np.zeros((0, 3))) is False
    assert failure(np.zeros((0, 2)), np.zeros((0, 3))).kind == "wrong shape"


# --- gradients -------------------------------------------------------------------


def _gradients(result, params=None, checked=()):
    op = ot.BY_NAME["convolution2d"]
    u, W, b = np.ones((2, 3, 3, 1)), np.ones((1, 2, 2, 1)), np.zeros(1)
    values = {"u": u, "W": W, "b": b, "dz": np.ones((2, 2, 2, 1))}
    expected = {"u": np.ones_like(u), "W": np.ones_like(W), "b": np.ones_like(b)}

    class Impl:
        name, is_reference = "mine", False

    return ch.check_gradients(
        Impl(), op, result, expected, values, params or {}, 1e-10, "ctx", checked=checked
    )


def test_every_gradient_is_compared_and_du_is_skipped_only_without_calc_du_flag() -> None:
    right = (np.ones((2, 3, 3, 1)), np.ones((1, 2, 2, 1)), np.ones(1))
    assert _gradients(right) is True
    for position, name in enumerate(("u", "W", "b")):
        wrong = list(right)
        wrong[position] = right[position] * 2
        with pytest.raises(ConformanceError, match=f"backward d{name}") as info:
            _gradients(tuple(wrong))
        assert (info.value.function, info.value.gradient) == ("backward", name)
    garbage_du = ("not an array", *right[1:])
    assert _gradients(garbage_du, {"calc_du_flag": False}) is True
    with pytest.raises(ConformanceError, match="backward dW"):
        _gradients((None, right[1] * 2, right[2]), {"calc_du_flag": False})
    with pytest.raises(ConformanceError, match="backward du"):
        _gradients(garbage_du, {"calc_du_flag": True})
    assert not ch.skipped_gradient("W", {"calc_du_flag": False})
    assert not ch.skipped_gradient("u", {})


def test_the_wrong_number_of_gradients_is_a_wrong_shape() -> None:
    with pytest.raises(ConformanceError, match=r"must return 3 gradients \(du, dW, db\)") as info:
        _gradients((np.ones((2, 3, 3, 1)), np.ones((1, 2, 2, 1))))
    assert info.value.kind == "wrong shape" and info.value.function == "backward"


def test_gradients_found_right_another_way_are_not_compared_again() -> None:
    right = (np.ones((2, 3, 3, 1)), np.ones((1, 2, 2, 1)), np.ones(1))
    wrong_b = (*right[:2], np.zeros(1))
    assert _gradients(wrong_b, checked={"b"}) is True
    with pytest.raises(ConformanceError, match="backward db"):
        _gradients(wrong_b, checked={"u"})


# --- hygiene -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_input_moved_by_one_ulp_is_mutated(dtype: str) -> None:
    original = np.linspace(-1, 1, 12, dtype=dtype).reshape(3, 4)
    handed = original.copy()
    hy.assert_unchanged({"u": handed}, {"u": original}, "op", _repro, {})
    handed[2, 3] = np.nextafter(handed[2, 3], np.inf)
    with pytest.raises(ConformanceError, match=r"changed its input u \(1 of 12 elements\)") as info:
        hy.assert_unchanged({"u": handed}, {"u": original}, "op", _repro, {})
    assert info.value.kind == "mutated input"


def test_nan_inputs_left_alone_are_unchanged_and_a_reshape_is_a_change() -> None:
    original = np.array([np.nan, 1.0, -0.0])
    hy.assert_unchanged({"u": original.copy()}, {"u": original}, "op", _repro, {})
    handed = original.copy()
    handed.shape = (3, 1)
    with pytest.raises(ConformanceError, match=r"the shape of its input u, \(3,\) -> \(3, 1\)"):
        hy.assert_unchanged({"u": handed}, {"u": original}, "op", _repro, {})
    handed = original.copy()
    handed[0] = 2.0  # a NaN overwritten
    with pytest.raises(ConformanceError, match=r"\(1 of 3 elements\)"):
        hy.assert_unchanged({"u": handed}, {"u": original}, "op", _repro, {})


@pytest.mark.parametrize(
    ("dtype", "retyped"),
    [("float64", "<U2"), ("float64", "int64"), ("float32", "<U1"), ("float32", "int32")],
)
def test_an_input_whose_bytes_are_reinterpreted_is_mutated(dtype: str, retyped: str) -> None:
    """``u.dtype = ...`` in place: the same memory read as other values,
    strings among them, is a change of its dtype, not a crash of the check."""
    original = np.array([np.nan, 1.0, -0.0], dtype=dtype)
    handed = original.copy()
    handed.dtype = np.dtype(retyped)
    with pytest.raises(ConformanceError, match=rf"the dtype of its input u, {dtype} -> ") as info:
        hy.assert_unchanged({"u": handed}, {"u": original}, "op", _repro, {})
    assert info.value.kind == "mutated input"
    assert str(np.dtype(retyped)) in info.value.message


def _observed(u: np.ndarray):
    """What the worker reports of an output (the input it is, the input it
    shares memory with, its type's name), observed here on u alone."""
    return lambda out: (u if out is u else None, u if np.shares_memory(out, u) else None, "")


def test_an_output_that_is_an_input_or_a_view_of_one() -> None:
    u = np.arange(6.0)
    facts = _observed(u)
    with pytest.raises(ConformanceError, match="the output z is the input u itself") as info:
        hy.assert_owns_memory({"z": u}, {"u": u}, "op", _repro, {}, facts=facts)
    assert info.value.kind == "aliased output"
    hy.assert_owns_memory({"z": u}, {"u": u}, "identity", _repro, {}, facts=facts, passthrough=True)
    view = u.reshape(2, 3)
    hy.assert_owns_memory({"z": view}, {"u": u}, "op", _repro, {}, facts=facts)  # views allowed
    with pytest.raises(ConformanceError, match="shares memory with the input u"):
        hy.assert_owns_memory({"z": view}, {"u": u}, "op", _repro, {}, facts=facts, views=True)
    hy.assert_owns_memory({"z": u.copy()}, {"u": u}, "op", _repro, {}, facts=facts, views=True)
    hy.assert_owns_memory({"z": u}, {"u": u}, "op", _repro, {}, facts=lambda out: None)


def test_a_buffer_handed_out_again_through_a_new_view_is_caught() -> None:
    buffer = np.zeros(6)
    first = buffer.reshape(2, 3)  # a new object over the same memory
    kept = {"dW": hy.snapshot(first)}
    hy.assert_kept({"dW": first}, kept, "op", _repro, {})
    buffer[5] = np.nextafter(0.0, 1.0)  # the second call writes the smallest change
    with pytest.raises(ConformanceError, match="changed the first call's dW") as info:
        hy.assert_kept({"dW": first}, kept, "op", _repro, {})
    assert info.value.kind == "aliased output"


# --- finite differences ----------------------------------------------------------------


def test_finite_differences_of_a_known_loss() -> None:
    """loss = sum(a * x**3): gradient 3 a x**2, to ~step**2."""
    rng = np.random.default_rng(0)
    a, x = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))

    def loss(arrays):
        return float(np.sum(a * arrays["x"] ** 3))

    grad = fd.finite_difference_gradient(loss, {"x": x}, "x")
    np.testing.assert_allclose(grad, 3 * a * x**2, rtol=0, atol=1e-8)
    assert fd.directions_agree(loss, {"x": x}, "x", 3 * a * x**2, rng)
    for position in np.ndindex(x.shape):  # one element off by 1e-4: seen along the directions
        off = 3 * a * x**2
        off[position] += 1e-4
        assert not fd.directions_agree(loss, {"x": x}, "x", off, rng), position
    nan = 3 * a * x**2
    nan[1, 2] = np.nan
    assert not fd.directions_agree(loss, {"x": x}, "x", nan, rng)
    assert not fd.directions_agree(loss, {"x": x}, "x", (3 * a * x**2)[None], rng)


def test_a_unit_direction_reaches_every_element() -> None:
    d = fd.unit_direction(np.random.default_rng(1), (4, 5))
    assert np.linalg.norm(d) == pytest.approx(1.0)
    assert np.abs(d).min() >= 0.5 / np.sqrt(20) * 0.999


# --- the reproduction snippet ---------------------------------------------------------------


def _runs(snippet: str, got) -> bool:
    """Whether ``snippet`` passes with ``got`` as the implementation's result."""
    source = snippet.replace("from mine import f", "f = lambda u: got")
    try:
        exec(source, {"got": got})
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize(
    ("got", "passes"),
    [
        (np.array([[1.0, 2.0]]), True),
        (np.array([[1.0, 2.0]])[None], False),  # broadcasts against the expected
        (np.array([[1.0, 2.0 + 2e-10]]), False),
        (np.array([[np.nan, 2.0]]), False),
    ],
    ids=["right", "extra axis", "past the line", "nan"],
)
def test_the_snippet_fails_exactly_where_the_check_does(got, passes: bool) -> None:
    expected = np.array([[1.0, 2.0]])
    snippet = sn.reproduction("mine", "f", {"u": expected}, "f(u)", expected, 1e-10)
    assert _runs(snippet, got) is passes
    if passes:
        close(got, expected)
    else:
        failure(got, expected)


def test_the_judge_imports_without_a_warning() -> None:
    """Every module of the judge, imported afresh with warnings as errors:
    a deprecation there is a judge that a coming NumPy or torch breaks
    (``np.finfo(None)``, read today as float64's, will raise)."""
    suite = Path(tol.__file__).resolve().parents[1]
    names = sorted(
        "refcnn.conformance." + ".".join(path.relative_to(suite).with_suffix("").parts)
        for folder in ("inputs", "expected", "judging", "verdict")
        for path in (suite / folder).glob("*.py")
        if path.name != "__init__.py"
    )
    assert len(names) > 20 and "refcnn.conformance.expected.tolerances" in names
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    run = subprocess.run([sys.executable, "-W", "error", "-c", code, *names],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_causes_title_keeps_a_short_message_and_cuts_a_long_one_at_120() -> None:
    """A cause's title (the terminal's "cause k of n" line) holds the
    exception's message whole up to 120 characters; a longer one is cut to
    117 and "...", so the line stays short."""
    from refcnn.conformance.verdict import causes

    short = "ValueError: shapes (2,3) and (4,) not aligned"
    title = causes._title("affine", "forward", {"kind": "raised", "message": short})
    assert title.startswith("affine: ") and title.endswith(short)
    exact = "x" * 120
    assert causes._title("affine", "forward", {"kind": "raised", "message": exact}).endswith(exact)
    long = "y" * 121
    cut = causes._title("affine", "forward", {"kind": "raised", "message": long})
    assert cut.endswith("y" * 117 + "...") and "y" * 118 not in cut
