"""Reusable scratch buffers for large intermediates (im2col columns, padded
gradients).

Why: a fresh array above glibc's mmap threshold (32 MiB) is page-faulted and
zeroed by the kernel on every call, which costs as much as the matrix product
it feeds. Buffers are kept per thread (no sharing between threads) and are
never returned to callers: every public function returns fresh arrays.
"""

from __future__ import annotations

import threading

import numpy as np

_MAX_BUFFERS = 16
# Larger requests (evaluating a whole data set in one call, say) are served
# fresh and not kept, so the cache never pins more than 16 x 256 MiB.
_MAX_KEPT_BYTES = 256 * 2**20
_local = threading.local()


def buffer(tag: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype``, reused across calls
    with the same ``tag``; its contents are garbage until written."""
    cache: dict = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    size = int(np.prod(shape))
    if size * np.dtype(dtype).itemsize > _MAX_KEPT_BYTES:
        return np.empty(shape, dtype=dtype)
    key = (tag, np.dtype(dtype).str)
    flat = cache.pop(key, None)
    if flat is None or flat.size < size:
        flat = np.empty(size, dtype=dtype)
    cache[key] = flat  # most recently used last
    while len(cache) > _MAX_BUFFERS:
        cache.pop(next(iter(cache)))
    return flat[:size].reshape(shape)


def zeros(tag: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    out = buffer(tag, shape, dtype)
    out.fill(0)
    return out
