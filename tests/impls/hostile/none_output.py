"""Hostile: max_pooling2d forgets its return."""

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import max_pooling2d as _max_pooling2d


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    _max_pooling2d(u, pool_size, padding, strides)
