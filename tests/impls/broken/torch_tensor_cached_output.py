"""Bug: max pooling returns a torch tensor that it keeps and refills on the
next call of the same shape (a preallocated output buffer): every caller
that keeps a result sees it change. The outputs are not NumPy arrays, so
the hygiene check compares them by the memory they expose."""

import numpy as np
import torch

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403

_buffers: dict[tuple, torch.Tensor] = {}


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    z = article_loops.max_pooling2d(u, pool_size, padding, strides)
    out = _buffers.setdefault(z.shape, torch.empty(z.shape, dtype=torch.float64))
    return out.copy_(torch.from_numpy(np.ascontiguousarray(z)))
