"""refcnn as an oracle on non-finite input: a NaN or an inf reaches exactly the
outputs (and gradients) it reaches in torch, through every formulation of
the convolution (banded and im2col) and through pooling (float64 and float32), forward and
backward. The masks of non-finite elements are compared, and the finite
elements' values. (Whether such an element is NaN or inf may differ: an inf
that meets a padded zero gives NaN where the zero is multiplied, as in
im2col, and stays inf where the padding is skipped.)"""

from __future__ import annotations

import numpy as np
import pytest

import refcnn
from refcnn import convolution
from refcnn._args import as_pair
from refcnn._conv_methods import Banded, Columns, Geometry
from refcnn.pool import tiles

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN and inf arithmetic
torch = pytest.importorskip("torch")
from refcnn.conformance.expected import torch_reference as tr  # noqa: E402

# (u shape, W shape, padding, strides, the formulation refcnn picks for finite input)
CONVOLUTIONS = {
    "banded": ((2, 9, 9, 1), (2, 3, 3, 1), 1, 1, Banded),
    "banded, strided": ((1, 8, 10, 2), (3, 3, 3, 2), (0, 1), (2, 1), Banded),
    "im2col": ((2, 7, 7, 3), (20, 3, 3, 3), 1, 1, Columns),
    "im2col, strided": ((1, 9, 14, 5), (6, 2, 3, 5), 2, (2, 3), Columns),
}
POISON = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}


def _poisoned(shape: tuple, value: float, rng: np.random.Generator) -> np.ndarray:
    u = rng.standard_normal(shape)
    u[0, shape[1] // 2, shape[2] // 2, 0] = value  # inside, so padding matters too
    return u


def _torch_forward_backward(function, u: np.ndarray, others: dict, dz: np.ndarray | None):
    tensors = {"u": torch.tensor(u, requires_grad=True)}
    tensors |= {k: torch.tensor(v, requires_grad=True) for k, v in others["arrays"].items()}
    z = function(*tensors.values(), **others["params"])
    if dz is None:
        return z.detach().numpy(), None
    z.backward(torch.tensor(dz))
    return z.detach().numpy(), {k: t.grad.numpy() for k, t in tensors.items()}


def _same(got: np.ndarray, expected: np.ndarray, what: str, tol: float = 1e-10) -> None:
    assert got.shape == expected.shape and got.dtype == expected.dtype, what
    bad = ~np.isfinite(expected)
    assert np.array_equal(~np.isfinite(got), bad), (
        f"{what}: non-finite at {np.argwhere(~np.isfinite(got)).tolist()}, "
        f"torch at {np.argwhere(bad).tolist()}"
    )
    np.testing.assert_allclose(got[~bad], expected[~bad], rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("poison", list(POISON))
@pytest.mark.parametrize("case", list(CONVOLUTIONS))
def test_convolution_spreads_non_finite_values_as_torch_does(case: str, poison: str) -> None:
    u_shape, W_shape, padding, strides, formulation = CONVOLUTIONS[case]
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal(W_shape), rng.standard_normal(W_shape[0])
    out_hw = refcnn.convolution2d(np.zeros(u_shape), W, b, padding, strides).shape[1:3]
    pairs = (as_pair(padding, "padding", minimum=0), as_pair(strides, "strides", minimum=1))
    geometry = Geometry(W_shape[1:3], *pairs, out_hw, np.dtype("float64"))
    assert convolution.method(u_shape, W_shape, geometry) is formulation  # the path under test
    u = _poisoned(u_shape, POISON[poison], rng)
    dz = rng.standard_normal((u_shape[0], *out_hw, W_shape[0]))
    others = {"arrays": {"W": W, "b": b}, "params": {"padding": padding, "strides": strides}}
    z_torch, grads = _torch_forward_backward(tr.convolution2d, u, others, dz)
    _same(refcnn.convolution2d(u, W, b, padding, strides), z_torch, f"{case} forward")
    du, dW, db = refcnn.convolution2d_back(dz, u, W, b, padding, strides)
    for name, got in (("u", du), ("W", dW), ("b", db)):
        _same(got, grads[name], f"{case} d{name}")
    # a non-finite dz (the backward's own input) too
    dz_bad = dz.copy()
    dz_bad[0, 0, 0, 0] = POISON[poison]
    _, grads = _torch_forward_backward(tr.convolution2d, np.nan_to_num(u), others, dz_bad)
    du, dW, db = refcnn.convolution2d_back(dz_bad, np.nan_to_num(u), W, b, padding, strides)
    for name, got in (("u", du), ("W", dW), ("b", db)):
        _same(got, grads[name], f"{case} d{name}, non-finite dz")


POOLS = {
    "max": (refcnn.max_pooling2d, refcnn.max_pooling2d_back, tr.max_pooling2d),
    "average": (refcnn.average_pooling2d, refcnn.average_pooling2d_back, tr.average_pooling2d),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("poison", list(POISON))
@pytest.mark.parametrize(("pool", "params", "size"), [
    (pool, params, size)
    for pool in POOLS
    for params, size in (({"pool_size": 2}, 7), ({"pool_size": 3, "padding": 1, "strides": 2}, 7),
                         ({"pool_size": 2, "strides": 1}, 7),
                         ({"pool_size": 2}, 8))  # windows that tile u: refcnn's tiled path
])  # fmt: skip
def test_pooling_spreads_non_finite_values_as_torch_does(
    pool: str, params: dict, size: int, poison: str, dtype: type
) -> None:
    forward, backward, reference = POOLS[pool]
    rng = np.random.default_rng(5)
    u = _poisoned((2, size, size, 3), POISON[poison], rng).astype(dtype)
    z = forward(u, **params)
    k, p = params["pool_size"], params.get("padding", 0)
    s = params.get("strides", k)
    assert (tiles(u, (k, k), (p, p), (s, s), z.shape[1:3]) is not None) == (size == 8)  # the path
    dz = rng.standard_normal(z.shape).astype(dtype)
    z_torch, grads = _torch_forward_backward(reference, u, {"arrays": {}, "params": params}, dz)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    _same(z, z_torch, f"{pool} pooling forward", tol)
    _same(backward(dz, u, z, **params), grads["u"], f"{pool} pooling backward", tol)


def test_finite_values_whose_sum_overflows_give_torchs_result_without_a_warning() -> None:
    """Huge finite inputs make refcnn's check for NaN and inf (a sum) overflow;
    it then takes im2col, right either way, and warns about nothing."""
    rng = np.random.default_rng(7)
    u = (1.5 + rng.random((2, 9, 9, 1))) * 1e306  # sums to over 1.8e308, the largest float
    with np.errstate(over="ignore"):
        assert not np.isfinite(u.sum()) and np.isfinite(u).all()
    W, b = rng.standard_normal((2, 3, 3, 1)), np.zeros(2)
    with np.errstate(all="raise"):  # a RuntimeWarning would be an error here
        z = refcnn.convolution2d(u, W, b, 1, 1)
    z_torch, _ = _torch_forward_backward(
        tr.convolution2d,
        u,
        {"arrays": {"W": W, "b": b}, "params": {"padding": 1, "strides": 1}},
        None,
    )
    _same(z, z_torch, "huge finite input")
