"""Bug: the average-pooling backward divides the incoming gradient by the
window size in place, changing the caller's ``dz`` (its own result is right)."""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def average_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    kh, kw = article_loops.pair(pool_size)
    dz /= kh * kw  # the caller's array
    return article_loops.average_pooling2d_back(
        np.asarray(dz) * (kh * kw), u, z, pool_size, padding, strides
    )
