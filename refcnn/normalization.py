"""Batch normalization, as an article layer.

Parameters of the article's ``add_layer`` (``batch_norm_node=True,
use_gamma_beta=True, use_train_stats=True, alpha=0.1``), read as follows (our
choices; part 8 of the series is not available):

* ``batch_norm_node=True``: statistics per *node*, i.e. for every element of
  one example's shape, over the batch (``BatchNorm1d`` on the flattened
  example); ``False``: per *channel*, the last axis, over the batch and all
  other axes (``BatchNorm2d`` on NHWC images). For flat ``(n, d)`` data the
  two agree;
* ``use_gamma_beta``: learn a scale ``gamma`` (init 1) and shift ``beta``
  (init 0); otherwise plain normalization;
* ``use_train_stats``: at inference normalize with running statistics
  gathered in training (``running = (1 - alpha) * running + alpha * batch``,
  the unbiased batch variance as in torch, whose ``momentum`` is ``alpha``);
  otherwise with the inference batch's own statistics.

In training the batch is normalized with its biased variance;
``eps = 1e-5`` (torch's default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import as_float

__all__ = ["batch_normalization", "batch_normalization_back", "batch_statistics"]

EPS = 1e-5


def _axes(u: np.ndarray, batch_norm_node: bool) -> tuple[int, ...]:
    return (0,) if batch_norm_node else tuple(range(u.ndim - 1))


def batch_statistics(u: Any, batch_norm_node: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """``(mean, biased variance, count)`` over the normalized axes."""
    u = as_float(u, "u")
    axes = _axes(u, batch_norm_node)
    count = int(np.prod([u.shape[a] for a in axes]))
    if count < 1:
        raise ValueError("batch normalization needs at least one example in the batch")
    mean = u.mean(axis=axes)
    var = u.var(axis=axes)
    return mean, var, count


def batch_normalization(
    u: Any,
    gamma: Any = 1.0,
    beta: Any = 0.0,
    batch_norm_node: bool = True,
    mean: Any = None,
    var: Any = None,
    eps: float = EPS,
) -> np.ndarray:
    """``gamma * (u - mean) / sqrt(var + eps) + beta``. Without ``mean`` and
    ``var`` the batch's own statistics are used (training); with them,
    inference."""
    u = as_float(u, "u")
    if (mean is None) != (var is None):
        raise ValueError("give both mean and var (inference) or neither (training)")
    if mean is None:
        mean, var, _ = batch_statistics(u, batch_norm_node)
    xhat = (u - mean) / np.sqrt(np.asarray(var) + eps)
    return (np.asarray(gamma) * xhat + np.asarray(beta)).astype(u.dtype, copy=False)


def batch_normalization_back(
    dz: Any,
    u: Any,
    z: Any = None,
    gamma: Any = 1.0,
    beta: Any = 0.0,
    batch_norm_node: bool = True,
    eps: float = EPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training-mode gradient ``(du, dgamma, dbeta)`` (the batch statistics
    depend on ``u``)."""
    u, dz = as_float(u, "u"), as_float(dz, "dz")
    if dz.shape != u.shape:
        raise ValueError(f"dz must have the shape of u {u.shape}, got {dz.shape}")
    axes = _axes(u, batch_norm_node)
    mean, var, count = batch_statistics(u, batch_norm_node)
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (u - mean) * inv_std
    dbeta = dz.sum(axis=axes)
    dgamma = (dz * xhat).sum(axis=axes)
    dxhat = dz * np.asarray(gamma)
    du = (
        inv_std
        / count
        * (count * dxhat - dxhat.sum(axis=axes) - xhat * (dxhat * xhat).sum(axis=axes))
    )
    return du.astype(u.dtype, copy=False), dgamma, dbeta
