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

Output size: ``floor((h + 2*padding - pool) / strides) + 1``. Big batches
are split across threads (:mod:`refcnn._parallel`); every image is pooled the
same way whatever the split.
Dtypes: float32 stays float32, float64 stays float64, integer or bool input
computes in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _parallel, _windows
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


# Outputs x window cells x 3 from which a split pays (benchmarks/bench_threshold.py:
# the MNIST layer's pooling, 2 threads, from a batch of about 170).
SPLIT_WORK = 1_500_000


def shards(u_shape: tuple, window: Pair, out_hw: Pair) -> list[slice]:
    """The batch split for the threads (see :mod:`refcnn._parallel`): pooling
    is NumPy's single-threaded copies and comparisons, so big batches are."""
    n, _, _, c = u_shape
    work = n * out_hw[0] * out_hw[1] * c * window[0] * window[1] * 3
    return _parallel.shards(n, work, SPLIT_WORK)


def _in_shards(fn: Callable[[slice], object], u_shape: tuple, window: Pair, out_hw: Pair) -> list:
    parts = shards(u_shape, window, out_hw)
    return _parallel.run(lambda index: fn(parts[index]), len(parts))


def _max_forward(
    padded: np.ndarray, window: Pair, strides: Pair, out_hw: Pair, out: np.ndarray | None = None
) -> np.ndarray:
    """The maximum of every window, into ``out`` if given."""
    for number, (_, _, index) in enumerate(_windows.offsets(window, strides, out_hw)):
        if number == 0:
            z = padded[index].copy() if out is None else out
            if out is not None:
                np.copyto(z, padded[index])
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
    dtype = compute_dtype(u)
    z = np.empty((u.shape[0], *out_hw, u.shape[3]), dtype=dtype)

    def shard(part: slice) -> None:
        u_part = u[part].astype(dtype, copy=False)
        max_shard_forward(u_part, z[part], window, padding, strides, out_hw, routes=False)

    _in_shards(shard, u.shape, window, out_hw)
    return z


def max_shard_forward(
    u: np.ndarray,
    z: np.ndarray,
    window: Pair,
    padding: Pair,
    strides: Pair,
    out_hw: Pair,
    routes: bool,
) -> Any:
    """The maxima of a shard of the batch into ``z``; with ``routes``, what
    :func:`max_shard_backward` needs to send each gradient to its window's
    first maximum (None without). For max_pooling2d and its _back, and the
    model's max-pooling layer, which keeps the routes of its forward."""
    t = tiles(u, window, padding, strides, out_hw)
    if t is not None:
        zmax = _tiled_max(t, z)
        if not routes:
            return None
        masks = _tiled_masks(t, zmax)
        if masks is not None:
            return "tiled", masks
    padded = _windows.pad(u, padding, u.dtype)
    zmax = _max_forward(padded, window, strides, out_hw, out=z)
    return (
        (padded.shape, _first_max_masks(padded, zmax, window, strides, out_hw)) if routes else None
    )


def max_shard_backward(
    route: Any,
    dz: np.ndarray,
    du: np.ndarray,
    window: Pair,
    padding: Pair,
    strides: Pair,
    out_hw: Pair,
) -> None:
    """A shard's ``dz`` routed (``route``: from :func:`max_shard_forward`)
    to the first maxima, into ``du``."""
    padded_shape, masks = route
    if padded_shape == "tiled":
        _tiled_route(masks, dz, du)
        return
    dpadded = _route_to_first_max(masks, dz, padded_shape, window, strides, out_hw)
    np.copyto(du, _windows.crop(dpadded, padding))


def tiles(u: np.ndarray, window: Pair, padding: Pair, strides: Pair, out_hw: Pair):
    """``u`` as a view ``(n, zh, kh, zw, kw, c)`` when its windows tile it
    exactly (strides = window, no padding, ``h = zh*kh``, ``w = zw*kw``: the
    article's 2x2 pooling of an even-sized image), else None. Pooling then
    runs along whole rows instead of strided windows, and the gradient is
    written in place, each element belonging to exactly one window."""
    (kh, kw), (zh, zw) = window, out_hw
    n, h, w, c = u.shape
    if padding != (0, 0) or tuple(strides) != tuple(window) or (h, w) != (zh * kh, zw * kw):
        return None
    if not u.flags.c_contiguous:
        return None
    return u.reshape(n, zh, kh, zw, kw, c)


def _tiled_max(t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The maximum of every tile of ``t`` (see ``tiles``), into ``out``."""
    kh, kw = t.shape[2], t.shape[4]
    rows = t[:, :, 0].copy() if kh > 1 else t[:, :, 0]  # (n, zh, zw, kw, c)
    for a in range(1, kh):
        np.maximum(rows, t[:, :, a], out=rows)
    np.copyto(out, rows[:, :, :, 0])
    for d in range(1, kw):
        np.maximum(out, rows[:, :, :, d], out=out)
    return out


def _tiled_masks(t: np.ndarray, zmax: np.ndarray) -> list[np.ndarray] | None:
    """``_first_max_masks`` for tiles; None if a tile holds NaN (the general
    path handles it)."""
    if np.issubdtype(zmax.dtype, np.floating) and np.isnan(zmax).any():
        return None
    taken = np.zeros(zmax.shape, dtype=bool)
    masks = []
    for a in range(t.shape[2]):
        for d in range(t.shape[4]):
            hit = np.equal(t[:, :, a, :, d], zmax)
            np.greater(hit, taken, out=hit)  # hit and not yet taken by an earlier offset
            taken |= hit
            masks.append(hit)
    return masks


def _tiled_route(masks: list[np.ndarray], dz: np.ndarray, du: np.ndarray) -> None:
    """``du`` (n, h, w, c), written: each tile's ``dz`` at its first maximum."""
    n, zh, zw, c = dz.shape
    kh, kw = du.shape[1] // zh, du.shape[2] // zw
    view = du.reshape(n, zh, kh, zw, kw, c)
    for number, mask in enumerate(masks):
        np.multiply(mask, dz, out=view[:, :, number // kw, :, number % kw])


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
    dz = dz.astype(dtype, copy=False)
    du = np.empty(u.shape, dtype=dtype)

    def shard(part: slice) -> None:
        u_part = u[part].astype(dtype, copy=False)
        z = np.empty(dz[part].shape, dtype=dtype)
        route = max_shard_forward(u_part, z, window, padding, strides, out_hw, routes=True)
        max_shard_backward(route, dz[part], du[part], window, padding, strides, out_hw)

    _in_shards(shard, u.shape, window, out_hw)
    return du


def average_pooling2d(
    u: Any, pool_size: int | Pair = 2, padding: int | Pair = 0, strides: int | Pair | None = None
) -> np.ndarray:
    """Average pooling forward: the sum of each window of the zero-padded
    input divided by ``pool_h * pool_w`` (padded zeros counted).

    Returns ``(n, zh, zw, c)``.
    """
    u, window, padding, strides, out_hw = _check_pool(u, pool_size, padding, strides)
    dtype = compute_dtype(u)
    z = np.empty((u.shape[0], *out_hw, u.shape[3]), dtype=dtype)

    def shard(part: slice) -> None:
        padded = _windows.pad(u[part], padding, dtype)
        out = z[part]
        out.fill(0)
        for _, _, index in _windows.offsets(window, strides, out_hw):
            out += padded[index]
        out /= window[0] * window[1]

    _in_shards(shard, u.shape, window, out_hw)
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
    du = np.empty(u.shape, dtype=dtype)
    h, w = u.shape[1] + 2 * padding[0], u.shape[2] + 2 * padding[1]
    overlap = _overlapping(window, strides)

    def shard(part: slice) -> None:
        share = dz[part].astype(dtype) / (window[0] * window[1])
        dpadded = np.zeros((share.shape[0], h, w, u.shape[3]), dtype=dtype)
        for _, _, index in _windows.offsets(window, strides, out_hw):
            if overlap:
                dpadded[index] += share
            else:
                dpadded[index] = share
        np.copyto(du[part], _windows.crop(dpadded, padding))

    _in_shards(shard, u.shape, window, out_hw)
    return du
