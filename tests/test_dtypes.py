"""Dtype rules: integer (and bool) inputs compute in float64, float32 stays
float32, float64 stays float64; the article's integer examples are exact."""

from __future__ import annotations

import numpy as np
import pytest

import refcnn

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


def test_float32_is_computed_in_float32_not_rounded_from_float64() -> None:
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2, 9, 9, 3)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    z32 = refcnn.convolution2d(u, w, np.zeros(4, np.float32))
    z64 = refcnn.convolution2d(u.astype(np.float64), w.astype(np.float64), np.zeros(4))
    assert z32.dtype == np.float32
    np.testing.assert_allclose(z32, z64, rtol=1e-5, atol=1e-5)


def test_float32_data_with_integer_weights_stays_float32() -> None:
    z = refcnn.convolution2d(U.astype(np.float32), W, B)
    assert z.dtype == np.float32
