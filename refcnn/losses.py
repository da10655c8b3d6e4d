"""Output functions and errors: ``softmax`` + ``cross_entropy_error`` and
``identity`` + ``mean_squared_error``.

Conventions (the article names them; these are the usual definitions):

* ``softmax(u)`` over the last axis of ``(n, k)``, computed stably;
* ``cross_entropy_error(y, t) = -sum(t * log(y)) / n``: ``y`` probabilities,
  ``t`` one-hot ``(n, k)`` (or class indices ``(n,)``); the mean over the
  batch, like ``F.cross_entropy(logits, labels)`` with ``reduction="mean"``.
  ``log`` of a probability that underflowed to 0 is taken at the smallest
  normal number instead of -inf;
* ``mean_squared_error(y, t) = sum((y - t)**2) / (2 n)``: half the squared
  error per example, so that its gradient is ``(y - t) / n``; it equals
  ``F.mse_loss(y, t, reduction="sum") / (2 n)`` (torch's default ``mean``
  divides by every element and has no 1/2);
* for both pairs the gradient of the error w.r.t. the *input of the output
  function* is ``(y - t) / n``: :func:`output_error_back`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import as_array, compute_dtype

__all__ = [
    "softmax",
    "cross_entropy_error",
    "mean_squared_error",
    "log_softmax",
    "cross_entropy_from_logits",
    "output_error_back",
    "one_hot",
]


def _rows(u: Any, name: str) -> np.ndarray:
    u = as_array(u, name, 2, "(n, k)")
    return u.astype(compute_dtype(u), copy=False)


def log_softmax(u: Any) -> np.ndarray:
    u = _rows(u, "u")
    shifted = u - u.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(u: Any) -> np.ndarray:
    """Row-wise softmax of ``(n, k)``, shifted by the row maximum."""
    return np.exp(log_softmax(u))


def one_hot(t: Any, classes: int) -> np.ndarray:
    """Class indices ``(n,)`` -> one-hot ``(n, classes)``; checks the range."""
    t = np.asarray(t)
    if t.ndim != 1 or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"class labels must be integers of shape (n,), got {t.dtype} {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise ValueError(f"class labels must lie in [0, {classes - 1}], got {t.min()}..{t.max()}")
    out = np.zeros((t.shape[0], classes))
    out[np.arange(t.shape[0]), t] = 1
    return out


def _targets(t: Any, y: np.ndarray) -> np.ndarray:
    t = np.asarray(t)
    if t.ndim == 1 and np.issubdtype(t.dtype, np.integer):
        t = one_hot(t, y.shape[1])
    t = as_array(t, "t", 2, "(n, k)")
    if t.shape != y.shape:
        raise ValueError(f"t must have the shape of y {y.shape}, got {t.shape}")
    return t.astype(y.dtype, copy=False)


def cross_entropy_error(y: Any, t: Any) -> float:
    """Mean over the batch of ``-sum(t * log(y))``."""
    y = _rows(y, "y")
    t = _targets(t, y)
    n = max(y.shape[0], 1)
    log_y = np.log(np.maximum(y, np.finfo(y.dtype).tiny))
    return float(-(t * log_y).sum() / n)


def cross_entropy_from_logits(u: Any, t: Any) -> float:
    """``cross_entropy_error(softmax(u), t)`` without forming ``softmax``:
    exact for large logits (what the trainer uses)."""
    log_y = log_softmax(u)
    t = _targets(t, log_y)
    return float(-(t * log_y).sum() / max(log_y.shape[0], 1))


def mean_squared_error(y: Any, t: Any) -> float:
    """``sum((y - t)**2) / (2 n)``."""
    y = _rows(y, "y")
    t = _targets(t, y)
    return float(((y - t) ** 2).sum() / (2 * max(y.shape[0], 1)))


def output_error_back(y: Any, t: Any) -> np.ndarray:
    """Gradient of softmax+cross-entropy (or identity+squared error) w.r.t.
    the output layer's input: ``(y - t) / n``."""
    y = _rows(y, "y")
    t = _targets(t, y)
    return (y - t) / max(y.shape[0], 1)
