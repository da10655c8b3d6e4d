"""Hostile: convolution2d returns complex values (right real part, + 1000j)."""

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import convolution2d as _convolution2d


def convolution2d(u, W, b, padding=0, strides=1):
    return _convolution2d(u, W, b, padding, strides) + 1000j
