"""Hostile: article names bound to values that are not functions."""

from tests.impls.article_loops import *  # noqa: F403

convolution2d = None
max_pooling2d = 3
