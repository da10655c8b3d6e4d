"""Dtype rules: integer (and bool) inputs compute in float64, float32 stays
float32, float64 stays float64; the article's integer examples are exact."""

from __future__ import annotations

import numpy as np
import pytest

import refcnn
from refcnn import _scratch, convolution
from refcnn._conv_methods import CHANNEL_MAJOR_MAX_C, Banded, Columns, Geometry

U = np.arange(2 * 5 * 4 * 3).reshape(2, 5, 4, 3) % 7 - 3
W = np.arange(2 * 3 * 2 * 3).reshape(2, 3, 2, 3) % 5 - 2
B = np.array([1, -1])


def outputs(dtype) -> dict[str, np.ndarray]:
    u, w, b = U.astype(dtype), W.astype(dtype), B.astype(dtype)
    z = refcnn.convolution2d(u, w, b, padding=1, strides=(2, 1))
    dz = np.ones_like(z).astype(dtype)
    du, dW, db = refcnn.convolution2d_back(dz, u, w, b, padding=1, strides=(2, 1))
    pm = refcnn.max_pooling2d(u, 2, 1)
    pa = refcnn.average_pooling2d(u, 2, 1)
    f = refcnn.flatten2d(u)
    return {
        "convolution2d": z,
        "du": du,
        "dW": dW,
        "db": db,
        "max_pooling2d": pm,
        "max_pooling2d_back": refcnn.max_pooling2d_back(np.ones(pm.shape, dtype), u, pm, 2, 1),
        "average_pooling2d": pa,
        "average_pooling2d_back": refcnn.average_pooling2d_back(
            np.ones(pa.shape, dtype), u, pa, 2, 1
        ),
        "flatten2d": f,
        "flatten2d_back": refcnn.flatten2d_back(np.ones(f.shape, dtype), u, f),
        "conv": refcnn.conv(u[0, :, :, 0], w[0, :, :, 0]),
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (np.int64, np.float64),
        (np.int32, np.float64),
        (np.uint8, np.float64),
        (np.bool_, np.float64),
        (np.float32, np.float32),
        (np.float64, np.float64),
    ],
)
def test_output_dtype(given, expected) -> None:
    for name, value in outputs(given).items():
        assert value.dtype == expected, name


def test_integer_and_float64_inputs_agree_exactly() -> None:
    ints, floats = outputs(np.int64), outputs(np.float64)
    for name in ints:
        np.testing.assert_array_equal(ints[name], floats[name], err_msg=name)


# each formulation of the convolution (refcnn._conv_methods), chosen by shape
PATHS = {
    "banded": ((2, 9, 9, 8), (6, 3, 3, 8), Banded),
    "im2col, channels last": ((2, 9, 30, 8), (6, 3, 3, 8), Columns),
    "im2col, channel-major": ((2, 9, 30, 3), (6, 3, 3, 3), Columns),
}


def _takes(path: str, u_shape: tuple, w_shape: tuple, geometry: Geometry, formulation) -> None:
    """The path under test: the formulation this shape selects, and the
    im2col layout the path's name says."""
    assert convolution.method(u_shape, w_shape, geometry) is formulation
    assert (u_shape[3] <= CHANNEL_MAJOR_MAX_C) == path.endswith("channel-major")


def _apart_from_rounded(got: np.ndarray, exact: np.ndarray) -> float:
    """The share of elements where a float32 result differs from the float64
    one rounded to float32 (near 0: the work was done in float64 and cast)."""
    return float(np.mean(got != exact.astype(np.float32)))


@pytest.mark.parametrize("path", list(PATHS))
def test_float32_is_computed_in_float32_not_rounded_from_float64(path: str) -> None:
    """A float64 computation rounded to float32 is correctly rounded in every
    element; float32 arithmetic accumulates its own rounding errors and
    misses that in many. Results equal to the rounded float64 ones nearly
    everywhere would mean the work was done in float64 and cast."""
    u_shape, w_shape, formulation = PATHS[path]
    rng = np.random.default_rng(0)
    u = rng.standard_normal(u_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    # no bias: a bias added in float32 rounds once more and would hide a product
    # computed in float64; the forward is then the product alone
    b = np.zeros(w_shape[0], np.float32)
    out_hw = (u_shape[1] - w_shape[1] + 3, u_shape[2] - w_shape[2] + 3)
    geometry = Geometry(w_shape[1:3], (1, 1), (1, 1), out_hw, np.dtype(np.float32))
    _takes(path, u_shape, w_shape, geometry, formulation)
    wide = [a.astype(np.float64) for a in (u, w, b)]
    z32, z64 = refcnn.convolution2d(u, w, b, padding=1), refcnn.convolution2d(*wide, padding=1)
    back32 = refcnn.convolution2d_back(z32, u, w, b, padding=1)
    back64 = refcnn.convolution2d_back(z32.astype(np.float64), *wide, padding=1)
    for name, got, exact in (
        ("z", z32, z64),
        *zip(("du", "dW", "db"), back32, back64, strict=True),
    ):
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got, exact, rtol=1e-4, atol=1e-4 * np.abs(exact).max())
        if name != "db":  # a few sums of one product each may round alike
            share = _apart_from_rounded(got, exact)
            assert share > 0.05, f"{name}: float32 differs from rounded float64 in {share:.1%}"


@pytest.mark.parametrize("op", ["max_pooling2d", "average_pooling2d"])
def test_float32_pooling_gradients_add_up_in_float32(op: str) -> None:
    """Where windows overlap (4x4 windows, stride 1), an element's gradient
    is a sum of several shares; in float32 each addition rounds, so the sum
    differs from the rounded float64 one in many elements. A float32 result
    equal to the rounded float64 one nearly everywhere would mean the shares
    were added in float64 (twice the memory) and cast at the end. (A 4x4
    window's share dz/16 is exact in both precisions: only the adding differs.)"""
    forward, backward = getattr(refcnn, op), getattr(refcnn, f"{op}_back")
    rng = np.random.default_rng(3)
    u = rng.standard_normal((4, 14, 14, 3)).astype(np.float32)
    z = forward(u, pool_size=4, strides=1)
    dz = rng.standard_normal(z.shape).astype(np.float32)
    got = backward(dz, u, z, pool_size=4, strides=1)
    wide = [a.astype(np.float64) for a in (dz, u, z)]
    exact = backward(*wide, pool_size=4, strides=1)
    ones = backward(np.ones(z.shape), *wide[1:], pool_size=4, strides=1)
    shares = ones * 16 if op == "average_pooling2d" else ones  # how many windows add up there
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, rtol=1e-5, atol=1e-6)
    summed = shares >= 3
    assert summed.sum() > 100  # the draw gives enough elements to judge by
    share = _apart_from_rounded(got[summed], exact[summed])
    assert share > 0.1, f"{op}: float32 differs from rounded float64 in {share:.1%}"


def test_float32_average_pooling_gradient_adds_float32_shares() -> None:
    """float32 average pooling backward is the article's rule done in float32:
    an element in one window receives that window's share ``dz / 9`` rounded
    to float32; one in two windows (3x3 windows, stride 2: rows and columns
    2 and 4) the float32 sum of their two float32 shares (exactly, whatever
    the order). A share kept in float64 until it is added rounds differently."""
    rng = np.random.default_rng(4)
    u = rng.standard_normal((50, 7, 7, 4)).astype(np.float32)
    z = refcnn.average_pooling2d(u, pool_size=3, strides=2)
    dz = rng.standard_normal(z.shape).astype(np.float32)
    got = refcnn.average_pooling2d_back(dz, u, z, pool_size=3, strides=2)
    share = dz / np.float32(9)
    assert got.dtype == share.dtype == np.float32
    windows_of = {0: [0], 1: [0], 2: [0, 1], 3: [1], 4: [1, 2], 5: [2], 6: [2]}  # row or column
    judged = 0
    for r, rows in windows_of.items():
        for c, cols in windows_of.items():
            windows = [(i, j) for i in rows for j in cols]
            if len(windows) <= 2:
                (i, j), *rest = windows
                expected = share[:, i, j]
                for i, j in rest:
                    expected = expected + share[:, i, j]  # in float32
                np.testing.assert_array_equal(got[:, r, c], expected, err_msg=f"{r, c}")
                judged += len(windows) == 2
    assert judged == 20


# a 1x1 kernel: every element of z, du and dW is one dot product (over c, fn
# or the batch's positions), with nothing added after it
ONE_BY_ONE = {
    "banded": ((2, 6, 4, 6), (8, 1, 1, 6), Banded),
    "im2col, channels last": ((2, 9, 30, 16), (16, 1, 1, 16), Columns),
    "im2col, channel-major": ((2, 9, 30, 3), (16, 1, 1, 3), Columns),
}


@pytest.mark.parametrize("path", list(ONE_BY_ONE))
def test_float32_dot_products_are_float32_ones(path: str) -> None:
    """Each dot product of a float32 convolution, forward and backward, is
    a float32 one: it differs from the float64 one rounded to float32 in
    many elements. (A product of one float32 and one float64 argument, say
    W left wide in the backward, would be the rounded float64 one.)"""
    u_shape, w_shape, formulation = ONE_BY_ONE[path]
    geometry = Geometry((1, 1), (0, 0), (1, 1), u_shape[1:3], np.dtype(np.float32))
    _takes(path, u_shape, w_shape, geometry, formulation)
    rng = np.random.default_rng(2)
    u = rng.standard_normal(u_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = np.zeros(w_shape[0], np.float32)
    z = refcnn.convolution2d(u, w, b)
    dz = rng.standard_normal(z.shape).astype(np.float32)
    du, dW, _ = refcnn.convolution2d_back(dz, u, w, b)
    wide = [a.astype(np.float64) for a in (dz, u, w, b)]
    z64 = refcnn.convolution2d(*wide[1:])
    du64, dW64, _ = refcnn.convolution2d_back(*wide)
    for name, got, exact in (("z", z, z64), ("du", du, du64), ("dW", dW, dW64)):
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got, exact, rtol=1e-4, atol=1e-4 * np.abs(exact).max())
        share = _apart_from_rounded(got, exact)
        assert share > 0.1, f"{name}: float32 differs from rounded float64 in {share:.1%}"


def test_float32_data_with_integer_weights_stays_float32() -> None:
    z = refcnn.convolution2d(U.astype(np.float32), W, B)
    assert z.dtype == np.float32


ARGUMENTS = {  # op -> the floating arguments of its call, in order
    "convolution2d_back": ("dz", "u", "W", "b"),
    "max_pooling2d_back": ("dz", "u"),
    "average_pooling2d_back": ("dz", "u"),
    "flatten2d_back": ("dz", "u"),
}


@pytest.mark.parametrize(
    ("op", "wide"), [(op, name) for op, names in ARGUMENTS.items() for name in names]
)
def test_one_float64_argument_makes_the_results_float64(op: str, wide: str) -> None:
    """Mixed float32 and float64 arguments compute in their promotion (as
    NumPy's and torch's arithmetic do), whichever argument is the wide one."""

    def make(name: str, value: np.ndarray) -> np.ndarray:
        return value.astype(np.float64 if name == wide else np.float32)

    u, w, b = make("u", U), make("W", W), make("b", B)
    if op == "convolution2d_back":
        z = refcnn.convolution2d(u, w, b, padding=1)
        assert z.dtype == (np.float32 if wide == "dz" else np.float64)
        results = refcnn.convolution2d_back(make("dz", np.ones(z.shape)), u, w, b, padding=1)
    else:
        forward_op = getattr(refcnn, op.removesuffix("_back"))
        z = forward_op(u)
        results = (getattr(refcnn, op)(make("dz", np.ones(z.shape)), u, z),)
    for result in results:
        assert result.dtype == np.float64, op


@pytest.mark.parametrize("wide", ["u", "f"])
@pytest.mark.parametrize("step", ["conv", "convpscfu"])
def test_the_step_functions_compute_in_the_promotion_of_u_and_f(step: str, wide: str) -> None:
    """The article's step functions (no bias) promote as the layer does: one
    float64 argument of the two makes a float64 result."""
    u, f = (U[0, :, :, 0], W[0, :, :, 0]) if step == "conv" else (U, W)
    u = u.astype(np.float64 if wide == "u" else np.float32)
    f = f.astype(np.float64 if wide == "f" else np.float32)
    assert getattr(refcnn, step)(u, f).dtype == np.float64


@pytest.mark.parametrize("path", list(PATHS))
def test_float32_keeps_its_large_intermediates_in_float32(path: str) -> None:
    """float32 halves the memory of the im2col columns, the padded copies and
    the gradient's shares (refcnn._scratch): none of them is float64, on any
    formulation, forward or backward."""
    u_shape, w_shape, _ = PATHS[path]
    rng = np.random.default_rng(1)
    u = rng.standard_normal(u_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = np.zeros(w_shape[0], np.float32)
    buffers = _scratch.local()
    buffers._arrays.clear()  # the calls below run on this thread, into its buffers
    z = refcnn.convolution2d(u, w, b, padding=1)
    refcnn.convolution2d_back(z, u, w, b, padding=1)
    kept = list(buffers._arrays)  # (name, dtype) pairs
    assert len(kept) >= 4 and all(dtype == "<f4" for _, dtype in kept), kept
