"""Finite differences of the implementation's own forward (imported as
``fd``), element by element or along random directions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..expected import tolerances as tol

# Random directions per input of the directional-derivative check.
DIRECTIONS = 2


def _loss_both_ways(
    loss: Callable[[dict[str, np.ndarray]], float],
    arrays: dict[str, np.ndarray],
    name: str,
    up: np.ndarray,
    down: np.ndarray,
) -> tuple[float, float]:
    """``loss`` with ``arrays[name]`` replaced by ``up``, then by ``down``
    (the calls hand the implementation copies: the arrays are not copied here)."""
    shifted = dict(arrays)
    shifted[name] = up
    above = loss(shifted)
    shifted[name] = down
    return above, loss(shifted)


def finite_difference_gradient(
    loss: Callable[[dict[str, np.ndarray]], float],
    arrays: dict[str, np.ndarray],
    name: str,
    step: float = tol.FINITE_DIFFERENCE_STEP,
) -> np.ndarray:
    """Central differences of ``loss`` w.r.t. every element of ``arrays[name]``."""
    base = arrays[name]
    grad = np.zeros(base.shape, dtype=np.float64)
    for index in np.ndindex(base.shape):
        above, below = base.copy(), base.copy()
        above[index] = base[index] + step
        below[index] = base[index] - step
        up, down = _loss_both_ways(loss, arrays, name, above, below)
        grad[index] = (up - down) / (2 * step)
    return grad


def unit_direction(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random unit vector of ``shape`` whose every element is at least
    ``0.5 / sqrt(size)`` in magnitude, so that an error in any one gradient
    element shows in the directional derivative."""
    d = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.0, size=shape)
    return d / max(float(np.linalg.norm(d)), np.finfo(np.float64).tiny)


def directions_agree(
    loss: Callable[[dict[str, np.ndarray]], float],
    arrays: dict[str, np.ndarray],
    name: str,
    gradient: Any,
    rng: np.random.Generator,
    directions: int = DIRECTIONS,
    step: float = tol.FINITE_DIFFERENCE_STEP,
) -> bool:
    """Whether ``gradient`` (what the backward returned for ``arrays[name]``)
    gives the derivative of ``loss`` that central differences give, along
    ``directions`` random unit directions ``d``: ``gradient . d`` against
    ``(loss(x + step d) - loss(x - step d)) / (2 step)``, as torch's
    ``gradcheck(fast_mode=True)`` does: two calls of the forward per
    direction, instead of two per element. False also for a gradient that
    is not a finite array of the input's shape. Where they do not agree, the
    caller compares element by element, which decides (a difference along
    ``d`` may be the loss's rounding, which a large loss makes larger than
    the element-wise tolerance)."""
    try:
        g = np.asarray(gradient, dtype=np.float64)
    except Exception:
        return False
    base = arrays[name]
    if g.shape != base.shape or not np.isfinite(g).all():
        return False
    for _ in range(directions if base.size else 0):
        d = unit_direction(rng, base.shape)
        up, down = _loss_both_ways(loss, arrays, name, base + step * d, base - step * d)
        numeric = (up - down) / (2 * step)
        noise = tol.ROUNDING * max(abs(up), abs(down)) / step  # the loss's rounding, magnified
        tolerance = tol.FINITE_DIFFERENCE_RTOL * max(1.0, abs(numeric)) + noise
        if not abs(float(np.sum(g * d)) - numeric) <= tolerance:
            return False
    return True
