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

Implementation: im2col through a strided view and one matrix product; the
input gradient is scattered back with one add per kernel offset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _scratch, _windows
from ._args import Pair, as_array, as_pair, check_positive_dims, check_shape, compute_dtype
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


# Two column layouts for im2col. NumPy's copies and adds are single-threaded
# and fast only along contiguous runs, so which layout wins depends on the
# channel count (measured by benchmarks/bench_layers.py):
# * channel-major, for few channels: data as (c, n, h, w), columns (K, M) with
#   K = fh*fw*c and M = n*zh*zw; each kernel offset is a contiguous block;
# * row-major, for many channels: data NHWC, columns (M, K); the input
#   gradient is built per kernel offset as an (M, c) block.
_CHANNEL_MAJOR_MAX_C = 4


class _Columns:
    """im2col of ``u`` for a given geometry, in the layout that suits ``c``.

    The columns live in scratch buffers named after ``tag``: valid until the
    next ``_Columns`` with the same tag (the trainer gives each layer its own
    tag, so a layer's columns survive from its forward to its backward).
    """

    def __init__(
        self,
        u: np.ndarray,
        window: Pair,
        padding: Pair,
        strides: Pair,
        out_hw: Pair,
        dtype: np.dtype,
        tag: str = "conv",
    ) -> None:
        n, h, w, c = u.shape
        self.shape = (n, h, w, c)
        self.window, self.padding, self.strides, self.out_hw = window, padding, strides, out_hw
        self.dtype, self.tag = dtype, tag
        self.channel_major = c <= _CHANNEL_MAJOR_MAX_C
        (fh, fw), (sh, sw), (zh, zw) = window, strides, out_hw
        if self.channel_major:
            padded = _scratch.zeros(
                f"{tag}.padded", (c, n, h + 2 * padding[0], w + 2 * padding[1]), dtype
            )
            padded[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w] = u.transpose(
                3, 0, 1, 2
            )
            s_c, s_n, s_h, s_w = padded.strides
            view = as_strided(
                padded,
                shape=(fh, fw, c, n, zh, zw),
                strides=(s_h, s_w, s_c, s_n, sh * s_h, sw * s_w),
                writeable=False,
            )
        else:
            padded = _windows.pad(u, padding, dtype, scratch=f"{tag}.padded")
            view = _windows.windows(padded, window, strides, out_hw)
        cols = _scratch.buffer(f"{tag}.cols", view.shape, dtype)
        np.copyto(cols, view)
        k, m = fh * fw * c, n * zh * zw
        self.cols = cols.reshape(k, m) if self.channel_major else cols.reshape(m, k)

    def times_filters(self, w_rows: np.ndarray) -> np.ndarray:
        """``z`` rows (M, fn): each window dotted with each filter row (fn, K)."""
        # BLAS reads the transposed operand in place; the result is (M, fn)
        # C-contiguous, so no transposing copy is needed.
        return (self.cols.T if self.channel_major else self.cols) @ w_rows.T

    def filter_gradient(self, dz_rows: np.ndarray) -> np.ndarray:
        """``dW`` rows (fn, K) from ``dz`` rows (M, fn)."""
        if self.channel_major:
            return np.ascontiguousarray((self.cols @ dz_rows).T)
        return np.ascontiguousarray((self.cols.T @ dz_rows).T)

    def input_gradient(self, dz_rows: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``du`` (n, h, w, c): every window's share ``dz . W`` added back
        where the window was read; overlapping windows add up."""
        n, h, w, c = self.shape
        (fh, fw), (ph, pw), (zh, zw) = self.window, self.padding, self.out_hw
        fn, dtype = W.shape[0], self.dtype
        if self.channel_major:
            shares = _scratch.buffer(f"{self.tag}.shares", (fh * fw * c, n * zh * zw), dtype)
            np.matmul(W.reshape(fn, -1).T, dz_rows.T, out=shares)
            shares = shares.reshape(fh, fw, c, n, zh, zw)
            dpadded = _scratch.zeros(f"{self.tag}.dpadded", (c, n, h + 2 * ph, w + 2 * pw), dtype)
            for a, d, index in _windows.offsets(self.window, self.strides, self.out_hw):
                dpadded[:, :, index[1], index[2]] += shares[a, d]
            inner = dpadded[:, :, ph : ph + h, pw : pw + w]
            # np.array copies always (ascontiguousarray would hand out the
            # scratch buffer itself when it is already contiguous).
            return np.array(inner.transpose(1, 2, 3, 0), order="C")
        # One (M, c) share per kernel offset, added while still in cache.
        share = _scratch.buffer(f"{self.tag}.shares", (n, zh, zw, c), dtype)
        dpadded = _scratch.zeros(f"{self.tag}.dpadded", (n, h + 2 * ph, w + 2 * pw, c), dtype)
        for a, d, index in _windows.offsets(self.window, self.strides, self.out_hw):
            np.matmul(dz_rows, W[:, a, d, :], out=share.reshape(-1, c))
            dpadded[index] += share
        return np.array(_windows.crop(dpadded, self.padding), order="C")


def _forward(
    u: np.ndarray, W: np.ndarray, b: np.ndarray | None, padding: Pair, strides: Pair, out_hw: Pair
) -> np.ndarray:
    dtype = compute_dtype(u, W) if b is None else compute_dtype(u, W, b)
    fn = W.shape[0]
    cols = _Columns(u, W.shape[1:3], padding, strides, out_hw, dtype)
    z = cols.times_filters(W.reshape(fn, -1).astype(dtype, copy=False))
    if b is not None:
        z += b.astype(dtype, copy=False)
    return z.reshape(u.shape[0], out_hw[0], out_hw[1], fn)


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


_LIFT = {2: (None, slice(None), slice(None), None), 3: (None, Ellipsis), 4: (Ellipsis,)}


def _step(u: Any, f: Any, p: Any, s: Any, u_dims: int, f_dims: int) -> np.ndarray:
    """Shared body of the step functions: lift ``u`` and ``f`` to the layer's
    4-D layouts, convolve without bias, and drop the lifted axes again."""
    u_layouts = {2: "(h, w)", 3: "(h, w, c)", 4: _NHWC}
    f_layouts = {2: "(fh, fw)", 3: "(fh, fw, fc)", 4: _FILTERS}
    u = as_array(u, "u", u_dims, u_layouts[u_dims])
    f = as_array(f, "f", f_dims, f_layouts[f_dims])
    u4, f4 = u[_LIFT[u_dims]], f[_LIFT[f_dims]]
    padding, strides, out_hw = _check_conv(u4, f4, p, s, "u", "f", "p", "s")
    z = _forward(u4, f4, None, padding, strides, out_hw)
    if u_dims < 4:
        z = z[0]
    return z if f_dims == 4 else np.ascontiguousarray(z[..., 0])


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
    fn, fh, fw, fc = W.shape
    dz = as_array(dz, "dz", 4, "(n, zh, zw, fn)")
    check_shape(dz, (u.shape[0], *out_hw, fn), "dz", "the output shape of convolution2d")
    dtype = compute_dtype(dz, u, W, b)

    dz_rows = dz.reshape(-1, fn).astype(dtype, copy=False)
    cols = _Columns(u, (fh, fw), padding, strides, out_hw, dtype)
    dW = cols.filter_gradient(dz_rows).reshape(fn, fh, fw, fc)
    # A matrix-vector product: NumPy's axis-0 sum over few columns is ~5x slower.
    db = np.ones(dz_rows.shape[0], dtype=dtype) @ dz_rows
    du = cols.input_gradient(dz_rows, W.astype(dtype, copy=False)) if calc_du_flag else None
    return du, dW, db
