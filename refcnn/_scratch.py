"""Reusable scratch buffers for large intermediates (im2col columns, padded
gradients).

Why: a fresh array above glibc's mmap threshold (32 MiB) is page-faulted and
zeroed by the kernel on every call, which costs as much as the matrix product
it feeds. A :class:`Buffers` keeps arrays by name; by default each thread has
its own (``buffer``, ``zeros``), so shards running in parallel never share
one. The trainer gives each layer and shard its own ``Buffers``, so a layer's
columns survive from its forward to its backward whichever thread runs them.
Buffers are never returned to callers: every public function returns fresh
arrays.
"""

from __future__ import annotations

import threading

import numpy as np

_MAX_BUFFERS = 16
# Larger requests (evaluating a whole data set in one call, say) are served
# fresh and not kept, so a cache never pins more than 16 x 256 MiB.
_MAX_KEPT_BYTES = 256 * 2**20


class Buffers:
    """Arrays reused across calls by name; contents are garbage until written."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[str, str], np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        size = int(np.prod(shape))
        if size * np.dtype(dtype).itemsize > _MAX_KEPT_BYTES:
            return np.empty(shape, dtype=dtype)
        key = (name, np.dtype(dtype).str)
        flat = self._arrays.pop(key, None)
        if flat is None or flat.size < size:
            flat = np.empty(size, dtype=dtype)
        self._arrays[key] = flat  # most recently used last
        while len(self._arrays) > _MAX_BUFFERS:
            self._arrays.pop(next(iter(self._arrays)))
        return flat[:size].reshape(shape)

    def zeros(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        out = self.get(name, shape, dtype)
        out.fill(0)
        return out


_local = threading.local()


def local() -> Buffers:
    """This thread's buffers."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = Buffers()
    return buffers


def buffer(tag: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of this thread's, reused across calls with the
    same ``tag``."""
    return local().get(tag, shape, dtype)


def zeros(tag: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return local().zeros(tag, shape, dtype)
