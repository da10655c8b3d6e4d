"""The article's convolution: step-by-step functions, forward and backward.

Layouts (the article's, not torch's):

* data ``u``: ``(n, h, w, c)`` (NHWC; the step functions drop leading axes);
* filters ``W``/``f``: ``(fn, fh, fw, fc)`` with ``fc == c``;
* bias ``b``: ``(fn,)``; output ``z``: ``(n, zh, zw, fn)``.

Semantics: cross-correlation (the filter is not flipped, like torch's
``conv2d``); ``padding`` adds zeros; the output size is
``floor((h + 2*padding - fh) / strides) + 1`` (torch agrees). ``padding`` and
``strides`` are an int or an ``(h, w)`` pair.

Dtypes: floating inputs keep their (promoted) dtype, so float32 in gives
float32 out; integer or bool inputs, as in the article's printed examples,
compute in float64.

Implementation: two formulations, chosen by the geometry (see
:mod:`refcnn._conv_methods`): im2col (every window copied into a column
matrix, one matrix product) or banded (Toeplitz) matrices per kernel row. Big
batches are split across threads (:mod:`refcnn._parallel`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _parallel, _scratch
from ._args import Pair, as_array, as_pair, check_positive_dims, check_shape, compute_dtype
from ._conv_methods import Banded, Columns, Geometry, banded, work
from .layouts import lift, unlift
from .shapes import window_geometry

__all__ = [
    "conv",
    "convolution2d",
    "convolution2d_back",
    "convp",
    "convps",
    "convpsc",
    "convpscf",
    "convpscfu",
]

_NHWC = "(n, h, w, c)"
_FILTERS = "(fn, fh, fw, fc)"


def _geometry(W: np.ndarray, padding: Pair, strides: Pair, out_hw: Pair, dtype) -> Geometry:
    return Geometry(W.shape[1:3], padding, strides, out_hw, np.dtype(dtype))


def method(
    u_shape: tuple, W_shape: tuple, geometry: Geometry, *arrays: np.ndarray
) -> type[Columns] | type[Banded]:
    """The formulation for this geometry (see :mod:`refcnn._conv_methods`).
    The banded one multiplies every input by the band's zeros too, so a NaN
    or inf among ``arrays`` would reach outputs its window does not cover
    (NaN * 0 is NaN): such inputs take im2col, which non-finite values affect
    exactly as they do torch."""
    if banded(u_shape, W_shape, geometry) and all(_finite(a) for a in arrays):
        return Banded
    return Columns


def _finite(array: np.ndarray) -> bool:
    """No NaN or inf in ``array`` (a sum that overflows says no too: the
    caller then takes the path that is right either way)."""
    with np.errstate(all="ignore"):
        return bool(np.isfinite(array.sum()))


# The work (``_conv_methods.work``, in float64) from which splitting im2col
# pays (benchmarks/bench_threshold.py: the larger layer, 2 threads, from a batch
# of about 10 in float64, 25 in float32).
SPLIT_WORK = 40_000_000


def split(formulation: type, u_shape: tuple, W_shape: tuple, geometry: Geometry) -> list[slice]:
    """The shards of the batch. The banded formulation is one matrix product
    on fat matrices, which BLAS's own threads already share out (measured:
    splitting it only adds the cost of waking the threads); im2col's copies
    and scattered additions run on one core unless the batch is split. The
    work is counted in float64 equivalents: float32 takes about half the time."""
    if formulation is Banded:
        return [slice(0, u_shape[0])]
    scale = geometry.dtype.itemsize / 8
    return _parallel.shards(u_shape[0], work(u_shape, W_shape, geometry.out_hw) * scale, SPLIT_WORK)


def _forward(
    u: np.ndarray, W: np.ndarray, b: np.ndarray | None, padding: Pair, strides: Pair, out_hw: Pair
) -> np.ndarray:
    dtype = compute_dtype(u, W) if b is None else compute_dtype(u, W, b)
    geometry = _geometry(W, padding, strides, out_hw, dtype)
    W = W.astype(dtype, copy=False)
    b = None if b is None else b.astype(dtype, copy=False)
    z = np.empty((u.shape[0], *out_hw, W.shape[0]), dtype=dtype)
    formulation = method(u.shape, W.shape, geometry, u, W)
    parts = split(formulation, u.shape, W.shape, geometry)

    shared = formulation.prepare(W, geometry)

    def shard(index: int) -> None:
        part = parts[index]
        formulation(u[part], geometry, _scratch.local()).forward(W, b, z[part], shared)

    _parallel.run(shard, len(parts))
    return z


def gradients(
    state_of: Callable[[int], Columns | Banded],
    parts: list[slice],
    dz: np.ndarray,
    W: np.ndarray,
    u_shape: tuple[int, ...],
    calc_du: bool,
    shared: Any = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """``(du, dW, db)`` from the shards of the batch: ``state_of(i)`` is
    shard ``i``'s forward state (columns or rows). The weight gradients of
    the shards are added in shard order, so that a given number of threads
    always gives the same bits. ``shared``: the formulation's ``prepare``
    for the input gradient (computed once, not per shard); ``out``: where to
    write ``du``."""
    fn = W.shape[0]
    du = (np.empty(u_shape, dtype=dz.dtype) if out is None else out) if calc_du else None

    def shard(index: int) -> tuple[np.ndarray, np.ndarray]:
        state, part = state_of(index), parts[index]
        dz_rows = dz[part].reshape(-1, fn)
        dW = state.filter_gradient(dz_rows, W.shape)
        # A matrix-vector product: NumPy's axis-0 sum over few columns is ~5x slower.
        db = np.ones(dz_rows.shape[0], dtype=dz.dtype) @ dz_rows
        if du is not None:
            state.input_gradient(dz_rows, W, du[part], shared)
        return dW, db

    results = _parallel.run(shard, len(parts))
    dW, db = results[0]
    for more_dW, more_db in results[1:]:
        dW = dW + more_dW
        db = db + more_db
    return du, dW.reshape(W.shape), db


def _check_conv(
    u: np.ndarray,
    W: np.ndarray,
    padding: Any,
    strides: Any,
    u_name: str,
    w_name: str,
    p_name: str,
    s_name: str,
) -> tuple[Pair, Pair, Pair]:
    """Validate 4-D ``u`` and ``W``; return ``(padding, strides, (zh, zw))``."""
    check_positive_dims(u, u_name, {1: "h", 2: "w", 3: "c"})
    check_positive_dims(W, w_name, {0: "fn", 1: "fh", 2: "fw", 3: "fc"})
    if W.shape[3] != u.shape[3]:
        raise ValueError(
            f"{w_name} has fc={W.shape[3]} channels but {u_name} has c={u.shape[3]}; "
            f"filters {_FILTERS} must match the data's channels"
        )
    padding = as_pair(padding, p_name, minimum=0)
    strides = as_pair(strides, s_name, minimum=1)
    out_hw = window_geometry(
        u.shape[1],
        u.shape[2],
        W.shape[1:3],
        padding,
        strides,
        f"filter ({w_name} fh x fw)",
        u_name,
    )
    return padding, strides, out_hw


def _step(u: Any, f: Any, p: Any, s: Any, u_dims: int, f_dims: int) -> np.ndarray:
    """Shared body of the step functions: lift ``u`` and ``f`` to the layer's
    4-D layouts, convolve without bias, and drop the lifted axes again."""
    u_layouts = {2: "(h, w)", 3: "(h, w, c)", 4: _NHWC}
    f_layouts = {2: "(fh, fw)", 3: "(fh, fw, fc)", 4: _FILTERS}
    u = as_array(u, "u", u_dims, u_layouts[u_dims])
    f = as_array(f, "f", f_dims, f_layouts[f_dims])
    u4, f4 = lift(u, u_dims), lift(f, f_dims)
    padding, strides, out_hw = _check_conv(u4, f4, p, s, "u", "f", "p", "s")
    z = _forward(u4, f4, None, padding, strides, out_hw)
    return np.ascontiguousarray(unlift(z, u_dims, f_dims))


def conv(u: Any, f: Any) -> np.ndarray:
    """Article step 1: ``u`` (h, w) cross-correlated with ``f`` (fh, fw).

    Returns ``(h - fh + 1, w - fw + 1)``.
    """
    return _step(u, f, 0, 1, 2, 2)


def convp(u: Any, f: Any, p: int | Pair = (0, 0)) -> np.ndarray:
    """Article step 2: :func:`conv` after zero padding ``p`` = (ph, pw) around ``u``."""
    return _step(u, f, p, 1, 2, 2)


def convps(u: Any, f: Any, p: int | Pair = (0, 0), s: int | Pair = (1, 1)) -> np.ndarray:
    """Article step 3: :func:`convp` with strides ``s`` = (sh, sw)."""
    return _step(u, f, p, s, 2, 2)


def convpsc(u: Any, f: Any, p: int | Pair = (0, 0), s: int | Pair = (1, 1)) -> np.ndarray:
    """Article step 4: channels. ``u`` (h, w, c), ``f`` (fh, fw, c) -> (zh, zw)."""
    return _step(u, f, p, s, 3, 3)


def convpscf(u: Any, f: Any, p: int | Pair = (0, 0), s: int | Pair = (1, 1)) -> np.ndarray:
    """Article step 5: several filters. ``u`` (h, w, c), ``f`` (fn, fh, fw, c)
    -> (zh, zw, fn)."""
    return _step(u, f, p, s, 3, 4)


def convpscfu(u: Any, f: Any, p: int | Pair = (0, 0), s: int | Pair = (1, 1)) -> np.ndarray:
    """Article step 6: a batch. ``u`` (n, h, w, c), ``f`` (fn, fh, fw, c)
    -> (n, zh, zw, fn); :func:`convolution2d` without the bias."""
    return _step(u, f, p, s, 4, 4)


def _check_layer_args(u: Any, W: Any, b: Any, padding: Any, strides: Any):
    u = as_array(u, "u", 4, _NHWC)
    W = as_array(W, "W", 4, _FILTERS)
    b = as_array(b, "b", 1, "(fn,)")
    padding, strides, out_hw = _check_conv(u, W, padding, strides, "u", "W", "padding", "strides")
    if b.shape[0] != W.shape[0]:
        raise ValueError(f"b must have one bias per filter, shape ({W.shape[0]},), got {b.shape}")
    return u, W, b, padding, strides, out_hw


def convolution2d(
    u: Any, W: Any, b: Any, padding: int | Pair = 0, strides: int | Pair = 1
) -> np.ndarray:
    """Convolution layer forward: ``z[n, i, j, k] = b[k] + sum_{a, d, c}
    pu[n, i*sh + a, j*sw + d, c] * W[k, a, d, c]`` where ``pu`` is ``u`` zero
    padded by ``padding``.

    Args:
        u: data ``(n, h, w, c)``; ``n`` may be 0.
        W: filters ``(fn, fh, fw, c)``.
        b: bias ``(fn,)``.
        padding: zeros added on each side, int or ``(ph, pw)``, ``>= 0``.
        strides: step between windows, int or ``(sh, sw)``, ``>= 1``.

    Returns:
        ``z`` of shape ``(n, zh, zw, fn)``, ``zh = floor((h + 2ph - fh)/sh) + 1``.
    """
    u, W, b, padding, strides, out_hw = _check_layer_args(u, W, b, padding, strides)
    return _forward(u, W, b, padding, strides, out_hw)


def convolution2d_back(
    dz: Any,
    u: Any,
    W: Any,
    b: Any,
    padding: int | Pair = 0,
    strides: int | Pair = 1,
    calc_du_flag: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Convolution layer backward.

    Args:
        dz: gradient of the loss w.r.t. the output, ``(n, zh, zw, fn)``.
        u, W, b, padding, strides: as given to :func:`convolution2d`.
        calc_du_flag: when False the input gradient is skipped (the first
            layer of a network needs none) and ``du`` is returned as ``None``.

    Returns:
        ``(du, dW, db)`` shaped like ``u``, ``W`` and ``b``. Where windows
        overlap (stride < filter size) their contributions to ``du`` add up.
    """
    u, W, b, padding, strides, out_hw = _check_layer_args(u, W, b, padding, strides)
    fn = W.shape[0]
    dz = as_array(dz, "dz", 4, "(n, zh, zw, fn)")
    check_shape(dz, (u.shape[0], *out_hw, fn), "dz", "the output shape of convolution2d")
    dtype = compute_dtype(dz, u, W, b)
    geometry = _geometry(W, padding, strides, out_hw, dtype)
    dz, W = dz.astype(dtype, copy=False), W.astype(dtype, copy=False)
    formulation = method(u.shape, W.shape, geometry, u, W, dz)
    parts = split(formulation, u.shape, W.shape, geometry)
    return gradients(
        lambda index: formulation(u[parts[index]], geometry, _scratch.local()),
        parts,
        dz,
        W,
        u.shape,
        calc_du_flag,
        formulation.prepare(W, geometry) if calc_du_flag else None,
    )
