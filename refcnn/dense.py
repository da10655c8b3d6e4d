"""Fully connected layers: ``affine`` and ``maxout``.

Layouts (the series', not torch's): data ``u`` is ``(n, d_in)``, weights
``W`` are ``(d_in, d_out)`` so that ``z = u @ W + b`` (torch's ``F.linear``
takes ``(out, in)``, i.e. ``W.T``), bias ``b`` is ``(d_out,)``.

``maxout(u, W, b, unit)`` has ``W (d_in, d*unit)``: output ``j`` is the
maximum of the ``unit`` affine pieces in columns ``j*unit .. j*unit+unit-1``;
its gradient goes to the first maximal piece.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import as_array, check_shape, compute_dtype

__all__ = ["affine", "affine_back", "maxout", "maxout_back"]


def _check(u: Any, W: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = as_array(u, "u", 2, "(n, d_in)")
    W = as_array(W, "W", 2, "(d_in, d_out)")
    b = as_array(b, "b", 1, "(d_out,)")
    if W.shape[0] != u.shape[1]:
        raise ValueError(f"W must have d_in={u.shape[1]} rows (u is {u.shape}), got {W.shape}")
    if b.shape[0] != W.shape[1]:
        raise ValueError(f"b must have shape ({W.shape[1]},), one per output, got {b.shape}")
    return u, W, b


def affine(u: Any, W: Any, b: Any) -> np.ndarray:
    """``z = u @ W + b``: ``(n, d_in) @ (d_in, d_out) + (d_out,)``."""
    u, W, b = _check(u, W, b)
    dtype = compute_dtype(u, W, b)
    z = u.astype(dtype, copy=False) @ W.astype(dtype, copy=False)
    z += b.astype(dtype, copy=False)
    return z


def affine_back(dz: Any, u: Any, W: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(du, dW, db) = (dz @ W.T, u.T @ dz, sum of dz over the batch)``."""
    u, W, b = _check(u, W, b)
    dz = as_array(dz, "dz", 2, "(n, d_out)")
    check_shape(dz, (u.shape[0], W.shape[1]), "dz", "the output shape of affine")
    dtype = compute_dtype(dz, u, W, b)
    dz, u, W = (a.astype(dtype, copy=False) for a in (dz, u, W))
    return dz @ W.T, u.T @ dz, np.ones(dz.shape[0], dtype=dtype) @ dz


def _pieces(u: Any, W: Any, b: Any, unit: int) -> tuple[np.ndarray, ...]:
    if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or unit < 1:
        raise ValueError(f"unit must be an int >= 1, got {unit!r}")
    u, W, b = _check(u, W, b)
    if W.shape[1] % unit:
        raise ValueError(f"W must have d*unit columns, a multiple of unit={unit}, got {W.shape}")
    z = affine(u, W, b).reshape(u.shape[0], W.shape[1] // unit, unit)  # n may be 0
    return u, W, b, z


def maxout(u: Any, W: Any, b: Any, unit: int = 1) -> np.ndarray:
    """``(n, d_in) -> (n, d)``: the maximum of ``unit`` affine pieces per output."""
    return _pieces(u, W, b, unit)[3].max(axis=2)


def maxout_back(
    dz: Any, u: Any, z: Any, W: Any, b: Any, unit: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(du, dW, db)``: each ``dz[:, j]`` flows through the first maximal piece."""
    u, W, b, pieces = _pieces(u, W, b, unit)
    dz = as_array(dz, "dz", 2, "(n, d)")
    check_shape(dz, pieces.shape[:2], "dz", "the output shape of maxout")
    winner = pieces.argmax(axis=2)  # first maximum, as np.argmax
    routed = np.zeros(pieces.shape, dtype=pieces.dtype)
    np.put_along_axis(routed, winner[..., None], dz[..., None].astype(pieces.dtype), axis=2)
    return affine_back(routed.reshape(u.shape[0], W.shape[1]), u, W, b)
