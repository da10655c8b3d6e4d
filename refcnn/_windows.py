"""Zero padding and sliding windows over NHWC arrays, shared by conv and pool.

Windows are strided *views* (no copy); gradients are scattered back with one
vectorised add per kernel offset, so no Python loop runs over the batch,
channels or output positions.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _scratch
from ._args import Pair


def pad(
    u: np.ndarray,
    padding: Pair,
    dtype: np.dtype,
    buffers: _scratch.Buffers | None = None,
    name: str = "padded",
) -> np.ndarray:
    """``u`` (n, h, w, c) cast to ``dtype`` with ``padding`` zeros around h and w.

    With ``buffers`` the result lives in that reusable buffer (see
    :mod:`refcnn._scratch`) and must not escape the caller. Without padding
    ``u`` itself (cast) is returned.
    """
    ph, pw = padding
    if ph == 0 and pw == 0:
        return u.astype(dtype, copy=False)
    n, h, w, c = u.shape
    shape = (n, h + 2 * ph, w + 2 * pw, c)
    if buffers is None:
        padded = np.zeros(shape, dtype=dtype)
    else:  # zero only the border: the inside is overwritten next
        padded = buffers.get(name, shape, dtype)
        padded[:, :ph] = 0
        padded[:, ph + h :] = 0
        padded[:, ph : ph + h, :pw] = 0
        padded[:, ph : ph + h, pw + w :] = 0
    padded[:, ph : ph + h, pw : pw + w, :] = u
    return padded


def crop(padded: np.ndarray, padding: Pair) -> np.ndarray:
    """Inverse of :func:`pad`: drop the padded border (a view)."""
    ph, pw = padding
    h, w = padded.shape[1] - 2 * ph, padded.shape[2] - 2 * pw
    return padded[:, ph : ph + h, pw : pw + w, :]


def windows(padded: np.ndarray, window: Pair, strides: Pair, out_hw: Pair) -> np.ndarray:
    """Read-only view ``(n, zh, zw, kh, kw, c)``: ``[b, i, j]`` is the window
    whose top-left corner is ``padded[b, i*sh, j*sw]``."""
    n, _, _, c = padded.shape
    s0, s1, s2, s3 = padded.strides
    return as_strided(
        padded,
        shape=(n, out_hw[0], out_hw[1], window[0], window[1], c),
        strides=(s0, strides[0] * s1, strides[1] * s2, s1, s2, s3),
        writeable=False,
    )


def offsets(window: Pair, strides: Pair, out_hw: Pair) -> Iterator[tuple[int, int, tuple]]:
    """For each kernel offset ``(a, b)`` in row-major order, yield ``a, b`` and
    the index that selects, in the padded input, the element at that offset of
    every window: ``padded[index]`` has shape ``(n, zh, zw, c)``."""
    (kh, kw), (sh, sw), (zh, zw) = window, strides, out_hw
    for a in range(kh):
        for b in range(kw):
            rows = slice(a, a + sh * (zh - 1) + 1, sh)
            cols = slice(b, b + sw * (zw - 1) + 1, sw)
            yield a, b, (slice(None), rows, cols, slice(None))
