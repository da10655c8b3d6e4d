"""Bug: max pooling writes its output into one buffer per shape, kept across
calls "to save allocations": every result is right when it is returned, and
the next call with the same shapes overwrites it."""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403

_BUFFERS: dict = {}


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    z = article_loops.max_pooling2d(u, pool_size, padding, strides)
    buffer = _BUFFERS.setdefault(z.shape, np.empty(z.shape))
    buffer[...] = z
    return buffer
