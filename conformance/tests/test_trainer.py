"""The trainer's pieces that are not array ops: optimizers (trajectories against
``torch.optim``), initializers (distributions against ``torch.nn.init``),
and the random layers (dropout masks, rrelu slopes)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ..expected import oracle as orc
from ..expected import tolerances as tol

needs_torch = pytest.mark.skipif(not orc.torch_available(), reason="needs torch")

# name: (refcnn hyper-parameters, torch.optim class, its arguments)
OPTIMIZERS = {
    "SGD": ({"eta": 0.1}, "SGD", {"lr": 0.1}),
    "momentum": ({"eta": 0.05, "mu": 0.9}, "SGD", {"lr": 0.05, "momentum": 0.9}),
    "AdaGrad": ({"eta": 0.1, "eps": 1e-8}, "Adagrad", {"lr": 0.1, "eps": 1e-8}),
    "RMSprop": (
        {"eta": 0.01, "rho": 0.9, "eps": 1e-8},
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-8},
    ),
    "AdaDelta": ({"rho": 0.9, "eps": 1e-6}, "Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6}),
    "Adam": (
        {"alpha": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        "Adam",
        {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8},
    ),
}
STEPS = 8


def _quadratic(rng: np.random.Generator):
    """Gradient of 0.5 * sum(a * W**2) + sum(c * W): it depends on W, so a
    wrong update shows in every later step."""
    a = rng.uniform(0.5, 2.0, (3, 4))
    c = rng.standard_normal((3, 4))
    return lambda W: a * W + c


@needs_torch
@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.verdict(check="trajectory")
def test_optimizer_trajectory_matches_torch_optim(name: str, impl) -> None:
    import torch

    update = impl.require(name)
    ours_params, torch_class, torch_params = OPTIMIZERS[name]
    rng = np.random.default_rng(7)
    grad = _quadratic(rng)
    W = rng.standard_normal((3, 4))
    p = torch.nn.Parameter(torch.from_numpy(W.copy()))
    reference = getattr(torch.optim, torch_class)([p], **torch_params)
    stats: dict = {}
    for step in range(1, STEPS + 1):
        p.grad = torch.from_numpy(grad(p.detach().numpy()))
        reference.step()
        W, stats = update(W, grad(W), **ours_params, **stats)
        np.testing.assert_allclose(
            W,
            p.detach().numpy(),
            rtol=tol.TRAJECTORY_RTOL,
            atol=tol.TRAJECTORY_ATOL,
            err_msg=f"{name} after step {step}, vs torch.optim.{torch_class}({torch_params})",
        )


@pytest.mark.verdict(op="AdaGrad", check="trajectory")
def test_adagrad_epsilon_sits_outside_the_square_root(impl) -> None:
    """The documented formula W - eta g / (sqrt(h) + eps); with eps inside
    the root the first step would differ by orders of magnitude here."""
    update = impl.require("AdaGrad")
    g = np.array([1e-6])
    W, _ = update(np.zeros(1), g, eta=1.0, eps=1e-4)
    assert W[0] == pytest.approx(-1e-6 / (1e-6 + 1e-4), rel=tol.FORMULA_RTOL)


@pytest.mark.verdict(op="AdaDelta", check="trajectory")
def test_adadelta_epsilon_sits_inside_the_square_roots(impl) -> None:
    update = impl.require("AdaDelta")
    g = np.array([2.0])
    W, _ = update(np.zeros(1), g, rho=0.5, eps=1e-2)
    h = 0.5 * 4.0
    assert W[0] == pytest.approx(-np.sqrt(0 + 1e-2) / np.sqrt(h + 1e-2) * 2.0, rel=tol.FORMULA_RTOL)


# --- initializers ----------------------------------------------------------------

FAN_IN, FAN_OUT = 300, 400
# name: (mean, variance, bound or None, torch.nn.init call)
INITIALIZERS = {
    "lecun_normal": (0, 1 / FAN_IN, None, ("kaiming_normal_", {"nonlinearity": "linear"})),
    "lecun_uniform": (
        0,
        1 / FAN_IN,
        np.sqrt(3 / FAN_IN),
        ("kaiming_uniform_", {"nonlinearity": "linear"}),
    ),
    "glorot_normal": (0, 2 / (FAN_IN + FAN_OUT), None, ("xavier_normal_", {})),
    "glorot_uniform": (
        0,
        2 / (FAN_IN + FAN_OUT),
        np.sqrt(6 / (FAN_IN + FAN_OUT)),
        ("xavier_uniform_", {}),
    ),
    "he_normal": (0, 2 / FAN_IN, None, ("kaiming_normal_", {"nonlinearity": "relu"})),
    "he_uniform": (
        0,
        2 / FAN_IN,
        np.sqrt(6 / FAN_IN),
        ("kaiming_uniform_", {"nonlinearity": "relu"}),
    ),
    "normal_w": (0, 1, None, ("normal_", {})),
    "uniform_w": (0.5, 1 / 12, None, ("uniform_", {})),
}


def _draw(function, *shape, **params):
    if "rng" in inspect.signature(function).parameters:
        params["rng"] = np.random.default_rng(2024)
    return np.asarray(function(*shape, **params), dtype=np.float64)


def _ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance."""
    a, b = np.sort(a.ravel()), np.sort(b.ravel())
    grid = np.concatenate([a, b])
    return float(
        np.abs(
            np.searchsorted(a, grid, "right") / a.size - np.searchsorted(b, grid, "right") / b.size
        ).max()
    )


@pytest.mark.parametrize("name", list(INITIALIZERS))
@pytest.mark.verdict(check="distribution")
def test_initializer_distribution(name: str, impl) -> None:
    """Shape, mean and variance (5-sigma bounds at a fixed seed, 120000 draws),
    bounds of the uniform ones; and, with torch, a two-sample KS test against
    the matching torch.nn.init function."""
    function = impl.require(name)
    mean, var, bound, (torch_name, torch_args) = INITIALIZERS[name]
    W = _draw(function, FAN_IN, FAN_OUT)
    assert W.shape == (FAN_IN, FAN_OUT)
    n = W.size
    sigmas = tol.DISTRIBUTION_SIGMAS
    assert abs(W.mean() - mean) < sigmas * np.sqrt(var / n), f"mean {W.mean()}"
    # the variance of the sample variance: (mu4 - var^2)/n, below 2 var^2 / n here
    assert abs(W.var() - var) < sigmas * np.sqrt(2 * var**2 / n), f"variance {W.var()}, want {var}"
    if bound is not None:
        assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
    if orc.torch_available():
        import torch

        torch.manual_seed(0)
        reference = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64)  # (out, in)
        getattr(torch.nn.init, torch_name)(reference, **torch_args)
        distance = _ks_statistic(W, reference.numpy())
        critical = tol.KS_COEFFICIENT * np.sqrt(2 / n)
        assert distance < critical, f"KS distance {distance:.4f} >= {critical:.4f}"


@pytest.mark.parametrize(
    ("name", "params", "check"),
    [
        (
            "normal_w",
            {"mean": 3.0, "var": 4.0},
            lambda W: (
                abs(W.mean() - 3) < tol.WEIGHT_MEAN_ATOL and abs(W.var() - 4) < tol.WEIGHT_VAR_ATOL
            ),
        ),
        (
            "uniform_w",
            {"min": -2.0, "max": 5.0},
            lambda W: W.min() >= -2 and W.max() < 5 and abs(W.mean() - 1.5) < tol.WEIGHT_MEAN_ATOL,
        ),
        ("zeros_w", {}, lambda W: not W.any()),
        ("ones_w", {}, lambda W: (W == 1).all()),
    ],
)
@pytest.mark.verdict(check="distribution")
def test_weight_initializer_parameters(name, params, check, impl) -> None:
    assert check(_draw(impl.require(name), FAN_IN, FAN_OUT, **params))


@pytest.mark.parametrize(
    ("name", "params", "check"),
    [
        (
            "normal_b",
            {"mean": -1.0, "var": 0.25},
            lambda b: (
                abs(b.mean() + 1) < tol.BIAS_MOMENT_ATOL
                and abs(b.var() - 0.25) < tol.BIAS_MOMENT_ATOL
            ),
        ),
        (
            "uniform_b",
            {},
            lambda b: b.min() >= 0 and b.max() < 1 and abs(b.mean() - 0.5) < tol.BIAS_MOMENT_ATOL,
        ),
        ("zeros_b", {}, lambda b: not b.any()),
        ("ones_b", {}, lambda b: (b == 1).all()),
    ],
)
@pytest.mark.verdict(check="distribution")
def test_bias_initializers(name, params, check, impl) -> None:
    b = _draw(impl.require(name), 100_000, **params)
    assert b.shape == (100_000,) and check(b)


# --- random layers -----------------------------------------------------------------


@needs_torch
@pytest.mark.verdict(op="dropout", check="semantics")
def test_dropout_mask_matches_torch(impl) -> None:
    """With F.dropout's own mask (the nonzeros of F.dropout(ones)), refcnn's
    dropout gives F.dropout's output: dropout_ratio is the keep probability."""
    import torch
    import torch.nn.functional as F

    dropout = impl.require("dropout")
    torch.manual_seed(3)
    u = torch.randn(6, 50, dtype=torch.float64)
    keep = 0.8
    expected = F.dropout(u, p=1 - keep, training=True)
    torch.manual_seed(3)
    torch.randn(6, 50, dtype=torch.float64)  # same generator position as above
    mask = F.dropout(torch.ones(6, 50, dtype=torch.float64), p=1 - keep, training=True) != 0
    got = dropout(u.numpy(), dropout_ratio=keep, mask=mask.numpy())
    np.testing.assert_allclose(got, expected.numpy(), rtol=tol.DROPOUT_RTOL)
    np.testing.assert_array_equal(dropout(u.numpy(), dropout_ratio=keep), u.numpy())


@pytest.mark.verdict(op="dropout", check="semantics")
def test_dropout_mask_keeps_dropout_ratio(impl) -> None:
    mask = impl.require("dropout_mask")((200, 500), 0.9, np.random.default_rng(0))
    assert mask.dtype == bool and abs(mask.mean() - 0.9) < 5 * np.sqrt(0.09 / mask.size)


@pytest.mark.verdict(op="rrelu", check="semantics")
def test_rrelu_training_slopes_lie_in_range_and_drive_the_backward(impl) -> None:
    rrelu, back = impl.require("rrelu"), impl.require("rrelu_back")
    slopes = impl.require("rrelu_slopes")((50, 40), 0.1, 0.3, np.random.default_rng(5))
    assert slopes.min() >= 0.1 and slopes.max() < 0.3 and slopes.std() > 0.04
    u = -np.abs(np.random.default_rng(6).standard_normal((50, 40)))
    np.testing.assert_allclose(rrelu(u, 0.1, 0.3, slopes), slopes * u)
    np.testing.assert_allclose(back(np.ones_like(u), u, None, 0.1, 0.3, slopes), slopes)
    np.testing.assert_allclose(rrelu(u, 0.1, 0.3), 0.2 * u)  # inference: the mean slope
