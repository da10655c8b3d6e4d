"""Bug: max pooling pads with -inf (torch's native max_pool2d), not zeros."""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def _minus_inf_pad(u, padding):
    ph, pw = article_loops.pair(padding)
    u = np.asarray(u, dtype=float)
    return np.pad(u, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=-np.inf)


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    return article_loops.max_pooling2d(_minus_inf_pad(u, padding), pool_size, 0, strides)


def max_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    ph, pw = article_loops.pair(padding)
    du = article_loops.max_pooling2d_back(dz, _minus_inf_pad(u, padding), z, pool_size, 0, strides)
    return du[:, ph : du.shape[1] - ph, pw : du.shape[2] - pw, :]
