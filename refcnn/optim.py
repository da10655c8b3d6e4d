"""Optimizers of the series: ``SGD``, ``momentum``, ``AdaGrad``, ``RMSprop``,
``AdaDelta``, ``Adam``.

Each is a pure function ``func(W, dW, **params, **stats) -> (new_W, stats)``:
``stats`` is the optimizer's state for that one parameter (empty ``{}`` on the
first step) and is returned updated; ``W`` is not modified in place. The
trainer keeps one ``stats`` dict per parameter.

Update rules (``g = dW``; the state starts at zero), and the ``torch.optim``
class with the same trajectory:

==========  =====================================================  ==========================
SGD         W -= eta g                        (eta=0.1)            SGD(lr=eta)
momentum    v = mu v - eta g; W += v          (eta=0.1, mu=0.9)    SGD(lr=eta, momentum=mu)
AdaGrad     h += g^2; W -= eta g / (sqrt(h) + eps)                 Adagrad(lr=eta, eps=eps)
            (eta=0.01, eps=1e-8)
RMSprop     h = rho h + (1-rho) g^2; W -= eta g / (sqrt(h) + eps)  RMSprop(lr=eta, alpha=rho,
            (eta=0.001, rho=0.9, eps=1e-8)                         eps=eps)
AdaDelta    h = rho h + (1-rho) g^2;                               Adadelta(lr=1, rho=rho,
            dx = sqrt(s + eps) / sqrt(h + eps) g;                  eps=eps)
            s = rho s + (1-rho) dx^2; W -= dx (rho=0.95, eps=1e-6)
Adam        m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; t += 1;    Adam(lr=alpha,
            W -= alpha (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)     betas=(b1, b2), eps=eps)
            (alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8)
==========  =====================================================  ==========================

Where definitions differ in the literature: epsilon sits *outside* the square
root in AdaGrad, RMSprop and Adam (as in torch; some texts add it inside), and
*inside* in AdaDelta (as in Zeiler's paper and torch). The defaults are our
choice (part 8 of the series, which defines them, is not available): SGD and
momentum use the series' customary eta=0.1, the adaptive methods Keras'
defaults.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["SGD", "momentum", "AdaGrad", "RMSprop", "AdaDelta", "Adam", "create_optimizer"]


def _zeros_like(stats: dict, key: str, W: np.ndarray) -> np.ndarray:
    return stats[key] if key in stats else np.zeros_like(W)


def SGD(W: np.ndarray, dW: np.ndarray, eta: float = 0.1) -> tuple[np.ndarray, dict]:  # noqa: N802
    return W - eta * dW, {}


def momentum(
    W: np.ndarray, dW: np.ndarray, eta: float = 0.1, mu: float = 0.9, **stats: Any
) -> tuple[np.ndarray, dict]:
    v = mu * _zeros_like(stats, "v", W) - eta * dW
    return W + v, {"v": v}


def AdaGrad(  # noqa: N802
    W: np.ndarray, dW: np.ndarray, eta: float = 0.01, eps: float = 1e-8, **stats: Any
) -> tuple[np.ndarray, dict]:
    h = _zeros_like(stats, "h", W) + dW * dW
    return W - eta * dW / (np.sqrt(h) + eps), {"h": h}


def RMSprop(  # noqa: N802
    W: np.ndarray,
    dW: np.ndarray,
    eta: float = 0.001,
    rho: float = 0.9,
    eps: float = 1e-8,
    **stats: Any,
) -> tuple[np.ndarray, dict]:
    h = rho * _zeros_like(stats, "h", W) + (1 - rho) * dW * dW
    return W - eta * dW / (np.sqrt(h) + eps), {"h": h}


def AdaDelta(  # noqa: N802
    W: np.ndarray, dW: np.ndarray, rho: float = 0.95, eps: float = 1e-6, **stats: Any
) -> tuple[np.ndarray, dict]:
    h = rho * _zeros_like(stats, "h", W) + (1 - rho) * dW * dW
    s = _zeros_like(stats, "s", W)
    dx = np.sqrt(s + eps) / np.sqrt(h + eps) * dW
    s = rho * s + (1 - rho) * dx * dx
    return W - dx, {"h": h, "s": s}


def Adam(  # noqa: N802
    W: np.ndarray,
    dW: np.ndarray,
    alpha: float = 0.001,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    **stats: Any,
) -> tuple[np.ndarray, dict]:
    t = int(stats.get("t", 0)) + 1
    m = beta1 * _zeros_like(stats, "m", W) + (1 - beta1) * dW
    v = beta2 * _zeros_like(stats, "v", W) + (1 - beta2) * dW * dW
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return W - alpha * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


OPTIMIZERS: dict[str, Callable] = {
    f.__name__: f for f in (SGD, momentum, AdaGrad, RMSprop, AdaDelta, Adam)
}


# The domain of each hyper-parameter: (low, high, whether low and high are allowed).
# A learning rate of 0 trains nothing and a negative one climbs the loss;
# decay rates outside [0, 1) make the state grow without bound.
DOMAINS = {
    "eta": (0.0, np.inf, (False, False)),
    "alpha": (0.0, np.inf, (False, False)),
    "eps": (0.0, np.inf, (False, False)),
    "mu": (0.0, 1.0, (True, False)),
    "rho": (0.0, 1.0, (True, False)),
    "beta1": (0.0, 1.0, (True, False)),
    "beta2": (0.0, 1.0, (True, False)),
}


def check_hyperparameters(name: str, params: dict[str, Any]) -> None:
    """ValueError naming the hyper-parameter that is not a finite number in
    its domain, or that ``name`` does not take."""
    accepted = [p for p in inspect.signature(OPTIMIZERS[name]).parameters if p in DOMAINS]
    for key, value in params.items():
        if key not in accepted:
            raise ValueError(f"{name} takes no hyper-parameter {key!r}; it takes {accepted}")
        low, high, (low_ok, high_ok) = DOMAINS[key]
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {key} must be a number, got {value!r}") from None
        inside = (number > low or (low_ok and number == low)) and (
            number < high or (high_ok and number == high)
        )
        if not np.isfinite(number) or not inside:
            interval = f"{'[' if low_ok else '('}{low:g}, {high:g}{']' if high_ok else ')'}"
            raise ValueError(f"{name}: {key} must be a finite number in {interval}, got {value!r}")


def create_optimizer(func: Callable | str = SGD, **params: Any) -> dict[str, Any]:
    """An optimizer for :func:`refcnn.learn`: the update function, its
    hyper-parameters (each checked against its domain: learning rates and
    eps finite and positive, decay rates in [0, 1)), and (filled in by
    training) the state of every parameter, so that passing it back to
    ``learn`` continues where it was."""
    if isinstance(func, str):
        if func not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {func!r}; choose one of {sorted(OPTIMIZERS)}")
        func = OPTIMIZERS[func]
    if func not in OPTIMIZERS.values():
        raise ValueError(f"func must be one of {sorted(OPTIMIZERS)}, got {func!r}")
    check_hyperparameters(func.__name__, params)
    return {"func": func, "params": dict(params), "stats": {}}
