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
    assert convolution.method(u_shape, w_shape, geometry) is formulation  # the path under test
    assert (u_shape[3] <= CHANNEL_MAJOR_MAX_C) == path.endswith("channel-major")
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
            share = np.mean(got != exact.astype(np.float32))
            assert share > 0.05, f"{name}: float32 differs from rounded float64 in {share:.1%}"


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
