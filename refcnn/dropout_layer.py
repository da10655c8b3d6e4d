"""Dropout, as an article layer: ``dropout_ratio`` (default 0.9) is the
probability of **keeping** a unit.

This reading of the article's default is our choice (part 8 of the series is
not available): dropping 90% by default would be unusual, keeping 90% is
common. Inverted dropout, as in torch: in training ``z = u * mask /
dropout_ratio`` with ``mask ~ Bernoulli(dropout_ratio)``; in inference
``z = u``. So ``dropout(u, r, mask)`` equals ``F.dropout(u, p=1 - r)`` for the
mask torch drew.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import as_float

__all__ = ["dropout", "dropout_back", "dropout_mask"]


def check_ratio(dropout_ratio: float) -> float:
    if not 0 < dropout_ratio <= 1:
        raise ValueError(
            f"dropout_ratio (the probability of keeping a unit) must be in (0, 1], "
            f"got {dropout_ratio!r}"
        )
    return float(dropout_ratio)


def dropout_mask(
    shape: tuple[int, ...], dropout_ratio: float = 0.9, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Boolean mask, True where a unit is kept (probability ``dropout_ratio``)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("dropout_mask needs rng=numpy.random.Generator")
    return rng.random(shape) < check_ratio(dropout_ratio)


def dropout(u: Any, dropout_ratio: float = 0.9, mask: Any = None) -> np.ndarray:
    """Training when ``mask`` is given (``u * mask / dropout_ratio``),
    inference (``u``) when it is None."""
    u = as_float(u, "u")
    if mask is None:
        return u.copy()
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != u.shape:
        raise ValueError(f"mask must have the shape of u {u.shape}, got {mask.shape}")
    return (u * mask / check_ratio(dropout_ratio)).astype(u.dtype, copy=False)


def dropout_back(
    dz: Any, u: Any, z: Any = None, dropout_ratio: float = 0.9, mask: Any = None
) -> np.ndarray:
    return dropout(dz, dropout_ratio, mask)
