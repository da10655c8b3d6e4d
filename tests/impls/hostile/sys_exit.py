"""Hostile: max_pooling2d calls sys.exit(0)."""

import sys

from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    sys.exit(0)
