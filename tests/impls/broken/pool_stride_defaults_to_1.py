"""Bug: pooling strides default to 1 instead of pool_size."""

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    return article_loops.max_pooling2d(u, pool_size, padding, 1 if strides is None else strides)


def max_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    return article_loops.max_pooling2d_back(
        dz, u, z, pool_size, padding, 1 if strides is None else strides
    )


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    return article_loops.average_pooling2d(u, pool_size, padding, 1 if strides is None else strides)


def average_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    return article_loops.average_pooling2d_back(
        dz, u, z, pool_size, padding, 1 if strides is None else strides
    )
