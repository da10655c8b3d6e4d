"""Bug: the average-pooling backward gives pool_size no default (its layer
always passes it), so a call that leaves pool_size out raises TypeError;
padding and strides have the article's defaults, and the forward has all
of them. Every corner gives pool_size: only the defaults check sees it."""

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def average_pooling2d_back(dz, u, z, pool_size, padding=0, strides=None):
    return article_loops.average_pooling2d_back(dz, u, z, pool_size, padding, strides)
