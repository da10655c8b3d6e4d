"""Element-wise activation layers named in the article's ``add_layer`` list.

Each activation ``f`` has a forward ``f(u, **params) -> z`` and a backward
``f_back(dz, u, z, **params) -> du`` (``z`` may be ``None``; it is recomputed
where needed). Shapes are arbitrary; the output has the shape of ``u``.

The article names these layers without defining them (part 8 of the series is
not available); the definitions below are the usual ones, each with its torch
twin or composition in the conformance suite:

=============  =========================================  ==========================
name           definition                                 torch
=============  =========================================  ==========================
sigmoid        1 / (1 + exp(-u))                          torch.sigmoid
tanh           tanh(u)                                    torch.tanh
relu           max(u, 0)                                  F.relu
leaky_relu     u if u > 0 else alpha*u  (alpha=0.01)      F.leaky_relu
prelu          u if u > 0 else alpha*u, alpha learned     F.prelu (per channel)
rrelu          u if u > 0 else a*u; a ~ U(min, max) in    F.rrelu (eval mode)
               training, (min+max)/2 in inference
relun          min(max(u, 0), n)  (ReLU-n, n=6)           F.hardtanh(u, 0, n)
srelu          max(u, -alpha)  (shifted ReLU, alpha=1)    clamp(u, min=-alpha)
elu            u if u > 0 else alpha*(exp(u) - 1)         F.elu
identity       u                                          --
softplus       log(1 + exp(u))                            F.softplus
softsign       u / (1 + |u|)                              F.softsign
step           1 if u > 0 else 0; gradient 0              (u > 0)
=============  =========================================  ==========================

The derivative at a kink (u == 0) is that of the left piece, as in torch
(relu'(0) = 0). Dtypes: floating inputs keep their dtype, integer inputs
compute in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import as_float

__all__ = [
    "sigmoid",
    "sigmoid_back",
    "tanh",
    "tanh_back",
    "relu",
    "relu_back",
    "leaky_relu",
    "leaky_relu_back",
    "prelu",
    "prelu_back",
    "rrelu",
    "rrelu_back",
    "rrelu_slopes",
    "relun",
    "relun_back",
    "srelu",
    "srelu_back",
    "elu",
    "elu_back",
    "identity",
    "identity_back",
    "softplus",
    "softplus_back",
    "softsign",
    "softsign_back",
    "step",
    "step_back",
]


def _float(u: Any, name: str = "u") -> np.ndarray:
    return as_float(u, name)


def _grad(dz: Any, u: np.ndarray) -> np.ndarray:
    dz = _float(dz, "dz")
    if dz.shape != u.shape:
        raise ValueError(f"dz must have the shape of u {u.shape}, got {dz.shape}")
    return dz


def sigmoid(u: Any) -> np.ndarray:
    u = _float(u)
    # Two branches so that exp never overflows.
    e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_back(dz: Any, u: Any, z: Any = None) -> np.ndarray:
    u = _float(u)
    z = sigmoid(u) if z is None else _float(z, "z")
    return _grad(dz, u) * z * (1 - z)


def tanh(u: Any) -> np.ndarray:
    return np.tanh(_float(u))


def tanh_back(dz: Any, u: Any, z: Any = None) -> np.ndarray:
    u = _float(u)
    z = np.tanh(u) if z is None else _float(z, "z")
    return _grad(dz, u) * (1 - z * z)


def relu(u: Any) -> np.ndarray:
    u = _float(u)
    return np.maximum(u, 0, dtype=u.dtype)


def relu_back(dz: Any, u: Any, z: Any = None) -> np.ndarray:
    u = _float(u)
    return np.where(u > 0, _grad(dz, u), 0).astype(u.dtype, copy=False)


def leaky_relu(u: Any, alpha: float = 0.01) -> np.ndarray:
    u = _float(u)
    return np.where(u > 0, u, alpha * u).astype(u.dtype, copy=False)


def leaky_relu_back(dz: Any, u: Any, z: Any = None, alpha: float = 0.01) -> np.ndarray:
    u = _float(u)
    dz = _grad(dz, u)
    return np.where(u > 0, dz, alpha * dz).astype(u.dtype, copy=False)


def _slopes(u: np.ndarray, alpha: Any) -> np.ndarray:
    """``alpha`` broadcast over the last axis (one per node or channel)."""
    alpha = _float(alpha, "alpha")
    if alpha.ndim > 1 or (alpha.ndim == 1 and alpha.shape[0] not in (1, u.shape[-1])):
        raise ValueError(
            f"alpha must be a scalar or have one value per channel ({u.shape[-1]},), "
            f"got shape {alpha.shape}"
        )
    return alpha


def prelu(u: Any, alpha: Any) -> np.ndarray:
    """``alpha``: scalar or ``(c,)``, one slope per channel (the last axis)."""
    u = _float(u)
    return np.where(u > 0, u, _slopes(u, alpha) * u).astype(u.dtype, copy=False)


def prelu_back(dz: Any, u: Any, z: Any, alpha: Any) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(du, dalpha)``; ``dalpha`` has the shape of ``alpha``."""
    u = _float(u)
    dz = _grad(dz, u)
    slopes = _slopes(u, alpha)
    du = np.where(u > 0, dz, slopes * dz).astype(u.dtype, copy=False)
    per_element = np.where(u > 0, 0, dz * u)
    if slopes.ndim == 0:
        dalpha = np.asarray(per_element.sum(), dtype=u.dtype)
    else:
        dalpha = per_element.reshape(-1, u.shape[-1]).sum(axis=0)
        if slopes.shape[0] == 1:
            dalpha = dalpha.sum(keepdims=True)
    return du, dalpha.astype(np.result_type(u, slopes), copy=False)


def rrelu_slopes(
    shape: tuple[int, ...],
    min: float = 0.0,
    max: float = 0.1,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """The negative-side slopes of rrelu: uniform in [min, max] per element
    when an ``rng`` is given (training), else (min + max) / 2 (inference)."""
    if rng is None:
        return np.full(shape, (min + max) / 2)
    return rng.uniform(min, max, size=shape)


def rrelu(
    u: Any,
    min: float = 0.0,
    max: float = 0.1,
    slopes: Any = None,
) -> np.ndarray:
    """Randomized leaky ReLU. ``slopes=None`` is inference: slope (min+max)/2
    (torch's ``F.rrelu(training=False)``); in training pass the slopes drawn
    by :func:`rrelu_slopes` and give the same ones to :func:`rrelu_back`."""
    u = _float(u)
    a = (min + max) / 2 if slopes is None else _float(slopes, "slopes")
    return np.where(u > 0, u, a * u).astype(u.dtype, copy=False)


def rrelu_back(
    dz: Any,
    u: Any,
    z: Any = None,
    min: float = 0.0,
    max: float = 0.1,
    slopes: Any = None,
) -> np.ndarray:
    u = _float(u)
    dz = _grad(dz, u)
    a = (min + max) / 2 if slopes is None else _float(slopes, "slopes")
    return np.where(u > 0, dz, a * dz).astype(u.dtype, copy=False)


def relun(u: Any, n: float = 6.0) -> np.ndarray:
    u = _float(u)
    return np.clip(u, 0, n).astype(u.dtype, copy=False)


def relun_back(dz: Any, u: Any, z: Any = None, n: float = 6.0) -> np.ndarray:
    u = _float(u)
    return np.where((u > 0) & (u < n), _grad(dz, u), 0).astype(u.dtype, copy=False)


def srelu(u: Any, alpha: float = 1.0) -> np.ndarray:
    u = _float(u)
    return np.maximum(u, -alpha).astype(u.dtype, copy=False)


def srelu_back(dz: Any, u: Any, z: Any = None, alpha: float = 1.0) -> np.ndarray:
    u = _float(u)
    return np.where(u > -alpha, _grad(dz, u), 0).astype(u.dtype, copy=False)


def elu(u: Any, alpha: float = 1.0) -> np.ndarray:
    u = _float(u)
    return np.where(u > 0, u, alpha * np.expm1(np.minimum(u, 0))).astype(u.dtype, copy=False)


def elu_back(dz: Any, u: Any, z: Any = None, alpha: float = 1.0) -> np.ndarray:
    u = _float(u)
    dz = _grad(dz, u)
    return np.where(u > 0, dz, dz * alpha * np.exp(np.minimum(u, 0))).astype(u.dtype, copy=False)


def identity(u: Any) -> np.ndarray:
    return _float(u).copy()


def identity_back(dz: Any, u: Any, z: Any = None) -> np.ndarray:
    return _grad(dz, _float(u)).copy()


def softplus(u: Any) -> np.ndarray:
    u = _float(u)
    return np.logaddexp(0, u).astype(u.dtype, copy=False)


def softplus_back(dz: Any, u: Any, z: Any = None) -> np.ndarray:
    u = _float(u)
    return _grad(dz, u) * sigmoid(u)


def softsign(u: Any) -> np.ndarray:
    u = _float(u)
    return u / (1 + np.abs(u))


def softsign_back(dz: Any, u: Any, z: Any = None) -> np.ndarray:
    u = _float(u)
    return _grad(dz, u) / (1 + np.abs(u)) ** 2


def step(u: Any) -> np.ndarray:
    u = _float(u)
    return (u > 0).astype(u.dtype)


def step_back(dz: Any, u: Any, z: Any = None) -> np.ndarray:
    u = _float(u)
    return np.zeros_like(_grad(dz, u))
