"""The article's flatten layer: ``(n, h, w, c)`` to ``(n, h*w*c)`` and back.

The order is NHWC row-major: element ``u[n, i, j, k]`` lands at column
``(i*w + j)*c + k``. A torch model flattens NCHW, channel first; the two orders
differ whenever ``c > 1``, so a port from torch must permute the next affine
layer's weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args import as_array, check_shape, compute_dtype

__all__ = ["flatten2d", "flatten2d_back"]


def flatten2d(u: Any) -> np.ndarray:
    """``u`` (n, h, w, c) -> ``z`` (n, h*w*c), a new array (never a view of ``u``)."""
    u = as_array(u, "u", 4, "(n, h, w, c)")
    n, h, w, c = u.shape
    return u.astype(compute_dtype(u), copy=True).reshape(n, h * w * c)  # not -1: n may be 0


def flatten2d_back(dz: Any, u: Any, z: Any) -> np.ndarray:
    """``dz`` (n, h*w*c) -> ``du`` shaped like ``u`` (n, h, w, c).

    ``z`` is the article's argument: checked for shape when given, not used.
    """
    u = as_array(u, "u", 4, "(n, h, w, c)")
    expected = (u.shape[0], int(np.prod(u.shape[1:])))
    dz = as_array(dz, "dz", 2, "(n, h*w*c)")
    check_shape(dz, expected, "dz", "the output shape of flatten2d")
    if z is not None:
        check_shape(as_array(z, "z", 2, "(n, h*w*c)"), expected, "z", "the output of flatten2d")
    return dz.astype(compute_dtype(dz, u), copy=True).reshape(u.shape)
