"""Bug: average pooling divides by the real elements only (torch's
count_include_pad=False), not by the whole window."""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def _counts(u, pool_size, padding, strides):
    return article_loops.average_pooling2d(
        np.ones((*np.shape(u)[:3], 1)), pool_size, padding, strides
    )


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    total = article_loops.average_pooling2d(u, pool_size, padding, strides)
    return total / _counts(u, pool_size, padding, strides)


def average_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    scaled = np.asarray(dz, dtype=float) / _counts(u, pool_size, padding, strides)
    return article_loops.average_pooling2d_back(scaled, u, z, pool_size, padding, strides)
