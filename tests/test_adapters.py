"""``from_autodiff`` with a framework other than torch, and its conversions:
the dtype kept (with a warning when the framework computed in another),
results of any array type, a vjp that returns the wrong number of
gradients, a bad ``vjp``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import refcnn
from refcnn.conformance.adapters import from_autodiff, to_numpy


class Boxed:
    """A toy array library: values in a box that exposes them by DLPack only."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = np.asarray(array)

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def _boxed_average_pool(u: Boxed, *, pool_size, padding, strides) -> Boxed:
    return Boxed(refcnn.average_pooling2d(u.array, pool_size, padding, strides))


def _boxed_vjp_of(params: dict):
    """The toy library's vjp: refcnn's backward (it knows the op)."""

    def vjp(function, primals, cotangent):
        (u,) = primals
        z = function(u).array
        return [Boxed(refcnn.average_pooling2d_back(cotangent.array, u.array, z, **params))]

    return vjp


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_callable_vjp_and_dlpack_results(dtype: str) -> None:
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2, 5, 4, 3)).astype(dtype)
    params = {"pool_size": 2, "padding": 1, "strides": 2}
    forward, backward = from_autodiff(
        "average_pooling2d",
        _boxed_average_pool,
        vjp=_boxed_vjp_of(params),
        to_framework=Boxed,
    )
    z = forward(u, padding=1)
    expected = refcnn.average_pooling2d(u, 2, 1, 2)
    assert isinstance(z, np.ndarray) and z.dtype == dtype
    np.testing.assert_array_equal(z, expected)
    dz = rng.standard_normal(z.shape).astype(dtype)
    du = backward(dz, u, z, padding=1)
    np.testing.assert_array_equal(du, refcnn.average_pooling2d_back(dz, u, z, 2, 1, 2))


def test_another_dtype_is_converted_back_with_a_warning() -> None:
    forward, _ = from_autodiff(
        "flatten2d", lambda u: u.reshape(u.shape[0], -1).astype(np.float32), vjp=lambda *a: []
    )
    u = np.arange(24.0).reshape(2, 3, 2, 2)
    with pytest.warns(RuntimeWarning, match="computed in float32 for float64 inputs"):
        z = forward(u)
    assert z.dtype == np.float64
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per function and dtypes
        forward(u)


def test_torch_layouts_and_defaults() -> None:
    torch = pytest.importorskip("torch")
    seen = {}

    def conv(u, W, b, **params):
        seen.update(params, u=u.shape, W=W.shape, strides_u=u.stride())
        return torch.nn.functional.conv2d(u, W, b, stride=params["strides"])

    forward, backward = from_autodiff(
        "convolution2d", conv, vjp="torch", data="NCHW", filters="OIHW"
    )
    rng = np.random.default_rng(1)
    u, W, b = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    z = forward(u, W, b)
    assert seen["padding"] == 0 and seen["strides"] == 1  # the article's defaults
    assert seen["u"] == (2, 3, 5, 5) and seen["W"] == (4, 3, 3, 3)
    assert seen["strides_u"] == (75, 25, 5, 1)  # an ordinary contiguous tensor
    np.testing.assert_allclose(z, refcnn.convolution2d(u, W, b), rtol=1e-12, atol=1e-12)
    dz = rng.standard_normal(z.shape)
    du, dW, db = backward(dz, u, W, b)
    for got, want in zip((du, dW, db), refcnn.convolution2d_back(dz, u, W, b), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # 1x1 spatial: NumPy's NCHW view of it is flagged contiguous, with strides
    # (c, 1, c, c); torch gets a tensor of its own with the ordinary ones
    forward(rng.standard_normal((2, 1, 1, 3)), rng.standard_normal((4, 1, 1, 3)), b)
    assert seen["strides_u"] == (3, 1, 1, 1)


def test_wrong_vjp_arguments() -> None:
    with pytest.raises(ValueError, match="vjp must be a callable or one of"):
        from_autodiff("flatten2d", lambda u: u, vjp="jax")
    with pytest.raises(TypeError, match="vjp must be a callable or a name"):
        from_autodiff("flatten2d", lambda u: u, vjp=3)
    _, backward = from_autodiff("flatten2d", lambda u: u, vjp=lambda f, p, c: [c, c])
    u = np.zeros((1, 2, 2, 1))
    with pytest.raises(ValueError, match="vjp returned 2 gradients for 1 inputs"):
        backward(np.zeros((1, 4)), u, np.zeros((1, 4)))


def test_to_numpy_takes_any_array_type() -> None:
    torch = pytest.importorskip("torch")
    t = torch.ones(3, requires_grad=True) * 2
    np.testing.assert_array_equal(to_numpy(t), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(to_numpy(Boxed(np.arange(3))), [0, 1, 2])
    assert to_numpy([1, 2], hook=lambda v: np.asarray(v) * 2).tolist() == [2, 4]
