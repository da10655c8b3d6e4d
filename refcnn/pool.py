"""The article's max and average pooling, forward and backward.

Data is NHWC ``(n, h, w, c)``; each channel is pooled on its own. Arguments
``pool_size``, ``padding`` and ``strides`` are an int or an ``(h, w)`` pair;
``strides=None`` means ``strides = pool_size`` (windows side by side).

Semantics that differ from torch's native pooling:

* padding is **zeros**, also for max pooling: a padded zero takes part in
  the max, so an all-negative window at the border yields 0 (torch's
  ``max_pool2d`` pads with -inf);
* padding may be any size ``>= 0`` (torch limits it to half the window);
* average pooling always divides by ``pool_h * pool_w``, padded zeros
  included (torch's ``count_include_pad=True``);
* max-pool backward sends each window's gradient to the **first** maximum of
  the window in row-major (h, then w) order; where windows overlap, the
  gradients they send to one element add up.

Output size: ``floor((h + 2*padding - pool) / strides) + 1``.
Dtypes: float32 stays float32, float64 stays float64, integer or bool input
computes in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _windows
from ._args import Pair, as_array, as_pair, check_positive_dims, check_shape, compute_dtype
from .shapes import window_geometry

__all__ = [
    "average_pooling2d",
    "average_pooling2d_back",
    "max_pooling2d",
    "max_pooling2d_back",
]

_NHWC = "(n, h, w, c)"


def _check_pool(u: Any, pool_size: Any, padding: Any, strides: Any):
    u = as_array(u, "u", 4, _NHWC)
    check_positive_dims(u, "u", {1: "h", 2: "w", 3: "c"})
    window = as_pair(pool_size, "pool_size", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    strides = window if strides is None else as_pair(strides, "strides", minimum=1)
    out_hw = window_geometry(u.shape[1], u.shape[2], window, padding, strides, "pool_size", "u")
    return u, window, padding, strides, out_hw


def _check_back(dz: Any, z: Any, u: np.ndarray, out_hw: Pair, name: str) -> np.ndarray:
    expected = (u.shape[0], *out_hw, u.shape[3])
    dz = as_array(dz, "dz", 4, "(n, zh, zw, c)")
    check_shape(dz, expected, "dz", f"the output shape of {name}")
    if z is not None:
        check_shape(as_array(z, "z", 4, "(n, zh, zw, c)"), expected, "z", f"the output of {name}")
    return dz


def _overlapping(window: Pair, strides: Pair) -> bool:
    return strides[0] < window[0] or strides[1] < window[1]


def _max_forward(padded: np.ndarray, window: Pair, strides: Pair, out_hw: Pair) -> np.ndarray:
    z = None
    for _, _, index in _windows.offsets(window, strides, out_hw):
        if z is None:
            z = padded[index].copy()
        else:
            # np.maximum propagates NaN, as np.max does in the article.
            np.maximum(z, padded[index], out=z)
    return z


def max_pooling2d(
    u: Any, pool_size: int | Pair = 2, padding: int | Pair = 0, strides: int | Pair | None = None
) -> np.ndarray:
    """Max pooling forward: ``z[n, i, j, c] = max`` of the window of ``pu``
    (``u`` zero padded) at rows ``i*sh .. i*sh+ph-1``, columns
    ``j*sw .. j*sw+pw-1``.

    Returns ``(n, zh, zw, c)``. Padded zeros count as values (see module doc).
    """
    u, window, padding, strides, out_hw = _check_pool(u, pool_size, padding, strides)
    padded = _windows.pad(u, padding, compute_dtype(u))
    return _max_forward(padded, window, strides, out_hw)


def _first_max_masks(
    padded: np.ndarray, zmax: np.ndarray, window: Pair, strides: Pair, out_hw: Pair
) -> list[np.ndarray]:
    """One boolean mask per kernel offset (row-major): True where that offset
    holds the first maximum of its window. Each window is True in one mask."""
    nan_windows = np.isnan(zmax) if np.issubdtype(zmax.dtype, np.floating) else None
    if nan_windows is not None and not nan_windows.any():
        nan_windows = None
    taken = np.zeros(zmax.shape, dtype=bool)
    masks = []
    for _, _, index in _windows.offsets(window, strides, out_hw):
        values = padded[index]
        hit = np.equal(values, zmax)
        if nan_windows is not None:  # like np.argmax: the first NaN is the maximum
            hit |= nan_windows & np.isnan(values)
        np.greater(hit, taken, out=hit)  # hit and not yet taken by an earlier offset
        taken |= hit
        masks.append(hit)
    return masks


def _route_to_first_max(
    masks: list[np.ndarray],
    dz: np.ndarray,
    padded_shape: tuple,
    window: Pair,
    strides: Pair,
    out_hw: Pair,
) -> np.ndarray:
    """The padded input gradient: ``dz`` of each window at its first maximum."""
    dpadded = np.zeros(padded_shape, dtype=dz.dtype)
    overlap = _overlapping(window, strides)
    share = np.empty(dz.shape, dtype=dz.dtype)
    for mask, (_, _, index) in zip(masks, _windows.offsets(window, strides, out_hw), strict=True):
        if overlap:
            np.multiply(mask, dz, out=share)
            dpadded[index] += share
        else:  # each element is in one window at most: write in place
            np.multiply(mask, dz, out=dpadded[index])
    return dpadded


def max_pooling2d_back(
    dz: Any,
    u: Any,
    z: Any,
    pool_size: int | Pair = 2,
    padding: int | Pair = 0,
    strides: int | Pair | None = None,
) -> np.ndarray:
    """Max pooling backward: ``du`` shaped like ``u``.

    Each ``dz[n, i, j, c]`` goes to the first maximum of its window in
    row-major order (ties: the top-left-most wins; a padded zero that is the
    maximum absorbs the gradient, which is then dropped). Overlapping windows
    add up. ``z`` is the article's argument, checked for shape when given;
    the maxima are recomputed from ``u`` so a stale ``z`` cannot misroute.
    """
    u, window, padding, strides, out_hw = _check_pool(u, pool_size, padding, strides)
    dz = _check_back(dz, z, u, out_hw, "max_pooling2d")
    dtype = compute_dtype(dz, u)
    padded = _windows.pad(u, padding, dtype)
    masks = _first_max_masks(
        padded, _max_forward(padded, window, strides, out_hw), window, strides, out_hw
    )
    dpadded = _route_to_first_max(
        masks, dz.astype(dtype, copy=False), padded.shape, window, strides, out_hw
    )
    return np.ascontiguousarray(_windows.crop(dpadded, padding))


def average_pooling2d(
    u: Any, pool_size: int | Pair = 2, padding: int | Pair = 0, strides: int | Pair | None = None
) -> np.ndarray:
    """Average pooling forward: the sum of each window of the zero-padded
    input divided by ``pool_h * pool_w`` (padded zeros counted).

    Returns ``(n, zh, zw, c)``.
    """
    u, window, padding, strides, out_hw = _check_pool(u, pool_size, padding, strides)
    padded = _windows.pad(u, padding, compute_dtype(u))
    z = np.zeros((u.shape[0], *out_hw, u.shape[3]), dtype=padded.dtype)
    for _, _, index in _windows.offsets(window, strides, out_hw):
        z += padded[index]
    z /= window[0] * window[1]
    return z


def average_pooling2d_back(
    dz: Any,
    u: Any,
    z: Any,
    pool_size: int | Pair = 2,
    padding: int | Pair = 0,
    strides: int | Pair | None = None,
) -> np.ndarray:
    """Average pooling backward: every element of a window receives
    ``dz / (pool_h * pool_w)``; overlapping windows add up; the share of
    padded zeros is dropped. Returns ``du`` shaped like ``u``."""
    u, window, padding, strides, out_hw = _check_pool(u, pool_size, padding, strides)
    dz = _check_back(dz, z, u, out_hw, "average_pooling2d")
    dtype = compute_dtype(dz, u)
    share = dz.astype(dtype) / (window[0] * window[1])
    h, w = u.shape[1] + 2 * padding[0], u.shape[2] + 2 * padding[1]
    dpadded = np.zeros((u.shape[0], h, w, u.shape[3]), dtype=dtype)
    overlap = _overlapping(window, strides)
    for _, _, index in _windows.offsets(window, strides, out_hw):
        if overlap:
            dpadded[index] += share
        else:
            dpadded[index] = share
    return np.ascontiguousarray(_windows.crop(dpadded, padding))
