"""Hostile: max_pooling2d allocates 50 GB and touches it."""

import numpy as np

from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    block = np.ones(50 * 2**30 // 8)
    return block[:1]
