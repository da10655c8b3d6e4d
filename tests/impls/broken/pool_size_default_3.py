"""Bug: max pooling's pool_size defaults to 3 (a 3x3 pooling carried over from
another course), forward and backward. Every corner gives pool_size, so
only the defaults check sees it; the article's model, which leaves it out
(``add_layer(model, "pooling1", max_pooling2d)``), would pool 3x3."""

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=3, padding=0, strides=None):
    return article_loops.max_pooling2d(u, pool_size, padding, strides)


def max_pooling2d_back(dz, u, z, pool_size=3, padding=0, strides=None):
    return article_loops.max_pooling2d_back(dz, u, z, pool_size, padding, strides)
